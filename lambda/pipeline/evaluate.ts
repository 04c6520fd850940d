/**
 * The scheduled evaluation, fanned out: EventBridge Scheduler invokes the coordinator every
 * `scheduleMinutes`; it splits the partitions into scan segments (about {@link PARTITIONS_PER_SEGMENT}
 * each) and queues one message per segment; evaluator invocations take one segment each, in parallel, and
 * advance every partition of it that has something to do, a few at a time, so a slow or failing partition
 * delays no other.
 *
 * Which partitions have something to do, without reading them: the scan of the head table returns each
 * partition's due time, idle mark, cursor, and whether late files or an outbox wait. An idle partition
 * costs its scan read only (nothing that grows with how long it has been idle); an active one with nothing
 * due costs one single-item lookup for files recorded after its cursor.
 */
import { type AdvanceOutcome, type AdvancePorts, advancePartition, IDLE_AFTER_MS } from './advance';
import { BACKFILL_PREFIX } from './backfill';
import type { HeadSummary, SegmentMessage } from './ports';

/** Partitions per scan segment: a segment is one evaluator invocation. */
export const PARTITIONS_PER_SEGMENT = 250;
/** At most this many segments per evaluation (DynamoDB allows 1,000,000; the queue and concurrency decide). */
export const MAX_SEGMENTS = 1000;

/**
 * The segment messages of one scheduled evaluation: enough segments for the partitions counted (DynamoDB's
 * item count lags by hours) and at least as many as earlier evaluations found they needed.
 */
export function planSegments(scheduled: number, count: { items: number; segmentsNeeded: number }): SegmentMessage[] {
  const byCount = Math.ceil(count.items / PARTITIONS_PER_SEGMENT);
  const total = Math.min(MAX_SEGMENTS, Math.max(1, byCount, count.segmentsNeeded));
  return Array.from({ length: total }, (_, segment) => ({ scheduled, segment, totalSegments: total }));
}

export interface EvaluatePorts extends AdvancePorts {
  /** Partitions advanced at once within a segment. @default 8 */
  readonly concurrency?: number;
}

export interface SegmentSummary {
  /** Partitions the segment holds, and how many were advanced (had something to do). */
  readonly partitions: number;
  readonly advanced: number;
  readonly idle: number;
  readonly files: number;
  readonly insights: AdvanceOutcome['insights'];
  readonly compactions: number;
  readonly conflicts: number;
  /** Partitions whose silence the archive contradicts: files delivered but never recorded. */
  readonly unrecorded: { partition: string; files: number }[];
  readonly deadLettered: number;
  /** Partitions that failed, with the reason; the others were evaluated. */
  readonly failures: { partition: string; error: string }[];
}

/**
 * Whether a partition must be advanced at evaluation time W (decided from its scan summary and one lookup).
 * A partition quiet for a while is advanced once more with nothing to apply, which marks it idle: from then
 * on its scan read is all it costs until a file wakes it.
 */
export async function hasWork(s: HeadSummary, W: number, ports: Pick<EvaluatePorts, 'store'>): Promise<boolean> {
  if (s.lateHint || s.outbox || s.dueAt <= W) return true;
  if (s.idle) return false;
  if (await ports.store.hasDeltaAfter(s.key, s.cursor, W)) return true;
  // Idle still wakes at its due time (the scan sees it): only the lookup for new files stops.
  return s.cursor !== undefined && s.cursor.deliveredAt < W - IDLE_AFTER_MS;
}

/** Evaluates one scan segment at the scheduled time (epoch ms). */
export async function evaluateSegment(message: SegmentMessage, ports: EvaluatePorts): Promise<SegmentSummary> {
  const W = message.scheduled - ports.detectConfig.reorderMinutes * 60_000;
  const summary = {
    partitions: 0,
    advanced: 0,
    idle: 0,
    files: 0,
    insights: [] as AdvanceOutcome['insights'],
    compactions: 0,
    conflicts: 0,
    unrecorded: [] as { partition: string; files: number }[],
    deadLettered: 0,
    failures: [] as { partition: string; error: string }[],
  };
  const work: HeadSummary[] = [];
  for await (const s of ports.store.scanHeads(message.segment, message.totalSegments)) {
    // History being replayed is not live: it is merged, not evaluated.
    if (s.key.startsWith(BACKFILL_PREFIX)) continue;
    summary.partitions++;
    if (s.idle) summary.idle++;
    try {
      if (await hasWork(s, W, ports)) work.push(s);
    } catch (error) {
      summary.failures.push({ partition: s.key, error: (error as Error).message });
    }
  }
  // A segment holding far more than its share means the fan-out is too narrow: the next evaluations widen it.
  if (summary.partitions > 2 * PARTITIONS_PER_SEGMENT) {
    const needed = Math.ceil((summary.partitions * message.totalSegments) / PARTITIONS_PER_SEGMENT);
    await ports.store.raiseSegmentsNeeded(Math.min(MAX_SEGMENTS, needed));
  }
  let next = 0;
  const worker = async () => {
    while (next < work.length) {
      const s = work[next++];
      try {
        const r = await advancePartition(s.key, message.scheduled, ports);
        summary.advanced++;
        summary.files += r.files + r.lateFiles;
        summary.insights.push(...r.insights);
        summary.compactions += r.compactions;
        summary.conflicts += r.conflicts;
        if (r.unrecorded > 0) summary.unrecorded.push({ partition: s.key, files: r.unrecorded });
        summary.deadLettered += r.delivery.reduce((n, d) => n + d.deadLettered.length, 0);
      } catch (error) {
        // One partition's failure must not stop the others; the next evaluation retries it.
        summary.failures.push({ partition: s.key, error: (error as Error).message });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, ports.concurrency ?? 8) }, worker));
  return summary;
}
