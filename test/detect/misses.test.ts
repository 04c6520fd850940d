/**
 * The detectors of issue 14's misses — unused-region, low-and-slow provisioning (call-rate's long window),
 * s3-exfiltration, console-brute-force, and recon / denial storms split across Regions — each with its
 * benign look-alike.
 *
 * Background: the real grycap day (real-records.ts) replayed on three consecutive days. Attacks are real records re-timed and re-attributed:
 * RunInstances from the Stratus Red Team detonation `aws.execution.ec2-launch-unusual-instances`, a failed
 * ConsoleLogin from Panther's rule tests, the sign-in without MFA of Stratus'
 * `aws.initial-access.console-login-without-mfa`, and GetObject data events from OTRF's
 * `ec2_proxy_s3_exfiltration` (SOURCE.md in each folder: licenses and commits).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { matcherOf } from '../../cli/report/series';
import type { InsightEvent } from '../../lambda/core/detect';
import type { TrailEvent } from '../../lambda/core/event';
import { DAY, HOUR, MIN, starts } from './helpers';
import {
  ACCOUNT,
  DATA,
  grycapDays,
  type Raw,
  READ_APIS,
  readJson,
  replay,
  STRATUS,
  shape,
  spread,
  T0,
} from './real-records';

/** Attacks come on the afternoon of day 2 (past the 48 hours of `learningHours`). */
const DAY2 = T0 + 2 * DAY;

const RUN_INSTANCES = (readJson(`${STRATUS}/aws.execution.ec2-launch-unusual-instances.json`) as Raw[]).find(
  (r) => r.eventName === 'RunInstances',
)!;
const SIGN_IN_NO_MFA = (readJson(`${STRATUS}/aws.initial-access.console-login-without-mfa.json`) as Raw[])[0];
const FAILED_SIGN_IN = readFileSync(path.join(DATA, 'panther-analysis/cloudtrail_rule_tests.jsonl'), 'utf8')
  .split('\n')
  .filter((line) => line.includes('"Failed authentication"'))
  .map((line) => (JSON.parse(line) as { log: Raw }).log)
  .find((log) => log.eventName === 'ConsoleLogin')!;
const GET_OBJECT = readFileSync(
  path.join(DATA, 'otrf-security-datasets/ec2_proxy_s3_exfiltration_2020-09-14011940.json'),
  'utf8',
)
  .split('\n')
  .filter((line) => line.includes('"GetObject"'))
  .map((line) => JSON.parse(line) as Raw)[0];

/** The grycap day on days 0–2, plus `extra(day)` records on each day. */
const background = (extra?: (dayStart: number) => TrailEvent[]): TrailEvent[] => grycapDays(3, extra);

const NEW_DETECTORS = ['unused-region', 's3-exfiltration', 'console-brute-force'];
const roleArn = (name: string): string => `arn:aws:iam::${ACCOUNT}:role/${name}`;
const userArn = (name: string): string => `arn:aws:iam::${ACCOUNT}:user/${name}`;

/** Reads in eu-west-1 every day: the account uses that Region, but never provisions there. */
const euReads = (start: number): TrailEvent[] =>
  spread(start + 9 * HOUR, 24, 8 * 60, (t) =>
    shape(RUN_INSTANCES, t, { region: 'eu-west-1', who: { user: 'ops' }, name: 'DescribeInstances', errorCode: null }),
  );

/** A role that reads a handful of objects at 10:00 every day from its usual address. */
const REPORTS = { role: 'reports-reader' };
const fewReads = (start: number): TrailEvent[] =>
  spread(start + 10 * HOUR, 5, 10, (t) => shape(GET_OBJECT, t, { who: REPORTS, ip: '10.0.4.17' }));

const failure = (t: number, user: string, ip: string): TrailEvent =>
  shape(FAILED_SIGN_IN, t, { region: 'us-east-1', who: { user }, ip });
const success = (t: number, user: string, ip: string): TrailEvent =>
  shape(SIGN_IN_NO_MFA, t, { region: 'us-east-1', who: { user }, ip });

// --- The attacks, each by its own principal at its own time of day 2 (they do not interact) ---

