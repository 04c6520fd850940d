/**
 * Delivers a partition's outbox: the insights that were committed together with the state that produced
 * them, but not yet confirmed published. Publishing after the commit means an insight is never emitted for
 * a state change that lost a conditional write, and never lost when the function dies between the two:
 * whoever touches the partition next (a new file, a redelivery, the evaluator) delivers what is left.
 * Delivery is at-least-once; consumers de-duplicate on `eventID` (deterministic per episode and state).
 */
import type { InsightSink } from '../adapters/eventbridge-publisher';
import { PipelineError } from './errors';
import type { InsightArchive, PartitionStore, StoredPartition } from './ports';

export interface DeliveryPorts {
  readonly store: PartitionStore;
  /** The insight bus (and, through a second sink, optionally the default bus). */
  readonly sinks: readonly InsightSink[];
  /** @default - insights are not archived */
  readonly archive?: InsightArchive;
  /**
   * Conditional-write attempts before giving up with `state-conflict`.
   * @default 5
   */
  readonly maxAttempts?: number;
}

/** Publishes and archives the outbox of `stored`, then removes what was delivered. Returns how many insights. */
export async function deliverOutbox(stored: StoredPartition, ports: DeliveryPorts): Promise<number> {
  const pending = stored.document.outbox;
  if (pending.length === 0) return 0;
  for (const sink of ports.sinks) {
    const result = await sink.publish(pending);
    if (result.failed.length > 0) {
      const first = result.failed[0];
      throw new PipelineError(
        'publish-failed',
        `${result.failed.length} of ${pending.length} insights of ${stored.key} were not accepted (${first.errorCode}: ${first.errorMessage}); they stay in the outbox for the next attempt`,
      );
    }
  }
  await ports.archive?.write(pending);

  const delivered = new Set(pending.map((i) => i.eventID));
  let current = stored;
  for (let attempt = 1; attempt <= (ports.maxAttempts ?? 5); attempt++) {
    const outbox = current.document.outbox.filter((i) => !delivered.has(i.eventID));
    if (outbox.length === current.document.outbox.length) return pending.length;
    const put = await ports.store.put(current.key, { ...current.document, outbox }, current.version);
    if (put.ok) return pending.length;
    current = await ports.store.get(current.key);
  }
  throw new PipelineError(
    'state-conflict',
    `could not clear the delivered outbox of ${stored.key}: concurrent writers; the insights may be published again`,
  );
}
