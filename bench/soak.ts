/**
 * `npm run soak`: the long runs of the deployed pipeline on the local stand-ins (s3rver + dynalite), through
 * the real handlers driven by the pipeline harness, each compared with `trailsight detect` on the same files
 * (test/support/soak.ts says what is injected and what must hold; test/pipeline/soak.test.ts is the short
 * variant in the suite):
 *
 * 1. **fault soak**, several seeds, each its own shape (accounts × days of the generated scenario, and a busy
 *    partition), under the faults of SOAK_RATES, duplicate notifications and evaluations, concurrency;
 * 2. **no size wall** (issue 9): a busy partition of 5,000 principals × 30 APIs for 30 days of 5-minute
 *    files (8,640 files, 864,000 events) on the default settings, without faults: no file may fail, every
 *    item must stay within DynamoDB's limit, and the state must equal the CLI's; prints the state's size,
 *    the files and the time.
 *
 * Options: `--seeds 1,2,3`, `--size-days 30`, `--size-principals 5000`, `--skip-faults`, `--skip-size`.
 * Exit status 1 when a property fails; a failing seed is printed with the command that runs it again.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';

// Quiet Powertools (as the test setup does) before the handlers' modules create their singletons.
process.env.POWERTOOLS_DEV = 'true';
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
process.env.POWERTOOLS_METRICS_DISABLED = 'true';
process.env.AWS_REGION ??= 'us-east-1';
// Metrics warns on every invocation that published none (the metrics are off here): keep the report readable.
const warn = console.warn;
console.warn = (...args: unknown[]) => {
  if (!String(args[0]).startsWith('No application metrics to publish')) warn(...args);
};

interface Shape {
  readonly accounts: number;
  readonly days: number;
  readonly busy: { principals: number; days: number };
}

/** The fault soak's shapes: seed n runs shape (n − 1) mod 3. */
const SHAPES: Shape[] = [
  { accounts: 3, days: 3, busy: { principals: 1000, days: 1 } },
  { accounts: 2, days: 5, busy: { principals: 500, days: 2 } },
  { accounts: 4, days: 2, busy: { principals: 2000, days: 1 } },
];

/** Every method of the state store (PartitionStore). */
const STORE_METHODS = [
  'getHead',
  'createHead',
  'putHead',
  'putOutbox',
  'wake',
  'putDelta',
  'hasDelta',
  'recordedLate',
  'queryDeltas',
  'hasDeltaAfter',
  'getDeltas',
  'addLate',
  'queryLate',
  'markLateApplied',
  'getPages',
  'putPages',
  'scanHeads',
  'countHeads',
  'raiseSegmentsNeeded',
];

