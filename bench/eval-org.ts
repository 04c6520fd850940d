/**
 * `npm run eval:org`: the organization family of the detection evaluation (issue 14; design in
 * bench/scenarios/org.ts). For each seed, writes four accounts × three Regions × three weeks of delivery files
 * (and digests) under the git-ignored `.bench/eval-org/`, replays them through the same code path as
 * `trailsight detect` with trailsight and with the naive baseline, and prints per detector recall, precision,
 * F1, false insights per clean and per test account-day and latency; then recall per injected kind, false
 * insights per detector kind and per account character, false insights on the clock-change day and on holidays,
 * and which benign look-alikes were flagged. Options: `--seeds 1,2,3`, `--verbose` (every miss and false insight).
 *
 * A separate script from `npm run eval`: one seed writes ~34,000 files and replays them twice (about 80 s on
 * two shared cores), so both families together would run well past eight minutes.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { detectFiles, type InsightSource } from '../cli/commands/detect';
import type { CliIo } from '../cli/io';
import { listLocalFiles } from '../lambda/adapters/local-files';
import { type InsightEvent, Replay } from '../lambda/core/detect';
import { DEFAULT_DETECT_CONFIG } from '../lambda/core/detect/config';
import { NaiveMeanSigma } from './scenarios/naive';
import { generateOrgScenario, type LookAlike, type OrgScenario, orgOptions } from './scenarios/org';
import {
  emptyScore,
  latencyLine,
  median,
  num,
  SCORE_HEADER,
  type Score,
  scoreLabels,
  scoreRow,
  summarize,
} from './scenarios/score';
import { ShapeLibrary } from './scenarios/shapes';

const ROOT = path.resolve(__dirname, '..');
const DATA = path.resolve(ROOT, '../shared/data');
const OUT = path.join(ROOT, '.bench', 'eval-org');
const MIN = 60_000;
const DAY = 86_400_000;

const quietIo: CliIo = { stdout: () => {}, stderr: (t) => process.stderr.write(t), stderrIsTty: false };

async function replay(dir: string, source: InsightSource): Promise<{ insights: InsightEvent[]; seconds: number }> {
  const insights: InsightEvent[] = [];
  const started = Date.now();
  await detectFiles(await listLocalFiles([dir]), source, (i) => insights.push(i), quietIo);
  return { insights, seconds: (Date.now() - started) / 1000 };
}

/**
 * Whether a false insight is about a look-alike: same account and one of its Regions, starting from 5 minutes
 * before it to 30 minutes after it ends, and naming its principal (or naming none: a delivery gap).
 */
export function flags(i: InsightEvent, a: LookAlike): boolean {
  if (i.recipientAccountId !== a.account || !a.regions.includes(i.awsRegion)) return false;
  const t = Date.parse(i.eventTime);
  if (t < a.start - 5 * MIN || t > a.end + 30 * MIN) return false;
  const p = i.trailsight.principal;
  return p === undefined || p === '' || p === a.principal;
}

/** What one detector got over all seeds, beyond the common score. */
interface Tally {
  readonly score: Score;
  seconds: number;
  /** Look-alike kind → [flagged, total]. */
  readonly lookAlikes: Map<string, [number, number]>;
  /** False insights and account-days on special days (clock change and the day after, holidays, weekends, workdays). */
  readonly special: Map<string, { falses: number; accountDays: number }>;
}

function tally(): Tally {
  return { score: emptyScore(), seconds: 0, lookAlikes: new Map(), special: new Map() };
}

function dayType(s: OrgScenario, d: number): string {
  if (d === s.dstDay || d === s.dstDay + 1) return 'clock change (day of, day after)';
  if (s.holidayDays.includes(d)) return 'holiday';
  const dow = new Date(s.options.startDay + d * DAY).getUTCDay();
  return dow === 0 || dow === 6 ? 'weekend' : 'working day';
}

/** Scores one scenario's insights into `into`. */
export function scoreOrg(s: OrgScenario, insights: readonly InsightEvent[], into: Score): Score {
  const character = new Map(s.accounts.map((a) => [a.id, a.character]));
  const o = s.options;
  return scoreLabels(
    {
      labels: s.labels,
      accounts: s.accounts.map((a) => a.id),
      cleanDays: s.cleanDays,
      startDay: o.startDay,
      warmupDays: o.warmupDays,
      days: o.days,
      characterOf: (a) => character.get(a) ?? 'unknown',
    },
    insights,
    into,
  );
}

