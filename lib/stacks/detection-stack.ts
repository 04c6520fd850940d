import * as path from 'node:path';
import {
  type CfnElement,
  Duration,
  aws_dynamodb as dynamodb,
  aws_events as events,
  aws_events_targets as eventsTargets,
  aws_iam as iam,
  aws_lambda_event_sources as lambdaEventSources,
  type aws_logs as logs,
  RemovalPolicy,
  Stack,
  type StackProps,
  aws_scheduler as scheduler,
  aws_scheduler_targets as schedulerTargets,
  aws_sqs as sqs,
  Token,
  Validations,
} from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { INSIGHT_BUCKET_ENV } from '../../schema/evidence-contract';
import { INSIGHTS_PREFIX } from '../../schema/insights-table';
import type { TrailsightConfig } from '../config';
import { ARCHIVE_KEY_ALIAS, accountOrCurrent, archiveBucketName, insightsBucketName, placementOf } from '../contracts';
import { DetectionFunction } from '../detection/detection-function';
import { InsightAlerting, PipelineMonitoring } from '../detection/insight-alerting';

/** Name of the event bus insights are published to. */
export const INSIGHT_BUS_NAME = 'trailsight';
/** Key prefix of the insight objects written to the archive bucket (the insights Glue table reads it). */
export const INSIGHT_PREFIX = INSIGHTS_PREFIX;
/** Key pattern (EventBridge wildcard) of CloudTrail log files; digests and Insights files do not match. */
export const LOG_FILE_KEY_PATTERN = '*/CloudTrail/*.json.gz';
/** Powertools service name of the functions. */
const SERVICE_NAME = 'trailsight-detection';

const HANDLERS = path.join(__dirname, '..', '..', 'lambda', 'handlers');

/** Properties of a {@link DetectionStack}. */
export interface DetectionStackProps extends StackProps {
  /** The validated configuration. */
  readonly config: TrailsightConfig;
}

/**
 * The serverless detection pipeline: new log files in the archive → EventBridge (default bus) → SQS (+DLQ) →
 * ingest function → DynamoDB state + insights on the `trailsight` bus and in the archive; a scheduled
 * evaluator for what needs time to pass (End events, missed jobs, silent accounts); alert topic, example
 * rule, dashboard and alarms.
 *
 * Deployed in the log archive account and the home Region, next to the bucket whose events it consumes: the
 * bucket's notifications, the reads and the key stay in one account (see docs/pipeline.md, "Placement").
 * The state table is retained; everything else is redeployable.
 */
export class DetectionStack extends Stack {
  readonly table: dynamodb.Table;
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  readonly bus: events.EventBus;
  readonly ingest: DetectionFunction;
  readonly evaluator: DetectionFunction;
  readonly backfill: DetectionFunction;
  readonly logFileRule: events.Rule;
  readonly alerting: InsightAlerting;
  readonly monitoring: PipelineMonitoring;

  constructor(scope: Construct, id: string, props: DetectionStackProps) {
    super(scope, id, props);
    const { config } = props;
    const settings = config.detection;
    const bucketName = archiveBucketName(config);
    const archiveAccount = accountOrCurrent(placementOf(config).logArchive);
    const timeout = Duration.seconds(settings.timeoutSeconds);

    this.table = new dynamodb.Table(this, 'StateTable', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: 'expiresAt',
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // Stateful: a changed logical ID would replace the table and lose every baseline.
    (this.table.node.defaultChild as dynamodb.CfnTable).overrideLogicalId('DetectionStateTable');

    this.bus = new events.EventBus(this, 'InsightBus', { eventBusName: INSIGHT_BUS_NAME });

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    acknowledgeDeadLetterQueue(this.deadLetterQueue, 'the log-file queue and of the rule feeding it');
    this.queue = new sqs.Queue(this, 'LogFileQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // AWS guidance for Lambda event sources: at least 6 × the function timeout, so a retried batch is not
      // handed to a second invocation while the first one still runs.
      visibilityTimeout: Duration.seconds(settings.timeoutSeconds * 6),
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: settings.maxReceiveCount },
    });

    this.logFileRule = new events.Rule(this, 'LogFileCreatedRule', {
      description: 'Trailsight: new CloudTrail log files in the archive bucket (not digests, not Insights files)',
      eventPattern: {
        source: ['aws.s3'],
        detailType: ['Object Created'],
        detail: {
          bucket: { name: [bucketName] },
          object: { key: events.Match.wildcard(LOG_FILE_KEY_PATTERN) },
        },
      },
      targets: [
        new eventsTargets.SqsQueue(this.queue, {
          deadLetterQueue: this.deadLetterQueue,
          retryAttempts: 185,
          maxEventAge: Duration.hours(24),
        }),
      ],
    });

