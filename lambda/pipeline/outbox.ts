/**
 * Delivers a partition's outbox: the insights committed together with the state that produced them, but not
 * yet confirmed published. Publishing after the commit means an insight is never emitted for a state change
 * that lost a conditional write, and never lost when the function dies between the two: the next advance of
 * the partition delivers what is left. Delivery is at-least-once; consumers de-duplicate on `eventID`
 * (deterministic per episode and state, whatever the processing order).
 *
 * An insight the bus keeps refusing (after `maxPublishAttempts` advances) goes to the dead-letter port with
 * its reason, and the rest of the partition's insights keep flowing.
 */
import type { InsightEvent } from '../core/detect';
import type { DeadLetters, InsightArchive, InsightSink, OutboxEntry, PartitionStore, StoredHead } from './ports';
import { CONFLICT, type RetryOptions, retryOnConflict } from './retry';

export interface DeliveryPorts {
  readonly store: PartitionStore;
  /** The insight bus (and, through a second sink, optionally the default bus). */
  readonly sinks: readonly InsightSink[];
  /** @default - insights are not archived */
  readonly archive?: InsightArchive;
  /** @default - refused insights stay in the outbox */
  readonly deadLetters?: DeadLetters;
  /** Advances an insight may fail to publish before it is dead-lettered. @default 5 */
  readonly maxPublishAttempts?: number;
  readonly retry?: RetryOptions;
}

export interface DeliveryResult {
  readonly delivered: number;
  /** Insights that failed this time and stay for the next advance. */
  readonly retained: number;
  /** Insights given up on and sent to the dead-letter port. */
  readonly deadLettered: InsightEvent[];
}

/** Publishes and archives the outbox of `stored`, then removes what was delivered or dead-lettered. */
export async function deliverOutbox(stored: StoredHead, ports: DeliveryPorts): Promise<DeliveryResult> {
  const pending = stored.outbox;
  if (pending.length === 0) return { delivered: 0, retained: 0, deadLettered: [] };
  const failed = new Map<string, string>();
  for (const sink of ports.sinks) {
    const result = await sink.publish(pending.map((e) => e.insight));
    for (const f of result.failed) {
      const id = (f.detail as InsightEvent).eventID;
      if (!failed.has(id)) failed.set(id, `${f.errorCode}: ${f.errorMessage}`);
    }
  }
  const accepted = pending.filter((e) => !failed.has(e.insight.eventID)).map((e) => e.insight);
  if (accepted.length > 0) await ports.archive?.write(accepted);

  const maxAttempts = ports.maxPublishAttempts ?? 5;
  const retained: OutboxEntry[] = [];
  const deadLettered: InsightEvent[] = [];
  for (const e of pending) {
    const error = failed.get(e.insight.eventID);
    if (error === undefined) continue;
    const attempts = e.attempts + 1;
    if (attempts >= maxAttempts && ports.deadLetters) {
      await ports.deadLetters.send({ reason: error, partition: stored.key, insight: e.insight });
      deadLettered.push(e.insight);
    } else retained.push({ insight: e.insight, attempts, lastError: error });
  }
  const done = new Set(pending.map((e) => e.insight.eventID));
  const outcome = { delivered: accepted.length, retained: retained.length, deadLettered };
  await retryOnConflict(
    `clearing the outbox of ${stored.key}`,
    async (n) => {
      const current = n === 1 ? stored : await ports.store.getHead(stored.key);
      if (!current) return outcome;
      // Insights committed since we read the outbox stay; ours leave or come back with their attempt count.
      const outbox = [...current.outbox.filter((e) => !done.has(e.insight.eventID)), ...retained];
      const put = await ports.store.putOutbox(stored.key, outbox, current.version);
      return put.ok ? outcome : CONFLICT;
    },
    ports.retry,
  );
  return outcome;
}
