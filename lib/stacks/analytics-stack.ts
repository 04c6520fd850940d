import { type aws_athena as athena, aws_glue as glue, Stack, type StackProps } from 'aws-cdk-lib';
import { RegionInfo } from 'aws-cdk-lib/region-info';
import type { Construct } from 'constructs';
import { loadCatalog } from '../../queries/catalog';
import { AccountSync } from '../analytics/account-sync';
import { CloudTrailTable } from '../analytics/cloudtrail-table';
import { CloudTrailCompaction } from '../analytics/compaction';
import { InsightsTable } from '../analytics/insights-table';
import { NamedQueries } from '../analytics/named-queries';
import { QueryWorkGroup } from '../analytics/query-workgroup';
import type { TrailsightConfig } from '../config';
import { accountOrCurrent, archiveSource, insightsBucketName, placementOf } from '../contracts';

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
  /**
   * Keeps the tables' account partition current with the archive's account folders, unless the accounts are fixed
   * (`analytics.accountIds`, or the one account of Trailsight's own account trail).
   */
  readonly accountSync?: AccountSync;

  constructor(scope: Construct, id: string, props: AnalyticsStackProps) {
    super(scope, id, props);
    const { config } = props;

    this.database = new glue.CfnDatabase(this, 'Database', {
      catalogId: this.account,
      databaseInput: { name: config.analytics.databaseName, description: 'Trailsight: CloudTrail archive tables' },
    });

    const archive = archiveSource(config);
    const accounts = accountProjection(config);
    this.cloudTrailTable = new CloudTrailTable(this, 'CloudTrailTable', {
      database: this.database,
      bucketName: archive.bucketName,
      keyPrefix: archive.keyPrefix,
      organizationId: archive.organizationId,
      accountIds: accounts.accountIds,
      regions: projectedRegions(config),
      retentionDays: config.archive.retentionDays,
    });
    this.tableName = this.cloudTrailTable.tableName;

    // Same account and Region partitions as the CloudTrail table: insights are per account and Region. They live
    // in their own bucket, outside the locked archive (a false positive must stay deletable).
    this.insightsTable = new InsightsTable(this, 'InsightsTable', {
      database: this.database,
      bucketName: insightsBucketName(config),
      accountIds: accounts.accountIds,
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
        archive,
        sourceTable: this.cloudTrailTable.table,
        accountIds: accounts.accountIds,
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

    if (accounts.synced) {
      const tables = [this.cloudTrailTable.table, this.insightsTable.table];
      if (this.compaction) tables.push(this.compaction.table);
      this.accountSync = new AccountSync(this, 'AccountSync', {
        archiveBucketName: archive.bucketName,
        accountsRoot: archive.accountsRoot,
        database: this.database,
        tables,
      });
    }
  }
}

/**
 * The accounts the tables project: the configured `analytics.accountIds`; else the trail account of Trailsight's own
 * account trail; else (an organization trail, or an existing archive, whose accounts come and go) the accounts found
 * in the archive by the account sync, starting from the account known to deliver (the trail's account, or the
 * existing archive's). Never `injected`: Athena would then reject every query without `account = '…'`.
 */
function accountProjection(config: TrailsightConfig): { accountIds: string[]; synced: boolean } {
  const placement = placementOf(config);
  if (config.analytics.accountIds) return { accountIds: [...config.analytics.accountIds], synced: false };
  if (config.archive.existing) return { accountIds: [accountOrCurrent(placement.logArchive)], synced: true };
  return { accountIds: [accountOrCurrent(placement.management)], synced: config.organization !== false };
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
