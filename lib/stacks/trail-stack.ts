import { Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { globalServiceEventsRegion, type TrailsightConfig } from '../config';
import { archiveBucketArn, archiveBucketName, archiveKeyAliasArn } from '../contracts';
import { AuditTrail } from '../trail/audit-trail';

/** Properties of a {@link TrailStack}. */
export interface TrailStackProps extends StackProps {
  /** The validated configuration. */
  readonly config: TrailsightConfig;
  /** The Region this stack's trail lives in; must equal the stack's `env.region` when that is set. */
  readonly trailRegion: string;
}

/**
 * One trail: the multi-region trail (regions `"all"`), or the trail of one listed Region.
 *
 * Deployed in the management account. It reaches the archive by name (bucket and key alias, lib/contracts.ts),
 * never by a cross-stack reference, so the archive may live in another account or Region.
 */
export class TrailStack extends Stack {
  /** The trail. */
  readonly auditTrail: AuditTrail;

  constructor(scope: Construct, id: string, props: TrailStackProps) {
    super(scope, id, props);
    const { config, trailRegion } = props;
    this.auditTrail = new AuditTrail(this, 'Trail', {
      trailName: config.trailName,
      bucketName: archiveBucketName(config),
      bucketArn: archiveBucketArn(config),
      kmsKeyArn: archiveKeyAliasArn(config),
      multiRegion: config.regions === 'all',
      // A multi-Region trail must include them. Listed Regions: CloudTrail records IAM, STS, CloudFront and
      // sign-in events only in us-east-1 (since 2021-11-22), so that Region's trail carries them, exactly once;
      // a trail elsewhere would receive none of them whatever this flag says.
      includeGlobalServiceEvents:
        config.regions === 'all' ||
        (config.globalServiceEvents && trailRegion === globalServiceEventsRegion(config.homeRegion)),
      organizationId: config.organization ? config.organization.organizationId : undefined,
      selection: config,
      cloudWatchLogsRetentionDays: config.cloudWatchLogs ? config.cloudWatchLogs.retentionDays : undefined,
      insightTypes: config.nativeInsights,
    });
  }
}
