/**
 * The scheduled evaluation: advances every partition's clock to the schedule's time, so what needs time to
 * pass rather than files to arrive is found: episodes that went quiet end (End events), learned jobs that
 * missed a run, accounts and Regions that stopped delivering. It also delivers outboxes left behind by
 * failed publishes.
 *
 * A partition is written back only when the tick emitted insights: folding baselines forward without an
 * insight changes nothing the next file would not redo itself, and skipping that write keeps the evaluator's
 * cost at one read per partition per run.
 */
import type { DetectConfig, InsightEvent } from '../core/detect';
import { BACKFILL_PREFIX } from './backfill';
import { PipelineError } from './errors';
import { engineFor, nextDocument } from './ingest';
import { type DeliveryPorts, deliverOutbox } from './outbox';
import type { StoredPartition } from './ports';

export interface EvaluatePorts extends DeliveryPorts {
  readonly detectConfig: DetectConfig;
  /** How long an applied object is remembered per partition, ms (kept as the ingest prunes it). */
  readonly dedupeWindowMs: number;
}

export interface EvaluationSummary {
  readonly partitions: number;
  /** Partitions written back (the tick emitted insights). */
  readonly written: number;
  readonly insights: InsightEvent[];
  /** Insights of earlier runs delivered from outboxes. */
  readonly redelivered: number;
  /** Partitions that failed, with the reason; the others were evaluated. */
  readonly failures: { partition: string; error: string }[];
}

/** Evaluates every stored partition at `now` (the schedule's time, epoch ms). */
export async function evaluatePartitions(now: number, ports: EvaluatePorts): Promise<EvaluationSummary> {
  let partitions = 0;
  let written = 0;
  let redelivered = 0;
  const insights: InsightEvent[] = [];
  const failures: { partition: string; error: string }[] = [];
  for await (const stored of ports.store.list()) {
    // History being replayed is not live: it is evaluated once merged.
    if (stored.key.startsWith(BACKFILL_PREFIX)) continue;
    partitions++;
    try {
      const r = await evaluatePartition(stored, now, ports);
      if (r.written) written++;
      redelivered += r.redelivered;
      insights.push(...r.insights);
    } catch (error) {
      // One partition's failure must not stop the sweep; the run still fails at the end (alarm) and the next
      // run retries it.
      failures.push({ partition: stored.key, error: (error as Error).message });
    }
  }
  return { partitions, written, insights, redelivered, failures };
}

async function evaluatePartition(
  first: StoredPartition,
  now: number,
  ports: EvaluatePorts,
): Promise<{ written: boolean; insights: InsightEvent[]; redelivered: number }> {
  let stored = first;
  const maxAttempts = ports.maxAttempts ?? 5;
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    const redelivered = await deliverOutbox(stored, ports);
    if (redelivered > 0) stored = await ports.store.get(stored.key);
    if (!stored.document.partition) return { written: false, insights: [], redelivered };
    const engine = engineFor(ports.detectConfig, stored.key, stored.document);
    const insights = engine.tick(now);
    if (insights.length === 0) return { written: false, insights, redelivered };
    const next = nextDocument(engine, stored.key, stored.document, insights, ports.dedupeWindowMs);
    const put = await ports.store.put(stored.key, next, stored.version);
    if (put.ok) {
      await deliverOutbox(
        { key: stored.key, document: next, version: put.version, storedBytes: put.storedBytes },
        ports,
      );
      return { written: true, insights, redelivered };
    }
    stored = await ports.store.get(stored.key);
  }
  throw new PipelineError(
    'state-conflict',
    `${first.key}: the state changed under ${maxAttempts} consecutive attempts`,
  );
}
