import { Match, Template as T, type Template } from 'aws-cdk-lib/assertions';
import { readEnvironment } from '../../lambda/handlers/environment';
import { DETECTION_DEFAULTS, parseConfig } from '../../lib/config';
import { ARCHIVE_KEY_ALIAS } from '../../lib/contracts';
import { HIGH_SEVERITY_DETECTORS } from '../../lib/detection/insight-alerting';
import { ENV, METRIC } from '../../schema/detection-contract';
import { build, EXAMPLE_ORG_CONFIG_INPUT, withDefaults } from './helpers';

type Statement = { Action: string | string[]; Resource: unknown; Effect: string; Condition?: unknown };

/** Every statement of the inline policies attached to the role whose logical ID starts with `rolePrefix`. */
function statementsOf(template: Template, rolePrefix: string): Statement[] {
  const policies = template.findResources('AWS::IAM::Policy');
  return Object.values(policies)
    .filter((p) => (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref.startsWith(rolePrefix)))
    .flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
}

function actionsOf(statements: Statement[]): string[] {
  return statements.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action])).sort();
}

describe('DetectionStack (default configuration)', () => {
  let template: Template;
  let archive: Template;
  beforeAll(() => {
    const app = build(withDefaults({}));
    if (!app.detection) throw new Error('the default configuration deploys the detection stack');
    template = T.fromStack(app.detection);
    archive = T.fromStack(app.logArchive);
  });

  describe('queue and dead-letter queue', () => {
    test('encrypts every queue and enforces TLS', () => {
      // log files + DLQ, evaluation + DLQ, insight DLQ, schedule DLQ, alert-topic DLQ
      template.resourceCountIs('AWS::SQS::Queue', 7);
      template.allResourcesProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true });
      const policies = template.findResources('AWS::SQS::QueuePolicy');
      const denies = Object.values(policies).flatMap((p) =>
        (p.Properties.PolicyDocument.Statement as Statement[]).filter(
          (s) => s.Effect === 'Deny' && JSON.stringify(s.Condition).includes('aws:SecureTransport'),
        ),
      );
      expect(denies.length).toBe(7);
    });

    test('moves a file (and an evaluation segment) to its dead-letter queue after maxReceiveCount receives', () => {
      template.hasResourceProperties('AWS::SQS::Queue', {
        RedrivePolicy: {
          maxReceiveCount: DETECTION_DEFAULTS.maxReceiveCount,
          deadLetterTargetArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^EvaluationDeadLetterQueue'), 'Arn'] },
        },
      });
      template.hasResourceProperties('AWS::SQS::Queue', {
        RedrivePolicy: {
          maxReceiveCount: DETECTION_DEFAULTS.maxReceiveCount,
          deadLetterTargetArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DeadLetterQueue'), 'Arn'] },
        },
      });
    });

    test('takes maxReceiveCount from the configuration', () => {
      const configured = T.fromStack(build(withDefaults({ detection: { maxReceiveCount: 3 } })).detection!);
      configured.hasResourceProperties('AWS::SQS::Queue', { RedrivePolicy: Match.objectLike({ maxReceiveCount: 3 }) });
    });
  });

  test('sets the visibility timeout to 6 × the function timeout', () => {
    const queues = template.findResources('AWS::SQS::Queue', {
      Properties: { RedrivePolicy: Match.objectLike({ maxReceiveCount: DETECTION_DEFAULTS.maxReceiveCount }) },
    });
    const [queue] = Object.values(queues);
    expect(queue.Properties.VisibilityTimeout).toBe(DETECTION_DEFAULTS.timeoutSeconds * 6);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('reads new CloudTrail log files'),
      Timeout: DETECTION_DEFAULTS.timeoutSeconds,
    });
  });

  test('maps the queue to the ingest function with ReportBatchItemFailures, never more pollers than reserved executions', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: DETECTION_DEFAULTS.batchSize,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      MaximumBatchingWindowInSeconds: DETECTION_DEFAULTS.maxBatchingWindowSeconds,
      ScalingConfig: { MaximumConcurrency: DETECTION_DEFAULTS.reservedConcurrency },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('reads new CloudTrail'),
      ReservedConcurrentExecutions: DETECTION_DEFAULTS.reservedConcurrency,
    });
  });

  test('maps the evaluation queue to the evaluator, one segment per invocation, as many at once as reserved', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: 1,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      EventSourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^EvaluationQueue'), 'Arn'] },
      ScalingConfig: { MaximumConcurrency: DETECTION_DEFAULTS.evaluatorConcurrency },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('advances the partitions'),
      ReservedConcurrentExecutions: DETECTION_DEFAULTS.evaluatorConcurrency,
    });
  });

  test('routes only CloudTrail log and digest files under AWSLogs/ of the archive bucket from the default bus to the queue', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventBusName: Match.absent(),
      EventPattern: {
        source: ['aws.s3'],
        'detail-type': ['Object Created'],
        detail: {
          bucket: { name: [{ 'Fn::Join': ['', ['trailsight-archive-', { Ref: 'AWS::AccountId' }, '-us-east-1']] }] },
          object: {
            key: [
              { wildcard: 'AWSLogs/*/CloudTrail/*.json.gz' },
              { wildcard: 'AWSLogs/*/CloudTrail-Digest/*.json.gz' },
            ],
          },
        },
      },
      Targets: [Match.objectLike({ DeadLetterConfig: Match.objectLike({ Arn: Match.anyValue() }) })],
    });
  });

  test('turns on EventBridge notifications on the archive bucket, without a custom resource', () => {
    archive.hasResourceProperties('AWS::S3::Bucket', {
      BucketName: Match.anyValue(),
      NotificationConfiguration: { EventBridgeConfiguration: { EventBridgeEnabled: true } },
    });
    archive.resourceCountIs('Custom::S3BucketNotifications', 0);
  });

  describe('functions', () => {
    test('run Node.js 24 on ARM64 with tracing, explicit memory and timeout, and a log group with retention', () => {
      const functions = template.findResources('AWS::Lambda::Function');
      expect(Object.keys(functions)).toHaveLength(4);
      for (const fn of Object.values(functions)) {
        const backfill = String(fn.Properties.Description).includes('replays archived history');
        const coordinator = String(fn.Properties.Description).includes('scan segments');
        expect(fn.Properties).toMatchObject({
          Runtime: 'nodejs24.x',
          Architectures: ['arm64'],
          TracingConfig: { Mode: 'Active' },
          MemorySize: DETECTION_DEFAULTS.memoryMb,
          Timeout: backfill ? 900 : coordinator ? 60 : DETECTION_DEFAULTS.timeoutSeconds,
          LoggingConfig: { LogGroup: { Ref: expect.stringMatching(/Logs/) } },
        });
      }
      template.resourceCountIs('AWS::Logs::LogGroup', 4);
      template.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: DETECTION_DEFAULTS.logRetentionDays });
    });

    test('reserve one execution for the coordinator: a late run never overlaps the next', () => {
      template.hasResourceProperties('AWS::Lambda::Function', {
        Description: Match.stringLikeRegexp('scan segments'),
        ReservedConcurrentExecutions: 1,
      });
    });

    test('use no AWS managed policy', () => {
      for (const role of Object.values(template.findResources('AWS::IAM::Role'))) {
        expect(role.Properties.ManagedPolicyArns).toBeUndefined();
      }
    });
  });

  describe('least privilege', () => {
    const s3Of = (role: string) =>
      statementsOf(template, role)
        .filter((s) => actionsOf([s]).some((a) => a.startsWith('s3:')))
        .map((s) => [actionsOf([s]), JSON.stringify(s.Resource)]);

    test('the ingest function reads only the log prefix, and writes nothing to S3', () => {
      expect(s3Of('Ingest')).toEqual([
        [['s3:GetObject', 's3:GetObjectVersion'], expect.stringMatching(/\/AWSLogs\/\*"\]\]\}$/)],
      ]);
    });

    test('the evaluator lists the log prefix (the delivery check) and writes only the insight prefix of the insights bucket', () => {
      expect(s3Of('Evaluator')).toEqual([
        [['s3:ListBucket'], expect.stringMatching(/trailsight-archive-/)],
        [['s3:PutObject'], expect.stringMatching(/trailsight-insights-.*\/trailsight\/insights\/\*"\]\]\}$/)],
      ]);
      const list = statementsOf(template, 'Evaluator').find((s) => actionsOf([s]).includes('s3:ListBucket'));
      expect(list?.Condition).toEqual({ StringLike: { 's3:prefix': ['AWSLogs/*'] } });
    });

    test('uses only the archive key, found by its alias: decrypt to read logs, a data key to write insights', () => {
      const kmsOf = (role: string) =>
        statementsOf(template, role).filter((s) => actionsOf([s]).some((a) => a.startsWith('kms:')));
      expect(actionsOf(kmsOf('Ingest'))).toEqual(['kms:Decrypt']);
      expect(actionsOf(kmsOf('Evaluator'))).toEqual(['kms:GenerateDataKey']);
      for (const s of [...kmsOf('Ingest'), ...kmsOf('Evaluator')]) {
        expect(s.Condition).toEqual({ 'ForAnyValue:StringEquals': { 'kms:ResourceAliases': ARCHIVE_KEY_ALIAS } });
      }
    });

    test('each function gets the table calls it makes, on the two state tables only', () => {
      const dynamo = (role: string) =>
        statementsOf(template, role).filter((s) => actionsOf([s]).some((a) => a.startsWith('dynamodb:')));
      expect(actionsOf(dynamo('Ingest'))).toEqual([
        'dynamodb:BatchWriteItem',
        'dynamodb:GetItem',
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
        'dynamodb:UpdateItem',
      ]);
      expect(actionsOf(dynamo('Coordinator'))).toEqual(['dynamodb:DescribeTable']);
      expect(actionsOf(dynamo('Evaluator'))).toEqual([
        'dynamodb:BatchGetItem',
        'dynamodb:BatchWriteItem',
        'dynamodb:GetItem',
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:PutItem',
        'dynamodb:Query',
        'dynamodb:Scan',
        'dynamodb:UpdateItem',
        'dynamodb:UpdateItem',
      ]);
      for (const role of ['Ingest', 'Coordinator', 'Evaluator', 'Backfill']) {
        for (const s of dynamo(role))
          expect(JSON.stringify(s.Resource)).toMatch(/DetectionHeadsTable|DetectionDataTable/);
      }
    });

    test('only the evaluator (insights) and the ingest (rule matches) publish, and only to the insight bus', () => {
      for (const role of ['Coordinator', 'Backfill']) {
        expect(actionsOf(statementsOf(template, role))).not.toContain('events:PutEvents');
      }
      for (const role of ['Evaluator', 'Ingest']) {
        const events = statementsOf(template, role).filter((s) => actionsOf([s]).includes('events:PutEvents'));
        expect(events.map((s) => s.Resource)).toEqual([
          { 'Fn::GetAtt': [expect.stringMatching(/^InsightBus/), 'Arn'] },
        ]);
      }
    });

    test('the backfill function lists only the log prefix, reads log files and publishes nothing', () => {
      const statements = statementsOf(template, 'Backfill');
      const list = statements.find((s) => actionsOf([s]).includes('s3:ListBucket'));
      expect(list?.Condition).toEqual({ StringLike: { 's3:prefix': ['AWSLogs/*'] } });
      const actions = actionsOf(statements).filter((a) => !a.startsWith('logs:') && !a.startsWith('xray:'));
      expect(actions.filter((a) => !a.startsWith('dynamodb:'))).toEqual([
        'kms:Decrypt',
        's3:GetObject',
        's3:GetObjectVersion',
        's3:ListBucket',
      ]);
    });

    test('has no statement with an action wildcard', () => {
      const all = actionsOf(
        ['Ingest', 'Coordinator', 'Evaluator', 'Backfill'].flatMap((r) => statementsOf(template, r)),
      );
      expect(all.filter((a) => a.includes('*') && !a.startsWith('xray:'))).toEqual([]);
    });
  });

  describe('state tables', () => {
    test('are retained, deletion-protected and keep their pinned logical IDs', () => {
      template.allResources('AWS::DynamoDB::Table', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
      expect(Object.keys(template.findResources('AWS::DynamoDB::Table')).sort()).toEqual([
        'DetectionDataTable',
        'DetectionHeadsTable',
      ]);
    });

    test('are on-demand, encrypted, with point-in-time recovery; the data table has a sort key and TTL', () => {
      template.allResourcesProperties('AWS::DynamoDB::Table', {
        BillingMode: 'PAY_PER_REQUEST',
        SSESpecification: { SSEEnabled: true },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        DeletionProtectionEnabled: true,
      });
      template.hasResourceProperties('AWS::DynamoDB::Table', {
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        TimeToLiveSpecification: Match.absent(),
      });
      template.hasResourceProperties('AWS::DynamoDB::Table', {
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      });
    });
  });

  test('names the insight bus "trailsight"', () => {
    template.hasResourceProperties('AWS::Events::EventBus', { Name: 'trailsight' });
  });

  test('runs the coordinator on a schedule with the scheduled time as input, a retry policy and a DLQ', () => {
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(1 minute)',
      Target: Match.objectLike({
        Input: JSON.stringify({ time: '<aws.scheduler.scheduled-time>' }),
        RetryPolicy: Match.objectLike({ MaximumRetryAttempts: 2 }),
        DeadLetterConfig: Match.objectLike({ Arn: Match.anyValue() }),
      }),
    });
  });

  test('sends the Start of high-severity insights to an encrypted topic', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventBusName: { Ref: Match.stringLikeRegexp('^InsightBus') },
      EventPattern: {
        source: ['trailsight'],
        'detail-type': ['Trailsight Insight'],
        detail: { insightDetails: { state: ['Start'] }, trailsight: { detector: [...HIGH_SEVERITY_DETECTORS] } },
      },
    });
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    template.resourceCountIs('AWS::SNS::Subscription', 0);
  });

  test('alarms on dead-letter queues, partition failures, unrecorded files, errors, oldest message and lag, each with its runbook line', () => {
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm'));
    expect(alarms.map((a) => a.Properties.MetricName).sort()).toEqual([
      'ApproximateAgeOfOldestMessage',
      'ApproximateNumberOfMessagesVisible',
      'ApproximateNumberOfMessagesVisible',
      'ApproximateNumberOfMessagesVisible',
      'DeliveryLagSeconds',
      'Errors',
      'Errors',
      'Errors',
      'PartitionFailures',
      'UnrecordedFiles',
    ]);
    for (const alarm of alarms) {
      expect(alarm.Properties.AlarmActions).toEqual([{ Ref: expect.stringMatching(/^AlertingTopic/) }]);
      // A runbook line: what it means and what to do.
      expect(String(alarm.Properties.AlarmDescription).length).toBeGreaterThan(60);
    }
    const redrive = alarms.find((a) => String(a.Properties.AlarmDescription).startsWith('Log files reached'));
    expect(redrive?.Properties.AlarmDescription).toContain('aws sqs start-message-move-task');
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
  });

  test('the dashboard graphs every pipeline metric, rule matches included', () => {
    const body = JSON.stringify(template.findResources('AWS::CloudWatch::Dashboard'));
    for (const name of [METRIC.filesProcessed, METRIC.insightsEmitted, METRIC.ruleHits, METRIC.ruleMatchesSent])
      expect(body).toMatch(new RegExp(`\\b${name}\\b`));
  });
});

