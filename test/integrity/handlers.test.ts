/**
 * The deployed verifier's handlers: the archive on s3rver, EventBridge PutEvents mocked (aws-sdk-client-mock), the
 * public keys from a generated key pair.
 */

import { EventBridgeClient, PutEventsCommand, type PutEventsCommandInput } from '@aws-sdk/client-eventbridge';
import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { EventBridgeInsightPublisher } from '../../lambda/adapters/eventbridge-publisher';
import { S3ArchiveReader } from '../../lambda/adapters/s3-archive-reader';
import { PublicKeyRing } from '../../lambda/core/digest';
import { type IntegrityPorts, readIntegrityEnvironment } from '../../lambda/handlers/integrity-environment';
import { createSweepHandler } from '../../lambda/handlers/integrity-sweep';
import { createDigestHandler } from '../../lambda/handlers/verify-digest';
import { INTEGRITY_DETAIL_TYPE, INTEGRITY_ENV, TRAILSIGHT_BUS_NAME } from '../../schema/evidence-contract';
import { DeliveryTree, generateSigningKey, listPublicKeysJson } from '../support/digest-tree';
import { type S3StandIn, startS3 } from '../support/stand-ins';

const BUCKET = 'archive-bucket';
const eventBridge = mockClient(EventBridgeClient);
const context = { functionName: 'test', awsRequestId: 'r' } as unknown as Context;

let s3: S3StandIn;
let tree: DeliveryTree;
let ports: IntegrityPorts;

function acceptEvents() {
  eventBridge.on(PutEventsCommand).callsFake((input: PutEventsCommandInput) => ({
    FailedEntryCount: 0,
    Entries: (input.Entries ?? []).map((_, i) => ({ EventId: `e-${i}` })),
  }));
}

function sentDetails(): Record<string, unknown>[] {
  return eventBridge
    .commandCalls(PutEventsCommand)
    .flatMap((c) => c.args[0].input.Entries ?? [])
    .map((e) => {
      expect(e).toMatchObject({
        EventBusName: TRAILSIGHT_BUS_NAME,
        Source: 'trailsight',
        DetailType: INTEGRITY_DETAIL_TYPE,
      });
      return JSON.parse(e.Detail ?? '{}');
    });
}

function objectCreated(key: string, bucket = BUCKET) {
  return {
    version: '0',
    source: 'aws.s3',
    'detail-type': 'Object Created',
    time: '2024-03-01T03:02:00Z',
    detail: { bucket: { name: bucket }, object: { key, size: 100 } },
  };
}

beforeAll(async () => {
  s3 = await startS3([BUCKET]);
  const key = generateSigningKey();
  tree = new DeliveryTree(key, { bucket: BUCKET, hours: 3 });
  for (const [k, o] of tree.objects) {
    await s3.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: k, Body: o.body, Metadata: o.metadata }));
  }
  const ring = PublicKeyRing.fromJson(listPublicKeysJson(key));
  ports = {
    settings: { archiveBucket: BUCKET, eventBus: TRAILSIGHT_BUS_NAME, lookbackHours: 26, overdueMinutes: 150 },
    reader: new S3ArchiveReader(s3.client, BUCKET),
    keys: { ringFor: async () => ring },
    publisher: new EventBridgeInsightPublisher(new EventBridgeClient({}), {
      eventBusName: TRAILSIGHT_BUS_NAME,
      detailType: INTEGRITY_DETAIL_TYPE,
      maxAttempts: 1,
    }),
  };
});
afterAll(async () => s3.stop());
beforeEach(() => eventBridge.reset());

