/**
 * `trailsight index <path...> --out DIR`: writes the CloudTrail events of delivery trees once as Parquet,
 * partitioned like the compacted Athena table (`account=…/region=…/dt=yyyy-MM-dd/`), incrementally: a run reads
 * only the files no earlier run indexed. `trailsight query <name> --index DIR` then answers from a few columns
 * of a few files. Layout, manifest and recovery: `lambda/adapters/duckdb-index.ts`.
 */
import type { TrailIndex } from '../../lambda/adapters/duckdb-index';
import { InputReport, plural } from '../inputs';
import { type CliCommand, choice, EXIT, optionParser, parseOrExit, UsageError, usageError } from '../io';
import { terminalSafe } from '../output';

const HELP = `usage: trailsight index <path...> --out DIR [--format table|json]

Reads CloudTrail files (directories to any depth, account or organization layout; .json.gz, .json, JSON
arrays, single records, JSON Lines) and writes their events to DIR as Parquet, partitioned by account, region
and delivery day, the layout of the compacted table in Athena. Run it again after \`aws s3 sync\`: only files
not indexed yet are read. Query it with \`trailsight query <name> --index DIR\`.

options:
  --out DIR            the index directory (created if missing; must be empty or an index)
  --format table|json  the report on stdout (default: table)
  -h, --help           this text

exit status: 0 complete; 1 partial (some input could not be read, or the index could not be written); 2 bad usage.
`;

const parse = optionParser({
  out: { type: 'string', short: 'o' },
  format: { type: 'string' },
});

export const command: CliCommand = {
  summary: 'write CloudTrail events as partitioned Parquet for fast repeated queries (incremental)',
  async run(argv, io) {
    const parsed = parseOrExit('index', HELP, argv, parse, io);
    if (typeof parsed === 'number') return parsed;
    const { values, positionals } = parsed;
    let format: 'table' | 'json';
    try {
      format = choice('--format', values.format, ['table', 'json'] as const, 'table');
      if (positionals.length === 0) throw new UsageError('give at least one path to index');
      if (!values.out) throw new UsageError('give --out DIR, the index directory');
    } catch (err) {
      if (err instanceof UsageError) return usageError('index', io, err.message);
      throw err;
    }
    const out = values.out;
    const indexes: typeof import('../../lambda/adapters/duckdb-index') = require('../../lambda/adapters/duckdb-index');
    const {
      LocalCloudTrail,
    }: typeof import('../../lambda/adapters/duckdb-cloudtrail') = require('../../lambda/adapters/duckdb-cloudtrail');
    let index: TrailIndex;
    try {
      index = indexes.TrailIndex.open(out, { create: true });
    } catch (err) {
      if (!(err instanceof indexes.IndexError)) throw err;
      io.stderr(`trailsight index: ${terminalSafe(err.message)}\n`);
      return EXIT.partial;
    }
    const orphans = index.removeOrphans();
    if (orphans > 0) {
      io.stderr(`trailsight index: removed ${plural(orphans, 'Parquet file')} left by an interrupted run\n`);
    }
    const inputs = new InputReport('index', io);
    const files = inputs.list(positionals);
    const pending = index.pending(files);
    const started = Date.now();
    io.stderr(
      `trailsight index: ${plural(pending.length, 'new file')} to index, ${plural(files.length - pending.length, 'file')} indexed before\n`,
    );
    const engine = await LocalCloudTrail.openFiles(pending);
    let run: Awaited<ReturnType<typeof index.add>>;
    try {
      run = await index.add(engine, pending, new Date());
    } catch (err) {
      io.stderr(`trailsight index: writing the index failed: ${terminalSafe((err as Error).message)}\n`);
      return EXIT.partial;
    } finally {
      const r = engine.report;
      inputs.engineRead(r.deliveryFiles + r.otherFiles, r.unreadable, r.notCloudTrail, r.digests);
      engine.close();
    }
    // Files indexed before count as read: the answer covers them.
    inputs.filesRead += files.length - pending.length;
    const report = {
      index: out,
      filesIndexed: pending.length,
      filesIndexedBefore: files.length - pending.length,
      eventsWritten: run.events,
      parquetFilesWritten: run.outputs.length,
      seconds: Math.round((Date.now() - started) / 100) / 10,
      total: { events: index.events, parquetFiles: index.files.length, ...(index.span ? { span: index.span } : {}) },
    };
    io.stdout(format === 'json' ? `${JSON.stringify(report, null, 2)}\n` : table(report));
    return inputs.finish();
  },
};

function table(r: {
  index: string;
  filesIndexed: number;
  filesIndexedBefore: number;
  eventsWritten: number;
  parquetFilesWritten: number;
  seconds: number;
  total: { events: number; parquetFiles: number; span?: { first: string; last: string } };
}): string {
  const n = (x: number) => x.toLocaleString('en-US');
  const rows: Array<[string, string]> = [
    ['index', terminalSafe(r.index)],
    ['files indexed now', n(r.filesIndexed)],
    ['files indexed before', n(r.filesIndexedBefore)],
    ['events written', n(r.eventsWritten)],
    ['Parquet files written', n(r.parquetFilesWritten)],
    ['seconds', String(r.seconds)],
    ['events in the index', n(r.total.events)],
    ['time span', r.total.span ? `${r.total.span.first} → ${r.total.span.last}` : '(empty)'],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return `${rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n')}\n`;
}
