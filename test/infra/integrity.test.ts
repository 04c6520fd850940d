/** TrailsightIntegrity: continuous digest-chain verification, deployed next to the archive. */
import { Match, Template } from 'aws-cdk-lib/assertions';
import { digestKeyPattern } from '../../lib/contracts';
import { INTEGRITY_ENV, INTEGRITY_METRICS } from '../../schema/evidence-contract';
import { build, EXAMPLE_ORG_CONFIG_INPUT, withDefaults } from './helpers';

type Statement = { Sid?: string; Effect: string; Action: string | string[]; Resource: unknown; Condition?: unknown };

const BUCKET = 'trailsight-archive-222222222222-eu-west-1';
const actionsOf = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);

/** Statements of the policies attached to the role of the function whose construct id starts with `id`. */
function statementsOf(template: Template, id: string): Statement[] {
  return Object.entries(template.findResources('AWS::IAM::Policy'))
    .filter(([logicalId]) => logicalId.startsWith(`Verifier${id}`) && !logicalId.includes('SchedulerRole'))
    .flatMap(([, p]) => p.Properties.PolicyDocument.Statement as Statement[]);
}

function functionNamed(template: Template, description: RegExp) {
  const found = Object.entries(template.findResources('AWS::Lambda::Function')).find(([, f]) =>
    description.test(f.Properties.Description ?? ''),
  );
  if (!found) throw new Error(`no function ${description}`);
  return { id: found[0], properties: found[1].Properties };
}

