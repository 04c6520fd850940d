import { Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { TrailsightConfig } from '../config';
import { ARCHIVE_KEY_ALIAS, accountOrCurrent, archiveBucketName, placementOf, trailArns } from '../contracts';
import { LogArchive } from '../log-archive/log-archive';

/** Properties of a {@link LogArchiveStack}. */
export interface LogArchiveStackProps extends StackProps {
  /** The validated configuration. */
  readonly config: TrailsightConfig;
}

/**
 * The stateful stack: the archive key, the archive bucket and its access-log bucket.
 *
 * Deployed in the log archive account and the home Region, with termination protection; every resource is
 * retained when the stack is deleted.
 */
export class LogArchiveStack extends Stack {
  /** The archive (key, bucket, access-log bucket). */
  readonly archive: LogArchive;

  constructor(scope: Construct, id: string, props: LogArchiveStackProps) {
    super(scope, id, { terminationProtection: true, ...props });
    const { config } = props;
    const placement = placementOf(config);
    // Readers in other accounts: the audit account's Athena reads the files through S3.
    const readerAccounts = placement.crossAccount && placement.audit !== placement.logArchive ? [placement.audit!] : [];
    this.archive = new LogArchive(this, 'Archive', {
      bucketName: archiveBucketName(config),
      keyAlias: ARCHIVE_KEY_ALIAS,
      trailArns: trailArns(config),
      trailName: config.trailName,
      trailAccount: accountOrCurrent(placement.management),
      organizationId: config.organization ? config.organization.organizationId : undefined,
      retention: {
        retentionDays: config.archive.retentionDays,
        transition: config.archive.transition || undefined,
        objectLock: config.archive.objectLock || undefined,
        noncurrentVersionRetentionDays: config.archive.noncurrentVersionRetentionDays,
        accessLogRetentionDays: config.archive.accessLogRetentionDays,
      },
      readerAccounts,
      eventBridgeNotifications: config.detection.enabled,
    });
  }
}
