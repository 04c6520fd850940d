/**
 * `npx tsx bench/state.ts` (also part of `npm run bench`): how the detection state grows with the size of a
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
import { PipelineDriver } from './pipeline-driver';
import { busyBackground, busyDay } from './scenarios/busy';

const GRYCAP_DAY = path.resolve(__dirname, '../../shared/data/grycap-cloudtrail-tracker/examples');
const KEY = '123456789012|us-east-1';

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
}

export async function runStateBench(
  options: { principals?: number[]; days?: number[]; log?: (line: string) => void } = {},
): Promise<GrowthRow[]> {
  const sizes = options.principals ?? [100, 1000, 5000];
  const marks = options.days ?? [1, 7, 30];
  const background = busyBackground(GRYCAP_DAY);
  const rows: GrowthRow[] = [];
  for (const principals of sizes) {
    const driver = new PipelineDriver();
    const lastDay = Math.max(...marks);
    for (let day = 0; day < lastDay; day++) {
      driver.resetTotals();
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
      });
      options.log?.(`  ${principals} principals, day ${day + 1} done`);
    }
  }
  return rows;
}

const kb = (b: number) => `${(b / 1024).toFixed(1)} KB`;

export function formatGrowth(rows: GrowthRow[]): string {
  const lines = [
    'Detection state by partition size (busy partitions: principals × 30 APIs, 100 events per file, a file every 5 min;',
    'the deployed orchestration on the in-memory store that charges DynamoDB request units; per-file figures over the day shown)',
    '',
    '| principals | day | state (head + pages) | pages | deltas kept | written/file | read/file | WRU/file | RRU/file | CPU ms/file | compactions that day |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.principals.toLocaleString('en-US')} | ${r.day} | ${kb(r.stateBytes)} | ${r.pages} | ${kb(r.deltaBytes)} | ${kb(r.writtenPerFile)} | ${kb(r.readPerFile)} | ${r.wruPerFile.toFixed(2)} | ${r.rruPerFile.toFixed(2)} | ${r.cpuMsPerFile.toFixed(2)} | ${r.compactions} |`,
    );
  }
  const lastDay = Math.max(...rows.map((r) => r.day));
  const last = rows.filter((r) => r.day === lastDay);
  if (last.length > 1) {
    const w = last.map((r) => r.writtenPerFile);
    const spread = Math.max(...w) / Math.min(...w);
    lines.push(
      '',
      `bytes written per file on day ${lastDay}, largest / smallest partition: ${spread.toFixed(2)}× (target ≤ 2×: ${spread <= 2 ? 'met' : 'MISSED'})`,
    );
  }
  return `${lines.join('\n')}\n`;
}

if (require.main === module) {
  const principals = process.argv[2] ? process.argv[2].split(',').map(Number) : undefined;
  const days = process.argv[3] ? process.argv[3].split(',').map(Number) : undefined;
  runStateBench({ principals, days, log: (l) => process.stderr.write(`${l}\n`) })
    .then((rows) => process.stdout.write(formatGrowth(rows)))
    .catch((e) => {
      process.stderr.write(`${(e as Error).stack}\n`);
      process.exit(1);
    });
}
