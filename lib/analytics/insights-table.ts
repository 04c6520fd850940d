import { aws_glue as glue, Stack } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import {
  INSIGHTS_COLUMNS,
  INSIGHTS_PARTITION_KEYS,
  INSIGHTS_PREFIX,
  INSIGHTS_TABLE_NAME,
} from '../../schema/insights-table';
import { accountRegionDateProjection, type PartitionProjectionProps } from './cloudtrail-table';

/**
 * The SerDe of the insights table. OpenX, not the Hive JSON SerDe the CloudTrail table uses: `insightdetails`
 * and `trailsight` are JSON objects in the files but `string` columns (so the one SQL with
 * `json_extract_scalar` runs on Athena and DuckDB), and OpenX returns an object in a string column as its JSON
 * text, while Athena's Hive JSON SerDe rejects it ("value must be a scalar json value"). (The CloudTrail table
 * keeps the Hive SerDe behind CloudTrailInputFormat, as in the Athena guide.)
 */
export const INSIGHTS_SERDE = 'org.openx.data.jsonserde.JsonSerDe';

/** Where the insights are and which partitions exist; input of {@link insightsProjection}. */
export interface InsightsProjectionProps extends PartitionProjectionProps {
  /** Name of the bucket holding the insights (the insights bucket next to the archive). */
  readonly bucketName: string;
  /**
   * Key prefix of the insights in the bucket, ending in `/`.
   * @default 'trailsight/insights/'
   */
  readonly prefix?: string;
}

/**
 * Table parameters for partition projection over `<prefix><account>/<region>/<yyyy>/<MM>/<dd>/`, the key
 * layout the insight archive writes. The partition columns have the CloudTrail table's names and formats;
 * here `dt` is the UTC date of the insight's eventTime.
 */
export function insightsProjection(props: InsightsProjectionProps): {
  location: string;
  parameters: Record<string, string>;
} {
  const prefix = props.prefix ?? INSIGHTS_PREFIX;
  if (prefix.startsWith('/') || !prefix.endsWith('/'))
    throw new Error(`insightsProjection: prefix "${prefix}" must not start with "/" and must end with "/"`);
  const root = `s3://${props.bucketName}/${prefix}`;
  const parameters: Record<string, string> = {
    classification: 'json',
    ...accountRegionDateProjection(props, 'insightsProjection'),
    'storage.location.template': `${root}\${account}/\${region}/\${dt}`,
  };
  return { location: root, parameters };
}

/** Properties of an {@link InsightsTable}. */
export interface InsightsTableProps extends InsightsProjectionProps {
  /** The Glue database holding the table. */
  readonly database: glue.CfnDatabase;
}

/**
 * Defines the Glue table over the insights Trailsight writes to the insights bucket, with partition projection.
 *
 * One single-line JSON object per S3 object (`TextInputFormat`, OpenX JSON SerDe, see {@link INSIGHTS_SERDE});
 * columns and partition keys come from `schema/insights-table.ts`, the single source shared with the local
 * DuckDB table, so `queries/insights/` runs on both. Projection means no crawler and no `MSCK REPAIR TABLE`.
 */
export class InsightsTable extends Construct {
  /** The table. */
  readonly table: glue.CfnTable;
  /** Name of the table, `trailsight_insights`. */
  readonly tableName: string = INSIGHTS_TABLE_NAME;

  constructor(scope: Construct, id: string, props: InsightsTableProps) {
    super(scope, id);
    const { location, parameters } = insightsProjection(props);
    this.table = new glue.CfnTable(this, 'Resource', {
      catalogId: Stack.of(this).account,
      databaseName: props.database.ref,
      tableInput: {
        name: INSIGHTS_TABLE_NAME,
        description: 'Insights Trailsight emitted, in the insights bucket (partition projection: account, region, dt)',
        tableType: 'EXTERNAL_TABLE',
        parameters: { EXTERNAL: 'TRUE', ...parameters },
        partitionKeys: INSIGHTS_PARTITION_KEYS.map(({ name, type }) => ({ name, type })),
        storageDescriptor: {
          location,
          columns: INSIGHTS_COLUMNS.map(({ name, type }) => ({ name, type })),
          inputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
          outputFormat: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
          // Malformed JSON stays an error (the default): a corrupt insight must fail the query, not vanish.
          serdeInfo: { serializationLibrary: INSIGHTS_SERDE, parameters: { 'case.insensitive': 'TRUE' } },
        },
      },
    });
    this.table.addResourceDependency(props.database);
  }
}
