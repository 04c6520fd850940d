/**
 * Once per test run, before Jest starts its workers (which inherit the environment): bundles the local readers'
 * thread scripts (`lambda/adapters/*-worker.ts`) with esbuild, as the CLI build does, into a temporary directory
 * that {@link THREADS_DIR_ENV} names. A thread started by code under test then loads JavaScript instead of
 * compiling TypeScript through tsx, which cost each of the suite's hundred-odd threads about 0.4 s of CPU.
 */
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { THREADS_DIR_ENV } from '../../lambda/adapters/threads';

const ROOT = resolve(__dirname, '../..');

export default async function globalSetup(): Promise<void> {
  const adapters = join(ROOT, 'lambda/adapters');
  const out = mkdtempSync(join(tmpdir(), 'trailsight-threads-'));
  await build({
    entryPoints: readdirSync(adapters)
      .filter((f) => f.endsWith('-worker.ts'))
      .map((f) => join(adapters, f)),
    outdir: out,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    // The built-in rule pack, which a thread loads when a run has rules (lambda/core/rules/load.ts).
    define: { TRAILSIGHT_RULES_DIR: JSON.stringify(join(ROOT, 'rules')) },
    logLevel: 'warning',
  });
  process.env[THREADS_DIR_ENV] = out;
}
