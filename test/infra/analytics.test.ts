import { Match, Template } from 'aws-cdk-lib/assertions';
import { RegionInfo } from 'aws-cdk-lib/region-info';
import { cloudTrailProjection } from '../../lib/analytics/cloudtrail-table';
import { insightsProjection } from '../../lib/analytics/insights-table';
import { loadCatalog } from '../../queries/catalog';
import { CLOUDTRAIL_COLUMNS, CLOUDTRAIL_PARTITION_KEYS, CLOUDTRAIL_TABLE_NAME } from '../../schema/cloudtrail-table';
import { INSIGHTS_COLUMNS, INSIGHTS_PARTITION_KEYS, INSIGHTS_TABLE_NAME } from '../../schema/insights-table';
import { build, EXAMPLE_ORG_CONFIG_INPUT, single, withDefaults } from './helpers';

// biome-ignore lint/suspicious/noTemplateCurlyInString: Athena partition projection placeholders, literal by design.
const TAIL = '${account}/CloudTrail/${region}/${dt}';
// biome-ignore lint/suspicious/noTemplateCurlyInString: Athena partition projection placeholders, literal by design.
const INSIGHTS_TAIL = '${account}/${region}/${dt}';

/** The Glue table of the template with this name (the stack holds the CloudTrail and the insights table). */
function glueTable(
  template: Template,
  name: string,
): { Properties: Record<string, unknown> } & Record<string, unknown> {
  const found = Object.values(template.findResources('AWS::Glue::Table')).filter(
    (r) => (r as { Properties: { TableInput: { Name: string } } }).Properties.TableInput.Name === name,
  );
  if (found.length !== 1) throw new Error(`expected one Glue table ${name}, found ${found.length}`);
  return found[0] as { Properties: Record<string, unknown> } & Record<string, unknown>;
}

/** The workgroup's results bucket (the stack also holds the compacted table's bucket). */
function resultsBucket(template: Template): { id: string } {
  const ids = Object.keys(template.findResources('AWS::S3::Bucket')).filter((id) =>
    id.startsWith('WorkGroupResultsBucket'),
  );
  if (ids.length !== 1) throw new Error(`expected one results bucket, found ${ids.join(', ')}`);
  return { id: ids[0] };
}

describe('cloudTrailProjection', () => {
  test('projects account, region and dt over the account trail layout', () => {
    const { location, parameters } = cloudTrailProjection({
      bucketName: 'archive',
      accountIds: ['111111111111'],
      regions: ['us-east-1', 'eu-west-1'],
      retentionDays: 365,
    });
    expect(location).toBe('s3://archive/AWSLogs/');
    expect(parameters).toEqual({
      classification: 'cloudtrail',
      'projection.enabled': 'true',
      'projection.account.type': 'enum',
      'projection.account.values': '111111111111',
      'projection.region.type': 'enum',
      'projection.region.values': 'us-east-1,eu-west-1',
      'projection.dt.type': 'date',
      'projection.dt.format': 'yyyy/MM/dd',
      'projection.dt.range': 'NOW-365DAYS,NOW',
      'projection.dt.interval': '1',
      'projection.dt.interval.unit': 'DAYS',
      'storage.location.template': `s3://archive/AWSLogs/${TAIL}`,
    });
  });

  test('inserts the organization ID before the account in the organization layout, same partition columns', () => {
    const { location, parameters } = cloudTrailProjection({
      bucketName: 'archive',
      organizationId: 'o-a1b2c3d4e5',
      accountIds: ['111111111111'],
      regions: ['us-east-1'],
      retentionDays: 30,
    });
    expect(location).toBe('s3://archive/AWSLogs/o-a1b2c3d4e5/');
    expect(parameters['storage.location.template']).toBe(`s3://archive/AWSLogs/o-a1b2c3d4e5/${TAIL}`);
    expect(parameters['projection.account.type']).toBe('enum');
  });

  test('fails when no Region is projected', () => {
    expect(() =>
      cloudTrailProjection({ bucketName: 'a', accountIds: ['111111111111'], regions: [], retentionDays: 1 }),
    ).toThrow(/regions is empty/);
  });

  test('fails when an enum account projection has no account', () => {
    expect(() =>
      cloudTrailProjection({
        bucketName: 'a',
        accountIds: [],
        regions: ['us-east-1'],
        retentionDays: 1,
      }),
    ).toThrow(/accountIds is empty/);
  });
});

