/**
 * A principal's habits (issue 14's benign look-alikes): the usual IAM admin onboarding people and a deploy role
 * refreshing the same resources are bursts they make again and again. A reported burst is kept out of the
 * baseline (young-episode clipping), so without a memory of the bursts a principal makes, the same benign burst
 * would be reported every time. The same bursts by a principal that never made them, with APIs the principal
 * never used, or much larger than its own, are still reported.
 *
 * Background: the real grycap day replayed on five days (real-records.ts). IAM writes are the real records of
 * the Stratus Red Team detonations `aws.persistence.iam-create-admin-user` (CreateUser, AttachUserPolicy,
 * CreateAccessKey) and `aws.persistence.iam-create-user-login-profile` (CreateLoginProfile); reads are grycap's
 * own records.
 */
import type { DetectConfigInput, InsightEvent } from '../../lambda/core/detect';
import type { TrailEvent } from '../../lambda/core/event';
import { DAY, HOUR, MIN, starts } from './helpers';
import {
  ACCOUNT,
  grycapDays,
  type Raw,
  READ_APIS,
  readJson,
  replay,
  STRATUS,
  shape,
  spread,
  T0,
  type Who,
} from './real-records';

const record = (file: string, name: string): Raw =>
  (readJson(`${STRATUS}/${file}.json`) as Raw[]).find((r) => r.eventName === name)!;
const ADMIN_USER = 'aws.persistence.iam-create-admin-user';
const CREATE_USER = record(ADMIN_USER, 'CreateUser');
const ATTACH_USER_POLICY = record(ADMIN_USER, 'AttachUserPolicy');
const CREATE_ACCESS_KEY = record(ADMIN_USER, 'CreateAccessKey');
const CREATE_LOGIN_PROFILE = record('aws.persistence.iam-create-user-login-profile', 'CreateLoginProfile');

const ADMIN: Who = { user: 'iam-admin' };
const DEPLOY: Who = { role: 'terraform-deploy' };
const CI: Who = { role: 'ci-runner' };
const arnOf = (who: Who): string =>
  'user' in who ? `arn:aws:iam::${ACCOUNT}:user/${who.user}` : `arn:aws:iam::${ACCOUNT}:role/${who.role}`;

/** Onboarding `people` users (4 IAM writes each, a minute apart) by `who` from `at`. */
const onboarding = (who: Who, at: number, people: number): TrailEvent[] =>
  spread(at, people * 4, people * 4, (t, i) =>
    shape([CREATE_USER, CREATE_LOGIN_PROFILE, ATTACH_USER_POLICY, CREATE_ACCESS_KEY][i % 4], t, {
      who,
      errorCode: null,
    }),
  );

/** Terraform's user agent (grycap's reads were mostly made in the console; a deploy role is a program). */
const TERRAFORM = 'APN/1.0 HashiCorp/1.0 Terraform/1.11.2 (+https://www.terraform.io) terraform-provider-aws/5.94.1';

/** A deploy role's refresh: 2 calls each of 20 read APIs (from `first` in grycap's list) in 5 minutes. */
const refresh = (who: Who, at: number, first: number): TrailEvent[] =>
  spread(at, 40, 5, (t, i) => ({
    ...shape(READ_APIS[first + (i % 20)], t, { who, errorCode: null }),
    userAgent: TERRAFORM,
  }));

/** Every day: the admin attaches a policy, the CI role reads, the deploy role reads one API. */
const habits = (start: number): TrailEvent[] => [
  shape(ATTACH_USER_POLICY, start + 11 * HOUR, { who: ADMIN, errorCode: null }),
  ...spread(start + 9 * HOUR, 6, 8 * 60, (t) => shape(READ_APIS[0], t, { who: CI, errorCode: null })),
  shape(READ_APIS[40], start + 7 * HOUR, { who: DEPLOY, errorCode: null }),
];

const DAY2 = T0 + 2 * DAY;
const DAY4 = T0 + 4 * DAY;

/**
 * The admin onboards 3 people on day 2 (new to it: reported) and again on day 4 (its habit now); the deploy role
 * refreshes its resources on day 2 (reported: 19 APIs it never read) and again on day 4.
 */
