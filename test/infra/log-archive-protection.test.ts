/**
 * The archive's protection (issue #10, part 2): every Deny and every grant of the bucket and key policies, and the
 * reasoning that the Denies leave working what must keep working (CloudTrail delivery, the pipeline's and the
 * integrity verifier's reads, Athena readers, access-log delivery, deployments).
 */
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import {
  BUCKET_CONFIGURATION_ACTIONS,
  BUCKET_DESTRUCTION_ACTIONS,
  KEY_DESTRUCTION_ACTIONS,
  KEY_POLICY_ACTIONS,
} from '../../lib/log-archive/protected-actions';
import { build, EXAMPLE_ORG_CONFIG_INPUT, withDefaults } from './helpers';

type Statement = {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Principal?: unknown;
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, Record<string, unknown>>;
};

const ARCHIVE = 'ArchiveBucket49F1AC64';
const ACCESS_LOGS = 'ArchiveAccessLogBucket69093EBF';
const INSIGHTS = 'ArchiveInsightsBucket9F114CF2';
const BREAK_GLASS = 'arn:aws:iam::222222222222:role/TrailsightBreakGlass';
const KEY_ADMIN = 'arn:aws:iam::222222222222:role/SecurityKeyAdministrator';

/** The CloudFormation execution role of the same-account archive stack (account left to the environment). */
const AGNOSTIC_DEPLOYMENT_ROLE = {
  'Fn::Join': [
    '',
    [
      'arn:',
      { Ref: 'AWS::Partition' },
      ':iam::',
      { Ref: 'AWS::AccountId' },
      ':role/cdk-hnb659fds-cfn-exec-role-',
      { Ref: 'AWS::AccountId' },
      '-us-east-1',
    ],
  ],
};
const ORG_DEPLOYMENT_ROLE = {
  'Fn::Join': [
    '',
    ['arn:', { Ref: 'AWS::Partition' }, ':iam::222222222222:role/cdk-hnb659fds-cfn-exec-role-222222222222-eu-west-1'],
  ],
};

function bucketStatements(template: Template, bucketId: string): Statement[] {
  const policies = template.findResources('AWS::S3::BucketPolicy', { Properties: { Bucket: { Ref: bucketId } } });
  return Object.values(policies).flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
}

function keyStatements(template: Template): Statement[] {
  return Object.values(template.findResources('AWS::KMS::Key'))[0].Properties.KeyPolicy.Statement as Statement[];
}

function bySid(statements: Statement[], sid: string): Statement {
  const found = statements.find((s) => s.Sid === sid);
  if (!found) throw new Error(`no statement ${sid} in ${statements.map((s) => s.Sid).join(', ')}`);
  return found;
}

const actionsOf = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);

