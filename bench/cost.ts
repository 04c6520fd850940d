/**
 * `npx tsx bench/cost.ts`: what the detection pipeline costs per million CloudTrail events, from measured
 * throughput, next to CloudTrail Insights' $3.50 per million events analysed per insight type.
 *
 * For each workload the real ingest orchestration (lambda/pipeline/ingest.ts: read, normalize, detect,
 * serialize and gzip the partition state) runs in this process over real-shaped delivery files, against an
 * in-memory store that encodes items exactly like the DynamoDB adapter (so state sizes are the real ones).
 * Baseline in the same run: the ingest core's reader alone over the same bytes (what any pipeline pays
 * just to read the files). Then the AWS bill per file is priced:
 *  - Lambda GB-seconds: measured CPU time per file, scaled to the configured memory's CPU share (a full vCPU
 *    at 1,769 MB), plus an assumed I/O wait per file (S3 GET, DynamoDB get + put: `IO_WAIT_MS`, not measured
 *    here because there is no AWS); invocations per batch;
 *  - SQS requests (EventBridge's send, the batched receive and delete), S3 GET, the KMS Decrypt of each
 *    SSE-KMS GET, DynamoDB read/write units from the measured item sizes (1 WRU per KB written, 1 RRU per 4 KB
 *    read strongly consistent), the evaluator's scan per partition and run, PutEvents and S3 PUT per insight.
 * Prices: us-east-1 list prices (see PRICES), on-demand, no free tier.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { decodeDocument, encodeDocument } from '../lambda/adapters/dynamodb-state-store';
import { listLocalFiles } from '../lambda/adapters/local-files';
import { resolveDetectConfig } from '../lambda/core/detect';
import { createReadReport, readTrailEventBatches } from '../lambda/core/reader';
import { type IngestPorts, ingestObject } from '../lambda/pipeline/ingest';
import { emptyDocument, type PartitionStore } from '../lambda/pipeline/ports';
import { DETECTION_DEFAULTS } from '../lib/config';
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

/** Assumed I/O wait per file in Lambda: S3 GET first byte + DynamoDB GetItem + PutItem (not measurable here). */
export const IO_WAIT_MS = 40;
/** The target: at most this fraction of CloudTrail Insights' price for one insight type. */
export const TARGET_FRACTION = 1 / 1000;

interface Workload {
  readonly name: string;
  readonly description: string;
  /** Files as (key, bytes), in delivery order, all of one account + Region. */
  readonly files: { key: string; bytes: Buffer }[];
  /** Days the files span (for the evaluator's share). */
  readonly days: number;
}

export interface CostRow {
  readonly workload: string;
  readonly files: number;
  readonly events: number;
  readonly eventsPerFile: number;
  readonly msPerFile: number;
  readonly baselineMsPerFile: number;
  readonly eventsPerSecond: number;
  readonly meanStateBytes: number;
  readonly writesPerFile: number;
  readonly insights: number;
  /** USD per million events, by component. */
  readonly perMillion: Record<string, number>;
  readonly totalPerMillion: number;
  /** totalPerMillion / $3.50. */
  readonly fractionOfInsights: number;
}

function memoryStore() {
  const items = new Map<string, { v: number; b: Buffer }>();
  let writes = 0;
  let writtenBytes = 0;
  const store: PartitionStore = {
    async get(key) {
      const item = items.get(key);
      if (!item) return { key, document: emptyDocument(), version: 0, storedBytes: 0 };
      return { key, document: decodeDocument(item.b), version: item.v, storedBytes: item.b.length };
    },
    async put(key, document, version) {
      const b = encodeDocument(document);
      if ((items.get(key)?.v ?? 0) !== version) return { ok: false };
      items.set(key, { v: version + 1, b });
      writes++;
      writtenBytes += b.length;
      return { ok: true, version: version + 1, storedBytes: b.length };
    },
    async *list() {
      for (const [key, item] of items)
        yield { key, document: decodeDocument(item.b), version: item.v, storedBytes: item.b.length };
    },
  };
  return { store, stats: () => ({ writes, writtenBytes, items }) };
}

