/**
 * The insights table's columns: one definition for both engines.
 *
 * The Glue table over Trailsight's own insights in the archive (lib/, Athena) and the local DuckDB table
 * `trailsight query` builds from Insights records (lambda/) both come from this list, so the queries under
 * `queries/insights/` run unchanged on either. The columns are the top-level fields of a CloudTrail Insights
 * record plus Trailsight's `trailsight` extension (docs/detection.md); `insightdetails` and `trailsight` are
 * JSON text, read with `json_extract_scalar`, because their shape varies by insight type and detector.
 *
 * Pure data: this module may be imported from every room (lib/, lambda/, cli/, test/).
 */
import { CLOUDTRAIL_PARTITION_KEYS, type TableColumn } from './cloudtrail-table';

/** Name of the insights table in the Glue database and of the local DuckDB table. */
export const INSIGHTS_TABLE_NAME = 'trailsight_insights';

/**
 * Columns of the insights table: the Insights record's top-level fields, with `insightdetails` and the
 * `trailsight` extension as JSON text (read with json_extract_scalar).
 */
export const INSIGHTS_COLUMNS: readonly TableColumn[] = [
  { name: 'eventversion', type: 'string' },
  { name: 'eventtime', type: 'string' },
  { name: 'awsregion', type: 'string' },
  { name: 'eventid', type: 'string' },
  { name: 'eventtype', type: 'string' },
  { name: 'eventcategory', type: 'string' },
  { name: 'recipientaccountid', type: 'string' },
  { name: 'sharedeventid', type: 'string' },
  { name: 'insightdetails', type: 'string' },
  { name: 'trailsight', type: 'string' },
];

/** How Insights records spell the columns (see `CLOUDTRAIL_JSON_KEYS`); `trailsight` is Trailsight's own key. */
export const INSIGHTS_JSON_KEYS: Readonly<Record<string, string>> = {
  eventversion: 'eventVersion',
  eventtime: 'eventTime',
  awsregion: 'awsRegion',
  eventid: 'eventID',
  eventtype: 'eventType',
  eventcategory: 'eventCategory',
  recipientaccountid: 'recipientAccountId',
  sharedeventid: 'sharedEventID',
  insightdetails: 'insightDetails',
  trailsight: 'trailsight',
};

/**
 * Partition columns, the same names as the CloudTrail table's so one filter works on both: `account`
 * (12 digits), `region`, and `dt` (`yyyy/MM/dd`). In the archive they are the key segments
 * `trailsight/insights/<account>/<region>/<yyyy>/<MM>/<dd>/<eventID>.json`, and `dt` is the UTC date of the
 * insight's eventTime (not a delivery date as for CloudTrail files).
 */
export const INSIGHTS_PARTITION_KEYS: readonly TableColumn[] = CLOUDTRAIL_PARTITION_KEYS;

/** Key prefix of the insights in the archive bucket; the table's location is `s3://<bucket>/<prefix>`. */
export const INSIGHTS_PREFIX = 'trailsight/insights/';
