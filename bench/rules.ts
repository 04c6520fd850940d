/**
 * The cost of the rule engine on `trailsight detect`'s path, as a ratio against the same path without rules,
 * measured in the same run (the machine is shared and noisy; only ratios are comparable).
 *
 *   detect:         `trailsight detect`'s own path, detectFiles (cli/commands/detect.ts): the local reader
 *                   (gunzip, split, JSON.parse, normalize, dedupe) → the file's events → Replay.ingestFile
 *   detect + rules: the same call with the rule engine: every event also tested as it is read (the reader's
 *                   onEvent), the file's matches grouped and recorded (GroupLedger): all 57 SigmaHQ rules plus
 *                   the built-in pack, every level, nothing superseded (the most rules that can run)
 *
 * Files: the benchmark's generated delivery files (bench/lib/generate.ts, real record shapes from ../shared/data).
 * Each measurement runs in a fresh process (this module, `--worker`), so peak RSS belongs to one approach; the two
 * approaches alternate and the median wall time is compared. Issue 13's target: rules add at most 20 %.
 *
 *   npx tsx bench/rules.ts            standalone
 *   runRulesBench() / formatRulesBench() for bench/run.ts
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { detectFiles } from '../cli/commands/detect';
import { listLocalFiles } from '../lambda/adapters/local-files';
import { Replay } from '../lambda/core/detect';
import { loadRules, RuleEngine, resolveRulesConfig } from '../lambda/core/rules';
import { ensureBenchFiles } from './lib/generate';

const ROOT = resolve(__dirname, '..');
const BENCH_DIR = join(ROOT, '.bench');
const DATA_DIR = resolve(ROOT, '../shared/data');
const SIGMAHQ_DIR = join(DATA_DIR, 'sigmahq-cloudtrail-rules/rules');
/** Issue 13: rules add at most 20 % to detect. */
export const TARGET_RULES_RATIO = 1.2;
const RUNS: Record<string, number> = { 'small-2MB': 7, 'medium-12MB': 5, 'max-50MB': 3 };

type Mode = 'detect' | 'rules';

interface WorkerResult {
  readonly events: number;
  readonly ms: number;
  readonly cpuMs: number;
  readonly maxRssMB: number;
  /** rules only: loading and compiling the rules (once per process), rules running, matches, rule-match events. */
  readonly loadMs?: number;
  readonly rules?: number;
  readonly hits?: number;
  readonly matches?: number;
}

async function work(mode: Mode, file: string): Promise<WorkerResult> {
  let engine: RuleEngine | undefined;
  let loadMs = 0;
  if (mode === 'rules') {
    // Loading and compiling happens once per process (a CLI run, a Lambda cold start), not once per file:
    // timed on its own and reported beside the per-file cost.
    const l0 = performance.now();
    const config = resolveRulesConfig({ minLevel: 'informational', enable: ['*'], folders: [SIGMAHQ_DIR] });
    engine = new RuleEngine(loadRules(config).rules, config);
    loadMs = performance.now() - l0;
  }
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  // The CLI's own path: `trailsight detect` is detectFiles with the engine (and the rules) on the listed files.
  let matches = 0;
  const quiet = { stdout: () => {}, stderr: () => {}, stderrIsTty: false };
  const stats = await detectFiles(await listLocalFiles([file]), new Replay(), () => {}, quiet, {
    ...(engine ? { rules: { engine, emit: () => matches++ } } : {}),
  });
  if (stats.failed > 0 || stats.files !== 1) throw new Error(`${file}: ${stats.failed} unreadable of ${stats.files}`);
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return {
    events: stats.events,
    ms,
    cpuMs: (cpu.user + cpu.system) / 1000,
    maxRssMB: process.resourceUsage().maxRSS / 1024,
    ...(engine ? { loadMs, rules: engine.ruleSet.rules.length, hits: engine.stats.hits, matches } : {}),
  };
}

