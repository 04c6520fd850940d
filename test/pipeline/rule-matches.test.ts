/**
 * The ingest's rule step end to end on the stand-ins (s3rver + dynalite; PutEvents captured): real delivery files
 * of the grycap day (../shared/data/grycap-cloudtrail-tracker, Apache-2.0), where a lecturer's security group
 * changes of 08:00-09:00 UTC are spread over six files. The deployed path must raise exactly what
 * `trailsight detect` raises for the same files (same ids, same events), whatever the order, and never twice
 * for a redelivered file; a refused put is retried with the file. The group markers in DynamoDB and the
 * in-memory GroupLedger the CLI uses answer the same scripted sequence the same way.
 */
import { basename, resolve } from 'node:path';
import { GetItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import type { SQSBatchResponse } from 'aws-lambda';
import { command as detectCommand } from '../../cli/commands/detect';
import { DynamoDbRuleGroups } from '../../lambda/adapters/dynamodb-rule-groups';
import { fileIdentity, resolveDetectConfig } from '../../lambda/core/detect';
import {
  DEFAULT_RULES_CONFIG,
  type FileGroup,
  GroupLedger,
  type LedgerOutcome,
  type RuleMatch,
} from '../../lambda/core/rules';
import { type PipelineEnvironment, readEnvironment } from '../../lambda/handlers/environment';
import { createIngestHandler } from '../../lambda/handlers/ingest';
import { buildIngestPorts, loadRuleEngine } from '../../lambda/handlers/ingest-rules';
import type { IngestPorts } from '../../lambda/pipeline/ingest';
import { ENV, RULE_MATCH_DETAIL_TYPE, RULE_MATCH_SOURCE } from '../../schema/detection-contract';
import { captureIo } from '../support/cli-io';
import { createStateTables } from '../support/pipeline-harness';
import { type DynamoStandIn, type S3StandIn, startDynamo, startS3 } from '../support/stand-ins';
import {
  ACCOUNT,
  BUCKET,
  captureEventBridge,
  grycapDayFiles,
  lambdaContext,
  objectCreatedRecord,
  sqsEvent,
  type Uploaded,
  uploadFile,
} from './helpers';

/** The 15 delivery files of 08:15-08:50 UTC on the grycap day. */
const FILES = grycapDayFiles().filter((f) => /_20170601T08(1[5-9]|[2-4]\d|50)Z_/.test(f));

describe('ingest: rule matches on the bus (s3rver + dynalite)', () => {
  let s3: S3StandIn;
  let dynamo: DynamoStandIn;
  let uploaded: Uploaded[];
  let tables = 0;
  /** What `trailsight detect` prints for the same files: the backtest. */
  let expected: RuleMatch[];

  beforeAll(async () => {
    [s3, dynamo] = await Promise.all([startS3([BUCKET]), startDynamo()]);
    uploaded = [];
    for (const f of FILES) uploaded.push(await uploadFile(s3.client, f));
    const io = captureIo();
    expect(await detectCommand.run([...FILES, '--format', 'jsonl'], io)).toBe(0);
    expected = io.out
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l))
      .filter((x) => x.rule !== undefined);
  });
  afterAll(async () => Promise.all([s3.stop(), dynamo.stop()]));

  async function fresh(options: { failAlways?: boolean } = {}) {
    const prefix = `r${++tables}-`;
    await createStateTables(dynamo.client, prefix);
    const bus = captureEventBridge(options);
    const settings: PipelineEnvironment = {
      headsTableName: `${prefix}heads`,
      dataTableName: `${prefix}data`,
      eventBusName: 'trailsight',
      publishToDefaultBus: false,
      archiveBucketName: BUCKET,
      insightBucketName: BUCKET,
      insightPrefix: 'trailsight/insights/',
      dedupeRetentionDays: 35,
      detectConfig: resolveDetectConfig({}),
      rules: DEFAULT_RULES_CONFIG,
    };
    const ports: IngestPorts = {
      ...buildIngestPorts(settings, {
        s3: s3.client,
        dynamodb: dynamo.client,
        eventBridge: bus.client,
        sqs: undefined as never,
      }),
      now: () => 0,
    };
    const handler = createIngestHandler(() => ports);
    const run = (files: Uploaded[]) =>
      handler(sqsEvent(files.map((u) => objectCreatedRecord(u))), lambdaContext) as Promise<SQSBatchResponse>;
    const sent = () =>
      bus.calls.flatMap((c) =>
        (c.Entries ?? []).map((e) => {
          expect([e.Source, e.DetailType, e.EventBusName]).toEqual([
            RULE_MATCH_SOURCE,
            RULE_MATCH_DETAIL_TYPE,
            'trailsight',
          ]);
          return JSON.parse(e.Detail ?? 'null') as RuleMatch;
        }),
      );
    const marker = async (id: string) =>
      (
        await dynamo.client.send(
          new GetItemCommand({ TableName: `${prefix}data`, Key: { pk: { S: `r|${id}` }, sk: { S: 'marker' } } }),
        )
      ).Item;
    return { ports, settings, run, sent, marker, bus, prefix };
  }

  const byId = (ms: readonly RuleMatch[]) => [...ms].sort((a, b) => (a.id < b.id ? -1 : 1));

  test('files in delivery order, one at a time: exactly the rule matches trailsight detect prints', async () => {
    const { run, sent, marker, bus } = await fresh();
    for (const u of uploaded) expect((await run([u])).batchItemFailures).toEqual([]);
    expect(expected.map((m) => `${m.rule.name} ${basename(m.event.principal)} ${m.group.count}`)).toEqual([
      'cis-4.10-security-group-changes micafer 8',
      'cis-4.10-security-group-changes alucloud192 3',
      'console-login-without-mfa micafer 1',
      'console-login-without-mfa alucloud167 1',
    ]);
    expect(byId(sent())).toEqual(byId(expected));
    // The lecturer's group: 8 + 6 + 8 + 5 + 1 + 8 matches in six files, one alert, the total on the marker.
    const micafer = expected[0];
    expect(await marker(micafer.id)).toMatchObject({
      matches: { N: '36' },
      sent: { BOOL: true },
      owner: { S: fileIdentity(uploaded.find((u) => u.key.includes('T0815Z_QSedzPzMycuDqYW8'))!.key) },
    });
    expect((await marker(micafer.id))?.files?.SS).toHaveLength(6);
    bus.mock.restore();
  });

  test('reversed and in parallel batches, then every file redelivered: the same ids, never a second alert', async () => {
    const { run, sent, marker, bus } = await fresh();
    const reversed = [...uploaded].reverse();
    for (let i = 0; i < reversed.length; i += 5) {
      expect((await run(reversed.slice(i, i + 5))).batchItemFailures).toEqual([]);
    }
    const first = sent();
    expect(first.map((m) => m.id).sort()).toEqual(expected.map((m) => m.id).sort());
    expect((await marker(expected[0].id))?.matches).toEqual({ N: '36' });
    // SQS redelivers every file (one batch holding a file twice too): nothing is sent, nothing counted twice.
    expect((await run([...uploaded.slice(0, 8), uploaded[0]])).batchItemFailures).toEqual([]);
    expect((await run(uploaded.slice(8))).batchItemFailures).toEqual([]);
    expect(sent()).toEqual(first);
    expect((await marker(expected[0].id))?.matches).toEqual({ N: '36' });
    bus.mock.restore();
  });

  test('a put the bus refuses fails the file (its delta is not recorded); the retry sends it once, same id', async () => {
    const owner = uploaded.find((u) => u.key.includes('T0850Z_0YcLyoSNrQOdYWX4'))!;
    const refused = await fresh({ failAlways: true });
    const response = await refused.run([owner]);
    expect(response.batchItemFailures).toHaveLength(1);
    const deltas = await refused.ports.store.queryDeltas(ACCOUNT, 0, Number.MAX_SAFE_INTEGER);
    expect(deltas).toEqual([]);
    refused.bus.mock.restore();
    // The same tables, a bus that accepts: the owner's marker is not marked sent, so the retry sends it.
    const retry = captureEventBridge();
    const ports: IngestPorts = {
      ...buildIngestPorts(refused.settings, {
        s3: s3.client,
        dynamodb: dynamo.client,
        eventBridge: retry.client,
        sqs: undefined as never,
      }),
      now: () => 0,
    };
    const handler = createIngestHandler(() => ports);
    const again = (await handler(sqsEvent([objectCreatedRecord(owner)]), lambdaContext)) as SQSBatchResponse;
    expect(again.batchItemFailures).toEqual([]);
    const details = retry.calls.flatMap((c) => (c.Entries ?? []).map((e) => JSON.parse(e.Detail ?? '{}')));
    expect(details.map((d) => d.id)).toEqual([
      expected.find((m) => m.rule.name === 'console-login-without-mfa' && m.event.principal.endsWith('alucloud167'))
        ?.id,
    ]);
    // Delivered once more: the marker says sent.
    await handler(sqsEvent([objectCreatedRecord(owner)]), lambdaContext);
    expect(retry.calls).toHaveLength(1);
    retry.mock.restore();
  });

  test('the DynamoDB markers and the in-memory ledger answer the same sequence the same way', async () => {
    const { prefix } = await fresh();
    const store = new DynamoDbRuleGroups(dynamo.client, `${prefix}data`);
    const ledger = new GroupLedger();
    const group = (id: string, count: number) => ({ ...sampleGroup, id, count });
    const script: [string, number, string, 'sent'?][] = [
      ['g1', 2, 'b'],
      ['g1', 3, 'a'],
      ['g1', 2, 'b'], // the owner again, its event not marked sent: alert again
      ['g1', 2, 'b', 'sent'],
      ['g1', 2, 'b'],
      ['g1', 3, 'a'],
      ['g2', 1, 'a'],
      ['g2', 4, 'c'],
      ['g2', 1, 'a', 'sent'],
      ['g2', 4, 'c'],
    ];
    const fromStore: LedgerOutcome[] = [];
    const fromLedger: LedgerOutcome[] = [];
    for (const [id, count, file, mark] of script) {
      if (mark) {
        await store.markSent(id);
        ledger.markSent(id);
        continue;
      }
      fromStore.push(await store.record(group(id, count), file, 1_000));
      fromLedger.push(ledger.record(group(id, count), file));
    }
    expect(fromStore).toEqual(fromLedger);
    expect(fromLedger).toEqual([
      'alert',
      'counted',
      'alert',
      'duplicate',
      'duplicate',
      'alert',
      'counted',
      'duplicate',
    ]);
    const items = await dynamo.client.send(
      new QueryCommand({
        TableName: `${prefix}data`,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': { S: 'r|g1' } },
      }),
    );
    expect(items.Items?.[0]?.matches).toEqual({ N: String(ledger.total('g1')) });
  });
});

