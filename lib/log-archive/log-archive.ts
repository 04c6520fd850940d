import { Duration, aws_iam as iam, aws_kms as kms, RemovalPolicy, Stack, aws_s3 as s3, Validations } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { INSIGHTS_PREFIX } from '../../schema/insights-table';
import { cloudFormationExecutionRoleArn } from './deployment-role';
import { insightsBucketProps } from './insights-store';
import {
  BUCKET_CONFIGURATION_ACTIONS,
  BUCKET_DESTRUCTION_ACTIONS,
  KEY_ADMINISTRATION_ACTIONS,
  KEY_DESTRUCTION_ACTIONS,
  KEY_POLICY_ACTIONS,
} from './protected-actions';

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
  /**
   * Physical name of the bucket holding Trailsight's own insights (a contract with the detection pipeline, which
   * writes them, and the audit account's Glue table, which reads them).
   */
  readonly insightsBucketName: string;
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
   * Other accounts that read the log files and the insights (e.g. the audit account's Athena): granted read on
   * `AWSLogs/*` and on the insights, and decrypt through S3 in the key policy. Their own IAM policies must allow it too.
   * @default - no cross-account readers
   */
  readonly readerAccounts?: readonly string[];
  /**
   * Send the bucket's object events (Object Created, ...) to the account's default EventBridge bus, where the
   * detection pipeline's and the integrity verifier's rules pick up new log and digest files. Set directly on the
   * bucket resource, without the custom resource (and its Lambda) that `s3.Bucket`'s `eventBridgeEnabled` adds.
   * @default false
   */
  readonly eventBridgeNotifications?: boolean;
  /**
   * The one role that may destroy evidence (delete files or the bucket, change a lock, disable or delete the key)
   * and, like deployments, change the buckets' configuration and the key policy. It must exist before deployment.
   * @default - no break-glass role: evidence can be destroyed only after a deployment changes these policies
   */
  readonly breakGlassRole?: iam.IRole;
  /**
   * Principals that administer the key without being able to use it. They must exist before deployment.
   * @default - only the deployment role (and the break-glass role)
   */
  readonly keyAdministrators?: readonly iam.IPrincipal[];
  /**
   * The role CloudFormation deploys this stack with, exempt from the configuration Denies so the stack stays
   * deployable.
   * @default - the CDK bootstrap's CloudFormation execution role of this stack
   */
  readonly deploymentRole?: iam.IRole;
}

/**
 * Defines the evidence archive: a KMS key, the archive bucket CloudTrail delivers to, its access-log bucket, and the
 * bucket for Trailsight's own insights (derived data, kept out of the locked evidence).
 *
 * Secure defaults in one place: the key rotates; every bucket blocks public access, denies non-TLS and TLS < 1.2
 * requests, is versioned, logs server access (except the access-log bucket itself) and is retained on stack deletion;
 * the archive is encrypted with the key, expires and transitions files by the given lifecycle and optionally locks
 * them (Object Lock).
 *
 * Evidence protection (docs/deploy.md, "What the archive guarantees"):
 * - only the configured trails write to the archive (`aws:SourceArn`), only under `AWSLogs/<trail account>/` and
 *   `AWSLogs/<o-id>/`, with `bucket-owner-full-control`; every other write is denied, whoever asks;
 * - deleting or unlocking files and deleting the bucket: break glass only; changing a bucket's configuration
 *   (policy, lifecycle, versioning, lock, encryption, logging, notifications, replication): deployments and break
 *   glass only — for the archive and for its access-log bucket;
 * - the key separates administration (named administrators, no use) from use (CloudTrail encrypting, readers
 *   decrypting through S3 only); disabling or deleting it is break glass only, changing its policy or alias
 *   deployments and break glass only.
 */
