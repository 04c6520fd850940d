/**
 * `trailsight query`: run a named forensic query (or any `.sql` file in the same format) locally on DuckDB
 * over downloaded logs, or on Athena over the archive. The same SQL text and the same parameter rendering
 * serve both engines (`queries/catalog.ts`).
 *
 * Exit codes: 0 success; 1 the query or the engine failed, or no logs were found; 2 usage (unknown query,
 * bad or missing parameter, bad option); 3 the query ran but some input files were skipped (listed on stderr).
 */
import { parseArgs } from 'node:util';
import {
  type CatalogQuery,
  findQuery,
  loadCatalog,
  parseTimestamp,
  QueryCatalogError,
  renderQuery,
} from '../../queries/catalog';
import { type CliCommand, type CliIo, parseOrExit } from '../io';

const HELP = `usage:
  trailsight query --list [--format table|json]
  trailsight query <name|file.sql> --logs <path> [--logs <path> ...] [--param key=value ...] [--format table|csv|json]
  trailsight query <name|file.sql> --athena --workgroup <name> [--database <db>] [--region <region>]
                   [--output-location s3://...] [--param key=value ...] [--format table|csv|json]
  trailsight query <name|file.sql> --print-sql [--param key=value ...]

Locally, --logs takes directories (walked to any depth) or files: CloudTrail delivery files (.json.gz),
JSON arrays of records, single records, JSON Lines. \`now\` is the time of the last event loaded, and
start/end default to the span of the loaded logs. On Athena, \`now\` is the current time.

exit codes: 0 ok, 1 query failed or no logs, 2 usage error, 3 ran but some input files were skipped`;

type Format = 'table' | 'csv' | 'json';

interface Output {
  readonly columns: readonly string[];
  readonly rows: readonly Record<string, unknown>[];
}

export const command: CliCommand = {
  summary: 'run a forensic named query locally (DuckDB over log files) or on Athena',
  async run(argv: string[], io: CliIo): Promise<number> {
    const opts = parseOrExit('query', HELP, argv, parse, io);
    if (typeof opts === 'number') return opts;
    const format = (opts.values.format ?? 'table') as Format;
    if (!['table', 'csv', 'json'].includes(format)) {
      io.stderr(`trailsight query: --format must be table, csv or json (got '${format}')\n`);
      return 2;
    }
    let catalog: CatalogQuery[];
    try {
      catalog = loadCatalog();
    } catch (err) {
      io.stderr(`trailsight query: the query library is broken: ${(err as Error).message}\n`);
      return 1;
    }
    if (opts.values.list) {
      io.stdout(listing(catalog, format));
      return 0;
    }
    const target = opts.positionals[0];
    if (!target || opts.positionals.length > 1) {
      io.stderr(`trailsight query: give exactly one query name or .sql file (or --list)\n\n${HELP}\n`);
      return 2;
    }
    let params: Record<string, string>;
    let query: CatalogQuery;
    try {
      params = parseParams(opts.values.param ?? []);
      query = findQuery(catalog, target);
    } catch (err) {
      io.stderr(`trailsight query: ${(err as Error).message}\n`);
      return 2;
    }

    if (opts.values['print-sql']) {
      try {
        io.stdout(`${renderQuery(query, params, { now: new Date() }).sql}\n`);
        return 0;
      } catch (err) {
        io.stderr(`trailsight query: ${(err as Error).message}\n`);
        return 2;
      }
    }
    if (opts.values.athena) return runOnAthena(query, params, opts.values, format, io);
    const logs = opts.values.logs ?? [];
    if (logs.length === 0) {
      io.stderr('trailsight query: give --logs <path> (local run) or --athena --workgroup <name>\n');
      return 2;
    }
    return runLocally(query, params, logs, format, io);
  },
};

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      list: { type: 'boolean' },
      logs: { type: 'string', multiple: true },
      param: { type: 'string', short: 'p', multiple: true },
      format: { type: 'string', short: 'f' },
      athena: { type: 'boolean' },
      workgroup: { type: 'string' },
      database: { type: 'string' },
      region: { type: 'string' },
      'output-location': { type: 'string' },
      'print-sql': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

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