    const common = {
      memorySize: settings.memoryMb,
      timeout,
      logRetention: settings.logRetentionDays as logs.RetentionDays,
      serviceName: SERVICE_NAME,
    };
    const environment = {
      STATE_TABLE_NAME: this.table.tableName,
      EVENT_BUS_NAME: this.bus.eventBusName,
      PUBLISH_TO_DEFAULT_BUS: String(settings.publishToDefaultBus),
      ARCHIVE_BUCKET_NAME: bucketName,
      [INSIGHT_BUCKET_ENV]: insightsBucketName(config),
      INSIGHT_PREFIX,
      DEDUPE_WINDOW_HOURS: String(settings.dedupeWindowHours),
      DETECTOR_CONFIG: JSON.stringify(settings.detector),
    };
    this.ingest = new DetectionFunction(this, 'Ingest', {
      ...common,
      entry: path.join(HANDLERS, 'ingest.ts'),
      description: 'Trailsight: reads new CloudTrail log files, updates baselines, emits insights',
      reservedConcurrentExecutions: settings.reservedConcurrency,
      environment,
    });
    this.ingest.function.addEventSource(
      new lambdaEventSources.SqsEventSource(this.queue, {
        batchSize: settings.batchSize,
        maxBatchingWindow:
          settings.maxBatchingWindowSeconds > 0 ? Duration.seconds(settings.maxBatchingWindowSeconds) : undefined,
        reportBatchItemFailures: true,
      }),
    );
    Validations.of(this.ingest.function).acknowledge({
      id: 'Serverless-LambdaEventSourceMappingDestination',
      reason:
        "SQS event source mappings take no on-failure destination: failed files move to the queue's dead-letter queue (redrive policy).",
    });
    Validations.of(this.ingest.function).acknowledge({
      id: 'Serverless-LambdaDLQ',
      reason: 'Invoked synchronously by the SQS event source mapping; the queue has the dead-letter queue.',
    });

