/**
 * One measurement in a fresh process (so peak RSS belongs to one approach only). Prints one JSON line.
 *
 *   baseline <file>: readFileSync + gunzipSync + toString + JSON.parse of the whole document + a Map count per
 *                    eventName (the simplest correct program, and what toolchain.md §7 measured)
 *   core <file>:     the ingest core as the Lambda runs it: stream → readTrailEventBatches (gunzip, split, JSON.parse per
 *                    record, normalize, eventID dedupe) → TrailAggregate
 */
import { createReadStream, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { TrailAggregate } from '../../lambda/core/aggregate';
import { EventIdDeduper } from '../../lambda/core/dedupe';
import { createReadReport, readTrailEventBatches } from '../../lambda/core/reader';

export interface WorkerResult {
  readonly events: number;
  /** Wall-clock time of the measured work. */
  readonly ms: number;
  /** CPU time (user + system, all threads: zlib's stream work runs on the libuv pool) of the measured work. */
  readonly cpuMs: number;
  readonly jsonBytes: number;
  readonly maxRssMB: number;
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

async function main(): Promise<void> {
  const [mode, file] = process.argv.slice(2);
  const run = mode === 'baseline' ? baseline : mode === 'core' ? core : undefined;
  if (!run || !file) throw new Error('usage: worker.ts baseline|core <file>');
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
