/**
 * The functions over an existing archive, on the stand-ins (s3rver, dynalite, the Glue stand-in), with real keys
 * moved into the Control Tower layout next to objects of other trails and of AWS Config in the same bucket:
 * - the account sync lists the layout's account folders and brings the tables' `projection.account.values` up to
 *   them (core, S3 adapter, Glue adapter and handler), and only them;
 * - the backfill replays the layout by default and refuses a prefix outside it;
 * - the ingest records the layout's log files and, by name, its digest files, and the delivery check finds the digests
 *   it has not recorded under the layout's prefix;
 * - the integrity sweep verifies the chains under the layout's prefix.
 */
import { readFileSync } from 'node:fs';
import { EventBridgeClient, PutEventsCommand, type PutEventsCommandInput } from '@aws-sdk/client-eventbridge';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { EventBridgeInsightPublisher } from '../../lambda/adapters/eventbridge-publisher';
import { GlueAccountProjection } from '../../lambda/adapters/glue-account-projection';
import { S3ArchiveReader } from '../../lambda/adapters/s3-archive-reader';
import { S3KeyLister } from '../../lambda/adapters/s3-key-lister';
import { accountsUnder, MAX_PARAMETER_BYTES, withAccounts } from '../../lambda/core/account-projection';
import { resolveDetectConfig } from '../../lambda/core/detect';
import { PublicKeyRing } from '../../lambda/core/digest';
import {
  type AccountSyncPorts,
  createAccountSyncHandler,
  readAccountSyncSettings,
} from '../../lambda/handlers/account-sync';
import { createBackfillHandler } from '../../lambda/handlers/backfill';
import { buildPorts, type PipelineEnvironment } from '../../lambda/handlers/environment';
import { createIngestHandler } from '../../lambda/handlers/ingest';
import { createSweepHandler } from '../../lambda/handlers/integrity-sweep';
import { unrecordedFiles } from '../../lambda/pipeline/archive-check';
import { ACCOUNT_SYNC_ENV } from '../../schema/analytics-contract';
import { INTEGRITY_DETAIL_TYPE, TRAILSIGHT_BUS_NAME } from '../../schema/evidence-contract';
import { lambdaContext, objectCreatedRecord, sqsEvent } from '../pipeline/helpers';
import { LAYOUTS, realKeys } from '../support/archive-layouts';
import { DeliveryTree, generateSigningKey, listPublicKeysJson } from '../support/digest-tree';
import { type GlueStandIn, startGlue } from '../support/glue-stand-in';
import { createStateTables } from '../support/pipeline-harness';
import { type DynamoStandIn, type S3StandIn, startDynamo, startS3 } from '../support/stand-ins';

const CONTROL_TOWER = LAYOUTS[0];
const BUCKET = CONTROL_TOWER.bucketName;
const ROOT = CONTROL_TOWER.accountsRoot;
const DATABASE = 'trailsight';
const context = {
  functionName: 'test',
  awsRequestId: 'r',
  getRemainingTimeInMillis: () => 900_000,
} as never as Context;

/** Real keys moved into the Control Tower layout: flaws2's account 653711331788 and grycap's 974349055189. */
const keys = realKeys();
const flaws2 = keys.logs.filter((k) => k.includes('/653711331788/'));
const grycap = keys.logs.filter((k) => k.includes('/974349055189/')).slice(0, 6);
const moved = (key: string) => `${ROOT}${key.slice('AWSLogs/'.length)}`;
/** What else a landing zone's log bucket holds: AWS Config, an account trail of another prefix, the old layout. */
const neighbours = [
  `${CONTROL_TOWER.keyPrefix}/AWSLogs/333333333333/Config/ConfigWritabilityCheckFile`,
  `cloudtrail-workloads/${flaws2[0]}`,
  grycap[0],
];

let s3: S3StandIn;
let dynamo: DynamoStandIn;
let glue: GlueStandIn;