    this.evaluator = new DetectionFunction(this, 'Evaluator', {
      ...common,
      entry: path.join(HANDLERS, 'evaluate.ts'),
      description: 'Trailsight: scheduled evaluation (End events, missed jobs, silent accounts and Regions)',
      // One evaluator at a time: a late run never races the next one over the same partitions.
      reservedConcurrentExecutions: 1,
      environment,
    });
    const scheduleDeadLetters = new sqs.Queue(this, 'ScheduleDeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    acknowledgeDeadLetterQueue(scheduleDeadLetters, 'the evaluator schedule');
    // The schedule's role, next to the function it invokes (not at stack level).
    const schedulerRole = new iam.Role(this.evaluator, 'SchedulerRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com'),
      description: 'Trailsight: lets EventBridge Scheduler invoke the evaluator',
    });
    new scheduler.Schedule(this, 'EvaluatorSchedule', {
      description: 'Trailsight: runs the detection evaluator',
      schedule: scheduler.ScheduleExpression.rate(Duration.minutes(settings.scheduleMinutes)),
      target: new schedulerTargets.LambdaInvoke(this.evaluator.function, {
        // The scheduled time, not the invocation time: a retried run evaluates the same instant.
        input: scheduler.ScheduleTargetInput.fromObject({ time: scheduler.ContextAttribute.scheduledTime }),
        role: schedulerRole,
        deadLetterQueue: scheduleDeadLetters,
        retryAttempts: 2,
        maxEventAge: Duration.minutes(settings.scheduleMinutes),
      }),
    });
    Validations.of(schedulerRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${this.getLogicalId(this.evaluator.function.node.defaultChild as CfnElement)}.Arn>:*]`,
      reason: 'lambda:InvokeFunction on the evaluator and its versions/aliases (the ARN with ":*"), nothing else.',
    });
    Validations.of(this.evaluator.function).acknowledge({
      id: 'Serverless-LambdaDLQ',
      reason: 'Invoked by EventBridge Scheduler, whose target has the dead-letter queue and retry policy.',
    });

    this.backfill = new DetectionFunction(this, 'Backfill', {
      ...common,
      // A replay slice stops a minute before this and returns where to continue.
      timeout: Duration.minutes(15),
      entry: path.join(HANDLERS, 'backfill.ts'),
      description: 'Trailsight: replays archived history into baselines (invoked by an operator, docs/pipeline.md)',
      reservedConcurrentExecutions: 1,
      environment,
    });
    Validations.of(this.backfill.function).acknowledge({
      id: 'Serverless-LambdaDLQ',
      reason: 'Invoked synchronously by an operator, who sees the result; there is no asynchronous event to keep.',
    });

    this.grantPipelineAccess(config, bucketName, archiveAccount, placementOf(config).logArchive ?? '<AWS::AccountId>');

    this.alerting = new InsightAlerting(this, 'Alerting', { bus: this.bus, emails: settings.alarmEmails });
    this.monitoring = new PipelineMonitoring(this, 'Monitoring', {
      ingestFunction: this.ingest.function,
      evaluatorFunction: this.evaluator.function,
      queue: this.queue,
      deadLetterQueue: this.deadLetterQueue,
      lagThreshold: Duration.minutes(settings.lagAlarmMinutes),
      topic: this.alerting.topic,
      serviceName: SERVICE_NAME,
    });
  }

  /**
   * Least privilege, by name from configuration (the archive lives in another stack): read only the log
   * prefix, write only the insight prefix, use only the archive key (found by its alias), read and write
   * only the state table, publish only to the insight bus (and the default bus when configured).
   */
  private grantPipelineAccess(
    config: TrailsightConfig,
    bucketName: string,
    archiveAccount: string,
    nagAccount: string,
  ): void {
    const partition = this.partition;
    // How cdk-nag prints these resources (tokens as <AWS::...>), for the acknowledgements.
    const nagPartition = Token.isUnresolved(partition) ? '<AWS::Partition>' : partition;
    const nagBucket = `arn:${nagPartition}:s3:::trailsight-archive-${nagAccount}-${config.homeRegion}`;
    const bucketArn = `arn:${partition}:s3:::${bucketName}`;
    const keyArns = `arn:${partition}:kms:${config.homeRegion}:${archiveAccount}:key/*`;
    const byAlias = { 'ForAnyValue:StringEquals': { 'kms:ResourceAliases': ARCHIVE_KEY_ALIAS } };
    const defaultBusArn = `arn:${partition}:events:${this.region}:${this.account}:event-bus/default`;

    for (const fn of [this.ingest, this.evaluator]) {
      const role = fn.role;
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'WriteInsightObjects',
          actions: ['s3:PutObject'],
          resources: [`arn:${partition}:s3:::${insightsBucketName(config)}/${INSIGHT_PREFIX}*`],
        }),
      );
      this.table.grant(role, 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Scan');
      this.bus.grantPutEventsTo(role);
      if (config.detection.publishToDefaultBus) {
        role.addToPrincipalPolicy(
          new iam.PolicyStatement({
            sid: 'PublishToDefaultBus',
            actions: ['events:PutEvents'],
            resources: [defaultBusArn],
          }),
        );
      }
      Validations.of(role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::arn:${nagPartition}:s3:::trailsight-insights-${nagAccount}-${config.homeRegion}/${INSIGHT_PREFIX}*]`,
        reason: 'Writes one object per insight under the insight prefix only.',
      });
      Validations.of(role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::arn:${nagPartition}:kms:${config.homeRegion}:${nagAccount}:key/*]`,
        reason:
          'The archive key is in another stack; the statement is narrowed to it by the kms:ResourceAliases condition (alias/trailsight/archive).',
      });
    }
    // The ingest and backfill functions read log files; the evaluator never does.
    this.table.grant(this.backfill.role, 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Scan');
    this.backfill.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ListLogFiles',
        actions: ['s3:ListBucket'],
        resources: [bucketArn],
        conditions: { StringLike: { 's3:prefix': ['AWSLogs/*'] } },
      }),
    );
    for (const reader of [this.backfill.role]) {
      reader.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'ReadLogFiles',
          actions: ['s3:GetObject', 's3:GetObjectVersion'],
          resources: [`${bucketArn}/AWSLogs/*`],
        }),
      );
      reader.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'UseArchiveKey',
          actions: ['kms:Decrypt'],
          resources: [keyArns],
          conditions: byAlias,
        }),
      );
      Validations.of(reader).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${nagBucket}/AWSLogs/*]`,
        reason: 'Reads any CloudTrail log file under the AWSLogs/ prefix, which is what it replays.',
      });
      Validations.of(reader).acknowledge({
        id: `AwsSolutions-IAM5[Resource::arn:${nagPartition}:kms:${config.homeRegion}:${nagAccount}:key/*]`,
        reason:
          'The archive key is in another stack; the statement is narrowed to it by the kms:ResourceAliases condition (alias/trailsight/archive).',
      });
    }
    this.ingest.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ReadLogFiles',
        actions: ['s3:GetObject', 's3:GetObjectVersion'],
        resources: [`${bucketArn}/AWSLogs/*`],
      }),
    );
    Validations.of(this.ingest.role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${nagBucket}/AWSLogs/*]`,
      reason: 'Reads any CloudTrail log file under the AWSLogs/ prefix, which is what it processes.',
    });
    this.ingest.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'UseArchiveKey',
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: [keyArns],
        conditions: byAlias,
      }),
    );
    this.evaluator.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'UseArchiveKey',
        actions: ['kms:GenerateDataKey'],
        resources: [keyArns],
        conditions: byAlias,
      }),
    );
  }
}

/** A dead-letter queue is the end of the line: it has no DLQ or redrive policy of its own. */
export function acknowledgeDeadLetterQueue(queue: sqs.Queue, of: string): void {
  // On the queue resource itself, never on a scope holding other resources.
  const resource = queue.node.defaultChild as sqs.CfnQueue;
  Validations.of(resource).acknowledge({
    id: 'AwsSolutions-SQS3',
    reason: `This queue is the dead-letter queue of ${of}.`,
  });
  Validations.of(resource).acknowledge({
    id: 'Serverless-SQSRedrivePolicy',
    reason: `This queue is the dead-letter queue of ${of}; its messages are inspected and redriven by an operator.`,
  });
}
