/**
 * The ports the pipeline's orchestration depends on. The Lambdas implement them with S3, DynamoDB and
 * EventBridge (lambda/adapters/); tests may pass stand-ins or the same adapters against local servers.
 */
import type { EngineState, InsightEvent } from '../core/detect';

/** The engine state of one account + Region (one `DetectionEngine` partition). */
export type PartitionState = EngineState['partitions'][string];

/**
 * Everything the pipeline keeps about one account + Region, stored as one unit so that the state update,
 * the "this file was applied" marker and the insights still to be delivered change together (one
 * conditional write), never apart.
 */
export interface PartitionDocument {
  /** The partition's engine clock: its latest delivery time or evaluator tick (epoch ms). */
  clock: number;
  /** The engine's state for this partition (absent until the first file). */
  partition?: PartitionState;
  /** Recently applied objects: object id → delivery time (epoch ms), pruned to the dedupe window. */
  processed: Record<string, number>;
  /** Insights committed with the state but not yet confirmed published (the outbox). */
  outbox: InsightEvent[];
}

/** A stored partition document and the version it was read at (0: not stored yet). */
export interface StoredPartition {
  readonly key: string;
  readonly document: PartitionDocument;
  readonly version: number;
  /** Size of the stored item's state attribute, bytes (compressed), for metrics. */
  readonly storedBytes: number;
}

/** Result of a conditional write. */
export type PutResult =
  | { readonly ok: true; readonly version: number; readonly storedBytes: number }
  | { readonly ok: false };

/** The state table. */
export interface PartitionStore {
  /** Reads one partition (strongly consistent); version 0 and an empty document when absent. */
  get(key: string): Promise<StoredPartition>;
  /**
   * Writes the document if the stored version is still `expectedVersion` (0: only if absent).
   * Returns `{ ok: false }` when another writer got there first (the caller re-reads and re-applies).
   */
  put(key: string, document: PartitionDocument, expectedVersion: number): Promise<PutResult>;
  /** Every stored partition (the evaluator's sweep). */
  list(): AsyncIterable<StoredPartition>;
}

/** Where insights go besides the bus: the archive (`trailsight/insights/...`), for Athena. */
export interface InsightArchive {
  write(insights: readonly InsightEvent[]): Promise<void>;
}

/** The partition key of an account + Region: `<account>|<region>`, the engine's own partition key. */
export function partitionKey(account: string, region: string): string {
  return `${account}|${region}`;
}

/** An empty document (a partition that has seen nothing yet). */
export function emptyDocument(): PartitionDocument {
  return { clock: 0, processed: {}, outbox: [] };
}
