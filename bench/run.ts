/**
 * `npm run bench`: every performance figure of the README, each against a baseline measured in the same run,
 * on this machine (shared and noisy: compare the ratios, not the milliseconds).
 *
 *   npm run bench                       every section
 *   npm run bench -- --only query,cli   some sections
 *   npm run bench -- --skip cost        all but some
 *
 * Sections are modules in bench/lib/sections/ (see bench/lib/section.ts to add one). Inputs are generated into
 * the git-ignored `.bench/` from the real record shapes in ../shared/data, once, and reused. The CLI is built
 * first (`npm run build:cli`), so the command measured is the one users run.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import type { BenchContext, BenchSection } from './lib/section';
import { section as cli } from './lib/sections/cli';
import { section as cost } from './lib/sections/cost';
import { section as ingest } from './lib/sections/ingest';
import { section as query } from './lib/sections/query';
import { section as rules } from './lib/sections/rules';
import { section as state } from './lib/sections/state';

const SECTIONS: readonly BenchSection[] = [ingest, cli, query, rules, cost, state];

function names(flag: string): string[] | undefined {
  const at = process.argv.indexOf(flag);
  if (at < 0) return undefined;
  const list = (process.argv[at + 1] ?? '').split(',').filter(Boolean);
  const unknown = list.filter((n) => !SECTIONS.some((s) => s.name === n));
  if (unknown.length > 0) {
    throw new Error(
      `${flag}: unknown section ${unknown.join(', ')} (sections: ${SECTIONS.map((s) => s.name).join(', ')})`,
    );
  }
  return list;
}

async function main(): Promise<void> {
  const root = resolve(__dirname, '..');
  const context: BenchContext = {
    root,
    benchDir: join(root, '.bench'),
    dataDir: resolve(root, '../shared/data'),
    log: (text) => process.stderr.write(`${text}\n`),
  };
  mkdirSync(context.benchDir, { recursive: true });
  const only = names('--only');
  // `--no-cost` is the older spelling of `--skip cost`.
  const skip = [...(names('--skip') ?? []), ...(process.argv.includes('--no-cost') ? ['cost'] : [])];
  const chosen = SECTIONS.filter((s) => (only ? only.includes(s.name) : true) && !skip.includes(s.name));

  const build = spawnSync('npm', ['run', '--silent', 'build:cli'], { cwd: root, stdio: 'inherit' });
  if (build.status !== 0) throw new Error('npm run build:cli failed');
  const load = () =>
    loadavg()
      .map((l) => l.toFixed(1))
      .join(' ');
  console.log(`node ${process.version}, ${process.arch}, ${cpus().length} CPUs, load average at start ${load()}`);
  for (const s of chosen) {
    console.log(`\n## ${s.name}: ${s.title}\n`);
    await s.run(context);
  }
  console.log(
    `\nload average at end ${load()} (other processes on this machine inflate wall times; CPU ms is less affected)`,
  );
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
