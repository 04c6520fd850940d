import {
  type aws_athena as athena,
  Duration,
  aws_glue as glue,
  aws_iam as iam,
  type aws_kms as kms,
  aws_logs as logs,
  RemovalPolicy,
  Stack,
  aws_s3 as s3,
  aws_scheduler as scheduler,
  aws_scheduler_targets as schedulerTargets,
  aws_stepfunctions as sfn,
  aws_stepfunctions_tasks as tasks,
  Validations,
} from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { compactionInsert } from '../../queries/compaction';
import { ACCOUNT_VALUES_PARAMETER } from '../../schema/analytics-contract';
import {
  CLOUDTRAIL_COLUMNS,
  CLOUDTRAIL_PARQUET_TABLE_NAME,
  CLOUDTRAIL_PARTITION_KEYS,
  DT_FORMATS,
} from '../../schema/cloudtrail-table';
import { type ArchiveSource, archiveDecrypt } from '../contracts';
import { accountRegionDateProjection, type PartitionProjectionProps } from './cloudtrail-table';

/** Key prefix of the compacted table's files in its bucket. */
export const COMPACTED_PREFIX = 'cloudtrail/';

/** Properties of a {@link CloudTrailCompaction}. */
export interface CloudTrailCompactionProps extends PartitionProjectionProps {
  /** The Glue database holding `cloudtrail_logs`; the compacted table is created beside it. */
  readonly database: glue.CfnDatabase;
  /** The workgroup the compaction's queries run in (its results location and encryption apply). */
  readonly workGroup: athena.CfnWorkGroup;
  /** The workgroup's results bucket, where Athena writes each query's result and manifest. */
  readonly resultsBucket: s3.IBucket;
  /**
   * The key the workgroup encrypts with. Athena encrypts the Parquet files it writes with it too, so it is also
   * the compacted bucket's default key.
   */
  readonly key: kms.IKey;
  /**
   * The archive the queries read (possibly in another account, which must let this one read it): its bucket, the
   * prefix its files are read under, and how they are encrypted.
   */
  readonly archive: Pick<ArchiveSource, 'bucketName' | 'readPrefix' | 'key'>;
  /**
   * The table compacted: its `projection.account.values` are the accounts each run compacts, so the compacted table
   * holds exactly the accounts the source table projects (kept current by the account sync for an organization).
   */
  readonly sourceTable: glue.CfnTable;
  /**
   * Hour of the day (UTC) the compaction of the previous delivery day starts.
   * @default 1
   */
  readonly hourUtc?: number;
  /**
   * Accounts compacted at the same time.
   * @default 4
   */
  readonly maxConcurrency?: number;
  /**
   * Days the run's Step Functions log group keeps its events.
   * @default 90
   */
  readonly logRetentionDays?: logs.RetentionDays;
}

/**
 * Defines the compacted copy of the CloudTrail table and the daily job that fills it.
 *
 * - **Table:** `cloudtrail_parquet`, the Glue columns of `cloudtrail_logs` as Parquet (ZSTD), partitioned
 *   `account`, `region`, `dt` (`yyyy-MM-dd`) in the Hive layout `cloudtrail/account=…/region=…/dt=…/`, with
 *   partition projection. No storage location template: the layout Athena writes with `INSERT INTO` is the one
 *   projection reads (Athena writes into a projected table only in that layout and with Hive dates).
 * - **Job:** an EventBridge Scheduler schedule starts a Step Functions state machine every day at `hourUtc`. It
 *   reads the accounts `cloudtrail_logs` projects (its `projection.account.values`: the configured accounts, or
 *   those the account sync found in the archive), and for each account (at most `maxConcurrency` at once) deletes
 *   what an earlier run wrote for that day, then runs
 *   `INSERT INTO cloudtrail_parquet SELECT … FROM cloudtrail_logs WHERE dt = '<day>' AND account = '<account>'` in
 *   the workgroup and waits for it. A rerun replaces a day instead of doubling it; a day can be compacted again
 *   by starting the state machine with `{"day": "yyyy-MM-dd"}`.
 *
 * Why Step Functions calling Athena rather than a Lambda: the job is only "start a query, wait, check", which
 * Step Functions does with the AWS SDK integrations, retries and an execution history an auditor can read, with
 * no code to maintain and nothing billed while Athena works. Each call is granted exactly what it needs (the
 * optimized Athena integration grants `s3:*Bucket*` and Glue writes on `*`).
 */
