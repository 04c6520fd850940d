/**
 * Detection over many partitions in memory: what `trailsight detect`, the evaluation and the benchmarks
 * run. Files arrive in canonical order (delivery time, then file identity); before each file the
 * partition's due evaluator ticks are applied, exactly as the deployed evaluator would have applied them
 * between deliveries, so a replay and the pipeline agree field for field.
 *
 * The state ({@link ReplayState}) is plain JSON: every partition's head, pages and the deltas still needed
 * (recent windows and the next compaction), plus the files already applied, so a run over a folder that
 * keeps growing counts each file once.
 */

import type { TrailEvent } from '../event';
import type { DetectConfig, DetectConfigInput } from './config';
import { resolveDetectConfig } from './config';
import { type ArchiveScope, MINUTE, type PartitionData, type Settings, settingsOf } from './context';
import { compareDeltas, DeltaBuilder, digestDelta, type FileDelta } from './delta';
import type { InsightEvent } from './insight';
import { newHead, PartitionMachine } from './partition';
import { checkHead, checkPage, emptyPage, type FilePosition, type Page, type PartitionHead, StateError } from './state';
import { WindowIndex } from './windows';

export const REPLAY_STATE_FORMAT = 3;
/** How long a replay state remembers applied files (the pipeline keeps its per-file records as long). */
export const APPLIED_RETENTION_DAYS = 35;

/** A file as the replay sees it. */
export interface DeliveredFile {
  readonly account: string;
  readonly region: string;
  /** Delivery time (epoch ms): from the file name, or the latest event for exports without one. */
  readonly deliveredAt: number;
  /** The file's identity (see {@link fileIdentity}). */
  readonly file: string;
}

export interface PartitionSnapshot {
  head: PartitionHead;
  pages: Record<string, Page>;
  /** Deltas still needed, in the order applied. */
  deltas: FileDelta[];
  /** Files of this partition that could not be read, [delivery time, Region] (the archive holds them, unapplied). */
  unreadable?: [number, string][];
}

export interface ReplayState {
  format: typeof REPLAY_STATE_FORMAT;
  partitions: Record<string, PartitionSnapshot>;
  /** Identities of the files applied, with their delivery time (pruned after `appliedRetentionDays`). */
  applied: Record<string, number>;
}

/** The identity of a file: its name for CloudTrail log and digest files (unique, and the same in S3 and on disk). */
export function fileIdentity(key: string): string {
  const name = key.slice(key.lastIndexOf('/') + 1);
  return /^\d{12}_CloudTrail_[a-z0-9-]+_\d{8}T\d{4}Z_[A-Za-z0-9]+\.json(\.gz)?$/.test(name) ||
    /^\d{12}_CloudTrail-Digest_[a-z0-9-]+_.+_[a-z0-9-]+_\d{8}T\d{6}Z(?:_backfill)?\.json(\.gz)?$/.test(name)
    ? name
    : key;
}

/** In-memory cold data of one partition (the CLI's PartitionData). */
class MemoryData implements PartitionData {
  constructor(readonly snapshot: PartitionSnapshot) {}
  page(id: string): Page {
    const page = this.snapshot.pages[id];
    if (page) return page;
    // A page the compaction has not written yet is empty.
    const fresh = emptyPage();
    this.snapshot.pages[id] = fresh;
    return fresh;
  }
  putPage(id: string, page: Page): void {
    this.snapshot.pages[id] = page;
  }
  deltas(from: number, late: readonly FilePosition[]): FileDelta[] {
    const lateSet = new Set(late.map((p) => `${p.deliveredAt}|${p.file}`));
    return this.snapshot.deltas.filter((d) => d.deliveredAt >= from || lateSet.has(`${d.deliveredAt}|${d.file}`));
  }
  unappliedFiles(from: number, to: number, scope: ArchiveScope): boolean {
    // The CLI reads every file it lists (digests are read by name only, never unreadable).
    if (scope.digests) return false;
    return (this.snapshot.unreadable ?? []).some(
      ([t, region]) => t > from && t <= to && scope.regions.includes(region),
    );
  }
}

interface LivePartition {
  snapshot: PartitionSnapshot;
  data: MemoryData;
  index: WindowIndex;
  machine: PartitionMachine;
}

export interface ReplayStats {
  /** Files applied, and files skipped because an earlier run already applied them. */
  files: number;
  alreadyApplied: number;
  ticks: number;
}

