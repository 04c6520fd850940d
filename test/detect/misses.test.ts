/**
 * The detectors of issue 14's misses — unused-region, low-and-slow provisioning (call-rate's long window),
 * s3-exfiltration, console-brute-force, and recon / denial storms split across Regions — each with its
 * benign look-alike.
 *
 * Background: the real grycap day (../shared/data/grycap-cloudtrail-tracker, one university account,
 * us-east-1) replayed on four consecutive days. Attacks are real records re-timed and re-attributed:
 * RunInstances from the Stratus Red Team detonation `aws.execution.ec2-launch-unusual-instances`, a failed
 * ConsoleLogin from Panther's rule tests, the sign-in without MFA of Stratus'
 * `aws.initial-access.console-login-without-mfa`, and GetObject data events from OTRF's
 * `ec2_proxy_s3_exfiltration` (SOURCE.md in each folder: licenses and commits).
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { DeliveredFile, DetectConfigInput, InsightEvent } from '../../lambda/core/detect';
import { Replay } from '../../lambda/core/detect';
import type { TrailEvent } from '../../lambda/core/event';
import { isSkip, normalizeRecord } from '../../lambda/core/normalize';
import { DAY, HOUR, MIN, starts } from './helpers';

type Raw = Record<string, unknown>;

const DATA = path.resolve(__dirname, '../../../shared/data');
const ACCOUNT = '974349055189';
/**
 * A Monday, 00:00 UTC: the grycap day (a Thursday) is replayed on days 0–2, attacks come on the afternoon of
 * day 2 (past the 48 hours of `learningHours`).
 */
const T0 = Date.UTC(2026, 2, 2);
const DAY2 = T0 + 2 * DAY;

function readJson(file: string): unknown {
  return JSON.parse(readFileSync(path.join(DATA, file), 'utf8'));
}

/** The grycap day's raw records with their offset from midnight. */
const GRYCAP: { offset: number; raw: Raw }[] = (() => {
  const dir = path.join(DATA, 'grycap-cloudtrail-tracker/examples');
  const out: { offset: number; raw: Raw }[] = [];
  for (const name of readdirSync(dir).sort()) {
    if (!name.endsWith('.json.gz')) continue;
    const doc = JSON.parse(gunzipSync(readFileSync(path.join(dir, name))).toString('utf8')) as { Records: Raw[] };
    for (const raw of doc.Records) {
      const time = String(raw.eventTime);
      if (time.startsWith('2017-06-01')) out.push({ offset: Date.parse(time) - Date.UTC(2017, 5, 1), raw });
    }
  }
  return out;
})();

const STRATUS = 'stratus-red-team/detonation-logs';
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

/** Who a re-attributed record names. */
type Who = { user: string } | { role: string };

function identity(who: Who): Raw {
  if ('user' in who) {
    return {
      type: 'IAMUser',
      accountId: ACCOUNT,
      arn: `arn:aws:iam::${ACCOUNT}:user/${who.user}`,
      userName: who.user,
      principalId: 'AIDAEXAMPLE',
    };
  }
  return {
    type: 'AssumedRole',
    accountId: ACCOUNT,
    arn: `arn:aws:sts::${ACCOUNT}:assumed-role/${who.role}/session`,
    sessionContext: {
      sessionIssuer: {
        type: 'Role',
        accountId: ACCOUNT,
        arn: `arn:aws:iam::${ACCOUNT}:role/${who.role}`,
        userName: who.role,
      },
      attributes: { mfaAuthenticated: 'false' },
    },
  };
}

/** A real record shape at `time`, in `region`, by `who` (its identity and account replaced), normalized. */
function shape(
  raw: Raw,
  time: number,
  opts: { region?: string; who?: Who; ip?: string; name?: string; errorCode?: string | null } = {},
): TrailEvent {
  const r: Raw = structuredClone(raw);
  delete r['@timestamp'];
  r.eventTime = new Date(time).toISOString().replace(/\.\d{3}Z$/, 'Z');
  r.recipientAccountId = ACCOUNT;
  if (opts.region !== undefined) r.awsRegion = opts.region;
  if (opts.who !== undefined) r.userIdentity = identity(opts.who);
  if (opts.ip !== undefined) r.sourceIPAddress = opts.ip;
  if (opts.name !== undefined) r.eventName = opts.name;
  if (opts.errorCode === null) {
    delete r.errorCode;
    delete r.errorMessage;
  } else if (opts.errorCode !== undefined) r.errorCode = opts.errorCode;
  const ev = normalizeRecord(r);
  if (isSkip(ev)) throw new Error(ev.message);
  return ev;
}

/** The grycap day, normalized once. */
const GRYCAP_EVENTS: { offset: number; ev: TrailEvent }[] = GRYCAP.flatMap(({ offset, raw }) => {
  const ev = normalizeRecord(raw);
  return isSkip(ev) ? [] : [{ offset, ev }];
});

