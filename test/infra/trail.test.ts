import { Match, Template } from 'aws-cdk-lib/assertions';
import { advancedEventSelectors, type EventSelection } from '../../lib/trail/event-selectors';
import { build, EXAMPLE_ORG_CONFIG_INPUT, single, TEST_ACCOUNT, withDefaults } from './helpers';

const ARCHIVE_ARN = 'arn:aws:s3:::trailsight-archive-111111111111-us-east-1';
// Same-account layout: the names resolve to the deploying account in every stack, whatever its Region.
const SAME_ACCOUNT_BUCKET = { 'Fn::Join': ['', ['trailsight-archive-', { Ref: 'AWS::AccountId' }, '-us-east-1']] };
const SAME_ACCOUNT_KEY = {
  'Fn::Join': [
    '',
    ['arn:', { Ref: 'AWS::Partition' }, ':kms:us-east-1:', { Ref: 'AWS::AccountId' }, ':alias/trailsight/archive'],
  ],
};
const MANAGEMENT_ONLY: EventSelection = {
  managementEvents: { readWrite: 'All', excludeSources: [] },
  dataEvents: { s3: false, lambda: false },
};

describe('advancedEventSelectors', () => {
  test('selects all management events with one selector by default', () => {
    expect(advancedEventSelectors(MANAGEMENT_ONLY, ARCHIVE_ARN)).toEqual([
      { name: 'Management events', fieldSelectors: [{ field: 'eventCategory', equalTo: ['Management'] }] },
    ]);
  });

  test.each([
    ['ReadOnly', 'true'],
    ['WriteOnly', 'false'],
  ] as const)('filters management events on readOnly when they are %s', (readWrite, readOnly) => {
    const [management] = advancedEventSelectors(
      { ...MANAGEMENT_ONLY, managementEvents: { readWrite, excludeSources: [] } },
      ARCHIVE_ARN,
    );
    expect(management.fieldSelectors).toEqual([
      { field: 'eventCategory', equalTo: ['Management'] },
      { field: 'readOnly', equalTo: [readOnly] },
    ]);
  });

  test('excludes the configured management event sources with NotEquals', () => {
    const [management] = advancedEventSelectors(
      {
        ...MANAGEMENT_ONLY,
        managementEvents: { readWrite: 'All', excludeSources: ['kms.amazonaws.com', 'rdsdata.amazonaws.com'] },
      },
      ARCHIVE_ARN,
    );
    expect(management.fieldSelectors).toContainEqual({
      field: 'eventSource',
      notEquals: ['kms.amazonaws.com', 'rdsdata.amazonaws.com'],
    });
  });

  test('omits the management selector when management events are None', () => {
    const selectors = advancedEventSelectors(
      {
        managementEvents: { readWrite: 'None', excludeSources: [] },
        dataEvents: { s3: false, lambda: { functions: 'all', readWrite: 'All' } },
      },
      ARCHIVE_ARN,
    );
    expect(selectors.map((s) => s.name)).toEqual(['Lambda data events']);
  });

  test('logs S3 object events of every bucket except the archive bucket itself', () => {
    const [, s3] = advancedEventSelectors(
      { ...MANAGEMENT_ONLY, dataEvents: { s3: { resources: 'all', readWrite: 'All' }, lambda: false } },
      ARCHIVE_ARN,
    );
    expect(s3).toEqual({
      name: 'S3 data events',
      fieldSelectors: [
        { field: 'eventCategory', equalTo: ['Data'] },
        { field: 'resources.type', equalTo: ['AWS::S3::Object'] },
        { field: 'resources.ARN', notStartsWith: [`${ARCHIVE_ARN}/`] },
      ],
    });
  });

  test('logs S3 object events of the listed bucket/prefix ARNs, read-only', () => {
    const resources = ['arn:aws:s3:::a-bucket/', 'arn:aws:s3:::b-bucket/secret/'];
    const [, s3] = advancedEventSelectors(
      { ...MANAGEMENT_ONLY, dataEvents: { s3: { resources, readWrite: 'ReadOnly' }, lambda: false } },
      ARCHIVE_ARN,
    );
    expect(s3.fieldSelectors).toEqual([
      { field: 'eventCategory', equalTo: ['Data'] },
      { field: 'resources.type', equalTo: ['AWS::S3::Object'] },
      { field: 'readOnly', equalTo: ['true'] },
      { field: 'resources.ARN', startsWith: resources },
    ]);
  });

  test('logs Lambda invocations of every function', () => {
    const [, lambda] = advancedEventSelectors(
      { ...MANAGEMENT_ONLY, dataEvents: { s3: false, lambda: { functions: 'all', readWrite: 'All' } } },
      ARCHIVE_ARN,
    );
    expect(lambda).toEqual({
      name: 'Lambda data events',
      fieldSelectors: [
        { field: 'eventCategory', equalTo: ['Data'] },
        { field: 'resources.type', equalTo: ['AWS::Lambda::Function'] },
      ],
    });
  });

  test('logs Lambda invocations of the listed functions, write-only', () => {
    const functions = ['arn:aws:lambda:us-east-1:111111111111:function:payments'];
    const [, lambda] = advancedEventSelectors(
      { ...MANAGEMENT_ONLY, dataEvents: { s3: false, lambda: { functions, readWrite: 'WriteOnly' } } },
      ARCHIVE_ARN,
    );
    expect(lambda.fieldSelectors).toEqual([
      { field: 'eventCategory', equalTo: ['Data'] },
      { field: 'resources.type', equalTo: ['AWS::Lambda::Function'] },
      { field: 'readOnly', equalTo: ['false'] },
      { field: 'resources.ARN', equalTo: functions },
    ]);
  });

  test('fails when nothing would be logged', () => {
    expect(() =>
      advancedEventSelectors(
        { ...MANAGEMENT_ONLY, managementEvents: { readWrite: 'None', excludeSources: [] } },
        ARCHIVE_ARN,
      ),
    ).toThrow(/the trail would log nothing/);
  });
});

