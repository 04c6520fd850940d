/**
 * Learned schedules in real life: jobs scheduled in local time move by an hour in UTC when clocks change,
 * and CloudTrail delivers some files 30–90 minutes late. Neither is a missed run; a run really missed around
 * them still is.
 */
import { type DeliveredFile, type InsightEvent, Replay } from '../../lambda/core/detect';
import { clockChangeDays } from '../../lambda/core/detect/jobs';
import type { TrailEvent } from '../../lambda/core/event';
import { ACCOUNT, arn, background, DAY, deliveries, ev, HOUR, MIN, REGION } from './helpers';

/** US clocks go back on Sunday 1 November 2026: a 02:00 job in New York runs at 07:00 UTC, then 08:00. */
const FALL_BACK = Date.UTC(2026, 10, 1);
/** And forward on Sunday 8 March 2026: 07:00 UTC before, 06:00 UTC after. */
const SPRING_FORWARD = Date.UTC(2026, 2, 8);

/** A nightly job (three calls) at `hourUtc(day)` on each of `days` days from `from`, except those skipped. */
function nightly(
  from: number,
  days: number,
  hourUtc: (day: number) => number,
  skip: (day: number) => boolean = () => false,
) {
  const out: TrailEvent[] = [];
  for (let d = 0; d < days; d++) {
    if (skip(d)) continue;
    const t = from + d * DAY + hourUtc(d) * HOUR + 5 * MIN;
    for (const name of ['CreateSnapshot', 'CreateSnapshot', 'DeleteSnapshot']) {
      out.push(ev(t + out.length * 1000, name, { who: 'role/backup-nightly' }));
    }
  }
  return out;
}

function replay(files: [DeliveredFile, TrailEvent[]][], until: number): InsightEvent[] {
  const r = new Replay();
  const out: InsightEvent[] = [];
  for (const [f, events] of files) out.push(...r.ingestFile(f, events));
  out.push(...r.tick(until));
  return out;
}

const gapStarts = (insights: InsightEvent[]) =>
  insights.filter((i) => i.trailsight.detector === 'gap' && i.insightDetails.state === 'Start');

describe('clock changes', () => {
  test('the calendar holds the US and EU changes of 2026', () => {
    const days = clockChangeDays(2026).map((t) => new Date(t).toISOString().slice(0, 10));
    expect(days).toEqual(expect.arrayContaining(['2026-03-08', '2026-11-01', '2026-03-29', '2026-10-25']));
  });

  test.each([
    ['falls back (the job runs an hour later in UTC)', FALL_BACK, 7, 8],
    ['springs forward (an hour earlier)', SPRING_FORWARD, 7, 6],
  ])(
    'a nightly job stays on schedule when US clocks %s, and a run missed two days later is reported',
    (_, change, before, after) => {
      const from = change - 14 * DAY;
      const days = 20;
      const changeDay = 14;
      const missedDay = changeDay + 2;
      const hour = (d: number) => (d < changeDay ? before : after);
      const jobs = nightly(from, days, hour, (d) => d === missedDay);
      const insights = replay(deliveries([...background(from, from + days * DAY), ...jobs]), from + days * DAY);
      const gaps = gapStarts(insights);
      expect(gaps.map((g) => g.trailsight.principal)).toEqual([arn('role/backup-nightly')]);
      const due = from + missedDay * DAY + after * HOUR + 5 * MIN;
      expect(Math.abs(Date.parse(gaps[0].trailsight.expectedAt!) - due)).toBeLessThan(5 * MIN);
    },
  );

  test('far from a clock change, a missed nightly run is reported within half an hour', () => {
    const from = Date.UTC(2026, 5, 1);
    const jobs = nightly(
      from,
      12,
      () => 7,
      (d) => d === 10,
    );
    const insights = replay(deliveries([...background(from, from + 12 * DAY), ...jobs]), from + 12 * DAY);
    const [gap] = gapStarts(insights);
    const due = from + 10 * DAY + 7 * HOUR + 5 * MIN;
    expect(Date.parse(gap.trailsight.detectedAt) - due).toBeLessThan(30 * MIN);
  });
});

describe('late files', () => {
  /**
   * Files of a partition where one file in `every` arrives 40–80 minutes late, the nightly job's run at `lateRun`
   * among them (70 minutes late).
   */
  function lateDeliveries(events: TrailEvent[], lateRun: number, every: number): [DeliveredFile, TrailEvent[]][] {
    return deliveries(events)
      .map(([f, list], i): [DeliveredFile, TrailEvent[]] => {
        const holdsRun = list.some((e) => e.name === 'CreateSnapshot' && Math.abs(e.time - lateRun) < 10 * MIN);
        const late = holdsRun ? 70 * MIN : i % every === 7 ? (40 + (i % 5) * 10) * MIN : 0;
        return [{ ...f, deliveredAt: f.deliveredAt + late, file: `${ACCOUNT}-${REGION}-${f.deliveredAt}` }, list];
      })
      .sort((a, b) => a[0].deliveredAt - b[0].deliveredAt);
  }
  const from = Date.UTC(2026, 5, 1);
  const lateRun = from + 9 * DAY + 7 * HOUR + 5 * MIN;

  test.each([
    ['often (one file in 25)', 25],
    ['rarely (one file in 100: the 98th percentile of the lag is a few minutes)', 100],
  ])('a run whose file comes 70 minutes late is not reported missed where files come that late %s', (_, every) => {
    const events = [...background(from, from + 10 * DAY), ...nightly(from, 10, () => 7)];
    expect(gapStarts(replay(lateDeliveries(events, lateRun, every), from + 10 * DAY))).toEqual([]);
  });

  test('where files are often late, a missed run of an hourly job is reported after its next run came', () => {
    // The wait for a late file (80 minutes here) is longer than the period: the next run comes first.
    const missed = from + 8 * DAY + 14 * HOUR + 7 * MIN;
    const events = [
      ...background(from, from + 10 * DAY, { skipJob: (t) => t === missed }),
      ...nightly(from, 10, () => 7),
    ];
    const gaps = gapStarts(replay(lateDeliveries(events, lateRun, 25), from + 10 * DAY));
    expect(gaps.map((g) => g.trailsight.principal)).toEqual([arn('role/backup')]);
    expect(Math.abs(Date.parse(gaps[0].trailsight.expectedAt!) - missed)).toBeLessThan(2 * MIN);
    expect(gaps[0].trailsight.explanation).toContain('the job skipped a run');
  });
});
