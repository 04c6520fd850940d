import { type InsightEvent, Replay } from '../../lambda/core/detect';
import { ACCOUNT, arn, background, burst, DAY, deliveries, ev, HOUR, MIN, run, scenario, starts, T0 } from './helpers';

/** Day 4 (Thursday), 14:00 UTC: office hours, after three days of replayed history. */
const AT = T0 + 3 * DAY + 14 * HOUR + 2 * MIN;

/** Three days of the same routine burst at 10:00, then the same on day 4 (the benign look-alike). */
function routine(make: (t: number, i: number) => ReturnType<typeof ev>, n: number): ReturnType<typeof ev>[] {
  return [0, 1, 2, 3].flatMap((d) => burst(T0 + d * DAY + 10 * HOUR + 2 * MIN, n, 4, make));
}

function only(insights: InsightEvent[], detector: string): InsightEvent[] {
  return starts(insights, detector);
}

describe('call-rate detector', () => {
  test('fires on a burst of a write API that is normally rare', () => {
    const { insights } = scenario(burst(AT, 30, 5, (t) => ev(t, 'RunInstances', { who: 'user/mallory' })));
    const hits = only(insights, 'call-rate');
    expect(hits).toHaveLength(1);
    expect(hits[0].insightDetails).toMatchObject({ eventName: 'RunInstances', insightType: 'ApiCallRateInsight' });
    expect(hits[0].trailsight.principal).toBe(arn('user/mallory'));
    expect(hits[0].trailsight.observed).toBeGreaterThanOrEqual(10);
    expect(hits[0].trailsight.explanation).toMatch(
      /RunInstances .* was called \d+ times in 10 min, mostly by user\/mallory/,
    );
  });

  test('stays quiet for a CI role that bursts the same way every day', () => {
    const ci = routine((t) => ev(t, 'CreateTags', { who: 'role/ci' }), 30);
    // The same burst without its history is news; after days of the same routine it is not.
    expect(only(scenario(ci.filter((e) => e.time >= T0 + 3 * DAY)).insights, 'call-rate')).toHaveLength(1);
    expect(only(scenario(ci).insights, 'call-rate')).toHaveLength(0);
  });
});

describe('error-rate detector', () => {
  test('fires on a spike of one error code on one API', () => {
    const { insights } = scenario(
      burst(AT, 25, 6, (t) => ev(t, 'RunInstances', { who: 'role/asg', errorCode: 'Client.InstanceLimitExceeded' })),
    );
    const hits = only(insights, 'error-rate');
    expect(hits).toHaveLength(1);
    expect(hits[0].insightDetails.insightType).toBe('ApiErrorRateInsight');
    expect(hits[0].insightDetails.errorCode).toBe('Client.InstanceLimitExceeded');
    expect(hits[0].trailsight.errorCodes).toEqual(['Client.InstanceLimitExceeded']);
    // Failed writes are not provisioning: no call-rate insight for the same calls.
    expect(only(insights, 'call-rate')).toHaveLength(0);
  });

  test('stays quiet for errors a principal gets in the same burst every day', () => {
    const daily = routine(
      (t) =>
        ev(t, 'GetBucketPolicy', { who: 'role/scanner', source: 's3.amazonaws.com', errorCode: 'NoSuchBucketPolicy' }),
      20,
    );
    expect(only(scenario(daily).insights, 'error-rate')).toHaveLength(0);
  });
});

describe('iam-burst detector', () => {
  const iamBurst = (who: string, at: number) =>
    ['CreateUser', 'CreateAccessKey', 'AttachUserPolicy'].flatMap((name, k) =>
      burst(at + k * 20_000, 3, 3, (t) => ev(t, name, { who, source: 'iam.amazonaws.com', readOnly: false })),
    );

  test('fires when one principal makes IAM writes across APIs within minutes', () => {
    const hits = only(scenario(iamBurst('user/alice', AT)).insights, 'iam-burst');
    expect(hits).toHaveLength(1);
    expect(hits[0].trailsight.principal).toBe(arn('user/alice'));
    expect(hits[0].trailsight.eventNames.sort()).toEqual(['AttachUserPolicy', 'CreateAccessKey', 'CreateUser']);
    expect(hits[0].trailsight.explanation).toMatch(/^user\/alice made 9 IAM write calls in 10 min/);
    const arns = hits[0].insightDetails.insightContext.attributions.find((a) => a.attribute === 'userIdentityArn');
    expect(arns?.insight[0].value).toBe(arn('user/alice'));
  });

  test('stays quiet for an identity-provisioning role that does this every day', () => {
    const daily = [0, 1, 2, 3].flatMap((d) => iamBurst('role/provisioner', T0 + d * DAY + 10 * HOUR));
    expect(only(scenario(daily).insights, 'iam-burst')).toHaveLength(0);
  });

  test('ignores a single IAM API repeated (not a cross-API burst)', () => {
    const one = burst(AT, 6, 3, (t) => ev(t, 'CreateAccessKey', { who: 'user/bob', source: 'iam.amazonaws.com' }));
    expect(only(scenario(one).insights, 'iam-burst')).toHaveLength(0);
  });
});

