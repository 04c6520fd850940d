/**
 * The evaluator's advance of a partition, on the in-memory store (the DynamoDB adapter has its own tests):
 * exactly once in effect under crashes and redeliveries, late files, a poison insight, the delivery check,
 * idle partitions, and the fan-out that keeps a failing partition from delaying the others.
 */
import { readFileSync } from 'node:fs';
import { MemoryStateStore } from '../../lambda/adapters/memory-state-store';
import { buildDelta, type InsightEvent, resolveDetectConfig, settingsOf } from '../../lambda/core/detect';
import { classifyKey } from '../../lambda/core/keys';
import type { PipelinePorts } from '../../lambda/handlers/environment';
import { advancePartition } from '../../lambda/pipeline/advance';
import { evaluateSegment, PARTITIONS_PER_SEGMENT, planSegments } from '../../lambda/pipeline/evaluate';
import type { InsightSink, PartitionStore } from '../../lambda/pipeline/ports';
import { ev } from '../detect/helpers';
import { type HarnessFile, PipelineHarness } from '../support/pipeline-harness';
import { ACCOUNT, BUCKET, grycapDayFiles, logKey } from './helpers';

const PARTITION = ACCOUNT;
/** One real day, learned from from its first file: the day's class session gives insights. */
const EAGER = { learningHours: 0 };
const day: HarnessFile[] = grycapDayFiles().map((f) => ({ key: logKey(f), body: readFileSync(f) }));
const deliveredAt = (f: HarnessFile) => classifyKey(f.key).deliveredAt ?? 0;
const last = Math.max(...day.map(deliveredAt));
const UNTIL = last + 3_600_000;

const ids = (list: readonly InsightEvent[]) => [...new Set(list.map((i) => i.eventID))].sort();

/** The insights of the whole day through an undisturbed pipeline (the reference of these tests). */
let reference: InsightEvent[];
beforeAll(async () => {
  const h = new PipelineHarness({ bucket: BUCKET, detector: EAGER });
  await h.replay(day, UNTIL);
  reference = h.sink.published;
  expect(h.failures).toEqual([]);
}, 120_000);

describe('advance: exactly once in effect', () => {
  test('the real day gives insights, each published once', () => {
    expect(reference.length).toBeGreaterThan(4);
    expect(ids(reference)).toHaveLength(reference.length);
  });

  test('a crash after the state is written and before the insights are published loses none: the next advance publishes them', async () => {
    let crashes = 0;
    const h = new PipelineHarness({
      bucket: BUCKET,
      detector: EAGER,
      wrap: (ports) => ({
        ...ports,
        sinks: [
          {
            publish: async (details: readonly unknown[]) => {
              // Every third publish "dies" after the commit: the function stops before anything leaves.
              if (++crashes % 3 === 0) throw new Error('function crashed');
              return ports.sinks[0].publish(details);
            },
          } satisfies InsightSink,
        ],
      }),
    });
    await h.replay(day, UNTIL);
    expect(crashes).toBeGreaterThan(3);
    expect(ids(h.sink.published)).toEqual(ids(reference));
  }, 60_000);

  test('files whose notification fails and is received again are applied once', async () => {
    let calls = 0;
    const h = new PipelineHarness({
      bucket: BUCKET,
      detector: EAGER,
      wrap: (ports) => {
        const store: PartitionStore = Object.create(ports.store);
        store.putDelta = async (key, delta, expires) => {
          const stored = await ports.store.putDelta(key, delta, expires);
          // Every fifth file: the write lands, then the invocation dies (SQS receives it again).
          if (++calls % 5 === 0) throw new Error('function crashed after the write');
          return stored;
        };
        return { ...ports, store };
      },
    });
    await h.replay(day, UNTIL);
    expect(h.deadLettered).toEqual([]);
    expect([...h.receives.values()].filter((n) => n > 1).length).toBeGreaterThan(10);
    const recorded = await h.ports.store.queryDeltas(PARTITION, 0, Number.MAX_SAFE_INTEGER);
    expect(recorded).toHaveLength(day.length);
    expect(ids(h.sink.published)).toEqual(ids(reference));
  }, 60_000);

  test('a late file is applied once, even when marking it applied fails and the next advance must finish that', async () => {
    let failMark = true;
    const h = new PipelineHarness({
      bucket: BUCKET,
      detector: EAGER,
      wrap: (ports) => {
        const store: PartitionStore = Object.create(ports.store);
        store.markLateApplied = async (key, refs) => {
          if (failMark) {
            failMark = false;
            throw new Error('connection reset');
          }
          return ports.store.markLateApplied(key, refs);
        };
        return { ...ports, store };
      },
    });
    // The 150th file arrives two hours late (after the evaluator passed its delivery time).
    const late = day[150];
    await h.replay(day, UNTIL, (f, d) => (f === late ? d + 2 * 3_600_000 : d + 40_000));
    const index = await h.ports.store.queryLate(PARTITION);
    expect(index).toEqual([{ deliveredAt: deliveredAt(late), file: late.key.split('/').pop(), applied: true }]);
    const head = (await h.ports.store.getHead(PARTITION))!;
    expect(head.lateApplied).toEqual([]);
    // Every file applied once, the late one included: the delivery-lag histogram counts each file applied.
    const applied = head.head!.lag.reduce((a, b) => a + b, 0);
    const recorded = await h.ports.store.queryDeltas(PARTITION, 0, Number.MAX_SAFE_INTEGER);
    expect(applied).toBe(recorded.length);
    expect(recorded).toHaveLength(day.length);
  }, 60_000);
});

