import {
  aws_cloudwatch as cloudwatch,
  aws_cloudwatch_actions as cwActions,
  Duration,
  aws_events as events,
  aws_events_targets as eventsTargets,
  aws_iam as iam,
  aws_kms as kms,
  type aws_lambda as lambda,
  RemovalPolicy,
  aws_sns as sns,
  aws_sqs as sqs,
  aws_sns_subscriptions as subscriptions,
  Validations,
} from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { METRIC, METRICS_NAMESPACE } from '../../schema/detection-contract';

/**
 * Detectors whose insights page someone (the example rule): identity changes, enumeration, permission
 * probing and a trail that stopped delivering. Rate spikes and missed jobs stay on the bus for dashboards
 * and users' own rules.
 */
export const HIGH_SEVERITY_DETECTORS = [
  'iam-burst',
  'recon',
  'access-denied',
  'delivery-gap',
  'unused-region',
  's3-exfiltration',
  'console-brute-force',
] as const;

/** Properties of {@link InsightAlerting}. */
export interface InsightAlertingProps {
  /** The bus insights are published to. */
  readonly bus: events.IEventBus;
  /** Email addresses subscribed to the topic (each must confirm). */
  readonly emails: readonly string[];
}

/**
 * The alert topic (KMS-encrypted, TLS only) with optional email subscriptions, and the example rule that
 * sends the Start of every high-severity insight to it. CloudWatch alarms of the pipeline publish here too.
 */
export class InsightAlerting extends Construct {
  /** The alert topic. */
  readonly topic: sns.Topic;
  /** The example rule: high-severity insights → topic. */
  readonly highSeverityRule: events.Rule;
  /** Where the rule puts notifications it could not deliver. */
  readonly deadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: InsightAlertingProps) {
    super(scope, id);
    // A customer managed key: CloudWatch alarms and EventBridge cannot publish to a topic under the AWS
    // managed SNS key, whose policy cannot be changed.
    const key = new kms.Key(this, 'TopicKey', {
      description: 'Trailsight: encrypts the alert topic',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    for (const service of ['cloudwatch.amazonaws.com', 'events.amazonaws.com']) {
      key.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: `Publish${service.split('.')[0]}`,
          principals: [new iam.ServicePrincipal(service)],
          actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          resources: ['*'],
        }),
      );
    }
    this.topic = new sns.Topic(this, 'Topic', {
      displayName: 'Trailsight alerts',
      masterKey: key,
      enforceSSL: true,
    });
    this.deadLetterQueue = new sqs.Queue(this, 'NotificationDeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    for (const [ruleId, reason] of [
      [
        'AwsSolutions-SQS3',
        'This queue is the dead-letter queue of the alert rule target and the email subscriptions.',
      ],
      ['Serverless-SQSRedrivePolicy', 'This queue is a dead-letter queue; an operator inspects and redrives it.'],
    ]) {
      Validations.of(this.deadLetterQueue).acknowledge({ id: ruleId, reason });
    }
    for (const email of props.emails) {
      this.topic.addSubscription(new subscriptions.EmailSubscription(email, { deadLetterQueue: this.deadLetterQueue }));
    }

    this.highSeverityRule = new events.Rule(this, 'HighSeverityRule', {
      description: 'Trailsight example rule: the Start of high-severity insights to the alert topic',
      eventBus: props.bus,
      eventPattern: {
        source: ['trailsight'],
        detailType: ['Trailsight Insight'],
        detail: {
          insightDetails: { state: ['Start'] },
          trailsight: { detector: [...HIGH_SEVERITY_DETECTORS] },
        },
      },
      targets: [
        new eventsTargets.SnsTopic(this.topic, {
          deadLetterQueue: this.deadLetterQueue,
          retryAttempts: 20,
          maxEventAge: Duration.hours(6),
          message: events.RuleTargetInput.fromText(
            `Trailsight ${events.EventField.fromPath('$.detail.trailsight.detector')} insight in ${events.EventField.fromPath('$.detail.recipientAccountId')}/${events.EventField.fromPath('$.detail.awsRegion')}: ${events.EventField.fromPath('$.detail.trailsight.explanation')}`,
          ),
        }),
      ],
    });
  }
}