/** Whether an IAM action pattern (with `*`) covers an action. */
function covers(pattern: string, action: string): boolean {
  const regex = new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`, 'i');
  return regex.test(action);
}

/** Denies other than the TLS ones CDK adds (enforceSSL, minimumTLSVersion), which every client satisfies. */
function tamperDenies(statements: Statement[]): Statement[] {
  return statements.filter(
    (s) =>
      s.Effect === 'Deny' &&
      !(s.Condition?.Bool?.['aws:SecureTransport'] === 'false') &&
      s.Condition?.NumericLessThan?.['s3:TlsVersion'] === undefined,
  );
}

describe('LogArchive protection (default single-account configuration, no break-glass role)', () => {
  let template: Template;
  beforeAll(() => {
    template = Template.fromStack(build(withDefaults({})).logArchive);
  });

  describe('archive bucket', () => {
    test('denies every write that does not come from a configured trail, whoever asks', () => {
      const statements = bucketStatements(template, ARCHIVE);
      const allow = bySid(statements, 'CloudTrailWrite');
      expect(bySid(statements, 'DenyWritesExceptConfiguredTrails')).toEqual({
        Sid: 'DenyWritesExceptConfiguredTrails',
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Action: 's3:PutObject',
        Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [ARCHIVE, 'Arn'] }, '/*']] },
        // The same trail ARNs as the CloudTrail Allow: the trails themselves are never denied.
        Condition: { StringNotEquals: { 'aws:SourceArn': allow.Condition?.StringEquals?.['aws:SourceArn'] } },
      });
    });

    test('denies configuration changes to everyone but the deployment role', () => {
      expect(
        bySid(bucketStatements(template, ARCHIVE), 'DenyConfigurationChangesExceptDeploymentAndBreakGlass'),
      ).toEqual({
        Sid: 'DenyConfigurationChangesExceptDeploymentAndBreakGlass',
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Action: [...BUCKET_CONFIGURATION_ACTIONS].sort(),
        Resource: { 'Fn::GetAtt': [ARCHIVE, 'Arn'] },
        Condition: { ArnNotEquals: { 'aws:PrincipalArn': [AGNOSTIC_DEPLOYMENT_ROLE] } },
      });
    });

    test('denies deleting or unlocking files and deleting the bucket to everyone', () => {
      expect(bySid(bucketStatements(template, ARCHIVE), 'DenyDestruction')).toEqual({
        Sid: 'DenyDestruction',
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Action: [...BUCKET_DESTRUCTION_ACTIONS].sort(),
        Resource: [
          { 'Fn::GetAtt': [ARCHIVE, 'Arn'] },
          { 'Fn::Join': ['', [{ 'Fn::GetAtt': [ARCHIVE, 'Arn'] }, '/*']] },
        ],
      });
    });

    test('covers the actions the issue names', () => {
      for (const action of [
        's3:DeleteObject',
        's3:DeleteObjectVersion',
        's3:PutBucketPolicy',
        's3:PutLifecycleConfiguration',
        's3:PutObjectRetention',
        's3:PutBucketObjectLockConfiguration',
        's3:PutBucketVersioning',
      ]) {
        const denied = tamperDenies(bucketStatements(template, ARCHIVE)).some((s) =>
          actionsOf(s).some((a) => covers(a, action)),
        );
        expect([action, denied]).toEqual([action, true]);
      }
    });

    test('uses no S3 Bucket Key (CloudTrail would use it for its own deliveries)', () => {
      template.hasResourceProperties('AWS::S3::Bucket', {
        BucketName: { 'Fn::Join': ['', ['trailsight-archive-', { Ref: 'AWS::AccountId' }, '-us-east-1']] },
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [Match.objectLike({ BucketKeyEnabled: false })],
        },
      });
    });
  });

  describe('access-log bucket, the record of who read the evidence', () => {
    test('accepts writes only from S3 server access logging for the archive and the insights buckets', () => {
      const statements = bucketStatements(template, ACCESS_LOGS);
      const sources = [{ 'Fn::GetAtt': [ARCHIVE, 'Arn'] }, { 'Fn::GetAtt': [INSIGHTS, 'Arn'] }];
      expect(bySid(statements, 'DenyWritesExceptAccessLogDelivery')).toEqual({
        Sid: 'DenyWritesExceptAccessLogDelivery',
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Action: 's3:PutObject',
        Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [ACCESS_LOGS, 'Arn'] }, '/*']] },
        Condition: { ArnNotEquals: { 'aws:SourceArn': sources } },
      });
      // The logging service's own Allows name exactly those sources, so delivery is never denied.
      const deliveries = statements.filter(
        (s) => s.Effect === 'Allow' && JSON.stringify(s.Principal).includes('logging.s3.amazonaws.com'),
      );
      expect(deliveries.map((s) => s.Condition?.ArnLike?.['aws:SourceArn'])).toEqual(sources);
    });

    test('gets the same configuration and destruction Denies as the archive', () => {
      const statements = bucketStatements(template, ACCESS_LOGS);
      expect(bySid(statements, 'DenyConfigurationChangesExceptDeploymentAndBreakGlass')).toMatchObject({
        Action: [...BUCKET_CONFIGURATION_ACTIONS].sort(),
        Condition: { ArnNotEquals: { 'aws:PrincipalArn': [AGNOSTIC_DEPLOYMENT_ROLE] } },
      });
      expect(bySid(statements, 'DenyDestruction')).toMatchObject({ Action: [...BUCKET_DESTRUCTION_ACTIONS].sort() });
      expect(bySid(statements, 'DenyDestruction').Condition).toBeUndefined();
    });

    test('keeps expiring access logs by lifecycle (a bucket policy does not bind S3 Lifecycle)', () => {
      template.hasResourceProperties('AWS::S3::Bucket', {
        BucketName: Match.absent(),
        LifecycleConfiguration: { Rules: [Match.objectLike({ Id: 'ExpireAccessLogs', ExpirationInDays: 365 })] },
      });
    });
  });

  describe('archive key', () => {
    let statements: Statement[];
    beforeAll(() => {
      statements = keyStatements(template);
    });

    test('gives nobody kms:* and the account root nothing but decrypting CloudTrail objects through S3', () => {
      expect(statements.filter((s) => actionsOf(s).includes('kms:*'))).toEqual([]);
      const rootStatements = statements.filter((s) => JSON.stringify(s.Principal).includes(':root'));
      expect(rootStatements).toEqual([
        {
          Sid: 'AccountDecryptsCloudTrailObjectsViaS3',
          Effect: 'Allow',
          Principal: {
            AWS: {
              'Fn::Join': ['', ['arn:aws:iam::', { Ref: 'AWS::AccountId' }, ':root']],
            },
          },
          Action: 'kms:Decrypt',
          Resource: '*',
          Condition: {
            StringEquals: { 'kms:ViaService': 's3.us-east-1.amazonaws.com' },
            Null: { 'kms:EncryptionContext:aws:cloudtrail:arn': 'false' },
          },
        },
      ]);
    });

    test('lets administrators administer the key without using it or granting its use', () => {
      const admin = bySid(statements, 'KeyAdministration');
      expect(admin.Principal).toEqual({ AWS: AGNOSTIC_DEPLOYMENT_ROLE });
      for (const use of ['kms:Encrypt', 'kms:Decrypt', 'kms:GenerateDataKey', 'kms:ReEncryptFrom', 'kms:CreateGrant']) {
        expect([use, actionsOf(admin).some((a) => covers(a, use))]).toEqual([use, false]);
      }
      expect(actionsOf(admin)).toEqual(expect.arrayContaining(['kms:PutKeyPolicy', 'kms:EnableKeyRotation']));
    });

    test('denies disabling or deleting the key to everyone', () => {
      expect(bySid(statements, 'DenyKeyDestruction')).toEqual({
        Sid: 'DenyKeyDestruction',
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Action: [...KEY_DESTRUCTION_ACTIONS].sort(),
        Resource: '*',
      });
    });

    test('denies changing the key policy or the alias to everyone but the deployment role', () => {
      expect(bySid(statements, 'DenyKeyPolicyChangesExceptDeploymentAndBreakGlass')).toEqual({
        Sid: 'DenyKeyPolicyChangesExceptDeploymentAndBreakGlass',
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Action: [...KEY_POLICY_ACTIONS].sort(),
        Resource: '*',
        Condition: { ArnNotEquals: { 'aws:PrincipalArn': [AGNOSTIC_DEPLOYMENT_ROLE] } },
      });
    });

    test("passes KMS's lockout check: the deployment role may set the key policy it creates", () => {
      const admin = bySid(statements, 'KeyAdministration');
      expect(admin.Principal).toEqual({ AWS: AGNOSTIC_DEPLOYMENT_ROLE });
      expect(actionsOf(admin)).toContain('kms:PutKeyPolicy');
    });

    test('lets principals of this account use the key through S3 for the insights bucket only', () => {
      expect(bySid(statements, 'AccountUsesKeyForInsightsViaS3')).toEqual({
        Sid: 'AccountUsesKeyForInsightsViaS3',
        Effect: 'Allow',
        Principal: { AWS: '*' },
        Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        Resource: '*',
        Condition: {
          StringEquals: {
            'kms:ViaService': 's3.us-east-1.amazonaws.com',
            'kms:CallerAccount': { Ref: 'AWS::AccountId' },
          },
          StringLike: {
            'kms:EncryptionContext:aws:s3:arn': [
              {
                'Fn::Join': ['', ['arn:aws:s3:::trailsight-insights-', { Ref: 'AWS::AccountId' }, '-us-east-1']],
              },
              {
                'Fn::Join': ['', ['arn:aws:s3:::trailsight-insights-', { Ref: 'AWS::AccountId' }, '-us-east-1/*']],
              },
            ],
          },
        },
      });
    });
  });

  describe('what must keep working', () => {
    const reads = ['s3:GetObject', 's3:GetObjectVersion', 's3:ListBucket', 's3:GetBucketLocation', 's3:GetBucketAcl'];
    const keyUse = ['kms:Decrypt', 'kms:GenerateDataKey', 'kms:DescribeKey'];

    test('no Deny touches reads (pipeline, integrity verifier, Athena readers) or CloudTrail ACL checks', () => {
      for (const bucket of [ARCHIVE, ACCESS_LOGS, INSIGHTS]) {
        for (const deny of tamperDenies(bucketStatements(template, bucket))) {
          for (const action of reads)
            expect([bucket, deny.Sid, action, actionsOf(deny).some((a) => covers(a, action))]).toEqual([
              bucket,
              deny.Sid,
              action,
              false,
            ]);
        }
      }
    });

    test('no Deny touches using the key (CloudTrail encrypting, readers decrypting)', () => {
      for (const deny of tamperDenies(keyStatements(template))) {
        for (const action of keyUse)
          expect([deny.Sid, action, actionsOf(deny).some((a) => covers(a, action))]).toEqual([deny.Sid, action, false]);
      }
    });

    test('every configuration Deny exempts the deployment role, so the stack stays deployable', () => {
      const denies = [ARCHIVE, ACCESS_LOGS].map((b) =>
        bySid(bucketStatements(template, b), 'DenyConfigurationChangesExceptDeploymentAndBreakGlass'),
      );
      denies.push(bySid(keyStatements(template), 'DenyKeyPolicyChangesExceptDeploymentAndBreakGlass'));
      for (const deny of denies)
        expect(deny.Condition?.ArnNotEquals?.['aws:PrincipalArn']).toContainEqual(AGNOSTIC_DEPLOYMENT_ROLE);
    });

    test('the insights bucket, where false positives must stay deletable, has no Deny beyond TLS', () => {
      expect(tamperDenies(bucketStatements(template, INSIGHTS))).toEqual([]);
    });
  });

  describe('insights bucket', () => {
    test('is named from the log archive account, encrypted with the archive key behind an S3 Bucket Key, not locked', () => {
      template.hasResource('AWS::S3::Bucket', {
        DeletionPolicy: 'Retain',
        Properties: {
          BucketName: { 'Fn::Join': ['', ['trailsight-insights-', { Ref: 'AWS::AccountId' }, '-us-east-1']] },
          BucketEncryption: {
            ServerSideEncryptionConfiguration: [
              {
                BucketKeyEnabled: true,
                ServerSideEncryptionByDefault: {
                  SSEAlgorithm: 'aws:kms',
                  KMSMasterKeyID: { 'Fn::GetAtt': ['ArchiveKey3EF5EDE5', 'Arn'] },
                },
              },
            ],
          },
          VersioningConfiguration: { Status: 'Enabled' },
          ObjectLockEnabled: Match.absent(),
          LoggingConfiguration: { DestinationBucketName: { Ref: ACCESS_LOGS }, LogFilePrefix: 'insights/' },
          LifecycleConfiguration: {
            Rules: [Match.objectLike({ Id: 'InsightsLifecycle', ExpirationInDays: 2557, Status: 'Enabled' })],
          },
        },
      });
    });
  });

  test("does not warn about a single account's trial lock (validation is for organizations)", () => {
    Annotations.fromStack(build(withDefaults({})).logArchive).hasNoWarning('*', Match.anyValue());
  });
});

describe('LogArchive protection (example organization configuration, break-glass role, key administrators)', () => {
  let template: Template;
  beforeAll(() => {
    template = Template.fromStack(build(EXAMPLE_ORG_CONFIG_INPUT).logArchive);
  });

  test('exempts the break-glass role, and only it, from the destruction Denies of both buckets', () => {
    for (const bucket of [ARCHIVE, ACCESS_LOGS]) {
      expect(bySid(bucketStatements(template, bucket), 'DenyDestructionExceptBreakGlass')).toMatchObject({
        Effect: 'Deny',
        Action: [...BUCKET_DESTRUCTION_ACTIONS].sort(),
        Condition: { ArnNotEquals: { 'aws:PrincipalArn': [BREAK_GLASS] } },
      });
    }
  });

  test('exempts the deployment role and the break-glass role from the configuration Denies', () => {
    for (const bucket of [ARCHIVE, ACCESS_LOGS]) {
      expect(
        bySid(bucketStatements(template, bucket), 'DenyConfigurationChangesExceptDeploymentAndBreakGlass').Condition,
      ).toEqual({ ArnNotEquals: { 'aws:PrincipalArn': [ORG_DEPLOYMENT_ROLE, BREAK_GLASS] } });
    }
  });

  test('leaves disabling or deleting the key to the break-glass role', () => {
    expect(bySid(keyStatements(template), 'DenyKeyDestructionExceptBreakGlass')).toMatchObject({
      Action: [...KEY_DESTRUCTION_ACTIONS].sort(),
      Condition: { ArnNotEquals: { 'aws:PrincipalArn': [BREAK_GLASS] } },
    });
    expect(bySid(keyStatements(template), 'DenyKeyPolicyChangesExceptDeploymentAndBreakGlass').Condition).toEqual({
      ArnNotEquals: { 'aws:PrincipalArn': [ORG_DEPLOYMENT_ROLE, BREAK_GLASS] },
    });
  });

  test('names the configured administrators, the deployment role and the break-glass role as key administrators', () => {
    expect(bySid(keyStatements(template), 'KeyAdministration').Principal).toEqual({
      AWS: [KEY_ADMIN, BREAK_GLASS, ORG_DEPLOYMENT_ROLE],
    });
  });

  test('lets the audit account list and read the insights and decrypt them through S3 only', () => {
    const statements = bucketStatements(template, INSIGHTS);
    expect(bySid(statements, 'ReaderAccountsRead')).toEqual({
      Sid: 'ReaderAccountsRead',
      Effect: 'Allow',
      Principal: { AWS: 'arn:aws:iam::333333333333:root' },
      Action: 's3:GetObject',
      Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [INSIGHTS, 'Arn'] }, '/trailsight/insights/*']] },
    });
    expect(bySid(statements, 'ReaderAccountsList')).toMatchObject({
      Action: ['s3:GetBucketLocation', 's3:ListBucket'],
    });
    expect(bySid(keyStatements(template), 'ReaderAccountsDecryptInsightsViaS3')).toEqual({
      Sid: 'ReaderAccountsDecryptInsightsViaS3',
      Effect: 'Allow',
      Principal: { AWS: 'arn:aws:iam::333333333333:root' },
      Action: 'kms:Decrypt',
      Resource: '*',
      Condition: {
        StringEquals: { 'kms:ViaService': 's3.eu-west-1.amazonaws.com' },
        StringLike: {
          'kms:EncryptionContext:aws:s3:arn': [
            'arn:aws:s3:::trailsight-insights-222222222222-eu-west-1',
            'arn:aws:s3:::trailsight-insights-222222222222-eu-west-1/*',
          ],
        },
      },
    });
  });

  test('does not warn about a COMPLIANCE lock as long as retention', () => {
    Annotations.fromStack(build(EXAMPLE_ORG_CONFIG_INPUT).logArchive).hasNoWarning(
      '*',
      Match.stringLikeRegexp('objectLock'),
    );
  });
});

describe('LogArchive protection with allowWeakObjectLock for an organization', () => {
  test('synthesizes, and warns that the lock is weak', () => {
    const input = { ...EXAMPLE_ORG_CONFIG_INPUT, archive: { objectLock: false as const }, allowWeakObjectLock: true };
    Annotations.fromStack(build(input).logArchive).hasWarning(
      '/TrailsightLogArchive',
      Match.stringLikeRegexp('Object Lock is off'),
    );
  });
});
