/**
 * The ingest handler end to end on the local stand-ins: real delivery files from ../shared/data (grycap, one
 * real day of account 974349055189) on s3rver, the state on dynalite, PutEvents captured by
 * aws-sdk-client-mock.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { SQSBatchResponse } from 'aws-lambda';
import { DynamoDbStateStore } from '../../lambda/adapters/dynamodb-state-store';
import { classifyKey } from '../../lambda/core/keys';
import { buildPorts } from '../../lambda/handlers/environment';
import { createIngestHandler } from '../../lambda/handlers/ingest';
import { objectId } from '../../lambda/pipeline/ingest';
import { type DynamoStandIn, type S3StandIn, startDynamo, startS3 } from '../support/stand-ins';
import {
  ACCOUNT,
  acceptedDetails,
  BUCKET,
  captureEventBridge,
  createStateTable,
  grycapDayFiles,
  lambdaContext,
  logKey,
  objectCreatedRecord,
  settings,
  sqsEvent,
  sqsRecord,
  type Uploaded,
  upload,
  uploadFile,
} from './helpers';

const PARTITION = `${ACCOUNT}|us-east-1`;

/** Records in a delivery file, counted independently of the reader. */
function recordsIn(file: string): number {
  return (JSON.parse(gunzipSync(readFileSync(file)).toString('utf8')) as { Records: unknown[] }).Records.length;
}

/** Events the engine has counted in a partition: the delivery-lag histogram gets one per event. */
function countedEvents(partition: { lag: number[] } | undefined): number {
  return (partition?.lag ?? []).reduce((a, b) => a + b, 0);
}

