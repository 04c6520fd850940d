/**
 * The ingest section of `npm run bench`: the ingest core against the plain baseline, on realistic delivery files.
 *
 * Files: generated once into `.bench/` (git-ignored) from the real record shapes in ../shared/data
 * (bench/lib/generate.ts): ~2 MB and ~12 MB gzip (busy accounts' deliveries) and one at
 * CloudTrail's 50 MB-gzip maximum.
 * Each measurement runs in its own child process (bench/lib/worker.ts) so peak RSS belongs to one approach;
 * runs alternate baseline/core/detect and the median time is reported. The baseline gets a 16 GB heap so that it can
 * finish the big file at all; if it still fails (out of memory, string too long) that is reported, not hidden.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { generateScenario, loadBackground } from '../../scenarios/generate';
import { ensureBenchFiles } from '../generate';
import type { BenchContext, BenchSection } from '../section';
import type { WorkerResult } from '../worker';

const WORKER = join(__dirname, '../worker.ts');
const TARGET_RATIO = 1.3;
/** Issue 4: ingest + detect within 1.5x the bare baseline. */
const TARGET_DETECT_RATIO = 1.5;
const TARGET_RSS_MB = 300;
/** Issue 14: the detectors it added cost at most 20 % more replay time. */
const TARGET_NEW_DETECTORS_RATIO = 1.2;
const RUNS: Record<string, number> = { 'small-2MB': 7, 'medium-12MB': 5, 'max-50MB': 3 };

type Outcome = { ok: true; result: WorkerResult } | { ok: false; reason: string };

type Mode = 'baseline' | 'core' | 'detect' | 'baseline-tree' | 'core-tree' | 'detect-tree' | 'detect-tree-classic';

