import { Duration, aws_iam as iam, aws_kms as kms, RemovalPolicy, Stack, aws_s3 as s3, Validations } from 'aws-cdk-lib';
import { Construct } from 'constructs';

const CLOUDTRAIL = 'cloudtrail.amazonaws.com';

/** Lifecycle and immutability of the archived log files. */
export interface ArchiveRetention {
  /** Days a log file is kept before it expires. */
  readonly retentionDays: number;
  /**
   * Move log files to this storage class after `afterDays`.
   * @default - no transition: files stay in S3 Standard
   */
  readonly transition?: {
    readonly storageClass: 'GLACIER_IR' | 'GLACIER' | 'DEEP_ARCHIVE';
    readonly afterDays: number;
  };
  /**
   * Object Lock default retention; enabling it is possible only when the bucket is created.
   * @default - no Object Lock
   */
  readonly objectLock?: { readonly mode: 'GOVERNANCE' | 'COMPLIANCE'; readonly days: number };
  /** Days a noncurrent (deleted or overwritten) version is kept. */
  readonly noncurrentVersionRetentionDays: number;
  /** Days the server access logs are kept. */
  readonly accessLogRetentionDays: number;
}

/** Properties of a {@link LogArchive}. */
export interface LogArchiveProps {
  /** Physical bucket name: a contract with the trails of other stacks (see lib/contracts.ts). */
  readonly bucketName: string;
  /** Alias of the key, e.g. `alias/trailsight/archive`: a contract like the bucket name. */
  readonly keyAlias: string;
  /** ARNs of the trails allowed to deliver: the `aws:SourceArn` of every CloudTrail statement. */
  readonly trailArns: readonly string[];
  /** Name shared by the trails (the tail of every ARN in `trailArns`). */
  readonly trailName: string;
  /** Account owning the trails; its own logs land under `AWSLogs/<account>/`. */
  readonly trailAccount: string;
  /**
   * Organization whose organization trail delivers under `AWSLogs/<o-id>/`.
   * @default - an account trail: no organization path
   */
  readonly organizationId?: string;
  /** Lifecycle and immutability. */
  readonly retention: ArchiveRetention;
  /**
   * Other accounts that read the log files (e.g. the audit account's Athena): granted read on `AWSLogs/*`
   * in the bucket policy and decrypt through S3 in the key policy. Their own IAM policies must allow it too.
   * @default - no cross-account readers
   */
  readonly readerAccounts?: readonly string[];
  /**
   * Send the bucket's object events (Object Created, ...) to the account's default EventBridge bus, where the
   * detection pipeline's rule picks up new log files. Set directly on the bucket resource, without the custom
   * resource (and its Lambda) that `s3.Bucket`'s `eventBridgeEnabled` adds.
   * @default false
   */
  readonly eventBridgeNotifications?: boolean;
}

/**
 * Defines the evidence archive: a KMS key, the archive bucket CloudTrail delivers to, and its access-log bucket.
 *
 * Secure defaults in one place: the key rotates; the bucket blocks public access, denies non-TLS and TLS < 1.2
 * requests, is versioned, encrypted with the key, logs server access to a separate bucket, expires and
 * transitions files by the given lifecycle, optionally locks them (Object Lock), and is retained on stack
 * deletion. The key and bucket policies let only the named trails write (`aws:SourceArn`), only under
 * `AWSLogs/<trail account>/` and `AWSLogs/<o-id>/`, and only with `bucket-owner-full-control`.
 */