describe('advance: publishing', () => {
  test('an insight the bus refuses for good is dead-lettered after five advances, and the others flow', async () => {
    const refused = reference.find((i) => i.insightDetails.state === 'Start')!;
    const deadLetters: { reason: string; insight: InsightEvent }[] = [];
    const h = new PipelineHarness({
      bucket: BUCKET,
      detector: EAGER,
      wrap: (ports) => ({
        ...ports,
        deadLetters: { send: async (item) => void deadLetters.push(item) },
        sinks: [
          {
            publish: async (details: readonly unknown[]) => {
              const list = details as InsightEvent[];
              const ok = list.filter((i) => i.eventID !== refused.eventID);
              await ports.sinks[0].publish(ok);
              return {
                published: ok.length,
                failed: list
                  .filter((i) => i.eventID === refused.eventID)
                  .map((detail) => ({ detail, errorCode: 'ValidationException', errorMessage: 'Event too large' })),
                requests: 1,
              };
            },
          },
        ],
      }),
    });
    await h.replay(day, UNTIL);
    expect(deadLetters.map((d) => [d.insight.eventID, d.reason])).toEqual([
      [refused.eventID, 'ValidationException: Event too large'],
    ]);
    expect(ids(h.sink.published)).toEqual(ids(reference).filter((id) => id !== refused.eventID));
    expect((await h.ports.store.getHead(PARTITION))?.outbox).toEqual([]);
  }, 60_000);
});

describe('advance: the delivery check', () => {
  test('a silence the archive contradicts (files delivered, never recorded) is not a delivery gap', async () => {
    // A learned partition (the real day), then four hours in which files reach the archive but the ingest
    // fails on every one of them (a broken grant, say): the pipeline's alarm, not "the trail stopped".
    const detector = { ...EAGER, deliveryGap: { minSilentMinutes: 45 } };
    const h = new PipelineHarness({
      bucket: BUCKET,
      detector,
      maxReceiveCount: 1,
      wrap: (ports) => {
        const store: PartitionStore = Object.create(ports.store);
        store.putDelta = async (key, delta, expires) => {
          if (delta.deliveredAt > last - 5 * 3_600_000) throw new Error('AccessDenied on the archive key');
          return ports.store.putDelta(key, delta, expires);
        };
        return { ...ports, store };
      },
    });
    await h.replay(day, UNTIL);
    expect(h.deadLettered.length).toBeGreaterThan(10);
    const gaps = (list: InsightEvent[]) => list.filter((i) => i.trailsight.detector === 'delivery-gap');
    expect(gaps(h.sink.published)).toEqual([]);
    // The same silence without files in the archive would have been one (the check is what made the difference).
    const silent = new PipelineHarness({ bucket: BUCKET, detector });
    await silent.replay(
      day.filter((f) => deliveredAt(f) <= last - 5 * 3_600_000),
      UNTIL,
    );
    expect(gaps(silent.sink.published).length).toBeGreaterThan(0);
  }, 60_000);
});