beforeAll(async () => {
  [s3, dynamo, glue] = await Promise.all([startS3([BUCKET]), startDynamo(), startGlue()]);
  // The real file of a key (wherever a neighbour puts it), or an empty probe object.
  const bodyOf = (key: string) => {
    const real = keys.files.get(key.slice(key.indexOf('AWSLogs/')));
    return real ? readFileSync(real) : Buffer.from('');
  };
  for (const key of [...flaws2, ...grycap]) {
    await s3.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: moved(key), Body: bodyOf(key) }));
  }
  for (const key of neighbours) {
    await s3.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: bodyOf(key) }));
  }
}, 60_000);
afterAll(async () => Promise.all([s3.stop(), dynamo.stop(), glue.stop()]));

describe('account projection (core)', () => {
  test("takes the 12-digit folders right under the root, and nothing else of the bucket's", () => {
    expect(
      accountsUnder(
        [
          `${ROOT}974349055189/`,
          `${ROOT}653711331788/`,
          `${ROOT}653711331788/`,
          `${ROOT}o-a1b2c3d4e5/`,
          `${ROOT}12345/`,
          `${CONTROL_TOWER.keyPrefix}/AWSLogs/333333333333/`,
          `${ROOT}111122223333`,
        ],
        ROOT,
      ),
    ).toEqual(['653711331788', '974349055189']);
  });

  test('appends the accounts the list lacks, in order, and never drops one', () => {
    expect(withAccounts('222222222222', ['974349055189', '222222222222', '653711331788'])).toEqual({
      values: '222222222222,653711331788,974349055189',
      added: ['653711331788', '974349055189'],
    });
    // An account whose files expired keeps its value: it has nothing to read, and costs nothing.
    expect(withAccounts('222222222222,653711331788', ['653711331788'])).toBeUndefined();
    expect(withAccounts(undefined, ['653711331788'])).toEqual({ values: '653711331788', added: ['653711331788'] });
    expect(withAccounts(' 222222222222 ,', [])).toBeUndefined();
  });

  test('fails, naming the way out, past the Glue limit of a parameter value (about 39,000 accounts)', () => {
    const many = Array.from({ length: Math.ceil(MAX_PARAMETER_BYTES / 13) + 1 }, (_, i) => String(1e11 + i));
    expect(() => withAccounts('', many)).toThrow(/over the Glue limit of 512000; list the accounts to query/);
    expect(withAccounts('', many.slice(0, 39_000))?.added).toHaveLength(39_000);
  });
});

