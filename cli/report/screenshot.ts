/**
 * `npm run report:screenshot`: the README's picture of the report, made from the bundled samples.
 *
 * Builds the `npm start` scenario (10 days, 2 accounts, from samples/grycap-cloudtrail-tracker, with its
 * injected anomalies) under .bench/demo/logs, writes `trailsight report` of it to .bench/report/report.html,
 * opens it in headless Debian Chromium and saves the overview, the timeline and two insight charts (the
 * RunInstances burst and the missed nightly backup) as docs/report.png.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { generateScenario, loadBackground } from '../../bench/scenarios/generate';
import { main } from '../main';
import { openReport } from './browser';

const ROOT = path.resolve(__dirname, '..', '..');

async function run(): Promise<void> {
  const logs = path.join(ROOT, '.bench', 'demo', 'logs');
  const page = path.join(ROOT, '.bench', 'report', 'report.html');
  const png = path.join(ROOT, 'docs', 'report.png');
  mkdirSync(path.dirname(page), { recursive: true });
  process.stderr.write('building the npm start scenario from samples/grycap-cloudtrail-tracker …\n');
  // The same scenario as bench/demo.ts (npm start).
  generateScenario(
    loadBackground(path.join(ROOT, 'samples', 'grycap-cloudtrail-tracker')),
    { seed: 42, accounts: 2, days: 10, warmupDays: 7, startDay: Date.UTC(2026, 2, 2), region: 'us-east-1' },
    logs,
  );
  // Relative paths, so the page (and its evidence commands) name the folder as a reader would type it.
  const code = await main([
    'report',
    path.relative(process.cwd(), logs),
    '-o',
    path.relative(process.cwd(), page),
    '--title',
    'Trailsight report: the npm start scenario',
  ]);
  if (code !== 0) throw new Error(`trailsight report exited ${code}`);
  const opened = await openReport(page, { width: 1100, height: 900 });
  try {
    if (opened.errors.length > 0) throw new Error(`the page logged errors: ${opened.errors.join('; ')}`);
    // Keep the two insight cards that show a burst against its band and a missed run; hide the others.
    const kept = await opened.page.evaluate(() => {
      const cards = [...document.querySelectorAll<HTMLElement>('section.card')];
      const wanted = [/Unusual call rate: RunInstances/, /Scheduled job did not run/];
      const keep = wanted.map((re) => cards.find((c) => re.test(c.querySelector('h3')?.textContent ?? '')));
      for (const c of cards) if (!keep.includes(c)) c.style.display = 'none';
      for (const h of document.querySelectorAll<HTMLElement>('h2'))
        if (h.textContent === 'Activity') h.style.display = 'none';
      for (const g of document.querySelectorAll<HTMLElement>('.grid, footer')) g.style.display = 'none';
      return keep.filter(Boolean).length;
    });
    if (kept !== 2) throw new Error(`expected the RunInstances and backup insights in the scenario, found ${kept}`);
    await opened.page.screenshot({ path: png, fullPage: true, scale: 'css' });
    process.stderr.write(`${path.relative(ROOT, png)} written\n`);
  } finally {
    await opened.close();
  }
}

run().catch((e) => {
  process.stderr.write(`report:screenshot failed: ${(e as Error).stack ?? e}\n`);
  process.exitCode = 1;
});