/** The grycap day on days 0–2, plus `extra(day)` records on each day (region from each record). */
function background(extra: (dayStart: number) => TrailEvent[] = () => []): TrailEvent[] {
  const out: TrailEvent[] = [];
  for (let d = 0; d < 3; d++) {
    const start = T0 + d * DAY;
    for (const { offset, ev } of GRYCAP_EVENTS) out.push({ ...ev, time: start + offset });
    out.push(...extra(start));
  }
  return out;
}

/** Cuts events into one file per Region and 5 minutes, delivered 8 minutes after the file's first bin. */
function deliveries(events: readonly TrailEvent[]): [DeliveredFile, TrailEvent[]][] {
  const files = new Map<string, { file: DeliveredFile; events: TrailEvent[] }>();
  for (const e of [...events].sort((a, b) => a.time - b.time)) {
    const deliveredAt = Math.floor(e.time / (5 * MIN)) * 5 * MIN + 8 * MIN;
    const key = `${deliveredAt}|${e.region}`;
    let f = files.get(key);
    if (!f) {
      f = {
        file: { account: ACCOUNT, region: e.region, deliveredAt, file: `${ACCOUNT}_${e.region}_${deliveredAt}` },
        events: [],
      };
      files.set(key, f);
    }
    f.events.push(e);
  }
  return [...files.values()]
    .sort((a, b) => a.file.deliveredAt - b.file.deliveredAt || (a.file.file < b.file.file ? -1 : 1))
    .map((f) => [f.file, f.events]);
}

function replay(events: TrailEvent[], config: DetectConfigInput = {}): InsightEvent[] {
  const r = new Replay(config);
  const out: InsightEvent[] = [];
  for (const [file, list] of deliveries(events)) out.push(...r.ingestFile(file, list));
  return out;
}

/** `n` records made by `make(t, i)`, spread evenly over `minutes` from `at`. */
function spread(at: number, n: number, minutes: number, make: (t: number, i: number) => TrailEvent): TrailEvent[] {
  return Array.from({ length: n }, (_, i) => make(at + Math.floor((i * minutes * MIN) / n), i));
}

const NEW_DETECTORS = ['unused-region', 's3-exfiltration', 'console-brute-force'];
const ATTACKER = { role: 'stratus-red-team-ec2lui-role' };
/** Reads in eu-west-1 every day: the account uses that Region, but never provisions there. */
const EU_READS = (start: number): TrailEvent[] =>
  spread(start + 9 * HOUR, 24, 8 * 60, (t) =>
    shape(RUN_INSTANCES, t, { region: 'eu-west-1', who: { user: 'ops' }, name: 'DescribeInstances', errorCode: null }),
  );

describe('unused-region: provisioning where the account never provisions', () => {
  const mining = (region: string): TrailEvent[] => [
    shape(RUN_INSTANCES, DAY2 + 14 * HOUR, { region, who: ATTACKER, name: 'CreateKeyPair', errorCode: null }),
    shape(RUN_INSTANCES, DAY2 + 14 * HOUR + MIN, {
      region,
      who: ATTACKER,
      name: 'CreateSecurityGroup',
      errorCode: null,
    }),
    ...spread(DAY2 + 14 * HOUR + 3 * MIN, 4, 12, (t) =>
      shape(RUN_INSTANCES, t, { region, who: ATTACKER, errorCode: null }),
    ),
  ];

  test.each([
    ['a Region the account never used', 'ap-southeast-1'],
    ['a Region the account reads in but never provisions in', 'eu-west-1'],
  ])('4 RunInstances after setup calls in %s are reported, judged by the account’s other Regions', (_, region) => {
    const insights = replay([...background(EU_READS), ...mining(region)]);
    const found = starts(insights, 'unused-region');
    expect(found).toHaveLength(1);
    const [i] = found;
    expect(i.awsRegion).toBe(region);
    expect(i.trailsight.principal).toBe(`arn:aws:iam::${ACCOUNT}:role/${ATTACKER.role}`);
    expect(i.trailsight.eventNames).toEqual(['RunInstances']);
    expect(i.trailsight.explanation).toContain(`the account never provisioned in ${region}`);
    expect(i.trailsight.explanation).toContain('it provisions in us-east-1');
    // Reported within minutes of the last call's file.
    expect(Date.parse(i.trailsight.detectedAt) - (DAY2 + 14 * HOUR)).toBeLessThanOrEqual(30 * MIN);
  });

  test('the failed attempts of the real detonation (UnauthorizedOperation) count too', () => {
    const attempts = spread(DAY2 + 14 * HOUR, 4, 10, (t) =>
      shape(RUN_INSTANCES, t, { region: 'ca-central-1', who: ATTACKER }),
    );
    const found = starts(replay([...background(), ...attempts]), 'unused-region');
    expect(found).toHaveLength(1);
    expect(found[0].trailsight.errorCodes).toEqual(['Client.UnauthorizedOperation']);
  });

  test('benign: provisioning in the usual Regions at the usual rate stays quiet', () => {
    // grycap's own 21 RunInstances a day in us-east-1, a daily scale-out of 24 over 50 minutes there (over
    // the long window's minCount), and a daily batch of 4 in eu-west-1 from day 0 on.
    const euBatch = (start: number): TrailEvent[] => [
      ...EU_READS(start),
      ...spread(start + 11 * HOUR, 4, 10, (t) =>
        shape(RUN_INSTANCES, t, { region: 'eu-west-1', who: { user: 'ops' }, errorCode: null }),
      ),
      ...spread(start + 12 * HOUR, 24, 50, (t) =>
        shape(RUN_INSTANCES, t, { region: 'us-east-1', who: { role: 'batch-scaler' }, errorCode: null }),
      ),
    ];
    const insights = replay(background(euBatch));
    const noisy = starts(insights).filter(
      (i) => NEW_DETECTORS.includes(i.trailsight.detector) || i.trailsight.eventNames.includes('RunInstances'),
    );
    expect(noisy).toEqual([]);
  });
});