describe('account sync (handler, S3 adapter and Glue adapter on the stand-ins)', () => {
  const TABLES = ['cloudtrail_logs', 'trailsight_insights', 'cloudtrail_parquet'];
  const table = (name: string, type: string, values?: string) => ({
    definition: {
      Name: name,
      Description: `the ${name} table`,
      TableType: 'EXTERNAL_TABLE',
      Owner: 'hadoop',
      Retention: 0,
      CreateTime: 1_700_000_000,
      CreatedBy: 'arn:aws:sts::222222222222:assumed-role/cdk-cfn-exec/AWSCloudFormation',
      IsRegisteredWithLakeFormation: false,
      CatalogId: '222222222222',
      PartitionKeys: [{ Name: 'account', Type: 'string' }],
      StorageDescriptor: { Location: `s3://${BUCKET}/${ROOT}`, Columns: [{ Name: 'eventtime', Type: 'string' }] },
      Parameters: {
        EXTERNAL: 'TRUE',
        'projection.enabled': 'true',
        'projection.account.type': type,
        ...(values ? { 'projection.account.values': values } : {}),
      },
    },
    version: 1,
  });
  const ports = (): AccountSyncPorts => ({
    settings: { archiveBucket: BUCKET, accountsRoot: ROOT, database: DATABASE, tables: TABLES },
    archive: new S3ArchiveReader(s3.client, BUCKET),
    tables: new GlueAccountProjection(glue.client, DATABASE),
  });
  const values = (name: string) => {
    const parameters = glue.tables.get(`${DATABASE}.${name}`)?.definition.Parameters as Record<string, string>;
    return parameters['projection.account.values'];
  };

  beforeEach(() => {
    glue.tables.clear();
    glue.requests.length = 0;
    glue.beforeRequest = undefined;
    // As the deployment leaves them: the account known to deliver (the log archive's) until the first sync.
    for (const name of TABLES) glue.tables.set(`${DATABASE}.${name}`, table(name, 'enum', '222222222222'));
  });

  test("adds the layout's accounts to every table, writing back the definition read and nothing read-only", async () => {
    const result = await createAccountSyncHandler(ports)({}, context);

    expect(result).toEqual({
      accounts: 2,
      added: Object.fromEntries(TABLES.map((t) => [t, ['653711331788', '974349055189']])),
      skipped: [],
    });
    for (const name of TABLES) expect(values(name)).toBe('222222222222,653711331788,974349055189');
    const update = glue.requests.find((r) => r.operation === 'UpdateTable')?.body as {
      TableInput: Record<string, unknown>;
      VersionId: string;
    };
    expect(update.VersionId).toBe('1');
    expect(Object.keys(update.TableInput).sort()).toEqual(
      [
        'Description',
        'Name',
        'Owner',
        'Parameters',
        'PartitionKeys',
        'Retention',
        'StorageDescriptor',
        'TableType',
      ].sort(),
    );
    // Every other parameter stays as it was.
    expect(update.TableInput.Parameters).toMatchObject({ EXTERNAL: 'TRUE', 'projection.enabled': 'true' });
  });

  test('changes nothing on the next run (idempotent), and never counts the neighbours as accounts', async () => {
    const handler = createAccountSyncHandler(ports);
    await handler({}, context);
    glue.requests.length = 0;
    expect(await handler({}, context)).toEqual({ accounts: 2, added: {}, skipped: [] });
    expect(glue.requests.map((r) => r.operation)).toEqual(['GetTable', 'GetTable', 'GetTable']);
    expect(values('cloudtrail_logs')).not.toContain('333333333333');
  });

  test('reads again and retries when a deployment changed the table in between', async () => {
    let changed = false;
    glue.beforeRequest = (operation) => {
      if (operation === 'UpdateTable' && !changed) {
        changed = true;
        const stored = glue.tables.get(`${DATABASE}.cloudtrail_logs`);
        if (stored) stored.version += 1; // CloudFormation updated the table after the sync read it.
      }
    };
    const result = await createAccountSyncHandler(ports)({}, context);
    expect(result.added.cloudtrail_logs).toEqual(['653711331788', '974349055189']);
    expect(glue.requests.filter((r) => r.operation === 'UpdateTable')).toHaveLength(4);
  });

  test('leaves a table alone whose account partition is not an enum (set by hand), and says so', async () => {
    glue.tables.set(`${DATABASE}.trailsight_insights`, table('trailsight_insights', 'injected'));
    const result = await createAccountSyncHandler(ports)({}, context);
    expect(result.skipped).toEqual(['trailsight_insights']);
    expect(values('trailsight_insights')).toBeUndefined();
    expect(values('cloudtrail_logs')).toBe('222222222222,653711331788,974349055189');
  });

  test('fails (so the invocation is retried) when a table is missing or the archive cannot be listed', async () => {
    glue.tables.delete(`${DATABASE}.cloudtrail_parquet`);
    await expect(createAccountSyncHandler(ports)({}, context)).rejects.toThrow(/Table cloudtrail_parquet not found/);
    const elsewhere = (): AccountSyncPorts => ({
      ...ports(),
      archive: new S3ArchiveReader(s3.client, 'no-such-bucket'),
    });
    await expect(createAccountSyncHandler(elsewhere)({}, context)).rejects.toThrow();
  });

  test('reads its settings from the environment the stack sets, and fails the cold start on a bad one', () => {
    const env = {
      [ACCOUNT_SYNC_ENV.archiveBucket]: BUCKET,
      [ACCOUNT_SYNC_ENV.accountsRoot]: ROOT,
      [ACCOUNT_SYNC_ENV.database]: DATABASE,
      [ACCOUNT_SYNC_ENV.tables]: 'cloudtrail_logs, trailsight_insights',
    };
    expect(readAccountSyncSettings(env)).toEqual({
      archiveBucket: BUCKET,
      accountsRoot: ROOT,
      database: DATABASE,
      tables: ['cloudtrail_logs', 'trailsight_insights'],
    });
    expect(() => readAccountSyncSettings({ ...env, [ACCOUNT_SYNC_ENV.tables]: '' })).toThrow(
      /GLUE_TABLE_NAMES is not set/,
    );
    expect(() => readAccountSyncSettings({ ...env, [ACCOUNT_SYNC_ENV.accountsRoot]: `${ROOT}111122223333/` })).toThrow(
      /ACCOUNTS_ROOT = .*must end in AWSLogs\/ or AWSLogs\/<o-id>\//,
    );
  });
});