function measure(root: string, mode: Mode, file: string): Outcome {
  const heap = mode === 'baseline' ? ['--max-old-space-size=16384'] : [];
  const child = spawnSync(process.execPath, [...heap, '--import', 'tsx', WORKER, mode, file], {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
  });
  if (child.status === 0) {
    const line = child.stdout.trim().split('\n').pop() ?? '';
    return { ok: true, result: JSON.parse(line) as WorkerResult };
  }
  const tail = (child.stderr || '').trim().split('\n').filter(Boolean).slice(-2).join(' | ');
  return {
    ok: false,
    reason: child.signal ? `killed by ${child.signal}` : `exit ${child.status}: ${tail.slice(0, 160)}`,
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

interface Cell {
  ms: number;
  cpuMs: number;
  rss: number;
}

interface Row {
  name: string;
  gzipMB: number;
  jsonMB: number;
  events: number;
  baseline: Cell | string;
  core: Cell | string;
  detect: Cell | string;
  /** Engine state, serialized bytes per thousand active series (from the detect runs). */
  stateBytesPerThousandSeries?: number;
}

function summarize(outcomes: Outcome[]): (Cell & { events: number; jsonBytes: number }) | string {
  const ok = outcomes.filter((o): o is { ok: true; result: WorkerResult } => o.ok);
  if (ok.length === 0) return (outcomes[0] as { ok: false; reason: string }).reason;
  return {
    ms: median(ok.map((o) => o.result.ms)),
    cpuMs: median(ok.map((o) => o.result.cpuMs)),
    rss: Math.max(...ok.map((o) => o.result.maxRssMB)),
    events: ok[0].result.events,
    jsonBytes: ok[0].result.jsonBytes,
  };
}

/** Two modes over the same input, alternating, three runs each. */
function alternating(
  root: string,
  a: Mode,
  b: Mode,
  input: string,
): [ReturnType<typeof summarize>, ReturnType<typeof summarize>] {
  const runs: [Outcome[], Outcome[]] = [[], []];
  for (let i = 0; i < 3; i++) {
    runs[0].push(measure(root, a, input));
    runs[1].push(measure(root, b, input));
  }
  return [summarize(runs[0]), summarize(runs[1])];
}

const fmt = (n: number, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

async function run(ctx: BenchContext): Promise<void> {
  const files = await ensureBenchFiles(ctx.benchDir, ctx.dataDir, ctx.log);
  const tty = process.stderr.isTTY;
  console.log('median of N runs per cell, each in a fresh process, baseline, core and detect alternating\n');
  const rows: Row[] = [];
  for (const f of files) {
    const runs = RUNS[f.name] ?? 3;
    const base: Outcome[] = [];
    const core: Outcome[] = [];
    const det: Outcome[] = [];
    for (let i = 0; i < runs; i++) {
      if (tty) process.stderr.write(`\r${f.name}: run ${i + 1}/${runs} `);
      base.push(measure(ctx.root, 'baseline', f.path));
      core.push(measure(ctx.root, 'core', f.path));
      det.push(measure(ctx.root, 'detect', f.path));
    }
    if (tty) process.stderr.write('\r\x1b[K');
    const b = summarize(base);
    const c = summarize(core);
    const d = summarize(det);
    const firstDetect = det.find((o): o is { ok: true; result: WorkerResult } => o.ok);
    const ref = typeof c === 'string' ? (typeof b === 'string' ? undefined : b) : c;
    rows.push({
      name: `${f.name} (N=${runs})`,
      gzipMB: f.gzipBytes / 1024 / 1024,
      jsonMB: ref ? ref.jsonBytes / 1024 / 1024 : Number.NaN,
      events: ref ? ref.events : Number.NaN,
      baseline: typeof b === 'string' ? b : { ms: b.ms, cpuMs: b.cpuMs, rss: b.rss },
      core: typeof c === 'string' ? c : { ms: c.ms, cpuMs: c.cpuMs, rss: c.rss },
      detect: typeof d === 'string' ? d : { ms: d.ms, cpuMs: d.cpuMs, rss: d.rss },
      stateBytesPerThousandSeries: firstDetect?.result.stateBytesPerThousandSeries,
    });
  }

  const header = [
    'file',
    'gzip MB',
    'JSON MB',
    'events',
    'approach',
    'wall ms',
    'CPU ms',
    'events/s',
    'MB/s',
    'peak RSS MB',
  ];
  const lines: string[][] = [header];
  const verdicts: string[] = [];
  for (const r of rows) {
    for (const [label, m] of [
      ['baseline: gunzipSync + JSON.parse', r.baseline],
      ['core: stream, split, normalize, dedupe, aggregate', r.core],
      ['core + detection engine (no aggregate)', r.detect],
    ] as const) {
      if (typeof m === 'string') {
        lines.push([r.name, fmt(r.gzipMB, 1), fmt(r.jsonMB, 1), fmt(r.events), label, `FAILED (${m})`, '', '', '', '']);
      } else {
        lines.push([
          r.name,
          fmt(r.gzipMB, 1),
          fmt(r.jsonMB, 1),
          fmt(r.events),
          label,
          fmt(m.ms),
          fmt(m.cpuMs),
          fmt((r.events / m.ms) * 1000),
          fmt((r.jsonMB / m.ms) * 1000, 1),
          fmt(m.rss),
        ]);
      }
    }
    const c = r.core;
    const b = r.baseline;
    if (typeof c === 'string') {
      verdicts.push(`${r.name}: core FAILED (${c})`);
      continue;
    }
    const big = r.name.startsWith('max-50MB');
    const rss = `core peak RSS ${fmt(c.rss)} MB${big ? ` (target ≤ ${TARGET_RSS_MB}: ${c.rss <= TARGET_RSS_MB ? 'met' : 'MISSED'})` : ''}`;
    if (typeof b === 'string') {
      verdicts.push(`${r.name}: baseline FAILED (${b}); ${rss}`);
      continue;
    }
    const wall = c.ms / b.ms;
    const cpu = c.cpuMs / b.cpuMs;
    verdicts.push(
      `${r.name}: core/baseline wall ${fmt(wall, 2)} (target ≤ ${TARGET_RATIO}: ${wall <= TARGET_RATIO ? 'met' : 'MISSED'}), ` +
        `CPU ${fmt(cpu, 2)}; ${rss}, baseline ${fmt(b.rss)} MB`,
    );
    const d = r.detect;
    if (typeof d === 'string') {
      verdicts.push(`${r.name}: detect FAILED (${d})`);
    } else {
      const dw = d.ms / b.ms;
      verdicts.push(
        `${r.name}: detect/baseline wall ${fmt(dw, 2)} (target ≤ ${TARGET_DETECT_RATIO}: ${dw <= TARGET_DETECT_RATIO ? 'met' : 'MISSED'}), ` +
          `CPU ${fmt(d.cpuMs / b.cpuMs, 2)}; detect peak RSS ${fmt(d.rss)} MB; engine state ${fmt((r.stateBytesPerThousandSeries ?? 0) / 1024, 0)} KB per 1,000 active series`,
      );
    }
  }
  const widths = header.map((_h, i) => Math.max(...lines.map((l) => l[i].length)));
  for (const [n, l] of lines.entries()) {
    console.log(
      l.map((cell, i) => (i === 0 || i === 4 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join('  '),
    );
    if (n === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  }
  console.log('');
  for (const v of verdicts) console.log(v);

  // Many small files: CloudTrail's usual delivery is tens of KB, so per-file overhead matters as much as MB/s.
  const tree = join(ctx.benchDir, 'tree');
  if (!existsSync(join(tree, 'AWSLogs'))) {
    ctx.log('generating an 8-day, 1-account delivery tree in .bench/tree …');
    generateScenario(
      loadBackground(join(ctx.dataDir, 'grycap-cloudtrail-tracker')),
      { seed: 7, accounts: 1, days: 8, warmupDays: 8, startDay: Date.UTC(2026, 0, 5), region: 'us-east-1' },
      tree,
    );
  }
  const [tb, tc] = alternating(ctx.root, 'baseline-tree', 'core-tree', tree);
  if (typeof tb === 'string' || typeof tc === 'string') {
    console.log(`\nmany small files: FAILED (${typeof tb === 'string' ? tb : tc})`);
  } else {
    const files = readdirSync(tree, { recursive: true }).filter((f) => String(f).endsWith('.json.gz')).length;
    const ratio = tc.ms / tb.ms;
    console.log(
      `\nmany small files (N=3): ${fmt(files)} delivery files, ${fmt(tb.events)} events, ` +
        `${fmt(tb.jsonBytes / files / 1024, 0)} KB of JSON per file: baseline ${fmt(tb.ms)} ms, core ${fmt(tc.ms)} ms; ` +
        `core/baseline wall ${fmt(ratio, 2)} (target ≤ ${TARGET_RATIO}: ${ratio <= TARGET_RATIO ? 'met' : 'MISSED'}), ` +
        `CPU ${fmt(tc.cpuMs / tb.cpuMs, 2)}`,
    );
  }

  // What the detectors of issue 14 cost: the same replay with and without them, alternating.
  const [dc, da] = alternating(ctx.root, 'detect-tree-classic', 'detect-tree', tree);
  if (typeof dc === 'string' || typeof da === 'string') {
    console.log(`detectors of issue 14: FAILED (${typeof dc === 'string' ? dc : da})`);
  } else {
    const ratio = da.ms / dc.ms;
    console.log(
      `trailsight detect over the tree (N=3): without the detectors issue 14 added ${fmt(dc.ms)} ms, with them ` +
        `${fmt(da.ms)} ms: ${fmt(ratio, 2)} (target ≤ ${TARGET_NEW_DETECTORS_RATIO}: ${ratio <= TARGET_NEW_DETECTORS_RATIO ? 'met' : 'MISSED'}), ` +
        `CPU ${fmt(da.cpuMs / dc.cpuMs, 2)}, peak ${fmt(dc.rss)} → ${fmt(da.rss)} MB`,
    );
  }
}

export const section: BenchSection = {
  name: 'ingest',
  title: 'the ingest core and detection over single delivery files and a small tree, against gunzipSync + JSON.parse',
  run,
};
