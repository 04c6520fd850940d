/**
 * The `account` partition values of Glue tables with partition projection: read with GetTable, written with
 * UpdateTable, which replaces the whole table definition, so the definition read is written back with one parameter
 * changed, at the version read (a table changed in between, by a deployment, fails the write instead of being undone).
 */
import {
  ConcurrentModificationException,
  GetTableCommand,
  type GlueClient,
  type Table,
  type TableInput,
  UpdateTableCommand,
} from '@aws-sdk/client-glue';
import { ACCOUNT_VALUES_PARAMETER } from '../../schema/analytics-contract';

/** Parameter holding the account column's projection type. */
export const ACCOUNT_TYPE = 'projection.account.type';

/** One table's account projection, as read. */
export interface AccountProjectionRead {
  /** `projection.account.type` (`enum` is the only type the sync writes to). */
  readonly type?: string;
  /** `projection.account.values`. */
  readonly values?: string;
  /** The table as read, written back by {@link GlueAccountProjection.write}. */
  readonly table: Table;
}

/** Raised when the table changed between the read and the write; read again and retry. */
export class TableChangedError extends Error {
  override readonly name = 'TableChangedError';
}

export class GlueAccountProjection {
  constructor(
    private readonly glue: GlueClient,
    readonly database: string,
  ) {}

  async read(tableName: string): Promise<AccountProjectionRead> {
    const { Table: table } = await this.glue.send(
      new GetTableCommand({ DatabaseName: this.database, Name: tableName }),
    );
    if (!table) throw new Error(`Glue returned no table ${this.database}.${tableName}`);
    return { type: table.Parameters?.[ACCOUNT_TYPE], values: table.Parameters?.[ACCOUNT_VALUES_PARAMETER], table };
  }

  async write(read: AccountProjectionRead, values: string): Promise<void> {
    try {
      await this.glue.send(
        new UpdateTableCommand({
          DatabaseName: this.database,
          TableInput: tableInputOf(read.table, { ...read.table.Parameters, [ACCOUNT_VALUES_PARAMETER]: values }),
          VersionId: read.table.VersionId,
        }),
      );
    } catch (error) {
      if (error instanceof ConcurrentModificationException)
        throw new TableChangedError(`${this.database}.${read.table.Name} changed since it was read`);
      throw error;
    }
  }
}

/**
 * The writable part of a table as GetTable returns it (GetTable adds read-only fields UpdateTable rejects: the
 * database, times, version, creator, catalog), with `parameters` in place of its parameters. The tables synced are
 * Trailsight's external tables: no views, no federated or Iceberg tables.
 */
export function tableInputOf(table: Table, parameters: Record<string, string>): TableInput {
  return {
    Name: table.Name,
    Description: table.Description,
    Owner: table.Owner,
    Retention: table.Retention,
    StorageDescriptor: table.StorageDescriptor,
    PartitionKeys: table.PartitionKeys,
    TableType: table.TableType,
    TargetTable: table.TargetTable,
    Parameters: parameters,
  };
}
