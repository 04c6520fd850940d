/**
 * Reads local CloudTrail files with every core and hands each file's events back in the order the files were
 * given (delivery order for `detect`), so results are identical to reading them one after another here.
 *
 * Worker threads each open, gunzip, split, parse and normalize whole files with the ingest core's reader
 * (`readTrailEventBatches` over `openLocalRecords`, exactly what a single-threaded run does); this thread puts
 * the results back in order and applies the one step that depends on order, the eventID dedupe, so its
 * counts and the reports match a single-threaded read with the same deduper. Small files travel in batches (a
 * message per file costs more than a 20 KB delivery takes to parse), and the files in flight are bounded, so
 * memory stays flat however long the list is.
 *
 * ```ts
 * for await (const { file, events, report } of readLocalFiles(files, { dedupe: new EventIdDeduper() })) {
 *   // files in the order given; `report` as readTrailEvents would have filled it
 * }
 * ```
 *
 * {@link readLocalDeltas} is the same read for `trailsight detect`: the threads also build each file's detection
 * delta, and this thread applies the deltas.
 *
 * {@link summarizeLocalFiles} is the same read for `trailsight summary`, which needs counts, not events: each
 * thread also counts its batch of files into a {@link SummaryCounts}, and this thread adds those up instead of
 * rebuilding and counting every event here, which made this thread the bottleneck. The dedupe still runs here,
 * in order, on the eventIDs (sent as bits, see {@link EventIds}); a batch holding a duplicate (rare: CloudTrail delivered an event twice) is counted
 * event by event from its columns instead, without the duplicates, so the totals are those of a single thread.
 */
import { closeSync, fstatSync, openSync } from 'node:fs';
import type { Worker } from 'node:worker_threads';
import { EventIdDeduper, parseUuid } from '../core/dedupe';
import {
  buildDelta,
  type DeliveredFile,
  type FileDelta,
  fileIdentity,
  parseDelta,
  serializeDelta,
} from '../core/detect';
import type { TrailEvent } from '../core/event';
import {
  createReadReport,
  type ReadIssueKind,
  type ReadOptions,
  type ReadReport,
  readTrailBuffer,
  readTrailEventBatches,
  TrailReadError,
} from '../core/reader';
import type { FileGroup, ObservedCounts, PortableGroup, RuleEngine } from '../core/rules';
import { SummaryBuilder, type SummaryCounts } from '../core/summary';
import { type LocalFile, openLocalRecords, readOpenFile, sizeOf } from './local-files';
import { ruleEngineOnThread, type ThreadRules } from './thread-rules';
import { defaultThreads, startThread, stopThread } from './threads';

/** One file's outcome in {@link summarizeLocalFiles}: its events went into the summary. */
export interface FileSummarized {
  readonly file: LocalFile;
  /** The file's events counted (duplicates removed). */
  readonly events: number;
  readonly report: ReadReport;
}

export interface FileEvents {
  readonly file: LocalFile;
  /** The file's events, duplicates (by the deduper) removed. */
  readonly events: TrailEvent[];
  /** What happened to the file, as `readTrailEvents` reports it (duplicates counted under `skipped.duplicate`). */
  readonly report: ReadReport;
}

export interface LocalReadOptions {
  /**
   * Worker threads reading and parsing files; 0 reads every file in this thread, one after another.
   * @default - the number of cores available (os.availableParallelism()), at most 8; 0 on a single core
   */
  readonly workers?: number;
  /**
   * Drops repeated eventIDs across the files, in the order given (see `EventIdDeduper`): one deduper for every
   * file, or a deduper per file (`detect` keeps one per account).
   */
  readonly dedupe?: EventIdDeduper | ((file: LocalFile) => EventIdDeduper | undefined);
  /** Skip records larger than this many bytes (see `ReadOptions.maxRecordBytes`). */
  readonly maxRecordBytes?: number;
  /** Called once if the reader threads fail; the files they had not returned are then read in this thread. */
  readonly onThreadFailure?: (error: Error) => void;
  /**
   * {@link readLocalDeltas} only: test every event (duplicates removed) against these rules too, on the threads as
   * `threads` says (thread-rules.ts); each file's groups come with its delta, and the threads' counts are added to
   * `engine`'s.
   */
  readonly rules?: { readonly engine: RuleEngine; readonly threads: ThreadRules };
}