async function* once(bytes: Buffer): AsyncGenerator<Uint8Array> {
  yield bytes;
}

async function measure(workload: Workload): Promise<CostRow> {
  const { files } = workload;
  // Baseline: the reader alone over the same bytes.
  let baselineEvents = 0;
  const b0 = process.cpuUsage();
  for (const f of files) {
    for await (const batch of readTrailEventBatches(once(f.bytes), { file: f.key, report: createReadReport(f.key) })) {
      baselineEvents += batch.length;
    }
  }
  const baselineCpu = process.cpuUsage(b0);

  const memory = memoryStore();
  let insights = 0;
  let events = 0;
  const ports: IngestPorts = {
    store: memory.store,
    sinks: [{ publish: async (d) => ({ published: d.length, failed: [], requests: Math.ceil(d.length / 10) }) }],
    objects: {
      open: async (ref) => ({ body: once(files.find((f) => f.key === ref.key)?.bytes ?? Buffer.alloc(0)) }),
    },
    detectConfig: resolveDetectConfig({}),
    dedupeWindowMs: DETECTION_DEFAULTS.dedupeWindowHours * 3_600_000,
  };
  const c0 = process.cpuUsage();
  for (const f of files) {
    const outcome = await ingestObject({ bucket: 'bench', key: f.key, etag: String(f.bytes.length) }, ports);
    if (outcome.status !== 'processed') throw new Error(`${f.key}: ${outcome.status} ${outcome.reason}`);
    events += outcome.events;
    insights += outcome.insights.length;
  }
  const cpu = process.cpuUsage(c0);
  if (events !== baselineEvents) throw new Error(`pipeline counted ${events} events, the reader ${baselineEvents}`);

  const { writes, writtenBytes, items } = memory.stats();
  const msPerFile = (cpu.user + cpu.system) / 1000 / files.length;
  const baselineMsPerFile = (baselineCpu.user + baselineCpu.system) / 1000 / files.length;
  const meanStateBytes = writtenBytes / writes;
  const finalBytes = [...items.values()].reduce((a, i) => a + i.b.length, 0);
  const perFileCount = files.length;
  const million = 1e6 / events;

  // Lambda: CPU time scaled to the memory's CPU share, plus I/O wait, at the configured memory.
  const memoryGb = DETECTION_DEFAULTS.memoryMb / 1024;
  const cpuShare = Math.min(1, DETECTION_DEFAULTS.memoryMb / 1769);
  const secondsPerFile = (msPerFile / cpuShare + IO_WAIT_MS) / 1000;
  const batch = DETECTION_DEFAULTS.batchSize;
  const readUnits = Math.ceil(meanStateBytes / 4096);
  const writeUnits = Math.ceil(meanStateBytes / 1024);
  const runsPerDay = (24 * 60) / DETECTION_DEFAULTS.scheduleMinutes;
  const scanUnitsPerDay = runsPerDay * Math.ceil(finalBytes / 4096);
  const perFile = {
    'Lambda GB-s': secondsPerFile * memoryGb * PRICES.lambdaArmGbSecond,
    'Lambda requests': PRICES.lambdaRequest / batch,
    SQS: (1 + 2 / batch) * PRICES.sqsRequest,
    'S3 GET': PRICES.s3Get,
    'KMS Decrypt': PRICES.kmsRequest,
    'DynamoDB reads': readUnits * PRICES.dynamoRru,
    'DynamoDB writes': (writes / perFileCount) * writeUnits * PRICES.dynamoWru,
  };
  const perMillion: Record<string, number> = {};
  for (const [k, v] of Object.entries(perFile)) perMillion[k] = v * perFileCount * million;
  perMillion['evaluator scans'] = scanUnitsPerDay * workload.days * PRICES.dynamoRru * million;
  perMillion['insights (PutEvents + S3 PUT)'] = insights * (PRICES.putEventsEntry + PRICES.s3Put) * million;
  const totalPerMillion = Object.values(perMillion).reduce((a, b) => a + b, 0);
  return {
    workload: workload.name,
    files: files.length,
    events,
    eventsPerFile: events / files.length,
    msPerFile,
    baselineMsPerFile,
    eventsPerSecond: events / ((cpu.user + cpu.system) / 1e6),
    meanStateBytes,
    writesPerFile: writes / files.length,
    insights,
    perMillion,
    totalPerMillion,
    fractionOfInsights: totalPerMillion / PRICES.cloudTrailInsightsPerMillionPerType,
  };
}