describe('AnalyticsStack (default configuration)', () => {
  let app: ReturnType<typeof build>;
  let template: Template;
  beforeAll(() => {
    app = build(withDefaults({}));
    template = Template.fromStack(app.analytics);
  });

  test('exposes the database, the workgroup and the table name for named queries', () => {
    expect(app.analytics.tableName).toBe(CLOUDTRAIL_TABLE_NAME);
    expect(app.analytics.resolve(app.analytics.database.ref)).toEqual({ Ref: 'Database' });
    expect(app.analytics.workGroup.name).toBe('trailsight');
  });

  test('saves every query of the library as a named query in the workgroup and database, and the CloudTrail ones again for the compacted table', () => {
    const catalog = loadCatalog();
    expect(catalog.length).toBeGreaterThan(20);
    const compacted = catalog.filter((q) => q.table === CLOUDTRAIL_TABLE_NAME);
    template.resourceCountIs('AWS::Athena::NamedQuery', catalog.length + compacted.length);
    template.allResourcesProperties('AWS::Athena::NamedQuery', {
      WorkGroup: { Ref: Match.stringLikeRegexp('^WorkGroup') },
      Database: { Ref: 'Database' },
    });
  });

  test('defines the Glue database with the configured name', () => {
    template.hasResourceProperties('AWS::Glue::Database', {
      CatalogId: { Ref: 'AWS::AccountId' },
      DatabaseInput: { Name: 'trailsight' },
    });
  });

  test('defines the CloudTrail table from the shared schema with the JSON SerDe and CloudTrailInputFormat', () => {
    const resource = glueTable(template, CLOUDTRAIL_TABLE_NAME);
    expect(resource.Properties).toMatchObject({
      DatabaseName: { Ref: 'Database' },
      TableInput: {
        Name: CLOUDTRAIL_TABLE_NAME,
        TableType: 'EXTERNAL_TABLE',
        PartitionKeys: CLOUDTRAIL_PARTITION_KEYS.map(({ name, type }) => ({ Name: name, Type: type })),
        StorageDescriptor: {
          Columns: CLOUDTRAIL_COLUMNS.map(({ name, type }) => ({ Name: name, Type: type })),
          InputFormat: 'com.amazon.emr.cloudtrail.CloudTrailInputFormat',
          OutputFormat: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
          SerdeInfo: { SerializationLibrary: 'org.apache.hive.hcatalog.data.JsonSerDe' },
        },
      },
    });
    expect(resource.DependsOn).toEqual(['Database']);
  });

  test('projects partitions over the account trail layout of the same-account archive', () => {
    template.hasResourceProperties('AWS::Glue::Table', {
      TableInput: {
        StorageDescriptor: {
          Location: {
            'Fn::Join': ['', ['s3://trailsight-archive-', { Ref: 'AWS::AccountId' }, '-us-east-1/AWSLogs/']],
          },
        },
        Parameters: Match.objectLike({
          'projection.enabled': 'true',
          'projection.account.type': 'enum',
          'projection.account.values': { Ref: 'AWS::AccountId' },
          'projection.dt.range': 'NOW-2557DAYS,NOW',
          'storage.location.template': {
            'Fn::Join': ['', ['s3://trailsight-archive-', { Ref: 'AWS::AccountId' }, `-us-east-1/AWSLogs/${TAIL}`]],
          },
        }),
      },
    });
  });

  test('projects every Region of the partition for a multi-region trail', () => {
    const resource = glueTable(template, CLOUDTRAIL_TABLE_NAME);
    const regions = (resource.Properties.TableInput as { Parameters: Record<string, string> }).Parameters[
      'projection.region.values'
    ].split(',');
    const known = RegionInfo.regions.filter((r) => r.partition === 'aws').map((r) => r.name);
    expect(regions.sort()).toEqual(known.sort());
    expect(regions).toEqual(expect.arrayContaining(['us-east-1', 'eu-west-1', 'ap-southeast-2']));
    expect(regions.some((r) => r.startsWith('cn-') || r.startsWith('us-gov-'))).toBe(false);
  });

  test('enforces the workgroup settings: results location, SSE-KMS, scan cutoff, engine 3, metrics', () => {
    const key = single(template, 'AWS::KMS::Key');
    const bucket = resultsBucket(template);
    template.hasResourceProperties('AWS::Athena::WorkGroup', {
      Name: 'trailsight',
      State: 'ENABLED',
      RecursiveDeleteOption: true,
      WorkGroupConfiguration: {
        EnforceWorkGroupConfiguration: true,
        PublishCloudWatchMetricsEnabled: true,
        BytesScannedCutoffPerQuery: 10_737_418_240,
        EngineVersion: { SelectedEngineVersion: 'Athena engine version 3' },
        ResultConfiguration: {
          OutputLocation: { 'Fn::Join': ['', ['s3://', { Ref: bucket.id }, '/results/']] },
          EncryptionConfiguration: { EncryptionOption: 'SSE_KMS', KmsKey: { 'Fn::GetAtt': [key.id, 'Arn'] } },
          ExpectedBucketOwner: { Ref: 'AWS::AccountId' },
        },
      },
    });
  });

  test('encrypts, locks down and expires the results bucket, and rotates its key', () => {
    const key = single(template, 'AWS::KMS::Key');
    expect(key.resource.Properties.EnableKeyRotation).toBe(true);
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          {
            BucketKeyEnabled: true,
            ServerSideEncryptionByDefault: {
              SSEAlgorithm: 'aws:kms',
              KMSMasterKeyID: { 'Fn::GetAtt': [key.id, 'Arn'] },
            },
          },
        ],
      },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      LifecycleConfiguration: { Rules: [Match.objectLike({ Id: 'ExpireQueryResults', ExpirationInDays: 30 })] },
    });
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });
});

