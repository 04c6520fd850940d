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

// ---- The archive Trailsight reads: its own, or an existing one (issue 12, docs/deploy.md) ----

/** Alias of the key of the insights bucket when the archive is an existing one (there is no Trailsight archive key). */
export const INSIGHTS_KEY_ALIAS = 'alias/trailsight/insights';

/** How the readers' IAM policies name the key the log files are encrypted with. */
export type ArchiveKey =
  /** Trailsight's archive key, defined in another stack and known by its alias only. */
  | { readonly kind: 'alias'; readonly alias: string; readonly account: string; readonly region: string }
  /** The existing archive's key, by its ARN. */
  | { readonly kind: 'arn'; readonly keyArn: string }
  /** SSE-S3: S3 decrypts with no key policy involved. */
  | { readonly kind: 's3-managed' };

/** Where the CloudTrail files are, and what Trailsight may read of them. */
export interface ArchiveSource {
  /** True for `archive.existing`: another deployment owns the bucket, its key and its trail. */
  readonly existing: boolean;
  readonly bucketName: string;
  /** The trail's S3 key prefix, before `AWSLogs/`; absent when the keys start with `AWSLogs/`. */
  readonly keyPrefix?: string;
  /** The organization whose organization trail delivers (`AWSLogs/<o-id>/`); absent for an account trail. */
  readonly organizationId?: string;
  /** The folder holding one folder per account: `[<keyPrefix>/]AWSLogs/[<o-id>/]`. */
  readonly accountsRoot: string;
  /**
   * What Trailsight reads and lists, and its rules watch: all of `AWSLogs/` in its own archive (only its trails write
   * there), `accountsRoot` in an existing one (the configured trail's files, nothing else the bucket holds).
   */
  readonly readPrefix: string;
  readonly key: ArchiveKey;
}

/** The folder of every account of a trail's files: `[<keyPrefix>/]AWSLogs/[<organizationId>/]`. */
export function accountsRootOf(layout: { readonly keyPrefix?: string; readonly organizationId?: string }): string {
  return `${layout.keyPrefix ? `${layout.keyPrefix}/` : ''}AWSLogs/${layout.organizationId ? `${layout.organizationId}/` : ''}`;
}

/**
 * Key pattern (EventBridge wildcard) of the CloudTrail log files under an archive's read prefix; digests, Insights
 * files and the bucket's other objects do not match.
 */
export function logFileKeyPattern(readPrefix: string): string {
  return `${readPrefix}*/CloudTrail/*.json.gz`;
}

/**
 * Key pattern (EventBridge wildcard) of the CloudTrail digest files under an archive's read prefix, backfill digests
 * included. The integrity verifier reads them; the detection ingest records them by name (never read) as evidence
 * that a Region's trail is logging.
 */
export function digestKeyPattern(readPrefix: string): string {
  return `${readPrefix}*/CloudTrail-Digest/*.json.gz`;
}

/** The archive of a configuration: Trailsight's own (named by lib/contracts.ts), or `archive.existing`. */
export function archiveSource(config: TrailsightConfig): ArchiveSource {
  const organizationId = config.organization ? config.organization.organizationId : undefined;
  const existing = config.archive.existing;
  if (!existing) {
    return {
      existing: false,
      bucketName: archiveBucketName(config),
      organizationId,
      accountsRoot: accountsRootOf({ organizationId }),
      readPrefix: 'AWSLogs/',
      key: {
        kind: 'alias',
        alias: ARCHIVE_KEY_ALIAS,
        account: accountOrCurrent(placementOf(config).logArchive),
        region: config.homeRegion,
      },
    };
  }
  const accountsRoot = accountsRootOf({ keyPrefix: existing.keyPrefix, organizationId });
  return {
    existing: true,
    bucketName: existing.bucketName,
    keyPrefix: existing.keyPrefix,
    organizationId,
    accountsRoot,
    readPrefix: accountsRoot,
    key: existing.kmsKeyArn ? { kind: 'arn', keyArn: existing.kmsKeyArn } : { kind: 's3-managed' },
  };
}

/** Alias of the key that encrypts the insights bucket: the archive key, or the insights key next to an existing archive. */
export function insightsKeyAlias(config: TrailsightConfig): string {
  return config.archive.existing ? INSIGHTS_KEY_ALIAS : ARCHIVE_KEY_ALIAS;
}

/**
 * The IAM statement parts that let a role decrypt the archive's files with its key, or undefined for SSE-S3:
 * Trailsight's own key by `key/*` narrowed to its alias (the key's ID is not known outside its stack), an existing
 * archive's key by its ARN. `wildcard` tells whether the resource needs a cdk-nag acknowledgement.
 */
export function archiveDecrypt(
  key: ArchiveKey,
  partition: string,
): { resource: string; conditions?: Record<string, Record<string, string>>; wildcard: boolean } | undefined {
  switch (key.kind) {
    case 'alias':
      return {
        resource: `arn:${partition}:kms:${key.region}:${key.account}:key/*`,
        conditions: { 'ForAnyValue:StringEquals': { 'kms:ResourceAliases': key.alias } },
        wildcard: true,
      };
    case 'arn':
      return { resource: key.keyArn, wildcard: false };
    case 's3-managed':
      return undefined;
  }
}
