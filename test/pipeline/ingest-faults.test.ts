/**
 * Faults around one file, at the orchestration level with the real state store on dynalite and real files on
 * s3rver: concurrent writers of one partition, a writer that always loses, S3 access denied, an oversized
 * object, DynamoDB throttling. Each has a defined outcome.
 */
import { ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { DynamoDbStateStore } from '../../lambda/adapters/dynamodb-state-store';
import { ObjectReadError, S3ObjectSource } from '../../lambda/adapters/s3-objects';
import { resolveDetectConfig } from '../../lambda/core/detect';
import { createIngestHandler } from '../../lambda/handlers/ingest';
import { PipelineError } from '../../lambda/pipeline/errors';
import { type IngestPorts, ingestObject } from '../../lambda/pipeline/ingest';
import type { PartitionStore } from '../../lambda/pipeline/ports';
import { type DynamoStandIn, type S3StandIn, startDynamo, startS3 } from '../support/stand-ins';
import {
  ACCOUNT,
  BUCKET,
  createStateTable,
  grycapDayFiles,
  lambdaContext,
  objectCreatedRecord,
  sqsEvent,
  uploadFile,
} from './helpers';

const PARTITION = `${ACCOUNT}|us-east-1`;
const noSink = { publish: async () => ({ published: 0, failed: [], requests: 0 }) };

describe('ingest faults', () => {
  let s3: S3StandIn;
  let dynamo: DynamoStandIn;
  let tables = 0;
  const day = grycapDayFiles();

  beforeAll(async () => {
    [s3, dynamo] = await Promise.all([startS3([BUCKET]), startDynamo()]);
  });
  afterAll(async () => Promise.all([s3.stop(), dynamo.stop()]));

  async function ports(overrides: Partial<IngestPorts> = {}): Promise<IngestPorts & { store: PartitionStore }> {
    const tableName = `faults-${++tables}`;
    await createStateTable(dynamo.client, tableName);
    return {
      store: new DynamoDbStateStore(dynamo.client, { tableName }),
      sinks: [noSink],
      objects: new S3ObjectSource(s3.client),
      detectConfig: resolveDetectConfig({}),
      dedupeWindowMs: 72 * 3_600_000,
      ...overrides,
    } as IngestPorts & { store: PartitionStore };
  }

  const object = (u: { key: string; etag: string }) => ({ bucket: BUCKET, key: u.key, etag: u.etag });

  test('two files of one partition applied at once: one write loses, re-reads, re-applies; both count', async () => {
    const p = await ports();
    const [a, b] = await Promise.all([uploadFile(s3.client, day[50]), uploadFile(s3.client, day[51])]);
    const outcomes = await Promise.all([ingestObject(object(a), p), ingestObject(object(b), p)]);
    const attempts = outcomes.map((o) => (o.status === 'processed' ? o.attempts : 0)).sort();
    expect(attempts).toEqual([1, 2]);
    const stored = await p.store.get(PARTITION);
    expect(stored.version).toBe(2);
    expect(Object.keys(stored.document.processed)).toHaveLength(2);
  });

  test('fails with state-conflict, applying nothing, when every conditional write loses', async () => {
    const base = await ports();
    const losing: PartitionStore = {
      get: (k) => base.store.get(k),
      put: async () => ({ ok: false }),
      list: () => base.store.list(),
    };
    const u = await uploadFile(s3.client, day[52]);
    const error = await ingestObject(object(u), { ...base, store: losing, maxAttempts: 3 }).catch((e) => e);
    expect(error).toBeInstanceOf(PipelineError);
    expect(error.kind).toBe('state-conflict');
    expect((await base.store.get(PARTITION)).version).toBe(0);
  });

  test('fails with access-denied (retry, then DLQ) when S3 or KMS refuses the read', async () => {
    const denied = {
      open: async (ref: { bucket: string; key: string }) => {
        throw new ObjectReadError('access-denied', ref, 'AccessDenied: check the grant');
      },
    };
    const p = await ports({ objects: denied });
    const u = await uploadFile(s3.client, day[53]);
    const error = await ingestObject(object(u), p).catch((e) => e);
    expect(error).toMatchObject({ kind: 'access-denied' });
    expect((await p.store.get(PARTITION)).version).toBe(0);

    const handler = createIngestHandler(() => p);
    const record = objectCreatedRecord(u);
    const response = await handler(sqsEvent([record]), lambdaContext);
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
  });

  test('fails with too-large, without reading, when the object exceeds the limit', async () => {
    const p = await ports({ objects: new S3ObjectSource(s3.client, { maxObjectBytes: 100 }) });
    const u = await uploadFile(s3.client, day[54]);
    await expect(ingestObject(object(u), p)).rejects.toMatchObject({ kind: 'too-large' });
  });

  test('fails the record, leaving the state as it was, when DynamoDB throttles beyond the SDK retries', async () => {
    const base = await ports();
    const throttled: PartitionStore = {
      get: (k) => base.store.get(k),
      put: async () => {
        throw new ProvisionedThroughputExceededException({ message: 'Rate exceeded', $metadata: {} });
      },
      list: () => base.store.list(),
    };
    const u = await uploadFile(s3.client, day[55]);
    const handler = createIngestHandler(() => ({ ...base, store: throttled }));
    const record = objectCreatedRecord(u);
    const response = await handler(sqsEvent([record]), lambdaContext);
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
    expect((await base.store.get(PARTITION)).version).toBe(0);
  });

  test('skips a file older than the dedupe window behind the partition, and counts it', async () => {
    const p = await ports({ dedupeWindowMs: 60 * 60_000 });
    const late = await uploadFile(s3.client, day[0]);
    const recent = await uploadFile(s3.client, day[200]);
    await ingestObject(object(recent), p);
    const outcome = await ingestObject(object(late), p);
    expect(outcome).toMatchObject({ status: 'skipped', reason: 'beyond-dedupe-window' });
  });
});