describe('AnalyticsStack (example organization configuration)', () => {
  test('projects the organization layout with the listed accounts and Regions, in the audit account', () => {
    const app = build(EXAMPLE_ORG_CONFIG_INPUT);
    expect([app.analytics.account, app.analytics.region]).toEqual(['333333333333', 'eu-west-1']);
    Template.fromStack(app.analytics).hasResourceProperties('AWS::Glue::Table', {
      TableInput: {
        StorageDescriptor: { Location: 's3://trailsight-archive-222222222222-eu-west-1/AWSLogs/o-a1b2c3d4e5/' },
        Parameters: Match.objectLike({
          'projection.account.type': 'enum',
          'projection.account.values': '111111111111,222222222222,333333333333,444444444444',
          'projection.region.values': 'eu-west-1,eu-central-1,us-east-1',
          'storage.location.template': `s3://trailsight-archive-222222222222-eu-west-1/AWSLogs/o-a1b2c3d4e5/${TAIL}`,
        }),
      },
    });
  });

  test('never injects the account partition of an organization: an enum the account sync keeps current', () => {
    const input = { ...EXAMPLE_ORG_CONFIG_INPUT, analytics: { databaseName: 'trailsight' } };
    const app = build(input);
    Template.fromStack(app.analytics).hasResourceProperties('AWS::Glue::Table', {
      TableInput: {
        Name: CLOUDTRAIL_TABLE_NAME,
        // The management account, whose organization trail delivers, until the first sync adds the others.
        Parameters: Match.objectLike({
          'projection.account.type': 'enum',
          'projection.account.values': '111111111111',
        }),
      },
    });
    expect(app.analytics.accountSync).toBeDefined();
  });
});

