import { parseReplayState, Replay, StateError, serializeReplayState, settingsOf } from '../../lambda/core/detect';
import { resolveDetectConfig } from '../../lambda/core/detect/config';
import { mergeHistory } from '../../lambda/core/detect/merge';
import { newHead } from '../../lambda/core/detect/partition';
import { ACCOUNT, arn, background, burst, DAY, deliveries, ev, HOUR, MIN, REGION, run, T0 } from './helpers';

const KEY = ACCOUNT;

function stream(account?: string) {
  const events = [
    ...background(T0, T0 + 4 * DAY, { account, seed: account ? 7 : 1 }),
    ...burst(T0 + 3 * DAY + 14 * HOUR, 30, 5, (t) => ev(t, 'RunInstances', { who: 'user/mallory', account })),
  ].sort((a, b) => a.time - b.time);
  return deliveries(events, account);
}

const roundTrip = (replay: Replay) => parseReplayState(serializeReplayState(replay.snapshot()));

describe('Replay state', () => {
  test('serialize → resume gives output and state identical to an uninterrupted run', () => {
    const files = stream();
    const uninterrupted = new Replay();
    const whole = run(files, uninterrupted);
    // Stop in the middle of the anomaly, persist as JSON text, resume in a fresh replay.
    const cut = files.findIndex(([f]) => f.deliveredAt > T0 + 3 * DAY + 14 * HOUR + 3 * MIN);
    const first = new Replay();
    const before = run(files.slice(0, cut), first);
    const resumed = new Replay({}, roundTrip(first));
    const after = run(files.slice(cut), resumed);
    expect(whole.filter((i) => i.trailsight.detector === 'call-rate')).toHaveLength(2);
    expect([...before, ...after]).toEqual(whole);
    expect(serializeReplayState(resumed.snapshot())).toBe(serializeReplayState(uninterrupted.snapshot()));
  });

  test('replaying the same files twice gives identical insights and event IDs', () => {
    const files = stream();
    expect(run(files)).toEqual(run(files));
  });

  test('a second run over a folder that grew applies only the new files, and continues exactly', () => {
    const files = stream();
    const cut = Math.floor(files.length / 2);
    const whole = run(files);
    const first = new Replay();
    const before = run(files.slice(0, cut), first);
    // The second run sees every file again, with the state of the first.
    const second = new Replay({}, roundTrip(first));
    const after = run(files, second);
    expect(second.stats.alreadyApplied).toBe(cut);
    expect(second.stats.files).toBe(files.length - cut);
    expect([...before, ...after]).toEqual(whole);
  });

  test('the state stays compact: kilobytes per account, not a copy of the events', () => {
    const replay = new Replay();
    run(stream(), replay);
    const p = replay.snapshot().partitions[KEY];
    expect(serializeReplayState(replay.snapshot()).length).toBeLessThan(250_000);
    // Deltas are kept only as long as a window test or the next compaction can read them.
    expect(p.deltas.length).toBeLessThan(2 * 288);
    expect(p.head.compaction.k).toBeGreaterThan(10);
  });

  test('stores decayed sums with at most 6 significant digits', () => {
    const replay = new Replay();
    run(stream(), replay);
    const p = replay.snapshot().partitions[KEY];
    const sums = [
      ...Object.values(p.head.exposure),
      ...Object.values(p.pages).flatMap((page) =>
        Object.values(page.series).flatMap((x) => [...Object.values(x.s1), ...Object.values(x.s2)]),
      ),
    ];
    expect(sums.length).toBeGreaterThan(100);
    for (const v of sums) expect(Number(v.toPrecision(6))).toBe(v);
  });

  test('forgets schedules, principals and series idle for weeks (the retention policy)', () => {
    const replay = new Replay();
    run(stream(), replay);
    const jobsOf = () => {
      const p = replay.snapshot().partitions[KEY];
      return [...Object.keys(p.head.jobs), ...Object.values(p.pages).flatMap((page) => Object.keys(page.jobs))];
    };
    const seenOf = (who: string) =>
      Object.values(replay.snapshot().partitions[KEY].pages).some((page) => page.seen[arn(who)] !== undefined);
    const jobsBefore = jobsOf();
    expect(jobsBefore.some((k) => k.includes('role/backup'))).toBe(true);
    expect(seenOf('role/web')).toBe(true);
    // Six quiet weeks: one unrelated call a day.
    for (let d = 5; d < 47; d++) {
      const t = T0 + d * DAY + 12 * HOUR;
      replay.ingestFile({ account: ACCOUNT, region: REGION, deliveredAt: t + 8 * MIN, file: `q${d}` }, [
        ev(t, 'GetCallerIdentity', { who: 'role/heartbeat' }),
      ]);
    }
    expect(jobsOf().some((k) => k.includes('role/backup'))).toBe(false);
    expect(seenOf('role/web')).toBe(false);
    expect(seenOf('role/heartbeat')).toBe(true);
    expect(jobsOf().length).toBeLessThan(jobsBefore.length);
  });

  test('fails clearly when the state is not JSON, has another format or lacks its parts', () => {
    expect(() => parseReplayState('{nope')).toThrow(StateError);
    expect(() => parseReplayState(JSON.stringify({ version: 1, clock: 0, partitions: {} }))).toThrow(
      /unsupported state format 1: this version reads format 3/,
    );
    expect(() => parseReplayState(JSON.stringify({ format: 3 }))).toThrow(/lacks partitions or applied files/);
    expect(() => parseReplayState(JSON.stringify({ format: 3, applied: {}, partitions: { x: 3 } }))).toThrow(
      /malformed/,
    );
    expect(() =>
      parseReplayState(
        JSON.stringify({ format: 3, applied: {}, partitions: { x: { deltas: [], pages: {}, head: {} } } }),
      ),
    ).toThrow(/unsupported state format undefined/);
  });
});

