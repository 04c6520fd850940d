import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  type CfnElement,
  Duration,
  aws_dynamodb as dynamodb,
  aws_events as events,
  aws_events_targets as eventsTargets,
  aws_iam as iam,
  type aws_lambda as lambda,
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
import { ENV, INSIGHT_BUS_NAME } from '../../schema/detection-contract';
import { INSIGHTS_PREFIX } from '../../schema/insights-table';
import type { TrailsightConfig } from '../config';
import {
  ARCHIVE_KEY_ALIAS,
  type ArchiveSource,
  archiveDecrypt,
  archiveSource,
  digestKeyPattern,
  insightsBucketName,
  insightsKeyAlias,
  logFileKeyPattern,
  placementOf,
} from '../contracts';
import { DetectionFunction } from '../detection/detection-function';
import { InsightAlerting, PipelineMonitoring } from '../detection/insight-alerting';
import { RuleMatchAlerting } from '../detection/rule-match-alerting';

/** Name of the event bus insights are published to. */
export { INSIGHT_BUS_NAME };
/** Key prefix of the insight objects written to the insights bucket (the insights Glue table reads it). */
export const INSIGHT_PREFIX = INSIGHTS_PREFIX;
/** Powertools service name of the functions. */
const SERVICE_NAME = 'trailsight-detection';

const HANDLERS = path.join(__dirname, '..', '..', 'lambda', 'handlers');
/** The built-in rule pack, copied into the ingest's bundle (lambda/core/rules/load.ts reads it at cold start). */
const BUILTIN_RULES = path.join(__dirname, '..', '..', 'rules');
/** Where the bundled handler finds the built-in pack: `rules/` beside it (the esbuild define load.ts reads). */
export const RULES_DEFINE = { TRAILSIGHT_RULES_DIR: JSON.stringify('./rules') };

/** Properties of a {@link DetectionStack}. */
export interface DetectionStackProps extends StackProps {
  /** The validated configuration. */
  readonly config: TrailsightConfig;
}

/**
 * The serverless detection pipeline (docs/pipeline.md):
 *
 * - new log files in the archive → EventBridge (default bus) → SQS (+ DLQ) → **ingest** function: reads each
 *   file, reduces it to a delta and records it once in the data table (the file's "applied" marker);
 * - EventBridge Scheduler every `scheduleMinutes` → **coordinator** → one message per scan segment on the
 *   evaluation queue (+ DLQ) → **evaluator** invocations in parallel: each advances the partitions of its
 *   segment (apply recorded files and due ticks in delivery order, compact, publish insights to the `trailsight`
 *   bus and the insights bucket); an insight the bus refuses for good goes to the insight dead-letter queue;
 * - the **backfill** function replays archived history; the alert topic, an example rule, a dashboard and alarms
 *   whose descriptions say what to do.
 *
 * Deployed in the log archive account and the home Region, next to the bucket whose events it consumes.
 * The state tables are retained; everything else is redeployable.
 */
export class DetectionStack extends Stack {
  /** One item per account + Region: the partition's head (hot state, due time, outbox). */
  readonly headsTable: dynamodb.Table;
  /** Per-file deltas (the applied markers), the late index and the partitions' state pages. */
  readonly dataTable: dynamodb.Table;
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  readonly evaluationQueue: sqs.Queue;
  readonly evaluationDeadLetterQueue: sqs.Queue;
  readonly insightDeadLetterQueue: sqs.Queue;
  readonly bus: events.EventBus;
  readonly ingest: DetectionFunction;
  readonly coordinator: DetectionFunction;
  readonly evaluator: DetectionFunction;
  readonly backfill: DetectionFunction;
  readonly logFileRule: events.Rule;
  readonly alerting: InsightAlerting;
  /** Rule matches at `detection.rules.alertLevel` or above → the alert topic (when the rules are enabled). */
  readonly ruleAlerting?: RuleMatchAlerting;
  readonly monitoring: PipelineMonitoring;

