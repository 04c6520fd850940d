/**
 * One measurement in a fresh process (so peak RSS belongs to one approach only). Prints one JSON line.
 *
 *   baseline <file>: readFileSync + gunzipSync + toString + JSON.parse of the whole document + a Map count per
 *                    eventName (the simplest correct program, and what toolchain.md §7 measured)
 *   core <file>:     the ingest core as the Lambda runs it: stream → readTrailEventBatches (gunzip, split, JSON.parse per
 *                    record, normalize, eventID dedupe) → TrailAggregate
 *   baseline-tree <dir>, core-tree <dir>: the same two over every delivery file of a tree, one file after another
 *                    (many small files: the usual CloudTrail delivery is tens of KB)
 *   detect <file>:   the ingest core (without the aggregate) → the detection engine, as the ingest Lambda and
 *                    `trailsight detect` run it: the file's events are collected, then `ingestFile` counts and tests
 *                    them; also reports the engine's state size per thousand active series
 *   detect-tree <dir>, detect-tree-classic <dir>: `trailsight detect`'s replay of a tree (reader, deltas, every
 *                    detector, the evaluator's ticks), with every detector, and with the detectors issue 14 added
 *                    turned off (unused-region, s3-exfiltration, console-brute-force, the long window; their
 *                    series are still counted into the deltas, so the difference is what their tests cost)
 *   detect-stages <dir>: `trailsight detect --threads 0 --no-rules`'s own calls on a tree of named log files (read
 *                    each file, build its delta, apply it), each stage timed on its own: where detect's time goes
 */
