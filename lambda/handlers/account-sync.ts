/**
 * Account sync, invoked by EventBridge Scheduler (hourly) and by the analytics stack's own deployments (a
 * deployment writes the tables' account lists back to the configured ones): lists the account folders of the archive
 * and adds the accounts the tables' `projection.account.values` lack (docs/queries.md, "Organization tables").
 * The event's content is not read: every run does the same whole sync.
 */
import { GlueClient } from '@aws-sdk/client-glue';
import { S3Client } from '@aws-sdk/client-s3';
import type { Context } from 'aws-lambda';
import { ACCOUNT_SYNC_ENV } from '../../schema/analytics-contract';
import { GlueAccountProjection, TableChangedError } from '../adapters/glue-account-projection';
import { S3ArchiveReader } from '../adapters/s3-archive-reader';
import { accountsUnder, withAccounts } from '../core/account-projection';
import { logger, tracer } from './powertools';

export interface AccountSyncSettings {
  readonly archiveBucket: string;
  readonly accountsRoot: string;
  readonly database: string;
  readonly tables: readonly string[];
}

export interface AccountSyncPorts {
  readonly settings: AccountSyncSettings;
  readonly archive: { listFolders(prefix: string): Promise<string[]> };
  readonly tables: Pick<GlueAccountProjection, 'read' | 'write'>;
}

/** What one run found and changed. */
export interface AccountSyncResult {
  /** Accounts found in the archive. */
  readonly accounts: number;
  /** Accounts added, per table (tables left unchanged are absent). */
  readonly added: Readonly<Record<string, readonly string[]>>;
  /** Tables not synced because their account partition is not an `enum` (set by hand: left alone). */
  readonly skipped: readonly string[];
}

/** Writes after a concurrent change: the table is read again each time. */
const ATTEMPTS = 3;

export function readAccountSyncSettings(env: NodeJS.ProcessEnv = process.env): AccountSyncSettings {
  const required = (name: string) => {
    const value = env[name];
    if (!value) throw new Error(`environment variable ${name} is not set; the TrailsightAnalytics stack sets it`);
    return value;
  };
  const accountsRoot = required(ACCOUNT_SYNC_ENV.accountsRoot);
  if (!accountsRoot.endsWith('AWSLogs/') && !/AWSLogs\/o-[a-z0-9]+\/$/.test(accountsRoot))
    throw new Error(`${ACCOUNT_SYNC_ENV.accountsRoot} = ${accountsRoot}: must end in AWSLogs/ or AWSLogs/<o-id>/`);
  return {
    archiveBucket: required(ACCOUNT_SYNC_ENV.archiveBucket),
    accountsRoot,
    database: required(ACCOUNT_SYNC_ENV.database),
    tables: required(ACCOUNT_SYNC_ENV.tables)
      .split(',')
      .map((t) => t.trim())
      .filter(Boolean),
  };
}

/** One sync: list the accounts once, then bring each table up to them. */
export async function syncAccounts(ports: AccountSyncPorts): Promise<AccountSyncResult> {
  const { settings } = ports;
  const accounts = accountsUnder(await ports.archive.listFolders(settings.accountsRoot), settings.accountsRoot);
  const added: Record<string, readonly string[]> = {};
  const skipped: string[] = [];
  for (const name of settings.tables) {
    for (let attempt = 1; ; attempt++) {
      const read = await ports.tables.read(name);
      if (read.type !== 'enum') {
        skipped.push(name);
        break;
      }
      const change = withAccounts(read.values, accounts);
      if (!change) break;
      try {
        await ports.tables.write(read, change.values);
        added[name] = change.added;
        break;
      } catch (error) {
        if (!(error instanceof TableChangedError) || attempt === ATTEMPTS) throw error;
      }
    }
  }
  return { accounts: accounts.length, added, skipped };
}

export function createAccountSyncHandler(portsFactory: () => AccountSyncPorts) {
  let ports: AccountSyncPorts | undefined;
  return async (_event: unknown, context: Context): Promise<AccountSyncResult> => {
    logger.addContext(context);
    ports ??= portsFactory();
    const result = await syncAccounts(ports);
    if (result.skipped.length > 0)
      logger.warn('tables left alone: their account partition is not an enum', { skipped: result.skipped });
    logger.info('accounts synced', { ...result });
    return result;
  };
}

/** The Lambda entry point. */
export const handler = createAccountSyncHandler(() => {
  const settings = readAccountSyncSettings();
  return {
    settings,
    archive: new S3ArchiveReader(tracer.captureAWSv3Client(new S3Client({})), settings.archiveBucket),
    tables: new GlueAccountProjection(tracer.captureAWSv3Client(new GlueClient({})), settings.database),
  };
});