async function runLocally(
  query: CatalogQuery,
  params: Record<string, string>,
  logs: readonly string[],
  format: Format,
  io: CliIo,
): Promise<number> {
  if (!query.engines.includes('duckdb')) {
    io.stderr(`trailsight query: '${query.name}' runs on Athena only (see its @note); use --athena\n`);
    return 2;
  }
  // DuckDB is loaded only for local runs: `--list` and Athena runs never pay for it. `require`, not
  // `import()`: the `trailsight` shim registers tsx for CommonJS only.
  const {
    LocalCloudTrail,
    NoLogsError,
  }: typeof import('../../lambda/adapters/duckdb-cloudtrail') = require('../../lambda/adapters/duckdb-cloudtrail');
  let engine: Awaited<ReturnType<typeof LocalCloudTrail.open>>;
  try {
    engine = await LocalCloudTrail.open(logs);
  } catch (err) {
    if (err instanceof NoLogsError) {
      for (const m of err.report.missing) io.stderr(`trailsight query: no such file or directory: ${m}\n`);
      for (const s of err.report.skipped) io.stderr(`trailsight query: skipped ${s.path}: ${s.reason}\n`);
    }
    io.stderr(`trailsight query: ${(err as Error).message}\n`);
    return 1;
  }
  try {
    const report = engine.report;
    for (const m of report.missing) io.stderr(`trailsight query: no such file or directory: ${m}\n`);
    for (const s of report.skipped) io.stderr(`trailsight query: skipped ${s.path}: ${s.reason}\n`);
    // Locally, "now" is the last event loaded and start/end default to the span of the logs. A span that is
    // not ISO-8601 (hand-made files) falls back to the header defaults instead of failing the run.
    const defaults: Record<string, string> = {};
    let now = new Date();
    const first = report.span ? parseTimestamp(report.span.first, now) : undefined;
    const last = report.span ? parseTimestamp(report.span.last, now) : undefined;
    if (first && last) {
      now = new Date(last.getTime() + 1000);
      defaults.start = first.toISOString();
      defaults.end = now.toISOString();
    }
    let rendered: ReturnType<typeof renderQuery>;
    try {
      rendered = renderQuery(query, params, { now, defaults });
    } catch (err) {
      io.stderr(`trailsight query: ${(err as Error).message}\n`);
      return 2;
    }
    io.stderr(
      `trailsight query: ${query.name} on ${report.records} events (+${report.insightRecords} insights) from ` +
        `${report.files} file(s); ${describeValues(rendered.values)}` +
        (report.ignored.length ? `; ignored ${report.ignored.length} digest file(s)` : '') +
        '\n',
    );
    let result: Output;
    try {
      result = await engine.query(rendered.sql);
    } catch (err) {
      io.stderr(`trailsight query: DuckDB failed: ${(err as Error).message}\n`);
      return 1;
    }
    io.stdout(render(result, format));
    io.stderr(`trailsight query: ${result.rows.length} row(s)\n`);
    if (report.skipped.length > 0 || report.missing.length > 0) {
      io.stderr(
        `trailsight query: WARNING: ${report.skipped.length + report.missing.length} input(s) could not be read; ` +
          'the result may be incomplete (exit code 3)\n',
      );
      return 3;
    }
    return 0;
  } finally {
    engine.close();
  }
}

async function runOnAthena(
  query: CatalogQuery,
  params: Record<string, string>,
  values: ReturnType<typeof parse>['values'],
  format: Format,
  io: CliIo,
): Promise<number> {
  if (!values.workgroup) {
    io.stderr('trailsight query: --athena needs --workgroup <name>\n');
    return 2;
  }
  let sql: string;
  let shown: string;
  try {
    const rendered = renderQuery(query, params, { now: new Date() });
    sql = rendered.sql;
    shown = describeValues(rendered.values);
  } catch (err) {
    io.stderr(`trailsight query: ${(err as Error).message}\n`);
    return 2;
  }
  const { AthenaClient }: typeof import('@aws-sdk/client-athena') = require('@aws-sdk/client-athena');
  const {
    runAthenaQuery,
  }: typeof import('../../lambda/adapters/athena-query-runner') = require('../../lambda/adapters/athena-query-runner');
  const client = new AthenaClient(values.region ? { region: values.region } : {});
  io.stderr(`trailsight query: ${query.name} on Athena workgroup ${values.workgroup}; ${shown}\n`);
  try {
    const result = await runAthenaQuery(client, sql, {
      workGroup: values.workgroup,
      ...(values.database ? { database: values.database } : {}),
      ...(values['output-location'] ? { outputLocation: values['output-location'] } : {}),
    });
    io.stdout(render(result, format));
    io.stderr(
      `trailsight query: ${result.rows.length} row(s); query ${result.queryExecutionId}; scanned ` +
        `${formatBytes(result.dataScannedBytes)} (billed ${formatBytes(result.billedBytes)}, ` +
        `about $${result.costUsd.toFixed(6)})\n`,
    );
    return 0;
  } catch (err) {
    io.stderr(`trailsight query: ${(err as Error).message}\n`);
    return 1;
  } finally {
    client.destroy();
  }
}

function describeValues(values: Readonly<Record<string, string>>): string {
  return Object.entries(values)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  if (n < 1024 ** 3) return `${(n / 1024 / 1024).toFixed(1)} MB`;
  return `${(n / 1024 ** 3).toFixed(2)} GB`;
}

function listing(catalog: readonly CatalogQuery[], format: Format): string {
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

/** Writes rows in the requested format; table cells are cut at 80 characters to keep lines readable. */
export function render(result: Output, format: Format): string {
  const { columns, rows } = result;
  if (format === 'json') return `${JSON.stringify(rows, null, 2)}\n`;
  if (format === 'csv') {
    const cell = (v: unknown) => {
      const s = text(v);
      return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
    };
    return `${[columns.map(cell).join(','), ...rows.map((r) => columns.map((c) => cell(r[c])).join(','))].join('\n')}\n`;
  }
  if (rows.length === 0) return '(no rows)\n';
  const cut = (s: string) => (s.length > 80 ? `${s.slice(0, 79)}…` : s);
  const cells = rows.map((r) => columns.map((c) => cut(text(r[c]))));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i].length)));
  const line = (vals: readonly string[]) =>
    vals
      .map((v, i) => v.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  return `${[line(columns), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n')}\n`;
}

function text(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}
