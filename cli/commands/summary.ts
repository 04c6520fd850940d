/**
 * `trailsight summary <path...>`: reads delivery trees (any depth) or single files through the ingest core and
 * prints what an auditor wants first. Results on stdout (`--format table|json`), progress and warnings on stderr.
 */
import { parseArgs } from 'node:util';
import { type LocalFile, listLocalFiles, openLocalRecords } from '../../lambda/adapters/local-files';
import { EventIdDeduper } from '../../lambda/core/dedupe';
import { createReadReport, readTrailEvents } from '../../lambda/core/reader';
import { SummaryBuilder, type SummaryJson } from '../../lambda/core/summary';
import { type CliCommand, type CliIo, parseOrExit } from '../io';

const HELP = `usage: trailsight summary <path...> [--format table|json] [--top N]

Reads CloudTrail delivery files (.json.gz or .json, {"Records":[...]} or a bare array; .jsonl one event per
line) from the given files and directories (any depth) and prints: time span, accounts, regions, events by
source and API, writes vs reads, errors by code, top principals and source IPs, console sign-ins, and the
files or records that were skipped or could not be read. Digest files and non-CloudTrail objects under
AWSLogs/ (e.g. AWS Config's probe) are listed as ignored, not read.

options:
  --format table|json   output format (default: table)
  --top N               rows per ranking (default: 10)
  -h, --help            this text

exit status: 0 when every file was read, 1 when some file could not be read fully, 2 on bad usage.
`;

/** Why a listed file is not read. */
function ignoreReason(f: LocalFile): string | undefined {
  if (f.format === 'other') return 'not JSON';
  if (f.info.kind === 'digest') return 'digest file';
  if (f.info.kind === 'foreign' && /(^|\/)AWSLogs\//.test(f.key)) return 'not a CloudTrail object';
  return undefined;
}

async function summarize(files: LocalFile[], io: CliIo): Promise<SummaryBuilder> {
  const summary = new SummaryBuilder();
  const dedupe = new EventIdDeduper();
  const progress = new Progress(
    io,
    files.reduce((n, f) => n + f.size, 0),
  );
  for (const f of files) {
    const reason = ignoreReason(f);
    if (reason) {
      summary.addIgnored(reason);
      progress.advance(f.size, 0);
      continue;
    }
    const report = createReadReport(f.path);
    const source = openLocalRecords(f);
    let events = 0;
    for await (const event of readTrailEvents(source, {
      file: f.path,
      report,
      dedupe,
      fallbackAccount: f.info.account,
    })) {
      summary.add(event);
      events++;
    }
    summary.addReport(f.info.kind === 'foreign' ? 'file' : f.info.kind, report);
    for (const e of report.errors) progress.warn(`warning: ${e.message}`);
    progress.advance(f.size, events);
  }
  progress.done(files.length);
  return summary;
}

/** A redrawing bar on a TTY; a single closing line otherwise (so logs stay readable). */
class Progress {
  private bytes = 0;
  private files = 0;
  private events = 0;
  private lastDraw = 0;
  private readonly started = Date.now();

  constructor(
    private readonly io: CliIo,
    private readonly totalBytes: number,
  ) {}

  advance(bytes: number, events: number): void {
    this.bytes += bytes;
    this.files++;
    this.events += events;
    if (!this.io.stderrIsTty) return;
    const now = Date.now();
    if (now - this.lastDraw < 100 && this.bytes < this.totalBytes) return;
    this.lastDraw = now;
    const share = this.totalBytes > 0 ? this.bytes / this.totalBytes : 1;
    const width = 24;
    const filled = Math.round(share * width);
    this.io.stderr(
      `\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(share * 100).toFixed(0).padStart(3)}%  ${this.files} files  ${this.events} events`,
    );
  }

  warn(text: string): void {
    this.io.stderr(`${this.io.stderrIsTty ? '\r\x1b[K' : ''}${text}\n`);
  }

  done(files: number): void {
    const seconds = ((Date.now() - this.started) / 1000).toFixed(1);
    const mb = (this.bytes / 1024 / 1024).toFixed(1);
    this.io.stderr(
      `${this.io.stderrIsTty ? '\r\x1b[K' : ''}${files} files (${mb} MB) processed, ${this.events} events, in ${seconds} s\n`,
    );
  }
}

function table(rows: Array<[string, number | string]>, indent = '  '): string[] {
  const width = Math.max(0, ...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${indent}${k.padEnd(width)}  ${typeof v === 'number' ? v.toLocaleString('en-US') : v}`);
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
    for (const f of s.files.failed) out.push(`  ${f.file} @${f.offset}: ${f.kind}`);
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
    const format = values.format ?? 'table';
    const topN = Number(values.top ?? '10');
    if ((format !== 'table' && format !== 'json') || !Number.isInteger(topN) || topN < 1 || positionals.length === 0) {
      io.stderr(`trailsight summary: ${positionals.length === 0 ? 'no path given' : 'bad option value'}\n\n${HELP}`);
      return 2;
    }
    let files: LocalFile[];
    try {
      files = await listLocalFiles(positionals);
    } catch (e) {
      io.stderr(`trailsight summary: ${(e as Error).message}\n`);
      return 2;
    }
    const summary = (await summarize(files, io)).toJSON(topN);
    io.stdout(format === 'json' ? `${JSON.stringify(summary, null, 2)}\n` : formatSummaryTable(summary));
    return summary.files.failed.length > 0 ? 1 : 0;
  },
};

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      format: { type: 'string' },
      top: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}