describe('digest verifier handler', () => {
  test('verifies the delivered digest and publishes a PASS event', async () => {
    acceptEvents();

    const detail = await createDigestHandler(() => ports)(objectCreated(tree.digestKeys[2]), context);

    expect(detail).toMatchObject({
      trigger: 'digest-delivered',
      digest: tree.digestKeys[2],
      status: 'PASS',
      kinds: [],
    });
    expect(sentDetails()).toEqual([JSON.parse(JSON.stringify(detail))]);
  });

  test('publishes a FAIL event naming the deleted log file, and succeeds: the finding is the result', async () => {
    acceptEvents();
    const deleted = tree.logKeysByHour[1][0];
    await s3.client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: deleted }));
    try {
      const detail = await createDigestHandler(() => ports)(objectCreated(tree.digestKeys[1]), context);

      expect(detail.status).toBe('FAIL');
      expect(detail.kinds).toEqual(['log-missing']);
      expect(detail.findings.map((f) => f.file)).toEqual([deleted]);
      expect(sentDetails()[0]).toMatchObject({ status: 'FAIL', kinds: ['log-missing'] });
    } finally {
      await s3.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: deleted, Body: tree.object(deleted).body }));
    }
  });

  test('fails on an event that is not an S3 Object Created event', async () => {
    await expect(createDigestHandler(() => ports)({ source: 'aws.s3', detail: {} }, context)).rejects.toThrow();
    expect(eventBridge.commandCalls(PutEventsCommand)).toHaveLength(0);
  });

  test('fails on an event for another bucket', async () => {
    await expect(
      createDigestHandler(() => ports)(objectCreated(tree.digestKeys[0], 'someone-else'), context),
    ).rejects.toThrow(/event for bucket someone-else/);
  });

  test('fails when the event cannot be published, so the invocation is retried rather than the result lost', async () => {
    eventBridge.on(PutEventsCommand).resolves({
      FailedEntryCount: 1,
      Entries: [{ ErrorCode: 'InternalFailure', ErrorMessage: 'try later' }],
    });
    await expect(createDigestHandler(() => ports)(objectCreated(tree.digestKeys[2]), context)).rejects.toThrow(
      /Trailsight Integrity event was not published: InternalFailure/,
    );
  });
});

describe('sweep handler', () => {
  test('re-checks the lookback window of every chain at the scheduled time', async () => {
    acceptEvents();

    const detail = await createSweepHandler(() => ports)({ time: '2024-03-01T03:30:00Z' }, context);

    expect(detail).toMatchObject({
      trigger: 'sweep',
      window: { from: '2024-02-29T01:30:00Z', to: '2024-03-01T03:30:00Z' },
      status: 'PASS',
    });
    expect(detail.counts).toMatchObject({ digests: 3, digestsVerified: 3, logFilesListed: 6, logFilesNotHashed: 6 });
    expect(sentDetails()).toHaveLength(1);
  });

  test('reports a chain whose digests stopped arriving', async () => {
    acceptEvents();

    const detail = await createSweepHandler(() => ports)({ time: '2024-03-01T09:00:00Z' }, context);

    expect(detail.kinds).toEqual(['digest-overdue']);
    expect(detail.findings[0].file).toBe(tree.digestKeys[2]);
  });

  test('fails on an input without a time', async () => {
    await expect(createSweepHandler(() => ports)({}, context)).rejects.toThrow();
  });
});

describe('readIntegrityEnvironment', () => {
  const env = {
    [INTEGRITY_ENV.archiveBucket]: 'b',
    [INTEGRITY_ENV.eventBus]: 'trailsight',
    [INTEGRITY_ENV.lookbackHours]: '26',
    [INTEGRITY_ENV.overdueMinutes]: '150',
  };

  test('reads the variables the stack sets', () => {
    expect(readIntegrityEnvironment(env)).toEqual({
      archiveBucket: 'b',
      eventBus: 'trailsight',
      lookbackHours: 26,
      overdueMinutes: 150,
    });
  });

  test('fails naming a missing variable', () => {
    expect(() => readIntegrityEnvironment({ ...env, [INTEGRITY_ENV.archiveBucket]: '' })).toThrow(
      /ARCHIVE_BUCKET_NAME is not set/,
    );
  });

  test('fails naming a variable that is not a positive number', () => {
    expect(() => readIntegrityEnvironment({ ...env, [INTEGRITY_ENV.lookbackHours]: 'soon' })).toThrow(
      /LOOKBACK_HOURS = soon: must be a positive number/,
    );
  });
});
