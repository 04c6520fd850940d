/**
 * The forensic query library: loads the `.sql` files next to this module, parses their header blocks and
 * renders them with parameter values, for both engines (Athena/Trino and local DuckDB).
 *
 * Pure on purpose: node built-ins only (fs, path), no clock (callers pass `now`), so the same module is
 * imported by the CDK app at synth (named queries), by the CLI and by the tests.
 *
 * File format (one question per file, the file name is the query's name):
 * ```sql
 * -- @title Root account use
 * -- @description Calls made with the root user's credentials (CIS 4.3). More description lines
 * -- @description are joined with a space.
 * -- @param start timestamp = -7d  Start of the event-time window (inclusive)
 * -- @param end timestamp = now    End of the event-time window (exclusive)
 * -- @param principal string       Principal ARN or a part of it (no default: required)
 * -- @returns eventtime, principal_arn, eventname
 * -- @engines athena, duckdb       (optional; both by default)
 * -- @table cloudtrail_logs        (optional; the table the query reads)
 * -- @note Free text kept with the query (engine differences, pitfalls).
 * SELECT ... WHERE dt BETWEEN '{{dt_from}}' AND '{{dt_to}}' AND ... '{{start}}' ...
 * ```
 * Placeholders are always a whole single-quoted SQL string literal, `'{{name}}'`, so every file is valid
 * SQL as it stands (the Trino parser checks the raw text) and a value can only ever land inside one string
 * literal: {@link renderQuery} validates it by type and doubles its quotes. Numbers and intervals are
 * written `CAST('{{n}}' AS integer)` and `INTERVAL '{{minutes}}' MINUTE`, which both engines accept.
 * `dt_from` and `dt_to` are derived from `start` and `end` (one day wider on each side, because `dt` is
 * the delivery date), so partition projection prunes on literals.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join, relative, sep } from 'node:path';
import { CLOUDTRAIL_PARQUET_TABLE_NAME, CLOUDTRAIL_TABLE_NAME, DT_FORMATS } from '../schema/cloudtrail-table';

export type ParamType = 'timestamp' | 'string' | 'integer';

export interface QueryParam {
  readonly name: string;
  readonly type: ParamType;
  /** The default as written in the header (`-7d`, `now`, `10`, `""`); absent when the parameter is required. */
  readonly default?: string;
  readonly description: string;
}

export type Engine = 'athena' | 'duckdb';

export interface CatalogQuery {
  /** The file name without `.sql`: the name users type (`trailsight query root-account-use`). */
  readonly name: string;
  /** The folder under `queries/` (`cis`, `identity`, ...); empty for a file given by path. */
  readonly category: string;
  readonly title: string;
  readonly description: string;
  readonly params: readonly QueryParam[];
  /** Column names the query returns, as declared in the header. */
  readonly returns: readonly string[];
  readonly engines: readonly Engine[];
  /** The table the query reads. */
  readonly table: string;
  readonly notes: readonly string[];
  /** The whole file, header included (what Athena named queries store). */
  readonly sql: string;
  /** Where the file was read from. */
  readonly path: string;
}

/** Raised for every user-facing problem: bad header, unknown query, missing or invalid parameter. */
export class QueryCatalogError extends Error {
  override readonly name = 'QueryCatalogError';
}

/** Placeholders the renderer fills itself; they are never declared in a header. */
export const DERIVED_PARAMS = ['dt_from', 'dt_to'] as const;

/**
 * Where the library sits relative to the built command bundle (set by cli/build.mjs with esbuild's `define`);
 * undefined when this module runs from source.
 */
declare const TRAILSIGHT_QUERIES_DIR: string | undefined;

/** The directory holding the library: this module's own folder, or the copy that ships beside the built CLI. */
export const QUERIES_DIR =
  typeof TRAILSIGHT_QUERIES_DIR === 'string' ? join(__dirname, TRAILSIGHT_QUERIES_DIR) : __dirname;

const PARAM_LINE = /^(\w+)\s+(timestamp|string|integer)(?:\s*=\s*("(?:[^"\\]|\\.)*"|\S+))?(?:\s+(.*))?$/;
const PLACEHOLDER = /\{\{\s*([A-Za-z_]\w*)\s*\}\}/g;
const QUOTED_PLACEHOLDER = /'\{\{([A-Za-z_]\w*)\}\}'/g;