/** A group whose first hit is a real record's (what the marker keeps for people reading the table). */
const sampleGroup: FileGroup = {
  id: 'g',
  key: 'rule|974349055189|arn:aws:iam::974349055189:user/micafer',
  windowStart: Date.UTC(2017, 5, 1, 8),
  windowEnd: Date.UTC(2017, 5, 1, 9),
  count: 1,
  first: {
    rule: { ref: { name: 'cis-4.10-security-group-changes' } },
    event: { account: ACCOUNT, principal: 'arn:aws:iam::974349055189:user/micafer' },
    fields: {},
  } as unknown as FileGroup['first'],
};

describe('the ingest environment: the rule configuration is checked at cold start', () => {
  const base = {
    HEADS_TABLE_NAME: 'h',
    DATA_TABLE_NAME: 'd',
    EVENT_BUS_NAME: 'trailsight',
    ARCHIVE_BUCKET_NAME: BUCKET,
  };

  test('a configuration the engine refuses fails the cold start, naming the setting', () => {
    expect(() => readEnvironment({ ...base, [ENV.rulesConfig]: '{"minLevel":"urgent"}' })).toThrow(
      /RULES_CONFIG \(detection\.rules in the configuration\): minLevel: expected one of/,
    );
    expect(() => readEnvironment({ ...base, [ENV.rulesConfig]: '{' })).toThrow(/RULES_CONFIG/);
  });

  test('folders are resolved against the bundle; a missing one fails the load, rejected rules are reported', () => {
    const settings = readEnvironment({ ...base, [ENV.rulesConfig]: '{"folders":["user-rules/0/mine"]}' });
    expect(settings.rules?.folders[0].path).toBe(resolve(__dirname, '../../lambda/handlers/user-rules/0/mine'));
    expect(() => loadRuleEngine(settings.rules!)).toThrow(/rule folder not found/);
    const reports: number[] = [];
    const engine = loadRuleEngine(DEFAULT_RULES_CONFIG, (loaded) => reports.push(loaded.rules.length));
    expect(reports).toEqual([engine.ruleSet.rules.length + 3]); // cis-4.01 (low) and two superseded rules
  });
});