import { createReadStream, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { detectFiles } from '../../cli/commands/detect';
import { type LocalFile, listLocalFiles, openLocalRecords } from '../../lambda/adapters/local-files';
import { readLocalFileEvents } from '../../lambda/adapters/local-reader';
import { TrailAggregate } from '../../lambda/core/aggregate';
import { AccountDedupers, EventIdDeduper } from '../../lambda/core/dedupe';
import {
  compareDeltas,
  type DetectConfigInput,
  fileIdentity,
  Replay,
  serializeReplayState,
} from '../../lambda/core/detect';
import type { TrailEvent } from '../../lambda/core/event';
import { createReadReport, readTrailEventBatches } from '../../lambda/core/reader';

export interface WorkerResult {
  readonly events: number;
  /** Wall-clock time of the measured work. */
  readonly ms: number;
  /** CPU time (user + system, all threads: zlib's stream work runs on the libuv pool) of the measured work. */
  readonly cpuMs: number;
  readonly jsonBytes: number;
  readonly maxRssMB: number;
  /** detect only: insights emitted, and serialized engine state bytes per thousand active series. */
  readonly insights?: number;
  readonly stateBytesPerThousandSeries?: number;
  /** detect-stages only: files, and the wall time of each stage (the garbage collector's pauses included). */
  readonly files?: number;
  readonly stages?: { readonly readMs: number; readonly deltaMs: number; readonly engineMs: number };
}

type Measured = Omit<WorkerResult, 'maxRssMB' | 'cpuMs'>;

async function baseline(file: string): Promise<Measured> {
  const t0 = performance.now();
  const json = gunzipSync(readFileSync(file));
  const doc = JSON.parse(json.toString('utf8')) as { Records: Array<{ eventName?: string }> };
  const counts = new Map<string, number>();
  for (const r of doc.Records) counts.set(r.eventName ?? '', (counts.get(r.eventName ?? '') ?? 0) + 1);
  return { events: doc.Records.length, ms: performance.now() - t0, jsonBytes: json.length };
}

async function core(file: string): Promise<Measured> {
  const t0 = performance.now();
  const aggregate = new TrailAggregate();
  const report = createReadReport(file);
  const dedupe = new EventIdDeduper();
  const source = createReadStream(file, { highWaterMark: 1024 * 1024 });
  for await (const batch of readTrailEventBatches(source, { file, report, dedupe })) {
    for (const event of batch) aggregate.add(event);
  }
  if (!report.complete) throw new Error(`core read failed: ${report.errors[0]?.message}`);
  return { events: aggregate.events, ms: performance.now() - t0, jsonBytes: report.bytesScanned };
}

async function treeFiles(dir: string): Promise<LocalFile[]> {
  const files = await listLocalFiles([dir]);
  return files.filter((f) => f.info.kind === 'log');
}

async function baselineTree(dir: string): Promise<Measured> {
  const files = await treeFiles(dir);
  const t0 = performance.now();
  const counts = new Map<string, number>();
  let events = 0;
  let jsonBytes = 0;
  for (const { path: file } of files) {
    const json = gunzipSync(readFileSync(file));
    jsonBytes += json.length;
    const doc = JSON.parse(json.toString('utf8')) as { Records: Array<{ eventName?: string }> };
    for (const r of doc.Records) counts.set(r.eventName ?? '', (counts.get(r.eventName ?? '') ?? 0) + 1);
    events += doc.Records.length;
  }
  return { events, ms: performance.now() - t0, jsonBytes };
}

async function coreTree(dir: string): Promise<Measured> {
  const files = await treeFiles(dir);
  const t0 = performance.now();
  const aggregate = new TrailAggregate();
  const dedupe = new EventIdDeduper();
  let jsonBytes = 0;
  for (const local of files) {
    const file = local.path;
    const report = createReadReport(file);
    for await (const batch of readTrailEventBatches(openLocalRecords(local), { file, report, dedupe })) {
      for (const event of batch) aggregate.add(event);
    }
    if (!report.complete) throw new Error(`core read failed: ${report.errors[0]?.message}`);
    jsonBytes += report.bytesScanned;
  }
  return { events: aggregate.events, ms: performance.now() - t0, jsonBytes };
}

async function detect(file: string): Promise<Measured> {
  const t0 = performance.now();
  const report = createReadReport(file);
  const dedupe = new EventIdDeduper();
  const events: TrailEvent[] = [];
  const source = createReadStream(file, { highWaterMark: 1024 * 1024 });
  for await (const batch of readTrailEventBatches(source, { file, report, dedupe })) {
    for (const event of batch) events.push(event);
  }
  if (!report.complete) throw new Error(`core read failed: ${report.errors[0]?.message}`);
  // The generated files are not named like deliveries: take the partition from the events and deliver the
  // file five minutes after its last event, as CloudTrail would.
  let last = 0;
  for (const e of events) if (e.time > last) last = e.time;
  const engine = new Replay();
  const insights = engine.ingestFile(
    {
      account: events[0]?.account ?? '000000000000',
      region: events[0]?.region ?? 'us-east-1',
      deliveredAt: last + 300_000,
      file,
    },
    events,
  );
  const ms = performance.now() - t0;
  const state = engine.snapshot();
  const series = Object.values(state.partitions).reduce(
    (n, p) => n + new Set(p.deltas.flatMap((d) => Object.keys(d.series))).size,
    0,
  );
  const bytes = Buffer.byteLength(serializeReplayState(state));
  return {
    events: events.length,
    ms,
    jsonBytes: report.bytesScanned,
    insights: insights.length,
    stateBytesPerThousandSeries: series > 0 ? (bytes / series) * 1000 : 0,
  };
}

/** The detectors and the long window that issue 14 added, off. */
const CLASSIC: DetectConfigInput = {
  longWindow: { enabled: false },
  detectors: {
    'unused-region': { enabled: false },
    's3-exfiltration': { enabled: false },
    'console-brute-force': { enabled: false },
  },
};

async function detectTreeWith(dir: string, config: DetectConfigInput): Promise<Measured> {
  const files = await listLocalFiles([dir]);
  const t0 = performance.now();
  const engine = new Replay(config);
  let insights = 0;
  const stats = await detectFiles(files, engine, () => insights++, {
    stdout: () => {},
    stderr: (t) => process.stderr.write(t),
    stderrIsTty: false,
  });
  if (stats.failed > 0) throw new Error(`detect: ${stats.failed} files failed`);
  return { events: stats.events, ms: performance.now() - t0, jsonBytes: 0, insights };
}

/**
 * The one-thread replay of `detectFiles` (cli/commands/detect.ts) without rules, for a tree of named log files,
 * with a clock around each of its three steps per file: `readLocalFileEvents` (as `readHere`, deduped per account),
 * the file's delta (`Replay.ingestFile`'s builder), and `applyDelta` (the engine: due ticks, window tests,
 * compactions). Its insights are the command's (the bench checks the count).
 */
async function detectStages(dir: string): Promise<Measured> {
  const files = await listLocalFiles([dir]);
  const t0 = performance.now();
  const planned = files.map((file) => {
    const { kind, account, region, deliveredAt } = file.info;
    if (kind !== 'log' || !account || !region || deliveredAt === undefined)
      throw new Error(`detect-stages: ${file.path} is not a named CloudTrail log file`);
    return { file, delivered: { account, region, deliveredAt, file: fileIdentity(file.key) } };
  });
  planned.sort((a, b) => compareDeltas(a.delivered, b.delivered));
  const engine = new Replay();
  const dedupers = new AccountDedupers();
  let [readMs, deltaMs, engineMs, events, insights] = [0, 0, 0, 0, 0];
  for (const { file, delivered } of planned) {
    const t1 = performance.now();
    const report = createReadReport(file.path);
    const read = await readLocalFileEvents(file, {
      file: file.path,
      report,
      dedupe: dedupers.of(delivered.account),
      fallbackAccount: delivered.account,
    });
    if (!report.complete) throw new Error(`detect-stages: ${file.path}: ${report.errors[0]?.message}`);
    const t2 = performance.now();
    const builder = engine.deltaBuilder(delivered);
    for (const e of read) builder.add(e);
    const delta = builder.finish();
    const t3 = performance.now();
    insights += engine.applyDelta(delta).length;
    const t4 = performance.now();
    readMs += t2 - t1;
    deltaMs += t3 - t2;
    engineMs += t4 - t3;
    events += read.length;
  }
  return {
    events,
    ms: performance.now() - t0,
    jsonBytes: 0,
    insights,
    files: planned.length,
    stages: { readMs, deltaMs, engineMs },
  };
}

async function main(): Promise<void> {
  const [mode, file] = process.argv.slice(2);
  const modes = {
    baseline,
    core,
    detect,
    'baseline-tree': baselineTree,
    'core-tree': coreTree,
    'detect-tree': (dir: string) => detectTreeWith(dir, {}),
    'detect-tree-classic': (dir: string) => detectTreeWith(dir, CLASSIC),
    'detect-stages': detectStages,
  };
  const run = modes[mode as keyof typeof modes];
  if (!run || !file) throw new Error(`usage: worker.ts ${Object.keys(modes).join('|')} <file or dir>`);
  const cpu0 = process.cpuUsage();
  const r = await run(file);
  const cpu = process.cpuUsage(cpu0);
  const result: WorkerResult = {
    ...r,
    cpuMs: (cpu.user + cpu.system) / 1000,
    maxRssMB: process.resourceUsage().maxRSS / 1024,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
