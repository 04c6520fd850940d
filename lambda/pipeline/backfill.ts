/**
 * Backfill: replays the history already in the archive so baselines exist right after deploy.
 *
 * History is replayed through the same ingest and advance as live files, into a separate namespace of the
 * state tables (`backfill|<account>|<region>`), without publishing: live files arriving meanwhile keep their
 * own state, and history is applied in its own delivery order, never as late files of a partition that live
 * files already advanced. {@link mergeBackfill} then folds each backfilled partition into its live partition
 * (core/detect/merge.ts) and forgets it.
 *
 * A replay works in slices: it stops after `maxFiles` files or when told to (the Lambda's remaining time) and
 * returns the key to continue after, so any history fits in 15-minute invocations. Replay history up to the
 * time the live pipeline started: a file in both would be counted twice.
 */
import { type FileDelta, headToJson, type Page, type PartitionHead, pageIds } from '../core/detect';
import { mergeHistory } from '../core/detect/merge';
import { hash32 } from '../core/detect/state';
import { classifyKey } from '../core/keys';
import { type AdvancePorts, advancePartition } from './advance';
import { type IngestPorts, ingestObject } from './ingest';
import type { HeadSummary, KeyLister, PartitionStore } from './ports';
import { CONFLICT, retryOnConflict } from './retry';

/** Key prefix of backfill partitions in the state tables. */
export const BACKFILL_PREFIX = 'backfill|';

/** The store seen through the backfill namespace: keys are live keys, items live under `backfill|`. */
export function backfillStore(store: PartitionStore): PartitionStore {
  const k = (key: string) => `${BACKFILL_PREFIX}${key}`;
  return {
    getHead: async (key) => {
      const h = await store.getHead(k(key));
      return h && { ...h, key };
    },
    createHead: (key, prefix) => store.createHead(k(key), prefix),
    putHead: (key, update, version) => store.putHead(k(key), update, version),
    putOutbox: (key, outbox, version) => store.putOutbox(k(key), outbox, version),
    wake: (key, late) => store.wake(k(key), late),
    putDelta: (key, delta, expires, late) => store.putDelta(k(key), delta, expires, late),
    hasDelta: (key, ref) => store.hasDelta(k(key), ref),
    recordedLate: (key, ref) => store.recordedLate(k(key), ref),
    hasDeltaAfter: (key, after, to) => store.hasDeltaAfter(k(key), after, to),
    queryDeltas: (key, from, to) => store.queryDeltas(k(key), from, to),
    getDeltas: (key, refs) => store.getDeltas(k(key), refs),
    addLate: (key, ref, expires) => store.addLate(k(key), ref, expires),
    queryLate: (key) => store.queryLate(k(key)),
    markLateApplied: (key, refs) => store.markLateApplied(k(key), refs),
    getPages: (key, ids) => store.getPages(k(key), ids),
    putPages: (key, pages) => store.putPages(k(key), pages),
    async *scanHeads(segment, total): AsyncIterable<HeadSummary> {
      for await (const s of store.scanHeads(segment, total)) {
        if (s.key.startsWith(BACKFILL_PREFIX)) yield { ...s, key: s.key.slice(BACKFILL_PREFIX.length) };
      }
    },
    countHeads: () => store.countHeads(),
    raiseSegmentsNeeded: (n) => store.raiseSegmentsNeeded(n),
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
  /** Log files recorded, and applied to their backfill partitions. */
  applied: number;
  events: number;
  /** Keys not applied, by reason (not-a-log-file, out-of-range, duplicate, ...). */
  skipped: Record<string, number>;
  /** Files that failed, with the reason; the replay goes on. */
  failed: { key: string; error: string }[];
  /** Continue after this key; absent when the prefix is exhausted. */
  next?: string;
}

export interface ReplayPorts extends IngestPorts, AdvancePorts {
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
  const store = backfillStore(ports.store);
  // History is recorded in its own order (never late) and is not news: nothing is published.
  const ingestPorts: IngestPorts = { ...ports, store, inOrder: true };
  const latest = new Map<string, number>();
  let startAfter = request.startAfter;
  const finish = async () => {
    for (const [key, deliveredAt] of latest) {
      await advancePartition(key, deliveredAt + ports.detectConfig.reorderMinutes * 60_000, {
        ...ports,
        store,
        sinks: [],
        archive: undefined,
        archiveListing: undefined,
        deadLetters: undefined,
      });
    }
    return progress;
  };
  for (;;) {
    const page = await ports.lister.list({ bucket: request.bucket, prefix: request.prefix, startAfter });
    for (const object of page.objects) {
      if (progress.applied >= request.maxFiles || shouldStop()) {
        progress.next = startAfter;
        return finish();
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
          ingestPorts,
        );
        if (outcome.status === 'processed') {
          progress.applied++;
          progress.events += outcome.events;
          latest.set(outcome.partition, Math.max(latest.get(outcome.partition) ?? 0, outcome.deliveredAt));
        } else skip(outcome.reason);
      } catch (error) {
        progress.failed.push({ key: object.key, error: (error as Error).message });
      }
    }
    if (!page.next) return finish();
    startAfter = page.next;
  }
}

