/**
 * Measures one command in a fresh Node process: wall time around it, and its own peak RSS and CPU time (written
 * by stats-preload.cjs). Every figure of the benchmark comes from here, so they are comparable.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const PRELOAD = join(__dirname, 'stats-preload.cjs');

export interface Measurement {
  readonly ms: number;
  readonly cpuMs: number;
  readonly rssMB: number;
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `node <args>` and measures it; throws when it fails, with the end of its stderr. */
export function measureNode(
  args: readonly string[],
  options: { cwd?: string; allowFailure?: boolean } = {},
): Measurement {
  const dir = mkdtempSync(join(tmpdir(), 'trailsight-bench-'));
  const stats = join(dir, 'stats.json');
  try {
    const t0 = process.hrtime.bigint();
    const child = spawnSync(process.execPath, ['--require', PRELOAD, ...args], {
      cwd: options.cwd,
      encoding: 'utf8',
      maxBuffer: 256 * 1024 * 1024,
      env: { ...process.env, TRAILSIGHT_BENCH_STATS: stats },
    });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (child.status !== 0 && !options.allowFailure) {
      const tail = (child.stderr || '').trim().split('\n').slice(-3).join(' | ');
      throw new Error(
        `node ${args.join(' ')} failed (${child.signal ?? `exit ${child.status}`}): ${tail.slice(0, 300)}`,
      );
    }
    const { maxRssKB, cpuMs } = JSON.parse(readFileSync(stats, 'utf8')) as { maxRssKB: number; cpuMs: number };
    return {
      ms,
      cpuMs,
      rssMB: maxRssKB / 1024,
      status: child.status ?? -1,
      stdout: child.stdout,
      stderr: child.stderr,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** The median of each figure over runs, and the largest peak RSS. */
export function summarize(runs: readonly Measurement[]): { ms: number; cpuMs: number; rssMB: number } {
  return {
    ms: median(runs.map((r) => r.ms)),
    cpuMs: median(runs.map((r) => r.cpuMs)),
    rssMB: Math.max(...runs.map((r) => r.rssMB)),
  };
}

/**
 * Runs each command `n` times, alternating between them (so a burst of load on this shared machine hits all of
 * them alike), and returns the runs of each.
 */
export function alternate(commands: readonly (() => Measurement)[], n: number): Measurement[][] {
  const runs: Measurement[][] = commands.map(() => []);
  for (let i = 0; i < n; i++) {
    for (const [k, run] of commands.entries()) runs[k].push(run());
  }
  return runs;
}

/**
 * Each run's wall time over the baseline run of the same round of {@link alternate} (runs[i] against baseline[i]),
 * and how many rounds met `target` (at most it): on a shared machine whose speed drifts during a run, a ratio within
 * one round compares runs made seconds apart, where the ratio of two medians may compare different moments.
 */
export function roundRatios(
  runs: readonly Measurement[],
  baseline: readonly Measurement[],
  target: number,
): { readonly min: number; readonly max: number; readonly met: number; readonly rounds: number } {
  if (runs.length !== baseline.length || runs.length === 0)
    throw new Error(`roundRatios: ${runs.length} runs against ${baseline.length} baseline runs`);
  const ratios = runs.map((r, i) => r.ms / baseline[i].ms);
  return {
    min: Math.min(...ratios),
    max: Math.max(...ratios),
    met: ratios.filter((r) => r <= target).length,
    rounds: ratios.length,
  };
}

export const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** `met` or `MISSED` against a target, for the verdict lines. */
export const verdict = (value: number, target: number, below = true) =>
  (below ? value <= target : value >= target) ? 'met' : 'MISSED';