  constructor(scope: Construct, id: string, props: DetectionStackProps) {
    super(scope, id, props);
    const { config } = props;
    const settings = config.detection;
    // The archive: Trailsight's own, or an existing one (archive.existing), whose prefix and key the grants follow.
    const archive = archiveSource(config);
    const bucketName = archive.bucketName;
    const timeout = Duration.seconds(settings.timeoutSeconds);

    const stateTable = (tableId: string, logicalId: string, sortKey: boolean) => {
      const table = new dynamodb.Table(this, tableId, {
        partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
        ...(sortKey ? { sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING } } : {}),
        billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
        encryption: dynamodb.TableEncryption.AWS_MANAGED,
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        ...(sortKey ? { timeToLiveAttribute: 'expiresAt' } : {}),
        deletionProtection: true,
        removalPolicy: RemovalPolicy.RETAIN,
      });
      // Stateful: a changed logical ID would replace the table and lose every baseline.
      (table.node.defaultChild as dynamodb.CfnTable).overrideLogicalId(logicalId);
      return table;
    };
    this.headsTable = stateTable('HeadsTable', 'DetectionHeadsTable', false);
    this.dataTable = stateTable('DataTable', 'DetectionDataTable', true);

    this.bus = new events.EventBus(this, 'InsightBus', { eventBusName: INSIGHT_BUS_NAME });

