/**
 * `npm start` demo: builds a multi-day, two-account scenario from the bundled real logs
 * (samples/grycap-cloudtrail-tracker: one real day of a university account, varied from day to day) with
 * periodic jobs, benign bursts and a few labelled injections, writes it as delivery files under
 * `.bench/demo/`, replays it through the same code path as `trailsight detect`, prints the insights, and
 * says which injections were found, how fast, and which insights matched nothing.
 */
import path from 'node:path';
import { detectFiles, formatInsightTable } from '../cli/commands/detect';
import type { CliIo } from '../cli/io';
import { listLocalFiles } from '../lambda/adapters/local-files';
import { type InsightEvent, Replay } from '../lambda/core/detect';
import { generateScenario, loadBackground } from './scenarios/generate';
import { matches } from './scenarios/score';

const ROOT = path.resolve(__dirname, '..');
const DAY = 86_400_000;

async function main(): Promise<void> {
  const logs = path.join(ROOT, '.bench', 'demo', 'logs');
  const days = 10;
  const warmupDays = 7;
  process.stderr.write('building a 10-day, 2-account scenario from samples/grycap-cloudtrail-tracker …\n');
  const scenario = generateScenario(
    loadBackground(path.join(ROOT, 'samples', 'grycap-cloudtrail-tracker')),
    { seed: 42, accounts: 2, days, warmupDays, startDay: Date.UTC(2026, 2, 2), region: 'us-east-1' },
    logs,
  );
  process.stderr.write(
    `${scenario.files} files, ${scenario.events} events written to ${path.relative(ROOT, logs)}/; replaying …\n`,
  );
  const io: CliIo = { stdout: () => {}, stderr: (t) => process.stderr.write(t), stderrIsTty: false };
  const insights: InsightEvent[] = [];
  await detectFiles(await listLocalFiles([logs]), new Replay(), (i) => insights.push(i), io);
  const testStart = scenario.options.startDay + warmupDays * DAY;
  const end = scenario.options.startDay + days * DAY;
  const shown = insights.filter((i) => Date.parse(i.eventTime) >= testStart && Date.parse(i.eventTime) < end);
  const out: string[] = [];
  out.push(
    `Insights over the last ${days - warmupDays} days (the first ${warmupDays} days are the replayed history the baselines learn from):`,
    '',
    formatInsightTable(shown).trimEnd(),
    '',
    'Injected anomalies:',
  );
  for (const l of scenario.labels) {
    const hits = shown.filter((i) => i.insightDetails.state === 'Start' && matches(i, l));
    const when = new Date(l.start).toISOString().slice(0, 16).replace('T', ' ');
    if (hits.length === 0) out.push(`  missed    ${when}  ${l.kind.padEnd(13)} ${l.note}`);
    else {
      const latency = Math.round((Date.parse(hits[0].trailsight.detectedAt) - l.start) / 60_000);
      out.push(
        `  found     ${when}  ${l.kind.padEnd(13)} ${l.note} → ${hits[0].trailsight.detector}, ${latency} min after it began`,
      );
    }
  }
  const unmatched = shown.filter(
    (i) => i.insightDetails.state === 'Start' && !scenario.labels.some((l) => matches(i, l)),
  );
  out.push('', `Insights that match no injection (benign activity flagged): ${unmatched.length}`);
  for (const i of unmatched) out.push(`  ${i.eventTime}  ${i.trailsight.detector}: ${i.trailsight.explanation}`);
  out.push('', 'The same replay from the command line: npx trailsight detect .bench/demo/logs --format table');
  process.stdout.write(`${out.join('\n')}\n`);
}

main().catch((err) => {
  process.stderr.write(`demo failed: ${(err as Error).stack ?? err}\n`);
  process.exitCode = 1;
});