/** Parses one query file's text. Throws {@link QueryCatalogError} naming the file when the header is incomplete. */
export function parseQuery(text: string, path: string, category = ''): CatalogQuery {
  const name = basename(path).replace(/\.sql$/i, '');
  const fields: Record<string, string[]> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '') continue;
    if (!line.startsWith('--')) break; // the header is the leading comment block
    const m = /^--\s*@(\w+)\s*(.*)$/.exec(line);
    if (m) fields[m[1]] = [...(fields[m[1]] ?? []), m[2].trim()];
  }
  const fail = (why: string): never => {
    throw new QueryCatalogError(`${path}: ${why}`);
  };
  const title = fields.title?.join(' ');
  if (!title) fail('missing `-- @title` in the header');
  const description = fields.description?.join(' ');
  if (!description) fail('missing `-- @description` in the header');
  const returns = (fields.returns ?? [])
    .join(',')
    .split(',')
    .map((c) => c.trim())
    .filter(Boolean);
  if (returns.length === 0) fail('missing `-- @returns` in the header');

  const params: QueryParam[] = (fields.param ?? []).map((p) => {
    const m = PARAM_LINE.exec(p);
    if (!m) return fail(`cannot read \`@param ${p}\` (expected: name type [= default] description)`);
    const def = m[3] === undefined ? undefined : m[3].startsWith('"') ? JSON.parse(m[3]) : m[3];
    return {
      name: m[1],
      type: m[2] as ParamType,
      ...(def === undefined ? {} : { default: def }),
      description: m[4] ?? '',
    };
  });
  const declared = new Set(params.map((p) => p.name));
  if (declared.size !== params.length) fail('a parameter is declared twice');
  for (const required of ['start', 'end']) {
    const p = params.find((x) => x.name === required);
    if (p?.type !== 'timestamp') fail(`every query takes a \`${required}\` timestamp parameter (the time range)`);
  }
  for (const d of DERIVED_PARAMS) if (declared.has(d)) fail(`\`${d}\` is derived from start/end; do not declare it`);

  const body = stripComments(text);
  const used = new Set<string>();
  for (const m of body.matchAll(PLACEHOLDER)) used.add(m[1]);
  const bare = body.replace(QUOTED_PLACEHOLDER, '');
  if (bare.includes('{{')) fail("placeholders must be a whole quoted literal, e.g. '{{start}}'");
  for (const u of used) {
    if (!declared.has(u) && !(DERIVED_PARAMS as readonly string[]).includes(u))
      fail(`uses undeclared parameter {{${u}}}`);
  }
  for (const p of params) if (!used.has(p.name)) fail(`declares \`${p.name}\` but never uses it`);

  const engines = (fields.engines?.join(',') ?? 'athena,duckdb')
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean);
  for (const e of engines) if (e !== 'athena' && e !== 'duckdb') fail(`unknown engine \`${e}\``);

  return {
    name,
    category,
    title: title as string,
    description: description as string,
    params,
    returns,
    engines: engines as Engine[],
    table: fields.table?.[0] ?? 'cloudtrail_logs',
    notes: fields.note ?? [],
    sql: text,
    path,
  };
}

/** Reads every `.sql` file under `dir` (recursively), sorted by category then name. Names must be unique. */
export function loadCatalog(dir: string = QUERIES_DIR): CatalogQuery[] {
  const files: string[] = [];
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (entry.isFile() && entry.name.endsWith('.sql')) files.push(p);
    }
  };
  walk(dir);
  const queries = files.map((f) => {
    const rel = relative(dir, f).split(sep);
    return parseQuery(readFileSync(f, 'utf8'), f, rel.slice(0, -1).join('/'));
  });
  const seen = new Map<string, string>();
  for (const q of queries) {
    const other = seen.get(q.name);
    if (other) throw new QueryCatalogError(`two queries are named '${q.name}': ${other} and ${q.path}`);
    seen.set(q.name, q.path);
  }
  return queries.sort((a, b) => a.category.localeCompare(b.category) || a.name.localeCompare(b.name));
}

/**
 * Finds a query by name (`root-account-use`) or reads a `.sql` file given by path. The error for an unknown
 * name suggests the closest names, so a typo is a one-step fix.
 */
