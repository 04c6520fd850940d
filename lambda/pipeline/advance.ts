/**
 * Advances one partition to a scheduled evaluator time T: applies, in canonical order, every input the
 * partition has up to T − reorderMinutes (files recorded by the ingest, then the evaluator ticks at which
 * something is due), in the same engine the CLI runs, then commits the new head with one conditional write
 * and publishes what it emitted.
 *
 * One round:
 * 1. read the head item (strongly consistent); deliver an outbox an earlier round left behind;
 * 2. read the inputs: late files from the late index (applied first), files recorded after the cursor, and
 *    the already applied deltas that the windows of the new ones overlap;
 * 3. run the engine; whatever cold data it reads that was not loaded (pages, the deltas a compaction folds,
 *    an archive listing for the delivery check) is recorded as missing, loaded, and the run repeated from the
 *    same head — it is deterministic, so the repeat is the same run with the data present;
 * 4. write the pages a compaction produced, then the head item, conditional on the version read: a conflict
 *    (a late file registered meanwhile) backs off with jitter and redoes the round;
 * 5. mark the late files applied and deliver the outbox.
 *
 * A compaction only runs at the start of a round, so that every window tested in a round sees the same
 * pages; when one becomes due in the middle, the round commits there and a new round begins.
 */
import {
  compareDeltas,
  type DetectConfig,
  type FileDelta,
  type InsightEvent,
  newHead,
  type Page,
  type PartitionData,
  type PartitionHead,
  type PartitionInput,
  PartitionMachine,
  type Settings,
  settingsOf,
  WindowIndex,
  windowHistoryFrom,
} from '../core/detect';
import type { ArchiveScope } from '../core/detect/context';
import { emptyPage } from '../core/detect/state';
import { unrecordedFiles } from './archive-check';
import { type DeliveryPorts, type DeliveryResult, deliverOutbox } from './outbox';
import type { FileRef, KeyLister, LateEntry } from './ports';
import { CONFLICT, retryOnConflict } from './retry';

export interface AdvancePorts extends DeliveryPorts {
  readonly detectConfig: DetectConfig;
  /** The archive, for the delivery check. @default - silences are not checked against the archive */
  readonly archive?: DeliveryPorts['archive'];
  readonly archiveListing?: { readonly lister: KeyLister; readonly bucket: string };
  /** Rounds (a compaction ends a round) one advance may run. @default 20 */
  readonly maxRounds?: number;
}

export interface AdvanceOutcome {
  readonly partition: string;
  readonly files: number;
  readonly lateFiles: number;
  readonly insights: InsightEvent[];
  readonly compactions: number;
  /** Head writes committed. */
  readonly commits: number;
  /** Conditional-write attempts beyond the first, summed over rounds. */
  readonly conflicts: number;
  /** Partition marked idle (no file for a while, nothing due). */
  readonly idled: boolean;
  /** Log files in the archive delivered during a silence but never recorded: the pipeline's own fault. */
  readonly unrecorded: number;
  readonly delivery: DeliveryResult[];
  readonly headBytes?: number;
}

const refKey = (r: FileRef) => `${r.deliveredAt}|${r.file}`;
const archiveQuestion = (from: number, to: number, scope: ArchiveScope) =>
  `${from}|${to}|${scope.regions.join(',')}|${scope.digests === true}`;
/** A partition with no file for this long, and nothing due, stops being looked at until a file arrives. */
export const IDLE_AFTER_MS = 30 * 60_000;

/** Cold data read on demand: what the engine asks for and is not loaded is recorded, loaded, and the run repeated. */
class LoadedData implements PartitionData {
  readonly pages = new Map<string, Page>();
  readonly written = new Map<string, Page>();
  readonly missingPages = new Set<string>();
  /** Deltas a compaction reads, loaded from `deltasFrom` up to the cursor, plus late ones by reference. */
  compactionDeltas?: FileDelta[];
  deltasFrom?: number;
  missingLate: FileRef[] = [];
  /** Archive checks answered: (from|to|scope) → files delivered in the range and never recorded. */
  readonly archiveAnswers = new Map<string, number>();
  missingArchive?: { from: number; to: number; scope: ArchiveScope };

  get complete(): boolean {
    return this.missingPages.size === 0 && this.missingLate.length === 0 && !this.missingArchive && !this.needsDeltas;
  }
  private needsDeltas = false;

  page(id: string): Page {
    const page = this.written.get(id) ?? this.pages.get(id);
    if (page) return page;
    if (this.loadedPageIds.has(id)) {
      // Loaded and absent: never written yet.
      const fresh = emptyPage();
      this.pages.set(id, fresh);
      return fresh;
    }
    this.missingPages.add(id);
    return emptyPage();
  }
  readonly loadedPageIds = new Set<string>();