describe('call-rate over the long window: low-and-slow provisioning', () => {
  test('36 RunInstances over 80 minutes (4–5 per 10 minutes) are reported from the 60-minute window', () => {
    const slow = spread(DAY2 + 15 * HOUR, 36, 80, (t) =>
      shape(RUN_INSTANCES, t, { region: 'us-east-1', who: ATTACKER, errorCode: null }),
    );
    const found = starts(replay([...background(), ...slow]), 'call-rate');
    expect(found).toHaveLength(1);
    expect(found[0].trailsight.windowMinutes).toBe(60);
    expect(found[0].trailsight.explanation).toContain('at a steady pace no 10-minute window shows');
  });

  test('control: the same calls with the long window off are missed (no 10-minute window holds 10)', () => {
    const slow = spread(DAY2 + 15 * HOUR, 36, 80, (t) =>
      shape(RUN_INSTANCES, t, { region: 'us-east-1', who: ATTACKER, errorCode: null }),
    );
    expect(starts(replay([...background(), ...slow], { longWindow: { enabled: false } }), 'call-rate')).toEqual([]);
  });
});

describe('s3-exfiltration: bulk GetObject from S3 data events', () => {
  const REPORTS = { role: 'reports-reader' };
  /** A role that reads a handful of objects at 10:00 every day from its usual address. */
  const fewReads = (start: number): TrailEvent[] =>
    spread(start + 10 * HOUR, 5, 10, (t) => shape(GET_OBJECT, t, { who: REPORTS, ip: '10.0.4.17' }));

  test('300 GetObject in 10 minutes by a role that reads a few a day, from a new IP, are reported', () => {
    const bulk = spread(DAY2 + 16 * HOUR, 300, 10, (t) => shape(GET_OBJECT, t, { who: REPORTS, ip: '203.0.113.50' }));
    const found = starts(replay([...background(fewReads), ...bulk]), 's3-exfiltration');
    expect(found).toHaveLength(1);
    const t = found[0].trailsight;
    expect(t.principal).toBe(`arn:aws:iam::${ACCOUNT}:role/reports-reader`);
    expect(t.sourceIps?.[0]).toBe('203.0.113.50');
    expect(t.explanation).toContain('from source IPs it never read objects from');
  });

  test('benign: a nightly ETL role reading 3,000 objects every night stays quiet', () => {
    const etl = (start: number): TrailEvent[] =>
      spread(start + 2 * HOUR, 3000, 40, (t) => shape(GET_OBJECT, t, { who: { role: 'nightly-etl' }, ip: '10.0.9.8' }));
    const insights = replay(background(etl));
    expect(starts(insights, 's3-exfiltration')).toEqual([]);
  });
});

