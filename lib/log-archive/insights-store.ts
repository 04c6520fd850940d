import { Duration, aws_iam as iam, aws_kms as kms, RemovalPolicy, Stack, aws_s3 as s3, Validations } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { INSIGHTS_PREFIX } from '../../schema/insights-table';

/** Properties of an {@link InsightsStore}. */
export interface InsightsStoreProps {
  /** Physical name of the insights bucket: a contract with the detection pipeline and the insights Glue table. */
  readonly bucketName: string;
  /** Alias of the bucket's key: the detection pipeline finds the key by it. */
  readonly keyAlias: string;
  /** Days an insight is kept. */
  readonly retentionDays: number;
  /** Days a deleted or overwritten insight stays recoverable. */
  readonly noncurrentVersionRetentionDays: number;
  /** Days the server access logs are kept. */
  readonly accessLogRetentionDays: number;
  /**
   * Other accounts that query the insights (the audit account's Athena): granted list and read of the insights, and
   * decrypt through S3 in the key policy. Their own IAM policies must allow it too.
   * @default - no cross-account readers
   */
  readonly readerAccounts?: readonly string[];
}

/**
 * The insights bucket's settings, one definition for Trailsight's own archive (lib/log-archive/log-archive.ts) and for
 * the {@link InsightsStore} next to an existing archive: SSE-KMS behind an S3 Bucket Key, public access blocked, TLS 1.2
 * only, versioned, access-logged, expiring with the archive retention, retained on stack deletion.
 */
export function insightsBucketProps(opts: {
  readonly bucketName: string;
  readonly key: kms.IKey;
  readonly accessLogBucket: s3.IBucket;
  readonly retentionDays: number;
  readonly noncurrentVersionRetentionDays: number;
}): s3.BucketProps {
  return {
    bucketName: opts.bucketName,
    encryption: s3.BucketEncryption.KMS,
    encryptionKey: opts.key,
    // One small object per insight: an S3 Bucket Key turns a KMS call per object into one per bucket-key lifetime
    // (docs/deploy.md, "S3 Bucket Keys").
    bucketKeyEnabled: true,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    enforceSSL: true,
    minimumTLSVersion: 1.2,
    versioned: true,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    serverAccessLogsBucket: opts.accessLogBucket,
    serverAccessLogsPrefix: 'insights/',
    lifecycleRules: [
      {
        id: 'InsightsLifecycle',
        expiration: Duration.days(opts.retentionDays),
        noncurrentVersionExpiration: Duration.days(opts.noncurrentVersionRetentionDays),
        abortIncompleteMultipartUploadAfter: Duration.days(7),
      },
    ],
    removalPolicy: RemovalPolicy.RETAIN,
  };
}

/**
 * Defines the bucket of Trailsight's insights next to an archive Trailsight does not own (`archive.existing`): its own
 * key, the insights bucket and its access-log bucket, with the same defaults as the insights bucket of Trailsight's
 * own archive (lib/log-archive/log-archive.ts): rotating key, SSE-KMS behind an S3 Bucket Key, public access blocked,
 * TLS 1.2 only, versioned, access-logged, expiring with the archive retention, retained on stack deletion.
 *
 * The key keeps the account's default key policy (the account's IAM policies grant its use): it encrypts derived data
 * only, and no trail or other account writes with it.
 */
export class InsightsStore extends Construct {
  /** The key of the insights bucket. */
  readonly key: kms.Key;
  /** The bucket of Trailsight's insights. */
  readonly insightsBucket: s3.Bucket;
  /** The bucket receiving the insights bucket's S3 server access logs. */
  readonly accessLogBucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: InsightsStoreProps) {
    super(scope, id);
    this.key = new kms.Key(this, 'Key', {
      description: 'Trailsight: encrypts Trailsight insights (the CloudTrail archive is an existing one)',
      enableKeyRotation: true,
      alias: props.keyAlias,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.accessLogBucket = new s3.Bucket(this, 'AccessLogBucket', {
      // S3 server access logging delivers only to buckets with SSE-S3 default encryption.
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      versioned: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [
        {
          id: 'ExpireAccessLogs',
          expiration: Duration.days(props.accessLogRetentionDays),
          noncurrentVersionExpiration: Duration.days(props.noncurrentVersionRetentionDays),
          abortIncompleteMultipartUploadAfter: Duration.days(7),
        },
      ],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(this.accessLogBucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'This is the server access log target of the insights bucket; logging it into itself would loop.',
    });
    this.insightsBucket = new s3.Bucket(
      this,
      'InsightsBucket',
      insightsBucketProps({
        bucketName: props.bucketName,
        key: this.key,
        accessLogBucket: this.accessLogBucket,
        retentionDays: props.retentionDays,
        noncurrentVersionRetentionDays: props.noncurrentVersionRetentionDays,
      }),
    );
    this.allowReaders(
      (props.readerAccounts ?? []).map((account) => new iam.AccountPrincipal(account)),
      `arn:${Stack.of(this).partition}:s3:::${props.bucketName}`,
    );
  }

  /**
   * Cross-account readers: list and read the insights, decrypt them through S3 only. The key policy names the bucket by
   * its ARN built from the name: its attribute would make the key depend on a bucket that depends on the key.
   */
  private allowReaders(principals: readonly iam.IPrincipal[], insightsArn: string): void {
    if (principals.length === 0) return;
    const bucket = this.insightsBucket;
    bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'ReaderAccountsList',
        principals: [...principals],
        actions: ['s3:GetBucketLocation', 's3:ListBucket'],
        resources: [bucket.bucketArn],
      }),
    );
    bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'ReaderAccountsRead',
        principals: [...principals],
        actions: ['s3:GetObject'],
        resources: [bucket.arnForObjects(`${INSIGHTS_PREFIX}*`)],
      }),
    );
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'ReaderAccountsDecryptInsightsViaS3',
        principals: [...principals],
        actions: ['kms:Decrypt'],
        resources: ['*'],
        conditions: {
          StringEquals: { 'kms:ViaService': `s3.${Stack.of(this).region}.amazonaws.com` },
          StringLike: { 'kms:EncryptionContext:aws:s3:arn': [insightsArn, `${insightsArn}/*`] },
        },
      }),
    );
  }
}