function addSeed(t: Tally, s: OrgScenario, insights: readonly InsightEvent[], seconds: number): void {
  const before = t.score.unmatched.length;
  scoreOrg(s, insights, t.score);
  t.seconds += seconds;
  const falses = t.score.unmatched.slice(before);
  for (const a of s.lookAlikes) {
    const row = t.lookAlikes.get(a.kind) ?? [0, 0];
    row[1]++;
    if (falses.some((i) => flags(i, a))) row[0]++;
    t.lookAlikes.set(a.kind, row);
  }
  const o = s.options;
  for (let d = o.warmupDays; d < o.days; d++) {
    const row = t.special.get(dayType(s, d)) ?? { falses: 0, accountDays: 0 };
    row.accountDays += s.accounts.length;
    t.special.set(dayType(s, d), row);
  }
  for (const i of falses) t.special.get(dayType(s, Math.floor((Date.parse(i.eventTime) - o.startDay) / DAY)))!.falses++;
}

/** The report's text. */
export function report(
  seeds: readonly number[],
  scenarios: readonly OrgScenario[],
  e: Tally,
  n: Tally,
  verbose: boolean,
): string {
  const es = summarize(e.score);
  const ns = summarize(n.score);
  const sum = (f: (s: OrgScenario) => number): string =>
    scenarios.reduce((a, s) => a + f(s), 0).toLocaleString('en-US');
  const o = scenarios[0].options;
  const out: string[] = [
    `Organization evaluation: seeds ${seeds.join(',')} × 4 accounts (sandbox, production, CI/CD, monitoring) × ${o.days} days (${o.warmupDays} history + ${o.days - o.warmupDays} test), ${o.timeZone}, clock change and Easter holidays in the test period`,
    `${sum((s) => s.events)} events in ${sum((s) => s.files)} log files (${sum((s) => s.lateFiles)} late) and ${sum((s) => s.digestFiles)} digest files`,
    `${e.score.labels} labelled injections, ${e.score.cleanAccountDays} injection-free test account-days (benign look-alikes allowed); scored per episode, no point adjustment`,
    '',
    `seed ${seeds[0]}: accounts, events per day and Region skew`,
    ...scenarios[0].notes.map((l) => `  ${l}`),
    '',
    SCORE_HEADER,
    scoreRow('trailsight', es, e.score, { clean: 20, test: 19, latency: 19 }),
    scoreRow('naive per-API mean+3σ', ns, n.score, { clean: 20, test: 19, latency: 19 }),
    '',
    'recall per injected kind: labels; trailsight detected by any insight / by the expected detector; naive any; trailsight median latency (min)',
    `  ${'kind'.padEnd(20)} ${'expected detector'.padEnd(20)} labels  trailsight  naive  latency`,
  ];
  const kinds = [...new Set([...Object.keys(e.score.byKind), ...Object.keys(n.score.byKind)])].sort();
  for (const kind of kinds) {
    const k = e.score.byKind[kind];
    const nk = n.score.byKind[kind];
    out.push(
      `  ${kind.padEnd(20)} ${k.detector.padEnd(20)} ${String(k.labels).padStart(6)}  ${`${k.detected} / ${k.detectedByKind}`.padStart(10)}  ${String(nk?.detected ?? 0).padStart(5)}  ${num(median(k.latencies), 1).padStart(7)}`,
    );
  }
  out.push(
    latencyLine(
      e.score,
      scenarios.map((s) => s.lags),
      DEFAULT_DETECT_CONFIG.reorderMinutes,
    ),
  );
  const perDetector = (t: Tally): string =>
    Object.entries(t.score.falseByDetector)
      .sort((a, b) => b[1] - a[1])
      .map(([d, c]) => `${d} ${c}`)
      .join(', ') || 'none';
  out.push(
    '',
    'false insights in the test period by detector kind:',
    `  trailsight: ${perDetector(e)}`,
    `  naive:      ${perDetector(n)}`,
  );
  out.push('', 'false insights by account character: trailsight per test account-day (count) | naive');
  for (const [c, s] of Object.entries(e.score.byCharacter).sort()) {
    const nc = n.score.byCharacter[c];
    out.push(
      `  ${c.padEnd(11)} ${num(s.falseInTestPeriod / s.accountDays).padStart(6)} (${s.falseInTestPeriod}/${s.accountDays})  |  ${num(nc.falseInTestPeriod / nc.accountDays).padStart(6)} (${nc.falseInTestPeriod})`,
    );
  }
  out.push('', 'false insights by day type: trailsight per account-day (count) | naive');
  for (const [d, s] of [...e.special.entries()].sort()) {
    const nd = n.special.get(d)!;
    out.push(
      `  ${d.padEnd(33)} ${num(s.falses / s.accountDays).padStart(6)} (${s.falses}/${s.accountDays})  |  ${num(nd.falses / nd.accountDays).padStart(6)} (${nd.falses})`,
    );
  }
  out.push('', 'benign look-alikes flagged by a false insight: trailsight | naive (of all)');
  for (const [kind, [flagged, total]] of [...e.lookAlikes.entries()].sort()) {
    out.push(
      `  ${kind.padEnd(20)} ${String(flagged).padStart(3)} | ${String(n.lookAlikes.get(kind)?.[0] ?? 0).padStart(3)}  (of ${total})`,
    );
  }
  out.push(
    '',
    `replay time: trailsight ${e.seconds.toFixed(1)} s, naive ${n.seconds.toFixed(1)} s (reader included)`,
    `issue 14 targets: F1 ≥ 0.90 ${es.f1 >= 0.9 ? 'met' : 'MISSED'}; ≤ 0.5 false insights per clean account-day ${es.falsePerCleanAccountDay <= 0.5 ? 'met' : 'MISSED'}; median latency ≤ 10 min ${es.medianLatency <= 10 ? 'met' : 'MISSED'}`,
  );
  if (verbose) {
    out.push('', 'trailsight missed labels:');
    for (const [kind, k] of Object.entries(e.score.byKind)) for (const m of k.missed) out.push(`  ${kind}: ${m}`);
    out.push('', 'trailsight false insights:');
    for (const f of e.score.falseInsights) out.push(`  ${f.slice(0, 220)}`);
  }
  return `${out.join('\n')}\n`;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seeds: { type: 'string', default: '1,2,3' },
      verbose: { type: 'boolean', default: false },
    },
  });
  const seeds = values.seeds.split(',').map(Number);
  const started = Date.now();
  const lib = ShapeLibrary.load(DATA);
  const engine = tally();
  const naive = tally();
  const scenarios: OrgScenario[] = [];
  for (const seed of seeds) {
    const dir = path.join(OUT, `seed-${seed}`);
    const logs = path.join(dir, 'logs');
    const t0 = Date.now();
    const scenario = generateOrgScenario(lib, orgOptions(seed), logs);
    scenarios.push(scenario);
    process.stderr.write(
      `seed ${seed}: ${scenario.files} log files, ${scenario.digestFiles} digests, ${scenario.events} events, ${scenario.labels.length} labels, ${scenario.lookAlikes.length} look-alikes, generated in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`,
    );
    const e = await replay(logs, new Replay());
    const n = await replay(logs, new NaiveMeanSigma(3));
    writeFileSync(path.join(dir, 'insights.jsonl'), e.insights.map((i) => JSON.stringify(i)).join('\n'));
    writeFileSync(path.join(dir, 'labels.json'), JSON.stringify(scenario, null, 1));
    addSeed(engine, scenario, e.insights, e.seconds);
    addSeed(naive, scenario, n.insights, n.seconds);
  }
  const shapes = lib.stats;
  const text = `${report(seeds, scenarios, engine, naive, values.verbose)}record shapes: ${shapes.real.toLocaleString('en-US')} from a real record of the same API, ${shapes.envelope.toLocaleString('en-US')} from a same-service envelope, ${shapes.generic.toLocaleString('en-US')} from a generic envelope\ntotal run time ${((Date.now() - started) / 1000).toFixed(0)} s\n`;
  writeFileSync(path.join(OUT, 'report.txt'), text);
  process.stdout.write(text);
}

if (require.main === module) {
  main().catch((err) => {
    process.stderr.write(`eval:org failed: ${(err as Error).stack ?? err}\n`);
    process.exitCode = 1;
  });
}