async function allPages(store: PartitionStore, key: string, head: PartitionHead): Promise<Map<string, Page>> {
  return store.getPages(key, pageIds(head));
}

/**
 * Merges every backfilled partition into its live partition, then forgets the backfill (its head item is
 * marked merged, so a second merge adds nothing). Returns the live keys merged.
 */
export async function mergeBackfill(ports: AdvancePorts): Promise<string[]> {
  const { store } = ports;
  const history = backfillStore(store);
  const merged: string[] = [];
  const keys: string[] = [];
  for await (const s of history.scanHeads(0, 1)) keys.push(s.key);
  for (const key of keys) {
    const backfill = await history.getHead(key);
    if (!backfill?.head || backfill.head.merged) continue;
    const historyHead = backfill.head;
    const mergeId = `backfill-${hash32(headToJson(historyHead)).toString(16)}`;
    const historyPages = await allPages(history, key, backfill.head);
    await retryOnConflict(
      `merging the backfill of ${key}`,
      async () => {
        const live = await store.getHead(key);
        if (live?.head?.merged?.includes(mergeId)) return true;
        if (!live?.head) {
          // Nothing live yet (or only recorded files): the history becomes the partition.
          if (live === undefined) await store.createHead(key, backfill.prefix ?? '');
          const stub = await store.getHead(key);
          if (!stub) return CONFLICT;
          await store.putPages(key, historyPages);
          const put = await store.putHead(
            key,
            {
              head: { ...historyHead, merged: [mergeId] },
              outbox: stub.outbox,
              lateHint: stub.lateHint,
              lateApplied: stub.lateApplied,
              ...(stub.prefix ? { prefix: stub.prefix } : {}),
              idle: false,
              dueAt: 0,
            },
            stub.version,
          );
          return put.ok ? true : CONFLICT;
        }
        const livePages = await allPages(store, key, live.head);
        const position = live.head.compaction.position;
        const recent: FileDelta[] = position
          ? (await store.queryDeltas(key, position.deliveredAt, Number.MAX_SAFE_INTEGER)).filter(
              (d) => d.deliveredAt > position.deliveredAt || d.file > position.file,
            )
          : await store.queryDeltas(key, 0, Number.MAX_SAFE_INTEGER);
        const result = mergeHistory(
          { head: live.head, pages: livePages, recent },
          { head: historyHead, pages: historyPages },
          ports.detectConfig,
        );
        result.head.merged = [...(live.head.merged ?? []), mergeId];
        await store.putPages(key, result.pages);
        const put = await store.putHead(
          key,
          {
            head: result.head,
            outbox: live.outbox,
            lateHint: live.lateHint,
            lateApplied: live.lateApplied,
            ...(live.prefix ? { prefix: live.prefix } : {}),
            idle: false,
            dueAt: 0,
          },
          live.version,
        );
        return put.ok ? true : CONFLICT;
      },
      ports.retry,
    );
    // Forget the backfill: a second merge finds it marked and adds nothing.
    await retryOnConflict(`closing the backfill of ${key}`, async () => {
      const b = await history.getHead(key);
      if (!b?.head) return true;
      const put = await history.putHead(
        key,
        {
          head: { ...b.head, merged: [mergeId] },
          outbox: [],
          lateHint: false,
          lateApplied: [],
          idle: true,
          dueAt: Number.POSITIVE_INFINITY,
        },
        b.version,
      );
      return put.ok ? true : CONFLICT;
    });
    merged.push(key);
  }
  return merged;
}