  putPage(id: string, page: Page): void {
    this.written.set(id, page);
  }

  deltas(from: number, late: readonly { deliveredAt: number; file: string }[]): FileDelta[] {
    if (!this.compactionDeltas || this.deltasFrom === undefined || from < this.deltasFrom) {
      this.deltasFrom = Math.min(from, this.deltasFrom ?? from);
      this.needsDeltas = true;
      this.missingLate = [...late];
      return [];
    }
    const have = new Set(this.compactionDeltas.map(refKey));
    const missing = late.filter((r) => !have.has(refKey(r)));
    if (missing.length > 0) {
      this.missingLate = missing;
      return [];
    }
    const lateKeys = new Set(late.map(refKey));
    return this.compactionDeltas.filter((d) => d.deliveredAt >= from || lateKeys.has(refKey(d)));
  }

  unappliedFiles(from: number, to: number, scope: ArchiveScope): boolean {
    const answer = this.archiveAnswers.get(archiveQuestion(from, to, scope));
    if (answer !== undefined) return answer > 0;
    this.missingArchive = { from, to, scope };
    return false;
  }

  /** Forgets what the last run asked for (before a repeat). */
  resetRequests(): void {
    this.missingPages.clear();
    this.missingLate = [];
    this.missingArchive = undefined;
    this.needsDeltas = false;
    this.written.clear();
  }
}

interface RoundResult {
  readonly files: number;
  readonly lateFiles: number;
  readonly insights: InsightEvent[];
  readonly compacted: boolean;
  /** More inputs remain after a compaction became due. */
  readonly more: boolean;
  readonly committed: boolean;
  readonly idled: boolean;
  readonly unrecorded: number;
  readonly headBytes?: number;
  readonly lateToMark: FileRef[];
}

/** Advances partition `key` to scheduled time `scheduled` (epoch ms). */
export async function advancePartition(key: string, scheduled: number, ports: AdvancePorts): Promise<AdvanceOutcome> {
  const settings = settingsOf(ports.detectConfig);
  const outcome = {
    partition: key,
    files: 0,
    lateFiles: 0,
    insights: [] as InsightEvent[],
    compactions: 0,
    commits: 0,
    conflicts: 0,
    idled: false,
    unrecorded: 0,
    delivery: [] as DeliveryResult[],
    headBytes: undefined as number | undefined,
  };
  const maxRounds = ports.maxRounds ?? 20;
  for (let round = 0; round < maxRounds; round++) {
    const { value, attempts } = await retryOnConflict(
      `advancing ${key}`,
      () => runRound(key, scheduled, settings, ports, outcome),
      ports.retry,
    );
    outcome.conflicts += attempts - 1;
    outcome.files += value.files;
    outcome.lateFiles += value.lateFiles;
    outcome.insights.push(...value.insights);
    outcome.unrecorded = Math.max(outcome.unrecorded, value.unrecorded);
    if (value.compacted) outcome.compactions++;
    if (value.committed) outcome.commits++;
    if (value.headBytes !== undefined) outcome.headBytes = value.headBytes;
    outcome.idled ||= value.idled;
    if (value.lateToMark.length > 0) await ports.store.markLateApplied(key, value.lateToMark);
    if (value.insights.length > 0) {
      const stored = await ports.store.getHead(key);
      if (stored && stored.outbox.length > 0) outcome.delivery.push(await deliverOutbox(stored, ports));
    }
    if (!value.more) break;
  }
  return outcome;
}

