/**
 * The CLI section of `npm run bench`: the built `trailsight` command as a user runs it, each run a fresh process.
 *
 * - Start-up: `trailsight --help` against `node -e ''` (the floor any Node command pays). Target < 300 ms.
 * - Many small files: `trailsight summary` over the 28-day, two-account tree of issue 11 (~19,900 deliveries),
 *   on one thread (`--threads 0`) and on every core, against the plain single-core baseline (walk the tree,
 *   gunzipSync + JSON.parse each file: bench/lib/baselines/gunzip-parse.cjs). Targets: one thread ≤ 1.3× the
 *   baseline, every core < 1×: verdicts on the medians, and each run's ratio to the baseline run of its own round
 *   (how often the target was met, on a machine whose speed drifts). Both summaries must print the same JSON.
 * - `trailsight detect --no-rules` over the same tree against the same baseline, on one thread and on every core
 *   (issue 11 sets it the same targets), with the saved state compared between the two, and where its one-thread
 *   time goes: reading, building the deltas, the engine (bench/lib/worker.ts detect-stages).
 * - `trailsight detect` with the rules (the default) on one thread and on every core (no target: how much the
 *   threads give the command people run).
 * - `trailsight detect` at organization scale: the first one, two and four weeks of the ten-million-event tree (four
 *   busy accounts, two Regions), on every core, to show how its time and peak memory grow with the days replayed.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureTree, firstDays, type GeneratedTree, MONTH_TREE, TEN_MILLION_TREE } from '../generate';
import { alternate, fmt, type Measurement, measureNode, roundRatios, summarize, verdict } from '../measure';
import type { BenchSection } from '../section';
import type { WorkerResult } from '../worker';

const STARTUP_RUNS = 9;
const SUMMARY_RUNS = 5;
const DETECT_RUNS = 3;

export const section: BenchSection = {
  name: 'cli',
  title: 'the built trailsight command: start-up, and summary over ~19,900 small files, against the plain baseline',
  async run(ctx) {
    const cli = join(ctx.root, 'cli/trailsight.js');
    const node = () => measureNode(['-e', '']);
    const help = () => measureNode([cli, '--help']);
    const [bare, helped] = alternate([node, help], STARTUP_RUNS).map(summarize);
    console.log(
      `start-up (median of ${STARTUP_RUNS}): trailsight --help ${fmt(helped.ms)} ms (target < 300: ${verdict(helped.ms, 300)}), ` +
        `node -e '' ${fmt(bare.ms)} ms, so ${fmt(helped.ms - bare.ms)} ms are the command's own`,
    );

    const tree = await ensureTree(ctx.benchDir, MONTH_TREE, ctx.log);
    const baseline = () => measureNode([join(__dirname, '../baselines/gunzip-parse.cjs'), tree.path]);
    const oneThread = () => measureNode([cli, 'summary', tree.path, '--format', 'json', '--threads', '0']);
    const everyCore = () => measureNode([cli, 'summary', tree.path, '--format', 'json']);
    console.log(
      `\nsummary over ${fmt(tree.files)} delivery files, ${fmt(tree.events)} events (median of ${SUMMARY_RUNS}, alternating):`,
    );
    // The baseline split over every core too: not a target, the ceiling this machine's cores give (see compare).
    const baselineAll = () => measureNode([join(__dirname, '../baselines/gunzip-parse-threads.cjs'), tree.path]);
    // And the baseline with the one change of the reader's inflate (no target): how much of the ratios it explains.
    const baselineSized = () =>
      measureNode([join(__dirname, '../baselines/gunzip-parse.cjs'), tree.path, '--sized-inflate']);
    const [b, one, all, bAll, bSized] = alternate(
      [baseline, oneThread, everyCore, baselineAll, baselineSized],
      SUMMARY_RUNS,
    );
    const summaryOne = compare('summary', [b, one, all], 'results', { all: bAll, sizedInflate: bSized });

    // detect over the same tree (issue 11 asks the same of it): the replay with every detector, in one thread, and
    // on every core (the two accounts replayed side by side).
    const detectArgs = [cli, 'detect', tree.path, '--format', 'jsonl', '--no-rules'];
    const detectOne = () => measureNode([...detectArgs, '--threads', '0']);
    const detectAll = () => measureNode(detectArgs);
    console.log(`\ntrailsight detect --no-rules over the same files (median of ${DETECT_RUNS}, alternating):`);
    const detectRuns = alternate([baseline, detectOne, detectAll], DETECT_RUNS);
    const detectOneThread = compare('detect', detectRuns, `insights (${insightCount(detectRuns[1][0].stdout)})`);
    sameState(detectArgs);
    // detect reads the files as summary does, then builds each file's delta and replays it file by file as the
    // pipeline would: its one-thread time is summary's plus that work, which this line shows on its own.
    console.log(
      `detect beyond summary, one thread: ${fmt(detectOneThread.ms - summaryOne.ms)} ms wall, ` +
        `${fmt(detectOneThread.cpuMs - summaryOne.cpuMs)} ms CPU (building the deltas and replaying them)`,
    );
    stagesOfDetect(tree.path, summarize(detectRuns[0]).ms, insightCount(detectRuns[1][0].stdout));

    // The default detect tests every event against the rules too: each replay thread tests its own accounts' files.
    const withRules = [cli, 'detect', tree.path, '--format', 'jsonl'];
    const rulesRuns = alternate(
      [() => measureNode([...withRules, '--threads', '0']), () => measureNode(withRules)],
      DETECT_RUNS,
    );
    const [rulesOne, rulesAll] = rulesRuns.map(summarize);
    // The output, and the closing line's counts (rules: matches, allow-listed, events), without its duration.
    const closing = (r: Measurement) => r.stderr.replace(/; [\d.]+ s\n/, '\n');
    const [first] = rulesRuns[0];
    const same = rulesRuns.flat().every((r) => r.stdout === first.stdout && closing(r) === closing(first));
    console.log(
      `
trailsight detect with the rules (the default; median of ${DETECT_RUNS}, alternating): one thread ${fmt(rulesOne.ms)} ms, ` +
        `${availableParallelism()} cores ${fmt(rulesAll.ms)} ms (${fmt(rulesOne.ms / rulesAll.ms, 2)}× faster); ` +
        `${fmt(insightCount(first.stdout))} events printed; output and counts identical: ${same ? 'yes' : 'NO'}`,
    );

    await detectAtScale(cli, await ensureTree(ctx.benchDir, TEN_MILLION_TREE, ctx.log));
  },
};

/**
 * `trailsight detect --no-rules` over the first 7, 14 and 28 days of the ten-million-event tree, on every core (one
 * run each): the time should grow with the events and the peak memory far less (the replay keeps the recent
 * windows, the pages and the applied files' names, not the events).
 */
