/**
 * One account, all its Regions: what is learned about a principal is shared across Regions, a Region going
 * quiet is not an outage while the account still delivers, and digest files (log file validation) are the
 * evidence that a Region's trail is logging.
 */
import { type DeliveredFile, type InsightEvent, Replay } from '../../lambda/core/detect';
import type { TrailEvent } from '../../lambda/core/event';
import { ACCOUNT, arn, background, DAY, deliveries, ev, HOUR, MIN, REGION, T0 } from './helpers';

const OTHER = 'eu-west-1';

type Input = { kind: 'log'; file: DeliveredFile; events: TrailEvent[] } | { kind: 'digest'; file: DeliveredFile };

/** Log files of a Region (5-minute files, as deliveries() cuts them). */
function logs(events: readonly TrailEvent[], region = REGION): Input[] {
  return deliveries(events).map(([f, list]) => ({
    kind: 'log',
    file: { ...f, region, file: `${ACCOUNT}-${region}-${f.deliveredAt}` },
    events: list,
  }));
}

/** Hourly digest files of a Region in [from, to), except those `skip` says. */
function digests(region: string, from: number, to: number, skip: (t: number) => boolean = () => false): Input[] {
  const out: Input[] = [];
  for (let t = from + 13 * MIN + 7_000; t < to; t += HOUR) {
    if (skip(t)) continue;
    out.push({ kind: 'digest', file: { account: ACCOUNT, region, deliveredAt: t, file: `digest-${region}-${t}` } });
  }
  return out;
}

function replay(inputs: Input[], until?: number, replay = new Replay()): InsightEvent[] {
  const sorted = [...inputs].sort(
    (a, b) => a.file.deliveredAt - b.file.deliveredAt || (a.file.file < b.file.file ? -1 : 1),
  );
  const out: InsightEvent[] = [];
  for (const i of sorted)
    out.push(...(i.kind === 'log' ? replay.ingestFile(i.file, i.events) : replay.ingestDigest(i.file)));
  if (until !== undefined) out.push(...replay.tick(until));
  return out;
}

const starts = (insights: InsightEvent[], detector: string) =>
  insights.filter((i) => i.insightDetails.state === 'Start' && i.trailsight.detector === detector);

/** A Region used now and then: a few reads on the first morning, then nothing. */
function sparse(region: string): TrailEvent[] {
  return [0, 1, 2].map((i) => ({ ...ev(T0 + 9 * HOUR + i * MIN, 'DescribeVpcs', { who: 'user/alice' }), region }));
}

describe('delivery gaps: the account, and digest files', () => {
  test('a Region that goes quiet while the account still delivers is not a delivery gap', () => {
    const main = background(T0, T0 + 5 * DAY);
    // The other Region delivers steadily for three days, then has nothing to log.
    const other = background(T0, T0 + 3 * DAY, { seed: 9 });
    const insights = replay([...logs(main), ...logs(other, OTHER)], T0 + 5 * DAY);
    expect(starts(insights, 'delivery-gap')).toEqual([]);
  });

  test('the whole account going silent is a delivery gap, reported in the Region it was last heard from', () => {
    const stop = T0 + 3 * DAY + 11 * HOUR;
    const cut = (e: TrailEvent) => e.time < stop - 8 * MIN || e.time >= stop + 3 * HOUR;
    const main = background(T0, T0 + 4 * DAY).filter(cut);
    const other = background(T0, T0 + 4 * DAY, { seed: 9 }).filter(cut);
    const gaps = starts(replay([...logs(main), ...logs(other, OTHER)]), 'delivery-gap');
    expect(gaps).toHaveLength(1);
    expect(gaps[0].trailsight.explanation).toMatch(/delivered no log files in any Region/);
    expect([REGION, OTHER]).toContain(gaps[0].awsRegion);
  });

  test('an account whose log files stop while its digests keep coming is quiet, not stopped', () => {
    // Steady activity, then nothing to log for ten hours: without digests that silence is an outage.
    const quiet = (e: TrailEvent) => e.time < T0 + 3 * DAY + 8 * HOUR || e.time >= T0 + 3 * DAY + 18 * HOUR;
    const files = logs(background(T0, T0 + 4 * DAY).filter(quiet));
    expect(starts(replay(files), 'delivery-gap')).toHaveLength(1);
    const withDigests = replay([...files, ...digests(REGION, T0, T0 + 4 * DAY)]);
    expect(starts(withDigests, 'delivery-gap')).toEqual([]);
  });

  test('digests that stop are a delivery gap in that Region, from the last digest, ended by the next one', () => {
    const stop = T0 + 3 * DAY + 12 * HOUR;
    const resume = stop + 6 * HOUR;
    const insights = replay([
      ...logs(background(T0, T0 + 4 * DAY)),
      ...logs(sparse(OTHER), OTHER),
      ...digests(REGION, T0, T0 + 4 * DAY),
      ...digests(OTHER, T0, T0 + 4 * DAY, (t) => t > stop && t < resume),
    ]);
    const gaps = insights.filter((i) => i.trailsight.detector === 'delivery-gap');
    expect(gaps.map((i) => [i.insightDetails.state, i.awsRegion])).toEqual([
      ['Start', OTHER],
      ['End', OTHER],
    ]);
    const start = gaps[0].trailsight;
    expect(start.explanation).toMatch(/no digest file for .* one every hour, with or without activity/);
    // Two digests missed (130 min after the last one), plus the reorder window.
    expect(Date.parse(start.detectedAt) - Date.parse(gaps[0].eventTime)).toBeLessThanOrEqual(135 * MIN);
  });

  test('digests that stop while log files still arrive say that validation was turned off', () => {
    const stop = T0 + 3 * DAY + 12 * HOUR;
    const insights = replay([
      ...logs(background(T0, T0 + 4 * DAY)),
      ...digests(REGION, T0, T0 + 4 * DAY, (t) => t > stop),
    ]);
    const [gap] = starts(insights, 'delivery-gap');
    expect(gap.awsRegion).toBe(REGION);
    expect(gap.trailsight.explanation).toMatch(/while its log files still arrive: log file validation was turned off/);
  });
});

