import { Annotations, Template } from 'aws-cdk-lib/assertions';
import { trailStackId } from '../../lib/app';
import { parseConfig } from '../../lib/config';
import { archiveBucketName, archiveKeyAliasArn, placementOf, trailArns } from '../../lib/contracts';
import { build, EXAMPLE_ORG_CONFIG_INPUT, TEST_ACCOUNT, withDefaults } from './helpers';

describe('placement and contracts', () => {
  test('puts everything in the deploying account by default', () => {
    expect(placementOf(parseConfig({}))).toEqual({
      management: undefined,
      logArchive: undefined,
      audit: undefined,
      crossAccount: false,
    });
  });

  test('defaults the log archive to the management account and the audit account to the log archive', () => {
    expect(placementOf(parseConfig({ accounts: { management: '111111111111' } }))).toMatchObject({
      logArchive: '111111111111',
      audit: '111111111111',
      crossAccount: false,
    });
    expect(
      placementOf(parseConfig({ accounts: { management: '111111111111', logArchive: '222222222222' } })),
    ).toMatchObject({
      audit: '222222222222',
      crossAccount: true,
    });
  });

  test('derives literal cross-account names from configuration alone', () => {
    const config = parseConfig(EXAMPLE_ORG_CONFIG_INPUT);
    expect(archiveBucketName(config)).toBe('trailsight-archive-222222222222-eu-west-1');
    expect(archiveKeyAliasArn(config)).toMatch(
      /^arn:\$\{Token\[AWS\.Partition\.\d+\]\}:kms:eu-west-1:222222222222:alias\/trailsight\/archive$/,
    );
    expect(trailArns(config).map((arn) => arn.replace(/^arn:[^:]+:/, 'arn:p:'))).toEqual([
      'arn:p:cloudtrail:eu-west-1:111111111111:trail/trailsight-org',
      'arn:p:cloudtrail:eu-central-1:111111111111:trail/trailsight-org',
      'arn:p:cloudtrail:us-east-1:111111111111:trail/trailsight-org',
    ]);
  });

  test('names trail stacks after their Region only when Regions are listed', () => {
    expect(trailStackId(parseConfig({}), 'us-east-1')).toBe('TrailsightTrail');
    expect(trailStackId(parseConfig({ regions: ['us-east-1'] }), 'us-east-1')).toBe('TrailsightTrail-us-east-1');
  });
});

describe('buildApp', () => {
  test('builds the three stacks of the default configuration in the home Region, account left to the environment', () => {
    const app = build(withDefaults({}));
    expect([app.logArchive, ...app.trails, app.analytics].map((s) => [s.node.id, s.region, s.environment])).toEqual([
      ['TrailsightLogArchive', 'us-east-1', 'aws://unknown-account/us-east-1'],
      ['TrailsightTrail', 'us-east-1', 'aws://unknown-account/us-east-1'],
      ['TrailsightAnalytics', 'us-east-1', 'aws://unknown-account/us-east-1'],
    ]);
  });

  test('uses the default account for stacks whose account is not configured', () => {
    const app = build(withDefaults({}), { defaultAccount: TEST_ACCOUNT });
    expect([app.logArchive.account, app.trails[0].account, app.analytics.account]).toEqual([
      TEST_ACCOUNT,
      TEST_ACCOUNT,
      TEST_ACCOUNT,
    ]);
  });

  test('places each stack in its configured account, ignoring the default account', () => {
    const app = build(EXAMPLE_ORG_CONFIG_INPUT, { defaultAccount: TEST_ACCOUNT });
    expect(app.logArchive.environment).toBe('aws://222222222222/eu-west-1');
    expect(app.trails.map((s) => s.environment)).toEqual([
      'aws://111111111111/eu-west-1',
      'aws://111111111111/eu-central-1',
      'aws://111111111111/us-east-1',
    ]);
    expect(app.analytics.environment).toBe('aws://333333333333/eu-west-1');
  });

  test('makes the analytics stack depend on the log archive, and only the log archive stack termination-protected', () => {
    const app = build(withDefaults({}));
    expect(app.analytics.dependencies).toEqual([app.logArchive]);
    expect([app.logArchive, ...app.trails, app.analytics].map((s) => s.terminationProtection)).toEqual([
      true,
      false,
      false,
    ]);
  });

  test('uses no cross-stack reference between accounts: no exports, no imports, no parameters', () => {
    const app = build(EXAMPLE_ORG_CONFIG_INPUT);
    for (const stack of [app.logArchive, ...app.trails, app.analytics]) {
      const template = Template.fromStack(stack).toJSON();
      expect(template.Outputs ?? {}).toEqual({});
      expect(JSON.stringify(template)).not.toMatch(/Fn::ImportValue|Fn::GetStackOutput/);
      expect(Object.keys(template.Parameters ?? {}).filter((p) => p !== 'BootstrapVersion')).toEqual([]);
    }
  });

  test('synthesizes without errors or warnings annotations', () => {
    const app = build(EXAMPLE_ORG_CONFIG_INPUT);
    for (const stack of [app.logArchive, ...app.trails, app.analytics]) {
      Annotations.fromStack(stack).hasNoError('*', '*');
      Annotations.fromStack(stack).hasNoWarning('*', '*');
    }
  });

  test('tags every stack with app=trailsight', () => {
    const app = build(withDefaults({}));
    Template.fromStack(app.logArchive).hasResourceProperties('AWS::KMS::Key', {
      Tags: [{ Key: 'app', Value: 'trailsight' }],
    });
  });

  test('grants no IAM Allow on every action or every resource anywhere in the app', () => {
    const app = build(
      withDefaults({ cloudWatchLogs: { retentionDays: 30 }, dataEvents: { s3: { resources: 'all' } } }),
    );
    const statements = [app.logArchive, ...app.trails, app.analytics].flatMap((stack) =>
      Object.values(Template.fromStack(stack).findResources('AWS::IAM::Policy')).flatMap(
        (p) => p.Properties.PolicyDocument.Statement as { Effect: string; Action: unknown; Resource: unknown }[],
      ),
    );
    expect(statements.length).toBeGreaterThan(0);
    // The documented exception: X-Ray and CloudWatch Logs vended delivery (a state machine's logs) have no
    // resource-level permissions.
    const noResourceLevel =
      /^(xray:|logs:(Create|Delete|Get|Update)LogDelivery$|logs:ListLogDeliveries$|logs:Describe(LogGroups|ResourcePolicies)$|logs:PutResourcePolicy$)/;
    for (const statement of statements.filter((st) => st.Effect === 'Allow')) {
      expect([statement.Action].flat()).not.toContain('*');
      if ([statement.Resource].flat().includes('*')) {
        expect([statement.Action].flat().filter((a) => !noResourceLevel.test(String(a)))).toEqual([]);
      }
    }
  });
});
