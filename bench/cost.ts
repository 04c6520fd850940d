/**
 * `npx tsx bench/cost.ts` (part of `npm run bench`): what the deployed detection pipeline costs, per delivery
 * file and per million CloudTrail events, against the per-file floor (what any pipeline pays just to read a
 * delivered file) and against CloudTrail Insights' $3.50 per million events per insight type.
 *
 * Each workload runs through the deployed orchestration in this process (bench/pipeline-driver.ts: the
 * ingest records each file's delta, the evaluator advances the partition at every scheduled minute with
 * work), on the in-memory state store that charges DynamoDB request units item by item as DynamoDB would.
 * The floor's CPU is the reader alone over the same bytes, measured in the same run. Priced:
 *  - Lambda GB-seconds: measured CPU per file scaled to the memory's share of a vCPU (a full one at 1,769 MB),
 *    plus assumed I/O waits (S3 GET, DynamoDB calls: not measurable without AWS); requests per SQS batch;
 *  - SQS (EventBridge's send, the batched receive and delete), S3 GET, the KMS Decrypt of each SSE-KMS GET;
 *  - DynamoDB write and read units as the store counted them (deltas, heads, pages, the evaluator's scans and
 *    lookups); the evaluation fan-out (a segment message and invocation per run, per 250 partitions);
 *    PutEvents and an S3 PUT per insight.
 * Prices: us-east-1 list prices (PRICES), on-demand, no free tier.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { listLocalFiles } from '../lambda/adapters/local-files';
import { classifyKey } from '../lambda/core/keys';
import { createReadReport, readTrailEventBatches } from '../lambda/core/reader';
import { DETECTION_DEFAULTS } from '../lib/config';
import { type DrivenFile, PipelineDriver } from './pipeline-driver';
import { busyBackground, busyDay } from './scenarios/busy';
import { generateScenario, loadBackground } from './scenarios/generate';

const ROOT = path.resolve(__dirname, '..');
const GRYCAP_DAY = path.resolve(ROOT, '../shared/data/grycap-cloudtrail-tracker/examples');

/** us-east-1 list prices (USD), checked 2026-11. */
export const PRICES = {
  lambdaArmGbSecond: 0.0000133334,
  lambdaRequest: 0.2 / 1e6,
  sqsRequest: 0.4 / 1e6,
  s3Get: 0.4 / 1e6,
  s3Put: 5 / 1e6,
  kmsRequest: 0.03 / 1e4,
  dynamoWru: 0.625 / 1e6,
  dynamoRru: 0.125 / 1e6,
  putEventsEntry: 1 / 1e6,
  /** CloudTrail Insights: $0.35 per 100,000 events analysed, per insight type. */
  cloudTrailInsightsPerMillionPerType: 3.5,
};

/**
 * Assumed I/O wait (Lambda billed duration without CPU), not measurable without AWS: the S3 GET of a file
 * (first byte), and each DynamoDB call (a few ms in the same Region).
 */
export const S3_GET_WAIT_MS = 25;
export const DYNAMODB_CALL_WAIT_MS = 5;
/** The target: full cost at most this multiple of the per-file floor (issue 9). */
export const TARGET_OVER_FLOOR = 1.5;

interface Workload {
  readonly name: string;
  readonly description: string;
  /** Files in delivery order, all of one account + Region. */
  readonly files: DrivenFile[];
  /** Files before these that only warm the state up (not measured). */
  readonly warmup?: DrivenFile[];
}

export interface CostRow {
  readonly workload: string;
  readonly files: number;
  readonly events: number;
  readonly eventsPerFile: number;
  /** CPU ms per file: the reader alone (the floor's), and the pipeline's (ingest + evaluator share). */
  readonly readerMsPerFile: number;
  readonly msPerFile: number;
  readonly wruPerFile: number;
  readonly rruPerFile: number;
  readonly writtenPerFile: number;
  readonly insights: number;
  /** State-store units per file by what was read or written (where the DynamoDB bill goes). */
  readonly unitsByKind: Record<string, { wru: number; rru: number }>;
  /** USD per file: the floor (what reading a delivered file costs at all) and the pipeline's full cost. */
  readonly floorPerFile: number;
  readonly fullPerFile: number;
  /** USD per million events, by component. */
  readonly perMillion: Record<string, number>;
  readonly totalPerMillion: number;
}

