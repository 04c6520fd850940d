/**
 * `trailsight query`: run a named forensic query (or any `.sql` file in the same format) locally on DuckDB
 * over downloaded logs or a local index, or on Athena over the archive (the JSON table or its compacted Parquet
 * copy). The same SQL text and the same parameter rendering serve every engine and table (`queries/catalog.ts`).
 *
 * Exit status (the CLI's conventions, `cli/io.ts`): 0 complete; 1 partial (an input could not be read) or the
 * query failed; 2 usage (unknown query, bad or missing parameter, bad option).
 */

import type { LocalCloudTrail } from '../../lambda/adapters/duckdb-cloudtrail';
import type { TrailIndex } from '../../lambda/adapters/duckdb-index';
import { BackgroundSizes } from '../../lambda/adapters/local-files';
import {
  type CatalogQuery,
  findQuery,
  loadCatalog,
  QueryCatalogError,
  type RenderedQuery,
  renderQuery,
} from '../../queries/catalog';
import { InputReport, plural } from '../inputs';
import { type CliCommand, type CliIo, choice, EXIT, optionParser, parseOrExit, UsageError, usageError } from '../io';
import { type RowFormat, renderRows, rowWriter, terminalSafe } from '../output';

const HELP = `usage:
  trailsight query --list [--format table|json]
  trailsight query <name|file.sql> --logs <path> [--logs <path> ...] [--param key=value ...] [--format F]
  trailsight query <name|file.sql> --index <dir> [--param key=value ...] [--format F]
  trailsight query <name|file.sql> --athena --workgroup <name> [--compacted] [--database <db>] [--region <region>]
                   [--output-location s3://...] [--param key=value ...] [--format F]
  trailsight query <name|file.sql> --print-sql [--compacted] [--param key=value ...]

Runs a forensic query. --logs reads CloudTrail files in place (directories to any depth, account or
organization layout; .json.gz, .json, JSON arrays, single records, JSON Lines), streaming: nothing is loaded
first. --index reads a local index written by \`trailsight index\` (Parquet). --athena runs the same SQL in an
Athena workgroup, on the JSON table or, with --compacted, on its Parquet copy.

Locally, start/end default to the time the logs cover and \`now\` is the end of it; on Athena, \`now\` is the
current time and start/end default to the query's own defaults (mostly the last 7 days).

options:
  --format table|json|jsonl|csv   output format (default: table)
  -p, --param key=value           a query parameter (repeatable); --list shows each query's parameters
  -h, --help                      this text

exit status: 0 complete; 1 partial (some input could not be read) or the query failed; 2 bad usage.
`;

const FORMATS: readonly RowFormat[] = ['table', 'json', 'jsonl', 'csv'];
const LIST_FORMATS = ['table', 'json'] as const;

const parse = optionParser({
  list: { type: 'boolean' },
  logs: { type: 'string', multiple: true },
  index: { type: 'string' },
  param: { type: 'string', short: 'p', multiple: true },
  format: { type: 'string', short: 'f' },
  athena: { type: 'boolean' },
  compacted: { type: 'boolean' },
  workgroup: { type: 'string' },
  database: { type: 'string' },
  region: { type: 'string' },
  'output-location': { type: 'string' },
  'print-sql': { type: 'boolean' },
});
type Values = ReturnType<typeof parse>['values'];

export const command: CliCommand = {
  summary: 'run a forensic named query: DuckDB over log files or a local index, or Athena',
  async run(argv: string[], io: CliIo): Promise<number> {
    const opts = parseOrExit('query', HELP, argv, parse, io);
    if (typeof opts === 'number') return opts;
    const { values, positionals } = opts;
    try {
      if (values.list) {
        const format = choice('--format', values.format, LIST_FORMATS, 'table');
        const catalog = loadCatalog();
        io.stdout(listing(catalog, format));
        return EXIT.ok;
      }
      const format = choice('--format', values.format, FORMATS, 'table');
      const target = positionals[0];
      if (!target || positionals.length > 1)
        throw new UsageError('give exactly one query name or .sql file (or --list)');
      const params = parseParams(values.param ?? []);
      const query = findQuery(loadCatalog(), target);
      const modes = [
        values.logs ? '--logs' : '',
        values.index ? '--index' : '',
        values.athena ? '--athena' : '',
        values['print-sql'] ? '--print-sql' : '',
      ].filter(Boolean);
      if (modes.length > 1) throw new UsageError(`${modes.join(' and ')} cannot be combined; choose one`);
      if (values['print-sql']) {
        io.stdout(`${renderQuery(query, params, { now: new Date(), compacted: values.compacted }).sql}\n`);
        return EXIT.ok;
      }
      if (values.athena) return await runOnAthena(query, params, values, format, io);
      if (values.compacted)
        throw new UsageError('--compacted is for --athena and --print-sql (--index is compacted already)');
      if (values.index) return await runOnIndex(query, params, values.index, format, io);
      if (!values.logs)
        throw new UsageError('give --logs <path>, --index <dir>, --athena --workgroup <name> or --print-sql');
      return await runOnLogs(query, params, values.logs, format, io);
    } catch (err) {
      if (err instanceof UsageError || err instanceof QueryCatalogError) return usageError('query', io, err.message);
      throw err;
    }
  },
};