describe('insightsProjection', () => {
  test('projects account, region and dt over the insight archive layout', () => {
    const { location, parameters } = insightsProjection({
      bucketName: 'archive',
      accountIds: ['111111111111', '222222222222'],
      regions: ['us-east-1', 'eu-west-1'],
      retentionDays: 365,
    });
    expect(location).toBe('s3://archive/trailsight/insights/');
    expect(parameters).toEqual({
      classification: 'json',
      'projection.enabled': 'true',
      'projection.account.type': 'enum',
      'projection.account.values': '111111111111,222222222222',
      'projection.region.type': 'enum',
      'projection.region.values': 'us-east-1,eu-west-1',
      'projection.dt.type': 'date',
      'projection.dt.format': 'yyyy/MM/dd',
      'projection.dt.range': 'NOW-365DAYS,NOW',
      'projection.dt.interval': '1',
      'projection.dt.interval.unit': 'DAYS',
      'storage.location.template': `s3://archive/trailsight/insights/${INSIGHTS_TAIL}`,
    });
  });

  test('honours another prefix', () => {
    const { location, parameters } = insightsProjection({
      bucketName: 'archive',
      prefix: 'audit/insights/',
      accountIds: ['111111111111'],
      regions: ['us-east-1'],
      retentionDays: 30,
    });
    expect(location).toBe('s3://archive/audit/insights/');
    expect(parameters['storage.location.template']).toBe(`s3://archive/audit/insights/${INSIGHTS_TAIL}`);
    expect(parameters['projection.account.values']).toBe('111111111111');
  });

  test('fails when the prefix does not end in a slash or starts with one', () => {
    const base = { bucketName: 'a', accountIds: ['111111111111'], regions: ['us-east-1'], retentionDays: 1 };
    expect(() => insightsProjection({ ...base, prefix: 'trailsight/insights' })).toThrow(/must end with "\/"/);
    expect(() => insightsProjection({ ...base, prefix: '/trailsight/insights/' })).toThrow(/must not start/);
  });

  test('fails when no Region is projected', () => {
    expect(() =>
      insightsProjection({ bucketName: 'a', accountIds: ['111111111111'], regions: [], retentionDays: 1 }),
    ).toThrow(/^insightsProjection: regions is empty/);
  });

  test('fails when an enum account projection has no account', () => {
    expect(() =>
      insightsProjection({
        bucketName: 'a',
        accountIds: [],
        regions: ['us-east-1'],
        retentionDays: 1,
      }),
    ).toThrow(/^insightsProjection: accountIds is empty/);
  });
});

