import * as path from 'node:path';
import {
  Aws,
  Duration,
  aws_lambda_destinations as destinations,
  aws_events as events,
  aws_events_targets as eventsTargets,
  type aws_glue as glue,
  aws_iam as iam,
  aws_logs as logs,
  Stack,
  aws_scheduler as scheduler,
  aws_scheduler_targets as schedulerTargets,
  aws_sqs as sqs,
  Validations,
} from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { ACCOUNT_SYNC_ENV } from '../../schema/analytics-contract';
import { acknowledgeWildcardResource } from '../compliance';
import { DetectionFunction } from '../detection/detection-function';

const HANDLERS = path.join(__dirname, '..', '..', 'lambda', 'handlers');

/** Properties of an {@link AccountSync}. */
export interface AccountSyncProps {
  /** Name of the archive bucket (possibly in another account, which must let this account list it). */
  readonly archiveBucketName: string;
  /** The folder of the account folders, `[<prefix>/]AWSLogs/[<o-id>/]`. */
  readonly accountsRoot: string;
  /** The Glue database of the tables. */
  readonly database: glue.CfnDatabase;
  /** The tables whose `projection.account.values` follow the archive's account folders. */
  readonly tables: readonly glue.CfnTable[];
  /**
   * Time between two scheduled syncs: at most this long, a new account's files are in the archive but not in the
   * tables.
   * @default Duration.hours(1)
   */
  readonly interval?: Duration;
  /**
   * Retention of the function's log group.
   * @default logs.RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * Keeps the `account` partition of an organization's tables current with the archive (docs/queries.md,
 * "Organization tables"): a function lists the account folders under `accountsRoot` and adds the accounts the tables'
 * `projection.account.values` lack, so every named query runs across all accounts without naming one (an `injected`
 * account partition would make Athena reject every query without `account = '…'`).
 *
 * It runs on a schedule (`interval`) and after every deployment of its own stack (CloudFormation writes the
 * configured account list back whenever it updates a table). The archive, not AWS Organizations, is the source:
 * it holds the accounts that have logs (an account that left the organization keeps its evidence queryable), and
 * reading it needs no access to the management account.
 */
export class AccountSync extends Construct {
  /** The function. */
  readonly function: DetectionFunction;
  /** The rule that runs it after each deployment of the stack. */
  readonly deploymentRule: events.Rule;
  /** Where failed invocations end up. */
  readonly deadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: AccountSyncProps) {
    super(scope, id);
    const stack = Stack.of(this);
    if (props.tables.length === 0) throw new Error('AccountSync: tables is empty; pass the tables to keep current');
    const tableNames = props.tables.map((t) => (t.tableInput as glue.CfnTable.TableInputProperty).name as string);

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    for (const [ruleId, reason] of [
      ['AwsSolutions-SQS3', 'This queue is the dead-letter queue of the account sync (schedule and rule).'],
      ['Serverless-SQSRedrivePolicy', 'This queue is a dead-letter queue; the next sync repeats the work anyway.'],
    ]) {
      Validations.of(this.deadLetterQueue.node.defaultChild as sqs.CfnQueue).acknowledge({ id: ruleId, reason });
    }

    this.function = new DetectionFunction(this, 'Function', {
      entry: path.join(HANDLERS, 'account-sync.ts'),
      description: "Trailsight: adds the archive's account folders to the tables' account partition",
      memorySize: 256,
      // One LIST request per account folder (lambda/adapters/s3-archive-reader.ts): thousands of accounts fit.
      timeout: Duration.minutes(5),
      logRetention: props.logRetention ?? logs.RetentionDays.THREE_MONTHS,
      serviceName: 'trailsight-account-sync',
      // One run at a time: two would race on the same tables (each write is checked against the version read).
      reservedConcurrentExecutions: 1,
      environment: {
        [ACCOUNT_SYNC_ENV.archiveBucket]: props.archiveBucketName,
        [ACCOUNT_SYNC_ENV.accountsRoot]: props.accountsRoot,
        [ACCOUNT_SYNC_ENV.database]: props.database.ref,
        [ACCOUNT_SYNC_ENV.tables]: tableNames.join(','),
      },
    });
    const fn = this.function.function;
    // Asynchronous invocations (Scheduler, the rule): two retries, then the dead-letter queue.
    fn.configureAsyncInvoke({ retryAttempts: 2, onFailure: new destinations.SqsDestination(this.deadLetterQueue) });
    Validations.of(fn).acknowledge({
      id: 'Serverless-LambdaDLQ',
      reason: 'Invoked asynchronously with an on-failure destination (the dead-letter queue), which replaces a DLQ.',
    });

    // Reading the folders: ListBucket under the root only.
    const role = this.function.role;
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ListAccountFolders',
        actions: ['s3:ListBucket'],
        resources: [`arn:${stack.partition}:s3:::${props.archiveBucketName}`],
        conditions: { StringLike: { 's3:prefix': [`${props.accountsRoot}*`] } },
      }),
    );
    // Writing the tables: the catalog and database (Glue checks both) and the tables themselves, nothing else.
    const databaseName = props.database.ref;
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'UpdateAccountPartition',
        actions: ['glue:GetTable', 'glue:UpdateTable'],
        resources: [
          stack.formatArn({ service: 'glue', resource: 'catalog' }),
          stack.formatArn({ service: 'glue', resource: 'database', resourceName: databaseName }),
          ...tableNames.map((name) =>
            stack.formatArn({ service: 'glue', resource: 'table', resourceName: `${databaseName}/${name}` }),
          ),
        ],
      }),
    );

    const target = { deadLetterQueue: this.deadLetterQueue, retryAttempts: 2 };
    const schedulerRole = new iam.Role(this, 'SchedulerRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com'),
      description: 'Trailsight: lets EventBridge Scheduler invoke the account sync',
    });
    new scheduler.Schedule(this, 'Schedule', {
      description: "Trailsight: adds new accounts to the tables' account partition",
      schedule: scheduler.ScheduleExpression.rate(props.interval ?? Duration.hours(1)),
      target: new schedulerTargets.LambdaInvoke(fn, { ...target, role: schedulerRole }),
    });
    acknowledgeWildcardResource(
      schedulerRole.node.findChild('DefaultPolicy'),
      `${fn.functionArn}:*`,
      'lambda:InvokeFunction on the account sync and its versions/aliases (the ARN with ":*"), nothing else.',
    );
    // CloudFormation sets projection.account.values back to the template's list whenever it updates a table: a sync
    // right after each deployment (or rollback) of this stack puts the accounts back within a minute.
    this.deploymentRule = new events.Rule(this, 'AfterDeploymentRule', {
      description: 'Trailsight: re-syncs the account partition after each deployment of the analytics stack',
      eventPattern: {
        source: ['aws.cloudformation'],
        detailType: ['CloudFormation Stack Status Change'],
        detail: {
          'stack-id': [Aws.STACK_ID],
          'status-details': { status: ['CREATE_COMPLETE', 'UPDATE_COMPLETE', 'UPDATE_ROLLBACK_COMPLETE'] },
        },
      },
      targets: [new eventsTargets.LambdaFunction(fn, { ...target, maxEventAge: Duration.hours(1) })],
    });
  }
}
