/**
 * `trailsight report <path...> -o report.html`: one self-contained HTML page with the insights on a timeline,
 * each insight's counts against its expected band, the top principals, APIs, errors and sign-ins, and the
 * query to run next for each insight.
 *
 * From logs it runs the same code as `trailsight summary` and `trailsight detect` (the reader, `detectFiles`,
 * `Replay`) and a second pass over the same files to count each insight's series; with `--insights`
 * it takes insight events from a JSONL file instead of detecting (logs then only add the summary and series).
 */
import { createReadStream } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { type LocalFile, listLocalFiles } from '../../lambda/adapters/local-files';
import {
  type DeliveredFile,
  DetectConfigError,
  type InsightEvent,
  Replay,
  resolveDetectConfig,
} from '../../lambda/core/detect';
import type { TrailEvent } from '../../lambda/core/event';
import { parseInsightEvent } from '../../lambda/core/findings/sources';
import { SummaryBuilder } from '../../lambda/core/summary';
import { type CliCommand, type CliIo, parseOrExit } from '../io';
import { renderReport } from '../report/html';
import { type Episode, episodesOf, SeriesCollector } from '../report/series';
import { detectFiles, type InsightSource } from './detect';

const HELP = `usage: trailsight report <path...> [-o FILE] [--insights FILE] [--config FILE] [--title TEXT]

Writes one self-contained HTML page (no network at view time) about CloudTrail logs: the insights on a
timeline; for each insight, the counts its detector tested against the band the learned baseline expected,
around the episode, its explanation and the forensic query to run next; the top principals, APIs, errors and
console sign-ins. The logs are read (files and directories, any depth, as \`trailsight detect\` reads them) and
replayed through the detection engine, then read once more to count each insight's series.

options:
  -o, --output FILE    where to write the page (default: report.html)
  --insights FILE      take insight events from this JSONL file (\`trailsight detect --format jsonl\`) instead of
                       detecting; with no log path the page shows the insights alone
  --config FILE        JSON thresholds and suppressions for the detection (see docs/detection.md)
  --title TEXT         the page title (default: Trailsight report)
  -h, --help           this text

exit status: 0 when every input was read, 1 when some log file or insight line could not be read (the page is
still written), 2 on bad usage or a bad config file.
`;

/**
 * Feeds every event detectFiles reads to the summary and the series, and passes files on to the engine (or to
 * nothing, on a counting pass).
 */
class Tap implements InsightSource {
  constructor(
    private readonly sinks: ((ev: TrailEvent) => void)[],
    private readonly engine?: Replay,
  ) {}

  ingestFile(file: DeliveredFile, events: Iterable<TrailEvent>): InsightEvent[] {
    const list = Array.isArray(events) ? (events as TrailEvent[]) : [...events];
    for (const ev of list) for (const sink of this.sinks) sink(ev);
    return this.engine ? this.engine.ingestFile(file, list) : [];
  }

  tick(now: number): InsightEvent[] {
    return this.engine ? this.engine.tick(now) : [];
  }
}

async function readInsights(file: string, io: CliIo): Promise<{ insights: InsightEvent[]; skipped: number }> {
  const insights: InsightEvent[] = [];
  let skipped = 0;
  let lineNo = 0;
  for await (const line of createInterface({ input: createReadStream(file), crlfDelay: Number.POSITIVE_INFINITY })) {
    lineNo++;
    if (line.trim() === '') continue;
    try {
      insights.push(parseInsightEvent(JSON.parse(line)));
    } catch (e) {
      skipped++;
      if (skipped <= 20) io.stderr(`warning: ${file}:${lineNo}: skipped: ${(e as Error).message}\n`);
    }
  }
  return { insights, skipped };
}

export const command: CliCommand = {
  summary: 'write a self-contained HTML report: insights on a timeline, counts against baselines, top activity',
  async run(argv, io) {
    const parsed = parseOrExit('report', HELP, argv, parse, io);
    if (typeof parsed === 'number') return parsed;
    const { values, positionals } = parsed;
    if (positionals.length === 0 && !values.insights) {
      io.stderr(`trailsight report: give log paths, --insights FILE, or both\n\n${HELP}`);
      return 2;
    }
    const output = values.output ?? 'report.html';
    let config: ReturnType<typeof resolveDetectConfig>;
    try {
      config = resolveDetectConfig(values.config ? JSON.parse(await readFile(values.config, 'utf8')) : {});
    } catch (e) {
      const what = e instanceof DetectConfigError || e instanceof SyntaxError ? 'bad config' : 'cannot read config';
      io.stderr(`trailsight report: ${what}: ${(e as Error).message}\n`);
      return 2;
    }
    let files: LocalFile[] = [];
    try {
      if (positionals.length > 0) files = await listLocalFiles(positionals);
    } catch (e) {
      io.stderr(`trailsight report: ${(e as Error).message}\n`);
      return 2;
    }

    let problems = 0;
    let insights: InsightEvent[];
    const summary = positionals.length > 0 ? new SummaryBuilder() : undefined;
    const summarize = summary ? [(ev: TrailEvent) => summary.add(ev)] : [];
    let episodes: Episode[];
    let collector: SeriesCollector | undefined;
    if (values.insights) {
      try {
        const read = await readInsights(values.insights, io);
        insights = read.insights;
        problems += read.skipped;
      } catch (e) {
        io.stderr(`trailsight report: cannot read ${values.insights}: ${(e as Error).message}\n`);
        return 2;
      }
      episodes = episodesOf(insights);
      if (files.length > 0) {
        // Insights known up front: one pass gives the summary and the series.
        const c = new SeriesCollector(episodes);
        collector = c;
        const stats = await detectFiles(files, new Tap([...summarize, (ev) => c.add(ev)]), () => {}, io);
        problems += stats.failed;
      }
    } else {
      insights = [];
      const stats = await detectFiles(files, new Tap(summarize, new Replay(config)), (i) => insights.push(i), io);
      problems += stats.failed;
      episodes = episodesOf(insights);
      const c = new SeriesCollector(episodes);
      collector = c;
      // Second pass: the episodes are known now; count their series from the same files.
      await detectFiles(files, new Tap([(ev) => c.add(ev)]), () => {}, { ...io, stderr: () => {} });
    }

    const series = collector?.series();
    const html = renderReport({
      title: values.title ?? 'Trailsight report',
      sources: [...positionals, ...(values.insights ? [values.insights] : [])],
      summary: summary?.toJSON(10),
      episodes: episodes.map((episode, i) => ({ episode, ...(series ? { series: series[i] } : {}) })),
      logsArgument: positionals.length === 1 ? positionals[0] : '<logs>',
    });
    // Write then rename: a reader never sees half a page.
    const tmp = `${output}.tmp`;
    try {
      await writeFile(tmp, html);
      await rename(tmp, output);
    } catch (e) {
      io.stderr(`trailsight report: cannot write ${output}: ${(e as Error).message}\n`);
      return 2;
    }
    io.stderr(`${output}: ${episodes.length} insights, ${(Buffer.byteLength(html) / 1024).toFixed(0)} KB\n`);
    return problems > 0 ? 1 : 0;
  },
};

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      output: { type: 'string', short: 'o' },
      insights: { type: 'string' },
      config: { type: 'string' },
      title: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}