async function measure(workload: Workload): Promise<CostRow> {
  const { files } = workload;
  // The floor's CPU: the reader alone over the same bytes (what any pipeline pays just to read the files).
  let readerEvents = 0;
  const b0 = process.cpuUsage();
  for (const f of files) {
    for await (const batch of readTrailEventBatches(once(f.body), { file: f.key, report: createReadReport(f.key) })) {
      readerEvents += batch.length;
    }
  }
  const readerCpu = process.cpuUsage(b0);

  const driver = new PipelineDriver();
  for (const f of workload.warmup ?? []) await driver.file(f);
  driver.resetTotals();
  for (const f of files) await driver.file(f);
  await driver.evaluateUntil(files[files.length - 1].deliveredAt + 10 * 60_000);
  const t = driver.totals;
  const unitsByKind = Object.fromEntries(
    Object.entries(driver.unitsByKind()).map(([k, u]) => [
      k,
      { wru: u.writeUnits / files.length, rru: u.readUnits / files.length },
    ]),
  );
  if (t.events !== readerEvents) throw new Error(`pipeline counted ${t.events} events, the reader ${readerEvents}`);

  const n = files.length;
  const readerMsPerFile = (readerCpu.user + readerCpu.system) / 1000 / n;
  const msPerFile = (t.ingestCpuMs + t.advanceCpuMs) / n;
  const memoryGb = DETECTION_DEFAULTS.memoryMb / 1024;
  // CPU time scales with the memory's share of a vCPU (a full vCPU at 1,769 MB).
  const cpuShare = Math.min(1, DETECTION_DEFAULTS.memoryMb / 1769);
  const gbSeconds = (ms: number) => (ms / 1000) * memoryGb * PRICES.lambdaArmGbSecond;
  const batch = DETECTION_DEFAULTS.batchSize;
  // The floor: a file notified (EventBridge → SQS, received and deleted in batches), one Lambda request per
  // batch, the S3 GET and its KMS Decrypt, and Lambda time to read and parse it.
  const floor = {
    SQS: (1 + 2 / batch) * PRICES.sqsRequest,
    'Lambda requests': PRICES.lambdaRequest / batch,
    'S3 GET': PRICES.s3Get,
    'KMS Decrypt': PRICES.kmsRequest,
    'Lambda time (read and parse)': gbSeconds(readerMsPerFile / cpuShare + S3_GET_WAIT_MS),
  };
  const ingestCalls = 2; // putDelta, getHead
  const advanceCalls = 5; // getHead, query, putHead, history query, outbox/late bookkeeping (typical)
  const evaluator = {
    // The ingest's extra CPU (the delta) and DynamoDB waits; the evaluator's advances.
    'Lambda time (detection)': gbSeconds(
      (msPerFile - readerMsPerFile) / cpuShare +
        ingestCalls * DYNAMODB_CALL_WAIT_MS +
        (t.advances / n) * advanceCalls * DYNAMODB_CALL_WAIT_MS,
    ),
    'DynamoDB writes': (t.units.writeUnits / n) * PRICES.dynamoWru,
    'DynamoDB reads': (t.units.readUnits / n) * PRICES.dynamoRru,
    // One evaluator invocation and one segment message per scheduled run, shared by the ~250 partitions of a
    // segment; the scheduler and the coordinator likewise (a per-partition share of a full deployment).
    'evaluation fan-out': ((t.advances / n) * (PRICES.lambdaRequest + 3 * PRICES.sqsRequest)) / 250,
    'insights (PutEvents + S3 PUT)': (t.insights / n) * (PRICES.putEventsEntry + PRICES.s3Put),
  };
  const million = 1e6 / t.events;
  const perMillion: Record<string, number> = {};
  for (const [k, v] of Object.entries({ ...floor, ...evaluator })) perMillion[k] = v * n * million;
  const floorPerFile = Object.values(floor).reduce((a, b) => a + b, 0);
  const fullPerFile = floorPerFile + Object.values(evaluator).reduce((a, b) => a + b, 0);
  return {
    workload: workload.name,
    files: n,
    events: t.events,
    eventsPerFile: t.events / n,
    readerMsPerFile,
    msPerFile,
    wruPerFile: t.units.writeUnits / n,
    rruPerFile: t.units.readUnits / n,
    writtenPerFile: t.units.bytesWritten / n,
    insights: t.insights,
    unitsByKind,
    floorPerFile,
    fullPerFile,
    perMillion,
    totalPerMillion: fullPerFile * n * million,
  };
}

