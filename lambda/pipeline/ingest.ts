/**
 * Applies one delivered log file to the detection state, exactly once in effect.
 *
 * Steps: classify the key (digests, Insights files and foreign objects are counted skips) → read the
 * partition (account + Region) → if this object was already applied, only finish delivering its insights →
 * stream and read the object → run the engine on the partition's state → one conditional write of the new
 * state, the "applied" marker and the new insights (outbox) → publish and archive the outbox.
 *
 * Why the marker lives in the partition document: the state change and the record that the object was
 * applied must be one atomic write, or a crash between two writes either loses the file's counts or applies
 * them twice. DynamoDB has no cross-item transaction we can rely on for both (and dynalite has none to test
 * with); one conditional put on one item is atomic. A separate idempotency record (Powertools idempotency)
 * would be two more writes per file and still not atomic with the state (docs/pipeline.md).
 */
import { createHash } from 'node:crypto';
import { ObjectReadError, type ObjectRef, type OpenedObject } from '../adapters/s3-objects';
import { EventIdDeduper } from '../core/dedupe';
import { type DetectConfig, DetectionEngine, type EngineState, type InsightEvent } from '../core/detect';
import type { TrailEvent } from '../core/event';
import { classifyKey, type KeyKind } from '../core/keys';
import { createReadReport, type ReadReport, readTrailEventBatches } from '../core/reader';
import { PipelineError } from './errors';
import { type DeliveryPorts, deliverOutbox } from './outbox';
import { type PartitionDocument, partitionKey, type StoredPartition } from './ports';

/** The object a notification names. */
export interface NotifiedObject {
  readonly bucket: string;
  readonly key: string;
  readonly versionId?: string;
  readonly etag?: string;
  readonly sequencer?: string;
  readonly size?: number;
}

/** Reads objects (S3ObjectSource). */
export interface ObjectOpener {
  open(ref: ObjectRef): Promise<OpenedObject>;
}

export interface IngestPorts extends DeliveryPorts {
  readonly objects: ObjectOpener;
  /** The resolved detection configuration (validated once at cold start). */
  readonly detectConfig: DetectConfig;
  /** How long an applied object is remembered per partition, ms. */
  readonly dedupeWindowMs: number;
}

export type SkipReason =
  /** A digest, Insights or foreign object (the rule filters them; the key is checked again here). */
  | 'not-a-log-file'
  /** This object was already applied (an at-least-once redelivery). */
  | 'duplicate'
  /** Older than the partition's latest file by more than the dedupe window: cannot tell a duplicate; use backfill. */
  | 'beyond-dedupe-window'
  /** The object (version) no longer exists. */
  | 'object-gone';

export type IngestOutcome =
  | {
      readonly status: 'processed';
      readonly partition: string;
      readonly deliveredAt: number;
      readonly events: number;
      readonly insights: InsightEvent[];
      /** Conditional-write attempts (1 unless another writer raced this one). */
      readonly attempts: number;
      readonly report: ReadReport;
      readonly storedBytes: number;
    }
  | {
      readonly status: 'skipped';
      readonly reason: SkipReason;
      readonly detail: string;
      readonly keyKind?: KeyKind;
      /** Insights left in the outbox by an earlier attempt and delivered now. */
      readonly delivered?: number;
    };