/** Properties of {@link PipelineMonitoring}. */
export interface PipelineMonitoringProps {
  /** The pipeline's functions (their errors are alarmed). */
  readonly functions: {
    readonly ingest: lambda.IFunction;
    readonly coordinator: lambda.IFunction;
    readonly evaluator: lambda.IFunction;
  };
  readonly queue: sqs.IQueue;
  readonly deadLetterQueue: sqs.IQueue;
  readonly evaluationDeadLetterQueue: sqs.IQueue;
  readonly insightDeadLetterQueue: sqs.IQueue;
  /** Alarm when the oldest queued file (or the processing lag) exceeds this. */
  readonly lagThreshold: Duration;
  /** Alarms notify this topic. */
  readonly topic: sns.ITopic;
  /** Powertools service name of the functions (the `service` dimension of their metrics). */
  readonly serviceName: string;
}

/**
 * The pipeline's CloudWatch dashboard and alarms. Every alarm's description is its runbook line: what it
 * means and what to do (docs/pipeline.md, "Operations"). Alarms notify the alert topic.
 */
export class PipelineMonitoring extends Construct {
  readonly dashboard: cloudwatch.Dashboard;
  readonly alarms: cloudwatch.Alarm[];

  constructor(scope: Construct, id: string, props: PipelineMonitoringProps) {
    super(scope, id);
    const period = Duration.minutes(5);
    const custom = (metricName: string, statistic = 'Sum', dimensionsMap: Record<string, string> = {}) =>
      new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName,
        statistic,
        period,
        dimensionsMap: { service: props.serviceName, ...dimensionsMap },
      });
    const depth = (q: sqs.IQueue) => q.metricApproximateNumberOfMessagesVisible({ period, statistic: 'Maximum' });
    const dlqDepth = depth(props.deadLetterQueue);
    const oldest = props.queue.metricApproximateAgeOfOldestMessage({ period, statistic: 'Maximum' });
    const lag = custom(METRIC.deliveryLagSeconds, 'Maximum');
    const action = new cwActions.SnsAction(props.topic);
    const alarm = (
      alarmId: string,
      metric: cloudwatch.IMetric,
      threshold: number,
      description: string,
      periods = 1,
    ) => {
      const a = new cloudwatch.Alarm(this, alarmId, {
        metric,
        threshold,
        evaluationPeriods: periods,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
      });
      a.addAlarmAction(action);
      a.addOkAction(action);
      return a;
    };
    const errors = (fn: lambda.IFunction) => fn.metricErrors({ period, statistic: 'Sum' });
    const lagSeconds = props.lagThreshold.toSeconds();
    this.alarms = [
      alarm(
        'DeadLetterAlarm',
        dlqDepth,
        1,
        'Log files reached the dead-letter queue. Read each file\'s reason in the ingest logs ("file failed", kind: corrupt-file, access-denied, too-large, read-failed), fix the cause, then redrive: aws sqs start-message-move-task --source-arn <dead-letter queue ARN> --destination-arn <log-file queue ARN>. Files recorded meanwhile are skipped as duplicates; files older than the evaluator are applied as late files (docs/pipeline.md).',
      ),
      alarm(
        'EvaluationDeadLetterAlarm',
        depth(props.evaluationDeadLetterQueue),
        1,
        'An evaluation segment failed on every attempt (the scan of its partitions failed). Read the evaluator logs; later evaluations cover the same partitions, so once fixed purge the dead-letter queue (aws sqs purge-queue).',
      ),
      alarm(
        'InsightDeadLetterAlarm',
        depth(props.insightDeadLetterQueue),
        1,
        "The insight bus refused an insight on every attempt; the rest of its partition's insights were published. Each message holds the insight and the bus's error: fix the cause (bus policy, event size), then publish the insight again (aws events put-events).",
      ),
      alarm(
        'PartitionFailuresAlarm',
        custom(METRIC.partitionFailures),
        1,
        'Advancing some account+Region failed three evaluations in a row (its state could not be read or written). Read "some partitions could not be evaluated" in the evaluator logs for the partition and the error; each evaluation retries it, and its insights wait until it succeeds.',
        3,
      ),
      alarm(
        'UnrecordedFilesAlarm',
        custom(METRIC.unrecordedFiles),
        1,
        "Log files delivered to the archive during a silence were never recorded by the pipeline (a backlog, or files in the dead-letter queue): no delivery-gap insight is raised for them. Check the log-file queue's oldest message and its dead-letter queue (DeadLetterAlarm).",
      ),
      alarm(
        'IngestErrorsAlarm',
        errors(props.functions.ingest),
        1,
        'The ingest function failed as a whole (a crash or timeout, not one file): read its logs; the batch is retried by SQS.',
      ),
      alarm(
        'CoordinatorErrorsAlarm',
        errors(props.functions.coordinator),
        1,
        'The evaluation coordinator failed: no partition is evaluated until it succeeds (insights and End events are late). Read its logs; Scheduler retries, then its dead-letter queue.',
      ),
      alarm(
        'EvaluatorErrorsAlarm',
        errors(props.functions.evaluator),
        1,
        'An evaluator invocation failed as a whole (a crash or timeout): its segment is retried by SQS. Read its logs.',
      ),
      alarm(
        'OldestMessageAlarm',
        oldest,
        lagSeconds,
        `A log file has waited in the queue for ${lagSeconds} s or more: the ingest is throttled or failing (see IngestErrorsAlarm); raise detection.reservedConcurrency if it is busy.`,
      ),
      alarm(
        'ProcessingLagAlarm',
        lag,
        lagSeconds,
        `Log files are recorded ${lagSeconds} s or more after they were delivered; late files are applied out of order (see the LateFiles metric).`,
      ),
    ];

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      defaultInterval: Duration.hours(24),
      widgets: [
        [
          new cloudwatch.GraphWidget({
            title: 'Files recorded / skipped / failed / late',
            left: [
              custom(METRIC.filesProcessed),
              custom(METRIC.filesSkipped),
              custom(METRIC.filesFailed),
              custom(METRIC.lateFiles),
            ],
            width: 12,
          }),
          new cloudwatch.GraphWidget({
            title: 'Events recorded, files applied',
            left: [custom(METRIC.eventsProcessed)],
            right: [custom(METRIC.filesApplied)],
            width: 12,
          }),
        ],
        [
          new cloudwatch.GraphWidget({
            title: 'Delivery-to-record lag (s) and oldest queued file (s)',
            left: [lag, oldest],
            leftAnnotations: [{ value: lagSeconds, label: 'alarm' }],
            width: 12,
          }),
          new cloudwatch.GraphWidget({
            title: 'Insights emitted by detector',
            left: [
              new cloudwatch.MathExpression({
                expression: `SEARCH('{${METRICS_NAMESPACE},detector,service} MetricName="${METRIC.insightsEmitted}"', 'Sum', 300)`,
                label: '',
                period,
              }),
            ],
            width: 12,
          }),
        ],
        [
          new cloudwatch.GraphWidget({
            title: 'Evaluation: partitions evaluated / advanced / failed, compactions, conflicts',
            left: [custom(METRIC.partitionsEvaluated), custom(METRIC.partitionsAdvanced)],
            right: [
              custom(METRIC.partitionFailures),
              custom(METRIC.compactions),
              custom(METRIC.stateConflicts),
              custom(METRIC.unrecordedFiles),
            ],
            width: 12,
          }),
          new cloudwatch.GraphWidget({
            title: 'Function errors and dead-letter queues',
            left: [
              props.functions.ingest.metricErrors({ period, label: 'ingest' }),
              props.functions.coordinator.metricErrors({ period, label: 'coordinator' }),
              props.functions.evaluator.metricErrors({ period, label: 'evaluator' }),
            ],
            right: [dlqDepth, depth(props.evaluationDeadLetterQueue), depth(props.insightDeadLetterQueue)],
            width: 12,
          }),
        ],
        [
          new cloudwatch.GraphWidget({
            title: 'Rule matches: events that matched a rule, Rule Match events put on the bus',
            left: [custom(METRIC.ruleHits)],
            right: [custom(METRIC.ruleMatchesSent)],
            width: 24,
          }),
        ],
        [new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 24 })],
      ],
    });
  }
}