/** Mining: a key pair, a security group, then 4 RunInstances, by `role` in `region`. */
const mining = (region: string, role: string, at: number): TrailEvent[] => [
  shape(RUN_INSTANCES, at, { region, who: { role }, name: 'CreateKeyPair', errorCode: null }),
  shape(RUN_INSTANCES, at + MIN, { region, who: { role }, name: 'CreateSecurityGroup', errorCode: null }),
  ...spread(at + 3 * MIN, 4, 12, (t) => shape(RUN_INSTANCES, t, { region, who: { role }, errorCode: null })),
];
const MINING_NEW_REGION = mining('ap-southeast-1', 'miner-a', DAY2 + 13 * HOUR);
const MINING_READ_ONLY_REGION = mining('eu-west-1', 'miner-b', DAY2 + 14 * HOUR);
/** The real detonation's failed attempts (UnauthorizedOperation), as they are. */
const DENIED_MINING = spread(DAY2 + 14 * HOUR + 30 * MIN, 4, 10, (t) =>
  shape(RUN_INSTANCES, t, { region: 'ca-central-1', who: { role: 'miner-c' } }),
);
/** Low and slow: 36 RunInstances over 80 minutes, 4–5 per 10 minutes, where the account provisions. */
const SLOW_PROVISIONING = spread(DAY2 + 15 * HOUR, 36, 80, (t) =>
  shape(RUN_INSTANCES, t, { region: 'us-east-1', who: { role: 'slow-miner' }, errorCode: null }),
);
/** 300 GetObject in 10 minutes by the role that reads five a day, from a new address. */
const BULK_READS = spread(DAY2 + 16 * HOUR + 30 * MIN, 300, 10, (t) =>
  shape(GET_OBJECT, t, { who: REPORTS, ip: '203.0.113.50' }),
);

/** A sweep by `scout`: 7 read APIs twice each per Region (14 calls), the Regions' APIs distinct. */
const sweep = (regions: string[], scout: string, at: number): TrailEvent[] =>
  regions.flatMap((region, k) =>
    READ_APIS.slice(k * 7, (k + 1) * 7).flatMap((raw, a) =>
      [0, 1].map((c) => shape(raw, at + (a * 2 + c) * 20_000, { region, who: { role: scout }, ip: '203.0.113.9' })),
    ),
  );
/** 6 denied calls (RunInstances, CreateVolume, CreateSnapshot ×2) per Region by `prober`. */
const denials = (regions: string[], prober: string, at: number): TrailEvent[] =>
  regions.flatMap((region, k) =>
    ['RunInstances', 'CreateVolume', 'CreateSnapshot'].flatMap((name, a) =>
      [0, 1].map((c) =>
        shape(RUN_INSTANCES, at + (k * 6 + a * 2 + c) * 30_000, { region, who: { role: prober }, name }),
      ),
    ),
  );
const SWEEP = sweep(['us-east-1', 'eu-west-1'], 'scout', DAY2 + 17 * HOUR);
const DENIALS = denials(['us-east-1', 'eu-west-1'], 'prober', DAY2 + 18 * HOUR);
/** 12 failures against alice in 6 minutes, then her sign-in without MFA. */
const GUESSING = [
  ...spread(DAY2 + 20 * HOUR, 12, 6, (t) => failure(t, 'alice', '198.51.100.7')),
  success(DAY2 + 20 * HOUR + 7 * MIN, 'alice', '198.51.100.7'),
];
/** Password spraying: one failure against each of 14 users from one address in 8 minutes. */
const SPRAY = spread(DAY2 + 21 * HOUR, 14, 8, (t, i) => failure(t, `student${i}`, '192.0.2.66'));

// --- The benign look-alikes ---

const benignDay = (start: number): TrailEvent[] => [
  ...euReads(start),
  ...fewReads(start),
  // A daily batch of 4 RunInstances in eu-west-1 (a Region the account does provision in, from day 0).
  ...spread(start + 11 * HOUR, 4, 10, (t) =>
    shape(RUN_INSTANCES, t, { region: 'eu-west-1', who: { user: 'ops' }, errorCode: null }),
  ),
  // A daily scale-out of 24 RunInstances over 50 minutes in us-east-1 (over the long window's minCount).
  ...spread(start + 12 * HOUR, 24, 50, (t) =>
    shape(RUN_INSTANCES, t, { region: 'us-east-1', who: { role: 'batch-scaler' }, errorCode: null }),
  ),
  // A nightly ETL role reading 3,000 objects.
  ...spread(start + 2 * HOUR, 3000, 40, (t) => shape(GET_OBJECT, t, { who: { role: 'nightly-etl' }, ip: '10.0.9.8' })),
  // bob signs in every morning without MFA; on day 2 he mistypes twice first (never before).
  ...(start === DAY2
    ? [failure(start + 9 * HOUR, 'bob', '10.1.1.1'), failure(start + 9 * HOUR + 20_000, 'bob', '10.1.1.1')]
    : []),
  success(start + 9 * HOUR + MIN, 'bob', '10.1.1.1'),
];

/** Three replays, each shared by the tests below (a replay of three grycap days costs seconds). */
let attacked: { events: TrailEvent[]; insights: InsightEvent[] };
let benign: InsightEvent[];
let controls: InsightEvent[];