describe('backfill over an existing archive', () => {
  let handler: ReturnType<typeof createBackfillHandler>;

  beforeAll(async () => {
    await createStateTables(dynamo.client, 'byo-');
    const settings: PipelineEnvironment = {
      headsTableName: 'byo-heads',
      dataTableName: 'byo-data',
      eventBusName: 'trailsight',
      publishToDefaultBus: false,
      archiveBucketName: BUCKET,
      archivePrefix: ROOT,
      insightBucketName: BUCKET,
      insightPrefix: 'trailsight/insights/',
      dedupeRetentionDays: 35,
      detectConfig: resolveDetectConfig({ learningHours: 0 }),
    };
    const built = buildPorts(settings, {
      s3: s3.client,
      dynamodb: dynamo.client,
      eventBridge: undefined as never,
      sqs: undefined as never,
    });
    handler = createBackfillHandler(() => ({
      settings,
      ports: { ...built, sinks: [], archive: undefined, now: () => 0, lister: new S3KeyLister(s3.client) },
    }));
  });

  test("replays the layout's files by default, and none of the bucket's other objects", async () => {
    const result = await handler({ action: 'replay' }, context);
    if (result.action !== 'replay') throw new Error('expected a replay');
    expect(result.failed).toEqual([]);
    expect(result.listed).toBe(flaws2.length + grycap.length);
    expect(result.applied).toBe(flaws2.length + grycap.length);
  });

  test('refuses a prefix outside the layout, and accepts one inside it', async () => {
    await expect(handler({ action: 'replay', prefix: 'AWSLogs/' }, context)).rejects.toThrow(
      `prefix "AWSLogs/" is outside the archive's prefix "${ROOT}"`,
    );
    await expect(handler({ action: 'replay', prefix: 'cloudtrail-workloads/AWSLogs/' }, context)).rejects.toThrow(
      /outside the archive's prefix/,
    );
    const result = await handler({ action: 'replay', prefix: `${ROOT}974349055189/` }, context);
    expect(result).toMatchObject({ action: 'replay', listed: grycap.length });
  });
});

