import { aws_glue as glue, Stack } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { ACCOUNT_VALUES_PARAMETER } from '../../schema/analytics-contract';
import { CLOUDTRAIL_COLUMNS, CLOUDTRAIL_PARTITION_KEYS, CLOUDTRAIL_TABLE_NAME } from '../../schema/cloudtrail-table';
import { accountsRootOf } from '../contracts';

/**
 * Which `account`, `region` and `dt` partitions exist; shared by the CloudTrail and the insights table, whose
 * partition columns have the same names and formats.
 */
export interface PartitionProjectionProps {
  /**
   * The `account` partition values (an `enum`): the configured accounts, or the accounts the account sync last found
   * in the archive (lib/analytics/account-sync.ts), which rewrites this list in the deployed table.
   */
  readonly accountIds: readonly string[];
  /** The `region` partition values. */
  readonly regions: readonly string[];
  /** How many days back the `dt` projection reaches (the archive retention). */
  readonly retentionDays: number;
}

/** Where the log files are and which partitions exist; input of {@link cloudTrailProjection}. */
export interface CloudTrailProjectionProps extends PartitionProjectionProps {
  /** Name of the archive bucket. */
  readonly bucketName: string;
  /**
   * The trail's S3 key prefix, before `AWSLogs/` (e.g. `o-a1b2c3d4e5` in a Control Tower archive).
   * @default - the keys start with `AWSLogs/`
   */
  readonly keyPrefix?: string;
  /**
   * Organization ID when the logs come from an organization trail (`AWSLogs/<o-id>/<account>/...`).
   * @default - account trail layout (`AWSLogs/<account>/...`)
   */
  readonly organizationId?: string;
}

/**
 * Projection parameters of the `account`, `region` and `dt` partition columns (no location template):
 * `account` and `region` enums, `dt` a date in `dtFormat` (`yyyy/MM/dd` as in CloudTrail's keys unless given)
 * reaching back `retentionDays` from today. `caller` prefixes the error messages.
 *
 * `account` is never `injected`: Athena then rejects every query without a static `account = '…'`, so no
 * query could look across accounts (docs/queries.md, "Organization tables").
 */
export function accountRegionDateProjection(
  props: PartitionProjectionProps,
  caller: string,
  dtFormat = 'yyyy/MM/dd',
): Record<string, string> {
  if (props.regions.length === 0) throw new Error(`${caller}: regions is empty; list the Regions the trails record`);
  if (props.accountIds.length === 0) throw new Error(`${caller}: accountIds is empty; list at least one account`);
  return {
    'projection.enabled': 'true',
    'projection.account.type': 'enum',
    [ACCOUNT_VALUES_PARAMETER]: props.accountIds.join(','),
    'projection.region.type': 'enum',
    'projection.region.values': props.regions.join(','),
    'projection.dt.type': 'date',
    'projection.dt.format': dtFormat,
    'projection.dt.range': `NOW-${props.retentionDays}DAYS,NOW`,
    'projection.dt.interval': '1',
    'projection.dt.interval.unit': 'DAYS',
  };
}

/**
 * Table parameters for partition projection over `[prefix/]AWSLogs/[o-id/]account/CloudTrail/region/dt`
 * (cloudtrail.md §5.2): Trailsight's own archive, and the existing archives of Control Tower
 * (`o-…/AWSLogs/o-…/`), Landing Zone Accelerator (`cloudtrail-organization/AWSLogs/o-…/`) or any trail with a prefix.
 *
 * The partition columns are `account`, `region` and `dt` for every layout, so a query written for an
 * account trail runs unchanged on an organization trail; only `storage.location.template` differs.
 * `dt` is the delivery date folder `yyyy/MM/dd`, projected back `retentionDays` from today.
 */
export function cloudTrailProjection(props: CloudTrailProjectionProps): {
  location: string;
  parameters: Record<string, string>;
} {
  const root = `s3://${props.bucketName}/${accountsRootOf(props)}`;
  const parameters: Record<string, string> = {
    classification: 'cloudtrail',
    ...accountRegionDateProjection(props, 'cloudTrailProjection'),
    'storage.location.template': `${root}\${account}/CloudTrail/\${region}/\${dt}`,
  };
  return { location: root, parameters };
}

/** Properties of a {@link CloudTrailTable}. */
export interface CloudTrailTableProps extends CloudTrailProjectionProps {
  /** The Glue database holding the table. */
  readonly database: glue.CfnDatabase;
}

/**
 * Defines the Glue table over the archived CloudTrail log files, with partition projection.
 *
 * Columns and partition keys come from `schema/cloudtrail-table.ts`, the single source shared with the local
 * DuckDB view. JSON SerDe with `CloudTrailInputFormat` (which unwraps the `Records` array), as in the Athena
 * guide. Projection means no crawler and no `MSCK REPAIR TABLE`.
 */
export class CloudTrailTable extends Construct {
  /** The table. */
  readonly table: glue.CfnTable;
  /** Name of the table, `cloudtrail_logs`. */
  readonly tableName: string = CLOUDTRAIL_TABLE_NAME;

  constructor(scope: Construct, id: string, props: CloudTrailTableProps) {
    super(scope, id);
    const { location, parameters } = cloudTrailProjection(props);
    const databaseName = props.database.ref;
    this.table = new glue.CfnTable(this, 'Resource', {
      catalogId: Stack.of(this).account,
      databaseName,
      tableInput: {
        name: CLOUDTRAIL_TABLE_NAME,
        description: 'CloudTrail log files in the Trailsight archive (partition projection: account, region, dt)',
        tableType: 'EXTERNAL_TABLE',
        parameters: { EXTERNAL: 'TRUE', ...parameters },
        partitionKeys: CLOUDTRAIL_PARTITION_KEYS.map(({ name, type }) => ({ name, type })),
        storageDescriptor: {
          location,
          columns: CLOUDTRAIL_COLUMNS.map(({ name, type }) => ({ name, type })),
          inputFormat: 'com.amazon.emr.cloudtrail.CloudTrailInputFormat',
          outputFormat: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
          serdeInfo: { serializationLibrary: 'org.apache.hive.hcatalog.data.JsonSerDe' },
        },
      },
    });
    this.table.addResourceDependency(props.database);
  }
}
