import * as path from 'node:path';
import {
  aws_cloudwatch as cloudwatch,
  aws_cloudwatch_actions as cwActions,
  Duration,
  aws_events as events,
  aws_events_targets as eventsTargets,
  aws_iam as iam,
  aws_kms as kms,
  aws_lambda_event_sources as lambdaEventSources,
  type aws_logs as logs,
  RemovalPolicy,
  Stack,
  aws_securityhub as securityhub,
  aws_sns as sns,
  aws_sqs as sqs,
  aws_sns_subscriptions as subscriptions,
  Validations,
} from 'aws-cdk-lib';
import { Construct } from 'constructs';
import {
  FINDING_DETAIL_TYPES,
  FINDINGS_METRICS,
  FINDINGS_SERVICE_NAME,
  PRODUCT_ARN_ENV,
  TRAILSIGHT_EVENT_SOURCE,
} from '../../schema/findings';
import { DetectionFunction, METRICS_NAMESPACE } from '../detection/detection-function';
import { acknowledgeDeadLetterQueue } from '../stacks/detection-stack';

/** Properties of {@link SecurityHubFindings}. */
export interface SecurityHubFindingsProps {
  /** The bus Trailsight's insights (and other finding sources) are published to. */
  readonly bus: events.IEventBus;
  /**
   * Bus events per invocation (one BatchImportFindings request takes 100 findings).
   * @default 100
   */
  readonly batchSize?: number;
  /**
   * How long the event source mapping waits to fill a batch.
   * @default Duration.seconds(10)
   */
  readonly maxBatchingWindow?: Duration;
  /**
   * Deliveries of an event before it moves to the dead-letter queue.
   * @default 5
   */
  readonly maxReceiveCount?: number;
  /**
   * Retention of the function's log group.
   * @default logs.RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Email addresses subscribed to the alarm topic (each must confirm).
   * @default - no subscription
   */
  readonly alarmEmails?: readonly string[];
  /**
   * Deploy a Security Hub automation rule that resolves (workflow NEW → RESOLVED) the finding of an ended
   * insight. Automation rules can only be created by the Security Hub administrator account (or a standalone one).
   * @default false
   */
  readonly resolveWorkflowOnEnd?: boolean;
}

/**
 * Sends Trailsight findings to AWS Security Hub CSPM: a rule on the `trailsight` bus for the finding
 * detail-types → encrypted SQS queue (+ DLQ) → the findings function, which maps each event to ASFF and
 * imports it with `BatchImportFindings` into the account's default product
 * (`arn:<partition>:securityhub:<region>:<account>:product/<account>/default`), the only IAM permission it
 * has besides its log group and the queue. Alarms (DLQ not empty, findings Security Hub refused, events that
 * are not findings, function errors) notify the alarm topic.
 *
 * Decoupled from the ingest pipeline: it only consumes the bus, by name, so the pipeline can change freely
 * as long as the bus event (the contract) stays.
 */
export class SecurityHubFindings extends Construct {
  /** The queue between the bus rule and the function. */
  readonly queue: sqs.Queue;
  /** Events that failed `maxReceiveCount` times, and events the rule could not deliver. */
  readonly deadLetterQueue: sqs.Queue;
  /** The rule on the bus. */
  readonly rule: events.Rule;
  /** The findings function. */
  readonly function: DetectionFunction;
  /** The product findings are imported with. */
  readonly productArn: string;
  /** The alarm topic. */
  readonly alarmTopic: sns.Topic;
  readonly alarms: cloudwatch.Alarm[];
  /** The workflow automation rule, when `resolveWorkflowOnEnd` is set. */
  readonly automationRule?: securityhub.CfnAutomationRule;

