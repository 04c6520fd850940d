/**
 * The `account` partition of an organization's tables, kept current from the archive (docs/queries.md,
 * "Organization tables"): the account folders under `[<prefix>/]AWSLogs/[<o-id>/]` become the values of the tables'
 * `projection.account.values`, so every query runs across all accounts without naming one.
 *
 * Pure: the handler lists the folders and reads and writes the tables.
 */

/** The Glue limit of one table parameter value, in bytes (a 12-digit account and its comma take 13). */
export const MAX_PARAMETER_BYTES = 512_000;

const ACCOUNT = /^\d{12}$/;

/**
 * The 12-digit account IDs of `folders` (keys ending in `/`) directly under `root`, sorted and unique; other
 * folders (an `o-…` folder next to the accounts, `Config/`, anything else the bucket holds) are not accounts.
 */
export function accountsUnder(folders: readonly string[], root: string): string[] {
  const accounts = new Set<string>();
  for (const folder of folders) {
    if (!folder.startsWith(root) || !folder.endsWith('/')) continue;
    const name = folder.slice(root.length, -1);
    if (ACCOUNT.test(name)) accounts.add(name);
  }
  return [...accounts].sort();
}

/** What the sync changes in one table. */
export interface AccountValuesChange {
  /** The new `projection.account.values`. */
  readonly values: string;
  /** The accounts it adds. */
  readonly added: readonly string[];
}

/**
 * The table's new account values: the current ones, in their order, followed by the listed accounts it lacks; or
 * undefined when it lacks none. Never drops an account: a folder that went away (its files expired) still has nothing
 * to read, and the accounts a deployment wrote stay.
 *
 * @throws Error when the list would exceed the Glue limit of a parameter value
 */
export function withAccounts(current: string | undefined, listed: readonly string[]): AccountValuesChange | undefined {
  const have = (current ?? '')
    .split(',')
    .map((a) => a.trim())
    .filter((a) => a !== '');
  const known = new Set(have);
  const added = [...new Set(listed)].filter((a) => !known.has(a)).sort();
  if (added.length === 0) return undefined;
  const values = [...have, ...added].join(',');
  if (values.length > MAX_PARAMETER_BYTES) {
    throw new Error(
      `${have.length + added.length} accounts make projection.account.values ${values.length} bytes, over the Glue limit of ${MAX_PARAMETER_BYTES}; list the accounts to query in analytics.accountIds instead`,
    );
  }
  return { values, added };
}