/** One file's result: its events and its report with the errors as plain issues (they cross threads). */
export interface WorkerFileResult {
  readonly events: TrailEvent[];
  readonly report: SerializedReport;
}

export type SerializedReport = Omit<ReadReport, 'errors'> & { errors: SerializedIssue[] };

interface SerializedIssue {
  readonly kind: ReadIssueKind;
  readonly file: string;
  readonly offset: number;
  readonly message: string;
}

/**
 * What a reader thread sends back for its files: their events (encoded), or, with their eventIDs, the events
 * counted into a {@link SummaryCounts} (for {@link summarizeLocalFiles}) or each file's detection delta (for
 * {@link readLocalDeltas}).
 */
export type TaskMode =
  | { readonly kind: 'events' }
  | { readonly kind: 'count' }
  | { readonly kind: 'deltas'; readonly binMs: number; readonly rules?: ThreadRules };

/** A task for a worker: files (by position in the caller's list) to read in one go. */
export interface WorkerTask {
  readonly id: number;
  readonly files: readonly LocalFile[];
  readonly maxRecordBytes?: number;
  readonly mode: TaskMode;
}

export interface WorkerReply {
  readonly id: number;
  /** The events of every file of the task, in order (see {@link encodeEvents}); not for a counting task. */
  readonly events?: EncodedEvents;
  /**
   * A counting or delta task's eventIDs, in order: all this thread needs to dedupe; the events themselves are
   * only needed for a file holding a duplicate, which is read again here. See {@link EventIds}.
   */
  readonly ids?: EventIds;
  /** Per file: its report, how many of the events are its, and its delta (delta tasks). */
  readonly files: readonly {
    readonly report: SerializedReport;
    readonly events: number;
    /**
     * The delta as JSON (`serializeDelta`): a string crosses threads as one copy, and parsing it here costs less
     * than the structured clone of its objects did, and gives its size (the engine's compaction trigger) free.
     */
    readonly delta?: string;
    /** A delta task with rules: the file's groups, and what testing its events (duplicates included) counted. */
    readonly rules?: { readonly groups: PortableGroup[]; readonly observed: ObservedCounts };
  }[];
  /** Every event of the task counted, duplicates included (when the task asked for it). */
  readonly counts?: SummaryCounts;
}

/**
 * Events' eventIDs as they cross threads: a lowercase UUID (CloudTrail's) as its four 32-bit words, any other ID
 * as a string. Typed arrays move without a copy; 300,000 strings cost both threads a structured clone.
 */
export interface EventIds {
  /** Per event: 0 no eventID, 1 a UUID (words `4i..4i+3` of `uuids`), 2 the next string of `others`. */
  readonly kinds: Uint8Array;
  readonly uuids: Int32Array;
  readonly others: readonly string[];
}

function eventIdsOf(events: readonly TrailEvent[]): EventIds {
  const kinds = new Uint8Array(events.length);
  const uuids = new Int32Array(events.length * 4);
  const others: string[] = [];
  for (let i = 0; i < events.length; i++) {
    const id = events[i].eventId;
    if (id === undefined) continue;
    if (parseUuid(id, uuids, i * 4)) kinds[i] = 1;
    else {
      kinds[i] = 2;
      others.push(id);
    }
  }
  return { kinds, uuids, others };
}

/** This thread's rule engine, loaded for the first task that asks for rules (every task of a read asks the same). */
let threadRules: { readonly key: string; readonly engine: RuleEngine } | undefined;

function ruleEngineFor(rules: ThreadRules): RuleEngine {
  const key = JSON.stringify(rules);
  if (threadRules?.key !== key) threadRules = { key, engine: ruleEngineOnThread(rules) };
  return threadRules.engine;
}

/** The eventIDs of several runs of events, one after another. */
function concatIds(parts: readonly EventIds[]): EventIds {
  if (parts.length === 1) return parts[0];
  const count = parts.reduce((n, p) => n + p.kinds.length, 0);
  const kinds = new Uint8Array(count);
  const uuids = new Int32Array(count * 4);
  const others: string[] = [];
  let at = 0;
  for (const p of parts) {
    kinds.set(p.kinds, at);
    uuids.set(p.uuids, at * 4);
    for (const o of p.others) others.push(o);
    at += p.kinds.length;
  }
  return { kinds, uuids, others };
}

