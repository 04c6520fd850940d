/**
 * Backfill on s3rver + dynalite with the real grycap day: live files first, then history replayed in slices
 * into the backfill namespace (recorded and advanced there, never published), then merged into the live
 * partition.
 */
import type { Context } from 'aws-lambda';
import { S3KeyLister } from '../../lambda/adapters/s3-key-lister';
import { pageIds, resolveDetectConfig } from '../../lambda/core/detect';
import { classifyKey } from '../../lambda/core/keys';
import { createBackfillHandler } from '../../lambda/handlers/backfill';
import { buildPorts, type PipelineEnvironment } from '../../lambda/handlers/environment';
import { advancePartition } from '../../lambda/pipeline/advance';
import { evaluateSegment } from '../../lambda/pipeline/evaluate';
import { ingestObject } from '../../lambda/pipeline/ingest';
import type { InsightSink, PartitionStore } from '../../lambda/pipeline/ports';
import { CapturingSink, createStateTables } from '../support/pipeline-harness';
import { type DynamoStandIn, type S3StandIn, startDynamo, startS3 } from '../support/stand-ins';
import { ACCOUNT, BUCKET, grycapDayFiles, lambdaContext, type Uploaded, uploadFile } from './helpers';

const PARTITION = ACCOUNT;

/** Calls learned into a partition's baselines: the exposure-weighted sum of every series' window counts. */
async function learned(store: PartitionStore, key: string): Promise<number> {
  const head = (await store.getHead(key))?.head;
  if (!head) return 0;
  const pages = await store.getPages(key, pageIds(head));
  let total = 0;
  for (const page of pages.values())
    for (const s of Object.values(page.series)) total += Object.values(s.s1).reduce((a, b) => a + b, 0);
  return total;
}

describe('backfill', () => {
  let s3: S3StandIn;
  let dynamo: DynamoStandIn;
  let uploaded: Uploaded[];
  let tables = 0;
  const day = grycapDayFiles();

  beforeAll(async () => {
    [s3, dynamo] = await Promise.all([startS3([BUCKET]), startDynamo()]);
    uploaded = [];
    for (let i = 0; i < day.length; i += 4)
      uploaded.push(...(await Promise.all(day.slice(i, i + 4).map((f) => uploadFile(s3.client, f)))));
  }, 120_000);
  afterAll(async () => Promise.all([s3.stop(), dynamo.stop()]));

  async function setup() {
    const prefix = `b${++tables}-`;
    await createStateTables(dynamo.client, prefix);
    const env: PipelineEnvironment = {
      headsTableName: `${prefix}heads`,
      dataTableName: `${prefix}data`,
      eventBusName: 'trailsight',
      publishToDefaultBus: false,
      archiveBucketName: BUCKET,
      insightBucketName: BUCKET,
      insightPrefix: 'trailsight/insights/',
      dedupeRetentionDays: 35,
      detectConfig: resolveDetectConfig({ learningHours: 0 }),
    };
    const sink = new CapturingSink();
    const built = buildPorts(env, {
      s3: s3.client,
      dynamodb: dynamo.client,
      eventBridge: undefined as never,
      sqs: undefined as never,
    });
    const ports = { ...built, sinks: [sink as InsightSink], archive: undefined, now: () => 0 };
    const handler = createBackfillHandler(() => ({
      settings: env,
      ports: { ...ports, lister: new S3KeyLister(s3.client) },
    }));
    return { env, ports, handler, sink };
  }

  test('replays history in slices without publishing, then merges it into the live partition', async () => {
    const { ports, handler, sink } = await setup();
    // Live: the last 40 files of the day arrive first (the pipeline was just deployed) and are applied.
    const liveFiles = uploaded.slice(-40);
    const lastLive = classifyKey(liveFiles[39].key).deliveredAt ?? 0;
    for (const u of liveFiles) {
      const d = classifyKey(u.key).deliveredAt ?? 0;
      await ingestObject({ bucket: BUCKET, key: u.key, etag: u.etag }, { ...ports, now: () => d + 40_000 });
    }
    await advancePartition(PARTITION, lastLive + 5 * 60_000, ports);
    const liveLearned = await learned(ports.store, PARTITION);

    // History: everything delivered before the first live file, replayed 100 files per slice.
    const firstLive = classifyKey(liveFiles[0].key).deliveredAt ?? 0;
    sink.published.length = 0;
    let next: string | undefined;
    let applied = 0;
    let slices = 0;
    do {
      const result = await handler(
        {
          action: 'replay',
          to: new Date(firstLive).toISOString(),
          maxFiles: 100,
          ...(next ? { startAfter: next } : {}),
        },
        lambdaContext,
      );
      if (result.action !== 'replay') throw new Error('expected a replay result');
      expect(result.failed).toEqual([]);
      applied += result.applied;
      next = result.next;
      slices++;
    } while (next);
    expect(applied).toBe(uploaded.length - liveFiles.length);
    expect(slices).toBe(Math.ceil(applied / 100) + (applied % 100 === 0 ? 1 : 0));
    expect(sink.published).toEqual([]);

    // Replayed history is not evaluated before it is merged, and the live partition is untouched so far.
    const evaluation = await evaluateSegment({ scheduled: lastLive + 3_600_000, segment: 0, totalSegments: 1 }, ports);
    expect(evaluation.partitions).toBe(1);
    expect(await learned(ports.store, PARTITION)).toBe(liveLearned);
    const history = await learned(ports.store, `backfill|${PARTITION}`);
    expect(history).toBeGreaterThan(liveLearned);

    const merged = await handler({ action: 'merge' }, lambdaContext);
    expect(merged).toEqual({ action: 'merge', merged: [PARTITION] });
    const after = await ports.store.getHead(PARTITION);
    expect(await learned(ports.store, PARTITION)).toBeGreaterThan(history);
    expect(after?.head?.first).toBe(classifyKey(uploaded[0].key).deliveredAt);

    // A second merge adds nothing.
    expect(await handler({ action: 'merge' }, lambdaContext)).toEqual({ action: 'merge', merged: [] });
    expect((await ports.store.getHead(PARTITION))?.head).toEqual(after?.head);
  }, 120_000);

  test('stops a slice when the function is about to time out, and says where to continue', async () => {
    const { handler } = await setup();
    let calls = 0;
    const hurried: Context = { ...lambdaContext, getRemainingTimeInMillis: () => (++calls > 5 ? 1_000 : 600_000) };
    const result = await handler({ action: 'replay', maxFiles: 1000 }, hurried);
    expect(result).toMatchObject({ action: 'replay', applied: 5, next: expect.stringContaining('AWSLogs/') });
  });

  test('fails on a request outside the log prefix', async () => {
    const { handler } = await setup();
    await expect(handler({ action: 'replay', prefix: 'trailsight/' }, lambdaContext)).rejects.toThrow();
  });
});
