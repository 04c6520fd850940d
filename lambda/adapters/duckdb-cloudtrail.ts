/**
 * The local query engine: DuckDB over CloudTrail files on disk, shaped exactly like the Glue table so the
 * named queries run unchanged (`trailsight query`, the query tests).
 *
 * How it is built:
 *  1. every file is read and checked on its own (`duckdb-log-files.ts`): a corrupt or foreign file is a
 *     reported skip, never the end of the load;
 *  2. each record is shaped like the Glue JsonSerDe shows it (lower-case struct fields, JSON text in the
 *     free-form string columns, `readonly` as 'true'/'false'), from `schema/cloudtrail-table.ts`, and given
 *     the partition columns `account`, `region`, `dt` of its file (from the S3 name/path; for files outside
 *     the CloudTrail layout from the record: recipientAccountId, awsRegion, the eventTime's date);
 *  3. the rows go through one JSON Lines file into DuckDB's `read_json` with the table's explicit column
 *     types, then a view `cloudtrail_logs` (Insights records go to `trailsight_insights` instead);
 *  4. a few macros give DuckDB the Trino functions the library uses (see {@link TRINO_COMPAT_MACROS}).
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import {
  CLOUDTRAIL_COLUMNS,
  CLOUDTRAIL_PARTITION_KEYS,
  CLOUDTRAIL_TABLE_NAME,
  type TableColumn,
} from '../../schema/cloudtrail-table';
import { INSIGHTS_COLUMNS, INSIGHTS_PARTITION_KEYS, INSIGHTS_TABLE_NAME } from '../../schema/insights-table';
import { conform, duckdbType, type HiveType, parseHiveType } from './duckdb-hive-types';
import { type FilePartition, readLogFile, type SkippedFile } from './duckdb-log-files';
import { listLocalFiles } from './local-files';

/** Re-exported for the modules that imported them from here before they moved to `schema/insights-table.ts`. */
export { INSIGHTS_COLUMNS, INSIGHTS_TABLE_NAME };

/** DuckDB's default is 16 MB; one JSON Lines row never nears it, but a large record must not fail the load. */
export const MAXIMUM_OBJECT_SIZE = 256 * 1024 * 1024;

/**
 * Trino functions the library uses that DuckDB lacks or spells differently. Each keeps Trino's meaning:
 * `json_extract_scalar` returns NULL for objects and arrays (DuckDB's json_extract_string would return
 * their text); `from_iso8601_timestamp` returns a UTC timestamp with time zone.
 */
export const TRINO_COMPAT_MACROS: readonly string[] = [
  `CREATE OR REPLACE MACRO json_extract_scalar(j, p) AS
     CASE WHEN json_type(j, p) IN ('OBJECT', 'ARRAY') THEN NULL ELSE json_extract_string(j, p) END`,
  'CREATE OR REPLACE MACRO from_iso8601_timestamp(s) AS CAST(s AS TIMESTAMPTZ)',
  'CREATE OR REPLACE MACRO regexp_like(s, p) AS regexp_matches(s, p)',
  'CREATE OR REPLACE MACRO json_format(j) AS CAST(j AS VARCHAR)',
  "CREATE OR REPLACE MACRO to_iso8601(t) AS strftime(t, '%Y-%m-%dT%H:%M:%SZ')",
  'CREATE OR REPLACE MACRO to_unixtime(t) AS epoch(t)',
  'CREATE OR REPLACE MACRO array_join(l, sep) AS array_to_string(l, sep)',
];

export interface LoadReport {
  /** Files whose records were loaded. */
  readonly files: number;
  /** Rows in `cloudtrail_logs`. */
  readonly records: number;
  /** Rows in `trailsight_insights`. */
  readonly insightRecords: number;
  /** Files that could not be used, with the reason (corrupt gzip, not JSON, wrong shape, ...). */
  readonly skipped: readonly SkippedFile[];
  /** Files that are expected beside logs but hold no events (digests). */
  readonly ignored: readonly SkippedFile[];
  /** Paths given that do not exist. */
  readonly missing: readonly string[];
  /** First and last eventTime loaded (both tables), when anything was loaded. */
  readonly span?: { readonly first: string; readonly last: string };
}

export interface QueryResult {
  readonly columns: readonly string[];
  /** Plain JS values: strings, numbers (BIGINTs beyond 2^53 stay strings), booleans, null, arrays, objects. */
  readonly rows: readonly Record<string, unknown>[];
}

/** Raised when nothing usable was found; the report says what was seen. */
export class NoLogsError extends Error {
  override readonly name = 'NoLogsError';
  constructor(
    message: string,
    readonly report: LoadReport,
  ) {
    super(message);
  }
}

interface TableSpec {
  readonly name: string;
  readonly columns: readonly { readonly name: string; readonly type: HiveType }[];
}

const parsed = (cols: readonly TableColumn[]) => cols.map((c) => ({ name: c.name, type: parseHiveType(c.type) }));
const CLOUDTRAIL: TableSpec = {
  name: CLOUDTRAIL_TABLE_NAME,
  columns: [...parsed(CLOUDTRAIL_COLUMNS), ...parsed(CLOUDTRAIL_PARTITION_KEYS)],
};
const INSIGHTS: TableSpec = {
  name: INSIGHTS_TABLE_NAME,
  columns: [...parsed(INSIGHTS_COLUMNS), ...parsed(INSIGHTS_PARTITION_KEYS)],
};