/**
 * What a reader thread does with one task: read its files in order, then what its {@link TaskMode} asks. Only a
 * task that sends the events themselves keeps them across its files; the others take each file's eventIDs (and its
 * counts, or its delta) as soon as it is read, so at most one file's events are alive at a time, which leaves the
 * thread's young generation little to copy and to grow for (`summary` on two cores over the month tree: about 5 %
 * less time and a fifth fewer page faults).
 */
export async function runTask(task: WorkerTask): Promise<WorkerReply> {
  const { mode } = task;
  const rules = mode.kind === 'deltas' && mode.rules ? ruleEngineFor(mode.rules) : undefined;
  const events: TrailEvent[] = [];
  const ids: EventIds[] = [];
  const summary = mode.kind === 'count' ? new SummaryBuilder() : undefined;
  const files: WorkerReply['files'][number][] = [];
  for (const file of task.files) {
    // An engine of its own per file: tasks run side by side on this thread while one waits on a streamed read.
    const tester = rules?.fork();
    const result = await readOneFile(file, task.maxRecordBytes, tester ? { onEvent: tester.observe } : {});
    if (mode.kind === 'events') for (const e of result.events) events.push(e);
    else ids.push(eventIdsOf(result.events));
    if (summary) for (const e of result.events) summary.add(e);
    files.push({
      report: result.report,
      events: result.events.length,
      ...(mode.kind === 'deltas' ? { delta: serializeDelta(deltaOf(file, result.events, mode.binMs)) } : {}),
      ...(tester ? { rules: { groups: tester.portable(tester.takeGroups()), observed: tester.stats } } : {}),
    });
  }
  if (mode.kind === 'events') return { id: task.id, events: encodeEvents(events), files };
  return { id: task.id, ids: concatIds(ids), files, ...(summary ? { counts: summary.eventCounts() } : {}) };
}

/** The typed arrays of a reply, which move to the reading thread without a copy. */
export function transferables(reply: WorkerReply): ArrayBuffer[] {
  if (reply.events) {
    const { time, flags, refs } = reply.events;
    return [time.buffer, flags.buffer, refs.buffer] as ArrayBuffer[];
  }
  return reply.ids ? [reply.ids.kinds.buffer as ArrayBuffer, reply.ids.uuids.buffer as ArrayBuffer] : [];
}

/**
 * Events as columns, to cross threads cheaply: a structured clone of 300,000 event objects costs this thread
 * about as much as parsing them did, while typed arrays move without a copy and the strings of a task (accounts,
 * APIs, principals repeat) are sent once. Decoded here into objects of the same shape `normalizeRecord` makes.
 */
export interface EncodedEvents {
  readonly count: number;
  readonly time: Float64Array;
  /** Bits: readOnly 1, readOnlyInferred 2, management 4, mfaUsed known 8, mfaUsed 16, eventId known 32. */
  readonly flags: Uint8Array;
  /** `count × STRING_FIELDS.length` indexes into `strings`, -1 for undefined. */
  readonly refs: Int32Array;
  readonly strings: readonly string[];
  /** eventID of each event ('' when unknown: see the flags), unique per event, so not worth a dictionary. */
  readonly eventIds: readonly string[];
}

/** The flag bit of an event whose eventID is known (see {@link EncodedEvents.flags}). */
const EVENT_ID_KNOWN = 32;

const STRING_FIELDS = [
  'account',
  'region',
  'source',
  'name',
  'errorCode',
  'principal',
  'principalKind',
  'sessionName',
  'sourceIp',
  'userAgent',
  'eventType',
  'category',
  'loginOutcome',
] as const;

