/** Shared by the report tests: one report built from the bundled real samples, once per test file. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { main } from '../../cli/main';
import { captureIo } from '../support/cli-io';

export const SAMPLES = path.resolve(__dirname, '../../samples');

/**
 * A configuration that lets the engine report from the first hour: the samples are one real day of a university
 * account plus the flaws2 attack, too short for the default 48 learning hours.
 */
export function noLearningConfig(dir: string): string {
  const file = path.join(dir, 'detect.json');
  writeFileSync(file, JSON.stringify({ learningHours: 0 }));
  return file;
}

/** Runs `trailsight report` and returns the exit code, stderr and the output path. */
export async function report(...argv: string[]): Promise<{ code: number; err: string; out: string }> {
  const io = captureIo();
  const code = await main(['report', ...argv], io);
  return { code, err: io.err, out: io.out };
}

/** Writes the samples report into a fresh directory and returns its path. */
export async function samplesReport(): Promise<string> {
  const dir = mkdtempSync(path.join(tmpdir(), 'trailsight-report-'));
  const output = path.join(dir, 'report.html');
  const { code, err } = await report(SAMPLES, '--config', noLearningConfig(dir), '-o', output);
  if (code !== 0) throw new Error(`trailsight report failed (${code}): ${err}`);
  return output;
}