/** The real grycap day (a small university account, ~30 events per file). */
function grycapWorkload(): Workload {
  const files = (require('node:fs').readdirSync(GRYCAP_DAY) as string[])
    .filter((f) => f.endsWith('.json.gz'))
    .sort()
    .map((f) => ({
      key: `AWSLogs/974349055189/CloudTrail/us-east-1/2017/06/01/${f}`,
      bytes: readFileSync(path.join(GRYCAP_DAY, f)),
    }));
  return { name: 'grycap real day', description: 'one real day of a small account', files, days: 1 };
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
    return { key: path.relative(dir, f.path).split(path.sep).join('/'), bytes };
  });
  return {
    name: scale > 1 ? `scenario ×${scale}` : 'scenario',
    description: scale > 1 ? `the scenario with ${scale}× the calls` : '4 days of one account (bench/scenarios)',
    files,
    days,
  };
}

export async function runCostBench(options: { scales?: number[] } = {}): Promise<CostRow[]> {
  const rows: CostRow[] = [await measure(grycapWorkload())];
  for (const scale of options.scales ?? [1, 20]) {
    const dir = mkdtempSync(path.join(tmpdir(), 'trailsight-cost-'));
    try {
      rows.push(await measure(await scenarioWorkload(dir, scale)));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return rows;
}

function usd(x: number): string {
  return x >= 0.01 ? `$${x.toFixed(3)}` : `$${x.toExponential(2)}`;
}

export function formatCostRows(rows: CostRow[]): string {
  const lines = [
    `Cost per million events (ingest ${DETECTION_DEFAULTS.memoryMb} MB ARM, batch ${DETECTION_DEFAULTS.batchSize}, evaluator every ${DETECTION_DEFAULTS.scheduleMinutes} min, I/O wait ${IO_WAIT_MS} ms/file assumed)`,
    `CloudTrail Insights: $${PRICES.cloudTrailInsightsPerMillionPerType.toFixed(2)} per million events per insight type; target ≤ ${usd(PRICES.cloudTrailInsightsPerMillionPerType * TARGET_FRACTION)}`,
    '',
    '| workload | files | events/file | CPU ms/file (reader alone) | events/s | state item | writes/file | $/M events | vs Insights | target |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.workload} | ${r.files} | ${r.eventsPerFile.toFixed(0)} | ${r.msPerFile.toFixed(2)} (${r.baselineMsPerFile.toFixed(2)}) | ${Math.round(r.eventsPerSecond)} | ${(r.meanStateBytes / 1024).toFixed(1)} KB | ${r.writesPerFile.toFixed(2)} | ${usd(r.totalPerMillion)} | 1/${Math.round(1 / r.fractionOfInsights)} | ${r.fractionOfInsights <= TARGET_FRACTION ? 'met' : 'not met'} |`,
    );
  }
  lines.push('', 'Breakdown ($ per million events):', '');
  const components = Object.keys(rows[0].perMillion);
  lines.push(`| component | ${rows.map((r) => r.workload).join(' | ')} |`, `|---|${rows.map(() => '---').join('|')}|`);
  for (const c of components) lines.push(`| ${c} | ${rows.map((r) => usd(r.perMillion[c])).join(' | ')} |`);
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