export function encodeEvents(events: readonly TrailEvent[]): EncodedEvents {
  const count = events.length;
  const fields = STRING_FIELDS.length;
  const time = new Float64Array(count);
  const flags = new Uint8Array(count);
  const refs = new Int32Array(count * fields);
  const strings: string[] = [];
  const eventIds: string[] = new Array(count);
  const index = new Map<string, number>();
  // The previous event's value of each field: consecutive events of a file mostly share account, region, API,
  // principal, which saves most dictionary look-ups.
  const lastValue: (string | undefined)[] = new Array(fields).fill(undefined);
  const lastRef = new Int32Array(fields).fill(-1);
  let k = 0;
  for (let i = 0; i < count; i++) {
    const e = events[i];
    time[i] = e.time;
    eventIds[i] = e.eventId ?? '';
    flags[i] =
      (e.readOnly ? 1 : 0) |
      (e.readOnlyInferred ? 2 : 0) |
      (e.management ? 4 : 0) |
      (e.mfaUsed === undefined ? 0 : 8) |
      (e.mfaUsed ? 16 : 0) |
      (e.eventId === undefined ? 0 : EVENT_ID_KNOWN);
    for (let f = 0; f < fields; f++) {
      const v = e[STRING_FIELDS[f]];
      if (v === undefined) refs[k++] = -1;
      else if (v === lastValue[f]) refs[k++] = lastRef[f];
      else {
        let at = index.get(v);
        if (at === undefined) {
          at = strings.length;
          strings.push(v);
          index.set(v, at);
        }
        lastValue[f] = v;
        lastRef[f] = at;
        refs[k++] = at;
      }
    }
  }
  return { count, time, flags, refs, strings, eventIds };
}

/** Events `from` to `from + count` of `encoded`, as `normalizeRecord` shapes them (no `raw`). */
export function decodeEvents(encoded: EncodedEvents, from: number, count: number): TrailEvent[] {
  const { time, flags, refs, strings, eventIds } = encoded;
  const n = STRING_FIELDS.length;
  const s = (at: number): string | undefined => (at < 0 ? undefined : strings[at]);
  const out: TrailEvent[] = new Array(count);
  for (let j = 0; j < count; j++) {
    const i = from + j;
    const r = i * n;
    const f = flags[i];
    // The field order of normalizeRecord's literal, so the objects share its hidden class.
    out[j] = {
      time: time[i],
      account: strings[refs[r]],
      region: strings[refs[r + 1]],
      source: strings[refs[r + 2]],
      name: strings[refs[r + 3]],
      readOnly: (f & 1) !== 0,
      readOnlyInferred: (f & 2) !== 0,
      errorCode: s(refs[r + 4]),
      principal: strings[refs[r + 5]],
      principalKind: strings[refs[r + 6]] as TrailEvent['principalKind'],
      sessionName: s(refs[r + 7]),
      sourceIp: s(refs[r + 8]),
      userAgent: s(refs[r + 9]),
      eventId: (f & EVENT_ID_KNOWN) === 0 ? undefined : eventIds[i],
      eventType: s(refs[r + 10]),
      category: s(refs[r + 11]),
      management: (f & 4) !== 0,
      loginOutcome: s(refs[r + 12]) as TrailEvent['loginOutcome'],
      mfaUsed: (f & 8) === 0 ? undefined : (f & 16) !== 0,
      raw: undefined,
    };
  }
  return out;
}

/** Files per task are grouped up to this many compressed bytes (or one file, if larger). */
const TASK_BYTES = 256 * 1024;
const TASK_MAX_FILES = 64;
/** Tasks in flight per worker: enough to keep it busy while this thread merges, few enough to bound memory. */
const TASKS_PER_WORKER = 4;

/**
 * A delivery file up to this size is read in one call and parsed synchronously ({@link readTrailBuffer}): the same
 * bytes in the same single chunk as `openLocalRecords` gives the reader (it reads such files whole too), without
 * the asynchronous steps, which cost more than parsing a 20 KB delivery.
 */
const SYNC_READ_MAX_BYTES = 1024 * 1024;

/**
 * Reads one local file's events with the ingest core's reader, as `readTrailEvents` over `openLocalRecords` would
 * (same events, same report): a delivery file up to {@link SYNC_READ_MAX_BYTES} in one synchronous call, anything
 * else streamed.
 */
export async function readLocalFileEvents(file: LocalFile, options: ReadOptions): Promise<TrailEvent[]> {
  // Exports (`foreign`) may be rewritten to another shape and JSON Lines are wrapped by openLocalRecords: only
  // delivery files are passed through as stored.
  if (file.format === 'records' && file.info.kind !== 'foreign') {
    const bytes = readIfSmall(file.path);
    // Undefined only when the gzip could not be inflated in one call, before any event was read.
    const events = bytes && readTrailBuffer(bytes, options);
    if (events) return events;
  }
  const events: TrailEvent[] = [];
  for await (const batch of readTrailEventBatches(openLocalRecords(file), options)) {
    for (const e of batch) events.push(e);
  }
  return events;
}