describe('DetectionStack options', () => {
  test('subscribes the configured emails, with a dead-letter queue', () => {
    const app = build(withDefaults({ detection: { alarmEmails: ['secops@example.com', 'oncall@example.com'] } }));
    const template = T.fromStack(app.detection!);
    template.resourceCountIs('AWS::SNS::Subscription', 2);
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'secops@example.com',
      RedrivePolicy: Match.anyValue(),
    });
  });

  test('may publish to the default bus too, and only then may put events there', () => {
    const without = statementsOf(T.fromStack(build(withDefaults({})).detection!), 'Evaluator');
    expect(JSON.stringify(without)).not.toContain('event-bus/default');
    const template = T.fromStack(build(withDefaults({ detection: { publishToDefaultBus: true } })).detection!);
    expect(JSON.stringify(statementsOf(template, 'Evaluator'))).toContain('event-bus/default');
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ PUBLISH_TO_DEFAULT_BUS: 'true' }) },
    });
  });

  test('passes the detector configuration to the functions as JSON, with the schedule as the engine tick', () => {
    const detector = { alpha: 1e-7, suppress: { principals: ['role/ci-*'] } };
    const template = T.fromStack(build(withDefaults({ detection: { detector, scheduleMinutes: 2 } })).detection!);
    template.allResourcesProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({ DETECTOR_CONFIG: JSON.stringify({ ...detector, tickMinutes: 2 }) }),
      },
    });
    template.hasResourceProperties('AWS::Scheduler::Schedule', { ScheduleExpression: 'rate(2 minutes)' });
  });

  test('sets exactly the environment the handlers read (schema/detection-contract.ts)', () => {
    const template = T.fromStack(build(withDefaults({})).detection!);
    const functions = Object.values(template.findResources('AWS::Lambda::Function'));
    for (const fn of functions) {
      const names = Object.keys(fn.Properties.Environment.Variables).filter(
        (n) => !n.startsWith('POWERTOOLS_') && n !== 'NODE_OPTIONS',
      );
      const contract = Object.values(ENV) as string[];
      expect(names.filter((n) => !contract.includes(n))).toEqual([]);
      // Every variable the handlers require is set (readEnvironment fails the cold start otherwise).
      const env = Object.fromEntries(names.map((n) => [n, 'x']));
      env[ENV.detectorConfig] = '{}';
      env[ENV.dedupeRetentionDays] = '35';
      if (names.includes(ENV.archivePrefix)) env[ENV.archivePrefix] = 'AWSLogs/';
      if (names.includes(ENV.rulesConfig)) env[ENV.rulesConfig] = '{}';
      expect(() => readEnvironment(env)).not.toThrow();
    }
  });

  test('is left out, with the bucket notifications, when detection.enabled is false', () => {
    // The integrity verifier also consumes the archive's notifications: turn it off too.
    const app = build(withDefaults({ detection: { enabled: false }, integrity: { enabled: false } }));
    expect(app.detection).toBeUndefined();
    const bucket = T.fromStack(app.logArchive).findResources('AWS::S3::Bucket', {
      Properties: { BucketName: Match.anyValue() },
    });
    expect(Object.values(bucket)[0].Properties.NotificationConfiguration).toBeUndefined();
  });

  test('is deployed with the archive: log archive account, home Region (example organization)', () => {
    const app = build(EXAMPLE_ORG_CONFIG_INPUT);
    expect(app.detection?.account).toBe('222222222222');
    expect(app.detection?.region).toBe('eu-west-1');
    const statements = statementsOf(T.fromStack(app.detection!), 'Ingest');
    expect(JSON.stringify(statements)).toContain(':kms:eu-west-1:222222222222:key/*');
    expect(JSON.stringify(statementsOf(T.fromStack(app.detection!), 'Evaluator'))).toContain(
      'trailsight-insights-222222222222-eu-west-1/trailsight/insights/*',
    );
    expect(JSON.stringify(statements)).toContain('trailsight-archive-222222222222-eu-west-1/AWSLogs/*');
  });
});

describe('detection configuration', () => {
  test('fills the defaults', () => {
    expect(parseConfig({}).detection).toEqual({ ...DETECTION_DEFAULTS, alarmEmails: [], detector: {} });
  });

  test('fails on an invalid email, naming the key', () => {
    expect(() => parseConfig({ detection: { alarmEmails: ['not-an-email'] } })).toThrow(
      /detection\.alarmEmails\.0 = "not-an-email": must be an email address/,
    );
  });

  test('fails on a timeout beyond the Lambda maximum', () => {
    expect(() => parseConfig({ detection: { timeoutSeconds: 901 } })).toThrow(
      /detection\.timeoutSeconds = 901: must be at most 900 seconds/,
    );
  });

  test('fails on a log retention CloudWatch does not offer', () => {
    expect(() => parseConfig({ detection: { logRetentionDays: 2 } })).toThrow(/detection\.logRetentionDays = 2/);
  });
});