export function findQuery(catalog: readonly CatalogQuery[], nameOrPath: string): CatalogQuery {
  if (nameOrPath.endsWith('.sql')) {
    let text: string;
    try {
      text = readFileSync(nameOrPath, 'utf8');
    } catch (err) {
      throw new QueryCatalogError(`cannot read query file ${nameOrPath}: ${(err as Error).message}`);
    }
    return parseQuery(text, nameOrPath);
  }
  const hit = catalog.find((q) => q.name === nameOrPath);
  if (hit) return hit;
  const close = catalog
    .filter((q) => q.name.includes(nameOrPath) || nameOrPath.includes(q.name.split('-')[0] ?? ''))
    .map((q) => q.name)
    .slice(0, 5);
  throw new QueryCatalogError(
    `unknown query '${nameOrPath}'.` +
      (close.length ? ` Did you mean: ${close.join(', ')}?` : '') +
      ' Run `trailsight query --list` for the catalog.',
  );
}

export interface RenderOptions {
  /** The time `now` and relative defaults (`-7d`) are resolved against. Passed in: the catalog reads no clock. */
  readonly now: Date;
  /** Replaces the header defaults of some parameters (the CLI uses the span of local logs for start/end). */
  readonly defaults?: Readonly<Record<string, string>>;
  /**
   * Run a `cloudtrail_logs` query on the compacted Parquet copy instead: the table name is replaced and
   * `dt_from`/`dt_to` are written in that table's `dt` format.
   * @default false
   */
  readonly compacted?: boolean;
}

export interface RenderedQuery {
  /** SQL with every placeholder replaced by an escaped literal. */
  readonly sql: string;
  /** The resolved values, derived ones included, for display. */
  readonly values: Readonly<Record<string, string>>;
}

/**
 * Fills a query's placeholders: the one function both engines use. Unknown and missing parameters are
 * errors; timestamps are normalized to `YYYY-MM-DDTHH:MM:SSZ`; integers must be integers; every value is
 * written as a single-quoted literal with its quotes doubled.
 */
export function renderQuery(
  query: CatalogQuery,
  given: Readonly<Record<string, string>>,
  opts: RenderOptions,
): RenderedQuery {
  const known = new Set(query.params.map((p) => p.name));
  for (const k of Object.keys(given)) {
    if (!known.has(k)) {
      const list = query.params.map((p) => p.name).join(', ');
      throw new QueryCatalogError(`query '${query.name}' has no parameter '${k}' (it takes: ${list})`);
    }
  }
  const values: Record<string, string> = {};
  for (const p of query.params) {
    const raw = given[p.name] ?? opts.defaults?.[p.name] ?? p.default;
    if (raw === undefined) {
      throw new QueryCatalogError(
        `query '${query.name}' needs --param ${p.name}=<${p.type}>${p.description ? ` (${p.description})` : ''}`,
      );
    }
    values[p.name] = normalizeValue(query.name, p, raw, opts.now);
  }
  if (values.start >= values.end) {
    throw new QueryCatalogError(`query '${query.name}': start (${values.start}) must be before end (${values.end})`);
  }
  let text = query.sql;
  let dtFormat: string = DT_FORMATS[CLOUDTRAIL_TABLE_NAME];
  if (opts.compacted) {
    if (query.table !== CLOUDTRAIL_TABLE_NAME) {
      throw new QueryCatalogError(
        `query '${query.name}' reads ${query.table}, which has no compacted copy (only ${CLOUDTRAIL_TABLE_NAME} has)`,
      );
    }
    text = renameTable(text, CLOUDTRAIL_TABLE_NAME, CLOUDTRAIL_PARQUET_TABLE_NAME);
    dtFormat = DT_FORMATS[CLOUDTRAIL_PARQUET_TABLE_NAME];
  }
  values.dt_from = deliveryDay(values.start, -1, dtFormat);
  values.dt_to = deliveryDay(values.end, +1, dtFormat);
  const sql = text.replace(QUOTED_PLACEHOLDER, (_m, name: string) => sqlString(values[name]));
  return { sql, values };
}

/**
 * Replaces the table name `from` by `to` where it is an identifier (bare or double-quoted), never inside a string
 * literal or a comment. Hand-written because the SQL parsers at hand either do not know the Trino dialect or
 * re-print the statement differently (node-sql-parser turns string literals into identifiers).
 */
