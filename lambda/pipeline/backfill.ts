/**
 * Backfill: replays the history already in the archive so baselines exist right after deploy.
 *
 * The replay applies log files through the same {@link ingestObject} as live files, but into a separate
 * namespace of the state table (`backfill|<account>|<region>`), without publishing: live files arriving
 * meanwhile keep their own state, and history is never rejected as "older than the dedupe window" by a
 * partition that live files already advanced. {@link mergeBackfill} then folds each backfilled partition
 * into its live partition with the engine's `mergeStates` (one conditional put each).
 *
 * A replay works in slices: it stops after `maxFiles` files or when told to (the Lambda's remaining time) and
 * returns the key to continue after, so any history fits in 15-minute invocations and the cost of a run is
 * bounded by what the caller asks for.
 */
import type { KeyLister } from '../adapters/s3-key-lister';
import { type EngineState, mergeStates } from '../core/detect';
import { classifyKey } from '../core/keys';
import { type IngestPorts, ingestObject } from './ingest';
import type { PartitionDocument, PartitionStore, StoredPartition } from './ports';

/** Key prefix of backfill partitions in the state table. */
export const BACKFILL_PREFIX = 'backfill|';

/** The store seen through the backfill namespace: keys are live keys, items live under `backfill|`. */
export function backfillStore(store: PartitionStore): PartitionStore {
  const strip = (p: StoredPartition): StoredPartition => ({ ...p, key: p.key.slice(BACKFILL_PREFIX.length) });
  return {
    get: async (key) => strip(await store.get(`${BACKFILL_PREFIX}${key}`)),
    put: (key, document, version) => store.put(`${BACKFILL_PREFIX}${key}`, document, version),
    async *list() {
      for await (const p of store.list()) if (p.key.startsWith(BACKFILL_PREFIX)) yield strip(p);
    },
  };
}

export interface ReplayRequest {
  readonly bucket: string;
  /** e.g. `AWSLogs/` or `AWSLogs/o-abc/111122223333/CloudTrail/eu-west-1/`. */
  readonly prefix: string;
  /** Continue after this key (the `next` of the previous slice). */
  readonly startAfter?: string;
  /** Delivery times to replay: [from, to), epoch ms. */
  readonly from?: number;
  readonly to?: number;
  /** Files to apply in this slice at most. */
  readonly maxFiles: number;
}

export interface ReplayProgress {
  /** Keys listed (all kinds). */
  listed: number;
  /** Log files applied. */
  applied: number;
  events: number;
  /** Keys not applied, by reason (not-a-log-file, out-of-range, duplicate, ...). */
  skipped: Record<string, number>;
  /** Files that failed, with the reason; the replay goes on. */
  failed: { key: string; error: string }[];
  /** Continue after this key; absent when the prefix is exhausted. */
  next?: string;
}

export interface ReplayPorts extends IngestPorts {
  readonly lister: KeyLister;
}

/** Replays one slice. `shouldStop` is asked between files (e.g. the Lambda's remaining time). */
export async function replaySlice(
  request: ReplayRequest,
  ports: ReplayPorts,
  shouldStop: () => boolean = () => false,
): Promise<ReplayProgress> {
  const progress: ReplayProgress = { listed: 0, applied: 0, events: 0, skipped: {}, failed: [] };
  const skip = (reason: string) => {
    progress.skipped[reason] = (progress.skipped[reason] ?? 0) + 1;
  };
  // History is not news: nothing is published or archived while replaying.
  const replayPorts: IngestPorts = { ...ports, store: backfillStore(ports.store), sinks: [], archive: undefined };
  let startAfter = request.startAfter;
  for (;;) {
    const page = await ports.lister.list({ bucket: request.bucket, prefix: request.prefix, startAfter });
    for (const object of page.objects) {
      if (progress.applied >= request.maxFiles || shouldStop()) {
        progress.next = startAfter;
        return progress;
      }
      startAfter = object.key;
      progress.listed++;
      const info = classifyKey(object.key);
      if (info.kind !== 'log' || info.deliveredAt === undefined) {
        skip('not-a-log-file');
        continue;
      }
      if (
        (request.from !== undefined && info.deliveredAt < request.from) ||
        (request.to !== undefined && info.deliveredAt >= request.to)
      ) {
        skip('out-of-range');
        continue;
      }
      try {
        const outcome = await ingestObject(
          { bucket: request.bucket, key: object.key, etag: object.etag, size: object.size },
          replayPorts,
        );
        if (outcome.status === 'processed') {
          progress.applied++;
          progress.events += outcome.events;
        } else skip(outcome.reason);
      } catch (error) {
        progress.failed.push({ key: object.key, error: (error as Error).message });
      }
    }
    if (!page.next) return progress;
    startAfter = page.next;
  }
}

function asState(key: string, doc: PartitionDocument): EngineState {
  return { version: 1, clock: doc.clock, partitions: doc.partition ? { [key]: doc.partition } : {} };
}

/**
 * Merges every backfilled partition into its live partition, then empties the backfill item (so a second
 * merge adds nothing). Returns the live keys merged.
 */
export async function mergeBackfill(
  store: PartitionStore,
  options: { halfLifeDays: number; maxAttempts?: number },
): Promise<string[]> {
  const merged: string[] = [];
  const history = backfillStore(store);
  for await (const backfill of history.list()) {
    if (!backfill.document.partition) continue;
    const key = backfill.key;
    let done = false;
    for (let attempt = 1; attempt <= (options.maxAttempts ?? 5) && !done; attempt++) {
      const live = await store.get(key);
      const state = mergeStates(asState(key, live.document), asState(key, backfill.document), options.halfLifeDays);
      const document: PartitionDocument = {
        clock: state.clock,
        partition: state.partitions[key],
        processed: { ...backfill.document.processed, ...live.document.processed },
        outbox: live.document.outbox,
      };
      done = (await store.put(key, document, live.version)).ok;
    }
    if (!done) throw new Error(`${key}: the live state kept changing; run the merge again`);
    await history.put(key, { clock: backfill.document.clock, processed: {}, outbox: [] }, backfill.version);
    merged.push(key);
  }
  return merged;
}
