/**
 * The evaluator handler on dynalite + s3rver with EventBridge captured: the state comes from real files of
 * the grycap day ingested through the ingest handler; the oracle is the engine itself, ticked on the same state.
 */
import type { SQSBatchResponse } from 'aws-lambda';
import { DynamoDbStateStore } from '../../lambda/adapters/dynamodb-state-store';
import { resolveDetectConfig } from '../../lambda/core/detect';
import { buildPorts } from '../../lambda/handlers/environment';
import { createEvaluateHandler } from '../../lambda/handlers/evaluate';
import { createIngestHandler } from '../../lambda/handlers/ingest';
import { engineFor } from '../../lambda/pipeline/ingest';
import type { PartitionStore } from '../../lambda/pipeline/ports';
import { type DynamoStandIn, type S3StandIn, startDynamo, startS3 } from '../support/stand-ins';
import {
  ACCOUNT,
  acceptedDetails,
  BUCKET,
  captureEventBridge,
  createStateTable,
  grycapDayFiles,
  lambdaContext,
  objectCreatedRecord,
  settings,
  sqsEvent,
  uploadFile,
} from './helpers';

const EAGER = { learningHours: 0 };
const PARTITION = `${ACCOUNT}|us-east-1`;

describe('evaluator handler', () => {
  let s3: S3StandIn;
  let dynamo: DynamoStandIn;
  let eventBridge: ReturnType<typeof captureEventBridge>;
  let tables = 0;
  const day = grycapDayFiles();

  afterAll(async () => {
    eventBridge.mock.restore();
    await Promise.all([s3.stop(), dynamo.stop()]);
  });

  let dayTable: DynamoDbStateStore;

  /** Ingests the whole grycap day once, through the ingest handler. */
  beforeAll(async () => {
    [s3, dynamo] = await Promise.all([startS3([BUCKET]), startDynamo()]);
    eventBridge = captureEventBridge();
    const tableName = `evaluate-${++tables}`;
    await createStateTable(dynamo.client, tableName);
    const clients = { s3: s3.client, dynamodb: dynamo.client, eventBridge: eventBridge.client };
    const ingest = createIngestHandler(() => buildPorts(settings(tableName, EAGER), clients));
    const uploaded = await Promise.all(day.map((f) => uploadFile(s3.client, f)));
    for (let i = 0; i < uploaded.length; i += 10) {
      const records = uploaded.slice(i, i + 10).map((u) => objectCreatedRecord(u));
      const r = (await ingest(sqsEvent(records), lambdaContext)) as SQSBatchResponse;
      expect(r.batchItemFailures).toEqual([]);
    }
    dayTable = new DynamoDbStateStore(dynamo.client, { tableName });
  });

  /** A fresh table holding a copy of the day's state, and an evaluator on it. */
  async function ingestedDay() {
    const tableName = `evaluate-${++tables}`;
    await createStateTable(dynamo.client, tableName);
    const store = new DynamoDbStateStore(dynamo.client, { tableName });
    for await (const p of dayTable.list()) await store.put(p.key, p.document, 0);
    const clients = { s3: s3.client, dynamodb: dynamo.client, eventBridge: eventBridge.client };
    const ports = buildPorts(settings(tableName, EAGER), clients);
    return { store, ports, evaluate: createEvaluateHandler(() => ports) };
  }

  test('emits, publishes and stores what the engine emits when time passes without files', async () => {
    const { store, evaluate } = await ingestedDay();
    const before = await store.get(PARTITION);
    const now = Date.parse('2017-06-03T12:00:00Z');
    const expected = engineFor(resolveDetectConfig(EAGER), PARTITION, structuredClone(before.document)).tick(now);
    expect(expected.length).toBeGreaterThan(0);

    eventBridge.calls.length = 0;
    const result = await evaluate({ time: '2017-06-03T12:00:00Z' }, lambdaContext);
    expect(result).toMatchObject({ partitions: 1, written: 1, insights: expected.length, failures: [] });
    expect(acceptedDetails(eventBridge.calls)).toEqual(JSON.parse(JSON.stringify(expected)));

    const after = await store.get(PARTITION);
    // Two writes: the state with its outbox, then the outbox cleared once published.
    expect(after.version).toBe(before.version + 2);
    expect(after.document.outbox).toEqual([]);
    expect(after.document.clock).toBe(now);
  });

  test('writes nothing and emits nothing when evaluated again at the same time', async () => {
    const { store, evaluate } = await ingestedDay();
    await evaluate({ time: '2017-06-03T12:00:00Z' }, lambdaContext);
    const before = await store.get(PARTITION);
    eventBridge.calls.length = 0;
    const again = await evaluate({ time: '2017-06-03T12:00:00Z' }, lambdaContext);
    expect(again).toMatchObject({ written: 0, insights: 0 });
    expect(eventBridge.calls).toEqual([]);
    expect((await store.get(PARTITION)).version).toBe(before.version);
  });

  test('delivers an outbox left behind by a failed publish', async () => {
    const { store, evaluate } = await ingestedDay();
    const stored = await store.get(PARTITION);
    // A real insight of this state, as if its publish had failed after the commit.
    const [stranded] = engineFor(resolveDetectConfig(EAGER), PARTITION, structuredClone(stored.document)).tick(
      Date.parse('2017-06-03T12:00:00Z'),
    );
    await store.put(PARTITION, { ...stored.document, outbox: [stranded] }, stored.version);
    eventBridge.calls.length = 0;
    const result = await evaluate({ time: '2017-06-01T23:00:00Z' }, lambdaContext);
    expect(result.redelivered).toBe(1);
    expect(acceptedDetails(eventBridge.calls)[0]).toEqual(JSON.parse(JSON.stringify(stranded)));
    expect((await store.get(PARTITION)).document.outbox).toEqual([]);
  });

  test('evaluates the other partitions when one fails, then fails the run naming it', async () => {
    const { store, ports } = await ingestedDay();
    const other = await store.get(PARTITION);
    await store.put(
      `111111111111|eu-west-1`,
      { ...other.document, partition: { ...other.document.partition!, account: '111111111111', region: 'eu-west-1' } },
      0,
    );
    const failingFor: PartitionStore = {
      get: (k) => store.get(k),
      list: () => store.list(),
      put: (k, d, v) => (k === PARTITION ? Promise.reject(new Error('throttled')) : store.put(k, d, v)),
    };
    const evaluate = createEvaluateHandler(() => ({ ...ports, store: failingFor }));
    await expect(evaluate({ time: '2017-06-03T12:00:00Z' }, lambdaContext)).rejects.toThrow(
      /1 of 2 partitions failed: 974349055189\|us-east-1: throttled/,
    );
    // Written (version 2) and its outbox cleared (version 3); the failing partition did not stop it.
    expect((await store.get('111111111111|eu-west-1')).version).toBe(3);
  });

  test('fails on an event without a scheduled time', async () => {
    const { evaluate } = await ingestedDay();
    await expect(evaluate({ time: 'yesterday' }, lambdaContext)).rejects.toThrow();
    await expect(evaluate({}, lambdaContext)).rejects.toThrow();
  });
});
