/**
 * The compacted table and its daily job: the Parquet table Athena can write into (Hive layout, Hive dates,
 * projection), the schedule, the state machine's steps and statement, and the role's permissions.
 */
import { resolve } from 'node:path';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { LocalCloudTrail } from '../../lambda/adapters/duckdb-cloudtrail';
import { parseConfig } from '../../lib/config';
import { compactionInsert, compactionSelect } from '../../queries/compaction';
import {
  CLOUDTRAIL_COLUMNS,
  CLOUDTRAIL_PARQUET_TABLE_NAME,
  CLOUDTRAIL_PARTITION_KEYS,
} from '../../schema/cloudtrail-table';
import { build, EXAMPLE_ORG_CONFIG_INPUT, withDefaults } from './helpers';

interface Statement {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, unknown>;
}

function statements(template: Template): Statement[] {
  const policies = template.findResources('AWS::IAM::Policy', {
    Properties: { Roles: [{ Ref: Match.stringLikeRegexp('^CompactionRole') }] },
  });
  return Object.values(policies).flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
}

/** The state machine's definition, with the database reference resolved to its name. */
function definition(template: Template): { json: Record<string, unknown>; text: string } {
  const machine = Object.values(template.findResources('AWS::StepFunctions::StateMachine'))[0];
  const parts = machine.Properties.DefinitionString['Fn::Join'][1] as unknown[];
  const text = parts
    .map((p) => {
      if (typeof p === 'string') return p;
      const ref = (p as { Ref?: string }).Ref;
      return ref === 'Database' ? 'trailsight' : ref === 'AWS::Partition' ? 'aws' : `<${ref}>`;
    })
    .join('');
  return { json: JSON.parse(text), text };
}