async function detectAtScale(cli: string, tree: GeneratedTree): Promise<void> {
  console.log(
    `\ntrailsight detect --no-rules at organization scale: the ten-million-event tree (${fmt(tree.files)} files, ` +
      `${TEN_MILLION_TREE.accounts} accounts, ${TEN_MILLION_TREE.regions.length} Regions), its first days, ${availableParallelism()} cores, one run each:`,
  );
  let first: { ms: number; rssMB: number; events: number } | undefined;
  for (const n of [7, 14, 28]) {
    const run = measureNode([
      cli,
      'detect',
      ...firstDays(tree, TEN_MILLION_TREE, n),
      '--format',
      'jsonl',
      '--no-rules',
    ]);
    // The closing line: "<files> files, <events> events, …".
    const closing = /(\d+) files, (\d+) events/.exec(run.stderr);
    if (!closing) throw new Error(`trailsight detect printed no closing line: ${run.stderr.slice(-300)}`);
    const [, files, events] = closing;
    const e = Number(events);
    first ??= { ms: run.ms, rssMB: run.rssMB, events: e };
    console.log(
      `  ${String(n).padStart(2)} days: ${fmt(Number(files)).padStart(6)} files ${fmt(e).padStart(10)} events ` +
        `${fmt(run.ms).padStart(8)} ms wall ${fmt(run.cpuMs).padStart(8)} ms CPU ${fmt(run.rssMB).padStart(6)} MB peak  ` +
        `${fmt(e / (run.ms / 1000)).padStart(7)} events/s; against 7 days: ` +
        `events ${fmt(e / first.events, 2)}×, time ${fmt(run.ms / first.ms, 2)}×, peak memory ${fmt(run.rssMB / first.rssMB, 2)}×`,
    );
  }
}

/**
 * The month's replay may print no insight, so the state is compared too: one untimed run on one thread and one on
 * every core, each saving `--state`, must write the same bytes (every partition's baselines, deltas and pages).
 */