beforeAll(() => {
  const attacks = [
    ...MINING_NEW_REGION,
    ...MINING_READ_ONLY_REGION,
    ...DENIED_MINING,
    ...SLOW_PROVISIONING,
    ...BULK_READS,
    ...SWEEP,
    ...DENIALS,
    ...GUESSING,
    ...SPRAY,
  ];
  const events = [...background((start) => [...euReads(start), ...fewReads(start)]), ...attacks];
  attacked = { events, insights: replay(events) };
  benign = replay(background(benignDay));
  // The same slow provisioning with the long window off; each Region's half of the sweep and the denials alone.
  controls = replay(
    [
      ...background(),
      ...SLOW_PROVISIONING,
      ...sweep(['eu-west-1'], 'scout', DAY2 + 17 * HOUR),
      ...denials(['eu-west-1'], 'prober', DAY2 + 18 * HOUR),
    ],
    { longWindow: { enabled: false } },
  );
});

/** The Start insights of `detector` about `principal` (an ARN), or without a principal. */
const about = (insights: InsightEvent[], detector: string, principal?: string): InsightEvent[] =>
  starts(insights, detector).filter((i) => i.trailsight.principal === principal);

describe('unused-region: provisioning where the account never provisions', () => {
  test.each([
    ['a Region the account never used', 'ap-southeast-1', 'miner-a', MINING_NEW_REGION],
    ['a Region the account reads in but never provisions in', 'eu-west-1', 'miner-b', MINING_READ_ONLY_REGION],
  ])(
    '4 RunInstances after setup calls in %s are reported, judged by the account’s other Regions',
    (_, region, role, attack) => {
      const found = about(attacked.insights, 'unused-region', roleArn(role));
      expect(found).toHaveLength(1);
      const [i] = found;
      expect(i.awsRegion).toBe(region);
      expect(i.trailsight.eventNames).toEqual(['RunInstances']);
      expect(i.trailsight.explanation).toContain(`the account never provisioned in ${region}`);
      // Established Regions only: not ap-southeast-1, where miner-a started an hour before miner-b.
      expect(i.trailsight.explanation).toContain('(it provisions in us-east-1;');
      // Reported within minutes of the files that hold the calls.
      expect(Date.parse(i.trailsight.detectedAt) - attack[0].time).toBeLessThanOrEqual(30 * MIN);
      // The HTML report charts the provisioning calls (not the setup calls) of the insight's Region.
      expect(attack.filter(matcherOf({ start: i })).map((e) => e.name)).toEqual(Array(4).fill('RunInstances'));
    },
  );

  test('the failed attempts of the real detonation (UnauthorizedOperation) count too', () => {
    const found = about(attacked.insights, 'unused-region', roleArn('miner-c'));
    expect(found).toHaveLength(1);
    expect(found[0].awsRegion).toBe('ca-central-1');
    expect(found[0].trailsight.errorCodes).toEqual(['Client.UnauthorizedOperation']);
  });

  test('look-alike: a Region the account provisions in from its first hours is learned, with a short learning period', () => {
    // An autoscaling role launching 3 instances every 2 hours in eu-west-1 from the first hour of the replay:
    // first seen less than establishedHours (24) before the end of a 12-hour learning period, yet part of it.
    const scaling = grycapDays(2, (start) =>
      Array.from({ length: 12 }, (_, h) =>
        spread(start + (2 * h + 1) * HOUR, 3, 2, (t) =>
          shape(RUN_INSTANCES, t, { region: 'eu-west-1', who: { role: 'scaling' }, errorCode: null }),
        ),
      ).flat(),
    );
    expect(starts(replay(scaling, { learningHours: 12 }), 'unused-region')).toEqual([]);
  });

  test('nothing else is reported as unused-region', () => {
    expect(
      starts(attacked.insights, 'unused-region')
        .map((i) => i.awsRegion)
        .sort(),
    ).toEqual(['ap-southeast-1', 'ca-central-1', 'eu-west-1']);
  });
});

describe('call-rate over the long window: low-and-slow provisioning', () => {
  test('36 RunInstances over 80 minutes (4–5 per 10 minutes) are reported from the 60-minute window', () => {
    const found = about(attacked.insights, 'call-rate', roleArn('slow-miner'));
    expect(found).toHaveLength(1);
    expect(found[0].trailsight.windowMinutes).toBe(60);
    expect(found[0].trailsight.explanation).toContain('at a steady pace no 10-minute window shows');
  });

  test('control: with the long window off they are missed (no 10-minute window holds 10)', () => {
    expect(starts(controls, 'call-rate')).toEqual([]);
  });
});