/** `key=value` pairs; the value may contain `=`. */
export function parseParams(pairs: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new QueryCatalogError(`--param expects key=value, got '${pair}'`);
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

/** DuckDB is loaded for local runs only: `--list`, `--print-sql` and Athena runs never pay for it. */
function engineModule(): typeof import('../../lambda/adapters/duckdb-cloudtrail') {
  return require('../../lambda/adapters/duckdb-cloudtrail');
}

function duckdbOnly(query: CatalogQuery): void {
  if (!query.engines.includes('duckdb')) {
    throw new UsageError(`'${query.name}' runs on Athena only (see its @note); use --athena`);
  }
}

/** Start, end and `now` from the time the local data covers; the header defaults when it covers none. */
function localRendering(
  query: CatalogQuery,
  params: Record<string, string>,
  window: { readonly start: Date; readonly end: Date } | undefined,
  compacted: boolean,
): RenderedQuery {
  if (!window) return renderQuery(query, params, { now: new Date(), compacted });
  const iso = (d: Date) => `${d.toISOString().slice(0, 19)}Z`;
  return renderQuery(query, params, {
    now: window.end,
    defaults: { start: iso(window.start), end: iso(window.end) },
    compacted,
  });
}

async function runOnLogs(
  query: CatalogQuery,
  params: Record<string, string>,
  logs: readonly string[],
  format: RowFormat,
  io: CliIo,
): Promise<number> {
  duckdbOnly(query);
  const inputs = new InputReport('query', io);
  // DuckDB needs every file's size (tiny files go to the tolerant reader): asked on another thread while it loads.
  const sizes = new BackgroundSizes();
  const files = inputs.list(logs);
  const sized = sizes.ask(files);
  const engines = engineModule();
  await sized;
  const engine = await engines.LocalCloudTrail.openFiles(files);
  try {
    const rendered = localRendering(query, params, engine.report.window, false);
    const r = engine.report;
    io.stderr(
      `trailsight query: ${query.name} over ${plural(r.deliveryFiles + r.otherFiles, 'file')}; ${describeValues(rendered.values)}\n`,
    );
    const code = await runLocally(engine, rendered.sql, format, io, () => {
      const all = engine.report.deliveryFiles;
      return engine.statementFiles < all
        ? `; read ${engine.statementFiles.toLocaleString('en-US')} of the ${plural(all, 'delivery file')} (its dt range)`
        : '';
    });
    const after = engine.report;
    inputs.engineRead(after.deliveryFiles + after.otherFiles, after.unreadable, after.notCloudTrail, after.digests);
    return code === EXIT.ok ? inputs.finish() : code;
  } finally {
    engine.close();
  }
}

async function runOnIndex(
  query: CatalogQuery,
  params: Record<string, string>,
  dir: string,
  format: RowFormat,
  io: CliIo,
): Promise<number> {
  duckdbOnly(query);
  const {
    TrailIndex,
    IndexError,
  }: typeof import('../../lambda/adapters/duckdb-index') = require('../../lambda/adapters/duckdb-index');
  let index: TrailIndex;
  try {
    index = TrailIndex.open(dir);
  } catch (err) {
    if (!(err instanceof IndexError)) throw err;
    io.stderr(`trailsight query: ${terminalSafe(err.message)}\n`);
    return EXIT.partial;
  }
  const engine = await engineModule().LocalCloudTrail.openIndex(index);
  try {
    const rendered = localRendering(query, params, engine.report.window, true);
    io.stderr(
      `trailsight query: ${query.name} on the index ${terminalSafe(dir)} (${plural(index.events, 'event')}); ${describeValues(rendered.values)}\n`,
    );
    return await runLocally(engine, rendered.sql, format, io);
  } finally {
    engine.close();
  }
}

async function runLocally(
  engine: LocalCloudTrail,
  sql: string,
  format: RowFormat,
  io: CliIo,
  read: () => string = () => '',
): Promise<number> {
  let writer: ReturnType<typeof rowWriter> | undefined;
  let rows = 0;
  try {
    await engine.stream(sql, {
      columns(names) {
        writer = rowWriter(format, names, (t) => io.stdout(t));
      },
      rows(batch) {
        rows += batch.length;
        writer?.write(batch);
      },
    });
  } catch (err) {
    io.stderr(`trailsight query: DuckDB failed: ${terminalSafe((err as Error).message)}\n`);
    return EXIT.partial;
  }
  writer?.end();
  io.stderr(`trailsight query: ${plural(rows, 'row')}${read()}\n`);
  return EXIT.ok;
}

async function runOnAthena(
  query: CatalogQuery,
  params: Record<string, string>,
  values: Values,
  format: RowFormat,
  io: CliIo,
): Promise<number> {
  if (!values.workgroup) throw new UsageError('--athena needs --workgroup <name>');
  const rendered = renderQuery(query, params, { now: new Date(), compacted: values.compacted });
  // A bundle of its own at run time (cli/build.mjs), loaded only here.
  const { AthenaClient, runAthenaQuery }: typeof import('../athena') = require('../athena');
  const client = new AthenaClient(values.region ? { region: values.region } : {});
  io.stderr(
    `trailsight query: ${query.name} on Athena workgroup ${terminalSafe(values.workgroup)}; ${describeValues(rendered.values)}\n`,
  );
  try {
    const result = await runAthenaQuery(client, rendered.sql, {
      workGroup: values.workgroup,
      ...(values.database ? { database: values.database } : {}),
      ...(values['output-location'] ? { outputLocation: values['output-location'] } : {}),
    });
    io.stdout(renderRows(format, result.columns, result.rows));
    io.stderr(
      `trailsight query: ${plural(result.rows.length, 'row')}; query ${result.queryExecutionId}; scanned ` +
        `${formatBytes(result.dataScannedBytes)} (billed ${formatBytes(result.billedBytes)}, ` +
        `about $${result.costUsd.toFixed(6)})\n`,
    );
    return EXIT.ok;
  } catch (err) {
    io.stderr(`trailsight query: ${terminalSafe((err as Error).message)}\n`);
    return EXIT.partial;
  } finally {
    client.destroy();
  }
}

function describeValues(values: Readonly<Record<string, string>>): string {
  return terminalSafe(
    Object.entries(values)
      .map(([k, v]) => `${k}=${v}`)
      .join(' '),
  );
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  if (n < 1024 ** 3) return `${(n / 1024 / 1024).toFixed(1)} MB`;
  return `${(n / 1024 ** 3).toFixed(2)} GB`;
}

function listing(catalog: readonly CatalogQuery[], format: 'table' | 'json'): string {
  if (format === 'json') {
    const entries = catalog.map((q) => ({
      name: q.name,
      category: q.category,
      title: q.title,
      description: q.description,
      params: q.params,
      returns: q.returns,
      engines: q.engines,
    }));
    return `${JSON.stringify(entries, null, 2)}\n`;
  }
  const lines: string[] = [];
  let category = '';
  for (const q of catalog) {
    if (q.category !== category) {
      category = q.category;
      lines.push('', `${category}/`);
    }
    lines.push(`  ${q.name}  —  ${q.title}`);
    const params = q.params
      .filter((p) => p.name !== 'start' && p.name !== 'end')
      .map((p) =>
        p.default === undefined ? `${p.name}=<${p.type}>` : `[${p.name}=${p.default === '' ? '""' : p.default}]`,
      );
    lines.push(`      params: start, end${params.length ? `, ${params.join(', ')}` : ''}`);
  }
  lines.push('', `${catalog.length} queries. Every query takes start/end (ISO-8601, \`now\`, or -7d/-12h/-30m).`);
  return `${lines.join('\n').trimStart()}\n`;
}