describe('CloudTrailCompaction (default configuration)', () => {
  let template: Template;
  beforeAll(() => {
    template = Template.fromStack(build(withDefaults({})).analytics);
  });

  test('defines cloudtrail_parquet: the Glue columns as ZSTD Parquet, Hive partitions account/region/dt with projection', () => {
    template.hasResourceProperties('AWS::Glue::Table', {
      DatabaseName: { Ref: 'Database' },
      TableInput: {
        Name: CLOUDTRAIL_PARQUET_TABLE_NAME,
        TableType: 'EXTERNAL_TABLE',
        PartitionKeys: CLOUDTRAIL_PARTITION_KEYS.map(({ name, type }) => ({ Name: name, Type: type })),
        Parameters: Match.objectLike({
          classification: 'parquet',
          'parquet.compression': 'ZSTD',
          'projection.enabled': 'true',
          'projection.dt.type': 'date',
          // A Hive date: Athena writes into a projected table only with Hive's date format.
          'projection.dt.format': 'yyyy-MM-dd',
          'projection.dt.range': 'NOW-2557DAYS,NOW',
          'projection.account.values': { Ref: 'AWS::AccountId' },
          // No template: the Hive layout Athena's INSERT writes is the layout projection reads.
          'storage.location.template': Match.absent(),
        }),
        StorageDescriptor: {
          Location: {
            'Fn::Join': ['', ['s3://', { Ref: Match.stringLikeRegexp('^CompactionBucket') }, '/cloudtrail/']],
          },
          Columns: CLOUDTRAIL_COLUMNS.map(({ name, type }) => ({ Name: name, Type: type })),
          InputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
          OutputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
          SerdeInfo: { SerializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe' },
        },
      },
    });
  });

  test('keeps the Parquet files in a retained, encrypted, TLS-only bucket that expires them with the archive', () => {
    template.hasResource('AWS::S3::Bucket', {
      DeletionPolicy: 'Retain',
      Properties: Match.objectLike({
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [
            Match.objectLike({
              ServerSideEncryptionByDefault: {
                SSEAlgorithm: 'aws:kms',
                KMSMasterKeyID: { 'Fn::GetAtt': [Match.stringLikeRegexp('^WorkGroupResultsKey'), 'Arn'] },
              },
            }),
          ],
        },
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
        LifecycleConfiguration: {
          Rules: [Match.objectLike({ Id: 'ExpireWithTheArchive', ExpirationInDays: 2557, Status: 'Enabled' })],
        },
      }),
    });
  });

  test('starts the state machine every day at 01:15 UTC through EventBridge Scheduler', () => {
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'cron(15 1 * * ? *)',
      Target: {
        Arn: { Ref: Match.stringLikeRegexp('^Compaction') },
        RoleArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^CompactionSchedulerRole'), 'Arn'] },
      },
    });
  });

  test('logs every state and traces the runs', () => {
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      LoggingConfiguration: Match.objectLike({ Level: 'ALL', IncludeExecutionData: true }),
      TracingConfiguration: { Enabled: true },
    });
  });

  test('checks the day, lists the accounts, clears each Region of the day, inserts, and waits for the query', () => {
    const { json } = definition(template);
    const states = json.States as Record<string, Record<string, unknown>>;
    expect(json.QueryLanguage).toBe('JSONata');
    expect(Object.keys(states)).toEqual(['Day', 'DayIsADate', 'BadDay', 'ListAccounts', 'Accounts']);
    // The accounts the source table projects: the compacted table holds exactly those.
    expect(states.ListAccounts.Arguments).toEqual({ DatabaseName: 'trailsight', Name: 'cloudtrail_logs' });
    expect(states.ListAccounts.Resource).toBe('arn:aws:states:::aws-sdk:glue:getTable');
    expect((states.ListAccounts.Output as { accounts: string }).accounts).toContain(
      "$split($states.result.Table.Parameters.`projection.account.values`, ',')",
    );
    const perAccount = (states.Accounts.ItemProcessor as { States: Record<string, Record<string, unknown>> }).States;
    expect(Object.keys(perAccount).sort()).toEqual([
      'AccountCompacted',
      'ClearEarlierRun',
      'InsertDone',
      'InsertFailed',
      'InsertStatus',
      'StartInsert',
      'WaitForInsert',
    ]);
    expect(perAccount.InsertDone.Choices).toEqual([
      { Condition: "{% $states.input.state = 'SUCCEEDED' %}", Next: 'AccountCompacted' },
      { Condition: "{% $states.input.state in ['QUEUED', 'RUNNING'] %}", Next: 'WaitForInsert' },
    ]);
    expect(perAccount.InsertDone.Default).toBe('InsertFailed');
    expect(states.Accounts.MaxConcurrency).toBe(4);
    // Every Region the table projects is cleared, so a rerun of a day replaces it.
    expect(perAccount.ClearEarlierRun.Items).toContain('"us-east-1"');
    expect(perAccount.ClearEarlierRun.Items).toContain('"eu-west-1"');
  });

  test('runs exactly the compaction statement, with the checked day and account spliced in', () => {
    const { json } = definition(template);
    const perAccount = (
      (
        json.States as Record<
          string,
          { ItemProcessor?: { States: Record<string, { Arguments?: Record<string, unknown> }> } }
        >
      ).Accounts.ItemProcessor as { States: Record<string, { Arguments?: Record<string, unknown> }> }
    ).States;
    const args = perAccount.StartInsert.Arguments as { QueryString: string; WorkGroup: string };
    // `{% "…" & $replace(day) & "…" & account & "…" %}`: evaluate the concatenation for one day and account.
    const expression = args.QueryString.replace(/^\{% | %\}$/g, '');
    const literals = [...expression.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => JSON.parse(`"${m[1]}"`) as string);
    expect(literals).toHaveLength(3);
    expect(expression).toContain("$replace($states.input.day, '-', '/')");
    const sql = `${literals[0]}2024/07/31${literals[1]}111122223333${literals[2]}`;
    expect(sql).toBe(compactionInsert('trailsight', "'2024/07/31'", "'111122223333'"));
    expect(args.WorkGroup).toBe('<WorkGroup9BE20B7A>');
  });

  test("lets the role run queries only in the workgroup, read only the archive's logs, write only the compacted files", () => {
    const all = statements(template);
    const withAction = (action: string) => all.filter((s) => [s.Action].flat().includes(action));
    expect(withAction('athena:StartQueryExecution').map((s) => s.Resource)).toEqual([
      {
        'Fn::Join': [
          '',
          [
            'arn:aws:athena:us-east-1:',
            { Ref: 'AWS::AccountId' },
            ':workgroup/',
            { Ref: expect.stringMatching(/^WorkGroup/) },
          ],
        ],
      },
    ]);
    const decrypt = all.find((s) => s.Sid === 'DecryptArchive');
    expect(decrypt?.Condition).toEqual({
      'ForAnyValue:StringEquals': { 'kms:ResourceAliases': 'alias/trailsight/archive' },
      StringEquals: { 'kms:ViaService': 's3.us-east-1.amazonaws.com' },
    });
    expect(JSON.stringify(all.find((s) => s.Sid === 'ReadArchive')?.Resource)).toContain('/AWSLogs/*');
    expect(JSON.stringify(withAction('s3:PutObject').map((s) => s.Resource))).not.toContain('archive');
    // No wildcard actions, as grant*() would add (s3:GetObject*, s3:List*, kms:GenerateDataKey*).
    expect(all.flatMap((s) => [s.Action].flat()).filter((a) => a.endsWith('*'))).toEqual([]);
  });
});