describe('TrailStack (default: one multi-region trail)', () => {
  let template: Template;
  let app: ReturnType<typeof build>;
  beforeAll(() => {
    app = build(withDefaults({}), { defaultAccount: TEST_ACCOUNT });
    template = Template.fromStack(app.trails[0]);
  });

  test('is a single stack in the home Region and the deploying account', () => {
    expect(app.trails.map((s) => [s.node.id, s.region, s.account])).toEqual([
      ['TrailsightTrail', 'us-east-1', TEST_ACCOUNT],
    ]);
  });

  test('deploys after the log archive stack', () => {
    expect(app.trails[0].dependencies).toContain(app.logArchive);
  });

  test('defines a multi-region, account trail with log file validation, global events, the archive key and bucket', () => {
    template.hasResourceProperties('AWS::CloudTrail::Trail', {
      TrailName: 'trailsight',
      IsLogging: true,
      IsMultiRegionTrail: true,
      IncludeGlobalServiceEvents: true,
      IsOrganizationTrail: false,
      EnableLogFileValidation: true,
      S3BucketName: SAME_ACCOUNT_BUCKET,
      KMSKeyId: SAME_ACCOUNT_KEY,
      AdvancedEventSelectors: [
        { Name: 'Management events', FieldSelectors: [{ Field: 'eventCategory', Equals: ['Management'] }] },
      ],
      EventSelectors: Match.absent(),
      InsightSelectors: Match.absent(),
      CloudWatchLogsLogGroupArn: Match.absent(),
    });
  });

  test('creates no log group and no role when CloudWatch Logs delivery is off', () => {
    template.resourceCountIs('AWS::Logs::LogGroup', 0);
    template.resourceCountIs('AWS::IAM::Role', 0);
  });
});

describe('TrailStack (listed Regions)', () => {
  test('defines one single-region trail stack per listed Region, in that Region', () => {
    const regions = ['us-east-1', 'eu-west-1', 'ap-southeast-2'];
    const app = build(withDefaults({ regions }), { defaultAccount: TEST_ACCOUNT });
    expect(app.trails.map((s) => [s.node.id, s.region])).toEqual(regions.map((r) => [`TrailsightTrail-${r}`, r]));
    for (const stack of app.trails) {
      Template.fromStack(stack).hasResourceProperties('AWS::CloudTrail::Trail', {
        IsMultiRegionTrail: false,
        IncludeGlobalServiceEvents: stack.region === 'us-east-1',
        S3BucketName: SAME_ACCOUNT_BUCKET,
        KMSKeyId: SAME_ACCOUNT_KEY,
      });
      expect(stack.dependencies).toContain(app.logArchive);
    }
  });
});

describe('TrailStack (global service events with listed Regions)', () => {
  const globalFlags = (config: Record<string, unknown>) =>
    build(withDefaults(config), { defaultAccount: TEST_ACCOUNT }).trails.map((stack) => [
      stack.region,
      single(Template.fromStack(stack), 'AWS::CloudTrail::Trail').resource.Properties.IncludeGlobalServiceEvents,
    ]);

  test('are recorded exactly once, by the us-east-1 trail, whatever the home Region', () => {
    expect(globalFlags({ homeRegion: 'eu-west-1', regions: ['eu-west-1', 'us-east-1', 'eu-central-1'] })).toEqual([
      ['eu-west-1', false],
      ['us-east-1', true],
      ['eu-central-1', false],
    ]);
  });

  test('are recorded by no trail when turned off explicitly (us-east-1 not listed)', () => {
    expect(globalFlags({ homeRegion: 'eu-west-1', regions: ['eu-west-1'], globalServiceEvents: false })).toEqual([
      ['eu-west-1', false],
    ]);
  });

  test('fails when us-east-1 is not listed and global service events are not turned off', () => {
    expect(() => build(withDefaults({ homeRegion: 'eu-west-1', regions: ['eu-west-1'] }))).toThrow(
      /does not include "us-east-1"/,
    );
  });
});