/** A DuckDB database holding the `cloudtrail_logs` and `trailsight_insights` views over local files. */
export class LocalCloudTrail {
  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly connection: DuckDBConnection,
    readonly report: LoadReport,
  ) {}

  /**
   * Loads every CloudTrail file under `paths` (directories are walked to any depth). Throws
   * {@link NoLogsError} when no record at all could be loaded; otherwise skipped files are in `report`.
   */
  static async open(paths: readonly string[]): Promise<LocalCloudTrail> {
    const missing = paths.filter((p) => !existsSync(p));
    const files = (await listLocalFiles(paths.filter((p) => existsSync(p))))
      .filter((f) => f.format !== 'other' || /\.gz$/i.test(f.path))
      .map((f) => f.path);
    const skipped: SkippedFile[] = [];
    const ignored: SkippedFile[] = [];
    const events: string[] = [];
    const insights: string[] = [];
    let used = 0;
    let first: string | undefined;
    let last: string | undefined;
    for (const path of files) {
      const result = readLogFile(path);
      if (!result.ok) {
        (result.benign ? ignored : skipped).push({ path: result.path, reason: result.reason, benign: result.benign });
        continue;
      }
      used++;
      for (const record of result.file.records) {
        const isInsight = record.eventType === 'AwsCloudTrailInsight' || 'insightDetails' in record;
        const spec = isInsight ? INSIGHTS : CLOUDTRAIL;
        (isInsight ? insights : events).push(JSON.stringify(toRow(record, spec, result.file.partition)));
        const t = record.eventTime as string;
        if (first === undefined || t < first) first = t;
        if (last === undefined || t > last) last = t;
      }
    }
    const report: LoadReport = {
      files: used,
      records: events.length,
      insightRecords: insights.length,
      skipped,
      ignored,
      missing,
      ...(first && last ? { span: { first, last } } : {}),
    };
    if (events.length + insights.length === 0) {
      const seen =
        files.length === 0 ? 'no candidate files (.json, .json.gz, .jsonl)' : `${files.length} file(s), none usable`;
      throw new NoLogsError(`no CloudTrail records found under ${paths.join(', ')}: ${seen}`, report);
    }

    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    const engine = new LocalCloudTrail(instance, connection, report);
    const dir = mkdtempSync(join(tmpdir(), 'trailsight-duckdb-'));
    try {
      await connection.run("SET TimeZone = 'UTC'");
      for (const macro of TRINO_COMPAT_MACROS) await connection.run(macro);
      await engine.createTable(CLOUDTRAIL, events, dir);
      await engine.createTable(INSIGHTS, insights, dir);
    } catch (err) {
      engine.close();
      throw err;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    return engine;
  }

  /** Runs one SQL statement and returns its rows as plain values. */
  async query(sql: string): Promise<QueryResult> {
    const reader = await this.connection.runAndReadAll(sql);
    const columns = reader.columnNames();
    const rows = reader.getRowObjectsJS().map((r) => {
      const out: Record<string, unknown> = {};
      for (const c of columns) out[c] = plain(r[c]);
      return out;
    });
    return { columns, rows };
  }

  close(): void {
    this.connection.closeSync();
    this.instance.closeSync();
  }

  private async createTable(spec: TableSpec, rows: readonly string[], dir: string): Promise<void> {
    const columns = spec.columns.map((c) => `'${c.name}': '${duckdbType(c.type).replaceAll("'", "''")}'`).join(', ');
    const store = `_${spec.name}_rows`;
    const select = spec.columns.map((c) => `"${c.name}"`).join(', ');
    if (rows.length === 0) {
      // read_json cannot infer from an empty file even with explicit columns; build the empty table directly.
      const defs = spec.columns.map((c) => `"${c.name}" ${duckdbType(c.type)}`).join(', ');
      await this.connection.run(`CREATE TABLE ${store} (${defs})`);
    } else {
      const file = join(dir, `${spec.name}.jsonl`);
      writeFileSync(file, `${rows.join('\n')}\n`);
      await this.connection.run(
        `CREATE TABLE ${store} AS SELECT ${select} FROM read_json('${file.replaceAll("'", "''")}', ` +
          `format = 'newline_delimited', columns = {${columns}}, maximum_object_size = ${MAXIMUM_OBJECT_SIZE})`,
      );
    }
    await this.connection.run(`CREATE VIEW ${spec.name} AS SELECT ${select} FROM ${store}`);
  }
}

/** One row of a table: every column conformed to its Glue type, partitions from the file or the record. */
function toRow(
  record: Record<string, unknown>,
  spec: TableSpec,
  partition: FilePartition | undefined,
): Record<string, unknown> {
  const byLower = new Map<string, unknown>();
  for (const [k, v] of Object.entries(record)) byLower.set(k.toLowerCase(), v);
  const p = partition ?? recordPartition(record);
  const row: Record<string, unknown> = {};
  for (const c of spec.columns) {
    if (c.name === 'account' || c.name === 'region' || c.name === 'dt') row[c.name] = p[c.name];
    else row[c.name] = conform(byLower.get(c.name), c.type);
  }
  return row;
}

function recordPartition(record: Record<string, unknown>): FilePartition {
  const identity = record.userIdentity as { accountId?: unknown } | undefined;
  const account = record.recipientAccountId ?? identity?.accountId;
  return {
    account: typeof account === 'string' ? account : 'unknown',
    region: typeof record.awsRegion === 'string' ? record.awsRegion : 'unknown',
    dt: String(record.eventTime).slice(0, 10).replaceAll('-', '/'),
  };
}

function plain(v: unknown): unknown {
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (v instanceof Date) return v.toISOString();
  if (Array.isArray(v)) return v.map(plain);
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = plain(x);
    return out;
  }
  return v;
}