async function runRound(
  key: string,
  scheduled: number,
  settings: Settings,
  ports: AdvancePorts,
  progress: { delivery: DeliveryResult[] },
): Promise<RoundResult | typeof CONFLICT> {
  const { store } = ports;
  const { config, binMs, maxLateMs } = settings;
  const W = scheduled - config.reorderMinutes * 60_000;
  let stored = await store.getHead(key);
  if (!stored) return nothingDone();
  if (stored.outbox.length > 0) {
    progress.delivery.push(await deliverOutbox(stored, ports));
    stored = await store.getHead(key);
    if (!stored) return nothingDone();
  }
  const cursor = stored.head?.cursor;

  // Late files: entries of the late index not applied yet (and not applied by a round whose marks failed).
  // One the cursor has not passed yet is simply applied in order with the others; only those before the
  // cursor are applied out of order.
  const appliedKeys = new Set(stored.lateApplied.map(refKey));
  const index: LateEntry[] = stored.lateHint || stored.lateApplied.length > 0 ? await store.queryLate(key) : [];
  const unconfirmed = index.filter((e) => !e.applied && appliedKeys.has(refKey(e)));
  const open = index.filter((e) => !e.applied && !appliedKeys.has(refKey(e)) && e.deliveredAt <= W);
  const lateRefs = open.filter((e) => cursor !== undefined && compareDeltas(e, cursor) <= 0);
  const lateDeltas = lateRefs.length > 0 ? await store.getDeltas(key, lateRefs) : [];

  // Files recorded after the cursor, up to W; plus those at the cursor's own time not applied yet.
  const from = cursor?.deliveredAt ?? 0;
  const recent = await store.queryDeltas(key, from, W);
  const pending = recent.filter((d) => !cursor || compareDeltas(d, cursor) > 0);
  const newDeltas = [...lateDeltas, ...pending];
  const recorded = new Set(newDeltas.map(refKey));
  // An index entry whose delta is not stored yet (the ingest writes the entry first) waits for the next round.
  const lateWaiting = open.some((e) => !recorded.has(refKey(e))) || index.some((e) => !e.applied && e.deliveredAt > W);
  const lateDone = open
    .filter((e) => recorded.has(refKey(e)))
    .map((e) => ({ deliveredAt: e.deliveredAt, file: e.file }));

  let head: PartitionHead | undefined = stored.head;
  if (!head) {
    if (newDeltas.length === 0) return nothingDone();
    const first = Math.min(...newDeltas.map((d) => d.deliveredAt));
    head = newHead(settings, key, first);
  }

  // Applied deltas whose bins the windows of the new ones can read.
  const oldest = Math.floor((Math.max(head.clock, ...newDeltas.map((d) => d.deliveredAt)) - maxLateMs) / binMs);
  let windowFrom = Number.POSITIVE_INFINITY;
  for (const d of newDeltas) windowFrom = Math.min(windowFrom, windowHistoryFrom(settings, d, oldest));
  const history: FileDelta[] = recent.filter((d) => cursor && compareDeltas(d, cursor) <= 0);
  if (windowFrom < from)
    history.unshift(...(await store.queryDeltas(key, windowFrom, from)).filter((d) => d.deliveredAt < from));

  const data = new LoadedData();
  let result: ReturnType<typeof runEngine>;
  for (let repeat = 0; ; repeat++) {
    if (repeat > 50) throw new Error(`advancing ${key}: the engine kept asking for data it was given`);
    result = runEngine(structuredClone(head), settings, data, history, lateDeltas, pending, W);
    if (data.complete) break;
    await load(key, data, head, cursor, ports);
    data.resetRequests();
  }
  const { machine, insights, files, lateFiles, ticks, more } = result;
  const compacted = machine.head.compaction.k > head.compaction.k;
  const unrecorded = Math.max(0, ...data.archiveAnswers.values());

  // Every applied input is committed, ticks included (they are applied only when something is due): the
  // CLI's replay applies the same ticks, and both must continue from the same clock.
  const changed = files > 0 || lateFiles > 0 || ticks > 0 || compacted;
  const lastDelivery = machine.head.lastDelivery;
  // Quiet: no file for a while, nothing waiting, nothing due by W. An idle partition is not looked up for new
  // files until one wakes it (its due time still brings the evaluator back).
  const idle =
    files === 0 &&
    lateFiles === 0 &&
    !lateWaiting &&
    stored.lateApplied.length === unconfirmed.length &&
    machine.nextDue() > W &&
    (!Number.isFinite(lastDelivery) || lastDelivery < W - IDLE_AFTER_MS);
  const goIdle = idle && !stored.idle;
  const confirmedGone = stored.lateApplied.length !== unconfirmed.length;
  // A late hint with nothing behind it (a late duplicate's wake) is cleared, or every tick would come back.
  const staleHint = stored.lateHint && !lateWaiting;
  if (!changed && !goIdle && !confirmedGone && !staleHint && stored.head) {
    // Nothing to write: the due time and idle mark stored are still right.
    return {
      files: 0,
      lateFiles: 0,
      insights: [],
      compacted: false,
      more: false,
      committed: false,
      idled: false,
      unrecorded,
      lateToMark: unconfirmed,
    };
  }
  if (data.written.size > 0) await store.putPages(key, data.written);
  const put = await store.putHead(
    key,
    {
      head: machine.head,
      // Insights a delivery at the start of the round kept (the bus refused them) stay, with their attempts.
      outbox: [...stored.outbox, ...insights.map((insight) => ({ insight, attempts: 0 }))],
      lateHint: lateWaiting,
      lateApplied: [...unconfirmed, ...lateDone],
      ...(stored.prefix ? { prefix: stored.prefix } : {}),
      idle,
      dueAt: machine.nextDue(),
    },
    stored.version,
  );
  if (!put.ok) return CONFLICT;
  if (goIdle) {
    // A file recorded while this round ran saw the partition awake and did not wake it: look once more.
    const latest = await store.queryDeltas(key, machine.head.cursor?.deliveredAt ?? 0, Number.MAX_SAFE_INTEGER);
    const c = machine.head.cursor;
    if (latest.some((d) => !c || compareDeltas(d, c) > 0)) await store.wake(key, false);
  }
  return {
    files,
    lateFiles,
    insights,
    compacted,
    more,
    committed: true,
    idled: goIdle,
    unrecorded,
    headBytes: put.bytes,
    lateToMark: [...unconfirmed, ...lateDone],
  };
}

