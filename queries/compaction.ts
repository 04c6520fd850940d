/**
 * The compaction statement: one delivery day of one account of the JSON table `cloudtrail_logs`, rewritten into
 * the compacted Parquet table `cloudtrail_parquet` with `dt` turned from `yyyy/MM/dd` into the Hive date
 * `yyyy-MM-dd` (schema/cloudtrail-table.ts says why). One definition for the deployed compaction (Athena, run by
 * lib/analytics/compaction.ts) and the tests, which run its SELECT on DuckDB and parse it as Trino SQL.
 *
 * Pure: node built-ins and the schema only, so the CDK app, the CLI and the tests can import it.
 */
import { CLOUDTRAIL_COLUMNS, CLOUDTRAIL_PARQUET_TABLE_NAME, CLOUDTRAIL_TABLE_NAME } from '../schema/cloudtrail-table';

/**
 * The SELECT of one account's delivery day, in the compacted table's column order (data columns, then `account`,
 * `region`, `dt`). `dt` and `account` are SQL expressions: quoted literals (see `sqlString` in catalog.ts), or
 * placeholders the caller substitutes. Filtering on the partition columns with literals lets partition
 * projection read that one day of that one account.
 */
export function compactionSelect(dtExpression: string, accountExpression: string, database?: string): string {
  const table = database ? `"${database}"."${CLOUDTRAIL_TABLE_NAME}"` : CLOUDTRAIL_TABLE_NAME;
  const columns = CLOUDTRAIL_COLUMNS.map((c) => `"${c.name}"`).join(', ');
  return (
    `SELECT ${columns}, account, region, replace(dt, '/', '-') AS dt FROM ${table} ` +
    `WHERE dt = ${dtExpression} AND account = ${accountExpression}`
  );
}

/** The INSERT Athena runs: {@link compactionSelect} into `cloudtrail_parquet` of the same database. */
export function compactionInsert(database: string, dtExpression: string, accountExpression: string): string {
  return (
    `INSERT INTO "${database}"."${CLOUDTRAIL_PARQUET_TABLE_NAME}" ` +
    compactionSelect(dtExpression, accountExpression, database)
  );
}