describe('TrailStack (example organization configuration)', () => {
  let app: ReturnType<typeof build>;
  beforeAll(() => {
    app = build(EXAMPLE_ORG_CONFIG_INPUT);
  });

  test('deploys one organization trail per listed Region into the management account', () => {
    expect(app.trails.map((s) => [s.region, s.account])).toEqual([
      ['eu-west-1', '111111111111'],
      ['eu-central-1', '111111111111'],
      ['us-east-1', '111111111111'],
    ]);
    for (const stack of app.trails) {
      Template.fromStack(stack).hasResourceProperties('AWS::CloudTrail::Trail', {
        TrailName: 'trailsight-org',
        IsOrganizationTrail: true,
        IsMultiRegionTrail: false,
        // us-east-1, not the home Region: CloudTrail records IAM/STS/CloudFront/sign-in events only there.
        IncludeGlobalServiceEvents: stack.region === 'us-east-1',
        S3BucketName: 'trailsight-archive-222222222222-eu-west-1',
        KMSKeyId: {
          'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':kms:eu-west-1:222222222222:alias/trailsight/archive']],
        },
      });
    }
  });

  test('turns on the native Insights types for comparison', () => {
    Template.fromStack(app.trails[0]).hasResourceProperties('AWS::CloudTrail::Trail', {
      InsightSelectors: [{ InsightType: 'ApiCallRateInsight' }, { InsightType: 'ApiErrorRateInsight' }],
    });
  });

  test('renders management, S3 and Lambda selectors with CloudFormation field names', () => {
    const { resource } = single(Template.fromStack(app.trails[1]), 'AWS::CloudTrail::Trail');
    expect(resource.Properties.AdvancedEventSelectors).toEqual([
      {
        Name: 'Management events',
        FieldSelectors: [
          { Field: 'eventCategory', Equals: ['Management'] },
          { Field: 'eventSource', NotEquals: ['rdsdata.amazonaws.com'] },
        ],
      },
      {
        Name: 'S3 data events',
        FieldSelectors: [
          { Field: 'eventCategory', Equals: ['Data'] },
          { Field: 'resources.type', Equals: ['AWS::S3::Object'] },
          { Field: 'readOnly', Equals: ['false'] },
          {
            Field: 'resources.ARN',
            StartsWith: ['arn:aws:s3:::example-payroll-exports/', 'arn:aws:s3:::example-secrets-drop/incoming/'],
          },
        ],
      },
      {
        Name: 'Lambda data events',
        FieldSelectors: [
          { Field: 'eventCategory', Equals: ['Data'] },
          { Field: 'resources.type', Equals: ['AWS::Lambda::Function'] },
        ],
      },
    ]);
  });

  test('delivers to a CloudWatch Logs log group through a role limited to CloudTrail stream names', () => {
    const template = Template.fromStack(app.trails[1]);
    const logGroup = single(template, 'AWS::Logs::LogGroup');
    expect(logGroup.resource.Properties.RetentionInDays).toBe(90);
    const role = single(template, 'AWS::IAM::Role');
    template.hasResourceProperties('AWS::CloudTrail::Trail', {
      CloudWatchLogsLogGroupArn: { 'Fn::GetAtt': [logGroup.id, 'Arn'] },
      CloudWatchLogsRoleArn: { 'Fn::GetAtt': [role.id, 'Arn'] },
    });
    expect(role.resource.Properties.AssumeRolePolicyDocument).toMatchObject({
      Statement: [{ Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'cloudtrail.amazonaws.com' } }],
    });
    const streamArn = (prefix: string) => ({
      'Fn::Join': [
        '',
        ['arn:aws:logs:eu-central-1:111111111111:log-group:', { Ref: logGroup.id }, `:log-stream:${prefix}*`],
      ],
    });
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: [
          {
            Effect: 'Allow',
            Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
            Resource: [streamArn('111111111111_CloudTrail_'), streamArn('o-a1b2c3d4e5_')],
          },
        ],
      },
    });
  });

  test('creates the trail after the role policy CloudTrail checks', () => {
    const template = Template.fromStack(app.trails[0]);
    const policy = single(template, 'AWS::IAM::Policy');
    const trail = single(template, 'AWS::CloudTrail::Trail');
    expect(trail.resource.DependsOn).toContain(policy.id);
  });
});