export class LogArchive extends Construct {
  /** The key that encrypts the log files and the insights. */
  readonly key: kms.Key;
  /** The archive bucket. */
  readonly bucket: s3.Bucket;
  /** The bucket receiving the archive's and the insights bucket's S3 server access logs. */
  readonly accessLogBucket: s3.Bucket;
  /** The bucket of Trailsight's own insights (not locked: a false positive can be deleted). */
  readonly insightsBucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: LogArchiveProps) {
    super(scope, id);
    if (props.trailArns.length === 0)
      throw new Error('LogArchive: trailArns is empty; pass the ARN of every trail that delivers here');
    const { retention } = props;
    const stack = Stack.of(this);
    const deploymentRoleArn = props.deploymentRole?.roleArn ?? cloudFormationExecutionRoleArn(stack);
    const breakGlassRoleArn = props.breakGlassRole?.roleArn;
    const readers = (props.readerAccounts ?? []).map((account) => new iam.AccountPrincipal(account));

    this.key = new kms.Key(this, 'Key', {
      description: 'Trailsight: encrypts CloudTrail log files in the archive bucket and Trailsight insights',
      enableKeyRotation: true,
      alias: props.keyAlias,
      removalPolicy: RemovalPolicy.RETAIN,
      // An explicit policy replaces the CDK default (the account root allowed kms:*): administration and use are
      // granted separately below, and the account's IAM policies can grant use only through S3.
      policy: new iam.PolicyDocument(),
    });

    this.accessLogBucket = new s3.Bucket(this, 'AccessLogBucket', {
      // S3 server access logging delivers only to buckets with SSE-S3 default encryption and without Object Lock.
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
      // No S3 Bucket Key on the archive (docs/deploy.md, "S3 Bucket Keys"): CloudTrail's PUTs would use it too, and
      // what KMS then sees as encryption context for CloudTrail's own statements is not documented.
      bucketKeyEnabled: false,
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

    this.insightsBucket = new s3.Bucket(
      this,
      'InsightsBucket',
      insightsBucketProps({
        bucketName: props.insightsBucketName,
        key: this.key,
        accessLogBucket: this.accessLogBucket,
        retentionDays: retention.retentionDays,
        noncurrentVersionRetentionDays: retention.noncurrentVersionRetentionDays,
      }),
    );

    this.allowCloudTrailDelivery(props);
    this.protectBuckets(props.trailArns, deploymentRoleArn, breakGlassRoleArn);
    // The key policy names the insights bucket by its ARN built from the name: its attribute would make the key
    // depend on a bucket that depends on the key.
    const insightsArn = `arn:${stack.partition}:s3:::${props.insightsBucketName}`;
    this.protectKey(props.keyAdministrators ?? [], deploymentRoleArn, props.breakGlassRole, insightsArn);
    this.allowReaders(readers, insightsArn);
  }

  /**
   * Grants read access to the log files: `s3:GetObject*`/`List*` on the bucket and `kms:Decrypt` on the key (which the
   * key policy honours through S3 only, for objects with a CloudTrail encryption context).
   *
   * For readers in the same account (the pipeline's Lambdas); other accounts are `readerAccounts`.
   */
  grantRead(grantee: iam.IGrantable): iam.Grant {
    this.key.grantDecrypt(grantee);
    return this.bucket.grantRead(grantee, 'AWSLogs/*');
  }

  /** The bucket and key statements CloudTrail needs to deliver (cloudtrail.md §7.1 and §7.2). */
  private allowCloudTrailDelivery(props: LogArchiveProps): void {
    const partition = Stack.of(this).partition;
    const sourceArn = { 'aws:SourceArn': [...props.trailArns] };
    const cloudTrail = new iam.ServicePrincipal(CLOUDTRAIL);

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

    // The encryption context is the ARN of the trail writing the file. An organization trail is owned by the
    // management account, and its ARN carries that account in every member account; the member-account pattern is
    // listed for organization trails as the AWS guide does, while aws:SourceArn keeps the grant to the configured
    // trails only.
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
  }

  /**
   * The Denies that keep the archive and its access logs as delivered. A bucket policy Deny binds every principal of
   * every account, the bucket owner's root user included, except for one thing S3 keeps for that root user: it can
   * always read, replace or delete the bucket policy itself (the PutBucketPolicy API reference); only a service
   * control policy can stop that (lib/guardrails/).
   */
  private protectBuckets(
    trailArns: readonly string[],
    deploymentRoleArn: string,
    breakGlassRoleArn: string | undefined,
  ): void {
    const configurators = breakGlassRoleArn ? [deploymentRoleArn, breakGlassRoleArn] : [deploymentRoleArn];
    const everyone = new iam.AnyPrincipal();
    const exceptPrincipals = (arns: readonly string[]) => ({ ArnNotEquals: { 'aws:PrincipalArn': [...arns] } });

    // Only the configured trails write to the archive. aws:SourceArn is set by AWS on service-to-service requests
    // and is absent from a principal's own request, where a negated condition is true: every IAM principal is denied.
    this.bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'DenyWritesExceptConfiguredTrails',
        effect: iam.Effect.DENY,
        principals: [everyone],
        actions: ['s3:PutObject'],
        resources: [this.bucket.arnForObjects('*')],
        conditions: { StringNotEquals: { 'aws:SourceArn': [...trailArns] } },
      }),
    );
    // Only S3 server access logging, for the two buckets that log here, writes to the access-log bucket.
    this.accessLogBucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'DenyWritesExceptAccessLogDelivery',
        effect: iam.Effect.DENY,
        principals: [everyone],
        actions: ['s3:PutObject'],
        resources: [this.accessLogBucket.arnForObjects('*')],
        conditions: { ArnNotEquals: { 'aws:SourceArn': [this.bucket.bucketArn, this.insightsBucket.bucketArn] } },
      }),
    );

    for (const bucket of [this.bucket, this.accessLogBucket]) {
      bucket.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'DenyConfigurationChangesExceptDeploymentAndBreakGlass',
          effect: iam.Effect.DENY,
          principals: [everyone],
          actions: [...BUCKET_CONFIGURATION_ACTIONS],
          resources: [bucket.bucketArn],
          conditions: exceptPrincipals(configurators),
        }),
      );
      bucket.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: breakGlassRoleArn ? 'DenyDestructionExceptBreakGlass' : 'DenyDestruction',
          effect: iam.Effect.DENY,
          principals: [everyone],
          actions: [...BUCKET_DESTRUCTION_ACTIONS],
          resources: [bucket.bucketArn, bucket.arnForObjects('*')],
          conditions: breakGlassRoleArn ? exceptPrincipals([breakGlassRoleArn]) : undefined,
        }),
      );
    }
  }

  /**
   * The key policy: administration (named administrators, the deployment role, break glass) separated from use
   * (CloudTrail encrypting; IAM-granted readers decrypting CloudTrail objects through S3; any principal using the
   * key through S3 for the insights bucket only, as the AWS managed aws/s3 key allows), and Denies that leave
   * destroying the key to break glass and changing its policy or alias to deployments and break glass.
   */
  private protectKey(
    administrators: readonly iam.IPrincipal[],
    deploymentRoleArn: string,
    breakGlassRole: iam.IRole | undefined,
    insightsArn: string,
  ): void {
    const breakGlassRoleArn = breakGlassRole?.roleArn;
    const region = Stack.of(this).region;
    const account = Stack.of(this).account;
    const viaS3 = { 'kms:ViaService': `s3.${region}.amazonaws.com` };
    const everyone = new iam.AnyPrincipal();
    const admins = [...administrators, new iam.ArnPrincipal(deploymentRoleArn)];
    if (breakGlassRole) admins.push(breakGlassRole);

    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'KeyAdministration',
        principals: admins,
        actions: [...KEY_ADMINISTRATION_ACTIONS],
        resources: ['*'],
      }),
    );
    // Lets this account's IAM policies grant reading the log and digest files, through S3 only (LogArchive.grantRead,
    // the pipeline and the integrity verifier). The account root is a delegation, not a user of the key.
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AccountDecryptsCloudTrailObjectsViaS3',
        principals: [new iam.AccountRootPrincipal()],
        actions: ['kms:Decrypt'],
        resources: ['*'],
        conditions: { StringEquals: viaS3, Null: { 'kms:EncryptionContext:aws:cloudtrail:arn': 'false' } },
      }),
    );
    // The insights bucket: any principal of this account that S3 lets write or read it may use the key for it, and
    // nothing else (the context is the insights bucket's ARN, or an object's in it).
    const insightsContext = { 'kms:EncryptionContext:aws:s3:arn': [insightsArn, `${insightsArn}/*`] };
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AccountUsesKeyForInsightsViaS3',
        principals: [everyone],
        actions: ['kms:GenerateDataKey*', 'kms:Decrypt'],
        resources: ['*'],
        conditions: { StringEquals: { ...viaS3, 'kms:CallerAccount': account }, StringLike: insightsContext },
      }),
    );

    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: breakGlassRoleArn ? 'DenyKeyDestructionExceptBreakGlass' : 'DenyKeyDestruction',
        effect: iam.Effect.DENY,
        principals: [everyone],
        actions: [...KEY_DESTRUCTION_ACTIONS],
        resources: ['*'],
        conditions: breakGlassRoleArn ? { ArnNotEquals: { 'aws:PrincipalArn': [breakGlassRoleArn] } } : undefined,
      }),
    );
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'DenyKeyPolicyChangesExceptDeploymentAndBreakGlass',
        effect: iam.Effect.DENY,
        principals: [everyone],
        actions: [...KEY_POLICY_ACTIONS],
        resources: ['*'],
        conditions: {
          ArnNotEquals: {
            'aws:PrincipalArn': breakGlassRoleArn ? [deploymentRoleArn, breakGlassRoleArn] : [deploymentRoleArn],
          },
        },
      }),
    );
  }

  /** Cross-account readers: list and read the log files and the insights, decrypt through S3 only. */
  private allowReaders(principals: readonly iam.IPrincipal[], insightsArn: string): void {
    if (principals.length === 0) return;
    const viaS3 = { 'kms:ViaService': `s3.${Stack.of(this).region}.amazonaws.com` };
    this.bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'ReaderAccountsList',
        principals: [...principals],
        actions: ['s3:GetBucketLocation', 's3:ListBucket'],
        resources: [this.bucket.bucketArn],
      }),
    );
    this.bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'ReaderAccountsRead',
        principals: [...principals],
        actions: ['s3:GetObject'],
        resources: [this.bucket.arnForObjects('AWSLogs/*')],
      }),
    );
    this.insightsBucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'ReaderAccountsList',
        principals: [...principals],
        actions: ['s3:GetBucketLocation', 's3:ListBucket'],
        resources: [this.insightsBucket.bucketArn],
      }),
    );
    this.insightsBucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'ReaderAccountsRead',
        principals: [...principals],
        actions: ['s3:GetObject'],
        resources: [this.insightsBucket.arnForObjects(`${INSIGHTS_PREFIX}*`)],
      }),
    );
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'ReaderAccountsDecryptViaS3',
        principals: [...principals],
        actions: ['kms:Decrypt'],
        resources: ['*'],
        conditions: { StringEquals: viaS3, Null: { 'kms:EncryptionContext:aws:cloudtrail:arn': 'false' } },
      }),
    );
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'ReaderAccountsDecryptInsightsViaS3',
        principals: [...principals],
        actions: ['kms:Decrypt'],
        resources: ['*'],
        conditions: {
          StringEquals: viaS3,
          StringLike: { 'kms:EncryptionContext:aws:s3:arn': [insightsArn, `${insightsArn}/*`] },
        },
      }),
    );
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