function nothingDone(): RoundResult {
  return {
    files: 0,
    lateFiles: 0,
    insights: [],
    compacted: false,
    more: false,
    committed: false,
    idled: false,
    unrecorded: 0,
    lateToMark: [],
  };
}

/**
 * Runs the engine over one round's inputs: late files first, then files and due ticks in canonical order up
 * to W. Stops after an input that makes a compaction due when another input follows (the next round starts
 * with the compaction, so every window of a round sees the same pages).
 */
function runEngine(
  head: PartitionHead,
  settings: Settings,
  data: PartitionData,
  history: readonly FileDelta[],
  late: readonly FileDelta[],
  pending: readonly FileDelta[],
  W: number,
): {
  machine: PartitionMachine;
  insights: InsightEvent[];
  files: number;
  lateFiles: number;
  ticks: number;
  more: boolean;
} {
  const index = new WindowIndex(settings.binMs);
  for (const d of history) index.add(d);
  const machine = new PartitionMachine(settings, head, data, index);
  const insights: InsightEvent[] = [];
  const counts = { files: 0, lateFiles: 0, ticks: 0 };
  const tickMs = settings.config.tickMinutes * 60_000;
  const dueTick = (): number => {
    const due = machine.nextDue();
    if (!Number.isFinite(due)) return Number.POSITIVE_INFINITY;
    const last = machine.head.lastTick ?? Number.NEGATIVE_INFINITY;
    return Math.max(Math.ceil(due / tickMs), Math.floor(last / tickMs) + 1) * tickMs;
  };
  let l = 0;
  let p = 0;
  for (;;) {
    let input: PartitionInput;
    if (l < late.length) {
      input = { kind: 'file', delta: late[l++], late: true };
      counts.lateFiles++;
    } else {
      const t = dueTick();
      const next = pending[p];
      if (next && !(t < next.deliveredAt)) {
        const cursor = machine.head.cursor;
        input = { kind: 'file', delta: next, late: cursor !== undefined && compareDeltas(next, cursor) < 0 };
        p++;
        counts.files++;
      } else if (t <= W) {
        input = { kind: 'tick', time: t };
        counts.ticks++;
      } else break;
    }
    insights.push(...machine.apply(input));
    if (machine.head.compaction.due) {
      const another = l < late.length || p < pending.length || dueTick() <= W;
      if (another) return { machine, insights, ...counts, more: true };
    }
  }
  return { machine, insights, ...counts, more: false };
}

/** Loads what the last run recorded as missing. */
async function load(
  key: string,
  data: LoadedData,
  head: PartitionHead,
  cursor: FileRef | undefined,
  ports: AdvancePorts,
): Promise<void> {
  const { store } = ports;
  if (data.missingPages.size > 0) {
    const ids = [...data.missingPages];
    const pages = await store.getPages(key, ids);
    for (const id of ids) {
      data.loadedPageIds.add(id);
      const page = pages.get(id);
      if (page) data.pages.set(id, page);
    }
  }
  if (data.deltasFrom !== undefined && (!data.compactionDeltas || data.missingLate.length > 0)) {
    const upTo = cursor?.deliveredAt ?? head.clock;
    const inRange = (await store.queryDeltas(key, data.deltasFrom, upTo)).filter(
      (d) => !cursor || compareDeltas(d, cursor) <= 0,
    );
    const have = new Set(inRange.map(refKey));
    const late = data.missingLate.filter((r) => !have.has(refKey(r)));
    const lateDeltas = late.length > 0 ? await store.getDeltas(key, late) : [];
    data.compactionDeltas = [...inRange, ...lateDeltas];
  }
  if (data.missingArchive) {
    const { from, to, scope } = data.missingArchive;
    const stored = await store.getHead(key);
    const answer =
      ports.archiveListing && stored?.prefix
        ? await unrecordedFiles(key, stored.prefix, from, to, scope, ports.archiveListing, store)
        : 0;
    data.archiveAnswers.set(archiveQuestion(from, to, scope), answer);
  }
}
