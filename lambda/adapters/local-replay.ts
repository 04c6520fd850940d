/**
 * Replays local CloudTrail files with every core, one engine per thread, each owning some accounts: an account's
 * partition is independent of the others (its own baselines, episodes, jobs and clock), so the accounts can be
 * replayed side by side and the results put back together in the order one engine would have produced them:
 *
 * - each file's outcome (already applied, a digest applied, or read: its report and events) and insights come
 *   back in the files' canonical order, so the caller prints and counts exactly what one thread would;
 * - the insights of the final `until` ticks come in the order one engine keeps its partitions (the state's,
 *   then by each account's first applied file);
 * - the state is one engine's: its partitions in that same order, and the files applied appended in file order.
 *
 * Each thread reads its own files (the ingest core's reader, `readLocalFileEvents`), dedupes eventIDs per account,
 * builds each file's delta and applies it, as `Replay.ingestFile` would. Only named CloudTrail files (log and
 * digest files, whose account, Region and delivery time are in their names) can be shared out this way.
 *
 * With rules, each thread also tests its files' events against the run's rules and sends each file's groups, which
 * the caller records in its ledger in file order (thread-rules.ts).
 */
import { AccountDedupers } from '../core/dedupe';
import {
  type DeliveredFile,
  type DetectConfig,
  type InsightEvent,
  REPLAY_STATE_FORMAT,
  Replay,
  type ReplayState,
  settingsOf,
} from '../core/detect';
import { createReadReport, type ReadReport } from '../core/reader';
import { addObservedCounts, type ObservedCounts, type PortableGroup } from '../core/rules';
import type { LocalFile } from './local-files';
import { deltaOf, readLocalFileEvents, rebuildReport, type SerializedReport, serializeReport } from './local-reader';
import { ruleEngineOnThread, type ThreadRules } from './thread-rules';
import { startThread, stopThread } from './threads';

/** A file to replay, in canonical order. */
export interface ReplayFile {
  readonly file: LocalFile;
  readonly deliveredAt: number;
  /** Its identity (see `fileIdentity`). */
  readonly identity: string;
  /** A digest file: applied by its name, never read. */
  readonly digest?: boolean;
}

/** What became of one file, in canonical order. */
export type ReplayOutcome =
  | { readonly kind: 'applied'; readonly index: number }
  | { readonly kind: 'digest'; readonly index: number; readonly insights: InsightEvent[] }
  | {
      readonly kind: 'read';
      readonly index: number;
      readonly report: ReadReport;
      /** Events read (duplicates removed). */
      readonly events: number;
      /** Empty when the file could not be read fully (it was then recorded as unreadable, not applied). */
      readonly insights: InsightEvent[];
      /** With rules, the file's groups (none when it could not be read fully: such a file raises no match). */
      readonly groups?: PortableGroup[];
    };

export interface PartitionReplayOptions {
  readonly config: DetectConfig;
  /** The state to continue from (it is not changed); the result's state continues it. */
  readonly state?: ReplayState;
  /** Threads; at most one per account. */
  readonly workers: number;
  /** After the last file, advance every partition's clock to this time. */
  readonly until?: number;
  readonly maxRecordBytes?: number;
  /** Test the events against these rules too. */
  readonly rules?: ThreadRules;
}

/** The end of a replay: the `until` ticks' insights and the state, both as one engine would have them. */
export interface PartitionReplayEnd {
  readonly ticks: InsightEvent[];
  readonly state: ReplayState;
  /** With rules: what the threads' engines tested (add them to the caller's engine's counts). */
  readonly observed?: ObservedCounts;
}

/** The replay threads failed; the outcomes of the files before `resumeAt` had been handed out. */
export class ReplayThreadsFailed extends Error {
  override readonly name = 'ReplayThreadsFailed';
  constructor(
    readonly resumeAt: number,
    failure: Error,
  ) {
    super(`the replay threads failed: ${failure.message}`, { cause: failure });
  }
}

/** The accounts of `files` if they can be shared out (every file named, two accounts or more), else undefined. */
export function partitionAccounts(files: readonly ReplayFile[]): string[] | undefined {
  const accounts = new Set<string>();
  for (const f of files) {
    const { account, region } = f.file.info;
    if (!account || !region || f.file.info.deliveredAt === undefined) return undefined;
    accounts.add(account);
  }
  return accounts.size > 1 ? [...accounts] : undefined;
}

/** One thread's share: its files (with their positions) and what of the state concerns them. */
export interface ReplayPart {
  readonly config: DetectConfig;
  readonly state: ReplayState;
  readonly files: readonly (ReplayFile & { readonly index: number })[];
  readonly until?: number;
  readonly maxRecordBytes?: number;
  readonly rules?: ThreadRules;
}

