/**
 * The ingest handler end to end on the local stand-ins: real delivery files from ../shared/data (grycap, one
 * real day of account 974349055189) on s3rver, the state tables on dynalite. The ingest records each file's
 * delta once; the evaluator (tested elsewhere) applies them.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
import { ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import type { SQSBatchResponse } from 'aws-lambda';
import { S3ObjectSource } from '../../lambda/adapters/s3-objects';
import { resolveDetectConfig } from '../../lambda/core/detect';
import { classifyKey } from '../../lambda/core/keys';
import { buildPorts, type PipelinePorts } from '../../lambda/handlers/environment';
import { createIngestHandler } from '../../lambda/handlers/ingest';
import { ingestObject, LATE_MARGIN_MS } from '../../lambda/pipeline/ingest';
import { ObjectReadError, type PartitionStore } from '../../lambda/pipeline/ports';
import { createStateTables } from '../support/pipeline-harness';
import { type DynamoStandIn, type S3StandIn, startDynamo, startS3 } from '../support/stand-ins';
import {
  ACCOUNT,
  BUCKET,
  grycapDayFiles,
  lambdaContext,
  logKey,
  objectCreatedRecord,
  sqsEvent,
  sqsRecord,
  type Uploaded,
  upload,
  uploadFile,
} from './helpers';

const PARTITION = ACCOUNT;

/** Records in a delivery file, counted independently of the reader. */
function recordsIn(file: string): number {
  return (JSON.parse(gunzipSync(readFileSync(file)).toString('utf8')) as { Records: unknown[] }).Records.length;
}

const deliveredAt = (file: string) => classifyKey(file).deliveredAt ?? 0;

