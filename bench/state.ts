/**
 * `npx tsx bench/state.ts [principals,…] [days,…] [detector JSON]` (also part of `npm run bench`): how the detection state grows with the size of a
 * partition, and what each file costs in the state store, through the deployed orchestration
 * (bench/pipeline-driver.ts) over busy partitions of 100, 1,000 and 5,000 principals × 30 APIs each
 * (bench/scenarios/busy.ts: real record shapes, 100 events per file, a file every 5 minutes).
 *
 * Printed after day 1, 7 and 30 of each: the state kept (the head and the pages; the per-file deltas apart,
 * which expire after the dedupe retention), and over that day, per file: bytes written and read, DynamoDB
 * write and read units, and CPU ms (ingest + the evaluator's share). The target: bytes written per
 * file within 2× of each other across partition sizes.
 */
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { pageIds } from '../lambda/core/detect';
import { PipelineDriver } from './pipeline-driver';
import { busyBackground, busyDay } from './scenarios/busy';

const GRYCAP_DAY = path.resolve(__dirname, '../../shared/data/grycap-cloudtrail-tracker/examples');
const KEY = '123456789012';

export interface GrowthRow {
  readonly principals: number;
  readonly day: number;
  readonly stateBytes: number;
  readonly pages: number;
  readonly deltaBytes: number;
  readonly writtenPerFile: number;
  readonly readPerFile: number;
  readonly wruPerFile: number;
  readonly rruPerFile: number;
  readonly cpuMsPerFile: number;
  readonly compactions: number;
  /** What the state holds: series, principals remembered, and the compressed bytes of the series' baselines. */
  readonly series: number;
  readonly principalsKept: number;
  readonly seriesBytes: number;
}

/** Counts what a partition's pages hold, and the gzip size of their series baselines alone. */
async function composition(
  driver: PipelineDriver,
): Promise<Pick<GrowthRow, 'series' | 'principalsKept' | 'seriesBytes'>> {
  const head = (await driver.store.getHead(KEY))?.head;
  if (!head) return { series: 0, principalsKept: 0, seriesBytes: 0 };
  const pages = [...(await driver.store.getPages(KEY, pageIds(head))).values()];
  return {
    series: pages.reduce((n, p) => n + Object.keys(p.series).length, 0),
    principalsKept: pages.reduce((n, p) => n + Object.keys(p.seen).length, 0),
    seriesBytes: pages.reduce((n, p) => n + gzipSync(JSON.stringify(p.series)).length, 0),
  };
}

export async function runStateBench(
  options: {
    principals?: number[];
    days?: number[];
    /** Detector configuration (the defaults otherwise). */
    detector?: Record<string, unknown>;
    log?: (line: string) => void;
  } = {},
): Promise<GrowthRow[]> {
  const sizes = options.principals ?? [100, 1000, 5000];
  const marks = options.days ?? [1, 7, 30];
  const background = busyBackground(GRYCAP_DAY);
  const rows: GrowthRow[] = [];
  for (const principals of sizes) {
    const driver = new PipelineDriver(options.detector);
    const lastDay = Math.max(...marks);
    for (let day = 0; day < lastDay; day++) {
      // Per-file figures are averaged over the days since the previous mark: compactions are days apart.
      if (day === 0 || marks.includes(day)) driver.resetTotals();
      for (const f of busyDay(background, { principals, seed: 11 }, day)) await driver.file(f);
      if (!marks.includes(day + 1)) continue;
      const t = driver.totals;
      const stored = driver.store.storedBytes(KEY);
      const head = await driver.store.getHead(KEY);
      rows.push({
        principals,
        day: day + 1,
        stateBytes: stored.head + stored.pages,
        pages: head?.head?.pages.length ?? 0,
        deltaBytes: stored.deltas,
        writtenPerFile: t.units.bytesWritten / t.files,
        readPerFile: t.units.bytesRead / t.files,
        wruPerFile: t.units.writeUnits / t.files,
        rruPerFile: t.units.readUnits / t.files,
        cpuMsPerFile: (t.ingestCpuMs + t.advanceCpuMs) / t.files,
        compactions: t.compactions,
        ...(await composition(driver)),
      });
      options.log?.(`  ${principals} principals, day ${day + 1} done`);
    }
  }
  return rows;
}

const kb = (b: number) => `${(b / 1024).toFixed(1)} KB`;
const bytes = (b: number) => `${Math.round(b)} B`;

export function formatGrowth(rows: GrowthRow[]): string {
  const lines = [
    'Detection state by partition size (busy partitions: principals × 30 APIs, 100 events per file, a file every 5 min;',
    'the deployed orchestration on the in-memory store that charges DynamoDB request units; per-file figures averaged over',
    'the days since the previous row, e.g. days 8–30 on the day-30 row)',
    '',
    '| principals | day | state (head + pages) | pages | series | principals kept | per principal | per series (baseline) | deltas kept | written/file | read/file | WRU/file | RRU/file | CPU ms/file | compactions |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.principals.toLocaleString('en-US')} | ${r.day} | ${kb(r.stateBytes)} | ${r.pages} | ${r.series.toLocaleString('en-US')} | ${r.principalsKept.toLocaleString('en-US')} | ${bytes(r.stateBytes / Math.max(1, r.principalsKept))} | ${bytes(r.seriesBytes / Math.max(1, r.series))} | ${kb(r.deltaBytes)} | ${kb(r.writtenPerFile)} | ${kb(r.readPerFile)} | ${r.wruPerFile.toFixed(2)} | ${r.rruPerFile.toFixed(2)} | ${r.cpuMsPerFile.toFixed(2)} | ${r.compactions} |`,
    );
  }
  const lastDay = Math.max(...rows.map((r) => r.day));
  const last = rows.filter((r) => r.day === lastDay);
  if (last.length > 1) {
    const w = last.map((r) => r.writtenPerFile);
    const spread = Math.max(...w) / Math.min(...w);
    lines.push(
      '',
      `bytes written per file up to day ${lastDay}, largest / smallest partition: ${spread.toFixed(2)}× (target ≤ 2×: ${spread <= 2 ? 'met' : 'MISSED'})`,
    );
  }
  return `${lines.join('\n')}\n`;
}

if (require.main === module) {
  const principals = process.argv[2] ? process.argv[2].split(',').map(Number) : undefined;
  const days = process.argv[3] ? process.argv[3].split(',').map(Number) : undefined;
  const detector = process.argv[4] ? JSON.parse(process.argv[4]) : undefined;
  runStateBench({ principals, days, detector, log: (l) => process.stderr.write(`${l}\n`) })
    .then((rows) => process.stdout.write(formatGrowth(rows)))
    .catch((e) => {
      process.stderr.write(`${(e as Error).stack}\n`);
      process.exit(1);
    });
}