function measure(mode: Mode, file: string): WorkerResult {
  const child = spawnSync(process.execPath, ['--import', 'tsx', __filename, '--worker', mode, file], {
    cwd: ROOT,
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
  });
  if (child.status !== 0) {
    throw new Error(`${mode} ${file}: ${child.signal ?? `exit ${child.status}`}: ${(child.stderr ?? '').slice(-300)}`);
  }
  return JSON.parse(child.stdout.trim().split('\n').pop() ?? '') as WorkerResult;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export interface RulesBenchRow {
  readonly file: string;
  readonly runs: number;
  readonly events: number;
  readonly detectMs: number;
  readonly rulesMs: number;
  readonly detectCpuMs: number;
  readonly rulesCpuMs: number;
  readonly detectRssMB: number;
  readonly rulesRssMB: number;
  readonly loadMs: number;
  readonly rules: number;
  readonly hits: number;
  readonly matches: number;
}

/** Runs both approaches on every benchmark file, alternating, and returns the medians. */
export async function runRulesBench(log: (s: string) => void = () => {}): Promise<RulesBenchRow[]> {
  mkdirSync(BENCH_DIR, { recursive: true });
  const files = await ensureBenchFiles(BENCH_DIR, DATA_DIR, log);
  const rows: RulesBenchRow[] = [];
  for (const f of files) {
    const runs = RUNS[f.name] ?? 3;
    const detect: WorkerResult[] = [];
    const rules: WorkerResult[] = [];
    for (let i = 0; i < runs; i++) {
      log(`${f.name}: run ${i + 1}/${runs}`);
      detect.push(measure('detect', f.path));
      rules.push(measure('rules', f.path));
    }
    rows.push({
      file: f.name,
      runs,
      events: detect[0].events,
      detectMs: median(detect.map((r) => r.ms)),
      rulesMs: median(rules.map((r) => r.ms)),
      detectCpuMs: median(detect.map((r) => r.cpuMs)),
      rulesCpuMs: median(rules.map((r) => r.cpuMs)),
      detectRssMB: Math.max(...detect.map((r) => r.maxRssMB)),
      rulesRssMB: Math.max(...rules.map((r) => r.maxRssMB)),
      loadMs: median(rules.map((r) => r.loadMs ?? 0)),
      rules: rules[0].rules ?? 0,
      hits: rules[0].hits ?? 0,
      matches: rules[0].matches ?? 0,
    });
  }
  return rows;
}

const fmt = (n: number, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

/** The table and one verdict line per file. */
export function formatRulesBench(rows: readonly RulesBenchRow[]): string {
  const header = [
    'file',
    'events',
    'detect ms',
    'detect + rules ms',
    'wall ratio',
    'CPU ratio',
    'rule load ms',
    'ratio with load',
    'peak RSS MB',
    'matches → events',
  ];
  const lines = rows.map((r) => [
    `${r.file} (N=${r.runs})`,
    fmt(r.events),
    fmt(r.detectMs),
    fmt(r.rulesMs),
    fmt(r.rulesMs / r.detectMs, 2),
    fmt(r.rulesCpuMs / r.detectCpuMs, 2),
    fmt(r.loadMs),
    fmt((r.rulesMs + r.loadMs) / r.detectMs, 2),
    `${fmt(r.detectRssMB)} → ${fmt(r.rulesRssMB)}`,
    `${fmt(r.hits)} → ${fmt(r.matches)}`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const row = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  const verdicts = rows.map((r) => {
    const ratio = r.rulesMs / r.detectMs;
    return (
      `${r.file}: detect + rules / detect wall ${fmt(ratio, 2)} (target ≤ ${TARGET_RULES_RATIO}: ${ratio <= TARGET_RULES_RATIO ? 'met' : 'MISSED'}), ` +
      `${fmt((r.rulesMs + r.loadMs) / r.detectMs, 2)} with the one-time rule load`
    );
  });
  return [
    `rules: all 57 SigmaHQ rules + the built-in pack, every level (${rows[0]?.rules ?? 0} rules); median of N fresh-process runs, alternating;`,
    'rule load = reading and compiling the rules, once per process (CLI run, Lambda cold start), not per file',
    row(header),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...lines.map(row),
    '',
    ...verdicts,
  ].join('\n');
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === '--worker') {
    const result = await work(args[1] as Mode, args[2]);
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  const tty = process.stderr.isTTY;
  const rows = await runRulesBench((s) => process.stderr.write(tty ? `\r\x1b[K${s}` : `${s}\n`));
  if (tty) process.stderr.write('\r\x1b[K');
  console.log(formatRulesBench(rows));
}

if (require.main === module) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  });
}
