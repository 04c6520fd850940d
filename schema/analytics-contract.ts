/**
 * The contract between the analytics stack's account sync (lib/analytics/account-sync.ts) and its function
 * (lambda/handlers/account-sync.ts): environment variable names. One definition, imported by both sides.
 *
 * Pure data: this module may be imported from every room (lib/, lambda/, cli/, test/).
 */

/** Environment variables of the account sync function. */
export const ACCOUNT_SYNC_ENV = {
  /** The archive bucket whose account folders are listed. */
  archiveBucket: 'ARCHIVE_BUCKET_NAME',
  /** The folder holding one folder per account, `[<prefix>/]AWSLogs/[<o-id>/]`. */
  accountsRoot: 'ACCOUNTS_ROOT',
  /** The Glue database of the tables. */
  database: 'GLUE_DATABASE_NAME',
  /** The tables whose `projection.account.values` follow the archive, comma-separated. */
  tables: 'GLUE_TABLE_NAMES',
} as const;

/** The Glue table parameter holding the projected account IDs, comma-separated (Athena partition projection). */
export const ACCOUNT_VALUES_PARAMETER = 'projection.account.values';
