import {
  aws_cloudwatch as cloudwatch,
  aws_cloudwatch_actions as cwActions,
  Duration,
  aws_events as events,
  aws_events_targets as eventsTargets,
  aws_iam as iam,
  aws_kms as kms,
  RemovalPolicy,
  aws_sns as sns,
  aws_sqs as sqs,
  aws_sns_subscriptions as subscriptions,
  Validations,
} from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE } from './detection-function';

/**
 * Detectors whose insights page someone (the example rule): identity changes, enumeration, permission
 * probing and a trail that stopped delivering. Rate spikes and missed jobs stay on the bus for dashboards
 * and users' own rules.
 */
export const HIGH_SEVERITY_DETECTORS = ['iam-burst', 'recon', 'access-denied', 'delivery-gap'] as const;

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
  readonly ingestFunction: { metricErrors(props?: cloudwatch.MetricOptions): cloudwatch.Metric };
  readonly evaluatorFunction: { metricErrors(props?: cloudwatch.MetricOptions): cloudwatch.Metric };
  readonly queue: sqs.IQueue;
  readonly deadLetterQueue: sqs.IQueue;
  /** Alarm when the oldest queued file (or the processing lag) exceeds this. */
  readonly lagThreshold: Duration;
  /** Alarms notify this topic. */
  readonly topic: sns.ITopic;
  /** Powertools service name of the functions (the `service` dimension of their metrics). */
  readonly serviceName: string;
}

/**
 * The pipeline's CloudWatch dashboard and alarms: files and events processed, delivery-to-processing lag,
 * insights by detector, errors, DLQ depth and oldest message age. Alarms (DLQ not empty, function errors,
 * lag) notify the alert topic.
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

    const dlqDepth = props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period, statistic: 'Maximum' });
    const oldest = props.queue.metricApproximateAgeOfOldestMessage({ period, statistic: 'Maximum' });
    const lag = custom('DeliveryLagSeconds', 'Maximum');
    const action = new cwActions.SnsAction(props.topic);
    const alarm = (alarmId: string, metric: cloudwatch.IMetric, threshold: number, description: string) => {
      const a = new cloudwatch.Alarm(this, alarmId, {
        metric,
        threshold,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
      });
      a.addAlarmAction(action);
      a.addOkAction(action);
      return a;
    };
    const lagSeconds = props.lagThreshold.toSeconds();
    this.alarms = [
      alarm(
        'DeadLetterAlarm',
        dlqDepth,
        1,
        'Log files reached the dead-letter queue: read the reason in the ingest logs, fix, then redrive (docs/pipeline.md).',
      ),
      alarm(
        'IngestErrorsAlarm',
        props.ingestFunction.metricErrors({ period, statistic: 'Sum' }),
        1,
        'The ingest function failed (a whole invocation, not one file).',
      ),
      alarm(
        'EvaluatorErrorsAlarm',
        props.evaluatorFunction.metricErrors({ period, statistic: 'Sum' }),
        1,
        'The scheduled evaluator failed: gaps and End events are late until it succeeds.',
      ),
      alarm(
        'OldestMessageAlarm',
        oldest,
        lagSeconds,
        `A log file has waited in the queue for ${lagSeconds} s or more.`,
      ),
      alarm(
        'ProcessingLagAlarm',
        lag,
        lagSeconds,
        `Log files are processed ${lagSeconds} s or more after they were delivered.`,
      ),
    ];

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      defaultInterval: Duration.hours(24),
      widgets: [
        [
          new cloudwatch.GraphWidget({
            title: 'Files processed / skipped / failed',
            left: [custom('FilesProcessed'), custom('FilesSkipped'), custom('FilesFailed')],
            width: 12,
          }),
          new cloudwatch.GraphWidget({ title: 'Events processed', left: [custom('EventsProcessed')], width: 12 }),
        ],
        [
          new cloudwatch.GraphWidget({
            title: 'Delivery-to-processing lag (s) and oldest queued file (s)',
            left: [lag, oldest],
            leftAnnotations: [{ value: lagSeconds, label: 'alarm' }],
            width: 12,
          }),
          new cloudwatch.GraphWidget({
            title: 'Insights emitted by detector',
            left: [
              new cloudwatch.MathExpression({
                expression: `SEARCH('{${METRICS_NAMESPACE},detector,service} MetricName="InsightsEmitted"', 'Sum', 300)`,
                label: '',
                period,
              }),
            ],
            width: 12,
          }),
        ],
        [
          new cloudwatch.GraphWidget({
            title: 'Function errors',
            left: [
              props.ingestFunction.metricErrors({ period, label: 'ingest' }),
              props.evaluatorFunction.metricErrors({ period, label: 'evaluator' }),
            ],
            width: 12,
          }),
          new cloudwatch.GraphWidget({
            title: 'Dead-letter queue depth',
            left: [dlqDepth],
            leftAnnotations: [{ value: 1, label: 'alarm' }],
            width: 12,
          }),
        ],
        [new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 24 })],
      ],
    });
  }
}
