/**
 * Crash windows of the ingest, each fault at the one point where it used to lose a file (found while
 * building the fault soak, soak.test.ts, which injects the same faults at random points): the ingest's
 * calls after its write must be redone by the next receive of the notification, not skipped as a duplicate.
 * On the in-memory store (held to the DynamoDB store's contract by dynamodb-state-store.test.ts).
 */
import { readFileSync } from 'node:fs';
import { ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { classifyKey } from '../../lambda/core/keys';
import { ingestObject } from '../../lambda/pipeline/ingest';
import type { PartitionStore } from '../../lambda/pipeline/ports';
import { type HarnessFile, PipelineHarness } from '../support/pipeline-harness';
import { ACCOUNT, BUCKET, grycapDayFiles, logKey } from './helpers';

const PARTITION = ACCOUNT;
/** Learned from the first file; no time-based detector, so nothing but a file can wake an idle partition. */
const DETECTOR = { learningHours: 0, gap: { enabled: false }, deliveryGap: { enabled: false } };
const day: HarnessFile[] = grycapDayFiles().map((f) => ({ key: logKey(f), body: readFileSync(f) }));
const deliveredAt = (f: HarnessFile) => classifyKey(f.key).deliveredAt ?? 0;
const name = (f: HarnessFile) => f.key.slice(f.key.lastIndexOf('/') + 1);
const throttled = () => new ProvisionedThroughputExceededException({ message: 'Rate exceeded', $metadata: {} });

/**
 * A harness whose store's `method` fails once, on its first call at or after `from` (the ingest's clock),
 * before or after the call lands.
 */
function failingOnce(method: 'wake' | 'createHead' | 'addLate', when: 'before' | 'after', from = 0) {
  let failed = false;
  return new PipelineHarness({
    bucket: BUCKET,
    detector: DETECTOR,
    wrap: (ports) => {
      const store: PartitionStore = Object.create(ports.store);
      const original = ports.store[method].bind(ports.store) as (...args: unknown[]) => Promise<unknown>;
      (store as unknown as Record<string, unknown>)[method] = async (...args: unknown[]) => {
        if (failed || ports.now() < from) return original(...args);
        failed = true;
        if (when === 'before') throw throttled();
        await original(...args);
        throw new Error('the function crashed after the write');
      };
      return { ...ports, store };
    },
  });
}

describe('the ingest redoes what a failed receive left undone', () => {
  test('a file recorded while its partition is idle is applied even when the wake failed on the first receive', async () => {
    // The morning (40 files), then a file at 21:10: the partition went idle in between, and only this file
    // can wake it. Its first receive stores the delta, then the wake is throttled; the record is retried.
    const evening = day[300];
    const h = failingOnce('wake', 'before', deliveredAt(evening));
    await h.replay([...day.slice(0, 40), evening], deliveredAt(evening) + 3_600_000);
    expect(h.ingestFailures).toHaveLength(1);
    expect(h.deadLettered).toEqual([]);
    expect((await h.state.getHead(PARTITION))?.head?.cursor?.file).toBe(name(evening));
  });

  test("a partition's first file is applied even when creating its head failed on the first receive", async () => {
    const h = failingOnce('createHead', 'before');
    const only = day[0];
    await h.replay([only], deliveredAt(only) + 3_600_000);
    expect(h.ingestFailures).toHaveLength(1);
    expect((await h.state.getHead(PARTITION))?.head?.cursor?.file).toBe(name(only));
  });

  test('a late file is applied once even when the first receive died right after entering it in the late index', async () => {
    // The 150th file reaches the queue two hours late; its first receive enters it in the late index, then
    // dies before storing its delta. The retry finds the entry: it must store the delta, not skip the file.
    const h = failingOnce('addLate', 'after');
    const late = day[150];
    const files = day.slice(0, 200);
    await h.replay(files, deliveredAt(files[199]) + 3_600_000, (f, d) => (f === late ? d + 2 * 3_600_000 : d + 40_000));
    expect(h.ingestFailures).toHaveLength(1);
    expect(await h.state.hasDelta(PARTITION, { deliveredAt: deliveredAt(late), file: name(late) })).toBe(true);
    expect(await h.state.queryLate(PARTITION)).toEqual([
      { deliveredAt: deliveredAt(late), file: name(late), applied: true },
    ]);
    const head = (await h.state.getHead(PARTITION))!;
    expect(head.lateHint).toBe(false);
    // Every file applied once: the delivery-lag histogram holds one count per file applied.
    const deltas = await h.state.queryDeltas(PARTITION, 0, Number.MAX_SAFE_INTEGER);
    expect(deltas).toHaveLength(files.length);
    expect(head.head!.lag.reduce((a, b) => a + b, 0)).toBe(deltas.length);
  });

  test('a late file is applied even when setting the late hint failed on the first receive', async () => {
    const late = day[150];
    const h = failingOnce('wake', 'before', deliveredAt(late) + 2 * 3_600_000);
    const files = day.slice(0, 200);
    await h.replay(files, deliveredAt(files[199]) + 3_600_000, (f, d) => (f === late ? d + 2 * 3_600_000 : d + 40_000));
    expect(h.ingestFailures).toHaveLength(1);
    expect(await h.state.queryLate(PARTITION)).toEqual([
      { deliveredAt: deliveredAt(late), file: name(late), applied: true },
    ]);
    const head = (await h.state.getHead(PARTITION))!;
    const deltas = await h.state.queryDeltas(PARTITION, 0, Number.MAX_SAFE_INTEGER);
    expect(head.head!.lag.reduce((a, b) => a + b, 0)).toBe(deltas.length);
  });

  test('a late file is applied when a second delivery of it, running at once, stores its delta first', async () => {
    // Two notifications of the late file are received at once: the first enters it in the late index, the
    // second finds the entry and stores the delta before the first gets to its own write. The first must
    // see that the delta it finds was stored late (the entry must stay open), not recorded on time.
    const late = day[150];
    let raced = false;
    const h = new PipelineHarness({
      bucket: BUCKET,
      detector: DETECTOR,
      wrap: (ports) => {
        const store: PartitionStore = Object.create(ports.store);
        store.putDelta = async (...args) => {
          if (!raced && args[1].file === name(late)) {
            raced = true;
            const outcome = await ingestObject({ bucket: BUCKET, key: late.key }, ports);
            expect(outcome).toMatchObject({ status: 'processed', late: true });
          }
          return ports.store.putDelta(...args);
        };
        return { ...ports, store };
      },
    });
    const files = day.slice(0, 200);
    await h.replay(files, deliveredAt(files[199]) + 3_600_000, (f, d) => (f === late ? d + 2 * 3_600_000 : d + 40_000));
    expect(raced).toBe(true);
    expect(await h.state.queryLate(PARTITION)).toEqual([
      { deliveredAt: deliveredAt(late), file: name(late), applied: true },
    ]);
    const head = (await h.state.getHead(PARTITION))!;
    expect(head.head!.lag.reduce((a, b) => a + b, 0)).toBe(files.length);
  });
});

describe('the evaluator', () => {
  test('clears a late hint with nothing behind it, instead of advancing the partition at every tick', async () => {
    // A late duplicate wakes the partition with the hint when it finds its entry unapplied; the evaluator may
    // apply the entry between that read and the wake.
    const h = new PipelineHarness({ bucket: BUCKET, detector: DETECTOR });
    // A few minutes after the last file: the partition is not quiet enough to be marked idle.
    const files = day.slice(0, 20);
    const until = deliveredAt(files[19]) + 5 * 60_000;
    await h.replay(files, until);
    await h.state.wake(PARTITION, true);
    expect(await h.settle(until + 2 * 60_000)).toBe(1);
    expect(await h.state.getHead(PARTITION)).toMatchObject({ lateHint: false });
  });
});