    const deadLetterQueue = (queueId: string, of: string) => {
      const q = new sqs.Queue(this, queueId, {
        encryption: sqs.QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        retentionPeriod: Duration.days(14),
      });
      acknowledgeDeadLetterQueue(q, of);
      return q;
    };
    this.deadLetterQueue = deadLetterQueue('DeadLetterQueue', 'the log-file queue and of the rule feeding it');
    this.queue = new sqs.Queue(this, 'LogFileQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // AWS guidance for Lambda event sources: at least 6 × the function timeout, so a retried batch is not
      // handed to a second invocation while the first one still runs.
      visibilityTimeout: Duration.seconds(settings.timeoutSeconds * 6),
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: settings.maxReceiveCount },
    });
    this.evaluationDeadLetterQueue = deadLetterQueue('EvaluationDeadLetterQueue', 'the evaluation queue');
    this.evaluationQueue = new sqs.Queue(this, 'EvaluationQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: Duration.seconds(settings.timeoutSeconds * 6),
      // A segment message is only worth its scheduled time: the next evaluation covers the same partitions.
      retentionPeriod: Duration.hours(1),
      deadLetterQueue: { queue: this.evaluationDeadLetterQueue, maxReceiveCount: settings.maxReceiveCount },
    });
    this.insightDeadLetterQueue = deadLetterQueue('InsightDeadLetterQueue', 'insights the bus refused for good');

    this.logFileRule = new events.Rule(this, 'LogFileCreatedRule', {
      description: 'Trailsight: new CloudTrail log files in the archive bucket (not digests, not Insights files)',
      eventPattern: {
        source: ['aws.s3'],
        detailType: ['Object Created'],
        detail: {
          bucket: { name: [bucketName] },
          object: {
            key: events.Match.anyOf(
              events.Match.wildcard(logFileKeyPattern(archive.readPrefix)),
              events.Match.wildcard(digestKeyPattern(archive.readPrefix)),
            ),
          },
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
    // One engine configuration for every function: the evaluator's period is part of it (the CLI replays the
    // same ticks from it).
    const detector = { ...settings.detector, tickMinutes: settings.scheduleMinutes };
    const environment: Record<string, string> = {
      [ENV.headsTable]: this.headsTable.tableName,
      [ENV.dataTable]: this.dataTable.tableName,
      [ENV.eventBus]: this.bus.eventBusName,
      [ENV.publishToDefaultBus]: String(settings.publishToDefaultBus),
      [ENV.archiveBucket]: bucketName,
      // The backfill's default and allowed prefix: the archive's read prefix.
      [ENV.archivePrefix]: archive.readPrefix,
      [ENV.insightBucket]: insightsBucketName(config),
      [ENV.insightPrefix]: INSIGHT_PREFIX,
      [ENV.dedupeRetentionDays]: String(settings.dedupeRetentionDays),
      [ENV.detectorConfig]: JSON.stringify(detector),
      [ENV.insightDeadLetterQueueUrl]: this.insightDeadLetterQueue.queueUrl,
    };
    const rules = settings.rules.enabled ? bundledRules(settings.rules) : undefined;
    this.ingest = new DetectionFunction(this, 'Ingest', {
      ...common,
      entry: path.join(HANDLERS, 'ingest.ts'),
      description: 'Trailsight: reads new CloudTrail log files and records each one (its delta) for the evaluator',
      reservedConcurrentExecutions: settings.reservedConcurrency,
      environment: rules ? { ...environment, [ENV.rulesConfig]: JSON.stringify(rules.config) } : environment,
      ...(rules ? { bundledFiles: rules.files, define: RULES_DEFINE } : {}),
    });
    this.ingest.function.addEventSource(
      new lambdaEventSources.SqsEventSource(this.queue, {
        batchSize: settings.batchSize,
        maxBatchingWindow:
          settings.maxBatchingWindowSeconds > 0 ? Duration.seconds(settings.maxBatchingWindowSeconds) : undefined,
        reportBatchItemFailures: true,
        // Never more pollers than reserved executions: throttled invocations would burn receive counts and
        // send good files to the dead-letter queue.
        maxConcurrency: Math.max(2, settings.reservedConcurrency),
      }),
    );
    acknowledgeQueueConsumer(this.ingest.function, 'the log-file queue');

    this.coordinator = new DetectionFunction(this, 'Coordinator', {
      ...common,
      timeout: Duration.seconds(60),
      entry: path.join(HANDLERS, 'coordinate.ts'),
      description: 'Trailsight: splits each scheduled evaluation into scan segments on the evaluation queue',
      // One at a time: a late run never overlaps the next one.
      reservedConcurrentExecutions: 1,
      environment: { ...environment, [ENV.evaluationQueueUrl]: this.evaluationQueue.queueUrl },
    });
    this.evaluator = new DetectionFunction(this, 'Evaluator', {
      ...common,
      entry: path.join(HANDLERS, 'evaluate.ts'),
      description:
        'Trailsight: advances the partitions of a scan segment (applies files and ticks, publishes insights)',
      reservedConcurrentExecutions: settings.evaluatorConcurrency,
      environment,
    });
    this.evaluator.function.addEventSource(
      new lambdaEventSources.SqsEventSource(this.evaluationQueue, {
        batchSize: 1,
        reportBatchItemFailures: true,
        maxConcurrency: Math.max(2, settings.evaluatorConcurrency),
      }),
    );
    acknowledgeQueueConsumer(this.evaluator.function, 'the evaluation queue');

    const scheduleDeadLetters = deadLetterQueue('ScheduleDeadLetterQueue', 'the evaluation schedule');
    // The schedule's role, next to the function it invokes (not at stack level).
    const schedulerRole = new iam.Role(this.coordinator, 'SchedulerRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com'),
      description: 'Trailsight: lets EventBridge Scheduler invoke the evaluation coordinator',
    });
    new scheduler.Schedule(this, 'EvaluatorSchedule', {
      description: 'Trailsight: runs the detection evaluation',
      schedule: scheduler.ScheduleExpression.rate(Duration.minutes(settings.scheduleMinutes)),
      target: new schedulerTargets.LambdaInvoke(this.coordinator.function, {
        // The scheduled time, not the invocation time: a retried run evaluates the same instant.
        input: scheduler.ScheduleTargetInput.fromObject({ time: scheduler.ContextAttribute.scheduledTime }),
        role: schedulerRole,
        deadLetterQueue: scheduleDeadLetters,
        retryAttempts: 2,
        maxEventAge: Duration.minutes(settings.scheduleMinutes),
      }),
    });
    Validations.of(schedulerRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${this.getLogicalId(this.coordinator.function.node.defaultChild as CfnElement)}.Arn>:*]`,
      reason: 'lambda:InvokeFunction on the coordinator and its versions/aliases (the ARN with ":*"), nothing else.',
    });
    Validations.of(this.coordinator.function).acknowledge({
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

    this.grantPipelineAccess(config, archive, placementOf(config).logArchive ?? '<AWS::AccountId>');

    this.alerting = new InsightAlerting(this, 'Alerting', { bus: this.bus, emails: settings.alarmEmails });
    if (rules) {
      // The ingest puts rule matches on the bus; their group markers are in the data table (granted below).
      this.bus.grantPutEventsTo(this.ingest.role);
      this.ruleAlerting = new RuleMatchAlerting(this, 'RuleAlerting', {
        bus: this.bus,
        topic: this.alerting.topic,
        deadLetterQueue: this.alerting.deadLetterQueue,
        minLevel: settings.rules.alertLevel,
      });
    }
    this.monitoring = new PipelineMonitoring(this, 'Monitoring', {
      functions: {
        ingest: this.ingest.function,
        coordinator: this.coordinator.function,
        evaluator: this.evaluator.function,
      },
      queue: this.queue,
      deadLetterQueue: this.deadLetterQueue,
      evaluationDeadLetterQueue: this.evaluationDeadLetterQueue,
      insightDeadLetterQueue: this.insightDeadLetterQueue,
      lagThreshold: Duration.minutes(settings.lagAlarmMinutes),
      topic: this.alerting.topic,
      serviceName: SERVICE_NAME,
    });
  }

  /**
   * Least privilege, by name from configuration (the archive lives in another stack): each function gets the
   * table actions it calls, read of the log prefix where it reads logs, write of the insight prefix, the
   * archive key (found by its alias), the bus (and the default bus when configured), and its queues.
   */
  private grantPipelineAccess(config: TrailsightConfig, archive: ArchiveSource, nagAccount: string): void {
    const partition = this.partition;
    // How cdk-nag prints these resources (tokens as <AWS::...>), for the acknowledgements.
    const nagPartition = Token.isUnresolved(partition) ? '<AWS::Partition>' : partition;
    const nagBucket = archive.existing
      ? `arn:${nagPartition}:s3:::${archive.bucketName}`
      : `arn:${nagPartition}:s3:::trailsight-archive-${nagAccount}-${config.homeRegion}`;
    const nagInsights = `arn:${nagPartition}:s3:::trailsight-insights-${nagAccount}-${config.homeRegion}`;
    const bucketArn = `arn:${partition}:s3:::${archive.bucketName}`;
    const archiveKey = archiveDecrypt(archive.key, partition);
    // The insights key: the archive key, or the insights key next to an existing archive; in this account either way.
    const insightsKey = archiveDecrypt(
      { kind: 'alias', alias: insightsKeyAlias(config), account: this.account, region: config.homeRegion },
      partition,
    ) as { resource: string; conditions: Record<string, Record<string, string>> };
    const defaultBusArn = `arn:${partition}:events:${this.region}:${this.account}:event-bus/default`;
    const keyAck = (role: iam.IRole, alias: string) =>
      Validations.of(role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::arn:${nagPartition}:kms:${config.homeRegion}:${nagAccount}:key/*]`,
        reason: `The key is in another stack; the statement is narrowed to it by the kms:ResourceAliases condition (${alias}).`,
      });

    // Log files: the ingest and the backfill read them; the evaluator and the backfill list them (the
    // delivery check, the replay). Only under the archive's read prefix (in an existing archive, the configured
    // trail's folder, not the bucket's other objects).
    for (const reader of [this.ingest.role, this.backfill.role]) {
      reader.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'ReadLogFiles',
          actions: ['s3:GetObject', 's3:GetObjectVersion'],
          resources: [`${bucketArn}/${archive.readPrefix}*`],
        }),
      );
      if (archiveKey) {
        reader.addToPrincipalPolicy(
          new iam.PolicyStatement({
            sid: 'UseArchiveKey',
            actions: ['kms:Decrypt'],
            resources: [archiveKey.resource],
            conditions: archiveKey.conditions,
          }),
        );
        if (archiveKey.wildcard) keyAck(reader, ARCHIVE_KEY_ALIAS);
      }
      Validations.of(reader).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${nagBucket}/${archive.readPrefix}*]`,
        reason: `Reads any CloudTrail log file under the ${archive.readPrefix} prefix, which is what it processes.`,
      });
    }
    for (const lister of [this.evaluator.role, this.backfill.role]) {
      lister.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'ListLogFiles',
          actions: ['s3:ListBucket'],
          resources: [bucketArn],
          conditions: { StringLike: { 's3:prefix': [`${archive.readPrefix}*`] } },
        }),
      );
    }

    // Insights: the evaluator (and the backfill's merge, which publishes nothing) writes them.
    const insightObjects = `arn:${partition}:s3:::${insightsBucketName(config)}/${INSIGHT_PREFIX}*`;
    this.evaluator.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ sid: 'WriteInsightObjects', actions: ['s3:PutObject'], resources: [insightObjects] }),
    );
    // The insights bucket is encrypted with its key behind a Bucket Key: writing needs a data key.
    this.evaluator.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'EncryptInsights',
        actions: ['kms:GenerateDataKey'],
        resources: [insightsKey.resource],
        conditions: insightsKey.conditions,
      }),
    );
    Validations.of(this.evaluator.role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${nagInsights}/${INSIGHT_PREFIX}*]`,
      reason: 'Writes one object per insight under the insight prefix of the insights bucket only.',
    });
    keyAck(this.evaluator.role, insightsKeyAlias(config));
    this.bus.grantPutEventsTo(this.evaluator.role);
    if (config.detection.publishToDefaultBus) {
      this.evaluator.role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'PublishToDefaultBus',
          actions: ['events:PutEvents'],
          resources: [defaultBusArn],
        }),
      );
    }
    this.insightDeadLetterQueue.grantSendMessages(this.evaluator.role);
    this.evaluationQueue.grantSendMessages(this.coordinator.role);

    // State: each function gets the table actions it calls (lambda/adapters/dynamodb-state-store.ts).
    this.headsTable.grant(this.ingest.role, 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem');
    this.dataTable.grant(
      this.ingest.role,
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'dynamodb:BatchWriteItem',
    );
    this.headsTable.grant(this.coordinator.role, 'dynamodb:DescribeTable');
    for (const advancer of [this.evaluator.role, this.backfill.role]) {
      this.headsTable.grant(advancer, 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:Scan');
      this.dataTable.grant(
        advancer,
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
        'dynamodb:Query',
        'dynamodb:BatchGetItem',
        'dynamodb:BatchWriteItem',
      );
    }
  }
}