/**
 * The file's bytes if it holds at most {@link SYNC_READ_MAX_BYTES}, read in one call (its size from the open file,
 * so the listing need not ask for it); undefined if it is larger or cannot be read (the streaming read then meets
 * the same error and reports it).
 */
function readIfSmall(path: string): Buffer | undefined {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return undefined;
  }
  try {
    const { size } = fstatSync(fd);
    return size <= SYNC_READ_MAX_BYTES ? readOpenFile(fd, size) : undefined;
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/**
 * Reads one file with the ingest core's reader, without dedupe (applied later, in order); `rules` hands each event
 * to the rules as it is read (`onEvent`), or keeps each event's record for them to test later (`keepRaw`).
 */
export async function readOneFile(
  file: LocalFile,
  maxRecordBytes?: number,
  rules: Pick<ReadOptions, 'onEvent' | 'keepRaw'> = {},
): Promise<WorkerFileResult> {
  const report = createReadReport(file.path);
  const events = await readLocalFileEvents(file, {
    file: file.path,
    report,
    fallbackAccount: file.info.account,
    ...(maxRecordBytes ? { maxRecordBytes } : {}),
    ...rules,
  });
  return serialized(events, report);
}

function serialized(events: TrailEvent[], report: ReadReport): WorkerFileResult {
  return { events, report: serializeReport(report) };
}

/** A report as it crosses threads: its errors as plain issues. */
export function serializeReport(report: ReadReport): SerializedReport {
  const errors = report.errors.map((e) => ({ kind: e.kind, file: e.file, offset: e.offset, message: issueMessage(e) }));
  return { ...report, errors };
}

/** The issue's own message, without the `file @offset: kind: ` prefix TrailReadError adds. */
function issueMessage(e: TrailReadError): string {
  const prefix = `${e.file} @${e.offset}: ${e.kind}: `;
  return e.message.startsWith(prefix) ? e.message.slice(prefix.length) : e.message;
}

/** Reads `files` and yields each one's events in the order given. */
export async function* readLocalFiles(
  files: readonly LocalFile[],
  options: LocalReadOptions = {},
): AsyncGenerator<FileEvents, void, undefined> {
  for await (const part of read(files, options, { kind: 'events' })) {
    if (part.reply) yield* unpack(files, part.start, part.reply, options.dedupe);
    else yield finish(part.file, part.result, dedupeOf(options.dedupe, part.file));
  }
}

/**
 * Reads `files` like {@link readLocalFiles} and counts their events into `summary` (duplicates removed, as
 * `summary.add` of each file's events in order would), yielding each file's report in the order given. The counts
 * are complete once the generator is done.
 */
export async function* summarizeLocalFiles(
  files: readonly LocalFile[],
  summary: SummaryBuilder,
  options: LocalReadOptions = {},
): AsyncGenerator<FileSummarized, void, undefined> {
  const { dedupe } = options;
  const reserve = dedupe instanceof EventIdDeduper ? reserveAhead(dedupe, files.length) : () => {};
  for await (const part of read(files, options, { kind: 'count' })) {
    if (!part.reply) {
      reserve(1, part.result.events.length);
      const { file, events, report } = finish(part.file, part.result, dedupeOf(dedupe, part.file));
      for (const e of events) summary.add(e);
      yield { file, events: events.length, report };
      continue;
    }
    const { reply, start } = part;
    reserve(reply.files.length, reply.ids?.kinds.length ?? 0);
    const ids = new IdCursor(reply.ids as EventIds);
    const done: FileSummarized[] = [];
    let duplicates: Uint8Array | undefined;
    for (let i = 0; i < reply.files.length; i++) {
      const report = rebuildReport(reply.files[i].report);
      const at = ids.at;
      const dup = ids.dedupe(reply.files[i].events, dedupeOf(dedupe, files[start + i]), report);
      if (dup) {
        duplicates ??= new Uint8Array(ids.length);
        duplicates.set(dup, at);
      }
      done.push({ file: files[start + i], events: report.events, report });
    }
    if (!duplicates) summary.addCounts(reply.counts as SummaryCounts);
    else {
      // Rare (CloudTrail delivered an event twice): read the batch again here and count it without the duplicates.
      let j = 0;
      for (let i = 0; i < reply.files.length; i++) {
        const again = await readOneFile(files[start + i], options.maxRecordBytes);
        for (const e of again.events) if (duplicates[j++] === 0) summary.add(e);
      }
    }
    yield* done;
  }
}

/** Files read before the deduper's room is made from their events per file (a reader thread's first task). */
const RESERVE_AFTER_FILES = 64;

/**
 * Returns a function to call with each batch of files about to be deduplicated (how many, how many events): once
 * {@link RESERVE_AFTER_FILES} have come, it makes room in `dedupe` for the events the remaining files should hold
 * at the same rate (`EventIdDeduper.reserve`), once.
 */
function reserveAhead(dedupe: EventIdDeduper, total: number): (files: number, events: number) => void {
  let files = 0;
  let events = 0;
  let done = false;
  return (n, e) => {
    if (done) return;
    files += n;
    events += e;
    if (files < RESERVE_AFTER_FILES) return;
    done = true;
    dedupe.reserve(Math.ceil((events / files) * (total - files)));
  };
}

/** One file's outcome in {@link readLocalDeltas}. */
export interface FileDeltaRead {
  readonly file: LocalFile;
  /** The file's events (duplicates removed). */
  readonly events: number;
  /** The detection delta of the file's events (duplicates removed), as `Replay.ingestFile` would build it. */
  readonly delta: FileDelta;
  readonly report: ReadReport;
  /** With `rules`: the file's rule groups (of its events, duplicates removed), to record in file order. */
  readonly groups?: FileGroup[];
}

/**
 * Reads CloudTrail log files (named, so each knows its account, Region and delivery time) like
 * {@link readLocalFiles}, and yields each one's detection delta instead of its events: the reader threads build
 * the deltas too, which would otherwise be most of the replaying thread's work besides the engine's own. The
 * dedupe runs here in order; a file holding a duplicate is read again here and its delta built without it.
 */
export async function* readLocalDeltas(
  files: readonly LocalFile[],
  binMs: number,
  options: LocalReadOptions = {},
): AsyncGenerator<FileDeltaRead, void, undefined> {
  for (const f of files) deliveredFileOf(f); // throws now for a file that is not a named log file
  const { dedupe } = options;
  const rules = options.rules?.engine;
  /** The rules' groups of events read in this thread (duplicates removed), as the reader's `onEvent` would give. */
  const groupsOf = (events: readonly TrailEvent[]) => {
    if (!rules) return {};
    rules.observeEvents(events);
    return { groups: rules.takeGroups() };
  };
  const mode: TaskMode = { kind: 'deltas', binMs, ...(options.rules ? { rules: options.rules.threads } : {}) };
  for await (const part of read(files, options, mode)) {
    if (!part.reply) {
      const { file, events, report } = finish(part.file, part.result, dedupeOf(dedupe, part.file));
      yield { file, events: events.length, delta: deltaOf(file, events, binMs), report, ...groupsOf(events) };
      continue;
    }
    const { reply, start } = part;
    const ids = new IdCursor(reply.ids as EventIds);
    for (let i = 0; i < reply.files.length; i++) {
      const file = files[start + i];
      const report = rebuildReport(reply.files[i].report);
      const duplicates = ids.dedupe(reply.files[i].events, dedupeOf(dedupe, file), report);
      if (duplicates) {
        // Rare (CloudTrail delivered an event twice): read the file again here, build its delta (and test its
        // events) without them.
        const again = await readOneFile(file, options.maxRecordBytes, keptForRules(mode));
        const kept = again.events.filter((_e, k) => duplicates[k] === 0);
        yield { file, events: report.events, delta: deltaOf(file, kept, binMs), report, ...groupsOf(kept) };
        continue;
      }
      const tested = reply.files[i].rules;
      if (rules && tested) rules.addObserved(tested.observed);
      const groups = rules && tested ? { groups: rules.fromPortable(tested.groups) } : {};
      yield { file, events: report.events, delta: parseDelta(reply.files[i].delta as string), report, ...groups };
    }
  }
}

/** The delivered file a named CloudTrail log file is to the engine. */
function deliveredFileOf(file: LocalFile): DeliveredFile {
  const { account, region, deliveredAt } = file.info;
  if (!account || !region || deliveredAt === undefined)
    throw new Error(`${file.path}: not a CloudTrail log file name (account, Region and delivery time)`);
  return { account, region, deliveredAt, file: fileIdentity(file.key) };
}

/** A named log file's detection delta, as `Replay.ingestFile` builds it. */
export function deltaOf(file: LocalFile, events: readonly TrailEvent[], binMs: number): FileDelta {
  return buildDelta(deliveredFileOf(file), events, binMs);
}

/** Walks a reply's eventIDs file by file, applying the dedupe in order. */
class IdCursor {
  /** The next event's position. */
  at = 0;
  private other = 0;

  constructor(private readonly ids: EventIds) {}

  get length(): number {
    return this.ids.kinds.length;
  }

  /**
   * Dedupes the next `count` events (one file's), counting each duplicate in `report`; returns which of them were
   * duplicates, or undefined when none was.
   */
  dedupe(count: number, dedupe: EventIdDeduper | undefined, report: ReadReport): Uint8Array | undefined {
    const { kinds, uuids, others } = this.ids;
    const from = this.at;
    this.at += count;
    let duplicates: Uint8Array | undefined;
    for (let j = from; j < from + count; j++) {
      const kind = kinds[j];
      if (kind === 0) continue;
      const other = kind === 2 ? others[this.other++] : '';
      if (!dedupe) continue;
      if (kind === 1 ? dedupe.isDuplicateUuid(uuids, j * 4) : dedupe.isDuplicate(other)) {
        duplicates ??= new Uint8Array(count);
        duplicates[j - from] = 1;
        report.skipped.duplicate = (report.skipped.duplicate ?? 0) + 1;
        report.events--;
      }
    }
    return duplicates;
  }
}

/** A piece of a read, in order: a worker's reply for consecutive files from `start`, or one file read here. */
type ReadPart =
  | { readonly reply: WorkerReply; readonly start: number; readonly file?: undefined; readonly result?: undefined }
  | { readonly reply?: undefined; readonly file: LocalFile; readonly result: WorkerFileResult };

function read(files: readonly LocalFile[], options: LocalReadOptions, mode: TaskMode): AsyncGenerator<ReadPart> {
  const workers = options.workers ?? defaultThreads();
  return workers > 0 && files.length > 1
    ? parallel(files, workers, options.maxRecordBytes, mode, options.onThreadFailure)
    : inThisThread(files, options.maxRecordBytes, mode);
}

/** Files read in this thread keep their events' records when the rules are to test them once deduplicated. */
function keptForRules(mode: TaskMode): Pick<ReadOptions, 'keepRaw'> {
  return mode.kind === 'deltas' && mode.rules ? { keepRaw: true } : {};
}

async function* inThisThread(
  files: readonly LocalFile[],
  maxRecordBytes: number | undefined,
  mode: TaskMode,
): AsyncGenerator<ReadPart> {
  for (const file of files) yield { file, result: await readOneFile(file, maxRecordBytes, keptForRules(mode)) };
}

function dedupeOf(dedupe: LocalReadOptions['dedupe'], file: LocalFile): EventIdDeduper | undefined {
  return typeof dedupe === 'function' ? dedupe(file) : dedupe;
}

/** Rebuilds the report's errors and applies the dedupe in order, as the reader would have. */
function finish(file: LocalFile, result: WorkerFileResult, dedupe: EventIdDeduper | undefined): FileEvents {
  const report = rebuildReport(result.report);
  let events = result.events;
  if (dedupe) {
    // Copied only from the first duplicate on (most files have none).
    let kept: TrailEvent[] | undefined;
    for (let i = 0; i < events.length; i++) {
      const e = events[i];
      if (e.eventId !== undefined && dedupe.isDuplicate(e.eventId)) {
        kept ??= events.slice(0, i);
        report.skipped.duplicate = (report.skipped.duplicate ?? 0) + 1;
        report.events--;
      } else kept?.push(e);
    }
    events = kept ?? events;
  }
  return { file, events, report };
}

/** A report as the reader made it, from its serialized form (a fresh copy: the caller may change it). */
export function rebuildReport(report: SerializedReport): ReadReport {
  return {
    ...report,
    skipped: { ...report.skipped },
    errors: report.errors.map((i) => new TrailReadError({ ...i, scope: 'file' })),
  };
}

/** A worker's reply as one result per file, events decoded and deduped. */
function* unpack(
  files: readonly LocalFile[],
  start: number,
  reply: WorkerReply,
  dedupe: LocalReadOptions['dedupe'],
): Generator<FileEvents> {
  const encoded = reply.events as EncodedEvents; // a reading (not counting) task's reply
  let from = 0;
  for (let i = 0; i < reply.files.length; i++) {
    const { report, events } = reply.files[i];
    const file = files[start + i];
    yield finish(file, { events: decodeEvents(encoded, from, events), report }, dedupeOf(dedupe, file));
    from += events;
  }
}

async function* parallel(
  files: readonly LocalFile[],
  workers: number,
  maxRecordBytes: number | undefined,
  mode: TaskMode,
  onThreadFailure: ((error: Error) => void) | undefined,
): AsyncGenerator<ReadPart> {
  // Tasks: consecutive files grouped by size, so results come back in order with few messages. Grouped as they are
  // handed out, so the sizes the grouping asks for are asked while the threads read, not all before they start.
  const tasks: { start: number; end: number }[] = [];
  let grouped = 0;
  const task = (id: number): { start: number; end: number } | undefined => {
    while (tasks.length <= id && grouped < files.length) {
      const i = grouped;
      let bytes = sizeOf(files[i]);
      let j = i + 1;
      while (j < files.length && j - i < TASK_MAX_FILES && bytes + sizeOf(files[j]) <= TASK_BYTES) {
        bytes += sizeOf(files[j]);
        j++;
      }
      tasks.push({ start: i, end: j });
      grouped = j;
    }
    return tasks[id];
  };
  const results = new Map<number, WorkerReply>();
  let wake: (() => void) | undefined;
  let failure: Error | undefined;
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const pool: { worker: Worker; busy: Set<number> }[] = [];
  let nextTask = 0;
  // Tasks handed out but not yet consumed here stay under this bound, however slow the consumer.
  const window = workers * TASKS_PER_WORKER;
  let consumed = 0;
  // Set once the threads are being stopped: a reply that comes meanwhile hands out no more work.
  let stopping = false;
  const dispatch = (slot: (typeof pool)[number]) => {
    while (!stopping && slot.busy.size < TASKS_PER_WORKER && task(nextTask) && nextTask < consumed + window) {
      const id = nextTask++;
      const t = tasks[id];
      slot.busy.add(id);
      const task: WorkerTask = {
        id,
        files: files.slice(t.start, t.end),
        ...(maxRecordBytes ? { maxRecordBytes } : {}),
        mode,
      };
      slot.worker.postMessage(task);
    }
  };
  for (let n = 0; n < Math.min(workers, files.length); n++) {
    const slot = { worker: startThread('local-read-worker'), busy: new Set<number>() };
    slot.worker.on('message', (reply: WorkerReply) => {
      slot.busy.delete(reply.id);
      results.set(reply.id, reply);
      dispatch(slot);
      notify();
    });
    slot.worker.on('error', (e) => {
      failure ??= e;
      notify();
    });
    slot.worker.on('exit', (code) => {
      // A worker that ends with tasks in hand (crashed, killed): this thread reads them itself.
      if (slot.busy.size > 0) failure ??= new Error(`a reader thread exited with code ${code} with tasks in hand`);
      notify();
    });
    pool.push(slot);
  }
  try {
    for (const slot of pool) dispatch(slot);
    for (let id = 0; task(id); id++) {
      let batch = results.get(id);
      while (!batch && !failure) {
        await new Promise<void>((r) => {
          wake = r;
        });
        batch = results.get(id);
      }
      if (!batch) {
        // The pool failed: read what is left here, in order, rather than lose files.
        onThreadFailure?.(failure as Error);
        for (let rest = id; task(rest); rest++) {
          const t = tasks[rest];
          const done = results.get(rest);
          if (done) yield { reply: done, start: t.start };
          else
            for (let i = t.start; i < t.end; i++)
              yield { file: files[i], result: await readOneFile(files[i], maxRecordBytes, keptForRules(mode)) };
        }
        return;
      }
      results.delete(id);
      consumed = id + 1;
      for (const slot of pool) dispatch(slot);
      yield { reply: batch, start: tasks[id].start };
    }
  } finally {
    stopping = true;
    await Promise.all(pool.map((slot) => stopThread(slot.worker)));
  }
}
