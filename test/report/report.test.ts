import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { detectFiles, type InsightSource } from '../../cli/commands/detect';
import { renderReport } from '../../cli/report/html';
import { episodesOf, matcherOf, poissonBand, SeriesCollector } from '../../cli/report/series';
import { listLocalFiles } from '../../lambda/adapters/local-files';
import { Replay as DetectionReplay, type InsightEvent } from '../../lambda/core/detect';
import type { TrailEvent } from '../../lambda/core/event';
import { fixtureInsights, INSIGHTS_JSONL } from '../findings/helpers';
import { captureIo } from '../support/cli-io';
import { noLearningConfig, report, SAMPLES } from './helpers';

const MINUTE = 60_000;
const BIN = 5 * MINUTE;

/** The samples replayed through the engine (no learning hours), keeping every event and insight. */
interface Replay {
  readonly insights: InsightEvent[];
  readonly events: TrailEvent[];
  /** For each event, the index of the file it came in (files in replay order). */
  readonly fileOf: number[];
  /** For each insight eventID, the index of the file whose ingestion emitted it. */
  readonly emittedAt: Map<string, number>;
}

let replayed: Promise<Replay> | undefined;
/** Replays the samples once per test file. */
function replaySamples(): Promise<Replay> {
  replayed ??= runReplay();
  return replayed;
}

async function runReplay(): Promise<Replay> {
  const engine = new DetectionReplay({ learningHours: 0 });
  const events: TrailEvent[] = [];
  const fileOf: number[] = [];
  const emittedAt = new Map<string, number>();
  const insights: InsightEvent[] = [];
  let files = 0;
  const source: InsightSource = {
    ingestFile: (file, evs) => {
      const list = [...evs];
      const index = files++;
      events.push(...list);
      for (const _ of list) fileOf.push(index);
      const out = engine.ingestFile(file, list);
      for (const i of out) emittedAt.set(i.eventID, index);
      return out;
    },
    tick: (now) => engine.tick(now),
  };
  await detectFiles(await listLocalFiles([SAMPLES]), source, (i) => insights.push(i), captureIo());
  return { insights, events, fileOf, emittedAt };
}

function readPage(file: string): { html: string; data: { episodes: { series?: { counts: number[] } }[] } } {
  const html = readFileSync(file, 'utf8');
  const json = /<script type="application\/json" id="report-data">([\s\S]*?)<\/script>/.exec(html)?.[1];
  if (!json) throw new Error('no data block');
  return { html, data: JSON.parse(json) };
}

describe('report series', () => {
  let replay: Replay;
  beforeAll(async () => {
    replay = await replaySamples();
  });

  test('the recount selects what the detector counted: the Start window holds the observed calls', () => {
    // Prepare: rate insights of the real samples (several detectors).
    const starts = replay.insights.filter(
      (i) => i.insightDetails.state === 'Start' && !['gap', 'delivery-gap'].includes(i.trailsight.detector),
    );
    expect(new Set(starts.map((i) => i.trailsight.detector)).size).toBeGreaterThanOrEqual(3);

    // Act: recount each Start's test window from the files read up to the one that made it fire (later files
    // bring more calls of the same window: CloudTrail spreads a window's events over several deliveries). The window is windowMinutes of whole bins holding the first anomalous
    // event, which opens the window's first bin or, when that bin was quiet, its second one.
    const outcomes = starts.map((insight) => {
      const t0 = Date.parse(insight.eventTime);
      const firedAt = replay.emittedAt.get(insight.eventID) ?? -1;
      const width = insight.trailsight.windowMinutes * MINUTE;
      const match = matcherOf({ start: insight });
      const countFrom = (from: number) =>
        replay.events.filter(
          (ev, k) => ev.time >= from && ev.time < from + width && replay.fileOf[k] <= firedAt && match(ev),
        ).length;
      const bin = Math.floor(t0 / BIN) * BIN;
      return {
        detector: insight.trailsight.detector,
        observed: insight.trailsight.observed,
        recounts: [countFrom(bin), countFrom(bin - BIN)],
      };
    });

    // Assess
    expect(outcomes.filter((o) => !o.recounts.includes(o.observed))).toEqual([]);
  });

  test('the collector puts every matching event of the range in one window, and none outside it', () => {
    const episodes = episodesOf(replay.insights);
    const collector = new SeriesCollector(episodes);
    for (const ev of replay.events) collector.add(ev);
    const series = collector.series();
    episodes.forEach((e, k) => {
      const s = series[k];
      const to = s.from + s.counts.length * s.windowMinutes * MINUTE;
      const match = matcherOf(e);
      const expected = replay.events.filter((ev) => ev.time >= s.from && ev.time < to && match(ev)).length;
      expect(s.counts.reduce((a, b) => a + b, 0)).toBe(expected);
      // The episode's first event falls in a window that starts at it (windows are aligned on it).
      expect((Date.parse(e.start.eventTime) - s.from) % (s.windowMinutes * MINUTE)).toBe(0);
    });
  });

  test('episodes pair each Start with its End; a lone End is not an episode', () => {
    const fixtures = fixtureInsights();
    expect(episodesOf(fixtures)).toHaveLength(7);
    expect(episodesOf(fixtures.filter((i) => i.insightDetails.state === 'End'))).toEqual([]);
    expect(episodesOf(fixtures).every((e) => e.end?.sharedEventID === e.start.sharedEventID)).toBe(true);
  });
});

