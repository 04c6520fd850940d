import { type aws_athena as athena, aws_glue as glue, Stack, type StackProps } from 'aws-cdk-lib';
import { RegionInfo } from 'aws-cdk-lib/region-info';
import type { Construct } from 'constructs';
import { loadCatalog } from '../../queries/catalog';
import { CloudTrailTable } from '../analytics/cloudtrail-table';
import { CloudTrailCompaction } from '../analytics/compaction';
import { InsightsTable } from '../analytics/insights-table';
import { NamedQueries } from '../analytics/named-queries';
import { QueryWorkGroup } from '../analytics/query-workgroup';
import type { TrailsightConfig } from '../config';
import { ARCHIVE_KEY_ALIAS, accountOrCurrent, archiveBucketName, insightsBucketName, placementOf } from '../contracts';

/** Properties of an {@link AnalyticsStack}. */
export interface AnalyticsStackProps extends StackProps {
  /** The validated configuration. */
  readonly config: TrailsightConfig;
}

/**
 * The Glue database with the CloudTrail and insights tables over the archive, and the Athena workgroup to query
 * them.
 *
 * Deployed in the audit account and the home Region. Redeployable: the results bucket and key are retained
 * (the bucket empties itself by lifecycle), the table only describes the archive.
 */
export class AnalyticsStack extends Stack {
  /** The Glue database. */
  readonly database: glue.CfnDatabase;
  /** The Athena workgroup. */
  readonly workGroup: athena.CfnWorkGroup;
  /** The CloudTrail table construct. */
  readonly cloudTrailTable: CloudTrailTable;
  /** Name of the CloudTrail table in `database`. */
  readonly tableName: string;
  /** The table over Trailsight's own insights in the insights bucket (`trailsight/insights/`). */
  readonly insightsTable: InsightsTable;
  /** Name of the insights table in `database`, `trailsight_insights`. */
  readonly insightsTableName: string;
  /** The workgroup construct (results bucket and key). */
  readonly queryWorkGroup: QueryWorkGroup;
  /** The forensic query library (`queries/`), saved as Athena named queries in the workgroup. */
  readonly namedQueries: NamedQueries;
  /** The compacted Parquet copy of the CloudTrail table and its daily job, unless `analytics.compaction.enabled` is false. */
  readonly compaction?: CloudTrailCompaction;
  /** The library's `cloudtrail_logs` queries saved for the compacted table, with the compaction. */
  readonly compactedNamedQueries?: NamedQueries;

  constructor(scope: Construct, id: string, props: AnalyticsStackProps) {
    super(scope, id, props);
    const { config } = props;

    this.database = new glue.CfnDatabase(this, 'Database', {
      catalogId: this.account,
      databaseInput: { name: config.analytics.databaseName, description: 'Trailsight: CloudTrail archive tables' },
    });

    this.cloudTrailTable = new CloudTrailTable(this, 'CloudTrailTable', {
      database: this.database,
      bucketName: archiveBucketName(config),
      organizationId: config.organization ? config.organization.organizationId : undefined,
      accounts: accountProjection(config),
      regions: projectedRegions(config),
      retentionDays: config.archive.retentionDays,
    });
    this.tableName = this.cloudTrailTable.tableName;

    // Same account and Region partitions as the CloudTrail table: insights are per account and Region. They live
    // in their own bucket, outside the locked archive (a false positive must stay deletable).
    this.insightsTable = new InsightsTable(this, 'InsightsTable', {
      database: this.database,
      bucketName: insightsBucketName(config),
      accounts: accountProjection(config),
      regions: projectedRegions(config),
      retentionDays: config.archive.retentionDays,
    });
    this.insightsTableName = this.insightsTable.tableName;

    this.queryWorkGroup = new QueryWorkGroup(this, 'WorkGroup', {
      workGroupName: config.analytics.workGroupName,
      bytesScannedCutoffPerQuery: config.analytics.bytesScannedCutoffPerQuery,
      resultsExpirationDays: config.analytics.resultsExpirationDays,
    });
    this.workGroup = this.queryWorkGroup.workGroup;

    const catalog = loadCatalog();
    this.namedQueries = new NamedQueries(this, 'NamedQueries', {
      database: this.database,
      workGroup: this.workGroup,
      catalog,
    });

    if (config.analytics.compaction.enabled) {
      this.compaction = new CloudTrailCompaction(this, 'Compaction', {
        database: this.database,
        workGroup: this.workGroup,
        resultsBucket: this.queryWorkGroup.resultsBucket,
        key: this.queryWorkGroup.resultsKey,
        archiveBucketName: archiveBucketName(config),
        archiveAccount: accountOrCurrent(placementOf(config).logArchive),
        archiveKeyAlias: ARCHIVE_KEY_ALIAS,
        organizationId: config.organization ? config.organization.organizationId : undefined,
        accounts: accountProjection(config),
        regions: projectedRegions(config),
        retentionDays: config.archive.retentionDays,
        hourUtc: config.analytics.compaction.hourUtc,
        maxConcurrency: config.analytics.compaction.maxConcurrency,
      });
      this.compactedNamedQueries = new NamedQueries(this, 'CompactedNamedQueries', {
        database: this.database,
        workGroup: this.workGroup,
        catalog,
        namePrefix: 'trailsight-compacted-',
        compacted: true,
      });
    }
  }
}

/**
 * Listed account IDs, else the trail account for an account trail, else `injected` for an organization
 * (member accounts come and go; every query then filters on `account`).
 */
function accountProjection(config: TrailsightConfig) {
  if (config.analytics.accountIds) return { type: 'enum' as const, accountIds: config.analytics.accountIds };
  if (config.organization) return { type: 'injected' as const };
  return { type: 'enum' as const, accountIds: [accountOrCurrent(placementOf(config).management)] };
}

/** The listed Regions, or for `"all"` every Region aws-cdk-lib knows in the home Region's partition. */
function projectedRegions(config: TrailsightConfig): string[] {
  if (config.regions !== 'all') return [...config.regions];
  const partition = RegionInfo.get(config.homeRegion).partition ?? 'aws';
  return RegionInfo.regions
    .filter((r) => r.partition === partition)
    .map((r) => r.name)
    .sort();
}