const READ_APIS = Array.from({ length: 30 }, (_, i) => `List${String.fromCharCode(65 + (i % 26))}Thing${i}`);

describe('recon detector', () => {
  test('fires on a read-only sweep across many APIs by a new principal', () => {
    const sweep = burst(AT, 60, 6, (t, i) => ev(t, READ_APIS[i % 30], { who: 'user/intruder', readOnly: true }));
    const hits = only(scenario(sweep).insights, 'recon');
    expect(hits).toHaveLength(1);
    expect(hits[0].trailsight.principal).toBe(arn('user/intruder'));
    expect(hits[0].trailsight.eventNames.length).toBeGreaterThanOrEqual(10);
  });

  test('fires on a small sweep of never-called APIs by a known principal', () => {
    const sweep = burst(AT, 20, 4, (t, i) => ev(t, READ_APIS[i % 20], { who: 'role/web', readOnly: true }));
    const hits = only(scenario(sweep).insights, 'recon');
    expect(hits).toHaveLength(1);
    const novel = Number(/\((\d+) never called by it before\)/.exec(hits[0].trailsight.explanation)?.[1]);
    expect(novel).toBeGreaterThanOrEqual(8);
  });

  test('stays quiet for a console user who browses the same APIs every morning', () => {
    const daily = [0, 1, 2, 3].flatMap((d) =>
      burst(T0 + d * DAY + 9 * HOUR, 150, 8, (t, i) => ev(t, READ_APIS[i % 30], { who: 'user/carol', readOnly: true })),
    );
    expect(only(scenario(daily).insights, 'recon')).toHaveLength(0);
  });
});

describe('access-denied detector', () => {
  test('fires on AccessDenied across several APIs by one principal', () => {
    const storm = burst(AT, 15, 5, (t, i) =>
      ev(t, READ_APIS[i % 6], {
        who: 'role/leaked',
        readOnly: true,
        errorCode: i % 2 ? 'AccessDenied' : 'Client.UnauthorizedOperation',
      }),
    );
    const hits = only(scenario(storm).insights, 'access-denied');
    expect(hits).toHaveLength(1);
    expect(hits[0].trailsight.errorCodes.sort()).toEqual(['AccessDenied', 'Client.UnauthorizedOperation']);
    expect(hits[0].insightDetails.insightType).toBe('ApiErrorRateInsight');
  });

  test('stays quiet for denials one principal gets every day on the same APIs', () => {
    const daily = routine(
      (t, i) => ev(t, READ_APIS[i % 5], { who: 'role/probe', readOnly: true, errorCode: 'AccessDenied' }),
      15,
    );
    expect(only(scenario(daily).insights, 'access-denied')).toHaveLength(0);
  });
});