describe('TrailsightIntegrity (example organization configuration)', () => {
  let app: ReturnType<typeof build>;
  let template: Template;
  beforeAll(() => {
    app = build(EXAMPLE_ORG_CONFIG_INPUT);
    template = Template.fromStack(app.integrity!);
  });

  test('is deployed in the log archive account and home Region, after the archive and the detection stack', () => {
    expect(app.integrity?.account).toBe('222222222222');
    expect(app.integrity?.region).toBe('eu-west-1');
    expect(app.integrity?.dependencies.map((s) => s.node.id).sort()).toEqual([
      'TrailsightDetection',
      'TrailsightLogArchive',
    ]);
  });

  test('publishes to the trailsight bus the detection stack defines, without defining it again', () => {
    template.resourceCountIs('AWS::Events::EventBus', 0);
  });

  test('sends each digest delivered to the archive, and nothing else, to the digest verifier', () => {
    const verifier = functionNamed(template, /verifies each delivered CloudTrail digest/);
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.s3'],
        'detail-type': ['Object Created'],
        detail: { bucket: { name: [BUCKET] }, object: { key: [{ wildcard: digestKeyPattern('AWSLogs/') }] } },
      },
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [verifier.id, 'Arn'] },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^VerifierDeadLetterQueue'), 'Arn'] } },
          RetryPolicy: { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86400 },
        }),
      ],
    });
    expect(digestKeyPattern('AWSLogs/')).toBe('AWSLogs/*/CloudTrail-Digest/*.json.gz');
  });

  test('runs the sweep at the configured interval with the scheduled time as input', () => {
    const sweep = functionNamed(template, /re-checks recent delivery/);
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(1 hour)',
      Target: Match.objectLike({
        Arn: { 'Fn::GetAtt': [sweep.id, 'Arn'] },
        Input: '{"time":"<aws.scheduler.scheduled-time>"}',
        DeadLetterConfig: { Arn: Match.anyValue() },
        RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 3600 },
      }),
    });
    expect(sweep.properties.ReservedConcurrentExecutions).toBe(1);
  });

  test('configures both functions through the shared contract', () => {
    for (const description of [/verifies each delivered/, /re-checks recent delivery/]) {
      expect(functionNamed(template, description).properties.Environment.Variables).toMatchObject({
        [INTEGRITY_ENV.archiveBucket]: BUCKET,
        [INTEGRITY_ENV.eventBus]: 'trailsight',
        [INTEGRITY_ENV.lookbackHours]: '26',
        [INTEGRITY_ENV.overdueMinutes]: '150',
        POWERTOOLS_SERVICE_NAME: INTEGRITY_METRICS.service,
        POWERTOOLS_METRICS_NAMESPACE: INTEGRITY_METRICS.namespace,
      });
    }
  });

  test('retries failed asynchronous invocations twice, then sends them to the dead-letter queue', () => {
    const configs = Object.values(template.findResources('AWS::Lambda::EventInvokeConfig'));
    expect(configs).toHaveLength(2);
    for (const config of configs) {
      expect(config.Properties).toMatchObject({
        MaximumRetryAttempts: 2,
        Qualifier: '$LATEST',
        DestinationConfig: {
          OnFailure: { Destination: { 'Fn::GetAtt': [expect.stringMatching(/^VerifierDeadLetterQueue/), 'Arn'] } },
        },
      });
    }
  });

  describe('least privilege', () => {
    test('the functions read the archive under AWSLogs/ only, and never write or delete', () => {
      for (const id of ['DigestVerifier', 'Sweep']) {
        const s3 = statementsOf(template, id).filter((s) => actionsOf(s).some((a) => a.startsWith('s3:')));
        const reads = s3.find((s) => s.Sid === 'ReadArchive');
        expect(reads?.Action).toEqual(['s3:GetObject', 's3:GetObjectVersion']);
        expect(JSON.stringify(reads?.Resource)).toContain(`:s3:::${BUCKET}/AWSLogs/*`);
        expect(s3.flatMap(actionsOf).filter((a) => /Put|Delete/.test(a))).toEqual([]);
      }
    });

    test('only the sweep lists, and only under AWSLogs/', () => {
      expect(statementsOf(template, 'DigestVerifier').flatMap(actionsOf)).not.toContain('s3:ListBucket');
      expect(statementsOf(template, 'Sweep').find((s) => s.Sid === 'ListArchive')).toMatchObject({
        Action: 's3:ListBucket',
        Condition: { StringLike: { 's3:prefix': ['AWSLogs/*'] } },
      });
    });

    test('decrypt with the archive key only, found by its alias', () => {
      for (const id of ['DigestVerifier', 'Sweep']) {
        const kms = statementsOf(template, id).filter((s) => actionsOf(s).some((a) => a.startsWith('kms:')));
        expect(kms).toEqual([
          expect.objectContaining({
            Action: 'kms:Decrypt',
            Condition: { 'ForAnyValue:StringEquals': { 'kms:ResourceAliases': 'alias/trailsight/archive' } },
          }),
        ]);
      }
    });

    test('list CloudTrail public keys through a policy of their own, and publish only to the bus', () => {
      for (const id of ['DigestVerifier', 'Sweep']) {
        const statements = statementsOf(template, id);
        expect(statements.filter((s) => actionsOf(s).includes('cloudtrail:ListPublicKeys'))).toEqual([
          { Effect: 'Allow', Action: 'cloudtrail:ListPublicKeys', Resource: '*' },
        ]);
        const events = statements.filter((s) => actionsOf(s).includes('events:PutEvents'));
        expect(JSON.stringify(events.map((s) => s.Resource))).toContain(':event-bus/trailsight');
      }
    });
  });

  describe('alarms', () => {
    test('raise a high-severity alarm on one error finding, to an encrypted topic with the configured emails', () => {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: INTEGRITY_METRICS.namespace,
        MetricName: INTEGRITY_METRICS.errorFindings,
        Dimensions: [{ Name: 'service', Value: INTEGRITY_METRICS.service }],
        Statistic: 'Sum',
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        AlarmDescription: Match.stringLikeRegexp('^HIGH SEVERITY'),
        AlarmActions: [{ Ref: Match.stringLikeRegexp('^VerifierAlarmTopic') }],
      });
      template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
      template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'secops@example.com' });
    });

    test('also alarm on function errors and on the dead-letter queue', () => {
      template.resourceCountIs('AWS::CloudWatch::Alarm', 4);
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Threshold: 1,
      });
    });
  });
});

describe('TrailsightIntegrity options', () => {
  test('defines the trailsight bus itself when there is no detection stack, and keeps the archive notifications on', () => {
    const app = build(withDefaults({ detection: { enabled: false } }));
    Template.fromStack(app.integrity!).hasResourceProperties('AWS::Events::EventBus', { Name: 'trailsight' });
    Template.fromStack(app.logArchive).hasResourceProperties('AWS::S3::Bucket', {
      NotificationConfiguration: { EventBridgeConfiguration: { EventBridgeEnabled: true } },
    });
  });

  test('is left out when integrity.enabled is false', () => {
    expect(build(withDefaults({ integrity: { enabled: false } })).integrity).toBeUndefined();
  });

  test('sends alarms to integrity.alarmEmails when given', () => {
    const app = build(withDefaults({ integrity: { alarmEmails: ['audit@example.com'] } }));
    Template.fromStack(app.integrity!).hasResourceProperties('AWS::SNS::Subscription', {
      Endpoint: 'audit@example.com',
    });
  });
});