async function* once(bytes: Buffer): AsyncGenerator<Uint8Array> {
  yield bytes;
}

/** The real grycap day (a small university account, ~30 events per file). */
function grycapWorkload(): Workload {
  const files = (require('node:fs').readdirSync(GRYCAP_DAY) as string[])
    .filter((f) => f.endsWith('.json.gz'))
    .sort()
    .map((f) => ({
      key: `AWSLogs/974349055189/CloudTrail/us-east-1/2017/06/01/${f}`,
      body: readFileSync(path.join(GRYCAP_DAY, f)),
      deliveredAt: classifyKey(f).deliveredAt ?? 0,
    }));
  return { name: 'grycap real day', description: 'one real day of a small account', files };
}

async function scenarioWorkload(dir: string, scale: number): Promise<Workload> {
  const days = 4;
  generateScenario(
    loadBackground(GRYCAP_DAY),
    { seed: 3, accounts: 1, days, warmupDays: 3, startDay: Date.UTC(2026, 2, 2), region: 'us-east-1' },
    dir,
  );
  const local = (await listLocalFiles([dir]))
    .filter((f) => f.info.kind === 'log')
    .sort((a, b) => (a.info.deliveredAt ?? 0) - (b.info.deliveredAt ?? 0) || (a.key < b.key ? -1 : 1));
  const files = local.map((f) => {
    let bytes = readFileSync(f.path);
    if (scale > 1) {
      // A busier account: every record repeated `scale` times with fresh eventIDs, same shapes and times.
      const doc = JSON.parse(gunzipSync(bytes).toString('utf8')) as { Records: Record<string, unknown>[] };
      const records = doc.Records.flatMap((r) =>
        Array.from({ length: scale }, (_, i) => ({
          ...r,
          eventID: `${String(r.eventID).slice(0, 30)}${i.toString(16).padStart(6, '0')}`,
        })),
      );
      bytes = gzipSync(JSON.stringify({ Records: records }), { level: 1 });
    }
    return {
      key: path.relative(dir, f.path).split(path.sep).join('/'),
      body: bytes,
      deliveredAt: f.info.deliveredAt ?? 0,
    };
  });
  return {
    name: scale > 1 ? `scenario ×${scale}` : 'scenario',
    description: scale > 1 ? `the scenario with ${scale}× the calls` : '4 days of one account (bench/scenarios)',
    files,
  };
}

/**
 * A busy partition (bench/scenarios/busy.ts): a week measured after a day of history. A week, because its
 * compactions are days apart (the state section of the bench shows the same figures over 30 days).
 */
function busyWorkload(principals: number, warmupDays = 1, days = 7): Workload {
  const background = busyBackground(GRYCAP_DAY);
  const warmup: DrivenFile[] = [];
  for (let d = 0; d < warmupDays; d++) warmup.push(...busyDay(background, { principals, seed: 5 }, d));
  const files: DrivenFile[] = [];
  for (let d = warmupDays; d < warmupDays + days; d++) files.push(...busyDay(background, { principals, seed: 5 }, d));
  return {
    name: `busy ${principals.toLocaleString('en-US')} principals`,
    description: `${principals} principals × 30 APIs, 100 events per file`,
    files,
    warmup,
  };
}

