/**
 * Backfill on s3rver + dynalite with the real grycap day: live files first, then history replayed in slices
 * into the backfill namespace, then merged into the live partition.
 */
import type { Context } from 'aws-lambda';
import { DynamoDbStateStore } from '../../lambda/adapters/dynamodb-state-store';
import { S3KeyLister } from '../../lambda/adapters/s3-key-lister';
import { classifyKey } from '../../lambda/core/keys';
import { createBackfillHandler } from '../../lambda/handlers/backfill';
import { buildPorts } from '../../lambda/handlers/environment';
import { evaluatePartitions } from '../../lambda/pipeline/evaluate';
import { ingestObject } from '../../lambda/pipeline/ingest';
import { type DynamoStandIn, type S3StandIn, startDynamo, startS3 } from '../support/stand-ins';
import {
  ACCOUNT,
  BUCKET,
  captureEventBridge,
  createStateTable,
  grycapDayFiles,
  lambdaContext,
  settings,
  uploadFile,
} from './helpers';

const PARTITION = `${ACCOUNT}|us-east-1`;

function countedEvents(partition: { lag: number[] } | undefined): number {
  return (partition?.lag ?? []).reduce((a, b) => a + b, 0);
}

describe('backfill', () => {
  let s3: S3StandIn;
  let dynamo: DynamoStandIn;
  let eventBridge: ReturnType<typeof captureEventBridge>;
  const day = grycapDayFiles();

  beforeAll(async () => {
    [s3, dynamo] = await Promise.all([startS3([BUCKET]), startDynamo()]);
    eventBridge = captureEventBridge();
  });
  afterAll(async () => {
    eventBridge.mock.restore();
    await Promise.all([s3.stop(), dynamo.stop()]);
  });

  test('replays history in slices without publishing, then merges it into the live partition', async () => {
    await createStateTable(dynamo.client, 'backfill');
    const env = settings('backfill');
    const ports = buildPorts(env, { s3: s3.client, dynamodb: dynamo.client, eventBridge: eventBridge.client });
    const store = new DynamoDbStateStore(dynamo.client, { tableName: 'backfill' });
    const uploaded = await Promise.all(day.map((f) => uploadFile(s3.client, f)));

    // Live: the last 40 files of the day arrive first (the pipeline was just deployed).
    const liveFiles = uploaded.slice(-40);
    for (const u of liveFiles) await ingestObject({ bucket: BUCKET, key: u.key, etag: u.etag }, ports);
    const live = await store.get(PARTITION);
    const liveEvents = countedEvents(live.document.partition);

    // History: everything delivered before the first live file, replayed 100 files per slice.
    const firstLive = classifyKey(liveFiles[0].key).deliveredAt ?? 0;
    const handler = createBackfillHandler(() => ({
      settings: env,
      ports: { ...ports, lister: new S3KeyLister(s3.client) },
    }));
    eventBridge.calls.length = 0;
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
    expect(eventBridge.calls).toEqual([]);

    // Replayed history is not evaluated before it is merged, and the live partition is untouched so far.
    const evaluation = await evaluatePartitions(firstLive + 3_600_000, { ...ports, sinks: [] });
    expect(evaluation.partitions).toBe(1);
    expect(countedEvents((await store.get(PARTITION)).document.partition)).toBe(liveEvents);
    const history = await store.get(`backfill|${PARTITION}`);

    const merged = await handler({ action: 'merge' }, lambdaContext);
    expect(merged).toEqual({ action: 'merge', merged: [PARTITION] });
    const after = await store.get(PARTITION);
    expect(countedEvents(after.document.partition)).toBe(liveEvents + countedEvents(history.document.partition));
    expect(after.document.partition?.first).toBe(history.document.partition?.first);

    // A second merge adds nothing.
    await handler({ action: 'merge' }, lambdaContext);
    expect((await store.get(PARTITION)).document).toEqual(after.document);
  });

  test('stops a slice when the function is about to time out, and says where to continue', async () => {
    await createStateTable(dynamo.client, 'backfill-timeout');
    const env = settings('backfill-timeout');
    const ports = buildPorts(env, { s3: s3.client, dynamodb: dynamo.client, eventBridge: eventBridge.client });
    const handler = createBackfillHandler(() => ({
      settings: env,
      ports: { ...ports, lister: new S3KeyLister(s3.client) },
    }));
    let calls = 0;
    const hurried: Context = { ...lambdaContext, getRemainingTimeInMillis: () => (++calls > 5 ? 1_000 : 600_000) };
    const result = await handler({ action: 'replay', maxFiles: 1000 }, hurried);
    expect(result).toMatchObject({ action: 'replay', applied: 5, next: expect.stringContaining('AWSLogs/') });
  });

  test('fails on a request outside the log prefix', async () => {
    const env = settings('unused');
    const ports = buildPorts(env, { s3: s3.client, dynamodb: dynamo.client, eventBridge: eventBridge.client });
    const handler = createBackfillHandler(() => ({
      settings: env,
      ports: { ...ports, lister: new S3KeyLister(s3.client) },
    }));
    await expect(handler({ action: 'replay', prefix: 'trailsight/' }, lambdaContext)).rejects.toThrow();
  });
});
