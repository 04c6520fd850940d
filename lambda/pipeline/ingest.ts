/**
 * Records one delivered log file: classify its key (Insights files and foreign objects are counted skips) →
 * stream and read the object (testing every event against the detection rules, when configured: their matches
 * are recorded and sent by rule-matches.ts before the delta) → reduce it to its delta (core/detect/delta.ts) →
 * store the delta once, with a condition: the stored delta is the file's "applied" marker and the evaluator's
 * input. A digest file is recorded from its key alone (it tells the engine that the trail was logging in its
 * Region: delivery.ts).
 *
 * The ingest never touches the detection state itself: the evaluator applies the stored deltas of each
 * partition in delivery order (advance.ts), so files processed in parallel, out of order or twice give the
 * same insights as files processed one after another in order. The only coordination is with the
 * evaluator's position in time:
 *
 * - a file recorded within `reorderMinutes` of its delivery time is found by the evaluator's next pass over
 *   that partition (it only applies files delivered `reorderMinutes` before its own time, and its pass
 *   starts after the record is visible: see {@link LATE_MARGIN_MS});
 * - a file recorded later than that (a backlog, a redrive, CloudTrail's own late deliveries) is *late*: it
 *   goes into the partition's late index, which the evaluator applies first on its next pass.
 *
 * A partition is an account (all its Regions). A new one gets its head item here, so the evaluator's scan
 * finds it; an idle one is woken.
 */
import { EventIdDeduper } from '../core/dedupe';
import { DeltaBuilder, type DetectConfig, deltaChars, digestDelta, type FileDelta, fileIdentity } from '../core/detect';
import { classifyKey, type KeyKind } from '../core/keys';
import { createReadReport, type ReadReport, readTrailEventBatches } from '../core/reader';
import type { RuleEngine } from '../core/rules';
import { PipelineError } from './errors';
import {
  type FileRef,
  ObjectReadError,
  type ObjectSource,
  type OpenedObject,
  type PartitionStore,
  partitionKey,
} from './ports';
import { type RuleMatchOutcome, type RuleMatchPorts, recordRuleMatches } from './rule-matches';

/**
 * A file is late when less than this is left of its reorder window when the ingest starts storing it: the
 * write (bounded by the SDK's request timeout and retries, see handlers/environment.ts) must be visible
 * before the evaluator can pass the file's delivery time.
 */
export const LATE_MARGIN_MS = 30_000;

/** The object a notification names. */
export interface NotifiedObject {
  readonly bucket: string;
  readonly key: string;
  readonly versionId?: string;
  readonly etag?: string;
  readonly size?: number;
}

export interface IngestPorts {
  readonly store: PartitionStore;
  readonly objects: ObjectSource;
  /** The resolved detection configuration (validated once at cold start). */
  readonly detectConfig: DetectConfig;
  /** Days a file's delta is kept: a redelivery within them is a counted duplicate. */
  readonly dedupeRetentionDays: number;
  /** Wall clock (epoch ms): only to tell late files and to date the deltas' expiry. */
  readonly now: () => number;
  /** Every file is in order (the backfill replays history in delivery order): none is late. @default false */
  readonly inOrder?: boolean;
  /** The detection rules, tested on every event read (rule-matches.ts). @default - no rules */
  readonly rules?: RuleMatchPorts;
}

export type SkipReason =
  /** An Insights or foreign object (the rule filters them; the key is checked again here). */
  | 'not-a-log-file'
  /** This file was already recorded (an at-least-once redelivery). */
  | 'duplicate'
  /** The object (version) no longer exists. */
  | 'object-gone';

export type IngestOutcome =
  | {
      readonly status: 'processed';
      readonly partition: string;
      readonly deliveredAt: number;
      readonly events: number;
      /** Recorded after the evaluator may have passed its delivery time: applied as a late file. */
      readonly late: boolean;
      readonly report: ReadReport;
      /** Serialized size of the delta (characters). */
      readonly deltaChars: number;
      /** What the rules found, when they run. */
      readonly rules?: RuleMatchOutcome;
    }
  | {
      readonly status: 'skipped';
      readonly reason: SkipReason;
      readonly detail: string;
      readonly keyKind?: KeyKind;
    };

/**
 * The archive prefix of a key's account: everything up to and including its `CloudTrail/` folder (a digest's
 * `CloudTrail-Digest/` sibling maps to it); the archive check appends `<region>/yyyy/MM/dd/`.
 */
export function partitionPrefix(key: string): string {
  const at = key.search(/\/CloudTrail(?:-Digest)?\/[a-z0-9-]+\/\d{4}\/\d{2}\/\d{2}\/[^/]+$/);
  return at < 0 ? '' : `${key.slice(0, at)}/CloudTrail/`;
}

/**
 * Records one notified object. Resolves with what happened (processed or a counted skip); rejects with a
 * {@link PipelineError} when the record must be retried (and eventually dead-lettered).
 */