describe('benign look-alikes stay quiet', () => {
  test('provisioning in the usual Regions at the usual rate (grycap’s own, a daily batch, a daily scale-out)', () => {
    const noisy = starts(benign).filter(
      (i) => i.trailsight.detector === 'unused-region' || i.trailsight.eventNames.includes('RunInstances'),
    );
    expect(noisy).toEqual([]);
  });

  test('a nightly ETL role reading 3,000 objects every night', () => {
    expect(starts(benign, 's3-exfiltration')).toEqual([]);
  });

  test('a user who mistypes the password twice, then signs in without MFA', () => {
    expect(starts(benign, 'console-brute-force')).toEqual([]);
  });

  test('none of the new detectors fires on the benign replay at all', () => {
    expect(starts(benign).filter((i) => NEW_DETECTORS.includes(i.trailsight.detector))).toEqual([]);
  });
});

describe('s3-exfiltration: bulk GetObject from S3 data events', () => {
  test('300 GetObject in 10 minutes by a role that reads a few a day, from a new IP, are reported', () => {
    const found = starts(attacked.insights, 's3-exfiltration');
    expect(found).toHaveLength(1);
    const t = found[0].trailsight;
    expect(t.principal).toBe(roleArn('reports-reader'));
    expect(t.sourceIps?.[0]).toBe('203.0.113.50');
    expect(t.explanation).toContain('from source IPs it never read objects from');
    // The HTML report charts the role's object reads (5 a day, and the 300), nothing of the background.
    expect(attacked.events.filter(matcherOf({ start: found[0] }))).toHaveLength(300 + 3 * 5);
  });
});

describe('console-brute-force: failed ConsoleLogin (no errorCode; the failure is in responseElements)', () => {
  test('12 failures against one user, then a sign-in without MFA: two insights', () => {
    const found = about(attacked.insights, 'console-brute-force', userArn('alice'));
    expect(found).toHaveLength(2);
    // Reported from the first window that reaches minFailures (6): the failures' first file holds 12.
    expect(found[0].trailsight.explanation).toMatch(/^1\d failed console sign-ins for user\/alice in 10 min/);
    expect(found[1].trailsight.explanation).toContain('signed in to the console without MFA');
    expect(found.every((i) => i.trailsight.sourceIps?.[0] === '198.51.100.7')).toBe(true);
  });

  test('7 failures against one user in 10 minutes, without a sign-in, are reported (minFailures 6; Matano: 5 in 15)', () => {
    const guesses = spread(DAY2 + 11 * HOUR, 7, 10, (t) => failure(t, 'carol', '203.0.113.9'));
    const found = about(
      replay(background((start) => (start === DAY2 ? guesses : []))),
      'console-brute-force',
      userArn('carol'),
    );
    expect(found).toHaveLength(1);
    expect(found[0].trailsight.explanation).toMatch(
      /^7 failed console sign-ins for user\/carol in 10 min from 203\.0\.113\.9/,
    );
  });

  test('password spraying: one failure against each of 14 users from one IP is reported for the account', () => {
    const found = about(attacked.insights, 'console-brute-force');
    expect(found).toHaveLength(1);
    expect(found[0].trailsight.sourceIps).toEqual(['192.0.2.66']);
    // Reported from the first window that reaches minFailures (6), one failure per user.
    expect(found[0].trailsight.explanation).toMatch(/^([6-9]|1[0-4]) failed console sign-ins for \1 users in 10 min/);
    // The HTML report charts the account's failed sign-ins: alice's and the spray (grycap's all succeeded).
    expect(attacked.events.filter(matcherOf({ start: found[0] }))).toHaveLength(12 + 14);
  });
});

describe('recon and denial storms split across Regions add up for the principal', () => {
  test('a sweep of 7 APIs in each of two Regions (14 calls each) is one recon insight', () => {
    expect(READ_APIS.length).toBeGreaterThanOrEqual(14);
    const found = about(attacked.insights, 'recon', roleArn('scout'));
    expect(found).toHaveLength(1);
    expect(found[0].trailsight.eventNames).toHaveLength(14);
  });

  test('6 denials in each of two Regions are one access-denied insight', () => {
    const found = about(attacked.insights, 'access-denied', roleArn('prober'));
    expect(found).toHaveLength(1);
    expect(found[0].trailsight.observed).toBeGreaterThanOrEqual(10);
  });

  test('control: one Region’s half of the sweep, or of the denials, stays under the thresholds', () => {
    expect(about(controls, 'recon', roleArn('scout'))).toEqual([]);
    expect(about(controls, 'access-denied', roleArn('prober'))).toEqual([]);
  });
});
