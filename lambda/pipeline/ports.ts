/**
 * The ports the pipeline's orchestration depends on, owned here and implemented by lambda/adapters/ (S3,
 * DynamoDB, EventBridge, and an in-memory store for tests and the benchmarks).
 */
import type { FileDelta, InsightEvent, Page, PartitionHead } from '../core/detect';

// ------------------------------------------------------------------ objects

/** One delivered object, as an S3 notification names it. */
export interface ObjectRef {
  readonly bucket: string;
  readonly key: string;
  /** Pin the read to the version that was notified (the archive is versioned). */
  readonly versionId?: string;
  /** Refuse the read if the object changed since it was notified. */
  readonly etag?: string;
}

export interface OpenedObject {
  readonly body: AsyncIterable<Uint8Array>;
  readonly contentLength?: number;
  readonly etag?: string;
  readonly versionId?: string;
}

export type ObjectFailureKind = 'not-found' | 'access-denied' | 'too-large' | 'changed';

/** A failure reading an object that the caller handles by kind, not by message. */
export class ObjectReadError extends Error {
  constructor(
    readonly kind: ObjectFailureKind,
    readonly ref: ObjectRef,
    message: string,
  ) {
    super(`s3://${ref.bucket}/${ref.key}: ${message}`);
    this.name = 'ObjectReadError';
  }
}

/** Reads objects (S3ObjectSource). */
export interface ObjectSource {
  open(ref: ObjectRef): Promise<OpenedObject>;
}

export interface ListedObject {
  readonly key: string;
  readonly etag?: string;
  readonly size?: number;
}

export interface KeyPage {
  readonly objects: ListedObject[];
  /** Pass as `startAfter` for the next page; absent on the last page. */
  readonly next?: string;
}

/** Lists keys under a prefix in S3's lexicographic order. */
export interface KeyLister {
  list(request: { bucket: string; prefix: string; startAfter?: string; maxKeys?: number }): Promise<KeyPage>;
}

// ------------------------------------------------------------------ publishing

export interface PublishFailure {
  /** The `detail` that could not be published. */
  readonly detail: unknown;
  readonly errorCode: string;
  readonly errorMessage: string;
}

export interface PublishResult {
  /** Entries accepted. */
  readonly published: number;
  /** Entries not accepted after every attempt, or that never could be (too large). */
  readonly failed: PublishFailure[];
  /** Requests made, retries included. */
  readonly requests: number;
}

/** Where insights are published (the `trailsight` bus, optionally the default bus). */
export interface InsightSink {
  publish(details: readonly unknown[]): Promise<PublishResult>;
}

/** Where insights are kept besides the bus, for Athena (`trailsight/insights/...`). */
export interface InsightArchive {
  write(insights: readonly InsightEvent[]): Promise<void>;
}

/** Where an insight goes that the bus refused for good (so its partition keeps flowing). */
export interface DeadLetters {
  send(item: { reason: string; partition: string; insight: InsightEvent }): Promise<void>;
}

// ------------------------------------------------------------------ state

/** An insight committed with the state, not yet confirmed published. */
export interface OutboxEntry {
  readonly insight: InsightEvent;
  /** Failed publish attempts so far. */
  readonly attempts: number;
  readonly lastError?: string;
}

/** A file's place in the canonical order: its delivery time and identity. */
export interface FileRef {
  readonly deliveredAt: number;
  readonly file: string;
}

/** The partition's head item. */
export interface StoredHead {
  readonly key: string;
  /** Optimistic-concurrency version. */
  readonly version: number;
  /** The engine head; undefined for a partition that has deltas but was never advanced. */
  readonly head?: PartitionHead;
  readonly outbox: OutboxEntry[];
  /** A late file was registered since the last advance: look at the late index. */
  readonly lateHint: boolean;
  /** Late files applied whose index entries are not confirmed marked yet (see advance.ts). */
  readonly lateApplied: FileRef[];
  /** The key prefix of the partition's log files in the archive (for the delivery check). */
  readonly prefix?: string;
  /** The evaluator skips the delta lookup of an idle partition until a file wakes it. */
  readonly idle: boolean;
  /** Epoch ms at which a tick can next change anything (+∞: never by time alone). */
  readonly dueAt: number;
  /** Size of the stored item, bytes (metrics). */
  readonly bytes: number;
}

/** What the evaluator's scan returns of each head (without decoding it). */
export interface HeadSummary {
  readonly key: string;
  readonly idle: boolean;
  readonly dueAt: number;
  /** The last file applied in canonical order, if any. */
  readonly cursor?: FileRef;
  /** A late file waits in the late index. */
  readonly lateHint: boolean;
  /** Insights wait in the outbox. */
  readonly outbox: boolean;
}