describe('principals across Regions', () => {
  test("a principal's reads in two Regions add up to one sweep", () => {
    const at = T0 + 3 * DAY + 10 * HOUR;
    const apis = Array.from({ length: 12 }, (_, i) => `ListThing${i}`);
    const sweep = (region: string, names: string[]) =>
      names.map((name, i) => ({ ...ev(at + i * 20_000, name, { who: 'user/mallory' }), region }));
    const daily = (region: string) =>
      [0, 1, 2].flatMap((d) =>
        ['DescribeInstances', 'DescribeVolumes'].map((name) => ({
          ...ev(T0 + d * DAY + 9 * HOUR, name, { who: 'user/mallory' }),
          region,
        })),
      );
    const insights = replay([
      ...logs([...background(T0, T0 + 4 * DAY), ...daily(REGION), ...sweep(REGION, apis.slice(0, 6))]),
      ...logs([...background(T0, T0 + 4 * DAY, { seed: 9 }), ...sweep(OTHER, apis.slice(6))], OTHER),
    ]);
    const recon = starts(insights, 'recon');
    expect(recon.map((i) => i.trailsight.principal)).toEqual([arn('user/mallory')]);
    expect(recon[0].trailsight.eventNames).toHaveLength(12);
  });

  test('APIs a principal uses every day in one Region are not new when it uses them in another', () => {
    const apis = Array.from({ length: 12 }, (_, i) => `DescribeThing${i}`);
    const work = (day: number, region: string) =>
      apis.map((name, i) => ({ ...ev(T0 + day * DAY + 9 * HOUR + i * 20_000, name, { who: 'user/alice' }), region }));
    const insights = replay([
      ...logs([...background(T0, T0 + 5 * DAY, { seed: 9 }), ...[0, 1, 2, 3].flatMap((d) => work(d, OTHER))], OTHER),
      // The console's default Region, on the fifth day.
      ...logs([...background(T0, T0 + 5 * DAY), ...work(4, REGION)]),
    ]);
    expect(starts(insights, 'recon')).toEqual([]);
  });

  test("a job that stops in a quiet Region is reported as the job's gap while the account's other Region delivers", () => {
    const missed = T0 + 3 * DAY + 2 * HOUR + 7 * MIN;
    // The Region's only activity: an hourly job.
    const job: TrailEvent[] = [];
    for (let t = T0 + 7 * MIN; t < T0 + 4 * DAY; t += HOUR) {
      if (t >= missed) continue;
      job.push({ ...ev(t, 'CreateSnapshot', { who: 'role/nightly' }), region: OTHER });
    }
    const insights = replay([...logs(background(T0, T0 + 4 * DAY)), ...logs(job, OTHER)], T0 + 4 * DAY);
    const gaps = starts(insights, 'gap');
    expect(gaps.map((g) => [g.trailsight.principal, g.awsRegion])).toEqual([[arn('role/nightly'), OTHER]]);
    expect(Date.parse(gaps[0].trailsight.detectedAt) - missed).toBeLessThan(30 * MIN);
    expect(starts(insights, 'delivery-gap')).toEqual([]);
  });
});