export function renameTable(sql: string, from: string, to: string): string {
  let out = '';
  let i = 0;
  const word = /[A-Za-z0-9_]/;
  while (i < sql.length) {
    const c = sql[i];
    const two = sql.slice(i, i + 2);
    const ahead = sql.slice(i, i + from.length + 2).toLowerCase();
    if (c === "'") {
      // A literal ends at the next quote; a doubled quote inside it reopens it on the next turn, unchanged.
      const end = sql.indexOf("'", i + 1);
      const stop = end < 0 ? sql.length : end + 1;
      out += sql.slice(i, stop);
      i = stop;
    } else if (two === '--' || two === '/*') {
      const end = two === '--' ? sql.indexOf('\n', i) : sql.indexOf('*/', i + 2);
      const stop = end < 0 ? sql.length : two === '--' ? end : end + 2;
      out += sql.slice(i, stop);
      i = stop;
    } else if (ahead === `"${from}"`) {
      out += `"${to}"`;
      i += from.length + 2;
    } else if (ahead.startsWith(from) && !word.test(sql[i - 1] ?? '') && !word.test(sql[i + from.length] ?? '')) {
      out += to;
      i += from.length;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/** A SQL string literal, valid in Trino and DuckDB (standard strings: only the quote needs escaping). */
export function sqlString(value: string): string {
  if (value.includes('\u0000')) throw new QueryCatalogError('parameter values cannot contain NUL characters');
  return `'${value.replaceAll("'", "''")}'`;
}

function normalizeValue(query: string, p: QueryParam, raw: string, now: Date): string {
  const bad = (why: string): never => {
    throw new QueryCatalogError(`query '${query}': --param ${p.name}=${raw} ${why}`);
  };
  switch (p.type) {
    case 'integer':
      if (!/^-?\d{1,15}$/.test(raw.trim())) bad('is not an integer');
      return String(Number.parseInt(raw, 10));
    case 'timestamp': {
      const t = parseTimestamp(raw.trim(), now);
      if (t === undefined)
        bad('is not a time (use ISO-8601 like 2024-07-30T21:00:00Z or 2024-07-30, `now`, or `-7d`/`-12h`/`-30m`)');
      return isoSeconds(t as Date);
    }
    default:
      return raw;
  }
}

/** ISO-8601 (date, or date-time with Z/offset), `now`, or a relative `-<n>(d|h|m)` before `now`. */
export function parseTimestamp(raw: string, now: Date): Date | undefined {
  if (raw === 'now') return new Date(now.getTime());
  const rel = /^-(\d+)([dhm])$/.exec(raw);
  if (rel) {
    const unit = { d: 86_400_000, h: 3_600_000, m: 60_000 }[rel[2] as 'd' | 'h' | 'm'];
    return new Date(now.getTime() - Number(rel[1]) * unit);
  }
  if (/^\d{4}-\d{2}-\d{2}$/.test(raw)) return validDate(new Date(`${raw}T00:00:00Z`));
  if (/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/.test(raw)) {
    return validDate(new Date(raw.replace(' ', 'T')));
  }
  return undefined;
}

function validDate(d: Date): Date | undefined {
  return Number.isNaN(d.getTime()) ? undefined : d;
}

function isoSeconds(d: Date): string {
  return `${d.toISOString().slice(0, 19)}Z`;
}

/** The day holding `iso`, shifted by `days`, as `yyyy/MM/dd` or `yyyy-MM-dd`. */
function deliveryDay(iso: string, days: number, format: string): string {
  const d = new Date(Date.parse(iso) + days * 86_400_000);
  const ymd = d.toISOString().slice(0, 10);
  return format === 'yyyy/MM/dd' ? ymd.replaceAll('-', '/') : ymd;
}

/** Removes `--` line comments so header text never counts as SQL (string literals with `--` are left alone). */
function stripComments(sql: string): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < sql.length; i++) {
    const c = sql[i];
    if (inString) {
      out += c;
      if (c === "'") inString = false;
    } else if (c === "'") {
      inString = true;
      out += c;
    } else if (c === '-' && sql[i + 1] === '-') {
      while (i < sql.length && sql[i] !== '\n') i++;
      out += '\n';
    } else {
      out += c;
    }
  }
  return out;
}