const BENIGN = [
  ...onboarding(ADMIN, DAY2 + 10 * HOUR, 3),
  ...onboarding(ADMIN, DAY4 + 9 * HOUR, 3),
  ...refresh(DEPLOY, DAY2 + 8 * HOUR, 40),
  ...refresh(DEPLOY, DAY4 + 8 * HOUR, 40),
];

/** What the same bursts look like when they are not habits. */
const ATTACKS = {
  /** The onboarding burst by a role that never wrote to IAM. */
  ci: onboarding(CI, DAY4 + 14 * HOUR, 2),
  /** The admin creating 12 users in 12 minutes: 48 writes, four times its largest burst. */
  mass: spread(DAY4 + 18 * HOUR, 48, 12, (t, i) =>
    shape([CREATE_USER, CREATE_LOGIN_PROFILE, ATTACH_USER_POLICY, CREATE_ACCESS_KEY][i % 4], t, {
      who: ADMIN,
      errorCode: null,
    }),
  ),
  /** The deploy role enumerating 20 read APIs it never called (grycap's next 20). */
  sweep: refresh(DEPLOY, DAY4 + 13 * HOUR, 60),
};

let quiet: InsightEvent[];
let noisy: InsightEvent[];
let attacked: InsightEvent[];

beforeAll(() => {
  const events = [...grycapDays(5, habits), ...BENIGN];
  quiet = replay(events);
  noisy = replay(events, {
    detectors: { 'iam-burst': { habitFactor: 0 }, recon: { habitFactor: 0 } },
  } as DetectConfigInput);
  attacked = replay([...events, ...Object.values(ATTACKS).flat()]);
});

const about = (insights: InsightEvent[], detector: string, who: Who, from: number, to: number): InsightEvent[] =>
  starts(insights, detector).filter((i) => {
    const t = Date.parse(i.eventTime);
    return i.trailsight.principal === arnOf(who) && t >= from && t < to;
  });

describe('iam-burst: the usual IAM admin onboarding people', () => {
  test('the first onboarding (APIs the admin never used) is reported, the same one two days later is not', () => {
    expect(about(quiet, 'iam-burst', ADMIN, DAY2, DAY2 + DAY)).toHaveLength(1);
    expect(about(quiet, 'iam-burst', ADMIN, DAY4, DAY4 + 12 * HOUR)).toEqual([]);
  });

  test('control: without the habits the second onboarding is reported again (its burst was kept out of the baseline)', () => {
    expect(about(noisy, 'iam-burst', ADMIN, DAY4, DAY4 + 12 * HOUR)).toHaveLength(1);
  });

  test('the same burst by a role that never wrote to IAM is reported', () => {
    expect(about(attacked, 'iam-burst', CI, DAY4, DAY4 + DAY)).toHaveLength(1);
  });

  test('the admin making four times its largest burst is reported', () => {
    expect(about(attacked, 'iam-burst', ADMIN, DAY4 + 18 * HOUR, DAY4 + 19 * HOUR)).toHaveLength(1);
  });
});

describe('recon: a deploy role refreshing the same resources', () => {
  test('its first refresh is reported, the same refresh two days later is not', () => {
    expect(about(quiet, 'recon', DEPLOY, DAY2, DAY2 + DAY)).toHaveLength(1);
    expect(about(quiet, 'recon', DEPLOY, DAY4, DAY4 + 12 * HOUR)).toEqual([]);
  });

  test('control: without the habits the second refresh is reported again', () => {
    expect(about(noisy, 'recon', DEPLOY, DAY4, DAY4 + 12 * HOUR)).toHaveLength(1);
  });

  test('the same role reading 20 APIs it never called is reported', () => {
    const [found] = about(attacked, 'recon', DEPLOY, DAY4 + 13 * HOUR, DAY4 + 14 * HOUR);
    expect(found.trailsight.explanation).toContain('(20 never called by it before)');
    expect(Date.parse(found.trailsight.detectedAt) - (DAY4 + 13 * HOUR)).toBeLessThan(20 * MIN);
  });
});
