/**
 * The local query engine: DuckDB over CloudTrail files on disk, shaped exactly like the Glue tables so the
 * named queries run unchanged (`trailsight query`, `trailsight index`, the query tests). Nothing is loaded
 * up front: every query reads the files again, so memory does not grow with the tree.
 *
 * How a query runs:
 *  1. DuckDB parses the statement (`json_serialize_sql`) and `duckdb-columns.ts` says which columns and struct
 *     fields of `cloudtrail_logs` / `trailsight_insights` it reads, and which days (`partitionRanges`: the
 *     delivery files of other days are left out, as Athena's projection leaves out other `dt` partitions);
 *  2. the views are (re)defined for this statement: CloudTrail delivery files are read by DuckDB's own
 *     `read_json` (in parallel, across files), declaring only the fields the statement reads, with CloudTrail's
 *     key spellings (`schema/*.ts`), renamed to the Glue names; `account`, `region`, `dt` come from the file
 *     name as the Glue table's projection takes them from the key; columns the statement never reads are typed
 *     NULLs, so the views always have exactly the Glue tables' columns and types;
 *  3. every other file (exports, arrays, single records, JSON Lines, tiny or oddly named deliveries) was read
 *     once at open by the tolerant reader (`duckdb-log-files.ts`), shaped like the Glue JsonSerDe shows a record
 *     (`duckdb-hive-types.ts`), and written to a JSON Lines file in a temporary directory, read the same way;
 *  4. if DuckDB refuses a delivery file (corrupt gzip, broken JSON, a field of the wrong type), the error names
 *     it: the file moves to the tolerant reader, which either reads what the SerDe would show or reports why it
 *     cannot, and the statement runs again. A file is never silently dropped.
 *
 * Why DuckDB reads the files rather than being fed by the ingest core's reader: measured on a 28-day, two-account
 * tree (docs/queries.md), feeding the same rows through DuckDB's appender took 5–8× as long as
 * `read_json` over the files and held the whole table in memory; `read_json` parallelizes across files and
 * streams.
 */
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, resolve, sep } from 'node:path';
import { type DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import {
  CLOUDTRAIL_COLUMNS,
  CLOUDTRAIL_JSON_KEYS,
  CLOUDTRAIL_PARQUET_TABLE_NAME,
  CLOUDTRAIL_PARTITION_KEYS,
  CLOUDTRAIL_TABLE_NAME,
  type TableColumn,
} from '../../schema/cloudtrail-table';
import {
  INSIGHTS_COLUMNS,
  INSIGHTS_JSON_KEYS,
  INSIGHTS_PARTITION_KEYS,
  INSIGHTS_TABLE_NAME,
} from '../../schema/insights-table';
import { parseEventTime } from '../core/normalize';
import { type ColumnUse, columnUse, type PartitionRange, partitionRanges } from './duckdb-columns';
import {
  conform,
  duckdbType,
  type FieldUse,
  type HiveType,
  parseHiveType,
  prunedDuckdbType,
} from './duckdb-hive-types';
import type { TrailIndex } from './duckdb-index';
import { type FilePartition, partitionOfKey, readLogFile, type SkippedFile } from './duckdb-log-files';
import { inputRole, type LocalFile, type PathProblem, scanLocalPaths, sizeOf } from './local-files';

/** DuckDB's default is 16 MB; a CloudTrail file (one JSON object) can be far larger. */
export const MAXIMUM_OBJECT_SIZE = 1024 * 1024 * 1024;

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

/**
 * Delivery files smaller than this go to the tolerant reader: DuckDB reads an empty file, or a gzip cut off
 * before its first complete block, as zero rows without an error, and a delivery with one event is larger.
 */
const NATIVE_MIN_BYTES = 128;
/** DuckDB reads file names as glob patterns: names with these characters go to the tolerant reader. */
const GLOB_CHARACTERS = /[*?[\]{}]/;
/** Where {@link LocalCloudTrail.stream} puts a statement's result before handing it on. */
const RESULT_TABLE = '_trailsight_result';
/** A statement re-run after DuckDB refuses a file; past this, every delivery file is checked first. */
const MAX_REROUTES_BEFORE_CHECK = 3;

export interface EngineReport {
  /** Delivery files DuckDB reads itself at each query. */
  readonly deliveryFiles: number;
  /** Other files, read once by the tolerant reader (exports, odd shapes, files DuckDB refused). */
  readonly otherFiles: number;
  /** Rows the tolerant reader loaded (delivery files are read at each query and not counted). */
  readonly otherRecords: number;
  /** Files that could not be read (corrupt, truncated, too large), with the reason. */
  readonly unreadable: readonly SkippedFile[];
  /** Files that turned out not to be CloudTrail's (JSON of another shape, not JSON). */
  readonly notCloudTrail: readonly SkippedFile[];
  /** Digest files (ignored: they hold no events). */
  readonly digests: number;
  /** Paths that could not be listed (only when the engine listed them itself). */
  readonly problems: readonly PathProblem[];
  /**
   * A time window holding every event: from the delivery times in the file names (an event is delivered within
   * minutes of the call, rarely hours: the window starts a day before the first delivery) and the exact event
   * times of the other files. Absent when there is no file to read.
   */
  readonly window?: { readonly start: Date; readonly end: Date };
}

export interface QueryResult {
  readonly columns: readonly string[];
  /** Plain JS values: strings, numbers (BIGINTs beyond 2^53 stay strings), booleans, null, arrays, objects. */
  readonly rows: readonly Record<string, unknown>[];
}

/** Receives a streamed result: the column names once, then the rows in batches. */
export interface ResultSink {
  columns(names: readonly string[]): void;
  rows(batch: Record<string, unknown>[]): void;
}

export interface EngineOptions {
  /**
   * DuckDB's memory limit (e.g. `'1GB'`); past it, joins, sorts and aggregations spill to the temporary
   * directory.
   * @default - DuckDB's default, 80% of the machine's memory
   */
  readonly memoryLimit?: string;
  /**
   * Worker threads DuckDB uses.
   * @default - one per core
   */
  readonly threads?: number;
}

interface TableSpec {
  readonly name: string;
  readonly columns: readonly { readonly name: string; readonly type: HiveType }[];
  /** CloudTrail's spelling of each column and field path. */
  readonly keys: Readonly<Record<string, string>>;
}

const parsed = (cols: readonly TableColumn[]) => cols.map((c) => ({ name: c.name, type: parseHiveType(c.type) }));
const CLOUDTRAIL: TableSpec = {
  name: CLOUDTRAIL_TABLE_NAME,
  columns: [...parsed(CLOUDTRAIL_COLUMNS), ...parsed(CLOUDTRAIL_PARTITION_KEYS)],
  keys: CLOUDTRAIL_JSON_KEYS,
};
const INSIGHTS: TableSpec = {
  name: INSIGHTS_TABLE_NAME,
  columns: [...parsed(INSIGHTS_COLUMNS), ...parsed(INSIGHTS_PARTITION_KEYS)],
  keys: INSIGHTS_JSON_KEYS,
};
const TABLES = [CLOUDTRAIL, INSIGHTS];
const PARTITION_COLUMNS = new Set(CLOUDTRAIL_PARTITION_KEYS.map((c) => c.name));

/** The table a file's records go to when DuckDB reads it itself, or undefined for the tolerant reader. */
function deliveryTable(f: LocalFile): TableSpec | undefined {
  if (f.info.kind !== 'log' && f.info.kind !== 'insight') return undefined;
  if (sizeOf(f) < NATIVE_MIN_BYTES || GLOB_CHARACTERS.test(f.path)) return undefined;
  return f.info.kind === 'log' ? CLOUDTRAIL : INSIGHTS;
}

/**
 * Absolute paths of listed files, as `resolve` gives them. The listing's paths under an absolute root are absolute
 * and normalized already; under a relative root, each directory is resolved once for all its files (the listing
 * gives a directory's files one after another; `resolve` per file was a fifth of the time DuckDB's file list took).
 */
export class AbsolutePaths {
  private dir: string | undefined;
  /** `dir` resolved, ending with a separator. */
  private prefix = '';

  of(path: string): string {
    if (isAbsolute(path)) return path;
    const cut = path.lastIndexOf(sep);
    if (cut < 0) return resolve(path);
    const dir = path.slice(0, cut);
    if (dir !== this.dir) {
      this.dir = dir;
      const resolved = resolve(dir);
      this.prefix = resolved.endsWith(sep) ? resolved : `${resolved}${sep}`;
    }
    return `${this.prefix}${path.slice(cut + 1)}`;
  }
}

/**
 * Every delivery file DuckDB reads, in listing order (`n`), with the table it feeds and its partition values,
 * computed here by `partitionOf` (the ingest core's key parser, as the Glue projection reads the key): cheaper
 * than computing them in SQL, which DuckDB evaluates per row once the records are unnested.
 */
const FILES_TABLE = '_trailsight_files';

const sqlString = (s: string) => `'${s.replaceAll("'", "''")}'`;
const filesVariable = (spec: TableSpec) => `trailsight_${spec.name}_files`;
/**
 * The files one statement reads from one table, numbered as `read_json` numbers them (`file_index`, the position
 * in its list), so their partition values join to the rows on an integer rather than on the file name (measured:
 * about 3% of a statement's CPU on the 28-day tree, and no file name carried by every row).
 */
const statementFiles = (spec: TableSpec) => `_trailsight_${spec.name}_read`;
const ident = (s: string) => `"${s.replaceAll('"', '""')}"`;

/** A DuckDB database with the `cloudtrail_logs` and `trailsight_insights` views over local files. */
export class LocalCloudTrail {
  /** Delivery files DuckDB reads, by table (absolute paths; their partition values are in the files table). */
  private readonly delivery = new Map<TableSpec, Set<string>>([
    [CLOUDTRAIL, new Set()],
    [INSIGHTS, new Set()],
  ]);
  /** Changes whenever a delivery file moves to the tolerant reader, so the file lists are set again. */
  private generation = 0;
  /** Delivery files moved to the tolerant reader and not yet taken out of the files table (NUL never in a path). */
  private readonly moved: string[] = [];
  /** The file list last handed to DuckDB per table: for which files and bounds, and how many files. */
  private readonly listed = new Map<TableSpec, { key: string; count: number }>();
  private lastRead = 0;
  private readonly otherRows = new Map<TableSpec, number>([
    [CLOUDTRAIL, 0],
    [INSIGHTS, 0],
  ]);
  private readonly otherFd = new Map<TableSpec, number>();
  private readonly unreadable: SkippedFile[] = [];
  private readonly notCloudTrail: SkippedFile[] = [];
  private digests = 0;
  private otherFiles = 0;
  private first = Number.POSITIVE_INFINITY;
  private last = Number.NEGATIVE_INFINITY;
  private reroutes = 0;
  private checked = false;

  private constructor(
    private readonly instance: DuckDBInstance,
    private readonly connection: DuckDBConnection,
    private readonly dir: string,
    private readonly problems: readonly PathProblem[],
  ) {}

  /** Lists `paths` (any depth) and opens the engine over the files that hold events. Never throws for bad input. */
  static async open(paths: readonly string[], options: EngineOptions = {}): Promise<LocalCloudTrail> {
    const listing = scanLocalPaths(paths);
    const files = listing.files.filter((f) => inputRole(f) === 'events');
    const engine = await LocalCloudTrail.create(listing.problems, options);
    engine.digests = listing.files.filter((f) => inputRole(f) === 'digest').length;
    await engine.add(files);
    return engine;
  }

  /**
   * Opens the engine over a local index (`trailsight index`): the view `cloudtrail_parquet` reads the Parquet
   * files the index's manifest lists, with the compacted table's columns (`dt` as `yyyy-MM-dd`).
   */
  static async openIndex(index: TrailIndex, options: EngineOptions = {}): Promise<LocalCloudTrail> {
    const engine = await LocalCloudTrail.create([], options);
    const files = index.files;
    const span = index.span;
    if (span) engine.widen(Date.parse(span.first), Date.parse(span.last));
    const columns = CLOUDTRAIL.columns.map((c) => ident(c.name)).join(', ');
    const view =
      files.length > 0
        ? `SELECT ${columns} FROM read_parquet([${files.map(sqlString).join(', ')}], hive_partitioning = true, ` +
          "hive_types = {'account': VARCHAR, 'region': VARCHAR, 'dt': VARCHAR}, union_by_name = true)"
        : `SELECT ${CLOUDTRAIL.columns.map((c) => `CAST(NULL AS ${duckdbType(c.type)}) AS ${ident(c.name)}`).join(', ')} WHERE false`;
    await engine.connection.run(`CREATE VIEW ${ident(CLOUDTRAIL_PARQUET_TABLE_NAME)} AS ${view}`);
    return engine;
  }

  /** Opens the engine over files already listed and classified (see `cli/inputs.ts`). */
  static async openFiles(files: readonly LocalFile[], options: EngineOptions = {}): Promise<LocalCloudTrail> {
    const engine = await LocalCloudTrail.create([], options);
    await engine.add(files);
    return engine;
  }

  private static async create(problems: readonly PathProblem[], options: EngineOptions): Promise<LocalCloudTrail> {
    const dir = mkdtempSync(join(tmpdir(), 'trailsight-duckdb-'));
    let instance: DuckDBInstance | undefined;
    try {
      instance = await DuckDBInstance.create(':memory:');
      const connection = await instance.connect();
      mkdirSync(join(dir, 'spill'));
      await connection.run("SET TimeZone = 'UTC'");
      await connection.run(`SET temp_directory = ${sqlString(join(dir, 'spill'))}`);
      if (options.memoryLimit) await connection.run(`SET memory_limit = ${sqlString(options.memoryLimit)}`);
      if (options.threads) await connection.run(`SET threads = ${Math.max(1, Math.floor(options.threads))}`);
      for (const macro of TRINO_COMPAT_MACROS) await connection.run(macro);
      await connection.run(
        `CREATE TABLE ${FILES_TABLE} (n INTEGER, tbl VARCHAR, filename VARCHAR, account VARCHAR, region VARCHAR, dt VARCHAR)`,
      );
      return new LocalCloudTrail(instance, connection, dir, problems);
    } catch (err) {
      instance?.closeSync();
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  }

  get report(): EngineReport {
    const window =
      this.first <= this.last ? { start: new Date(this.first), end: new Date(this.last + 1000) } : undefined;
    return {
      deliveryFiles: [...this.delivery.values()].reduce((n, s) => n + s.size, 0),
      otherFiles: this.otherFiles,
      otherRecords: [...this.otherRows.values()].reduce((a, b) => a + b, 0),
      unreadable: this.unreadable,
      notCloudTrail: this.notCloudTrail,
      digests: this.digests,
      problems: this.problems,
      ...(window ? { window } : {}),
    };
  }

  /**
   * Delivery files the last statement was given: all of them, or those of the days its `dt` bounds allow
   * (`partitionRanges`), as Athena reads only the partitions a query's `dt` range names.
   */
  get statementFiles(): number {
    return this.lastRead;
  }

  /** Runs one SQL statement and returns its rows as plain values (small results: tests, listings). */
  async query(sql: string): Promise<QueryResult> {
    const reader = await this.withViews(sql, () => this.connection.runAndReadAll(sql));
    const columns = reader.columnNames();
    return { columns, rows: reader.getRowObjectsJS().map((r) => plainRow(r, columns)) };
  }

  /**
   * Runs a statement and hands its column names, then its rows in batches, to `sink`. The statement is computed
   * once, in full, into a temporary table (spilled to disk if large) and read back from there, so nothing reaches
   * the sink unless the whole statement succeeded (a file moved to the tolerant reader never leaves half a result
   * behind). Not a streamed DuckDB result: a statement streamed to its end took about 10% more CPU and wall time
   * than the same statement run to completion (measured on the 28-day tree, `npm run bench`).
   */
  async stream(sql: string, sink: ResultSink): Promise<void> {
    try {
      await this.withViews(sql, () =>
        this.connection.run(`CREATE OR REPLACE TEMP TABLE ${RESULT_TABLE} AS ${sql.replace(/;\s*$/, '')}`),
      );
    } catch (err) {
      // Not a query a table can hold (DESCRIBE, SHOW, PRAGMA; small answers) or not valid SQL: run as written,
      // so an error names the statement as the user wrote it.
      if (!/^Parser Error/.test((err as Error).message)) throw err;
      const { columns, rows } = await this.query(sql);
      sink.columns(columns);
      if (rows.length > 0) sink.rows([...rows]);
      return;
    }
    try {
      const result = await this.connection.stream(`SELECT * FROM ${RESULT_TABLE}`);
      const columns = result.columnNames();
      sink.columns(columns);
      for await (const batch of result.yieldRowObjectJs()) sink.rows(batch.map((r) => plainRow(r, columns)));
    } finally {
      await this.connection.run(`DROP TABLE IF EXISTS ${RESULT_TABLE}`);
    }
  }

  /** Writes `sql`'s result as Parquet (`COPY … TO`), with the views defined for it; returns the files written. */
  async copyToParquet(sql: string, dir: string, partitionBy: readonly string[]): Promise<string[]> {
    const copy = `COPY (${sql}) TO ${sqlString(dir)} (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (${partitionBy
      .map(ident)
      .join(', ')}), FILENAME_PATTERN 'part-{uuid}', APPEND, RETURN_FILES true)`;
    const reader = await this.withViews(sql, () => this.connection.runAndReadAll(copy));
    const row = reader.getRowObjectsJS()[0] as { Files?: unknown } | undefined;
    return Array.isArray(row?.Files) ? (row.Files as unknown[]).map(String) : [];
  }

  close(): void {
    for (const fd of this.otherFd.values()) closeSync(fd);
    this.otherFd.clear();
    this.connection.closeSync();
    this.instance.closeSync();
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async add(files: readonly LocalFile[]): Promise<void> {
    this.generation++;
    const appender = await this.connection.createAppender(FILES_TABLE);
    let n = 0;
    const absolute = new AbsolutePaths();
    for (const f of files) {
      const table = deliveryTable(f);
      const path = absolute.of(f.path);
      const partition = table ? partitionOfKey(f.info) : undefined;
      if (table && partition) {
        this.delivery.get(table)?.add(path);
        appender.appendInteger(n++);
        appender.appendVarchar(table.name);
        appender.appendVarchar(path);
        appender.appendVarchar(partition.account);
        appender.appendVarchar(partition.region);
        appender.appendVarchar(partition.dt);
        appender.endRow();
        const at = f.info.deliveredAt;
        if (at !== undefined) this.widen(at - 86_400_000, at);
      } else {
        this.readOther(path);
      }
    }
    appender.closeSync();
  }

  private widen(first: number, last: number): void {
    if (first < this.first) this.first = first;
    if (last > this.last) this.last = last;
  }

  /** Reads one file with the tolerant reader into the other-files table(s), or records why it cannot. */
  private readOther(path: string): void {
    const result = readLogFile(path);
    if (!result.ok) {
      if (result.outcome === 'digest') this.digests++;
      else (result.outcome === 'unreadable' ? this.unreadable : this.notCloudTrail).push(result);
      return;
    }
    this.otherFiles++;
    const lines = new Map<TableSpec, string[]>([
      [CLOUDTRAIL, []],
      [INSIGHTS, []],
    ]);
    for (const record of result.file.records) {
      const isInsight = record.eventType === 'AwsCloudTrailInsight' || 'insightDetails' in record;
      const spec = isInsight ? INSIGHTS : CLOUDTRAIL;
      lines.get(spec)?.push(JSON.stringify(toRow(record, spec, result.file.partition)));
      // The ingest core's reading of eventTime: a time without a zone is UTC, never local time.
      const t = parseEventTime(String(record.eventTime));
      if (t !== undefined) this.widen(t, t);
    }
    for (const [spec, rows] of lines) {
      if (rows.length === 0) continue;
      let fd = this.otherFd.get(spec);
      if (fd === undefined) {
        fd = openSync(this.otherPath(spec), 'a');
        this.otherFd.set(spec, fd);
      }
      writeSync(fd, `${rows.join('\n')}\n`);
      this.otherRows.set(spec, (this.otherRows.get(spec) ?? 0) + rows.length);
    }
  }

  private otherPath(spec: TableSpec): string {
    return join(this.dir, `${spec.name}.jsonl`);
  }

  /**
   * Defines the views for `sql` and runs `run`; when DuckDB refuses a delivery file, moves it to the tolerant
   * reader and runs again.
   */
  private async withViews<T>(sql: string, run: () => Promise<T>): Promise<T> {
    const serialized = await this.connection.runAndReadAll(`SELECT json_serialize_sql(${sqlString(sql)}) AS j`);
    const ast = String(serialized.getRowObjectsJS()[0]?.j ?? '{"error":true}');
    const use = columnUse(ast, [
      { name: CLOUDTRAIL.name, columns: new Set(CLOUDTRAIL.columns.map((c) => c.name)) },
      { name: INSIGHTS.name, columns: new Set(INSIGHTS.columns.map((c) => c.name)) },
    ]);
    const ranges = new Map(TABLES.map((spec) => [spec, partitionRanges(ast, spec.name, 'dt')]));
    for (;;) {
      try {
        if (this.moved.length > 0) {
          await this.connection.run(
            `DELETE FROM ${FILES_TABLE} WHERE filename IN (SELECT unnest(string_split($1, chr(0))))`,
            [this.moved.join('\0')],
          );
          this.moved.length = 0;
        }
        this.lastRead = 0;
        for (const spec of TABLES) {
          // Only the delivery files of the days the statement can read (its `dt` bounds), as on Athena.
          const within = ranges.get(spec);
          const key = `${this.generation}|${JSON.stringify(within ?? null)}`;
          let listed = this.listed.get(spec);
          const read = statementFiles(spec);
          if (listed?.key !== key) {
            await this.connection.run(
              `CREATE OR REPLACE TEMP TABLE ${read} AS SELECT CAST(row_number() OVER (ORDER BY n) - 1 AS UBIGINT) ` +
                `AS file_index, filename, account, region, dt FROM ${FILES_TABLE} ` +
                `WHERE tbl = ${sqlString(spec.name)} AND (${dtPredicate(within)})`,
            );
            const counted = await this.connection.runAndReadAll(`SELECT count(*) AS n FROM ${read}`);
            listed = { key, count: Number(counted.getRowObjectsJS()[0]?.n ?? 0) };
            this.listed.set(spec, listed);
          }
          this.lastRead += listed.count;
          // The file list travels as a variable, not literals: 20,000 paths written into the SQL took DuckDB's
          // parser 130 MB and a view holding them was slow to bind. CREATE VIEW binds the view (DuckDB stats every
          // file of a read_json then; 250 ms for 20,000), and the statement binds it again: the views are created
          // over the first file only, and the statement sees all. Binding may already open a file (DuckDB sniffs
          // the first one), so a refusal can come from here. Each list is built from the table (copying a list
          // value of 20,000 names between variables cost as much as building it).
          const files = (where: string) =>
            `SET VARIABLE ${filesVariable(spec)} = ` +
            `(SELECT COALESCE(list(filename ORDER BY file_index), CAST([] AS VARCHAR[])) FROM ${read}${where})`;
          await this.connection.run(files(' WHERE file_index = 0'));
          await this.connection.run(
            `CREATE OR REPLACE VIEW ${ident(spec.name)} AS ${this.viewSql(spec, use.get(spec.name) ?? 'all', listed.count > 0)}`,
          );
          await this.connection.run(files(''));
        }
        return await run();
      } catch (err) {
        const refused = this.refusedFile((err as Error).message);
        if (!refused) throw err;
        this.reroute(refused);
      }
    }
  }

  /** The delivery file a DuckDB error names, if any. */
  private refusedFile(message: string): string | undefined {
    for (const files of this.delivery.values()) {
      for (const f of files) if (message.includes(f)) return f;
    }
    return undefined;
  }

  private reroute(path: string): void {
    for (const files of this.delivery.values()) if (files.delete(path)) this.generation++;
    this.moved.push(path);
    // The tolerant reader either reads what the Glue SerDe would show, or says precisely why it cannot.
    this.readOther(path);
    this.reroutes++;
    if (this.reroutes >= MAX_REROUTES_BEFORE_CHECK && !this.checked) this.checkDeliveryFiles();
  }

  /**
   * After several refusals, every delivery file is read once by the tolerant reader's checks, so the next
   * statement does not fail once per bad file.
   */
  private checkDeliveryFiles(): void {
    this.checked = true;
    for (const [spec, files] of this.delivery) {
      for (const path of [...files]) {
        const result = readLogFile(path);
        if (!result.ok || !fitsDuckDB(result.file.records, spec)) {
          files.delete(path);
          this.generation++;
          this.moved.push(path);
          this.readOther(path);
        }
      }
    }
  }

  private viewSql(spec: TableSpec, use: ColumnUse, delivery: boolean): string {
    const used = (name: string): FieldUse | undefined => (use === 'all' ? true : use.get(name));
    const outType = (c: TableSpec['columns'][number]) => {
      const u = used(c.name);
      return u === undefined ? duckdbType(c.type) : prunedDuckdbType(c.type, u, c.name);
    };
    const parts: string[] = [];

    if (delivery) {
      const dataColumns = spec.columns.filter((c) => !PARTITION_COLUMNS.has(c.name) && used(c.name) !== undefined);
      const key = (path: string) => spec.keys[path] ?? path.slice(path.lastIndexOf('.') + 1);
      // DuckDB needs one field at least, even for count(*).
      const declared = (dataColumns.length > 0 ? dataColumns : spec.columns.filter((c) => c.name === 'eventtime')).map(
        (c) => `${ident(key(c.name))} ${prunedDuckdbType(c.type, used(c.name) ?? true, c.name, key)}`,
      );
      const partitions = spec.columns.some((c) => PARTITION_COLUMNS.has(c.name) && used(c.name) !== undefined);
      const source =
        `read_json(getvariable('${filesVariable(spec)}'), format = 'unstructured', ` +
        `columns = {Records: ${sqlString(`STRUCT(${declared.join(', ')})[]`)}}, ` +
        `maximum_object_size = ${MAXIMUM_OBJECT_SIZE})`;
      const from = partitions
        ? `(SELECT unnest(Records) AS r, file_index FROM ${source}) AS t ` +
          `JOIN ${statementFiles(spec)} AS f ON t.file_index = f.file_index`
        : `(SELECT unnest(Records) AS r FROM ${source})`;
      const select = spec.columns.map((c) => {
        if (used(c.name) === undefined) return `CAST(NULL AS ${outType(c)}) AS ${ident(c.name)}`;
        if (PARTITION_COLUMNS.has(c.name)) return `f.${ident(c.name)} AS ${ident(c.name)}`;
        const field = `r.${ident(key(c.name))}`;
        return c.type.kind === 'primitive'
          ? `${field} AS ${ident(c.name)}`
          : `CAST(${field} AS ${outType(c)}) AS ${ident(c.name)}`;
      });
      parts.push(`SELECT ${select.join(', ')} FROM ${from}`);
    }

    if ((this.otherRows.get(spec) ?? 0) > 0) {
      const declared = spec.columns.filter((c) => used(c.name) !== undefined);
      const columns = (declared.length > 0 ? declared : spec.columns.filter((c) => c.name === 'eventtime')).map(
        (c) => `${ident(c.name)}: ${sqlString(outType(c))}`,
      );
      const select = spec.columns.map((c) =>
        used(c.name) === undefined ? `CAST(NULL AS ${outType(c)}) AS ${ident(c.name)}` : ident(c.name),
      );
      parts.push(
        `SELECT ${select.join(', ')} FROM read_json(${sqlString(this.otherPath(spec))}, format = 'newline_delimited', ` +
          `columns = {${columns.join(', ')}}, maximum_object_size = ${MAXIMUM_OBJECT_SIZE})`,
      );
    }

    if (parts.length === 0) {
      return `SELECT ${spec.columns.map((c) => `CAST(NULL AS ${outType(c)}) AS ${ident(c.name)}`).join(', ')} WHERE false`;
    }
    return parts.join(' UNION ALL ');
  }
}

/** The statement's `dt` bounds (`partitionRanges`) as a condition on the files table; none: every file. */
function dtPredicate(ranges: readonly PartitionRange[] | undefined): string {
  if (!ranges) return 'true';
  const conditions = ranges.map((r) => {
    const bounds = [
      ...(r.from === undefined ? [] : [`dt >= ${sqlString(r.from)}`]),
      ...(r.to === undefined ? [] : [`dt <= ${sqlString(r.to)}`]),
    ];
    return bounds.length > 0 ? `(${bounds.join(' AND ')})` : 'true';
  });
  return conditions.length > 0 ? conditions.join(' OR ') : 'false';
}

/** True when every struct and array column of every record has the JSON type DuckDB's reader expects. */
function fitsDuckDB(records: readonly Record<string, unknown>[], spec: TableSpec): boolean {
  const fits = (value: unknown, t: HiveType, path: string): boolean => {
    if (value === null || value === undefined) return true;
    switch (t.kind) {
      case 'primitive':
        return true;
      case 'array':
        return Array.isArray(value) && value.every((v) => fits(v, t.element, path));
      case 'map':
        return typeof value === 'object' && !Array.isArray(value);
      case 'struct': {
        if (typeof value !== 'object' || Array.isArray(value)) return false;
        const o = value as Record<string, unknown>;
        return t.fields.every((f) => {
          const p = `${path}.${f.name}`;
          return fits(o[spec.keys[p] ?? f.name], f.type, p);
        });
      }
    }
  };
  return records.every((r) =>
    spec.columns.every((c) => PARTITION_COLUMNS.has(c.name) || fits(r[spec.keys[c.name] ?? c.name], c.type, c.name)),
  );
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

function plainRow(r: Record<string, unknown>, columns: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const c of columns) out[c] = plain(r[c]);
  return out;
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