export class Replay {
  readonly config: DetectConfig;
  private readonly settings: Settings;
  private readonly live = new Map<string, LivePartition>();
  private state: ReplayState;
  readonly stats: ReplayStats = { files: 0, alreadyApplied: 0, ticks: 0 };

  constructor(config: DetectConfigInput | DetectConfig = {}, state?: ReplayState) {
    this.config = resolveDetectConfig(config);
    this.settings = settingsOf(this.config);
    this.state = state ?? { format: REPLAY_STATE_FORMAT, partitions: {}, applied: {} };
    for (const [key, snapshot] of Object.entries(this.state.partitions)) this.live.set(key, this.open(snapshot));
  }

  /** The state as it is now (by reference), without {@link snapshot}'s forgetting of old applied files. */
  get currentState(): ReplayState {
    return this.state;
  }

  /**
   * Continues from `state` instead of the current one: a state merged from partitions replayed by several engines
   * (each account's partition is independent of the others), as `trailsight detect` does on every core.
   */
  replaceState(state: ReplayState): void {
    this.state = state;
    this.live.clear();
    for (const [key, snapshot] of Object.entries(state.partitions)) this.live.set(key, this.open(snapshot));
  }

  private open(snapshot: PartitionSnapshot): LivePartition {
    const data = new MemoryData(snapshot);
    const index = new WindowIndex(this.settings.binMs);
    for (const d of snapshot.deltas) index.add(d);
    return { snapshot, data, index, machine: new PartitionMachine(this.settings, snapshot.head, data, index) };
  }

  private partition(account: string, first: number): LivePartition {
    const key = account;
    let p = this.live.get(key);
    if (!p) {
      const snapshot: PartitionSnapshot = {
        head: newHead(this.settings, account, first),
        pages: {},
        deltas: [],
      };
      this.state.partitions[key] = snapshot;
      p = this.open(snapshot);
      this.live.set(key, p);
    }
    return p;
  }

  /** True when an earlier run already applied this file (a repeated run over the same folder). */
  isApplied(file: DeliveredFile): boolean {
    return this.state.applied[file.file] !== undefined;
  }

  /** Builds a file's delta from its events and applies it (see {@link applyDelta}). */
  ingestFile(file: DeliveredFile, events: Iterable<TrailEvent>): InsightEvent[] {
    const builder = new DeltaBuilder(file, this.settings.binMs);
    for (const ev of events) builder.add(ev);
    return this.applyDelta(builder.finish());
  }

  /** Applies a digest file (known by its name only: the trail was logging in its Region when it came). */
  ingestDigest(file: DeliveredFile): InsightEvent[] {
    return this.applyDelta(digestDelta(file));
  }

  /** A builder for a file's delta, to fill while its events stream by. */
  deltaBuilder(file: DeliveredFile): DeltaBuilder {
    return new DeltaBuilder(file, this.settings.binMs);
  }

  /**
   * Applies a file's delta after the partition's due ticks before it. Files must come in canonical order
   * (within each partition); a file an earlier run applied is skipped and counted.
   */
  applyDelta(delta: FileDelta): InsightEvent[] {
    if (this.state.applied[delta.file] !== undefined) {
      this.stats.alreadyApplied++;
      return [];
    }
    const p = this.partition(delta.account, delta.deliveredAt);
    const cursor = p.snapshot.head.cursor;
    const late = cursor !== undefined && compareDeltas(delta, cursor) < 0;
    const out = this.ticksBefore(p, delta.deliveredAt, false);
    out.push(...this.run(p, { kind: 'file', delta, late }));
    p.snapshot.deltas.push(delta);
    this.state.applied[delta.file] = delta.deliveredAt;
    this.stats.files++;
    this.prune(p);
    return out;
  }

  /** Records a file of a partition that could not be read: it was delivered, but not applied. */
  unreadable(account: string, region: string, deliveredAt: number): void {
    const p = this.partition(account, deliveredAt);
    p.snapshot.unreadable ??= [];
    p.snapshot.unreadable.push([deliveredAt, region]);
  }

  /** Applies every partition's due ticks up to `now` inclusive (the end of a replay, `--until`). */
  tick(now: number): InsightEvent[] {
    const out: InsightEvent[] = [];
    for (const p of this.live.values()) out.push(...this.ticksBefore(p, now, true));
    return out;
  }

  /**
   * The state to persist; resuming from it continues exactly. Returned by reference: serialize it. Files
   * applied more than {@link APPLIED_RETENTION_DAYS} before the latest one are forgotten.
   */
  snapshot(): ReplayState {
    pruneApplied(this.state.applied);
    return this.state;
  }