describe('PartitionMachine', () => {
  test('a new partition starts with one page covering every bucket', () => {
    const head = newHead(settingsOf(resolveDetectConfig({})), ACCOUNT, T0);
    expect(head.pages).toEqual([0]);
  });
});

describe('mergeHistory (backfill)', () => {
  test('history replayed apart and merged detects like one uninterrupted replay', () => {
    const files = stream();
    const split = T0 + 3 * DAY;
    const history = new Replay();
    run(
      files.filter(([f]) => f.deliveredAt < split),
      history,
    );
    const live = new Replay();
    run(
      files.filter(([f]) => f.deliveredAt >= split && f.deliveredAt < split + HOUR),
      live,
    );
    const h = history.snapshot().partitions[KEY];
    const l = live.snapshot().partitions[KEY];
    const merged = mergeHistory(
      { head: l.head, pages: new Map(Object.entries(l.pages)), recent: l.deltas },
      { head: h.head, pages: new Map(Object.entries(h.pages)) },
      resolveDetectConfig({}),
    );
    const state = live.snapshot();
    state.partitions[KEY] = { ...l, head: merged.head, pages: Object.fromEntries(merged.pages) };
    const resumed = new Replay({}, parseReplayState(serializeReplayState(state)));
    const insights = run(
      files.filter(([f]) => f.deliveredAt >= split + HOUR),
      resumed,
    );
    const starts = insights.filter((i) => i.insightDetails.state === 'Start').map((i) => i.trailsight.detector);
    // mallory's spike of RunInstances is also the account's first provisioning in the Region.
    expect(starts).toEqual(['unused-region', 'call-rate']);
    // Without the history the live partition is still learning: no insight at all.
    const alone = run(
      files.filter(([f]) => f.deliveredAt >= split),
      new Replay(),
    );
    expect(alone.filter((i) => i.insightDetails.state === 'Start')).toHaveLength(0);
  });
});