/** A thread's messages: outcomes as they come (in its files' order), then its end. */
export type ReplayMessage =
  | { readonly kind: 'outcomes'; readonly outcomes: readonly WireOutcome[] }
  | {
      readonly kind: 'end';
      readonly ticks: InsightEvent[];
      readonly state: ReplayState;
      readonly observed?: ObservedCounts;
    };

/** An outcome as it crosses threads (a report's errors as plain data). */
type WireOutcome =
  | Exclude<ReplayOutcome, { kind: 'read' }>
  | (Omit<Extract<ReplayOutcome, { kind: 'read' }>, 'report'> & { report: SerializedReport });

/** Outcomes a thread collects before posting them. */
const OUTCOMES_PER_MESSAGE = 32;

/**
 * What a replay thread does with its share (exported for the thread's script and for tests); it stops before the
 * next file, without sending its end, once `stopping` says so.
 */
export async function runReplayPart(
  part: ReplayPart,
  post: (message: ReplayMessage) => void,
  stopping: () => boolean = () => false,
): Promise<void> {
  const replay = new Replay(part.config, part.state);
  const { binMs } = settingsOf(replay.config);
  const dedupers = new AccountDedupers();
  const rules = part.rules && ruleEngineOnThread(part.rules);
  let outcomes: WireOutcome[] = [];
  for (const f of part.files) {
    if (stopping()) return; // the caller stopped reading: no end to send
    const account = f.file.info.account as string;
    const region = f.file.info.region as string;
    const delivered: DeliveredFile = { account, region, deliveredAt: f.deliveredAt, file: f.identity };
    const { index } = f;
    if (replay.isApplied(delivered)) outcomes.push({ kind: 'applied', index });
    else if (f.digest) outcomes.push({ kind: 'digest', index, insights: replay.ingestDigest(delivered) });
    else {
      const report = createReadReport(f.file.path);
      const events = await readLocalFileEvents(f.file, {
        file: f.file.path,
        report,
        // As the one-thread replay: the file's account's window (detect's dedupe is per account).
        dedupe: dedupers.of(account),
        fallbackAccount: account,
        ...(part.maxRecordBytes ? { maxRecordBytes: part.maxRecordBytes } : {}),
        ...(rules ? { onEvent: rules.observe } : {}),
      });
      const groups = rules?.takeGroups();
      let insights: InsightEvent[] = [];
      if (report.complete) insights = replay.applyDelta(deltaOf(f.file, events, binMs));
      // Delivered but not applied: the pipeline would dead-letter it, and no silence is blamed on the trail.
      else replay.unreadable(account, region, f.deliveredAt);
      outcomes.push({
        kind: 'read',
        index,
        report: serializeReport(report),
        events: events.length,
        insights,
        ...(rules && groups ? { groups: report.complete ? rules.portable(groups) : [] } : {}),
      });
    }
    if (outcomes.length >= OUTCOMES_PER_MESSAGE) {
      post({ kind: 'outcomes', outcomes });
      outcomes = [];
    }
  }
  if (outcomes.length > 0) post({ kind: 'outcomes', outcomes });
  const ticks = part.until === undefined ? [] : replay.tick(part.until);
  post({ kind: 'end', ticks, state: replay.snapshot(), ...(rules ? { observed: rules.stats } : {}) });
}

/**
 * Replays `files` (in canonical order, every one named: see {@link partitionAccounts}) on `options.workers`
 * threads, yielding each file's outcome in order, and returns the end. Throws {@link ReplayThreadsFailed} if a
 * thread fails: the caller can replay again in one thread, quietly up to `resumeAt`.
 */