export async function runCostBench(options: { scales?: number[]; busy?: number[] } = {}): Promise<CostRow[]> {
  const rows: CostRow[] = [await measure(grycapWorkload())];
  for (const scale of options.scales ?? [1, 20]) {
    const dir = mkdtempSync(path.join(tmpdir(), 'trailsight-cost-'));
    try {
      rows.push(await measure(await scenarioWorkload(dir, scale)));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  for (const principals of options.busy ?? [1000, 5000]) rows.push(await measure(busyWorkload(principals)));
  return rows;
}

function usd(x: number): string {
  return x >= 0.01 ? `$${x.toFixed(3)}` : `$${x.toExponential(2)}`;
}

export function formatCostRows(rows: CostRow[]): string {
  const lines = [
    `Cost of the deployed pipeline per file and per million events (Lambda ${DETECTION_DEFAULTS.memoryMb} MB ARM, SQS batches of ${DETECTION_DEFAULTS.batchSize}, evaluator every ${DETECTION_DEFAULTS.scheduleMinutes} min; I/O waits assumed: S3 GET ${S3_GET_WAIT_MS} ms, DynamoDB call ${DYNAMODB_CALL_WAIT_MS} ms)`,
    `floor = what any pipeline pays to read a delivered file: SQS + Lambda request + S3 GET + KMS Decrypt + Lambda time to read and parse it. CloudTrail Insights: $${PRICES.cloudTrailInsightsPerMillionPerType.toFixed(2)} per million events per insight type.`,
    '',
    '| workload | files | events/file | CPU ms/file (reader alone) | written/file | WRU/file | RRU/file | floor $/M files | full $/M files | full / floor | $/M events | vs Insights |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    const ratio = r.fullPerFile / r.floorPerFile;
    lines.push(
      `| ${r.workload} | ${r.files} | ${r.eventsPerFile.toFixed(0)} | ${r.msPerFile.toFixed(2)} (${r.readerMsPerFile.toFixed(2)}) | ${(r.writtenPerFile / 1024).toFixed(1)} KB | ${r.wruPerFile.toFixed(2)} | ${r.rruPerFile.toFixed(2)} | ${usd(r.floorPerFile * 1e6)} | ${usd(r.fullPerFile * 1e6)} | ${ratio.toFixed(2)} (${ratio <= TARGET_OVER_FLOOR ? 'met' : 'MISSED'}) | ${usd(r.totalPerMillion)} | 1/${Math.round(PRICES.cloudTrailInsightsPerMillionPerType / r.totalPerMillion)} |`,
    );
  }
  lines.push('', 'Breakdown ($ per million events):', '');
  const components = Object.keys(rows[0].perMillion);
  lines.push(`| component | ${rows.map((r) => r.workload).join(' | ')} |`, `|---|${rows.map(() => '---').join('|')}|`);
  for (const c of components) lines.push(`| ${c} | ${rows.map((r) => usd(r.perMillion[c])).join(' | ')} |`);
  lines.push('', 'State-store units per file (WRU / RRU) by item:', '');
  lines.push(`| item | ${rows.map((r) => r.workload).join(' | ')} |`, `|---|${rows.map(() => '---').join('|')}|`);
  for (const k of Object.keys(rows[0].unitsByKind)) {
    lines.push(
      `| ${k} | ${rows.map((r) => `${r.unitsByKind[k].wru.toFixed(2)} / ${r.unitsByKind[k].rru.toFixed(2)}`).join(' | ')} |`,
    );
  }
  lines.push('', `target: full ≤ ${TARGET_OVER_FLOOR}× the floor on every workload`);
  return `${lines.join('\n')}\n`;
}

if (require.main === module) {
  runCostBench()
    .then((rows) => process.stdout.write(formatCostRows(rows)))
    .catch((e) => {
      process.stderr.write(`${(e as Error).stack}\n`);
      process.exit(1);
    });
}