const out = (line = '') => process.stdout.write(`${line}\n`);
const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      seeds: { type: 'string', default: '1,2,3' },
      'size-days': { type: 'string', default: '30' },
      'size-principals': { type: 'string', default: '5000' },
      'skip-faults': { type: 'boolean', default: false },
      'skip-size': { type: 'boolean', default: false },
    },
  });
  const { NO_FAULTS } = await import('../test/support/faults');
  const { runSoak, SOAK_RATES } = await import('../test/support/soak');
  const { startDynamo, startS3 } = await import('../test/support/stand-ins');
  const [s3, dynamo] = await Promise.all([startS3([]), startDynamo()]);
  const dir = () => mkdtempSync(path.join(tmpdir(), 'trailsight-soak-'));
  let failed = 0;
  try {
    if (!values['skip-faults']) {
      out('## Fault soak (s3rver + dynalite)');
      out();
      const seeds = values.seeds.split(',').map(Number);
      for (const seed of seeds) {
        const shape = SHAPES[(((seed - 1) % SHAPES.length) + SHAPES.length) % SHAPES.length];
        const started = Date.now();
        const r = await runSoak({
          seed,
          ...shape,
          rates: SOAK_RATES,
          duplicates: 0.1,
          evaluatorDuplicates: 0.3,
          staleEvaluations: 0.1,
          detector: { learningHours: 24, tickMinutes: 5, reorderMinutes: 10 },
          s3: s3.client,
          dynamo: dynamo.client,
          dir: dir(),
          log: (line) => process.stderr.write(`${line}\n`),
        });
        const faults = Object.entries(r.injected)
          .filter(([k]) => !k.includes(':'))
          .map(([k, n]) => `${k} ${n}`)
          .join(', ');
        out(
          `seed ${seed}: ${shape.accounts} accounts × ${shape.days} days + busy ${shape.busy.principals} principals × ${shape.busy.days} days: ` +
            `${r.partitions} partitions, ${r.files} files (${r.events.toLocaleString('en-US')} events), ${r.notifications} notifications ` +
            `(${r.duplicates} duplicates), ${r.receives} receives, ${r.deadLettered.length} dead-lettered, ${r.evaluations} evaluations ` +
            `(${r.evaluatorDuplicates} received twice, ${r.staleEvaluations} stale), ${r.conflicts} write conflicts redone`,
        );
        out(`  faults injected: ${faults}; ${r.reordered} files reached the queue out of order`);
        const never = STORE_METHODS.filter((m) => !r.storeCalls[m]);
        if (never.length > 0) out(`  store methods never called (so never faulted): ${never.join(', ')}`);
        out(
          `  failures reported: ${r.ingestFailures} files, ${r.evaluationFailures} partitions or coordinator runs, ${r.messageFailures} segment messages; ` +
            `${r.insights} insights (${r.published} copies published, ${r.insightsDeadLettered} dead-lettered); ` +
            `${((Date.now() - started) / 1000).toFixed(0)} s (replay ${r.seconds.replay.toFixed(0)} s, CLI ${r.seconds.cli.toFixed(0)} s)`,
        );
        for (const d of r.deadLettered) out(`  dead-lettered: ${d.key.split('/').pop()}: ${d.reason.slice(0, 160)}`);
        if (r.problems.length === 0) out('  every property held');
        else {
          failed++;
          for (const p of r.problems) out(`  FAILED: ${p}`);
          out(`  rerun: npm run soak -- --skip-size --seeds ${seed}`);
        }
      }
      out();
    }

    if (!values['skip-size']) {
      const days = Number(values['size-days']);
      const principals = Number(values['size-principals']);
      out(
        `## No size wall: a busy partition of ${principals.toLocaleString('en-US')} principals × 30 APIs, ${days} day${days === 1 ? '' : 's'} (dynalite, default settings)`,
      );
      out();
      const started = Date.now();
      const cpu = process.cpuUsage();
      const r = await runSoak({
        seed: 9,
        accounts: 0,
        days,
        busy: { principals, days },
        rates: NO_FAULTS,
        poison: false,
        // The harness's default delay: within the default 2-minute reorder window less the late margin.
        arrivalSeconds: [40, 40],
        detector: {},
        s3: s3.client,
        dynamo: dynamo.client,
        dir: dir(),
        log: (line) => process.stderr.write(`${line}\n`),
      });
      const seconds = (Date.now() - started) / 1000;
      const used = process.cpuUsage(cpu);
      const failures = r.ingestFailures + r.evaluationFailures + r.messageFailures + r.deadLettered.length;
      out(
        `${r.files.toLocaleString('en-US')} files, ${r.events.toLocaleString('en-US')} events, ${failures} failed; ` +
          `replay ${r.seconds.replay.toFixed(0)} s (${((r.seconds.replay * 1000) / r.files).toFixed(1)} ms per file), ` +
          `CLI ${r.seconds.cli.toFixed(0)} s, total ${seconds.toFixed(0)} s, CPU ${((used.user + used.system) / 1e6).toFixed(0)} s, ` +
          `peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`,
      );
      for (const s of r.state) {
        out(
          `state of ${s.partition}: head ${kb(s.headBytes)}, ${s.pages} pages ${kb(s.pagesBytes)} (largest ${kb(s.largestPageBytes)}; DynamoDB's item limit is 400 KB)`,
        );
      }
      if (failures > 0) r.problems.push(`${failures} failures`);
      if (r.problems.length === 0) out('no file failed, every item within the limit, the state equal to the CLI');
      else {
        failed++;
        for (const p of r.problems) out(`FAILED: ${p}`);
      }
    }
  } finally {
    await Promise.all([s3.stop(), dynamo.stop()]);
  }
  return failed > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`${(error as Error).stack}\n`);
    process.exit(2);
  },
);