export type PutResult =
  | { readonly ok: true; readonly version: number; readonly bytes: number }
  | { readonly ok: false };

/** The next head item of a partition (written with a condition on the version read). */
export interface HeadUpdate {
  readonly head: PartitionHead;
  readonly outbox: OutboxEntry[];
  readonly lateHint: boolean;
  readonly lateApplied: readonly FileRef[];
  readonly prefix?: string;
  readonly idle: boolean;
  readonly dueAt: number;
}

/** An entry of the late index: a file applied out of canonical order, and whether that happened yet. */
export interface LateEntry extends FileRef {
  readonly applied: boolean;
}

/**
 * The detection state: one head item per partition (hot, rewritten by every advance), per-file delta items
 * (written once by the ingest: the "applied" marker and the input), a late index (files that arrived after
 * the evaluator had passed their delivery time), and pages (cold, written by compactions).
 */
export interface PartitionStore {
  /** Reads a head item; strongly consistent. Undefined when the partition has none. */
  getHead(key: string): Promise<StoredHead | undefined>;
  /** Creates an empty head item if none exists (a new partition the evaluator must find). */
  createHead(key: string, prefix: string): Promise<void>;
  /** Writes the head item if its version is still `expectedVersion`; `{ ok: false }` when another writer won. */
  putHead(key: string, update: HeadUpdate, expectedVersion: number): Promise<PutResult>;
  /** Replaces only the outbox (after publishing), if the version is still `expectedVersion`. */
  putOutbox(key: string, outbox: OutboxEntry[], expectedVersion: number): Promise<PutResult>;
  /** Marks the head item awake, and (`late`) that the late index has news; bumps the version. */
  wake(key: string, late: boolean): Promise<void>;
  /** Stores a file's delta unless one is already stored for it: the file's "applied" marker. */
  putDelta(key: string, delta: FileDelta, expiresAtSeconds: number): Promise<'stored' | 'exists'>;
  /** Whether a file's delta is stored. */
  hasDelta(key: string, ref: FileRef): Promise<boolean>;
  /** Deltas of the partition delivered in [from, to], in canonical order. */
  queryDeltas(key: string, from: number, to: number): Promise<FileDelta[]>;
  /**
   * Whether a delta after `after` (in canonical order) and delivered by `to` is stored (reads at most one,
   * eventually consistent: the evaluator's hint, which finds a delta written a moment ago at its next tick).
   */
  hasDeltaAfter(key: string, after: FileRef | undefined, to: number): Promise<boolean>;
  /** Specific deltas; missing ones are left out. */
  getDeltas(key: string, refs: readonly FileRef[]): Promise<FileDelta[]>;
  /** Adds a late file to the index unless it is there already (applied or not): false when it was. */
  addLate(key: string, ref: FileRef, expiresAtSeconds: number): Promise<boolean>;
  /** The late index, in canonical order. */
  queryLate(key: string): Promise<LateEntry[]>;
  /** Marks late entries applied (they stay, so a duplicate delivery cannot enter them again). */
  markLateApplied(key: string, refs: readonly FileRef[]): Promise<void>;
  /** Pages by id; an id never written is absent from the result. */
  getPages(key: string, ids: readonly string[]): Promise<Map<string, Page>>;
  putPages(key: string, pages: ReadonlyMap<string, Page>): Promise<void>;
  /** Every head of scan segment `segment` of `total` (parallel scan). */
  scanHeads(segment: number, total: number): AsyncIterable<HeadSummary>;
  /**
   * Approximate number of partitions (DynamoDB's item count, updated every few hours), with the number of
   * scan segments the last evaluations found they needed: the coordinator sizes its fan-out with both.
   */
  countHeads(): Promise<{ items: number; segmentsNeeded: number }>;
  /** Records that an evaluation needed at least `segments` segments (kept as the maximum seen). */
  raiseSegmentsNeeded(segments: number): Promise<void>;
}

/** The evaluation queue: one message per scan segment of one scheduled evaluation. */
export interface SegmentQueue {
  send(messages: readonly SegmentMessage[]): Promise<void>;
}

export interface SegmentMessage {
  /** The scheduled evaluation time (epoch ms). */
  readonly scheduled: number;
  readonly segment: number;
  readonly totalSegments: number;
}

/** The partition key of an account: a partition holds all the account's Regions (docs/pipeline.md). */
export function partitionKey(account: string): string {
  return account;
}
