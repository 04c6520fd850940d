import { Annotations, aws_iam as iam, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { objectLockWeakness, type TrailsightConfig } from '../config';
import {
  ARCHIVE_KEY_ALIAS,
  accountOrCurrent,
  archiveBucketName,
  INSIGHTS_KEY_ALIAS,
  insightsBucketName,
  placementOf,
  trailArns,
} from '../contracts';
import { InsightsStore } from '../log-archive/insights-store';
import { LogArchive } from '../log-archive/log-archive';

/** Properties of a {@link LogArchiveStack}. */
export interface LogArchiveStackProps extends StackProps {
  /** The validated configuration. */
  readonly config: TrailsightConfig;
}

/**
 * The stateful stack: the archive key, the archive bucket, its access-log bucket and the insights bucket; or, over an
 * existing archive (`archive.existing`), only the insights bucket with its own key and access-log bucket.
 *
 * Deployed in the log archive account and the home Region, with termination protection; every resource is
 * retained when the stack is deleted. An organization's Object Lock weaker than evidence needs fails validation
 * unless `allowWeakObjectLock` accepts it, and synth then warns.
 */
export class LogArchiveStack extends Stack {
  /** Trailsight's own archive (key, bucket, access-log bucket, insights bucket); absent over an existing archive. */
  readonly archive?: LogArchive;
  /** The insights bucket and its key next to an existing archive; absent when Trailsight owns the archive. */
  readonly insightsStore?: InsightsStore;

  constructor(scope: Construct, id: string, props: LogArchiveStackProps) {
    super(scope, id, { terminationProtection: true, ...props });
    const { config } = props;
    const placement = placementOf(config);
    // Readers in other accounts: the audit account's Athena reads the files through S3.
    const readerAccounts = placement.crossAccount && placement.audit !== placement.logArchive ? [placement.audit!] : [];
    if (config.archive.existing) {
      this.insightsStore = new InsightsStore(this, 'Insights', {
        bucketName: insightsBucketName(config),
        keyAlias: INSIGHTS_KEY_ALIAS,
        retentionDays: config.archive.retentionDays,
        noncurrentVersionRetentionDays: config.archive.noncurrentVersionRetentionDays,
        accessLogRetentionDays: config.archive.accessLogRetentionDays,
        readerAccounts,
      });
      return;
    }
    this.archive = new LogArchive(this, 'Archive', {
      bucketName: archiveBucketName(config),
      insightsBucketName: insightsBucketName(config),
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
      // The detection pipeline picks up new log files, the integrity verifier new digests.
      eventBridgeNotifications: config.detection.enabled || config.integrity.enabled,
      breakGlassRole: config.breakGlassRoleArn
        ? iam.Role.fromRoleArn(this, 'BreakGlassRole', config.breakGlassRoleArn, { mutable: false })
        : undefined,
      keyAdministrators: config.keyAdministrators.map((arn) => new iam.ArnPrincipal(arn)),
    });

    // An organization's configuration with a weak lock fails validation unless allowWeakObjectLock accepts it; then
    // every synth says so. (A single account's trial setup is not an organization's evidence: docs/deploy.md.)
    const weakness = objectLockWeakness(config.archive);
    if (weakness && config.organization) {
      Annotations.of(this).addWarningV2(
        'trailsight:weak-object-lock',
        `archive.objectLock: ${weakness}. Evidence needs { "mode": "COMPLIANCE", "days": ${config.archive.retentionDays} }, decided before the first deploy (docs/deploy.md, "What the archive guarantees").`,
      );
    }
  }
}