describe('AnalyticsStack insights table', () => {
  describe('default configuration', () => {
    let app: ReturnType<typeof build>;
    let template: Template;
    beforeAll(() => {
      app = build(withDefaults({}));
      template = Template.fromStack(app.analytics);
    });

    test('exposes the insights table name next to the CloudTrail table in one database', () => {
      expect(app.analytics.insightsTableName).toBe(INSIGHTS_TABLE_NAME);
      expect(app.analytics.insightsTableName).toBe('trailsight_insights');
      template.resourceCountIs('AWS::Glue::Table', 3);
    });

    test('defines the table from the shared schema: single-line JSON text, OpenX JSON SerDe', () => {
      const resource = glueTable(template, INSIGHTS_TABLE_NAME);
      expect(resource.Properties).toMatchObject({
        CatalogId: { Ref: 'AWS::AccountId' },
        DatabaseName: { Ref: 'Database' },
        TableInput: {
          TableType: 'EXTERNAL_TABLE',
          PartitionKeys: INSIGHTS_PARTITION_KEYS.map(({ name, type }) => ({ Name: name, Type: type })),
          StorageDescriptor: {
            Columns: INSIGHTS_COLUMNS.map(({ name, type }) => ({ Name: name, Type: type })),
            InputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
            OutputFormat: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
            SerdeInfo: {
              SerializationLibrary: 'org.openx.data.jsonserde.JsonSerDe',
              Parameters: { 'case.insensitive': 'TRUE' },
            },
          },
        },
      });
      expect(resource.DependsOn).toEqual(['Database']);
    });

    test("keeps the JSON objects as string columns and the CloudTrail table's partition columns", () => {
      const columns = Object.fromEntries(INSIGHTS_COLUMNS.map(({ name, type }) => [name, type]));
      expect(columns.insightdetails).toBe('string');
      expect(columns.trailsight).toBe('string');
      expect(INSIGHTS_PARTITION_KEYS).toEqual(CLOUDTRAIL_PARTITION_KEYS);
    });

    test('projects account, region and dt over trailsight/insights/ in the same-account insights bucket', () => {
      const resource = glueTable(template, INSIGHTS_TABLE_NAME);
      const input = resource.Properties.TableInput as {
        Parameters: Record<string, unknown>;
        StorageDescriptor: { Location: unknown };
      };
      const bucket = ['s3://trailsight-insights-', { Ref: 'AWS::AccountId' }];
      expect(input.StorageDescriptor.Location).toEqual({
        'Fn::Join': ['', [...bucket, '-us-east-1/trailsight/insights/']],
      });
      const known = RegionInfo.regions.filter((r) => r.partition === 'aws').map((r) => r.name);
      expect(input.Parameters).toEqual({
        EXTERNAL: 'TRUE',
        classification: 'json',
        'projection.enabled': 'true',
        'projection.account.type': 'enum',
        'projection.account.values': { Ref: 'AWS::AccountId' },
        'projection.region.type': 'enum',
        'projection.region.values': known.sort().join(','),
        'projection.dt.type': 'date',
        'projection.dt.format': 'yyyy/MM/dd',
        'projection.dt.range': 'NOW-2557DAYS,NOW',
        'projection.dt.interval': '1',
        'projection.dt.interval.unit': 'DAYS',
        'storage.location.template': {
          'Fn::Join': ['', [...bucket, `-us-east-1/trailsight/insights/${INSIGHTS_TAIL}`]],
        },
      });
    });
  });

  describe('example organization configuration', () => {
    test('projects the listed accounts and Regions, with no organization ID in the insight keys', () => {
      const template = Template.fromStack(build(EXAMPLE_ORG_CONFIG_INPUT).analytics);
      const input = glueTable(template, INSIGHTS_TABLE_NAME).Properties.TableInput as {
        Parameters: Record<string, unknown>;
        StorageDescriptor: { Location: unknown };
      };
      expect(input.StorageDescriptor.Location).toBe(
        's3://trailsight-insights-222222222222-eu-west-1/trailsight/insights/',
      );
      expect(input.Parameters).toMatchObject({
        'projection.account.type': 'enum',
        'projection.account.values': '111111111111,222222222222,333333333333,444444444444',
        'projection.region.values': 'eu-west-1,eu-central-1,us-east-1',
        'projection.dt.format': 'yyyy/MM/dd',
        'storage.location.template': `s3://trailsight-insights-222222222222-eu-west-1/trailsight/insights/${INSIGHTS_TAIL}`,
      });
    });

    test('projects an organization without listed accounts as an enum the account sync keeps current', () => {
      const input = { ...EXAMPLE_ORG_CONFIG_INPUT, analytics: { databaseName: 'trailsight' } };
      const template = Template.fromStack(build(input).analytics);
      const params = (
        glueTable(template, INSIGHTS_TABLE_NAME).Properties.TableInput as {
          Parameters: Record<string, unknown>;
        }
      ).Parameters;
      expect(params['projection.account.type']).toBe('enum');
      expect(params['projection.account.values']).toBe('111111111111');
    });
  });
});