  constructor(scope: Construct, id: string, props: SecurityHubFindingsProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const batchSize = props.batchSize ?? 100;
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 100) {
      throw new Error(`batchSize = ${batchSize}: must be a whole number from 1 to 100 (BatchImportFindings takes 100)`);
    }
    const timeout = Duration.seconds(60);
    this.productArn = `arn:${stack.partition}:securityhub:${stack.region}:${stack.account}:product/${stack.account}/default`;

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    acknowledgeDeadLetterQueue(this.deadLetterQueue, 'the findings queue and of the rule feeding it');
    this.queue = new sqs.Queue(this, 'Queue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // AWS guidance for Lambda event sources: at least 6 × the function timeout.
      visibilityTimeout: Duration.seconds(timeout.toSeconds() * 6),
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: props.maxReceiveCount ?? 5 },
    });

    this.rule = new events.Rule(this, 'Rule', {
      description: 'Trailsight: findings (insights and rule matches) to Security Hub',
      eventBus: props.bus,
      eventPattern: { source: [TRAILSIGHT_EVENT_SOURCE], detailType: [...FINDING_DETAIL_TYPES] },
      targets: [
        new eventsTargets.SqsQueue(this.queue, {
          deadLetterQueue: this.deadLetterQueue,
          retryAttempts: 185,
          maxEventAge: Duration.hours(24),
        }),
      ],
    });

    this.function = new DetectionFunction(this, 'Importer', {
      entry: path.join(__dirname, '..', '..', 'lambda', 'handlers', 'findings.ts'),
      description: 'Trailsight: imports findings into AWS Security Hub (ASFF, BatchImportFindings)',
      memorySize: 256,
      timeout,
      logRetention: props.logRetention ?? 90,
      serviceName: FINDINGS_SERVICE_NAME,
      environment: { [PRODUCT_ARN_ENV]: this.productArn },
    });
    const fn = this.function.function;
    fn.addEventSource(
      new lambdaEventSources.SqsEventSource(this.queue, {
        batchSize,
        maxBatchingWindow: props.maxBatchingWindow ?? Duration.seconds(10),
        reportBatchItemFailures: true,
        // BatchImportFindings allows 10 requests per second per account and Region (burst 30): two concurrent
        // importers stay well inside it, and a backlog drains 100 findings per request.
        maxConcurrency: 2,
      }),
    );
    this.function.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ImportFindings',
        actions: ['securityhub:BatchImportFindings'],
        resources: [this.productArn],
      }),
    );
    Validations.of(fn).acknowledge({
      id: 'Serverless-LambdaEventSourceMappingDestination',
      reason:
        "SQS event source mappings take no on-failure destination: failed events move to the queue's dead-letter queue (redrive policy).",
    });
    Validations.of(fn).acknowledge({
      id: 'Serverless-LambdaDLQ',
      reason: 'Invoked synchronously by the SQS event source mapping; the queue has the dead-letter queue.',
    });

    // A customer managed key: CloudWatch alarms cannot publish to a topic under the AWS managed SNS key.
    const key = new kms.Key(this, 'AlarmTopicKey', {
      description: 'Trailsight: encrypts the findings alarm topic',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'PublishCloudWatchAlarms',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
    );
    this.alarmTopic = new sns.Topic(this, 'AlarmTopic', {
      displayName: 'Trailsight findings alarms',
      masterKey: key,
      enforceSSL: true,
    });
    for (const email of props.alarmEmails ?? []) {
      this.alarmTopic.addSubscription(
        new subscriptions.EmailSubscription(email, { deadLetterQueue: this.deadLetterQueue }),
      );
    }
    this.alarms = this.createAlarms();

    if (props.resolveWorkflowOnEnd) {
      this.automationRule = new securityhub.CfnAutomationRule(this, 'ResolveOnEnd', {
        ruleName: 'Trailsight: resolve ended insights',
        description:
          'An insight whose activity ended is archived by Trailsight; this rule moves its workflow from NEW to RESOLVED.',
        ruleOrder: 100,
        ruleStatus: 'ENABLED',
        criteria: {
          productArn: [{ comparison: 'EQUALS', value: this.productArn }],
          generatorId: [{ comparison: 'PREFIX', value: 'trailsight/' }],
          recordState: [{ comparison: 'EQUALS', value: 'ARCHIVED' }],
          workflowStatus: [{ comparison: 'EQUALS', value: 'NEW' }],
        },
        actions: [
          {
            type: 'FINDING_FIELDS_UPDATE',
            findingFieldsUpdate: {
              workflow: { status: 'RESOLVED' },
              note: { text: 'Trailsight: the activity this finding reported has ended.', updatedBy: 'trailsight' },
            },
          },
        ],
      });
    }
  }

  private createAlarms(): cloudwatch.Alarm[] {
    const period = Duration.minutes(5);
    const action = new cwActions.SnsAction(this.alarmTopic);
    const custom = (metricName: string) =>
      new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName,
        statistic: 'Sum',
        period,
        dimensionsMap: { service: FINDINGS_SERVICE_NAME },
      });
    const alarm = (id: string, metric: cloudwatch.IMetric, description: string) => {
      const a = new cloudwatch.Alarm(this, id, {
        metric,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
      });
      a.addAlarmAction(action);
      a.addOkAction(action);
      return a;
    };
    return [
      alarm(
        'DeadLetterAlarm',
        this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period, statistic: 'Maximum' }),
        'Findings reached the dead-letter queue: read the reason in the function logs, fix, then redrive (docs/findings.md).',
      ),
      alarm(
        'RefusedAlarm',
        custom(FINDINGS_METRICS.failed),
        'Security Hub refused findings after every retry (FailedFindings): is Security Hub enabled in this account and Region?',
      ),
      alarm(
        'RejectedAlarm',
        custom(FINDINGS_METRICS.rejected),
        'Events on the trailsight bus could not be mapped to findings (unknown detail-type or malformed detail).',
      ),
      alarm(
        'ErrorsAlarm',
        this.function.function.metricErrors({ period, statistic: 'Sum' }),
        'The findings function failed (a whole invocation).',
      ),
    ];
  }
}