/** Identity of an object's content: bucket, key and ETag (a re-upload of the same bytes is the same file). */
export function objectId(object: NotifiedObject): string {
  const version = object.etag?.replace(/"/g, '') ?? object.versionId ?? object.sequencer ?? '';
  return createHash('sha256')
    .update(`${object.bucket}\u0000${object.key}\u0000${version}`)
    .digest('base64url')
    .slice(0, 22);
}

/** The engine for one partition document. */
export function engineFor(config: DetectConfig, key: string, document: PartitionDocument): DetectionEngine {
  const state: EngineState = {
    version: 1,
    clock: document.clock,
    partitions: document.partition ? { [key]: document.partition } : {},
  };
  return new DetectionEngine(config, state);
}

/** The document after the engine ran: its state, the clock, the (pruned) applied set and the outbox. */
export function nextDocument(
  engine: DetectionEngine,
  key: string,
  previous: PartitionDocument,
  insights: readonly InsightEvent[],
  dedupeWindowMs: number,
  applied?: { id: string; deliveredAt: number },
): PartitionDocument {
  const snapshot = engine.snapshot();
  const partition = snapshot.partitions[key];
  const latest = Math.max(partition?.lastDelivery ?? 0, applied?.deliveredAt ?? 0);
  const processed: Record<string, number> = {};
  for (const [id, at] of Object.entries(previous.processed)) if (at >= latest - dedupeWindowMs) processed[id] = at;
  if (applied) processed[applied.id] = applied.deliveredAt;
  return { clock: snapshot.clock, partition, processed, outbox: [...previous.outbox, ...insights] };
}

/**
 * Processes one notified object. Resolves with what happened (processed or a counted skip); rejects with a
 * {@link PipelineError} when the record must be retried (and eventually dead-lettered).
 */
export async function ingestObject(object: NotifiedObject, ports: IngestPorts): Promise<IngestOutcome> {
  const info = classifyKey(object.key);
  if (info.kind !== 'log' || !info.account || !info.region || info.deliveredAt === undefined) {
    return {
      status: 'skipped',
      reason: 'not-a-log-file',
      detail: `${info.kind} object ${object.key}`,
      keyKind: info.kind,
    };
  }
  const key = partitionKey(info.account, info.region);
  const file = { account: info.account, region: info.region, deliveredAt: info.deliveredAt };
  const id = objectId(object);

  let read: { events: TrailEvent[]; report: ReadReport } | undefined;
  const maxAttempts = ports.maxAttempts ?? 5;
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    const stored = await ports.store.get(key);
    const doc = stored.document;
    if (doc.processed[id] !== undefined) {
      const delivered = await deliverOutbox(stored, ports);
      return {
        status: 'skipped',
        reason: 'duplicate',
        detail: `${object.key} was already applied to ${key}`,
        delivered,
      };
    }
    const latest = doc.partition?.lastDelivery;
    if (latest !== undefined && file.deliveredAt < latest - ports.dedupeWindowMs) {
      return {
        status: 'skipped',
        reason: 'beyond-dedupe-window',
        detail: `${object.key} was delivered ${Math.round((latest - file.deliveredAt) / 3_600_000)} h before the latest file of ${key}, beyond the dedupe window; replay it with the backfill instead`,
      };
    }
    if (!read) {
      const opened = await open(object, ports.objects);
      if (!opened) {
        return { status: 'skipped', reason: 'object-gone', detail: `${object.key} no longer exists` };
      }
      read = await readEvents(object.key, opened, info.account);
    }
    const engine = engineFor(ports.detectConfig, key, doc);
    const insights = engine.ingestFile(file, read.events);
    const next = nextDocument(engine, key, doc, insights, ports.dedupeWindowMs, { id, deliveredAt: file.deliveredAt });
    const put = await ports.store.put(key, next, stored.version);
    if (!put.ok) continue;
    const committed: StoredPartition = { key, document: next, version: put.version, storedBytes: put.storedBytes };
    await deliverOutbox(committed, ports);
    return {
      status: 'processed',
      partition: key,
      deliveredAt: file.deliveredAt,
      events: read.events.length,
      insights,
      attempts: attempt,
      report: read.report,
      storedBytes: put.storedBytes,
    };
  }
  throw new PipelineError(
    'state-conflict',
    `${object.key}: the state of ${key} changed under ${maxAttempts} consecutive attempts; the record will be retried`,
  );
}

async function open(object: NotifiedObject, objects: ObjectOpener): Promise<OpenedObject | undefined> {
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

async function readEvents(
  file: string,
  opened: OpenedObject,
  account: string,
): Promise<{ events: TrailEvent[]; report: ReadReport }> {
  const report = createReadReport(file);
  const events: TrailEvent[] = [];
  // A fresh deduper per file: CloudTrail repeats events within a file now and then. Repeats across files
  // would need a cross-file memory (the CLI keeps one per run); see docs/pipeline.md.
  const batches = readTrailEventBatches(opened.body, {
    file,
    report,
    dedupe: new EventIdDeduper(50_000),
    fallbackAccount: account,
  });
  for await (const batch of batches) for (const event of batch) events.push(event);
  if (report.errors.length > 0) {
    const first = report.errors[0];
    // Nothing of a damaged file is applied: a retry or a fixed re-upload then counts it whole, once.
    throw new PipelineError(
      first.kind === 'read-failed' ? 'read-failed' : 'corrupt-file',
      `${first.message} (${report.events} events read before it; none applied)`,
      { cause: first },
    );
  }
  return { events, report };
}