describe('gap detector', () => {
  const missedRun = T0 + 3 * DAY + 14 * HOUR + 7 * MIN;

  test('reports a missed run of an hourly job, when it was due and from whom', () => {
    const { insights } = scenario([], { skipJob: (t) => t === missedRun });
    const hits = only(insights, 'gap');
    expect(hits).toHaveLength(1);
    const t = hits[0].trailsight;
    expect(t.principal).toBe(arn('role/backup'));
    expect(t.gapCause).toBe('job-stopped');
    expect(Math.abs(Date.parse(t.expectedAt!) - missedRun)).toBeLessThan(2 * MIN);
    expect(t.periodMinutes).toBe(60);
    expect(Date.parse(t.detectedAt) - missedRun).toBeLessThanOrEqual(20 * MIN);
    expect(t.explanation).toMatch(/role\/backup runs .* every 60 min .* the job may have stopped/);
    // The job resumes at the next hour: the episode ends.
    const end = insights.find((i) => i.sharedEventID === hits[0].sharedEventID && i.insightDetails.state === 'End');
    expect(end).toBeDefined();
  });

  test('stays quiet when every run happens, even with a few minutes of jitter', () => {
    expect(only(scenario([]).insights, 'gap')).toHaveLength(0);
  });

  test('reports a silent account as a delivery gap at the evaluator tick, not as missed jobs', () => {
    const from = T0 + 3 * DAY + 11 * HOUR;
    const to = from + 3 * HOUR;
    const files = deliveries(background(T0, T0 + 4 * DAY).filter((e) => e.time < from - 8 * MIN || e.time >= to));
    // No file arrives during the outage: the replay applies the evaluator's ticks between files.
    const insights = run(files);
    const gaps = insights.filter((i) => i.trailsight.detector === 'delivery-gap');
    expect(gaps.map((i) => i.insightDetails.state)).toEqual(['Start', 'End']);
    expect(gaps[0].trailsight.gapCause).toBe('delivery-stopped');
    expect(Date.parse(gaps[0].trailsight.detectedAt) - from).toBeLessThan(HOUR);
    expect(gaps[0].trailsight.explanation).toMatch(/delivered no log files in any Region for/);
    // The hourly job's runs lost in the silence are excused, not reported one by one.
    expect(only(insights, 'gap')).toHaveLength(0);
  });
  test("partitions keep their own clocks: another account's files a year later do not tick this one", () => {
    const replay = new Replay();
    const insights = run(deliveries(background(T0, T0 + 3 * DAY)), replay);
    const later = background(T0 + 365 * DAY, T0 + 365 * DAY + HOUR, { account: '999988887777' });
    insights.push(...run(deliveries(later, '999988887777'), replay));
    expect(only(insights, 'delivery-gap')).toHaveLength(0);
    expect(replay.stats.ticks).toBeLessThan(2000);
  });

  test('a partition that stops delivering is reported once, by the ticks after its last file, even if files resume weeks later', () => {
    const replay = new Replay();
    const insights = run(deliveries(background(T0, T0 + 3 * DAY)), replay);
    insights.push(...run(deliveries(background(T0 + 30 * DAY, T0 + 30 * DAY + HOUR)), replay));
    expect(only(insights, 'delivery-gap')).toHaveLength(1);
  });
});

describe('episodes', () => {
  test('a sustained burst is one episode: one Start, one End, same sharedEventID', () => {
    const long = burst(AT, 240, 40, (t) => ev(t, 'RunInstances', { who: 'user/mallory' }));
    const { insights } = scenario(long);
    const episode = insights.filter((i) => i.trailsight.detector === 'call-rate');
    expect(episode.map((i) => i.insightDetails.state)).toEqual(['Start', 'End']);
    const [start, end] = episode;
    expect(end.sharedEventID).toBe(start.sharedEventID);
    expect(end.eventID).not.toBe(start.eventID);
    expect(end.insightDetails.insightContext.statistics.insightDuration).toBeGreaterThanOrEqual(35);
    expect(end.trailsight.observed).toBe(240);
    expect(Date.parse(end.trailsight.detectedAt)).toBeGreaterThan(Date.parse(start.trailsight.detectedAt));
  });

  test('every Start gets exactly one End once activity returns to normal', () => {
    const { insights } = scenario([
      ...burst(AT, 30, 5, (t) => ev(t, 'RunInstances', { who: 'user/mallory' })),
      ...burst(AT + HOUR, 25, 6, (t) =>
        ev(t, 'RunInstances', { who: 'role/asg', errorCode: 'Client.InstanceLimitExceeded' }),
      ),
    ]);
    const byId = new Map<string, string[]>();
    for (const i of insights) byId.set(i.sharedEventID, [...(byId.get(i.sharedEventID) ?? []), i.insightDetails.state]);
    expect(byId.size).toBeGreaterThanOrEqual(2);
    for (const states of byId.values()) expect(states).toEqual(['Start', 'End']);
  });

  test('no insight before the learning period has been replayed', () => {
    const early = burst(T0 + 20 * HOUR, 30, 5, (t) => ev(t, 'RunInstances', { who: 'user/mallory' }));
    expect(only(scenario(early).insights, 'call-rate')).toHaveLength(0);
  });

  test('insights carry the account and region they are about', () => {
    const hits = only(
      scenario(burst(AT, 30, 5, (t) => ev(t, 'RunInstances', { who: 'user/m' }))).insights,
      'call-rate',
    );
    expect(hits[0].recipientAccountId).toBe(ACCOUNT);
    expect(hits[0].awsRegion).toBe('us-east-1');
  });
});
