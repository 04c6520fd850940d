import { Match, Template as T, type Template } from 'aws-cdk-lib/assertions';
import { ARCHIVE_KEY_ALIAS } from '../../lib/contracts';
import { build, EXAMPLE_ORG_CONFIG_INPUT, withDefaults } from './helpers';

const ORG = 'o-a1b2c3d4e5';

/** The ARN of the example configuration's trail in `region`, as the template writes it. */
function orgTrailArn(region: string) {
  return {
    'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:cloudtrail:${region}:111111111111:trail/trailsight-org`]],
  };
}

describe('LogArchiveStack (default single-account configuration)', () => {
  let template: Template;
  let terminationProtection: boolean | undefined;
  beforeAll(() => {
    const { logArchive } = build(withDefaults({}));
    template = T.fromStack(logArchive);
    terminationProtection = logArchive.terminationProtection;
  });

  test('has termination protection', () => {
    expect(terminationProtection).toBe(true);
  });

  test('pins the logical IDs of the stateful resources', () => {
    expect(Object.keys(template.findResources('AWS::KMS::Key'))).toEqual(['ArchiveKey3EF5EDE5']);
    expect(Object.keys(template.findResources('AWS::S3::Bucket')).sort()).toEqual([
      'ArchiveAccessLogBucket69093EBF',
      'ArchiveBucket49F1AC64',
      'ArchiveInsightsBucket9F114CF2',
    ]);
  });

  test('retains the key and every bucket when the stack is deleted', () => {
    template.hasResource('AWS::KMS::Key', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    const buckets = template.findResources('AWS::S3::Bucket');
    for (const bucket of Object.values(buckets)) {
      expect(bucket).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    }
  });

  test('rotates the archive key and gives it the contract alias', () => {
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    template.hasResourceProperties('AWS::KMS::Alias', {
      AliasName: ARCHIVE_KEY_ALIAS,
      TargetKeyId: { 'Fn::GetAtt': ['ArchiveKey3EF5EDE5', 'Arn'] },
    });
  });

  test('names the archive bucket from the account and the home Region', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketName: { 'Fn::Join': ['', ['trailsight-archive-', { Ref: 'AWS::AccountId' }, '-us-east-1']] },
    });
  });

  test('encrypts the archive bucket with the archive key', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketName: Match.anyValue(),
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          {
            ServerSideEncryptionByDefault: {
              SSEAlgorithm: 'aws:kms',
              KMSMasterKeyID: { 'Fn::GetAtt': ['ArchiveKey3EF5EDE5', 'Arn'] },
            },
          },
        ],
      },
    });
  });

  test('blocks all public access on every bucket', () => {
    const buckets = template.findResources('AWS::S3::Bucket');
    for (const bucket of Object.values(buckets)) {
      expect(bucket.Properties.PublicAccessBlockConfiguration).toEqual({
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      });
    }
  });

  test('versions every bucket and enforces bucket-owner object ownership', () => {
    const buckets = template.findResources('AWS::S3::Bucket');
    for (const bucket of Object.values(buckets)) {
      expect(bucket.Properties.VersioningConfiguration).toEqual({ Status: 'Enabled' });
      expect(bucket.Properties.OwnershipControls).toEqual({ Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] });
    }
  });

  test('denies requests without TLS and with TLS below 1.2 on every bucket', () => {
    for (const bucket of ['ArchiveBucket49F1AC64', 'ArchiveAccessLogBucket69093EBF', 'ArchiveInsightsBucket9F114CF2']) {
      template.hasResourceProperties('AWS::S3::BucketPolicy', {
        Bucket: { Ref: bucket },
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Deny',
              Action: 's3:*',
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            }),
            Match.objectLike({
              Effect: 'Deny',
              Action: 's3:*',
              Condition: { NumericLessThan: { 's3:TlsVersion': 1.2 } },
            }),
          ]),
        },
      });
    }
  });

  test('logs server access of the archive bucket to the access-log bucket', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketName: Match.anyValue(),
      LoggingConfiguration: {
        DestinationBucketName: { Ref: 'ArchiveAccessLogBucket69093EBF' },
        LogFilePrefix: 'archive/',
      },
    });
  });

  test('encrypts the access-log bucket with SSE-S3, the only encryption S3 access logging delivers to', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketName: Match.absent(),
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
      LifecycleConfiguration: { Rules: [Match.objectLike({ ExpirationInDays: 365, Status: 'Enabled' })] },
    });
  });

  test('expires, transitions and cleans up log files by the configured lifecycle', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketName: Match.anyValue(),
      LifecycleConfiguration: {
        Rules: [
          {
            Id: 'ArchiveLifecycle',
            Status: 'Enabled',
            ExpirationInDays: 2557,
            Transitions: [{ StorageClass: 'GLACIER_IR', TransitionInDays: 90 }],
            NoncurrentVersionExpiration: { NoncurrentDays: 90 },
            AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 },
          },
        ],
      },
    });
  });

  test('locks log files with the configured Object Lock default retention', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketName: Match.anyValue(),
      ObjectLockEnabled: true,
      ObjectLockConfiguration: {
        ObjectLockEnabled: 'Enabled',
        Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 365 } },
      },
    });
  });

  test('lets CloudTrail check the bucket ACL only for the configured trail', () => {
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: 'ArchiveBucket49F1AC64' },
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Sid: 'CloudTrailAclCheck',
            Effect: 'Allow',
            Principal: { Service: 'cloudtrail.amazonaws.com' },
            Action: 's3:GetBucketAcl',
            Resource: { 'Fn::GetAtt': ['ArchiveBucket49F1AC64', 'Arn'] },
            Condition: {
              StringEquals: {
                'aws:SourceArn': [
                  {
                    'Fn::Join': [
                      '',
                      [
                        'arn:',
                        { Ref: 'AWS::Partition' },
                        ':cloudtrail:us-east-1:',
                        { Ref: 'AWS::AccountId' },
                        ':trail/trailsight',
                      ],
                    ],
                  },
                ],
              },
            },
          },
        ]),
      },
    });
  });

  test('lets CloudTrail write only under AWSLogs/<account>/, with bucket-owner-full-control and the trail as source', () => {
    const policies = template.findResources('AWS::S3::BucketPolicy', {
      Properties: { Bucket: { Ref: 'ArchiveBucket49F1AC64' } },
    });
    const statements = Object.values(policies).flatMap(
      (p) => p.Properties.PolicyDocument.Statement as Record<string, unknown>[],
    );
    expect(statements.find((s) => s.Sid === 'CloudTrailWrite')).toMatchObject({
      Effect: 'Allow',
      Principal: { Service: 'cloudtrail.amazonaws.com' },
      Action: 's3:PutObject',
      Resource: {
        'Fn::Join': [
          '',
          [{ 'Fn::GetAtt': ['ArchiveBucket49F1AC64', 'Arn'] }, '/AWSLogs/', { Ref: 'AWS::AccountId' }, '/*'],
        ],
      },
      Condition: {
        StringEquals: { 's3:x-amz-acl': 'bucket-owner-full-control', 'aws:SourceArn': [expect.anything()] },
      },
    });
    expect(JSON.stringify(statements)).not.toContain('/AWSLogs/o-');
  });

  test('lets CloudTrail generate data keys only for its trail and with a CloudTrail encryption context', () => {
    const key = Object.values(template.findResources('AWS::KMS::Key'))[0];
    const encrypt = (key.Properties.KeyPolicy.Statement as Record<string, unknown>[]).find(
      (s) => s.Sid === 'CloudTrailEncryptLogs',
    );
    expect(encrypt).toEqual({
      Sid: 'CloudTrailEncryptLogs',
      Effect: 'Allow',
      Principal: { Service: 'cloudtrail.amazonaws.com' },
      Action: 'kms:GenerateDataKey*',
      Resource: '*',
      Condition: {
        StringEquals: {
          'aws:SourceArn': [
            {
              'Fn::Join': [
                '',
                [
                  'arn:',
                  { Ref: 'AWS::Partition' },
                  ':cloudtrail:us-east-1:',
                  { Ref: 'AWS::AccountId' },
                  ':trail/trailsight',
                ],
              ],
            },
          ],
        },
        StringLike: {
          'kms:EncryptionContext:aws:cloudtrail:arn': [
            { 'Fn::Join': ['', ['arn:aws:cloudtrail:*:', { Ref: 'AWS::AccountId' }, ':trail/*']] },
          ],
        },
      },
    });
  });

  test('lets CloudTrail describe the key only for its trail', () => {
    template.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Sid: 'CloudTrailDescribeKey',
            Principal: { Service: 'cloudtrail.amazonaws.com' },
            Action: 'kms:DescribeKey',
            Condition: { StringEquals: { 'aws:SourceArn': Match.anyValue() } },
          }),
        ]),
      },
    });
  });

  test('grants no other account anything in the same-account layout', () => {
    const text = JSON.stringify(template.toJSON());
    expect(text).not.toContain('ReaderAccounts');
  });
});