/**
 * The ingest's rule configuration and the files its bundle carries: the built-in pack at `rules/`, each configured
 * folder at `user-rules/<n>/<its name>` with its nearest licence notice (SigmaHQ's rules are credited by it), the
 * folders in the configuration rewritten to those places (the handler resolves them against its own folder).
 */
export function bundledRules(settings: TrailsightConfig['detection']['rules']): {
  config: Record<string, unknown>;
  files: { source: string; target: string }[];
} {
  const files = [{ source: BUILTIN_RULES, target: 'rules' }];
  const folders = settings.folders.map((entry, n) => {
    const folder = typeof entry === 'string' ? { path: entry } : entry;
    const source = path.resolve(folder.path);
    if (!fs.existsSync(source)) {
      throw new Error(
        `detection.rules.folders[${n}] = "${folder.path}": no such folder (relative paths are read from ${process.cwd()})`,
      );
    }
    const target = `user-rules/${n}/${path.basename(source)}`;
    files.push({ source, target });
    const notice = licenceNotice(source);
    if (notice) files.push({ source: notice, target: `${target}/${path.basename(notice)}` });
    return { ...folder, path: target };
  });
  const { enabled: _enabled, alertLevel: _alertLevel, ...engine } = settings;
  const config = { ...engine, folders };
  const chars = JSON.stringify(config).length;
  if (chars > MAX_RULES_CONFIG_CHARS) {
    throw new Error(
      `detection.rules is ${chars} characters as JSON, more than the ${MAX_RULES_CONFIG_CHARS} the ingest's environment can hold (Lambda allows 4 KB of environment variables per function): shorten allow, placeholders, enable or disable, e.g. with * wildcards`,
    );
  }
  return { config, files };
}

/** What the rule configuration may take of the ingest's 4 KB of environment variables (the rest: names, tables). */
const MAX_RULES_CONFIG_CHARS = 2048;

/** The nearest `LICENSE-SigmaHQ.md` or `LICENSE` in a folder or its parents (the credit its rules ask for). */
function licenceNotice(folder: string): string | undefined {
  let dir = folder;
  for (let depth = 0; depth < 8; depth++) {
    for (const name of ['LICENSE-SigmaHQ.md', 'LICENSE']) {
      const candidate = path.join(dir, name);
      if (fs.existsSync(candidate)) return candidate;
    }
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return undefined;
}

/** A function fed by an SQS event source mapping: failures go to the queue's own dead-letter queue. */
function acknowledgeQueueConsumer(fn: lambda.IFunction, queue: string): void {
  Validations.of(fn).acknowledge({
    id: 'Serverless-LambdaEventSourceMappingDestination',
    reason: `SQS event source mappings take no on-failure destination: failed messages move to the dead-letter queue of ${queue} (redrive policy).`,
  });
  Validations.of(fn).acknowledge({
    id: 'Serverless-LambdaDLQ',
    reason: `Invoked synchronously by the SQS event source mapping; ${queue} has the dead-letter queue.`,
  });
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
