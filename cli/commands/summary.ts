/**
 * `trailsight summary <path...>`: reads delivery trees (any depth) or single files through the ingest core and
 * prints what an auditor wants first. Results on stdout (`--format table|json`), progress and warnings on stderr.
 */
import { sizeOf } from '../../lambda/adapters/local-files';
import { summarizeLocalFiles } from '../../lambda/adapters/local-reader';
import { EventIdDeduper } from '../../lambda/core/dedupe';
import { SummaryBuilder, type SummaryJson } from '../../lambda/core/summary';
import { InputReport } from '../inputs';
import {
  type CliCommand,
  type CliIo,
  choice,
  optionParser,
  parseOrExit,
  UsageError,
  usageError,
  wholeNumber,
} from '../io';
import { terminalSafe } from '../output';
import { Progress } from '../progress';

const HELP = `usage: trailsight summary <path...> [--format table|json] [--top N] [--threads N]

Reads CloudTrail delivery files (.json.gz or .json, {"Records":[...]} or a bare array; .jsonl one event per
line; single records and \`aws cloudtrail lookup-events\` output) from the given files and directories (any
depth) and prints: time span, accounts, regions, events by source and API, writes vs reads, errors by code, top
principals and source IPs, console sign-ins, and the files or records that were skipped or could not be read.
Digest files are counted as ignored; files that are not CloudTrail's (a README, AWS Config objects under
AWSLogs/) are counted and named in one warning. An event delivered twice (same eventID) counts once.

options:
  --format table|json   output format (default: table)
  --top N               rows per ranking (default: 10)
  --threads N           reader threads (default: one per core; 0 reads in the main thread only)
  -h, --help            this text

exit status: 0 complete; 1 partial (some file or path could not be read; the events before a problem count);
2 bad usage.
`;

const parse = optionParser({
  format: { type: 'string' },
  top: { type: 'string' },
  threads: { type: 'string' },
});

async function summarize(
  paths: readonly string[],
  workers: number | undefined,
  io: CliIo,
): Promise<{ summary: SummaryBuilder; inputs: InputReport }> {
  const summary = new SummaryBuilder();
  const inputs = new InputReport('summary', io);
  const files = inputs.list(paths);
  const progress = new Progress(io, () => files.reduce((n, f) => n + sizeOf(f), 0));
  // A file that turns out not to be CloudTrail's had no records, so it added no events to the summary.
  for await (const { file, events, report } of summarizeLocalFiles(files, summary, {
    dedupe: new EventIdDeduper(),
    ...(workers === undefined ? {} : { workers }),
    // Slower, the same result: said, not an error.
    onThreadFailure: (e) =>
      progress.warn(`warning: the reader threads failed (${terminalSafe(e.message)}); reading the rest in one thread`),
  })) {
    if (inputs.fileRead(file, report) === 'not-cloudtrail') {
      progress.advance(report.bytesRead, 0);
      continue;
    }
    summary.addReport(file.info.kind === 'foreign' ? 'file' : file.info.kind, report);
    progress.advance(report.bytesRead, events);
  }
  for (let i = 0; i < inputs.digests; i++) summary.addIgnored('digest file');
  for (let i = 0; i < inputs.notCloudTrail.length; i++) summary.addIgnored('not CloudTrail');
  progress.end();
  io.stderr(
    `${files.length} files (${progress.megabytes} MB) processed, ${inputs.events} events, in ${progress.seconds} s\n`,
  );
  return { summary, inputs };
}

/** Rows of `key  value`; keys come from the logs (principals, IPs, error codes), so they are made terminal-safe. */
function table(rows: Array<[string, number | string]>, indent = '  '): string[] {
  const safe = rows.map(([k, v]): [string, number | string] => [terminalSafe(k), v]);
  const width = Math.max(0, ...safe.map(([k]) => k.length));
  return safe.map(([k, v]) => `${indent}${k.padEnd(width)}  ${typeof v === 'number' ? v.toLocaleString('en-US') : v}`);
}

export function formatSummaryTable(s: SummaryJson): string {
  const out: string[] = [];
  const section = (title: string, rows: Array<[string, number | string]>) => {
    out.push(`${title}`);
    out.push(...(rows.length > 0 ? table(rows) : ['  (none)']));
    out.push('');
  };
  out.push(
    `CloudTrail summary: ${s.events.toLocaleString('en-US')} events from ${s.files.read} files`,
    s.timeSpan ? `time span: ${s.timeSpan.first} → ${s.timeSpan.last}` : 'time span: (no events)',
    '',
  );
  section('accounts', s.accounts);
  section('regions', s.regions);
  section('event sources', s.sources);
  section('APIs', s.apis);
  section('writes vs reads', [
    ['writes', s.writes],
    ['reads', s.reads],
    ['read/write inferred from API name', s.readOnlyInferred],
  ]);
  section(`errors (${s.errors.toLocaleString('en-US')} events)`, s.errorCodes);
  section('top principals', s.principals);
  section('top source IPs', s.sourceIps);
  const c = s.consoleSignIns;
  section('console sign-ins', [
    ['success', c.success],
    ['failure', c.failure],
    ['with MFA', c.withMfa],
    ['without MFA', c.withoutMfa],
    ...c.successWithoutMfa.map(([p, n]): [string, number] => [`successful without MFA: ${p}`, n]),
  ]);
  section('files', [
    ...Object.entries(s.files.byKind).map(([k, n]): [string, number] => [`read (${k})`, n]),
    ...Object.entries(s.files.ignored).map(([k, n]): [string, number] => [`ignored (${k})`, n]),
    ['could not be read fully', s.files.failed.length],
  ]);
  if (s.files.failed.length > 0) {
    out.push('unreadable or partly read files');
    for (const f of s.files.failed) out.push(`  ${terminalSafe(f.file)} @${f.offset}: ${f.kind}`);
    out.push('');
  }
  section(`skipped records (of ${s.records.toLocaleString('en-US')})`, Object.entries(s.skippedRecords));
  return `${out.join('\n').trimEnd()}\n`;
}

export const command: CliCommand = {
  summary: 'summarize CloudTrail files: span, accounts, APIs, errors, principals, sign-ins, bad files',
  async run(argv, io) {
    const parsed = parseOrExit('summary', HELP, argv, parse, io);
    if (typeof parsed === 'number') return parsed;
    const { values, positionals } = parsed;
    let format: 'table' | 'json';
    let topN: number;
    let threads: number | undefined;
    try {
      format = choice('--format', values.format, ['table', 'json'] as const, 'table');
      topN = wholeNumber('--top', values.top, 10);
      threads = values.threads === undefined ? undefined : wholeNumber('--threads', values.threads, 0, 0);
      if (positionals.length === 0) throw new UsageError('no path given');
    } catch (e) {
      if (e instanceof UsageError) return usageError('summary', io, e.message);
      throw e;
    }
    const { summary, inputs } = await summarize(positionals, threads, io);
    const json = summary.toJSON(topN);
    io.stdout(format === 'json' ? `${JSON.stringify(json, null, 2)}\n` : formatSummaryTable(json));
    return inputs.finish();
  },
};