describe('LogArchiveStack (example organization configuration)', () => {
  let template: Template;
  let keyStatements: Record<string, unknown>[];
  let bucketStatements: Record<string, unknown>[];
  beforeAll(() => {
    template = T.fromStack(build(EXAMPLE_ORG_CONFIG_INPUT).logArchive);
    keyStatements = Object.values(template.findResources('AWS::KMS::Key'))[0].Properties.KeyPolicy.Statement;
    const policies = template.findResources('AWS::S3::BucketPolicy', {
      Properties: { Bucket: { Ref: 'ArchiveBucket49F1AC64' } },
    });
    bucketStatements = Object.values(policies)[0].Properties.PolicyDocument.Statement;
  });

  test('names the bucket after the log archive account', () => {
    template.hasResourceProperties('AWS::S3::Bucket', { BucketName: 'trailsight-archive-222222222222-eu-west-1' });
  });

  test('lets CloudTrail write under the management account path and the organization path', () => {
    const write = bucketStatements.find((s) => s.Sid === 'CloudTrailWrite');
    expect(write?.Resource).toEqual([
      { 'Fn::Join': ['', [{ 'Fn::GetAtt': ['ArchiveBucket49F1AC64', 'Arn'] }, '/AWSLogs/111111111111/*']] },
      { 'Fn::Join': ['', [{ 'Fn::GetAtt': ['ArchiveBucket49F1AC64', 'Arn'] }, `/AWSLogs/${ORG}/*`]] },
    ]);
  });

  test('pins aws:SourceArn to the management account trail of every listed Region', () => {
    const expected = ['eu-west-1', 'eu-central-1', 'us-east-1'].map(orgTrailArn);
    for (const sid of ['CloudTrailAclCheck', 'CloudTrailWrite']) {
      const statement = bucketStatements.find((s) => s.Sid === sid) as {
        Condition: { StringEquals: Record<string, unknown> };
      };
      expect(statement.Condition.StringEquals['aws:SourceArn']).toEqual(expected);
    }
    for (const sid of ['CloudTrailEncryptLogs', 'CloudTrailDescribeKey']) {
      const statement = keyStatements.find((s) => s.Sid === sid) as {
        Condition: { StringEquals: Record<string, unknown> };
      };
      expect(statement.Condition.StringEquals['aws:SourceArn']).toEqual(expected);
    }
  });

  test('accepts the encryption context of the management account trails and of the organization trail in member accounts', () => {
    const encrypt = keyStatements.find((s) => s.Sid === 'CloudTrailEncryptLogs') as {
      Condition: { StringLike: Record<string, unknown> };
    };
    expect(encrypt.Condition.StringLike['kms:EncryptionContext:aws:cloudtrail:arn']).toEqual([
      'arn:aws:cloudtrail:*:111111111111:trail/*',
      'arn:aws:cloudtrail:*:*:trail/trailsight-org',
    ]);
  });

  test('lets the audit account list and read AWSLogs/ and decrypt only through S3 with a CloudTrail context', () => {
    expect(bucketStatements.find((s) => s.Sid === 'ReaderAccountsRead')).toEqual({
      Sid: 'ReaderAccountsRead',
      Effect: 'Allow',
      Principal: { AWS: 'arn:aws:iam::333333333333:root' },
      Action: 's3:GetObject',
      Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': ['ArchiveBucket49F1AC64', 'Arn'] }, '/AWSLogs/*']] },
    });
    expect(bucketStatements.find((s) => s.Sid === 'ReaderAccountsList')).toMatchObject({
      Action: ['s3:GetBucketLocation', 's3:ListBucket'],
    });
    expect(keyStatements.find((s) => s.Sid === 'ReaderAccountsDecryptViaS3')).toEqual({
      Sid: 'ReaderAccountsDecryptViaS3',
      Effect: 'Allow',
      Principal: { AWS: 'arn:aws:iam::333333333333:root' },
      Action: 'kms:Decrypt',
      Resource: '*',
      Condition: {
        StringEquals: { 'kms:ViaService': 's3.eu-west-1.amazonaws.com' },
        Null: { 'kms:EncryptionContext:aws:cloudtrail:arn': 'false' },
      },
    });
  });

  test('locks files in COMPLIANCE mode for the whole retention and transitions them to Deep Archive', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketName: Match.anyValue(),
      ObjectLockConfiguration: {
        ObjectLockEnabled: 'Enabled',
        Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: 2557 } },
      },
      LifecycleConfiguration: {
        Rules: [Match.objectLike({ Transitions: [{ StorageClass: 'DEEP_ARCHIVE', TransitionInDays: 400 }] })],
      },
    });
  });
});

describe('LogArchiveStack with Object Lock and transition off', () => {
  test('enables neither Object Lock nor a transition', () => {
    const template = T.fromStack(build(withDefaults({ archive: { transition: false, objectLock: false } })).logArchive);
    template.hasResourceProperties('AWS::S3::Bucket', {
      BucketName: Match.anyValue(),
      ObjectLockEnabled: Match.absent(),
      ObjectLockConfiguration: Match.absent(),
      LifecycleConfiguration: { Rules: [Match.objectLike({ ExpirationInDays: 2557, Transitions: Match.absent() })] },
    });
  });
});
