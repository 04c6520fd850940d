import {
  DetectionEngine,
  emptyState,
  mergeStates,
  parseState,
  StateError,
  serializeState,
} from '../../lambda/core/detect';
import { arn, background, burst, DAY, deliveries, ev, HOUR, MIN, run, T0 } from './helpers';

const OTHER = '444455556666';

function stream(account?: string) {
  const events = [
    ...background(T0, T0 + 4 * DAY, { account, seed: account ? 7 : 1 }),
    ...burst(T0 + 3 * DAY + 14 * HOUR, 30, 5, (t) => ev(t, 'RunInstances', { who: 'user/mallory', account })),
  ].sort((a, b) => a.time - b.time);
  return deliveries(events, account);
}

describe('state', () => {
  test('serialize → resume gives output identical to an uninterrupted run', () => {
    const files = stream();
    const uninterrupted = new DetectionEngine();
    const whole = run(files, uninterrupted);
    // Stop in the middle of the anomaly's day, persist as JSON text, resume in a fresh engine.
    const cut = files.findIndex(([f]) => f.deliveredAt > T0 + 3 * DAY + 14 * HOUR + 3 * MIN);
    const first = new DetectionEngine();
    const before = run(files.slice(0, cut), first);
    const resumed = new DetectionEngine({}, parseState(serializeState(first.snapshot())));
    const after = run(files.slice(cut), resumed);
    expect(whole.length).toBeGreaterThan(0);
    expect([...before, ...after]).toEqual(whole);
    expect(serializeState(resumed.snapshot())).toBe(serializeState(uninterrupted.snapshot()));
  });

  test('replaying the same files twice gives identical insights and event IDs', () => {
    const files = stream();
    expect(run(files)).toEqual(run(files));
  });

  test('the state stays compact: kilobytes per account, not a copy of the events', () => {
    const engine = new DetectionEngine();
    run(stream(), engine);
    expect(serializeState(engine.snapshot()).length).toBeLessThan(100_000);
  });

  test('stores decayed sums with at most 6 significant digits (the state is rewritten on every file)', () => {
    const engine = new DetectionEngine();
    run(stream(), engine);
    const sums = Object.values(engine.snapshot().partitions).flatMap((p) => [
      ...Object.values(p.exposure),
      ...Object.values(p.series).flatMap((x) => [...Object.values(x.s1), ...Object.values(x.s2)]),
    ]);
    expect(sums.length).toBeGreaterThan(100);
    for (const v of sums) expect(Number(v.toPrecision(6))).toBe(v);
  });

  test('forgets schedules, principals and series idle for weeks, so the state follows the active ones', () => {
    const engine = new DetectionEngine();
    run(stream(), engine);
    const key = '111122223333|us-east-1';
    const jobsBefore = Object.keys(engine.snapshot().partitions[key].jobs);
    expect(jobsBefore.some((k) => k.includes('role/backup'))).toBe(true);
    // Six quiet weeks: one unrelated call a day.
    for (let d = 5; d < 47; d++) {
      const t = T0 + d * DAY + 12 * HOUR;
      engine.ingestFile({ account: '111122223333', region: 'us-east-1', deliveredAt: t + 8 * MIN }, [
        ev(t, 'GetCallerIdentity', { who: 'role/heartbeat' }),
      ]);
    }
    const after = engine.snapshot().partitions[key];
    expect(Object.keys(after.jobs).some((k) => k.includes('role/backup'))).toBe(false);
    expect(after.seen[arn('role/web')]).toBeUndefined();
    // A busy series fades by half every 14 days; it is forgotten only once its sums are below one call.
    expect(after.series['r|arn:aws:iam::111122223333:role/web']).toBeDefined();
    expect(Object.keys(after.jobs).length).toBeLessThan(jobsBefore.length);
  });

  test('fails when the state is not JSON, has another version or lacks its parts', () => {
    expect(() => parseState('{nope')).toThrow(StateError);
    expect(() => parseState(JSON.stringify({ version: 99, clock: 0, partitions: {} }))).toThrow(
      /unsupported state version/,
    );
    expect(() => parseState(JSON.stringify({ version: 1 }))).toThrow(/lacks clock or partitions/);
    expect(() => parseState(JSON.stringify({ version: 1, clock: 0, partitions: { x: 3 } }))).toThrow(/malformed/);
  });
});

describe('mergeStates', () => {
  test('merging with an empty state is the identity', () => {
    const engine = new DetectionEngine();
    run(stream(), engine);
    const s = engine.snapshot();
    expect(mergeStates(s, emptyState())).toEqual(s);
    expect(mergeStates(emptyState(), s)).toEqual(s);
  });

  test('states of different accounts merge into one that detects for both', () => {
    const a = new DetectionEngine();
    const b = new DetectionEngine();
    const filesA = stream();
    const filesB = stream(OTHER);
    const cutA = filesA.findIndex(([f]) => f.deliveredAt > T0 + 3 * DAY + 13 * HOUR);
    const cutB = filesB.findIndex(([f]) => f.deliveredAt > T0 + 3 * DAY + 13 * HOUR);
    run(filesA.slice(0, cutA), a);
    run(filesB.slice(0, cutB), b);
    const merged = mergeStates(a.snapshot(), b.snapshot());
    expect(Object.keys(merged.partitions).sort()).toEqual(['111122223333|us-east-1', `${OTHER}|us-east-1`]);
    // The rest of both days, interleaved by delivery time, through the merged engine.
    const rest = [...filesA.slice(cutA), ...filesB.slice(cutB)].sort((x, y) => x[0].deliveredAt - y[0].deliveredAt);
    const insights = run(rest, new DetectionEngine({}, merged));
    const accounts = insights
      .filter((i) => i.trailsight.detector === 'call-rate' && i.insightDetails.state === 'Start')
      .map((i) => i.recipientAccountId)
      .sort();
    expect(accounts).toEqual(['111122223333', OTHER]);
  });

  test('merging a partition with itself sums its baselines without changing the expected rates', () => {
    const engine = new DetectionEngine();
    run(stream(), engine);
    const s = engine.snapshot();
    const doubled = mergeStates(s, s);
    const key = '111122223333|us-east-1';
    const series = 'r|arn:aws:iam::111122223333:role/web';
    const slot = Object.keys(s.partitions[key].series[series].s1)[0];
    expect(doubled.partitions[key].series[series].s1[slot]).toBeCloseTo(
      2 * s.partitions[key].series[series].s1[slot],
      6,
    );
    expect(doubled.partitions[key].exposure[slot]).toBeCloseTo(2 * s.partitions[key].exposure[slot], 6);
    // Same ratios → same expectations → the same verdict on the same burst.
    const burstFiles = deliveries(
      burst(T0 + 4 * DAY + 14 * HOUR, 30, 5, (t) => ev(t, 'RunInstances', { who: 'user/mallory' })),
    );
    const fromOne = run(burstFiles, new DetectionEngine({}, parseState(serializeState(s))));
    const fromTwo = run(burstFiles, new DetectionEngine({}, doubled));
    expect(fromTwo.map((i) => i.trailsight.detector)).toEqual(fromOne.map((i) => i.trailsight.detector));
    expect(fromOne.length).toBeGreaterThan(0);
  });
});