  /** Due ticks of a partition before `time` (or up to it, inclusive). */
  private ticksBefore(p: LivePartition, time: number, inclusive: boolean): InsightEvent[] {
    const out: InsightEvent[] = [];
    const tickMs = this.config.tickMinutes * MINUTE;
    for (;;) {
      const due = p.machine.nextDue();
      if (!Number.isFinite(due)) break;
      const lastTick = p.snapshot.head.lastTick ?? Number.NEGATIVE_INFINITY;
      const t = Math.max(Math.ceil(due / tickMs), Math.floor(lastTick / tickMs) + 1) * tickMs;
      if (inclusive ? t > time : t >= time) break;
      out.push(...this.run(p, { kind: 'tick', time: t }));
      this.stats.ticks++;
    }
    return out;
  }

  private run(p: LivePartition, input: Parameters<PartitionMachine['apply']>[0]): InsightEvent[] {
    return p.machine.apply(input);
  }

  /** Drops the deltas no window test or compaction can read again, and old applied-file marks. */
  private prune(p: LivePartition): void {
    const { head } = p.snapshot;
    const { binMs, maxLateMs, config } = this.settings;
    const compactionFloor = (head.compaction.horizon - config.windowBins + 1) * binMs - MINUTE;
    const windowFloor =
      head.clock - maxLateMs - (Math.max(config.windowBins, this.settings.longBins) + 1) * binMs - MINUTE;
    const floor = Math.min(compactionFloor, windowFloor);
    if (p.snapshot.deltas.length > 0 && p.snapshot.deltas[0].deliveredAt < floor) {
      const late = new Set(head.compaction.late.map((x) => `${x.deliveredAt}|${x.file}`));
      p.snapshot.deltas = p.snapshot.deltas.filter(
        (d) => d.deliveredAt >= floor || late.has(`${d.deliveredAt}|${d.file}`),
      );
    }
    if (p.snapshot.unreadable) {
      p.snapshot.unreadable = p.snapshot.unreadable.filter(([t]) => t >= head.clock - 7 * 86_400_000);
    }
  }
}

/** Forgets the applied files delivered more than {@link APPLIED_RETENTION_DAYS} before the latest one. */
export function pruneApplied(applied: Record<string, number>): void {
  let latest = Number.NEGATIVE_INFINITY;
  for (const t of Object.values(applied)) if (t > latest) latest = t;
  const floor = latest - APPLIED_RETENTION_DAYS * 86_400_000;
  for (const [file, t] of Object.entries(applied)) if (t < floor) delete applied[file];
}

/** Parses and checks a replay state document. */
export function parseReplayState(text: string): ReplayState {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (error) {
    throw new StateError(`state is not JSON: ${(error as Error).message}`);
  }
  if (typeof doc !== 'object' || doc === null) throw new StateError('state is not an object');
  const s = doc as Partial<ReplayState>;
  if (s.format !== REPLAY_STATE_FORMAT) {
    throw new StateError(
      `unsupported state format ${String(s.format ?? (doc as { version?: unknown }).version)}: this version reads format ${REPLAY_STATE_FORMAT} (start a new state file)`,
    );
  }
  if (
    typeof s.partitions !== 'object' ||
    s.partitions === null ||
    typeof s.applied !== 'object' ||
    s.applied === null
  ) {
    throw new StateError('state lacks partitions or applied files');
  }
  for (const [key, p] of Object.entries(s.partitions)) {
    if (typeof p !== 'object' || p === null || !Array.isArray(p.deltas) || typeof p.pages !== 'object') {
      throw new StateError(`state partition ${key} is malformed`);
    }
    const head = checkHead(restoreInfinity(p.head), `state partition ${key}`);
    p.head = head;
    for (const [id, page] of Object.entries(p.pages))
      p.pages[id] = checkPage(page, `state partition ${key} page ${id}`);
  }
  return s as ReplayState;
}

/** `-Infinity` does not survive JSON (it becomes null): restore the one field that may hold it. */
function restoreInfinity(head: unknown): unknown {
  if (typeof head === 'object' && head !== null && (head as { lastDelivery?: unknown }).lastDelivery === null) {
    (head as { lastDelivery: number }).lastDelivery = Number.NEGATIVE_INFINITY;
  }
  return head;
}

export function serializeReplayState(state: ReplayState): string {
  return JSON.stringify(state);
}