export class LogArchive extends Construct {
  /** The key that encrypts the log files. */
  readonly key: kms.Key;
  /** The archive bucket. */
  readonly bucket: s3.Bucket;
  /** The bucket receiving the archive bucket's S3 server access logs. */
  readonly accessLogBucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: LogArchiveProps) {
    super(scope, id);
    if (props.trailArns.length === 0)
      throw new Error('LogArchive: trailArns is empty; pass the ARN of every trail that delivers here');
    const { retention } = props;
    const partition = Stack.of(this).partition;

    this.key = new kms.Key(this, 'Key', {
      description: 'Trailsight: encrypts CloudTrail log files in the archive bucket',
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
          expiration: Duration.days(retention.accessLogRetentionDays),
          noncurrentVersionExpiration: Duration.days(retention.noncurrentVersionRetentionDays),
          abortIncompleteMultipartUploadAfter: Duration.days(7),
        },
      ],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(this.accessLogBucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'This is the server access log target of the archive bucket; logging it into itself would loop.',
    });

    this.bucket = new s3.Bucket(this, 'Bucket', {
      bucketName: props.bucketName,
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: this.key,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      versioned: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      objectLockEnabled: retention.objectLock ? true : undefined,
      objectLockDefaultRetention: retention.objectLock
        ? retention.objectLock.mode === 'COMPLIANCE'
          ? s3.ObjectLockRetention.compliance(Duration.days(retention.objectLock.days))
          : s3.ObjectLockRetention.governance(Duration.days(retention.objectLock.days))
        : undefined,
      serverAccessLogsBucket: this.accessLogBucket,
      serverAccessLogsPrefix: 'archive/',
      lifecycleRules: [
        {
          id: 'ArchiveLifecycle',
          expiration: Duration.days(retention.retentionDays),
          transitions: retention.transition
            ? [
                {
                  storageClass: storageClassOf(retention.transition.storageClass),
                  transitionAfter: Duration.days(retention.transition.afterDays),
                },
              ]
            : undefined,
          noncurrentVersionExpiration: Duration.days(retention.noncurrentVersionRetentionDays),
          abortIncompleteMultipartUploadAfter: Duration.days(7),
        },
      ],
      removalPolicy: RemovalPolicy.RETAIN,
    });

    if (props.eventBridgeNotifications) {
      (this.bucket.node.defaultChild as s3.CfnBucket).notificationConfiguration = {
        eventBridgeConfiguration: { eventBridgeEnabled: true },
      };
    }

    const sourceArn = { 'aws:SourceArn': [...props.trailArns] };
    const cloudTrail = new iam.ServicePrincipal(CLOUDTRAIL);

    // Bucket policy CloudTrail checks at trail creation (cloudtrail.md §7.1).
    this.bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudTrailAclCheck',
        principals: [cloudTrail],
        actions: ['s3:GetBucketAcl'],
        resources: [this.bucket.bucketArn],
        conditions: { StringEquals: sourceArn },
      }),
    );
    const logPaths = [this.bucket.arnForObjects(`AWSLogs/${props.trailAccount}/*`)];
    if (props.organizationId) logPaths.push(this.bucket.arnForObjects(`AWSLogs/${props.organizationId}/*`));
    this.bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudTrailWrite',
        principals: [cloudTrail],
        actions: ['s3:PutObject'],
        resources: logPaths,
        conditions: { StringEquals: { 's3:x-amz-acl': 'bucket-owner-full-control', ...sourceArn } },
      }),
    );

    // Key policy (cloudtrail.md §7.2). The encryption context is the ARN of the trail writing the file. An
    // organization trail is owned by the management account, and its ARN carries that account in every
    // member account; the member-account pattern is listed for organization trails as the AWS guide does, while
    // aws:SourceArn keeps the grant to the configured trails only.
    const contextArns = [`arn:${partition}:cloudtrail:*:${props.trailAccount}:trail/*`];
    if (props.organizationId) contextArns.push(`arn:${partition}:cloudtrail:*:*:trail/${props.trailName}`);
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudTrailEncryptLogs',
        principals: [cloudTrail],
        actions: ['kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: {
          StringEquals: sourceArn,
          StringLike: { 'kms:EncryptionContext:aws:cloudtrail:arn': contextArns },
        },
      }),
    );
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudTrailDescribeKey',
        principals: [cloudTrail],
        actions: ['kms:DescribeKey'],
        resources: ['*'],
        conditions: { StringEquals: sourceArn },
      }),
    );

    const readers = props.readerAccounts ?? [];
    if (readers.length > 0) {
      const principals = readers.map((account) => new iam.AccountPrincipal(account));
      this.bucket.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'ReaderAccountsList',
          principals,
          actions: ['s3:GetBucketLocation', 's3:ListBucket'],
          resources: [this.bucket.bucketArn],
        }),
      );
      this.bucket.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'ReaderAccountsRead',
          principals,
          actions: ['s3:GetObject'],
          resources: [this.bucket.arnForObjects('AWSLogs/*')],
        }),
      );
      this.key.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'ReaderAccountsDecryptViaS3',
          principals,
          actions: ['kms:Decrypt'],
          resources: ['*'],
          conditions: {
            StringEquals: { 'kms:ViaService': `s3.${Stack.of(this).region}.amazonaws.com` },
            Null: { 'kms:EncryptionContext:aws:cloudtrail:arn': 'false' },
          },
        }),
      );
    }
  }

  /**
   * Grants read access to the log files: `s3:GetObject*`/`List*` on the bucket and `kms:Decrypt` on the key.
   *
   * For readers in the same account (the pipeline's Lambdas); other accounts are `readerAccounts`.
   */
  grantRead(grantee: iam.IGrantable): iam.Grant {
    this.key.grantDecrypt(grantee);
    return this.bucket.grantRead(grantee, 'AWSLogs/*');
  }
}

function storageClassOf(name: 'GLACIER_IR' | 'GLACIER' | 'DEEP_ARCHIVE'): s3.StorageClass {
  switch (name) {
    case 'GLACIER_IR':
      return s3.StorageClass.GLACIER_INSTANT_RETRIEVAL;
    case 'GLACIER':
      return s3.StorageClass.GLACIER;
    case 'DEEP_ARCHIVE':
      return s3.StorageClass.DEEP_ARCHIVE;
  }
}