describe('console-brute-force: failed ConsoleLogin (no errorCode; the failure is in responseElements)', () => {
  const failure = (t: number, user: string, ip: string): TrailEvent =>
    shape(FAILED_SIGN_IN, t, { region: 'us-east-1', who: { user }, ip });
  const success = (t: number, user: string, ip: string): TrailEvent =>
    shape(SIGN_IN_NO_MFA, t, { region: 'us-east-1', who: { user }, ip });

  test('12 failures against one user, then a sign-in without MFA: two insights', () => {
    const attack = [
      ...spread(DAY2 + 20 * HOUR, 12, 6, (t) => failure(t, 'alice', '198.51.100.7')),
      success(DAY2 + 20 * HOUR + 7 * MIN, 'alice', '198.51.100.7'),
    ];
    const found = starts(replay([...background(), ...attack]), 'console-brute-force');
    expect(found.map((i) => i.trailsight.principal)).toEqual([
      `arn:aws:iam::${ACCOUNT}:user/alice`,
      `arn:aws:iam::${ACCOUNT}:user/alice`,
    ]);
    // Reported from the first window that reaches minFailures (10).
    expect(found[0].trailsight.explanation).toMatch(/^1\d failed console sign-ins for user\/alice in 10 min/);
    expect(found[1].trailsight.explanation).toContain('signed in to the console without MFA');
    expect(found.every((i) => i.trailsight.sourceIps?.[0] === '198.51.100.7')).toBe(true);
  });

  test('password spraying: one failure against each of 14 users from one IP is reported for the account', () => {
    const spray = spread(DAY2 + 21 * HOUR, 14, 8, (t, i) => failure(t, `student${i}`, '192.0.2.66'));
    const found = starts(replay([...background(), ...spray]), 'console-brute-force');
    expect(found).toHaveLength(1);
    expect(found[0].trailsight.principal).toBeUndefined();
    expect(found[0].trailsight.sourceIps).toEqual(['192.0.2.66']);
    expect(found[0].trailsight.explanation).toMatch(/^14 failed console sign-ins for 14 users in 10 min/);
  });

  test('benign: a user who mistypes the password twice, then signs in without MFA, stays quiet', () => {
    // bob signs in every morning; on day 2 he mistypes twice first (never before: no failure baseline).
    const signIns = (start: number): TrailEvent[] => [
      ...(start === DAY2
        ? [failure(start + 9 * HOUR, 'bob', '10.1.1.1'), failure(start + 9 * HOUR + 20_000, 'bob', '10.1.1.1')]
        : []),
      success(start + 9 * HOUR + MIN, 'bob', '10.1.1.1'),
    ];
    expect(starts(replay(background(signIns)), 'console-brute-force')).toEqual([]);
  });
});

describe('recon and denial storms split across Regions add up for the principal', () => {
  const SCOUT = { role: 'scout' };
  /** Distinct read-only APIs of the real grycap day, with a record of each. */
  const readApis = [
    ...new Map(
      GRYCAP.map(({ raw }) => raw)
        .filter((r) => /^(Describe|List|Get)/.test(String(r.eventName)) && !r.errorCode)
        .map((r) => [String(r.eventName), r]),
    ).values(),
  ];

  const sweep = (regions: string[], apisPerRegion: number, callsPerApi: number): TrailEvent[] =>
    regions.flatMap((region, k) =>
      readApis
        .slice(k * apisPerRegion, (k + 1) * apisPerRegion)
        .flatMap((raw, a) =>
          Array.from({ length: callsPerApi }, (_, c) =>
            shape(raw, DAY2 + 17 * HOUR + (a * callsPerApi + c) * 20_000, { region, who: SCOUT, ip: '203.0.113.9' }),
          ),
        ),
    );

  test('a sweep of 7 APIs in each of two Regions (14 calls each) is one recon insight', () => {
    expect(readApis.length).toBeGreaterThanOrEqual(14);
    const found = starts(replay([...background(), ...sweep(['us-east-1', 'eu-west-1'], 7, 2)]), 'recon');
    expect(found).toHaveLength(1);
    expect(found[0].trailsight.eventNames).toHaveLength(14);
  });

  test('control: one Region’s half of the sweep alone stays under the thresholds', () => {
    expect(starts(replay([...background(), ...sweep(['eu-west-1'], 7, 2)]), 'recon')).toEqual([]);
  });

  const denials = (regions: string[]): TrailEvent[] =>
    regions.flatMap((region, k) =>
      ['RunInstances', 'CreateVolume', 'CreateSnapshot'].flatMap((name, a) =>
        Array.from({ length: 2 }, (_, c) =>
          shape(RUN_INSTANCES, DAY2 + 18 * HOUR + (k * 6 + a * 2 + c) * 30_000, {
            region,
            who: SCOUT,
            name,
          }),
        ),
      ),
    );

  test('6 denials in each of two Regions are one access-denied insight', () => {
    const found = starts(replay([...background(), ...denials(['us-east-1', 'eu-west-1'])]), 'access-denied');
    expect(found).toHaveLength(1);
    expect(found[0].trailsight.observed).toBeGreaterThanOrEqual(10);
    expect(found[0].trailsight.explanation).toContain('denied');
  });

  test('control: one Region’s 6 denials alone stay under the thresholds', () => {
    expect(starts(replay([...background(), ...denials(['eu-west-1'])]), 'access-denied')).toEqual([]);
  });
});
