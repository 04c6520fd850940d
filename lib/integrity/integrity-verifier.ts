import * as path from 'node:path';
import {
  aws_cloudwatch as cloudwatch,
  aws_cloudwatch_actions as cwActions,
  Duration,
  aws_lambda_destinations as destinations,
  aws_events as events,
  aws_events_targets as eventsTargets,
  aws_iam as iam,
  aws_kms as kms,
  type aws_logs as logs,
  RemovalPolicy,
  Stack,
  aws_scheduler as scheduler,
  aws_scheduler_targets as schedulerTargets,
  aws_sns as sns,
  aws_sqs as sqs,
  aws_sns_subscriptions as subscriptions,
  Validations,
} from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { INTEGRITY_ENV, INTEGRITY_METRICS } from '../../schema/evidence-contract';
import { acknowledgeWildcardResource } from '../compliance';
import { type ArchiveKey, archiveDecrypt, digestKeyPattern } from '../contracts';
import { DetectionFunction } from '../detection/detection-function';

const HANDLERS = path.join(__dirname, '..', '..', 'lambda', 'handlers');

/** Properties of an {@link IntegrityVerifier}. */
export interface IntegrityVerifierProps {
  /** Name of the archive bucket (in this account and Region, defined by another stack). */
  readonly archiveBucketName: string;
  /**
   * The key the log files are encrypted with, which the functions may use to read them and nothing else: Trailsight's
   * archive key by its alias, an existing archive's key by its ARN, or none (SSE-S3).
   */
  readonly archiveKey: ArchiveKey;
  /**
   * The key prefix the functions read, list and verify under: `AWSLogs/`, or an existing archive's
   * `[<prefix>/]AWSLogs/[<o-id>/]`.
   * @default 'AWSLogs/'
   */
  readonly readPrefix?: string;
  /** The bus the `Trailsight Integrity` events go to. */
  readonly bus: events.IEventBus;
  /** How often the sweep runs. */
  readonly sweepInterval: Duration;
  /** How much delivery each sweep re-checks. */
  readonly lookback: Duration;
  /** How old a chain's newest digest may be before it is overdue. */
  readonly overdueAfter: Duration;
  /**
   * Addresses subscribed to the alarm topic (each must confirm).
   * @default - none
   */
  readonly alarmEmails?: readonly string[];
  /**
   * Retention of the functions' log groups.
   * @default logs.RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * Defines continuous digest-chain verification of the archive (docs/integrity.md):
 * - the digest verifier, invoked by an EventBridge rule on the archive's "Object Created" events for digest files,
 *   checks each new digest, its link to the previous one and the log files it lists;
 * - the sweep, on a schedule, re-checks the recent delivery of every chain for digests that never arrived, gaps, and
 *   deleted or planted files;
 * - both publish `Trailsight Integrity` events to the bus and the `IntegrityErrorFindings` metric; an alarm on it
 *   (high severity: evidence may have been tampered with), on the functions' errors and on their dead-letter queue
 *   notifies an encrypted topic.
 *
 * The functions read the archive only under the read prefix, decrypt only with the archive key, list CloudTrail's public
 * keys, and publish only to the bus.
 */
export class IntegrityVerifier extends Construct {
  /** The per-digest verifier. */
  readonly digestVerifier: DetectionFunction;
  /** The scheduled sweep. */
  readonly sweep: DetectionFunction;
  /** The rule sending digest deliveries to the verifier. */
  readonly digestRule: events.Rule;
  /** Where failed invocations (and events EventBridge or Scheduler could not deliver) end up. */
  readonly deadLetterQueue: sqs.Queue;
  /** The alarm topic. */
  readonly topic: sns.Topic;
  /** The high-severity alarm: a verification found an error (tampering, missing files or digests). */
  readonly findingsAlarm: cloudwatch.Alarm;
  readonly alarms: cloudwatch.Alarm[];

