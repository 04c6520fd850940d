import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { parseConfig } from '../../lib/config';
import { INSIGHT_BUS_NAME } from '../../lib/stacks/detection-stack';
import { RULE_MATCH_DETAIL_TYPE } from '../../schema/detection-contract';
import { FINDINGS_METRICS, INSIGHT_DETAIL_TYPE, PRODUCT_ARN_ENV } from '../../schema/findings';
import { build, EXAMPLE_ORG_CONFIG_INPUT, TEST_ACCOUNT, withDefaults } from '../infra/helpers';

const withSecurityHub = (securityHub: Record<string, unknown> = {}) => withDefaults({ findings: { securityHub } });

describe('TrailsightFindings', () => {
  let template: Template;
  beforeAll(() => {
    const { findings } = build(withSecurityHub({ alarmEmails: ['secops@example.com'] }), {
      defaultAccount: TEST_ACCOUNT,
    });
    if (!findings) throw new Error('no findings stack');
    template = Template.fromStack(findings);
  });

  test('is not deployed unless findings.securityHub is set', () => {
    expect(build(withDefaults({})).findings).toBeUndefined();
  });

  test('fails validation when Security Hub is on without the detection pipeline', () => {
    expect(() => parseConfig(withDefaults({ detection: { enabled: false }, findings: { securityHub: {} } }))).toThrow(
      /findings\.securityHub = \{\}: needs the detection pipeline/,
    );
  });

  test('fails validation on a batch larger than one BatchImportFindings request', () => {
    expect(() => parseConfig(withSecurityHub({ batchSize: 500 }))).toThrow(
      /findings\.securityHub\.batchSize = 500: must be at most 100 events/,
    );
  });

  test('a rule on the trailsight bus (by name) sends the finding detail-types to the queue, with a DLQ', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventBusName: INSIGHT_BUS_NAME,
      EventPattern: { source: ['trailsight'], 'detail-type': [INSIGHT_DETAIL_TYPE, RULE_MATCH_DETAIL_TYPE] },
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('SecurityHubQueue'), 'Arn'] },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('SecurityHubDeadLetterQueue'), 'Arn'] } },
          RetryPolicy: { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86400 },
        }),
      ],
    });
  });

  test('the queue is encrypted, redrives to the DLQ, and its visibility timeout is 6 × the function timeout', () => {
    template.hasResourceProperties('AWS::SQS::Queue', {
      SqsManagedSseEnabled: true,
      VisibilityTimeout: 360,
      RedrivePolicy: { maxReceiveCount: 5 },
    });
    template.hasResourceProperties('AWS::Lambda::Function', { Timeout: 60 });
  });

  test('the function reports batch item failures, batches up to 100 events, and stays within the import rate', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: 100,
      MaximumBatchingWindowInSeconds: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 2 },
    });
  });

  test('imports into the account default product, the only Security Hub permission it has', () => {
    // The Region is known, so the partition resolves at synth.
    const productArn = 'arn:aws:securityhub:us-east-1:123456789012:product/123456789012/default';
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ [PRODUCT_ARN_ENV]: productArn }) },
    });
    const statements = Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
      (p) => p.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[],
    );
    const securityHub = statements.filter((s) => [s.Action].flat().some((a) => a.startsWith('securityhub:')));
    expect(securityHub).toEqual([
      { Sid: 'ImportFindings', Effect: 'Allow', Action: 'securityhub:BatchImportFindings', Resource: productArn },
    ]);
    for (const s of statements) {
      expect([s.Action].flat()).not.toContain('*');
      if (s.Resource === '*') expect([s.Action].flat().every((a) => a.startsWith('xray:'))).toBe(true);
    }
  });

  test('alarms on dead letters, refused findings, rejected events and function errors, to the topic', () => {
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm'));
    expect(alarms).toHaveLength(4);
    const metricNames = alarms.map((a) => a.Properties.MetricName).sort();
    expect(metricNames).toEqual(
      ['ApproximateNumberOfMessagesVisible', 'Errors', FINDINGS_METRICS.failed, FINDINGS_METRICS.rejected].sort(),
    );
    for (const a of alarms) expect(a.Properties.AlarmActions).toHaveLength(1);
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'secops@example.com' });
  });

  test('deploys no automation rule unless asked; with it, archived NEW findings become RESOLVED', () => {
    template.resourceCountIs('AWS::SecurityHub::AutomationRule', 0);
    const { findings } = build(withSecurityHub({ resolveWorkflowOnEnd: true }), { defaultAccount: TEST_ACCOUNT });
    if (!findings) throw new Error('no findings stack');
    Template.fromStack(findings).hasResourceProperties('AWS::SecurityHub::AutomationRule', {
      RuleStatus: 'ENABLED',
      Criteria: {
        RecordState: [{ Comparison: 'EQUALS', Value: 'ARCHIVED' }],
        WorkflowStatus: [{ Comparison: 'EQUALS', Value: 'NEW' }],
        GeneratorId: [{ Comparison: 'PREFIX', Value: 'trailsight/' }],
      },
      Actions: [
        { Type: 'FINDING_FIELDS_UPDATE', FindingFieldsUpdate: Match.objectLike({ Workflow: { Status: 'RESOLVED' } }) },
      ],
    });
  });

  test('sits next to the detection stack (log archive account, home Region) and deploys after it', () => {
    const app = build({ ...EXAMPLE_ORG_CONFIG_INPUT, findings: { securityHub: {} } });
    expect(app.findings?.account).toBe(app.detection?.account);
    expect(app.findings?.region).toBe(app.detection?.region);
    expect(app.findings?.dependencies).toContain(app.detection);
  });
});

describe('cdk-nag over the findings stack', () => {
  test.each([
    ['AwsSolutions', () => new AwsSolutionsChecks()],
    ['Serverless', () => new ServerlessChecks()],
  ])('has zero unacknowledged %s findings', (_pack, pack) => {
    const { app, findings } = build(withSecurityHub({ resolveWorkflowOnEnd: true, alarmEmails: ['a@example.com'] }));
    app.synth();
    if (!findings) throw new Error('no findings stack');
    const violations = pack()
      .validateScope(findings)
      .violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} @ ${r.constructPath}`));
    expect(violations).toEqual([]);
  });
});
