/**
 * `npm run eval`: the detection evaluation. For each seed, builds a multi-account, multi-week scenario from
 * the real grycap background (bench/scenarios/generate.ts), writes it as delivery files under the
 * git-ignored `.bench/eval/`, replays it through the same code path as `trailsight detect` (listLocalFiles →
 * reader → engine), and scores the insights per episode against the injected labels; the naive per-API
 * mean + 3σ baseline runs over the same files in the same run. Options: `--seeds 1,2,3`, `--days 15`,
 * `--accounts 3`, `--verbose` (list every miss and false insight).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { detectFiles, type InsightSource } from '../cli/commands/detect';
import type { CliIo } from '../cli/io';
import { listLocalFiles } from '../lambda/adapters/local-files';
import { type InsightEvent, Replay } from '../lambda/core/detect';
import { DEFAULT_DETECT_CONFIG } from '../lambda/core/detect/config';
import { generateScenario, loadBackground, type Scenario } from './scenarios/generate';
import { NaiveMeanSigma } from './scenarios/naive';
import {
  emptyScore,
  latencyLine,
  median,
  num,
  SCORE_HEADER,
  scoreRow,
  scoreScenario,
  summarize,
} from './scenarios/score';

const ROOT = path.resolve(__dirname, '..');
const GRYCAP = path.resolve(ROOT, '../shared/data/grycap-cloudtrail-tracker/examples');
const OUT = path.join(ROOT, '.bench', 'eval');

const quietIo: CliIo = { stdout: () => {}, stderr: (t) => process.stderr.write(t), stderrIsTty: false };

async function replay(dir: string, source: InsightSource): Promise<{ insights: InsightEvent[]; seconds: number }> {
  const insights: InsightEvent[] = [];
  const started = Date.now();
  await detectFiles(await listLocalFiles([dir]), source, (i) => insights.push(i), quietIo);
  return { insights, seconds: (Date.now() - started) / 1000 };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seeds: { type: 'string', default: '1,2,3' },
      days: { type: 'string', default: '15' },
      accounts: { type: 'string', default: '3' },
      verbose: { type: 'boolean', default: false },
    },
  });
  const seeds = values.seeds.split(',').map(Number);
  const days = Number(values.days);
  const background = loadBackground(GRYCAP);
  const engineScore = emptyScore();
  const naiveScore = emptyScore();
  const scenarios: Scenario[] = [];
  let engineSeconds = 0;
  let naiveSeconds = 0;
  let events = 0;
  for (const seed of seeds) {
    const dir = path.join(OUT, `seed-${seed}`);
    const logs = path.join(dir, 'logs');
    const t0 = Date.now();
    const scenario = generateScenario(
      background,
      {
        seed,
        accounts: Number(values.accounts),
        days,
        warmupDays: 7,
        startDay: Date.UTC(2026, 2, 2) + (seed % 7) * 86_400_000,
        region: 'us-east-1',
      },
      logs,
    );
    scenarios.push(scenario);
    events += scenario.events;
    process.stderr.write(
      `seed ${seed}: ${scenario.files} files, ${scenario.events} events, ${scenario.labels.length} labels, generated in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`,
    );
    const engine = await replay(logs, new Replay());
    const naive = await replay(logs, new NaiveMeanSigma(3));
    engineSeconds += engine.seconds;
    naiveSeconds += naive.seconds;
    writeFileSync(path.join(dir, 'insights.jsonl'), engine.insights.map((i) => JSON.stringify(i)).join('\n'));
    writeFileSync(path.join(dir, 'labels.json'), JSON.stringify(scenario, null, 1));
    scoreScenario(scenario, engine.insights, engineScore);
    scoreScenario(scenario, naive.insights, naiveScore);
  }
  mkdirSync(OUT, { recursive: true });
  const e = summarize(engineScore);
  const n = summarize(naiveScore);
  const accounts = Number(values.accounts);
  const out: string[] = [];
  out.push(
    `Detection evaluation: seeds ${seeds.join(',')} × ${accounts} accounts × ${days} days (7 history + ${days - 7} test days), ${events.toLocaleString('en-US')} events`,
    `${engineScore.labels} labelled injections, ${engineScore.cleanAccountDays} injection-free test account-days; scored per episode, no point adjustment`,
    '',
    SCORE_HEADER,
    scoreRow('trailsight', e, engineScore, { clean: 17, test: 17, latency: 15 }),
    scoreRow('naive per-API mean+3σ', n, naiveScore, { clean: 17, test: 17, latency: 15 }),
    '',
    'trailsight by kind: labels, detected (any insight / right detector), median latency (min)',
  );
  for (const [kind, k] of Object.entries(engineScore.byKind).sort()) {
    out.push(
      `  ${kind.padEnd(14)} ${String(k.labels).padStart(3)}  ${String(k.detected).padStart(3)} / ${String(k.detectedByKind).padStart(3)}  ${num(median(k.latencies), 1).padStart(6)}`,
    );
  }
  out.push(
    latencyLine(
      engineScore,
      scenarios.map((s) => s.lags),
      DEFAULT_DETECT_CONFIG.reorderMinutes,
    ),
  );
  const falseByDetector = new Map<string, number>();
  for (const f of engineScore.falseInsights) {
    const d = f.split(' ')[2].replace(':', '');
    falseByDetector.set(d, (falseByDetector.get(d) ?? 0) + 1);
  }
  out.push(
    '',
    `trailsight false insights by detector: ${[...falseByDetector.entries()].map(([d, c]) => `${d} ${c}`).join(', ') || 'none'}`,
    `replay time: trailsight ${engineSeconds.toFixed(1)} s, naive ${naiveSeconds.toFixed(1)} s (reader included)`,
    '',
    `targets (issue 14): F1 ≥ 0.90 ${e.f1 >= 0.9 ? 'met' : 'MISSED'}; ≤ 0.5 false insights per clean account-day ${e.falsePerCleanAccountDay <= 0.5 ? 'met' : 'MISSED'}; median latency ≤ 10 min ${e.medianLatency <= 10 ? 'met' : 'MISSED'}`,
  );
  if (values.verbose) {
    out.push('', 'missed labels:');
    for (const [kind, k] of Object.entries(engineScore.byKind)) for (const m of k.missed) out.push(`  ${kind}: ${m}`);
    out.push('', 'false insights:');
    for (const f of engineScore.falseInsights) out.push(`  ${f.slice(0, 220)}`);
  }
  const text = `${out.join('\n')}\n`;
  writeFileSync(path.join(OUT, 'report.txt'), text);
  process.stdout.write(text);
}

main().catch((err) => {
  process.stderr.write(`eval failed: ${(err as Error).stack ?? err}\n`);
  process.exitCode = 1;
});
