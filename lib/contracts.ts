/**
 * Names that cross stack, Region or account boundaries, derived deterministically from the configuration.
 *
 * Stacks in different accounts or Regions cannot reference each other's resources (CloudFormation exports
 * are per account and Region, and Trailsight never uses cross-stack references between accounts). So the
 * few names another environment must know are built here from configuration alone, once, and every stack
 * derives them the same way:
 * - the archive bucket name (the trails deliver to it; the Glue table reads from it),
 * - the archive key alias (the trails encrypt with it; CloudTrail accepts an alias ARN as `KmsKeyId`),
 * - the trail ARNs (the bucket and key policies pin `aws:SourceArn` to them),
 * - the insights bucket name (the detection pipeline writes insights to it; the insights Glue table reads it).
 *
 * An account that is not configured is the deploying account of the stack (`Aws.ACCOUNT_ID`): that is only
 * allowed in the same-account layout, where every stack resolves it to the same account.
 */
import { Aws } from 'aws-cdk-lib';
import type { TrailsightConfig } from './config';

/** Alias of the archive key. Fixed, so trails in other accounts and Regions can name the key. */
export const ARCHIVE_KEY_ALIAS = 'alias/trailsight/archive';

/** Where each part of Trailsight is deployed; `undefined` means "the deploying account". */
export interface Placement {
  /** Account owning the trails (the management account for an organization trail). */
  readonly management?: string;
  /** Account of the archive bucket and key. */
  readonly logArchive?: string;
  /** Account of the Glue table and Athena workgroup. */
  readonly audit?: string;
  /** True when at least two of the three accounts differ. */
  readonly crossAccount: boolean;
}

/** Resolves the account placement: log archive defaults to management, audit to log archive. */
export function placementOf(config: TrailsightConfig): Placement {
  const management = config.accounts.management;
  const logArchive = config.accounts.logArchive ?? management;
  const audit = config.accounts.audit ?? logArchive;
  return { management, logArchive, audit, crossAccount: new Set([management, logArchive, audit]).size > 1 };
}

/** An account ID, or the deploying account's when not configured (same-account layout only). */
export function accountOrCurrent(account: string | undefined): string {
  return account ?? Aws.ACCOUNT_ID;
}

/**
 * Name of the archive bucket: `trailsight-archive-<log archive account>-<home Region>`.
 *
 * Account and Region make it globally unique without a random suffix; it is deterministic because trails in
 * other Regions and accounts deliver to it by name.
 */
export function archiveBucketName(config: TrailsightConfig): string {
  return `trailsight-archive-${accountOrCurrent(placementOf(config).logArchive)}-${config.homeRegion}`;
}

/** ARN of the archive bucket. */
export function archiveBucketArn(config: TrailsightConfig): string {
  return `arn:${Aws.PARTITION}:s3:::${archiveBucketName(config)}`;
}

/** ARN of the archive key's alias, which a trail in any account or Region of the partition can use as `KmsKeyId`. */
export function archiveKeyAliasArn(config: TrailsightConfig): string {
  const account = accountOrCurrent(placementOf(config).logArchive);
  return `arn:${Aws.PARTITION}:kms:${config.homeRegion}:${account}:${ARCHIVE_KEY_ALIAS}`;
}

/** The Regions whose stacks each hold one trail: the home Region for a multi-region trail, else every listed Region. */
export function trailRegions(config: TrailsightConfig): readonly string[] {
  return config.regions === 'all' ? [config.homeRegion] : config.regions;
}

/** ARN of the trail in `region` (always owned by the management account, also for organization trails). */
export function trailArn(config: TrailsightConfig, region: string): string {
  const account = accountOrCurrent(placementOf(config).management);
  return `arn:${Aws.PARTITION}:cloudtrail:${region}:${account}:trail/${config.trailName}`;
}

/** ARNs of every trail Trailsight deploys: the values of `aws:SourceArn` in the bucket and key policies. */
export function trailArns(config: TrailsightConfig): string[] {
  return trailRegions(config).map((region) => trailArn(config, region));
}

/**
 * Name of the bucket of Trailsight's own insights: `trailsight-insights-<log archive account>-<home Region>`, next to
 * the archive but outside it (insights are derived data: a false positive must be deletable, which the locked
 * archive forbids).
 */
export function insightsBucketName(config: TrailsightConfig): string {
  return `trailsight-insights-${accountOrCurrent(placementOf(config).logArchive)}-${config.homeRegion}`;
}

/** ARN of the insights bucket. */
export function insightsBucketArn(config: TrailsightConfig): string {
  return `arn:${Aws.PARTITION}:s3:::${insightsBucketName(config)}`;
}