export async function* replayByPartition(
  files: readonly ReplayFile[],
  options: PartitionReplayOptions,
): AsyncGenerator<ReplayOutcome, PartitionReplayEnd, undefined> {
  const accounts = partitionAccounts(files);
  if (!accounts)
    throw new Error('replayByPartition: every file must be a named CloudTrail file of two accounts or more');
  const parts = shareOut(files, accounts, Math.max(1, Math.min(options.workers, accounts.length)));
  const initial = options.state;
  const owner = new Int32Array(files.length);
  const queues: WireOutcome[][] = parts.map(() => []);
  const ends: (Extract<ReplayMessage, { kind: 'end' }> | undefined)[] = parts.map(() => undefined);
  let failure: Error | undefined;
  let wake: (() => void) | undefined;
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const threads = parts.map((mine, n) => {
    const ids = new Set(mine.map((f) => f.identity));
    for (const f of mine) owner[f.index] = n;
    const part: ReplayPart = {
      config: options.config,
      state: subState(initial, new Set(mine.map((f) => f.file.info.account as string)), ids),
      files: mine,
      ...(options.until === undefined ? {} : { until: options.until }),
      ...(options.maxRecordBytes ? { maxRecordBytes: options.maxRecordBytes } : {}),
      ...(options.rules ? { rules: options.rules } : {}),
    };
    const worker = startThread('local-replay-worker', { workerData: part });
    worker.on('message', (m: ReplayMessage) => {
      if (m.kind === 'outcomes') for (const o of m.outcomes) queues[n].push(o);
      else ends[n] = m;
      notify();
    });
    worker.on('error', (e) => {
      failure ??= e;
      notify();
    });
    worker.on('exit', (code) => {
      if (!ends[n]) failure ??= new Error(`a replay thread exited with code ${code} before its end`);
      notify();
    });
    return worker;
  });
  const heads = parts.map(() => 0);
  const waitFor = async (ready: () => boolean, at: number) => {
    while (!ready()) {
      if (failure) throw new ReplayThreadsFailed(at, failure);
      await new Promise<void>((r) => {
        wake = r;
      });
    }
  };
  try {
    // Partitions in the order one engine keeps them: the state's, then by first applied file.
    const order: string[] = Object.keys(initial?.partitions ?? {});
    const known = new Set(order);
    const applied: Record<string, number> = { ...(initial?.applied ?? {}) };
    for (let i = 0; i < files.length; i++) {
      const n = owner[i];
      await waitFor(() => heads[n] < queues[n].length, i);
      const wire = queues[n][heads[n]];
      queues[n][heads[n]++] = undefined as unknown as WireOutcome; // let it go
      if (wire.index !== i) throw new ReplayThreadsFailed(i, new Error(`outcome ${wire.index} came for file ${i}`));
      const outcome: ReplayOutcome = wire.kind === 'read' ? { ...wire, report: rebuildReport(wire.report) } : wire;
      if (outcome.kind !== 'applied') {
        const account = files[i].file.info.account as string;
        if (!known.has(account)) {
          known.add(account);
          order.push(account);
        }
        if (outcome.kind === 'digest' || outcome.report.complete) applied[files[i].identity] = files[i].deliveredAt;
      }
      yield outcome;
    }
    await waitFor(() => ends.every((e) => e !== undefined), files.length);
    const ended = ends as Extract<ReplayMessage, { kind: 'end' }>[];
    const partitions: ReplayState['partitions'] = {};
    const ticks: InsightEvent[] = [];
    for (const account of order) {
      const n = parts.findIndex((mine) => mine.some((f) => f.file.info.account === account));
      const snapshot = n >= 0 ? ended[n].state.partitions[account] : initial?.partitions[account];
      if (snapshot) partitions[account] = snapshot;
      if (n >= 0) for (const t of ended[n].ticks) if (t.recipientAccountId === account) ticks.push(t);
    }
    const state: ReplayState = { format: REPLAY_STATE_FORMAT, partitions, applied };
    if (!options.rules) return { ticks, state };
    const observed: ObservedCounts = { events: 0, hits: 0, suppressed: 0 };
    for (const end of ended) if (end.observed) addObservedCounts(observed, end.observed);
    return { ticks, state, observed };
  } finally {
    await Promise.all(threads.map((w) => stopThread(w)));
  }
}

/**
 * Accounts to threads, the busiest first (by files: their sizes are not asked for, see `LocalFile.size`) to the
 * least loaded, each thread's files in canonical order.
 */
function shareOut(
  files: readonly ReplayFile[],
  accounts: readonly string[],
  threads: number,
): (ReplayFile & { index: number })[][] {
  const filesOf = new Map<string, number>(accounts.map((a) => [a, 0]));
  for (const f of files) {
    const account = f.file.info.account as string;
    filesOf.set(account, (filesOf.get(account) ?? 0) + 1);
  }
  const load = new Array<number>(threads).fill(0);
  const threadOf = new Map<string, number>();
  const busiestFirst = [...accounts].sort((x, y) => (filesOf.get(y) ?? 0) - (filesOf.get(x) ?? 0) || (x < y ? -1 : 1));
  for (const account of busiestFirst) {
    const n = load.indexOf(Math.min(...load));
    threadOf.set(account, n);
    load[n] += filesOf.get(account) ?? 0;
  }
  const parts: (ReplayFile & { index: number })[][] = Array.from({ length: threads }, () => []);
  files.forEach((f, index) => {
    parts[threadOf.get(f.file.info.account as string) as number].push({ ...f, index });
  });
  return parts.filter((p) => p.length > 0);
}

/** The part of a state one thread needs: its accounts' partitions, and the applied marks of its files. */
function subState(
  state: ReplayState | undefined,
  accounts: ReadonlySet<string>,
  ids: ReadonlySet<string>,
): ReplayState {
  const partitions: ReplayState['partitions'] = {};
  const applied: Record<string, number> = {};
  if (state) {
    for (const [account, p] of Object.entries(state.partitions)) if (accounts.has(account)) partitions[account] = p;
    for (const [id, t] of Object.entries(state.applied)) if (ids.has(id)) applied[id] = t;
  }
  return { format: REPLAY_STATE_FORMAT, partitions, applied };
}