describe('ingest handler (s3rver + dynalite + captured EventBridge)', () => {
  let s3: S3StandIn;
  let dynamo: DynamoStandIn;
  let eventBridge: ReturnType<typeof captureEventBridge>;
  const day = grycapDayFiles();
  let tableCount = 0;

  beforeAll(async () => {
    [s3, dynamo] = await Promise.all([startS3([BUCKET]), startDynamo()]);
    eventBridge = captureEventBridge();
  });
  afterAll(async () => {
    eventBridge.mock.restore();
    await Promise.all([s3.stop(), dynamo.stop()]);
  });

  /** A fresh table and a handler on it. */
  async function fresh(detector: unknown = {}) {
    const table = `state-${++tableCount}`;
    await createStateTable(dynamo.client, table);
    const ports = buildPorts(settings(table, detector), {
      s3: s3.client,
      dynamodb: dynamo.client,
      eventBridge: eventBridge.client,
    });
    const handler = createIngestHandler(() => ports);
    const store = new DynamoDbStateStore(dynamo.client, { tableName: table });
    const run = (records: ReturnType<typeof objectCreatedRecord>[]) =>
      handler(sqsEvent(records), lambdaContext) as Promise<SQSBatchResponse>;
    return { table, store, run, ports };
  }

  test('applies delivered files and stores the partition state with every event counted', async () => {
    const { store, run } = await fresh();
    const files = day.slice(0, 20);
    const uploaded = await Promise.all(files.map((f) => uploadFile(s3.client, f)));
    const first = await run(uploaded.slice(0, 10).map((u) => objectCreatedRecord(u)));
    const second = await run(uploaded.slice(10).map((u) => objectCreatedRecord(u)));
    expect([first.batchItemFailures, second.batchItemFailures]).toEqual([[], []]);

    const stored = await store.get(PARTITION);
    const expected = files.reduce((n, f) => n + recordsIn(f), 0);
    expect(countedEvents(stored.document.partition)).toBe(expected);
    expect(Object.keys(stored.document.processed)).toHaveLength(20);
    expect(stored.document.partition?.lastDelivery).toBe(classifyKey(files[19]).deliveredAt);
    expect(stored.version).toBe(20);
  });

  test('changes no count when the same files are delivered again, in another batch or twice in one', async () => {
    const { store, run } = await fresh();
    const uploaded = await Promise.all(day.slice(20, 26).map((f) => uploadFile(s3.client, f)));
    await run(uploaded.map((u) => objectCreatedRecord(u)));
    const before = await store.get(PARTITION);

    const again = await run([...uploaded, uploaded[0]].map((u) => objectCreatedRecord(u)));
    expect(again.batchItemFailures).toEqual([]);
    const after = await store.get(PARTITION);
    expect(after.version).toBe(before.version);
    expect(after.document).toEqual(before.document);

    // A new file with a duplicate of an earlier file in the same batch: the duplicate is applied once.
    const next = await uploadFile(s3.client, day[26]);
    await run([objectCreatedRecord(next), objectCreatedRecord(next)]);
    const last = await store.get(PARTITION);
    expect(last.version).toBe(before.version + 1);
    expect(countedEvents(last.document.partition)).toBe(countedEvents(before.document.partition) + recordsIn(day[26]));
  });

  test('fails only the corrupt files of a batch, applying none of their records', async () => {
    const { store, run } = await fresh();
    const good = await Promise.all(day.slice(30, 32).map((f) => uploadFile(s3.client, f)));
    const whole = readFileSync(day[32]);
    const truncated = await upload(s3.client, logKey(day[32]), whole.subarray(0, Math.floor(whole.length / 2)));
    const notGzip = await upload(s3.client, logKey(day[33]), Buffer.from('this is not gzip'));
    const notJson = await upload(s3.client, logKey(day[34]), gzipSync('{"Records": [ {"eventVersion": '));
    const records = [good[0], truncated, good[1], notGzip, notJson].map((u) => objectCreatedRecord(u));

    const response = await run(records);
    expect(response.batchItemFailures.map((f) => f.itemIdentifier)).toEqual([
      records[1].messageId,
      records[3].messageId,
      records[4].messageId,
    ]);
    const stored = await store.get(PARTITION);
    expect(countedEvents(stored.document.partition)).toBe(recordsIn(day[30]) + recordsIn(day[31]));
    expect(Object.keys(stored.document.processed).sort()).toEqual(
      good.map((u) => objectId({ bucket: BUCKET, key: u.key, etag: u.etag })).sort(),
    );
  });

  test('skips digest, Insights and foreign objects without reading them or writing state', async () => {
    const { store, run } = await fresh();
    const keys = [
      `AWSLogs/${ACCOUNT}/CloudTrail-Digest/us-east-1/2017/06/01/${ACCOUNT}_CloudTrail-Digest_us-east-1_trailsight_us-east-1_20170601T020500Z.json.gz`,
      `AWSLogs/${ACCOUNT}/CloudTrail-Insight/us-east-1/2017/06/01/${ACCOUNT}_CloudTrail-Insight_us-east-1_20170601T0205Z_abc.json.gz`,
      `AWSLogs/${ACCOUNT}/Config/ConfigWritabilityCheckFile.json.gz`,
    ];
    // Not uploaded: a skip must not even read them.
    const records = keys.map((key) => objectCreatedRecord({ key, etag: 'x', size: 1 }));
    const response = await run(records);
    expect(response.batchItemFailures).toEqual([]);
    const partitions: string[] = [];
    for await (const p of store.list()) partitions.push(p.key);
    expect(partitions).toEqual([]);
  });

  test('skips, and counts, an object that no longer exists', async () => {
    const { store, run } = await fresh();
    const gone: Uploaded = { key: logKey(day[40]).replace('.json.gz', 'X.json.gz'), etag: 'abc', size: 10 };
    const response = await run([objectCreatedRecord(gone)]);
    expect(response.batchItemFailures).toEqual([]);
    expect((await store.get(PARTITION)).version).toBe(0);
  });

  test('fails a message that is not an S3 Object Created event', async () => {
    const { run } = await fresh();
    const bad = [
      sqsRecord('not json'),
      sqsRecord(JSON.stringify({ source: 'aws.s3', 'detail-type': 'Object Deleted' })),
    ];
    const response = await run(bad);
    expect(response.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(bad.map((r) => r.messageId));
  });

  test('streams a large file (a 100,000-record delivery) and counts every event', async () => {
    const { store, run } = await fresh();
    const templates = (
      JSON.parse(gunzipSync(readFileSync(day[100])).toString('utf8')) as { Records: Record<string, unknown>[] }
    ).Records;
    const records = Array.from({ length: 100_000 }, (_, i) => ({
      ...templates[i % templates.length],
      eventID: `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`,
    }));
    const body = gzipSync(JSON.stringify({ Records: records }), { level: 1 });
    const key = logKey(`${ACCOUNT}_CloudTrail_us-east-1_20170601T1200Z_LargeFile0000001.json.gz`);
    const uploaded = await upload(s3.client, key, body);
    const response = await run([objectCreatedRecord(uploaded)]);
    expect(response.batchItemFailures).toEqual([]);
    expect(countedEvents((await store.get(PARTITION)).document.partition)).toBe(100_000);
  });

  describe('insights', () => {
    // No learning period and a low floor: the real day's bursts (a class session) produce insights.
    const eager = { learningHours: 0 };

    test('publishes every insight in PutEvents calls of at most 10 entries, and archives each one', async () => {
      const { store, run } = await fresh(eager);
      eventBridge.calls.length = 0;
      const uploaded = await Promise.all(day.slice(0, 120).map((f) => uploadFile(s3.client, f, 'eager1/')));
      for (let i = 0; i < uploaded.length; i += 10) {
        const r = await run(uploaded.slice(i, i + 10).map((u) => objectCreatedRecord(u)));
        expect(r.batchItemFailures).toEqual([]);
      }
      const published = acceptedDetails(eventBridge.calls) as { eventID: string; recipientAccountId: string }[];
      expect(published.length).toBeGreaterThan(0);
      for (const call of eventBridge.calls) {
        expect(call.Entries?.length).toBeLessThanOrEqual(10);
        for (const entry of call.Entries ?? []) {
          expect(entry).toMatchObject({
            EventBusName: 'trailsight',
            Source: 'trailsight',
            DetailType: 'Trailsight Insight',
          });
        }
      }
      expect(new Set(published.map((p) => p.eventID)).size).toBe(published.length);
      expect((await store.get(PARTITION)).document.outbox).toEqual([]);

      const listed = await s3.client.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'trailsight/insights/' }));
      const keys = (listed.Contents ?? []).map((o) => o.Key);
      for (const p of published) {
        expect(keys).toContainEqual(
          expect.stringMatching(
            new RegExp(`^trailsight/insights/${ACCOUNT}/us-east-1/2017/06/01/${p.eventID}\\.json$`),
          ),
        );
      }
    });

    test('retries the entries EventBridge did not accept, and loses none', async () => {
      const failing = captureEventBridge({ failFirst: 3 });
      try {
        const { store, run } = await fresh(eager);
        const uploaded = await Promise.all(day.slice(0, 120).map((f) => uploadFile(s3.client, f, 'eager2/')));
        for (let i = 0; i < uploaded.length; i += 10) {
          const r = await run(uploaded.slice(i, i + 10).map((u) => objectCreatedRecord(u)));
          expect(r.batchItemFailures).toEqual([]);
        }
        const first = failing.calls[0].Entries ?? [];
        const retried = failing.calls[1].Entries ?? [];
        expect(retried.slice(0, 3).map((e) => e.Detail)).toEqual(first.slice(0, 3).map((e) => e.Detail));
        expect((await store.get(PARTITION)).document.outbox).toEqual([]);
      } finally {
        failing.mock.restore();
        eventBridge = captureEventBridge();
      }
    });

    test('fails the file when EventBridge keeps refusing, keeps its insights in the outbox, and delivers them on redelivery', async () => {
      const refusing = captureEventBridge({ failAlways: true });
      let setup: Awaited<ReturnType<typeof fresh>>;
      let uploaded: Uploaded[];
      let failedAt = -1;
      try {
        setup = await fresh(eager);
        uploaded = await Promise.all(day.slice(0, 120).map((f) => uploadFile(s3.client, f, 'eager3/')));
        for (let i = 0; i < uploaded.length && failedAt < 0; i++) {
          const r = await setup.run([objectCreatedRecord(uploaded[i])]);
          if (r.batchItemFailures.length > 0) failedAt = i;
        }
      } finally {
        refusing.mock.restore();
      }
      expect(failedAt).toBeGreaterThanOrEqual(0);
      const pending = (await setup.store.get(PARTITION)).document.outbox;
      expect(pending.length).toBeGreaterThan(0);

      eventBridge = captureEventBridge();
      const retried = await setup.run([objectCreatedRecord(uploaded[failedAt])]);
      expect(retried.batchItemFailures).toEqual([]);
      const after = await setup.store.get(PARTITION);
      expect(after.document.outbox).toEqual([]);
      expect(acceptedDetails(eventBridge.calls)).toEqual(pending);
    });
  });
});