export async function ingestObject(object: NotifiedObject, ports: IngestPorts): Promise<IngestOutcome> {
  const info = classifyKey(object.key);
  const digest = info.kind === 'digest';
  if ((info.kind !== 'log' && !digest) || !info.account || !info.region || info.deliveredAt === undefined) {
    return {
      status: 'skipped',
      reason: 'not-a-log-file',
      detail: `${info.kind} object ${object.key}`,
      keyKind: info.kind,
    };
  }
  const key = partitionKey(info.account);
  const ref: FileRef = { deliveredAt: info.deliveredAt, file: fileIdentity(object.key) };
  const reorderMs = ports.detectConfig.reorderMinutes * 60_000;
  const started = ports.now();
  const late = !ports.inOrder && started >= ref.deliveredAt + reorderMs - LATE_MARGIN_MS;
  const prefix = partitionPrefix(object.key);
  /**
   * The file's delta is stored already: a duplicate. The receive that stored it may have died before its
   * last steps, so they are redone (they are idempotent). A late entry still open (made by a late receive of
   * the file, maybe this one's predecessor) applies the delta if a late receive stored it; one stored on
   * time is applied in order by the evaluator, so the entry must never apply it again.
   */
  const duplicate = async (): Promise<IngestOutcome> => {
    const entry = late
      ? (await ports.store.queryLate(key)).find((e) => e.file === ref.file && e.deliveredAt === ref.deliveredAt)
      : undefined;
    const open = entry !== undefined && !entry.applied;
    const applyLate = open && (await ports.store.recordedLate(key, ref));
    if (open && !applyLate) await ports.store.markLateApplied(key, [ref]);
    await announce(ports.store, key, prefix, applyLate);
    return { status: 'skipped', reason: 'duplicate', detail: `${object.key} was already recorded for ${key}` };
  };
  if (late && (await ports.store.hasDelta(key, ref))) return duplicate();
  const identity = { account: info.account, region: info.region, ...ref };
  let delta: FileDelta;
  let report: ReadReport;
  const ruleEngine = digest ? undefined : ports.rules?.engine.fork();
  if (digest) {
    // A digest says the trail was logging when it was delivered: its name is all the engine needs (no GET).
    delta = digestDelta(identity);
    report = createReadReport(object.key);
  } else {
    const opened = await open(object, ports.objects);
    if (!opened) return { status: 'skipped', reason: 'object-gone', detail: `${object.key} no longer exists` };
    ({ delta, report } = await readDelta(object.key, opened, identity, ports.detectConfig, ruleEngine));
  }
  // A delta must outlive the compaction that folds it (compactions are at most maxIntervalHours apart).
  const keepSeconds = Math.max(
    ports.dedupeRetentionDays * 86_400,
    2 * ports.detectConfig.compaction.maxIntervalHours * 3_600 + 86_400,
  );
  const expires = Math.floor(started / 1000) + keepSeconds;
  // Before the delta: a file whose delta is recorded had its rule matches recorded (and sent) too.
  const rules =
    ruleEngine && ports.rules ? await recordRuleMatches(ref.file, ruleEngine, ports.rules, expires) : undefined;
  // A late file enters the late index first (the evaluator waits for an entry's delta). An entry already
  // there was made by another delivery of the file, running at once, or by an earlier receive of this one
  // that died before storing the delta: either way the delta is stored below, once.
  if (late) await ports.store.addLate(key, ref, expires);
  // Recorded meanwhile by another delivery of the same file.
  if ((await ports.store.putDelta(key, delta, expires, late)) === 'exists') return duplicate();
  await announce(ports.store, key, prefix, late);
  return {
    status: 'processed',
    partition: key,
    deliveredAt: ref.deliveredAt,
    events: delta.events,
    late,
    report,
    deltaChars: deltaChars(delta),
    ...(rules ? { rules } : {}),
  };
}

/**
 * Makes a partition with a new file known to the evaluator (its head item) and awake, with the late hint for
 * a late file. Read after the write: an evaluator that marks the partition idle re-checks for deltas after
 * its write, and this read sees its mark, so one of the two always notices the new file.
 */
async function announce(store: PartitionStore, key: string, prefix: string, late: boolean): Promise<void> {
  const head = await store.getHead(key);
  if (!head) await store.createHead(key, prefix);
  if (late || head?.idle) await store.wake(key, late);
}

async function open(object: NotifiedObject, objects: ObjectSource): Promise<OpenedObject | undefined> {
  try {
    return await objects.open({
      bucket: object.bucket,
      key: object.key,
      ...(object.versionId ? { versionId: object.versionId } : {}),
    });
  } catch (error) {
    if (error instanceof ObjectReadError) {
      // Gone (deleted or expired before we got to it): nothing to count, and a retry cannot bring it back.
      if (error.kind === 'not-found') return undefined;
      if (error.kind === 'access-denied') throw new PipelineError('access-denied', error.message, { cause: error });
      if (error.kind === 'too-large') throw new PipelineError('too-large', error.message, { cause: error });
    }
    throw error;
  }
}

async function readDelta(
  file: string,
  opened: OpenedObject,
  identity: { account: string; region: string; deliveredAt: number; file: string },
  config: DetectConfig,
  rules: RuleEngine | undefined,
): Promise<{ delta: FileDelta; report: ReadReport }> {
  const report = createReadReport(file);
  const builder = new DeltaBuilder(identity, config.binMinutes * 60_000);
  // A fresh deduper per file: CloudTrail repeats events within a file now and then. Repeats across files
  // would need a cross-file memory (the CLI keeps one per run); see docs/pipeline.md.
  const batches = readTrailEventBatches(opened.body, {
    file,
    report,
    dedupe: new EventIdDeduper(50_000),
    fallbackAccount: identity.account,
    onEvent: rules?.observe,
  });
  for await (const batch of batches) for (const event of batch) builder.add(event);
  if (report.errors.length > 0) {
    const first = report.errors[0];
    // Nothing of a damaged file is recorded: a retry or a fixed re-upload then counts it whole, once.
    throw new PipelineError(
      first.kind === 'read-failed' ? 'read-failed' : 'corrupt-file',
      `${first.message} (${report.events} events read before it; none applied)`,
      { cause: first },
    );
  }
  return { delta: builder.finish(), report };
}