  constructor(scope: Construct, id: string, props: IntegrityVerifierProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const bucketArn = `arn:${stack.partition}:s3:::${props.archiveBucketName}`;
    const readPrefix = props.readPrefix ?? 'AWSLogs/';

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    for (const [ruleId, reason] of [
      ['AwsSolutions-SQS3', 'This queue is the dead-letter queue of the integrity functions, rule and schedule.'],
      ['Serverless-SQSRedrivePolicy', 'This queue is a dead-letter queue; an operator inspects and redrives it.'],
    ]) {
      Validations.of(this.deadLetterQueue.node.defaultChild as sqs.CfnQueue).acknowledge({ id: ruleId, reason });
    }

    const environment = {
      [INTEGRITY_ENV.archiveBucket]: props.archiveBucketName,
      [INTEGRITY_ENV.archivePrefix]: readPrefix,
      [INTEGRITY_ENV.eventBus]: props.bus.eventBusName,
      [INTEGRITY_ENV.lookbackHours]: String(props.lookback.toHours()),
      [INTEGRITY_ENV.overdueMinutes]: String(props.overdueAfter.toMinutes()),
    };
    const common = {
      memorySize: 1024,
      logRetention: props.logRetention ?? (90 as logs.RetentionDays),
      serviceName: INTEGRITY_METRICS.service,
      environment,
    };
    this.digestVerifier = new DetectionFunction(this, 'DigestVerifier', {
      ...common,
      entry: path.join(HANDLERS, 'verify-digest.ts'),
      description: 'Trailsight: verifies each delivered CloudTrail digest (signature, chain, log file hashes)',
      timeout: Duration.minutes(5),
    });
    this.sweep = new DetectionFunction(this, 'Sweep', {
      ...common,
      entry: path.join(HANDLERS, 'integrity-sweep.ts'),
      description: 'Trailsight: re-checks recent delivery for overdue digests, gaps, deleted and planted files',
      timeout: Duration.minutes(15),
      // One sweep at a time: a late run never overlaps the next.
      reservedConcurrentExecutions: 1,
    });

    for (const fn of [this.digestVerifier, this.sweep]) {
      this.grantArchiveRead(fn, bucketArn, readPrefix, props.archiveKey);
      props.bus.grantPutEventsTo(fn.role);
      // Asynchronous invocations (EventBridge, Scheduler): two retries, then the dead-letter queue.
      fn.function.configureAsyncInvoke({
        retryAttempts: 2,
        onFailure: new destinations.SqsDestination(this.deadLetterQueue),
      });
      Validations.of(fn.function).acknowledge({
        id: 'Serverless-LambdaDLQ',
        reason: 'Invoked asynchronously with an on-failure destination (the dead-letter queue), which replaces a DLQ.',
      });
    }
    // Discovery lists the archive's folders; the digest verifier reads keys it is given.
    this.sweep.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ListArchive',
        actions: ['s3:ListBucket'],
        resources: [bucketArn],
        conditions: { StringLike: { 's3:prefix': [`${readPrefix}*`] } },
      }),
    );

    this.digestRule = new events.Rule(this, 'DigestDeliveredRule', {
      description: 'Trailsight: CloudTrail digest files delivered to the archive bucket',
      eventPattern: {
        source: ['aws.s3'],
        detailType: ['Object Created'],
        detail: {
          bucket: { name: [props.archiveBucketName] },
          object: { key: events.Match.wildcard(digestKeyPattern(readPrefix)) },
        },
      },
      targets: [
        new eventsTargets.LambdaFunction(this.digestVerifier.function, {
          deadLetterQueue: this.deadLetterQueue,
          retryAttempts: 185,
          maxEventAge: Duration.hours(24),
        }),
      ],
    });

    const schedulerRole = new iam.Role(this.sweep, 'SchedulerRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com'),
      description: 'Trailsight: lets EventBridge Scheduler invoke the integrity sweep',
    });
    new scheduler.Schedule(this, 'SweepSchedule', {
      description: 'Trailsight: runs the integrity sweep',
      schedule: scheduler.ScheduleExpression.rate(props.sweepInterval),
      target: new schedulerTargets.LambdaInvoke(this.sweep.function, {
        // The scheduled time, not the invocation time: a retried run checks the same window.
        input: scheduler.ScheduleTargetInput.fromObject({ time: scheduler.ContextAttribute.scheduledTime }),
        role: schedulerRole,
        deadLetterQueue: this.deadLetterQueue,
        retryAttempts: 2,
        maxEventAge: props.sweepInterval,
      }),
    });
    acknowledgeWildcardResource(
      schedulerRole.node.findChild('DefaultPolicy'),
      `${this.sweep.function.functionArn}:*`,
      'lambda:InvokeFunction on the sweep and its versions/aliases (the ARN with ":*"), nothing else.',
    );

    this.topic = this.alarmTopic(props.alarmEmails ?? []);
    this.alarms = this.createAlarms();
    this.findingsAlarm = this.alarms[0];
  }

  /**
   * Read access by name (the archive lives in another stack): objects under the read prefix only, the archive key for
   * decryption only (Trailsight's by its alias, an existing archive's by its ARN), and CloudTrail's public keys, which
   * `ListPublicKeys` gives for no resource.
   */
  private grantArchiveRead(fn: DetectionFunction, bucketArn: string, readPrefix: string, key: ArchiveKey): void {
    const stack = Stack.of(this);
    fn.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ReadArchive',
        actions: ['s3:GetObject', 's3:GetObjectVersion'],
        resources: [`${bucketArn}/${readPrefix}*`],
      }),
    );
    const decrypt = archiveDecrypt(key, stack.partition);
    if (decrypt) {
      fn.role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'DecryptWithArchiveKey',
          actions: ['kms:Decrypt'],
          resources: [decrypt.resource],
          conditions: decrypt.conditions,
        }),
      );
    }
    const policy = fn.role.node.findChild('DefaultPolicy');
    acknowledgeWildcardResource(
      policy,
      `${bucketArn}/${readPrefix}*`,
      `Reads any digest or log file under ${readPrefix} of the archive, which is what it verifies.`,
    );
    if (decrypt?.wildcard) {
      acknowledgeWildcardResource(
        policy,
        decrypt.resource,
        'The archive key is in another stack; the statement is narrowed to it by the kms:ResourceAliases condition.',
      );
    }
    // Its own policy, so its acknowledgement cannot hide another wildcard on the role.
    const listKeys = new iam.Policy(fn, 'ListPublicKeysPolicy', {
      statements: [new iam.PolicyStatement({ actions: ['cloudtrail:ListPublicKeys'], resources: ['*'] })],
    });
    listKeys.attachToRole(fn.role);
    Validations.of(listKeys).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'cloudtrail:ListPublicKeys supports no resource-level permissions (Service Authorization Reference).',
    });
  }

  /** The alarm topic, encrypted with its own key (CloudWatch cannot publish under the AWS managed SNS key). */
  private alarmTopic(emails: readonly string[]): sns.Topic {
    const key = new kms.Key(this, 'TopicKey', {
      description: 'Trailsight: encrypts the integrity alarm topic',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'PublishCloudWatchAlarms',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
      }),
    );
    const topic = new sns.Topic(this, 'AlarmTopic', {
      displayName: 'Trailsight integrity alarms',
      masterKey: key,
      enforceSSL: true,
    });
    for (const email of emails) {
      topic.addSubscription(new subscriptions.EmailSubscription(email, { deadLetterQueue: this.deadLetterQueue }));
    }
    return topic;
  }

  private createAlarms(): cloudwatch.Alarm[] {
    const period = Duration.minutes(5);
    const action = new cwActions.SnsAction(this.topic);
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
      return a;
    };
    return [
      alarm(
        'ErrorFindingsAlarm',
        new cloudwatch.Metric({
          namespace: INTEGRITY_METRICS.namespace,
          metricName: INTEGRITY_METRICS.errorFindings,
          dimensionsMap: { service: INTEGRITY_METRICS.service },
          statistic: 'Sum',
          period,
        }),
        'HIGH SEVERITY: digest-chain verification found evidence tampering or loss (altered, missing or planted log files, missing or forged digests, stopped delivery). Read the Trailsight Integrity event or the function logs, then docs/integrity.md.',
      ),
      alarm(
        'DigestVerifierErrorsAlarm',
        this.digestVerifier.function.metricErrors({ period, statistic: 'Sum' }),
        'The digest verifier failed (not a finding: it could not run); failures retry, then reach the dead-letter queue.',
      ),
      alarm(
        'SweepErrorsAlarm',
        this.sweep.function.metricErrors({ period, statistic: 'Sum' }),
        'The integrity sweep failed: overdue digests and planted files are not being checked until it succeeds.',
      ),
      alarm(
        'DeadLetterAlarm',
        this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period, statistic: 'Maximum' }),
        'Integrity verifications were dead-lettered: a digest went unverified. Inspect and redrive the queue.',
      ),
    ];
  }
}