describe('CloudTrailCompaction configuration', () => {
  test("an organization trail: the accounts are the table's, which the account sync keeps current", () => {
    const input = { ...EXAMPLE_ORG_CONFIG_INPUT, analytics: { databaseName: 'trailsight' } };
    const { analytics } = build(input);
    const template = Template.fromStack(analytics);
    expect((definition(template).json.States as Record<string, { Arguments: unknown }>).ListAccounts.Arguments).toEqual(
      { DatabaseName: 'trailsight', Name: 'cloudtrail_logs' },
    );
    // The sync writes the compacted table's account list too, so every compacted account is queryable there.
    expect(JSON.stringify(template.toJSON())).toContain(
      `cloudtrail_logs,trailsight_insights,${CLOUDTRAIL_PARQUET_TABLE_NAME}`,
    );
    expect(analytics.accountSync).toBeDefined();
  });

  test('the hour and the concurrency come from configuration', () => {
    const template = Template.fromStack(
      build(withDefaults({ analytics: { compaction: { hourUtc: 5, maxConcurrency: 2 } } })).analytics,
    );
    template.hasResourceProperties('AWS::Scheduler::Schedule', { ScheduleExpression: 'cron(15 5 * * ? *)' });
    expect(
      (definition(template).json.States as Record<string, { MaxConcurrency?: number }>).Accounts.MaxConcurrency,
    ).toBe(2);
  });

  test('disabled: no compacted table, bucket, state machine, schedule or compacted named queries', () => {
    const { analytics } = build(withDefaults({ analytics: { compaction: { enabled: false } } }));
    const template = Template.fromStack(analytics);
    template.resourceCountIs('AWS::StepFunctions::StateMachine', 0);
    template.resourceCountIs('AWS::Scheduler::Schedule', 0);
    template.resourceCountIs('AWS::Glue::Table', 2);
    expect(analytics.compaction).toBeUndefined();
    expect(JSON.stringify(template.toJSON())).not.toContain(CLOUDTRAIL_PARQUET_TABLE_NAME);
  });

  test.each([
    [{ hourUtc: 24 }, /analytics\.compaction\.hourUtc = 24: must be at most 23 hours/],
    [{ maxConcurrency: 0 }, /analytics\.compaction\.maxConcurrency = 0: must be at least 1 accounts/],
    [{ every: 'day' }, /analytics\.compaction/],
  ])('fails on a bad compaction setting %j', (compaction, message) => {
    expect(() => parseConfig(withDefaults({ analytics: { compaction } }))).toThrow(message);
  });
});

describe('the compaction statement', () => {
  test("its SELECT, run on the local engine, gives one day of one account in the compacted table's shape", async () => {
    const engine = await LocalCloudTrail.open([resolve(__dirname, '../../../shared/data/flaws2-cloud')]);
    try {
      const { columns, rows } = await engine.query(compactionSelect("'2018/11/28'", "'653711331788'"));
      expect(columns).toEqual([...CLOUDTRAIL_COLUMNS, ...CLOUDTRAIL_PARTITION_KEYS].map((c) => c.name));
      expect(rows).toHaveLength(37);
      expect(new Set(rows.map((r) => `${r.account} ${r.region} ${r.dt}`))).toEqual(
        new Set(['653711331788 us-east-1 2018-11-28']),
      );
      expect((await engine.query(compactionSelect("'2018/11/27'", "'653711331788'"))).rows).toEqual([]);
    } finally {
      engine.close();
    }
  });

  test('quotes every column, so none can be read as a keyword', () => {
    const sql = compactionInsert('db', "'x'", "'y'");
    for (const c of CLOUDTRAIL_COLUMNS) expect(sql).toContain(`"${c.name}"`);
    expect(sql.startsWith('INSERT INTO "db"."cloudtrail_parquet" SELECT ')).toBe(true);
  });
});
