/**
 * Once per test run, before Jest starts its workers (which inherit the environment): bundles the local readers'
 * thread scripts (`lambda/adapters/*-worker.ts`) with esbuild, as the CLI build does, into a temporary directory
 * that {@link THREADS_DIR_ENV} names. A thread started by code under test then loads JavaScript instead of
 * compiling TypeScript through tsx, which cost each of the suite's ninety-odd threads about 0.4 s more CPU.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { THREADS_DIR_ENV } from '../../lambda/adapters/threads';

const ROOT = resolve(__dirname, '../..');
// The command build's own definition of the thread scripts and of its bundles (cli/thread-bundles.cjs).
const { NODE_BUNDLE, threadEntryPoints } = require('../../cli/thread-bundles.cjs') as {
  NODE_BUNDLE: { bundle: true; platform: 'node'; target: string; format: 'cjs' };
  threadEntryPoints(root: string): Record<string, string>;
};

export default async function globalSetup(): Promise<void> {
  const out = mkdtempSync(join(tmpdir(), 'trailsight-threads-'));
  await build({
    entryPoints: threadEntryPoints(ROOT),
    outdir: out,
    ...NODE_BUNDLE,
    // The built-in rule pack, which a thread loads when a run has rules (lambda/core/rules/load.ts).
    define: { TRAILSIGHT_RULES_DIR: JSON.stringify(join(ROOT, 'rules')) },
    logLevel: 'warning',
  });
  process.env[THREADS_DIR_ENV] = out;
}