function sameState(detectArgs: readonly string[]): void {
  const dir = mkdtempSync(join(tmpdir(), 'trailsight-bench-state-'));
  try {
    const [one, all] = [['--threads', '0'], []].map((threads, i) => {
      const state = join(dir, `state-${i}.json`);
      measureNode([...detectArgs, ...threads, '--state', state]);
      return readFileSync(state);
    });
    console.log(
      `detect --state after the replay, one thread and every core: ${fmt(one.length / 1e6, 1)} MB, identical: ${one.equals(all) ? 'yes' : 'NO'}`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function insightCount(jsonl: string): number {
  return jsonl.split('\n').filter(Boolean).length;
}

/**
 * Where detect's one-thread time goes: the same calls as `trailsight detect --threads 0 --no-rules`, in one process
 * with a clock around each step of each file (bench/lib/worker.ts detect-stages), against the baseline's median.
 */
function stagesOfDetect(tree: string, baselineMs: number, cliInsights: number): void {
  const run = measureNode(['--import', 'tsx', join(__dirname, '../worker.ts'), 'detect-stages', tree]);
  const r = JSON.parse(run.stdout) as WorkerResult;
  const { readMs, deltaMs, engineMs } = r.stages as NonNullable<WorkerResult['stages']>;
  const files = r.files as number;
  const step = (label: string, ms: number) =>
    `  ${label.padEnd(52)} ${fmt(ms).padStart(7)} ms  ${fmt(ms / baselineMs, 2).padStart(5)}× the baseline  ${fmt((ms * 1000) / files).padStart(4)} µs per file`;
  console.log(
    `detect, one thread, step by step (one run of its own calls in one process; a garbage collection counts in the step that set it off):`,
  );
  console.log(step('reading: open, gunzip, parse, normalize, dedupe', readMs));
  console.log(step("building each file's delta", deltaMs));
  console.log(step('the engine: due ticks, window tests, compactions', engineMs));
  console.log(
    `  same insights as the command: ${r.insights === cliInsights ? 'yes' : 'NO'} (${fmt(r.insights ?? 0)}); ` +
      `the steps add up to ${fmt((readMs + deltaMs + engineMs) / baselineMs, 2)}× the baseline`,
  );
}

/**
 * Prints the baseline, one thread and every core of a command (runs as `alternate` returns them), and the two
 * ratios against the targets (one thread ≤ 1.3× the baseline, every core < 1×); returns the one-thread run.
 * With the baseline's runs on every core (`variants.all`), also how much of its one-core time the cores save the
 * simplest program: the every-core target needs the command's own work to split as well as that, and to stay
 * under about 1 / that ratio times the baseline's. With the baseline inflating as the reader does
 * (`variants.sizedInflate`), how much of the command's time that one change saves the baseline.
 */
function compare(
  command: string,
  [b, one, all]: Measurement[][],
  output: string,
  variants: { readonly all?: Measurement[]; readonly sizedInflate?: Measurement[] } = {},
): ReturnType<typeof summarize> {
  const [sb, s1, sa] = [b, one, all].map(summarize);
  const cores = availableParallelism();
  const sbAll = variants.all && summarize(variants.all);
  const sbSized = variants.sizedInflate && summarize(variants.sizedInflate);
  const rows = [
    ['baseline: walk + gunzipSync + JSON.parse, one core', sb],
    ...(sbAll ? [[`baseline, files split over ${cores} threads (no target)`, sbAll] as const] : []),
    ...(sbSized ? [['baseline, trailer-sized inflate (no target)', sbSized] as const] : []),
    [`trailsight ${command} --threads 0`, s1],
    [`trailsight ${command} (${cores} cores)`, sa],
  ] as const;
  for (const [label, m] of rows) {
    console.log(
      `  ${label.padEnd(52)} ${fmt(m.ms).padStart(7)} ms wall  ${fmt(m.cpuMs).padStart(7)} ms CPU  ${fmt(m.rssMB).padStart(5)} MB peak`,
    );
  }
  const r1 = s1.ms / sb.ms;
  const ra = sa.ms / sb.ms;
  const same = one.every((r) => r.stdout === all[0].stdout) && all.every((r) => r.stdout === all[0].stdout);
  console.log(
    `${command}/baseline wall: one thread ${fmt(r1, 2)} (target ≤ 1.3: ${verdict(r1, 1.3)}), ` +
      `every core ${fmt(ra, 2)} (target < 1: ${verdict(ra, 0.999)}); identical ${output}: ${same ? 'yes' : 'NO'}`,
  );
  // The same ratios round by round (the verdicts above stay on the medians).
  const rounds = (runs: Measurement[], target: number) => {
    const r = roundRatios(runs, b, target);
    return `${fmt(r.min, 2)}–${fmt(r.max, 2)} (target met in ${r.met} of ${r.rounds})`;
  };
  console.log(
    `${command}/baseline wall, each run against the baseline run of its round: one thread ${rounds(one, 1.3)}, ` +
      `every core ${rounds(all, 0.999)}`,
  );
  // Diagnostic, not a target: CPU time is less disturbed than wall time by other processes on a shared machine,
  // so this shows how much work each run does beyond the baseline's whatever the load.
  console.log(
    `${command}/baseline CPU: one thread ${fmt(s1.cpuMs / sb.cpuMs, 2)}, every core ${fmt(sa.cpuMs / sb.cpuMs, 2)} (all threads' CPU)`,
  );
  if (sbAll) {
    console.log(
      `what ${cores} cores give: the baseline ${fmt(sbAll.ms / sb.ms, 2)}× its one-core time, ${command} ${fmt(sa.ms / s1.ms, 2)}× its one-thread time; ` +
        `${command} on every core is ${fmt(sa.ms / sbAll.ms, 2)}× the baseline on every core`,
    );
  }
  if (sbSized) {
    console.log(
      `the reader's trailer-sized inflate, tried on the baseline alone: ${fmt(sbSized.ms / sb.ms, 2)}× its time; ` +
        `${command} one thread is ${fmt(s1.ms / sbSized.ms, 2)}× that baseline, every core ${fmt(sa.ms / sbSized.ms, 2)}×`,
    );
  }
  return s1;
}