describe('poissonBand', () => {
  test.each([
    [0, { low: 0, high: 0 }],
    [0.004, { low: 0, high: 1 }],
    [3.2, { low: 0, high: 10 }],
    // Normal check: 50 ± 3.29·√50 → 26.7 … 73.3; the discrete quantiles sit just outside.
    [50, { low: 27, high: 75 }],
  ])('mean %d → %j (99.9 % of a Poisson count)', (mean, band) => {
    expect(poissonBand(mean)).toEqual(band);
  });
});

describe('trailsight report', () => {
  test('from logs: detects, summarizes and charts every insight in one self-contained page', async () => {
    // Prepare
    const dir = mkdtempSync(path.join(tmpdir(), 'report-'));
    const output = path.join(dir, 'out.html');

    // Act
    const { code, err } = await report(SAMPLES, '--config', noLearningConfig(dir), '-o', output, '--title', 'Samples');

    // Assess
    expect(code).toBe(0);
    const { html, data } = readPage(output);
    const { insights } = await replaySamples();
    const episodes = episodesOf(insights);
    expect(err).toBe(`${output}: ${episodes.length} insights, ${Math.round(Buffer.byteLength(html) / 1024)} KB\n`);
    expect(data.episodes).toHaveLength(episodes.length);
    expect(data.episodes.every((e) => (e.series?.counts.length ?? 0) > 0)).toBe(true);
    expect(html).toContain(`Content-Security-Policy" content="default-src 'none'`);
    expect(html).toContain('<title>Samples</title>');
    // Nothing to fetch at view time: no external script, style, image or link.
    expect(html).not.toMatch(/<(script|link|img|iframe)[^>]+(src|href)=/i);
    expect(html).toMatch(/Chart\.js v4/);
    expect(html.match(/<canvas/g)).toHaveLength(1 + episodes.length + 4);
    expect(html).toContain('trailsight query principal-activity --logs');
  });

  test('from an insights file alone: the insights, their queries, no series and no summary', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'report-'));
    const output = path.join(dir, 'out.html');
    const { code } = await report('--insights', INSIGHTS_JSONL, '-o', output);
    expect(code).toBe(0);
    const { html, data } = readPage(output);
    expect(data.episodes).toHaveLength(7);
    expect(data.episodes.every((e) => e.series === undefined)).toBe(true);
    expect(html).toContain('No logs were given, so there is no series to draw.');
    expect(html).not.toContain('id="chart-principals"');
  });

  test('hostile strings from the logs stay text: escaped in the page, inert in the data block', () => {
    const [insight] = fixtureInsights();
    const hostile = '</script><script>alert(1)</script><img src=x onerror=alert(2)>';
    const html = renderReport({
      title: hostile,
      sources: [hostile],
      episodes: [{ episode: { start: { ...insight, trailsight: { ...insight.trailsight, explanation: hostile } } } }],
      logsArgument: hostile,
    });
    expect(html).not.toContain('<script>alert(1)');
    expect(html).not.toContain('<img src=x');
    expect(html).toContain('&#60;/script&#62;&#60;script&#62;alert(1)');
    // Exactly the three script elements the page is made of.
    expect(html.match(/<script/g)).toHaveLength(3);
  });

  test('skips bad insight lines, names them, still writes the page, exits 1', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'report-'));
    const file = path.join(dir, 'insights.jsonl');
    const [first] = readFileSync(INSIGHTS_JSONL, 'utf8').split('\n');
    writeFileSync(file, `${first}\nnot json\n{"eventType":"AwsApiCall"}\n`);
    const { code, err } = await report('--insights', file, '-o', path.join(dir, 'out.html'));
    expect(code).toBe(1);
    expect(err).toMatch(/insights\.jsonl:2: skipped/);
    expect(err).toMatch(/insights\.jsonl:3: skipped: not an insight event/);
    expect(readPage(path.join(dir, 'out.html')).data.episodes).toHaveLength(1);
  });

  test.each([
    [[], /give log paths, --insights FILE, or both/],
    [['--insights', '/no/such.jsonl'], /cannot read \/no\/such\.jsonl/],
    [['/no/such/dir'], /no\/such\/dir/],
  ])('fails with exit 2 on %j', async (argv, message) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'report-'));
    const { code, err } = await report(...argv, '-o', path.join(dir, 'out.html'));
    expect(code).toBe(2);
    expect(err).toMatch(message);
  });

  test('fails with exit 2 on a bad detection config, naming it', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'report-'));
    const config = path.join(dir, 'bad.json');
    writeFileSync(config, '{"alpha": "often"}');
    const { code, err } = await report(SAMPLES, '--config', config, '-o', path.join(dir, 'out.html'));
    expect(code).toBe(2);
    expect(err).toMatch(/bad config: .*alpha/);
  });

  test('fails with exit 2 when the page cannot be written', async () => {
    const { code, err } = await report('--insights', INSIGHTS_JSONL, '-o', '/no/such/dir/out.html');
    expect(code).toBe(2);
    expect(err).toMatch(/cannot write \/no\/such\/dir\/out\.html/);
  });
});