describe('evaluation fan-out', () => {
  test('plans one segment per 250 partitions, and at least what earlier evaluations needed', () => {
    expect(planSegments(0, { items: 0, segmentsNeeded: 0 })).toHaveLength(1);
    expect(planSegments(0, { items: 5_000, segmentsNeeded: 0 })).toHaveLength(5_000 / PARTITIONS_PER_SEGMENT);
    expect(planSegments(0, { items: 10, segmentsNeeded: 7 })).toHaveLength(7);
    expect(planSegments(0, { items: 1e9, segmentsNeeded: 0 })).toHaveLength(1000);
    expect(planSegments(5, { items: 600, segmentsNeeded: 0 }).map((m) => m.segment)).toEqual([0, 1, 2]);
  });

  test('a partition that fails delays no other: the rest of the segment is advanced, the failure reported', async () => {
    const h = new PipelineHarness({ bucket: BUCKET, detector: EAGER });
    // Three partitions: the real day under three accounts.
    const accounts = ['111111111111', '222222222222', '333333333333'];
    const files = accounts.flatMap((a) =>
      day.slice(0, 60).map((f) => ({ key: f.key.replaceAll(ACCOUNT, a), body: f.body })),
    );
    await h.deliver(files);
    const store = h.ports.store;
    const broken: PartitionStore = Object.create(store);
    broken.getHead = async (key) => {
      if (key.startsWith('222222222222')) throw new Error('InternalServerError');
      return store.getHead(key);
    };
    const summary = await evaluateSegment(
      { scheduled: deliveredAt(day[59]) + 10 * 60_000, segment: 0, totalSegments: 1 },
      { ...(h.ports as PipelinePorts), store: broken, concurrency: 2 },
    );
    expect(summary.failures.map((f) => f.partition)).toEqual(['222222222222']);
    expect(summary.advanced).toBe(2);
    expect(summary.files).toBe(120);
  }, 60_000);

  test('one scheduled evaluation advances 5,000 partitions, one segment message per 250 of them', async () => {
    const store = new MemoryStateStore();
    const settings = settingsOf(resolveDetectConfig({}));
    const t = deliveredAt(day[0]);
    const keys = Array.from({ length: 5_000 }, (_, i) => String(100_000_000_000 + i));
    const region = 'eu-west-1';
    for (const key of keys) {
      const account = key;
      await store.createHead(key, `AWSLogs/${account}/CloudTrail/`);
      const delta = buildDelta(
        { account, region, deliveredAt: t, file: `${account}_CloudTrail_${region}_x.json.gz` },
        [ev(t - 60_000, 'DescribeInstances')],
        settings.binMs,
      );
      await store.putDelta(key, delta, 2e9);
    }
    const h = new PipelineHarness({ bucket: BUCKET, wrap: (ports) => ({ ...ports, store }) });
    await h.evaluateAt(t + 5 * 60_000);
    expect(h.segments).toHaveLength(5_000 / PARTITIONS_PER_SEGMENT);
    expect(h.failures).toEqual([]);
    const advanced = await Promise.all(keys.map(async (k) => (await store.getHead(k))?.head?.cursor?.deliveredAt));
    expect(advanced.filter((c) => c === t)).toHaveLength(5_000);
  }, 60_000);

  test('a segment holding far more than its share asks the next evaluations for more segments', async () => {
    const store = new MemoryStateStore();
    for (let i = 0; i < 3 * PARTITIONS_PER_SEGMENT; i++) await store.createHead(String(i).padStart(12, '0'), 'p/');
    const h = new PipelineHarness({ bucket: BUCKET, wrap: (ports) => ({ ...ports, store }) });
    await evaluateSegment({ scheduled: 0, segment: 0, totalSegments: 1 }, h.ports);
    expect((await store.countHeads()).segmentsNeeded).toBe(3);
  });

  test('an idle partition is marked once, then costs only its scan until a file wakes it', async () => {
    // Compactions at most a day apart: the partition goes idle with one pending, due a day later.
    const h = new PipelineHarness({
      bucket: BUCKET,
      detector: { ...EAGER, compaction: { deltaRatio: 1, maxIntervalHours: 24 } },
    });
    await h.replay(day.slice(0, 40), deliveredAt(day[39]) + 2 * 3_600_000);
    expect(await h.ports.store.getHead(PARTITION)).toMatchObject({ idle: true });
    const store = h.ports.store as MemoryStateStore;
    // Its last time-based work (the compaction) comes once: the partition is advanced then…
    const due = await evaluateSegment({ scheduled: last + 30 * 86_400_000, segment: 0, totalSegments: 1 }, h.ports);
    expect(due.advanced).toBe(1);
    expect((await store.getHead(PARTITION))?.dueAt).toBe(Number.POSITIVE_INFINITY);
    // …and never again while idle, however long.
    const before = store.units.readUnits;
    const outcome = await evaluateSegment(
      { scheduled: last + 300 * 86_400_000, segment: 0, totalSegments: 1 },
      h.ports,
    );
    expect(outcome.advanced).toBe(0);
    // The scan read of one small head item, nothing else.
    expect(store.units.readUnits - before).toBeLessThanOrEqual(0.5);
    // A file wakes it.
    await h.deliver([day[40]]);
    expect(await h.ports.store.getHead(PARTITION)).toMatchObject({ idle: false });
    const r = await advancePartition(PARTITION, deliveredAt(day[40]) + 5 * 60_000, h.ports);
    expect(r.files).toBe(1);
  }, 60_000);
});