export class CloudTrailCompaction extends Construct {
  /** The bucket holding the Parquet files. */
  readonly bucket: s3.Bucket;
  /** The compacted table. */
  readonly table: glue.CfnTable;
  /** Name of the compacted table, `cloudtrail_parquet`. */
  readonly tableName: string = CLOUDTRAIL_PARQUET_TABLE_NAME;
  /** The daily job. */
  readonly stateMachine: sfn.StateMachine;
  /** The schedule that starts it. */
  readonly schedule: scheduler.Schedule;

  constructor(scope: Construct, id: string, props: CloudTrailCompactionProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const databaseName = props.database.ref;

    this.bucket = new s3.Bucket(this, 'Bucket', {
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: props.key,
      bucketKeyEnabled: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      // Derived data: it lives as long as the archive it is computed from.
      lifecycleRules: [
        {
          id: 'ExpireWithTheArchive',
          expiration: Duration.days(props.retentionDays),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(this.bucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'A copy computed from the archive (which keeps access logs), rewritten daily by the compaction; every read and write of it is an Athena query recorded by CloudTrail.',
    });

    this.table = new glue.CfnTable(this, 'Table', {
      catalogId: stack.account,
      databaseName,
      tableInput: {
        name: CLOUDTRAIL_PARQUET_TABLE_NAME,
        description:
          'CloudTrail events compacted daily from cloudtrail_logs as Parquet (partition projection: account, region, dt)',
        tableType: 'EXTERNAL_TABLE',
        parameters: {
          EXTERNAL: 'TRUE',
          classification: 'parquet',
          'parquet.compression': 'ZSTD',
          ...accountRegionDateProjection(props, 'CloudTrailCompaction', DT_FORMATS[CLOUDTRAIL_PARQUET_TABLE_NAME]),
        },
        partitionKeys: CLOUDTRAIL_PARTITION_KEYS.map(({ name, type }) => ({ name, type })),
        storageDescriptor: {
          location: this.bucket.s3UrlForObject(COMPACTED_PREFIX),
          columns: CLOUDTRAIL_COLUMNS.map(({ name, type }) => ({ name, type })),
          inputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
          outputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
          serdeInfo: { serializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe' },
        },
      },
    });
    this.table.addResourceDependency(props.database);

    const logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetentionDays ?? logs.RetentionDays.THREE_MONTHS,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stateMachine = new sfn.StateMachine(this, 'Resource', {
      comment: 'Trailsight: compacts the previous delivery day of every account into cloudtrail_parquet',
      queryLanguage: sfn.QueryLanguage.JSONATA,
      definitionBody: sfn.DefinitionBody.fromChainable(this.definition(props, databaseName)),
      tracingEnabled: true,
      logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: true },
      timeout: Duration.hours(12),
    });
    this.grantQueries(props, databaseName);

    const role = new iam.Role(this, 'SchedulerRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com'),
      description: 'Trailsight: lets EventBridge Scheduler start the daily compaction',
    });
    this.schedule = new scheduler.Schedule(this, 'Schedule', {
      description: 'Trailsight: compacts the previous delivery day into cloudtrail_parquet',
      schedule: scheduler.ScheduleExpression.cron({ minute: '15', hour: String(props.hourUtc ?? 1) }),
      target: new schedulerTargets.StepFunctionsStartExecution(this.stateMachine, {
        input: scheduler.ScheduleTargetInput.fromObject({}),
        role,
      }),
    });
  }

  private definition(props: CloudTrailCompactionProps, databaseName: string): sfn.IChainable {
    const regions = [...props.regions];
    const sourceTableName = (props.sourceTable.tableInput as glue.CfnTable.TableInputProperty).name as string;

    const day = sfn.Pass.jsonata(this, 'Day', {
      comment: 'The delivery day to compact: the input "day" (yyyy-MM-dd), else yesterday (UTC)',
      outputs: {
        day: "{% $exists($states.input.day) ? $states.input.day : $fromMillis($millis() - 86400000, '[Y0001]-[M01]-[D01]') %}",
      },
    });
    const badDay = sfn.Fail.jsonata(this, 'BadDay', {
      error: 'BadDay',
      cause: 'The input "day" must be a date written yyyy-MM-dd.',
    });
    const listAccounts = tasks.CallAwsService.jsonata(this, 'ListAccounts', {
      comment: `The accounts ${sourceTableName} projects: its projection.account.values`,
      service: 'glue',
      action: 'getTable',
      parameters: { DatabaseName: databaseName, Name: sourceTableName },
      iamResources: [
        Stack.of(this).formatArn({ service: 'glue', resource: 'catalog' }),
        Stack.of(this).formatArn({ service: 'glue', resource: 'database', resourceName: databaseName }),
        Stack.of(this).formatArn({
          service: 'glue',
          resource: 'table',
          resourceName: `${databaseName}/${sourceTableName}`,
        }),
      ],
      iamAction: 'glue:GetTable',
      outputs: {
        day: '{% $states.input.day %}',
        accounts: `{% [$filter($split($states.result.Table.Parameters.\`${ACCOUNT_VALUES_PARAMETER}\`, ','), function($a) { $match($a, /^[0-9]{12}$/) })] %}`,
      },
    });

    // Per account and Region: delete what an earlier run of the same day wrote, page by page.
    const listOld = tasks.CallAwsService.jsonata(this, 'ListEarlierFiles', {
      service: 's3',
      action: 'listObjectsV2',
      parameters: {
        Bucket: this.bucket.bucketName,
        Prefix: `{% '${COMPACTED_PREFIX}account=' & $states.input.account & '/region=' & $states.input.region & '/dt=' & $states.input.day & '/' %}`,
      },
      iamResources: [this.bucket.bucketArn],
      iamAction: 's3:ListBucket',
      outputs: {
        account: '{% $states.input.account %}',
        region: '{% $states.input.region %}',
        day: '{% $states.input.day %}',
        keys: '{% [$states.result.Contents.Key] %}',
      },
    });
    const deleteOld = tasks.CallAwsService.jsonata(this, 'DeleteEarlierFiles', {
      service: 's3',
      action: 'deleteObjects',
      parameters: {
        Bucket: this.bucket.bucketName,
        Delete: { Objects: '{% [$states.input.keys.{"Key": $}] %}', Quiet: true },
      },
      iamResources: [this.bucket.arnForObjects(`${COMPACTED_PREFIX}*`)],
      iamAction: 's3:DeleteObject',
      outputs: {
        account: '{% $states.input.account %}',
        region: '{% $states.input.region %}',
        day: '{% $states.input.day %}',
      },
    });
    const cleared = new sfn.Succeed(this, 'RegionCleared');
    const clearRegion = listOld.next(
      sfn.Choice.jsonata(this, 'AnyEarlierFiles')
        .when(sfn.Condition.jsonata('{% $count($states.input.keys) > 0 %}'), deleteOld.next(listOld))
        .otherwise(cleared),
    );
    const clearDay = sfn.Map.jsonata(this, 'ClearEarlierRun', {
      comment: 'Deletes the files an earlier run of this day wrote, so a rerun replaces the day',
      items: sfn.ProvideItems.jsonata(`{% ${JSON.stringify(regions)} %}`),
      itemSelector: {
        account: '{% $states.input.account %}',
        day: '{% $states.input.day %}',
        region: '{% $states.context.Map.Item.Value %}',
      },
      maxConcurrency: 10,
      outputs: { account: '{% $states.input.account %}', day: '{% $states.input.day %}' },
    }).itemProcessor(clearRegion);

    // The INSERT, with the day and account spliced in (both checked: a yyyy-MM-dd date and 12 digits).
    const [before, middle, after] = compactionInsert(databaseName, "'@DT@'", "'@ACCOUNT@'").split(/@DT@|@ACCOUNT@/);
    const insert = tasks.CallAwsService.jsonata(this, 'StartInsert', {
      service: 'athena',
      action: 'startQueryExecution',
      parameters: {
        QueryString: `{% ${jsonataString(before)} & $replace($states.input.day, '-', '/') & ${jsonataString(middle)} & $states.input.account & ${jsonataString(after)} %}`,
        WorkGroup: props.workGroup.ref,
        QueryExecutionContext: { Database: databaseName },
      },
      iamResources: [workGroupArn(this, props.workGroup)],
      iamAction: 'athena:StartQueryExecution',
      outputs: { id: '{% $states.result.QueryExecutionId %}' },
    });
    const wait = new sfn.Wait(this, 'WaitForInsert', { time: sfn.WaitTime.duration(Duration.seconds(15)) });
    const status = tasks.CallAwsService.jsonata(this, 'InsertStatus', {
      service: 'athena',
      action: 'getQueryExecution',
      parameters: { QueryExecutionId: '{% $states.input.id %}' },
      iamResources: [workGroupArn(this, props.workGroup)],
      iamAction: 'athena:GetQueryExecution',
      outputs: {
        id: '{% $states.input.id %}',
        state: '{% $states.result.QueryExecution.Status.State %}',
        reason:
          "{% $exists($states.result.QueryExecution.Status.StateChangeReason) ? $states.result.QueryExecution.Status.StateChangeReason : '' %}",
      },
    });
    const failed = sfn.Fail.jsonata(this, 'InsertFailed', {
      error: 'InsertFailed',
      cause: "{% 'Athena query ' & $states.input.id & ' ended ' & $states.input.state & ': ' & $states.input.reason %}",
    });
    const compacted = new sfn.Succeed(this, 'AccountCompacted');
    const compactAccount = clearDay
      .next(insert)
      .next(wait)
      .next(status)
      .next(
        sfn.Choice.jsonata(this, 'InsertDone')
          .when(sfn.Condition.jsonata("{% $states.input.state = 'SUCCEEDED' %}"), compacted)
          .when(sfn.Condition.jsonata("{% $states.input.state in ['QUEUED', 'RUNNING'] %}"), wait)
          .otherwise(failed),
      );
    for (const t of [listAccounts, listOld, deleteOld, insert, status]) {
      // Throttling and passing service errors are retried; a failed query is not (the Choice fails the account).
      t.addRetry({ errors: ['States.TaskFailed'], interval: Duration.seconds(5), maxAttempts: 4, backoffRate: 2 });
    }
    const accounts = sfn.Map.jsonata(this, 'Accounts', {
      comment: 'Each account: clear the day, insert it, wait for the query',
      items: sfn.ProvideItems.jsonata('{% $states.input.accounts %}'),
      itemSelector: { account: '{% $states.context.Map.Item.Value %}', day: '{% $states.input.day %}' },
      maxConcurrency: props.maxConcurrency ?? 4,
    }).itemProcessor(compactAccount);

    return day.next(
      sfn.Choice.jsonata(this, 'DayIsADate')
        .when(
          sfn.Condition.jsonata(
            "{% $type($states.input.day) = 'string' and $contains($states.input.day, /^[0-9]{4}-[0-9]{2}-[0-9]{2}$/) %}",
          ),
          listAccounts.next(accounts),
        )
        .otherwise(badDay),
    );
  }

  /**
   * What the queries themselves need with the state machine's credentials: the catalog, read access to the
   * archive (through its bucket policy and key policy when it is in another account), write access to the
   * compacted table's files, and the workgroup's results location and key.
   */
  private grantQueries(props: CloudTrailCompactionProps, databaseName: string): void {
    const role = this.stateMachine.role;
    const s = Stack.of(this);
    const partition = s.partition;
    const glueArn = (resource: string) => s.formatArn({ service: 'glue', resource });
    const tableArn = (name: string) =>
      s.formatArn({ service: 'glue', resource: 'table', resourceName: `${databaseName}/${name}` });
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ReadCatalog',
        actions: ['glue:GetDatabase', 'glue:GetTable', 'glue:GetPartition', 'glue:GetPartitions'],
        resources: [
          glueArn('catalog'),
          s.formatArn({ service: 'glue', resource: 'database', resourceName: databaseName }),
          tableArn('cloudtrail_logs'),
          tableArn(CLOUDTRAIL_PARQUET_TABLE_NAME),
        ],
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'RegisterCompactedPartitions',
        actions: ['glue:BatchCreatePartition', 'glue:CreatePartition', 'glue:UpdatePartition'],
        resources: [
          glueArn('catalog'),
          s.formatArn({ service: 'glue', resource: 'database', resourceName: databaseName }),
          tableArn(CLOUDTRAIL_PARQUET_TABLE_NAME),
        ],
      }),
    );
    const { archive } = props;
    const archiveArn = `arn:${partition}:s3:::${archive.bucketName}`;
    const archiveFiles = `${archiveArn}/${archive.readPrefix}*`;
    // Athena lists the day's folder and reads its files, under the archive's read prefix only.
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({ sid: 'LocateArchive', actions: ['s3:GetBucketLocation'], resources: [archiveArn] }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ListArchive',
        actions: ['s3:ListBucket'],
        resources: [archiveArn],
        conditions: { StringLike: { 's3:prefix': [`${archive.readPrefix}*`] } },
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({ sid: 'ReadArchive', actions: ['s3:GetObject'], resources: [archiveFiles] }),
    );
    const decrypt = archiveDecrypt(archive.key, partition);
    if (decrypt) {
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'DecryptArchive',
          actions: ['kms:Decrypt'],
          resources: [decrypt.resource],
          conditions: { ...decrypt.conditions, StringEquals: { 'kms:ViaService': `s3.${s.region}.amazonaws.com` } },
        }),
      );
    }
    // Exact actions rather than grantReadWrite's wildcards (s3:GetObject*, s3:List*, ...): what Athena's writer does.
    const compactedFiles = this.bucket.arnForObjects(`${COMPACTED_PREFIX}*`);
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'WriteCompactedFiles',
        actions: ['s3:GetObject', 's3:PutObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
        resources: [compactedFiles],
      }),
    );
    const resultFiles = props.resultsBucket.arnForObjects('*');
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'WriteQueryResults',
        actions: ['s3:GetObject', 's3:PutObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
        resources: [resultFiles],
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'LocateAthenaBuckets',
        actions: ['s3:GetBucketLocation', 's3:ListBucketMultipartUploads'],
        resources: [this.bucket.bucketArn, props.resultsBucket.bucketArn],
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'UseResultsKey',
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: [props.key.keyArn],
      }),
    );

    const acknowledge = (resource: string, reason: string) =>
      Validations.of(role).acknowledge({ id: `AwsSolutions-IAM5[Resource::${nagForm(s, resource)}]`, reason });
    acknowledge(
      archiveFiles,
      `Athena reads the log files of the day being compacted under ${archive.readPrefix}; their names are not known in advance.`,
    );
    acknowledge(
      compactedFiles,
      "Athena writes the day's Parquet files under cloudtrail/ (names it chooses), and the run deletes an earlier run's.",
    );
    acknowledge(
      resultFiles,
      'Athena writes each query result and manifest at a name it chooses in the results bucket.',
    );
    acknowledge(
      '*',
      "Step Functions' log delivery (logs:*LogDelivery, DescribeLogGroups) and X-Ray tracing actions have no resource-level permissions.",
    );
    if (decrypt?.wildcard) {
      acknowledge(
        decrypt.resource,
        'The archive key lives in the log archive stack (maybe another account) and is known by its alias only: the statement is narrowed to it by kms:ResourceAliases, and to S3 by kms:ViaService.',
      );
    }
  }
}

/** A string as cdk-nag prints it in finding IDs: pseudo parameters and references as `<AWS::AccountId>`, `<Id.Attr>`. */
export function nagForm(stack: Stack, value: string): string {
  const resolved = stack.resolve(value) as unknown;
  const part = (p: unknown): string => {
    if (typeof p === 'string') return p;
    const o = p as { Ref?: string; 'Fn::GetAtt'?: [string, string]; 'Fn::Join'?: [string, unknown[]] };
    if (o.Ref) return `<${o.Ref}>`;
    if (o['Fn::GetAtt']) return `<${o['Fn::GetAtt'][0]}.${o['Fn::GetAtt'][1]}>`;
    if (o['Fn::Join']) return o['Fn::Join'][1].map(part).join(o['Fn::Join'][0]);
    return JSON.stringify(p);
  };
  return part(resolved);
}

function workGroupArn(scope: Construct, workGroup: athena.CfnWorkGroup): string {
  return Stack.of(scope).formatArn({ service: 'athena', resource: 'workgroup', resourceName: workGroup.ref });
}

/** A JSONata string literal (JSONata strings follow JSON's escaping). */
function jsonataString(text: string): string {
  return JSON.stringify(text);
}