describe('ingest over an existing archive', () => {
  test("records the layout's log files, and its digest files by name, in their accounts under the layout's prefix", async () => {
    await createStateTables(dynamo.client, 'byo-ingest-');
    const ports = {
      ...buildPorts(
        {
          headsTableName: 'byo-ingest-heads',
          dataTableName: 'byo-ingest-data',
          eventBusName: 'trailsight',
          publishToDefaultBus: false,
          archiveBucketName: BUCKET,
          archivePrefix: ROOT,
          insightBucketName: BUCKET,
          insightPrefix: 'trailsight/insights/',
          dedupeRetentionDays: 35,
          detectConfig: resolveDetectConfig({}),
        },
        { s3: s3.client, dynamodb: dynamo.client, eventBridge: undefined as never, sqs: undefined as never },
      ),
      now: () => 0,
    };
    // Both real digest keys of the AWS sample are delivered to the bucket; only the newer is notified: the other is
    // what the delivery check must find.
    const [digest, previousDigest] = keys.digests.map(moved);
    for (const key of [digest, previousDigest])
      await s3.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: Buffer.from('{}') }));
    const notified = [moved(flaws2[0]), digest].map((key) => objectCreatedRecord({ key, etag: 'x', size: 1 }, BUCKET));
    const response = await createIngestHandler(() => ports)(sqsEvent(notified), lambdaContext);
    expect(response).toEqual({ batchItemFailures: [] });

    const digestAccount = '111122223333';
    const deltas = await ports.store.queryDeltas(digestAccount, 0, Number.MAX_SAFE_INTEGER);
    expect(deltas).toEqual([
      expect.objectContaining({ digest: true, region: 'us-east-2', file: digest.slice(digest.lastIndexOf('/') + 1) }),
    ]);
    expect(await ports.store.queryDeltas('653711331788', 0, Number.MAX_SAFE_INTEGER)).toEqual([
      expect.objectContaining({ file: flaws2[0].slice(flaws2[0].lastIndexOf('/') + 1) }),
    ]);
    const head = await ports.store.getHead(digestAccount);
    expect(head?.prefix).toBe(`${ROOT}${digestAccount}/CloudTrail/`);
    expect((await ports.store.getHead('653711331788'))?.prefix).toBe(`${ROOT}653711331788/CloudTrail/`);

    const day = Date.UTC(2015, 7, 17);
    const unrecorded = await unrecordedFiles(
      digestAccount,
      head?.prefix ?? '',
      day,
      day + 86_400_000,
      { regions: ['us-east-2'], digests: true },
      { lister: new S3KeyLister(s3.client), bucket: BUCKET },
      ports.store,
    );
    expect(unrecorded).toBe(1);
  });
});

describe('integrity sweep over an existing archive', () => {
  const eventBridge = mockClient(EventBridgeClient);
  afterAll(() => eventBridge.restore());

  test("verifies the chains under the layout's prefix, not another trail's in the same bucket", async () => {
    const key = generateSigningKey();
    const inLayout = new DeliveryTree(key, {
      bucket: BUCKET,
      hours: 3,
      account: '222233334444',
      organizationId: CONTROL_TOWER.organizationId,
      keyPrefix: CONTROL_TOWER.keyPrefix,
    });
    // Another trail's chain at the bucket root, broken: the sweep of this archive must not report on it.
    const other = new DeliveryTree(key, { bucket: BUCKET, hours: 3, account: '555566667777' });
    for (const tree of [inLayout, other])
      for (const [k, o] of tree.objects)
        await s3.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: k, Body: o.body, Metadata: o.metadata }));
    expect(inLayout.digestKeys[0].startsWith(`${ROOT}222233334444/CloudTrail-Digest/`)).toBe(true);
    eventBridge.on(PutEventsCommand).callsFake((input: PutEventsCommandInput) => ({
      FailedEntryCount: 0,
      Entries: (input.Entries ?? []).map((_, i) => ({ EventId: `e-${i}` })),
    }));
    const ring = PublicKeyRing.fromJson(listPublicKeysJson(key));
    const sweep = createSweepHandler(() => ({
      settings: {
        archiveBucket: BUCKET,
        archivePrefix: ROOT,
        eventBus: TRAILSIGHT_BUS_NAME,
        lookbackHours: 26,
        overdueMinutes: 150,
      },
      reader: new S3ArchiveReader(s3.client, BUCKET),
      keys: { ringFor: async () => ring },
      publisher: new EventBridgeInsightPublisher(new EventBridgeClient({}), {
        eventBusName: TRAILSIGHT_BUS_NAME,
        detailType: INTEGRITY_DETAIL_TYPE,
        maxAttempts: 1,
      }),
    }));
    const detail = await sweep({ time: '2024-03-01T03:30:00Z' }, context);
    expect(detail).toMatchObject({ trigger: 'sweep', status: 'PASS' });
    expect(detail.counts).toMatchObject({ digests: 3, digestsVerified: 3 });
  });
});