describe('ingest handler (s3rver + dynalite)', () => {
  let s3: S3StandIn;
  let dynamo: DynamoStandIn;
  const day = grycapDayFiles();
  let tables = 0;

  beforeAll(async () => {
    [s3, dynamo] = await Promise.all([startS3([BUCKET]), startDynamo()]);
  });
  afterAll(async () => Promise.all([s3.stop(), dynamo.stop()]));

  /** Fresh tables and a handler on them; `now` is the ingest's wall clock (on time by default). */
  async function fresh(overrides: Partial<PipelinePorts> = {}) {
    const prefix = `i${++tables}-`;
    await createStateTables(dynamo.client, prefix);
    const clock = { now: 0 };
    const ports: PipelinePorts = {
      ...buildPorts(
        {
          headsTableName: `${prefix}heads`,
          dataTableName: `${prefix}data`,
          eventBusName: 'trailsight',
          publishToDefaultBus: false,
          archiveBucketName: BUCKET,
          insightBucketName: BUCKET,
          insightPrefix: 'trailsight/insights/',
          dedupeRetentionDays: 35,
          detectConfig: resolveDetectConfig({}),
        },
        { s3: s3.client, dynamodb: dynamo.client, eventBridge: undefined as never, sqs: undefined as never },
      ),
      now: () => clock.now,
      ...overrides,
    };
    const handler = createIngestHandler(() => ports);
    const run = (records: ReturnType<typeof objectCreatedRecord>[]) =>
      handler(sqsEvent(records), lambdaContext) as Promise<SQSBatchResponse>;
    const recorded = async () => {
      const deltas = await ports.store.queryDeltas(PARTITION, 0, Number.MAX_SAFE_INTEGER);
      return { files: deltas.length, events: deltas.reduce((n, d) => n + d.events, 0), deltas };
    };
    return { ports, run, recorded, clock };
  }

  /** Uploads files a few at a time (s3rver resets connections under a burst of parallel uploads). */
  async function uploadAll(files: string[]): Promise<Uploaded[]> {
    const out: Uploaded[] = [];
    for (let i = 0; i < files.length; i += 4)
      out.push(...(await Promise.all(files.slice(i, i + 4).map((f) => uploadFile(s3.client, f)))));
    return out;
  }

  test('records every delivered file once, with every event, and makes the partition known to the evaluator', async () => {
    const { ports, run, recorded } = await fresh();
    const files = day.slice(0, 20);
    const uploaded = await uploadAll(files);
    const first = await run(uploaded.slice(0, 10).map((u) => objectCreatedRecord(u)));
    const second = await run(uploaded.slice(10).map((u) => objectCreatedRecord(u)));
    expect([first.batchItemFailures, second.batchItemFailures]).toEqual([[], []]);
    const r = await recorded();
    expect(r.files).toBe(20);
    expect(r.events).toBe(files.reduce((n, f) => n + recordsIn(f), 0));
    expect(r.deltas.map((d) => d.deliveredAt)).toEqual(files.map(deliveredAt));
    const head = await ports.store.getHead(PARTITION);
    expect(head).toMatchObject({ prefix: `AWSLogs/${ACCOUNT}/CloudTrail/`, idle: false, lateHint: false });
    expect(head?.head).toBeUndefined();
  });

  test('records nothing twice when the same files are delivered again, in another batch or twice in one', async () => {
    const { run, recorded } = await fresh();
    const uploaded = await uploadAll(day.slice(20, 26));
    await run(uploaded.map((u) => objectCreatedRecord(u)));
    const before = await recorded();
    const again = await run([...uploaded, uploaded[0]].map((u) => objectCreatedRecord(u)));
    expect(again.batchItemFailures).toEqual([]);
    expect(await recorded()).toEqual(before);
  });

  test('fails only the corrupt files of a batch, recording none of their records', async () => {
    const { run, recorded } = await fresh();
    const good = await uploadAll(day.slice(30, 32));
    const whole = readFileSync(day[32]);
    const truncated = await upload(s3.client, logKey(day[32]), whole.subarray(0, Math.floor(whole.length / 2)));
    const notGzip = await upload(s3.client, logKey(day[33]), Buffer.from('this is not gzip'));
    const notJson = await upload(s3.client, logKey(day[34]), gzipSync('{"Records": [ {"eventVersion": '));
    const records = [good[0], truncated, good[1], notGzip, notJson].map((u) => objectCreatedRecord(u));
    const response = await run(records);
    expect(response.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(
      [records[1].messageId, records[3].messageId, records[4].messageId].sort(),
    );
    const r = await recorded();
    expect(r.events).toBe(recordsIn(day[30]) + recordsIn(day[31]));
    expect(r.deltas.map((d) => d.deliveredAt)).toEqual([deliveredAt(day[30]), deliveredAt(day[31])]);
  });

  test('skips Insights and foreign objects without reading them or writing state', async () => {
    const { ports, run } = await fresh();
    const keys = [
      `AWSLogs/${ACCOUNT}/CloudTrail-Insight/us-east-1/2017/06/01/${ACCOUNT}_CloudTrail-Insight_us-east-1_20170601T0205Z_abc.json.gz`,
      `AWSLogs/${ACCOUNT}/Config/ConfigWritabilityCheckFile.json.gz`,
    ];
    // Not uploaded: a skip must not even read them.
    const response = await run(keys.map((key) => objectCreatedRecord({ key, etag: 'x', size: 1 })));
    expect(response.batchItemFailures).toEqual([]);
    const heads: string[] = [];
    for await (const h of ports.store.scanHeads(0, 1)) heads.push(h.key);
    expect(heads).toEqual([]);
  });

  test('records a digest file by its name alone (never read), once, in its account', async () => {
    const { ports, run, recorded } = await fresh();
    const name = `${ACCOUNT}_CloudTrail-Digest_eu-west-1_trailsight_us-east-1_20170601T020500Z.json.gz`;
    const key = `AWSLogs/o-abcd1234/${ACCOUNT}/CloudTrail-Digest/eu-west-1/2017/06/01/${name}`;
    // Not uploaded: the ingest must not read it.
    const record = objectCreatedRecord({ key, etag: 'x', size: 1 });
    expect((await run([record, record])).batchItemFailures).toEqual([]);
    const r = await recorded();
    expect(r.deltas).toEqual([
      expect.objectContaining({
        digest: true,
        region: 'eu-west-1',
        file: name,
        deliveredAt: Date.UTC(2017, 5, 1, 2, 5, 0),
        events: 0,
      }),
    ]);
    expect(await ports.store.getHead(PARTITION)).toMatchObject({
      prefix: `AWSLogs/o-abcd1234/${ACCOUNT}/CloudTrail/`,
    });
  });

  test('skips an object that no longer exists', async () => {
    const { run, recorded } = await fresh();
    const gone: Uploaded = { key: logKey(day[40]).replace('.json.gz', 'X.json.gz'), etag: 'abc', size: 10 };
    const response = await run([objectCreatedRecord(gone)]);
    expect(response.batchItemFailures).toEqual([]);
    expect((await recorded()).files).toBe(0);
  });

  test('fails a message that is not an S3 Object Created event', async () => {
    const { run } = await fresh();
    const bad = [
      sqsRecord('not json'),
      sqsRecord(JSON.stringify({ source: 'aws.s3', 'detail-type': 'Object Deleted' })),
    ];
    const response = await run(bad);
    expect(response.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(bad.map((r) => r.messageId).sort());
  });

  test('streams a large file (a 100,000-record delivery) into one delta with every event', async () => {
    const { run, recorded } = await fresh();
    const templates = (
      JSON.parse(gunzipSync(readFileSync(day[100])).toString('utf8')) as { Records: Record<string, unknown>[] }
    ).Records;
    const records = Array.from({ length: 100_000 }, (_, i) => ({
      ...templates[i % templates.length],
      eventID: `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`,
    }));
    const body = gzipSync(JSON.stringify({ Records: records }), { level: 1 });
    const key = logKey(`${ACCOUNT}_CloudTrail_us-east-1_20170601T1200Z_LargeFile0000001.json.gz`);
    const response = await run([objectCreatedRecord(await upload(s3.client, key, body))]);
    expect(response.batchItemFailures).toEqual([]);
    expect((await recorded()).events).toBe(100_000);
  });

  describe('files recorded after the evaluator may have passed them', () => {
    test('go into the late index, once, and wake the partition with the late hint', async () => {
      const { ports, run, recorded, clock } = await fresh();
      const [u] = await uploadAll([day[50]]);
      const d = deliveredAt(day[50]);
      clock.now = d + 2 * 60_000 - LATE_MARGIN_MS; // the reorder window is almost over
      await run([objectCreatedRecord(u)]);
      expect(await ports.store.queryLate(PARTITION)).toEqual([
        { deliveredAt: d, file: u.key.split('/').pop(), applied: false },
      ]);
      expect(await ports.store.getHead(PARTITION)).toMatchObject({ lateHint: true });
      // A redelivery changes nothing.
      await run([objectCreatedRecord(u)]);
      expect((await recorded()).files).toBe(1);
      expect(await ports.store.queryLate(PARTITION)).toHaveLength(1);
    });

    test('on time they are not late', async () => {
      const { ports, run, clock } = await fresh();
      const [u] = await uploadAll([day[51]]);
      clock.now = deliveredAt(day[51]) + 40_000;
      await run([objectCreatedRecord(u)]);
      expect(await ports.store.queryLate(PARTITION)).toEqual([]);
      expect(await ports.store.getHead(PARTITION)).toMatchObject({ lateHint: false });
    });

    test('a late delivery of a file already recorded on time is a duplicate, and never enters the late index', async () => {
      const { ports, run, clock } = await fresh();
      const [u] = await uploadAll([day[52]]);
      clock.now = deliveredAt(day[52]) + 40_000;
      await run([objectCreatedRecord(u)]);
      clock.now += 3_600_000;
      await run([objectCreatedRecord(u)]);
      expect(await ports.store.queryLate(PARTITION)).toEqual([]);
    });
  });

  test('wakes an idle partition when a file arrives', async () => {
    const { ports, run } = await fresh();
    const [a, b] = await uploadAll([day[60], day[61]]);
    await run([objectCreatedRecord(a)]);
    const head = await ports.store.getHead(PARTITION);
    // The evaluator marked it idle (what advance does after a quiet half hour).
    const { newHead, settingsOf } = await import('../../lambda/core/detect');
    const engineHead = newHead(settingsOf(resolveDetectConfig({})), ACCOUNT, deliveredAt(day[60]));
    await ports.store.putHead(
      PARTITION,
      {
        head: engineHead,
        outbox: [],
        lateHint: false,
        lateApplied: [],
        prefix: head?.prefix,
        idle: true,
        dueAt: Number.POSITIVE_INFINITY,
      },
      head?.version ?? 0,
    );
    await run([objectCreatedRecord(b)]);
    expect(await ports.store.getHead(PARTITION)).toMatchObject({ idle: false });
  });

  test('keeps a delta for the dedupe retention, and at least until the compaction that folds it', async () => {
    const expiries: number[] = [];
    const base = await fresh();
    const recording: PartitionStore = {
      ...base.ports.store,
      getHead: (k) => base.ports.store.getHead(k),
      createHead: (k, p) => base.ports.store.createHead(k, p),
      wake: (k, l) => base.ports.store.wake(k, l),
      putDelta: async (k, d, expires) => {
        expiries.push(expires);
        return base.ports.store.putDelta(k, d, expires);
      },
    };
    const [u, v] = await uploadAll([day[56], day[57]]);
    const at = deliveredAt(day[56]);
    const object = (x: Uploaded) => ({ bucket: BUCKET, key: x.key, etag: x.etag });
    const retained = await fresh({ store: recording, now: () => at });
    await ingestObject(object(u), retained.ports);
    // A day of retention, compactions up to 10 days apart: the delta lives 2 × 10 days + 1.
    const short = await fresh({
      store: recording,
      now: () => at,
      detectConfig: resolveDetectConfig({ compaction: { maxIntervalHours: 240 } }),
      dedupeRetentionDays: 1,
    });
    await ingestObject(object(v), short.ports);
    expect(expiries).toEqual([Math.floor(at / 1000) + 35 * 86_400, Math.floor(at / 1000) + 21 * 86_400]);
  });

  describe('faults', () => {
    const object = (u: Uploaded) => ({ bucket: BUCKET, key: u.key, etag: u.etag });

    test('fails with access-denied (retry, then the dead-letter queue) when S3 or KMS refuses the read', async () => {
      const denied = {
        open: async (ref: { bucket: string; key: string }) => {
          throw new ObjectReadError('access-denied', ref, 'AccessDenied: check the grant');
        },
      };
      const { ports, run, recorded } = await fresh({ objects: denied });
      const [u] = await uploadAll([day[53]]);
      await expect(ingestObject(object(u), ports)).rejects.toMatchObject({ kind: 'access-denied' });
      const record = objectCreatedRecord(u);
      expect((await run([record])).batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
      expect((await recorded()).files).toBe(0);
    });

    test('fails with too-large, without reading, when the object exceeds the limit', async () => {
      const { ports } = await fresh({ objects: new S3ObjectSource(s3.client, { maxObjectBytes: 100 }) });
      const [u] = await uploadAll([day[54]]);
      await expect(ingestObject(object(u), ports)).rejects.toMatchObject({ kind: 'too-large' });
    });

    test('fails the record, recording nothing, when DynamoDB throttles beyond the SDK retries', async () => {
      const base = await fresh();
      const throttled: PartitionStore = {
        ...base.ports.store,
        getHead: (k) => base.ports.store.getHead(k),
        putDelta: async () => {
          throw new ProvisionedThroughputExceededException({ message: 'Rate exceeded', $metadata: {} });
        },
      };
      const { run } = await fresh({ store: throttled });
      const [u] = await uploadAll([day[55]]);
      const record = objectCreatedRecord(u);
      expect((await run([record])).batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
      expect((await base.recorded()).files).toBe(0);
    });
  });
});
