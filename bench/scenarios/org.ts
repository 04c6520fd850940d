/**
 * The organization family of `npm run eval` (issue 14): four accounts of different character over three weeks,
 * written as real delivery files (and, for some accounts, hourly digest files in every Region) from real record
 * shapes (bench/scenarios/shapes.ts), with benign look-alikes and labelled injections of the kinds the issue lists.
 *
 * Design (written from the issue's descriptions, not from any detector's thresholds):
 *  - Accounts: a quiet **sandbox** (two developers on some weekdays, a daily cost check and a nightly lab cleanup),
 *    a busy **production** account logging S3 data events (an API role's GetObject/PutObject all day, a nightly ETL
 *    reading thousands of objects, service roles replayed from the real grycap day, ops people, a weekly Terraform
 *    apply, a nightly DR snapshot copy in the second Region), a **CI/CD** account (pipeline runs on working days,
 *    nightly build, hourly image cleanup, a weekly Terraform apply, a new CI job appearing), and a read-mostly
 *    **monitoring** account (dashboards polling every 5 minutes, an hourly inventory reading ~30 APIs, SREs).
 *  - Regions: eu-west-1 (home) carries most activity, eu-central-1 a little, us-east-1 almost none but the global
 *    services (IAM, Cost Explorer, console sign-in) — the skew of a European organization.
 *  - Time: 21 days from mid-March 2026 (7 history days, 14 test days), in Europe/Berlin local time: daylight
 *    saving starts on 29 March, so jobs and people on local time move by an hour in UTC from that day on (jobs on
 *    UTC schedules do not), and Good Friday / Easter Monday are weekdays as quiet as a weekend.
 *  - Delivery: ~5-minute files per Region, 1.5–10 minutes after the call; 1.2 % of files (and two runs of a
 *    quiet job per account, on purpose) arrive 30–90 minutes late. Two accounts of four (drawn per seed) have log
 *    file validation: an hourly digest file per Region in all 17 default Regions, empty when nothing was delivered.
 *  - Injections (one or two on ~70 % of the eligible test days, kinds in rotation per account, sizes drawn in the
 *    ranges the issue gives): mining in an unused Region, S3 exfiltration, console brute force, low-and-slow
 *    provisioning, recon and AccessDenied storms split across Regions, a quiet-Region job that stops at night, a
 *    trail that stops, and the classic kinds. A stopped trail is injected only where the files hold evidence of it:
 *    an account with digests, a busy account, or a logged StopLogging.
 *  - Look-alikes are recorded (kind, account, time, principal) so the report can say which ones were flagged.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { Rng } from './random';
import { addLag, type LagHistogram, type ScoredLabel } from './score';
import type { Call, RawRecord, Session, ShapeLibrary, Who } from './shapes';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

export type Character = 'sandbox' | 'production' | 'cicd' | 'monitoring';
export const CHARACTERS: readonly Character[] = ['sandbox', 'production', 'cicd', 'monitoring'];

export type OrgKind =
  | 'mining'
  | 's3-exfiltration'
  | 'console-brute-force'
  | 'low-and-slow'
  | 'recon-split'
  | 'denied-split'
  | 'gap-quiet-region'
  | 'trail-stopped'
  | 'call-rate'
  | 'error-rate'
  | 'iam-burst'
  | 'recon'
  | 'access-denied'
  | 'gap';

/** The detector each kind should be reported by (issue 14 names the new ones). */
export const EXPECTED_DETECTOR: Record<OrgKind, string> = {
  mining: 'unused-region',
  's3-exfiltration': 's3-exfiltration',
  'console-brute-force': 'console-brute-force',
  'low-and-slow': 'call-rate',
  'recon-split': 'recon',
  'denied-split': 'access-denied',
  'gap-quiet-region': 'gap',
  'trail-stopped': 'delivery-gap',
  'call-rate': 'call-rate',
  'error-rate': 'error-rate',
  'iam-burst': 'iam-burst',
  recon: 'recon',
  'access-denied': 'access-denied',
  gap: 'gap',
};

export interface OrgLabel extends ScoredLabel {
  readonly id: string;
  readonly kind: OrgKind;
  /** Calls injected (0 for gaps). */
  readonly size: number;
}

export type LookAlikeKind =
  | 'terraform-apply'
  | 'onboarding'
  | 'new-ci-job'
  | 'us-east-1-session'
  | 'etl-nightly-reads'
  | 'late-job-file'
  | 'login-typo';

/** A benign event that resembles an injection; false insights near it are attributed to it in the report. */
export interface LookAlike {
  readonly kind: LookAlikeKind;
  readonly account: string;
  readonly regions: readonly string[];
  readonly start: number;
  readonly end: number;
  readonly principal?: string;
  readonly note: string;
}

export interface OrgOptions {
  readonly seed: number;
  readonly days: number;
  readonly warmupDays: number;
  /** First day, UTC midnight (ms). */
  readonly startDay: number;
  /** IANA zone of the organization's people and local-time schedules. */
  readonly timeZone: string;
  /** Public holidays (YYYY-MM-DD, local dates). */
  readonly holidays: readonly string[];
  /** The accounts to simulate (all four by default; the test builds a small organization). */
  readonly characters?: readonly Character[];
}

export interface OrgAccount {
  readonly id: string;
  readonly character: Character;
  /** Log file validation on: hourly digest files in every Region. */
  readonly digests: boolean;
}

export interface OrgScenario {
  readonly options: OrgOptions;
  readonly accounts: OrgAccount[];
  readonly labels: OrgLabel[];
  readonly lookAlikes: LookAlike[];
  /** `account|dayIndex` of test days with no injection. */
  readonly cleanDays: string[];
  /** Day indexes (UTC days) of the clock change and of the holidays. */
  readonly dstDay: number;
  readonly holidayDays: number[];
  readonly notes: string[];
  readonly files: number;
  readonly digestFiles: number;
  readonly lateFiles: number;
  readonly events: number;
  /** Event → file delivery lags of the delivered events. */
  readonly lags: LagHistogram;
}

export const HOME = 'eu-west-1';
export const SECOND = 'eu-central-1';
export const THIRD = 'us-east-1';
const TRAIL = 'management-events';
/** The 17 Regions enabled by default: a multi-Region trail with validation delivers a digest in each, hourly. */
const DEFAULT_REGIONS = [
  'us-east-1',
  'us-east-2',
  'us-west-1',
  'us-west-2',
  'ap-south-1',
  'ap-northeast-1',
  'ap-northeast-2',
  'ap-northeast-3',
  'ap-southeast-1',
  'ap-southeast-2',
  'ca-central-1',
  'eu-central-1',
  'eu-west-1',
  'eu-west-2',
  'eu-west-3',
  'eu-north-1',
  'sa-east-1',
];
const UNUSED_REGIONS = ['ap-southeast-1', 'ap-northeast-1', 'sa-east-1', 'us-west-2', 'ap-south-1', 'ca-central-1'];
/** Services whose calls CloudTrail records in us-east-1 whatever Region the caller works in. */
const GLOBAL_SOURCES = new Set([
  'iam.amazonaws.com',
  'ce.amazonaws.com',
  'organizations.amazonaws.com',
  'route53.amazonaws.com',
  'cloudfront.amazonaws.com',
  'budgets.amazonaws.com',
]);

const AGENTS = {
  cli: 'aws-cli/2.27.41 md/awscrt#0.26.1 ua/2.1 os/linux#6.8.0-60-generic md/arch#x86_64 lang/python#3.13.4 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/distrib#ubuntu.24',
  browser:
    'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/134.0.0.0 Safari/537.36',
  lambda:
    'Boto3/1.37.18 md/Botocore#1.37.18 ua/2.1 os/linux#5.10.234-245.916.amzn2.x86_64 md/arch#x86_64 lang/python#3.12.9 md/pyimpl#CPython exec-env/AWS_Lambda_python3.12 cfg/retry-mode#legacy Botocore/1.37.18',
  java: 'aws-sdk-java/2.31.6 Linux/6.1.128-136.201.amzn2023.x86_64 OpenJDK_64-Bit_Server_VM/21.0.6+7-LTS Java/21.0.6 vendor/Amazon.com_Inc. md/internal io/sync http/Apache cfg/retry-mode/adaptive',
  terraform:
    'APN/1.0 HashiCorp/1.0 Terraform/1.11.2 (+https://www.terraform.io) terraform-provider-aws/5.92.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.36.3 ua/2.1 os/linux lang/go#1.23.7 md/GOOS#linux md/GOARCH#amd64',
  ci: 'aws-cli/2.25.2 md/awscrt#0.23.8 ua/2.1 os/linux#6.8.0-1021-azure md/arch#x86_64 lang/python#3.12.9 md/pyimpl#CPython exec-env/GitHubActions cfg/retry-mode#standard',
  grafana: 'aws-sdk-go/1.55.6 (go1.23.6; linux; amd64) Grafana/11.5.2',
} as const;

/** Attacker tooling seen in the public data (OTRF's aws-cli 1.18 from a Mac; a Kali boto3; Stratus' go SDK). */
const ATTACK_AGENTS = [
  '[aws-cli/1.18.136 Python/3.8.5 Darwin/19.5.0 botocore/1.17.59]',
  'Boto3/1.17.46 Python/3.9.2 Linux/5.10.0-kali7-amd64 Botocore/1.20.46',
  'aws-sdk-go-v2/1.30.3 os/linux lang/go#1.22.5 md/GOOS#linux md/GOARCH#amd64 api/ec2#1.171.0',
];

const READ_APIS: [string, string][] = [
  ['iam.amazonaws.com', 'ListUsers'],
  ['iam.amazonaws.com', 'ListRoles'],
  ['iam.amazonaws.com', 'ListPolicies'],
  ['iam.amazonaws.com', 'GetAccountAuthorizationDetails'],
  ['iam.amazonaws.com', 'ListAccessKeys'],
  ['iam.amazonaws.com', 'ListAttachedUserPolicies'],
  ['iam.amazonaws.com', 'GetAccountSummary'],
  ['s3.amazonaws.com', 'ListBuckets'],
  ['s3.amazonaws.com', 'GetBucketPolicy'],
  ['s3.amazonaws.com', 'GetBucketAcl'],
  ['s3.amazonaws.com', 'GetBucketLocation'],
  ['ec2.amazonaws.com', 'DescribeInstances'],
  ['ec2.amazonaws.com', 'DescribeSecurityGroups'],
  ['ec2.amazonaws.com', 'DescribeVpcs'],
  ['ec2.amazonaws.com', 'DescribeSubnets'],
  ['ec2.amazonaws.com', 'DescribeSnapshots'],
  ['ec2.amazonaws.com', 'DescribeImages'],
  ['ec2.amazonaws.com', 'DescribeKeyPairs'],
  ['ec2.amazonaws.com', 'DescribeVolumes'],
  ['lambda.amazonaws.com', 'ListFunctions20150331'],
  ['lambda.amazonaws.com', 'GetFunction20150331v2'],
  ['secretsmanager.amazonaws.com', 'ListSecrets'],
  ['secretsmanager.amazonaws.com', 'DescribeSecret'],
  ['ssm.amazonaws.com', 'DescribeParameters'],
  ['kms.amazonaws.com', 'ListKeys'],
  ['kms.amazonaws.com', 'ListAliases'],
  ['rds.amazonaws.com', 'DescribeDBInstances'],
  ['rds.amazonaws.com', 'DescribeDBSnapshots'],
  ['dynamodb.amazonaws.com', 'ListTables'],
  ['cloudtrail.amazonaws.com', 'DescribeTrails'],
  ['cloudtrail.amazonaws.com', 'GetTrailStatus'],
  ['guardduty.amazonaws.com', 'ListDetectors'],
  ['sns.amazonaws.com', 'ListTopics'],
  ['sqs.amazonaws.com', 'ListQueues'],
  ['logs.amazonaws.com', 'DescribeLogGroups'],
  ['cloudformation.amazonaws.com', 'ListStacks'],
  ['ecr.amazonaws.com', 'DescribeRepositories'],
  ['eks.amazonaws.com', 'ListClusters'],
  ['sts.amazonaws.com', 'GetCallerIdentity'],
];

const WRITE_APIS: [string, string][] = [
  ['ec2.amazonaws.com', 'RunInstances'],
  ['ec2.amazonaws.com', 'CreateVolume'],
  ['ec2.amazonaws.com', 'CreateSnapshot'],
  ['ec2.amazonaws.com', 'AuthorizeSecurityGroupIngress'],
  ['ec2.amazonaws.com', 'CreateKeyPair'],
  ['ec2.amazonaws.com', 'TerminateInstances'],
  ['ec2.amazonaws.com', 'CreateSecurityGroup'],
  ['lambda.amazonaws.com', 'CreateFunction20150331'],
  ['s3.amazonaws.com', 'PutBucketPolicy'],
  ['kms.amazonaws.com', 'ScheduleKeyDeletion'],
  ['rds.amazonaws.com', 'CreateDBSnapshot'],
];

const ERROR_APIS: [string, string, string][] = [
  ['ec2.amazonaws.com', 'RunInstances', 'Client.InstanceLimitExceeded'],
  ['ec2.amazonaws.com', 'RunInstances', 'Server.InsufficientInstanceCapacity'],
  ['ec2.amazonaws.com', 'DescribeInstances', 'Client.RequestLimitExceeded'],
  ['monitoring.amazonaws.com', 'PutMetricData', 'Throttling'],
  ['cloudformation.amazonaws.com', 'CreateStack', 'LimitExceededException'],
  ['lambda.amazonaws.com', 'UpdateFunctionCode20150331v2', 'TooManyRequestsException'],
];

const DENIED: Record<string, [string, string]> = {
  'ec2.amazonaws.com': ['Client.UnauthorizedOperation', 'You are not authorized to perform this operation.'],
  'iam.amazonaws.com': ['AccessDenied', 'User is not authorized to perform this action'],
  's3.amazonaws.com': ['AccessDenied', 'Access Denied'],
};

type Entry = { t: number; rec: RawRecord; lateMinutes?: number };
type Calls = [string, string, number][];

/** Converts local wall-clock times of one zone to UTC with the platform's time-zone data (ICU). */
export class LocalClock {
  private readonly fmt: Intl.DateTimeFormat;

  constructor(
    readonly zone: string,
    private readonly startDay: number,
  ) {
    this.fmt = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
  }

  /** The zone's offset from UTC at instant `t`, ms. */
  offset(t: number): number {
    const p: Record<string, string> = {};
    for (const part of this.fmt.formatToParts(t)) p[part.type] = part.value;
    const wall = Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute, +p.second);
    return wall - Math.floor(t / 1000) * 1000;
  }

  /** UTC instant of `minutes` after local midnight on the local date of scenario day `d`. */
  at(d: number, minutes: number): number {
    const wall = this.startDay + d * DAY + minutes * MIN;
    return wall - this.offset(wall - this.offset(wall));
  }

  /** The local date (YYYY-MM-DD) and weekday (0 Sunday) of scenario day `d`. */
  date(d: number): { ymd: string; dow: number } {
    const t = new Date(this.startDay + d * DAY);
    return { ymd: t.toISOString().slice(0, 10), dow: t.getUTCDay() };
  }
}

/** Defaults for one seed: the start moves by a day per seed so the clock change and holidays fall on other days. */
export function orgOptions(seed: number): OrgOptions {
  return {
    seed,
    days: 21,
    warmupDays: 7,
    startDay: Date.UTC(2026, 2, 16) + (seed % 4) * DAY,
    timeZone: 'Europe/Berlin',
    holidays: ['2026-04-03', '2026-04-06'],
  };
}

interface Human {
  readonly who: Who;
  readonly ip: string;
  readonly sessions: Session[];
  readonly mfa: boolean;
  readonly signinRegion: string;
  /** Chance of working on a working day / on a weekend or holiday. */
  readonly weekday: number;
  readonly weekend: number;
}

interface Job {
  readonly who: Who;
  readonly region: string;
  /** UTC instants of the runs belonging to day `d`. */
  readonly runs: (d: number) => number[];
  readonly calls: (rng: Rng) => Calls;
  readonly ip: string;
  readonly agent: string;
  /** Runs in a Region the account barely uses (a candidate for gap-quiet-region). */
  readonly quiet?: boolean;
  /** A candidate for a classic missed run. */
  readonly gapCandidate?: boolean;
  /** From this day on (when the job first appears). */
  readonly fromDay?: number;
}

type DayKind = 'work' | 'weekend' | 'holiday';

function iso(t: number): string {
  return `${new Date(Math.floor(t / 1000) * 1000).toISOString().slice(0, 19)}Z`;
}

function roleArn(account: string, who: Who): string {
  if (who.kind === 'Root') return `arn:aws:iam::${account}:root`;
  return who.kind === 'IAMUser'
    ? `arn:aws:iam::${account}:user/${who.name}`
    : `arn:aws:iam::${account}:role/${who.name}`;
}

/** One account's three weeks: what happens, what is injected, what is delivered. */
class AccountSim {
  readonly entries = new Map<string, Entry[]>();
  readonly labels: OrgLabel[] = [];
  readonly lookAlikes: LookAlike[] = [];
  readonly humans: Human[] = [];
  readonly jobs: Job[] = [];
  /** Trail stops: [from, to) and whether logging stopped (events lost) or delivery broke (files lost). */
  readonly silences: { from: number; to: number; stopped: boolean }[] = [];
  /** Runs (job index|instant) that do not happen, and jobs stopped for good from an instant on. */
  readonly skipped = new Set<string>();
  readonly stoppedFrom = new Map<number, number>();
  /** Runs whose file is delayed on purpose (a late-file look-alike): job index|instant → minutes. */
  readonly lateRuns = new Map<string, number>();
  readonly attackerIps: string[];
  readonly ciIp: string;
  readonly appIps: string[];
  readonly admin: Who;
  readonly end: number;

  constructor(
    readonly lib: ShapeLibrary,
    readonly rng: Rng,
    readonly acct: OrgAccount,
    readonly opts: OrgOptions,
    readonly clock: LocalClock,
  ) {
    this.end = opts.startDay + opts.days * DAY;
    this.attackerIps = Array.from(
      { length: 6 },
      () => `${rng.pick([45, 91, 146, 185, 194, 5])}.${rng.int(1, 254)}.${rng.int(1, 254)}.${rng.int(1, 254)}`,
    );
    this.ciIp = `3.25${rng.int(0, 4)}.${rng.int(1, 254)}.${rng.int(1, 254)}`;
    this.appIps = Array.from({ length: 4 }, () => `10.20.${rng.int(0, 15)}.${rng.int(2, 254)}`);
    this.admin = {
      kind: 'AssumedRole',
      name: `aws-reserved/sso.amazonaws.com/${HOME}/AWSReservedSSO_AdministratorAccess_${createHash('sha256').update(acct.id).digest('hex').slice(0, 16)}`,
      session: 'lena.vogel@example.com',
    };
  }

  arn(who: Who): string {
    return roleArn(this.acct.id, who);
  }

  dayKind(d: number): DayKind {
    const { ymd, dow } = this.clock.date(d);
    if (this.opts.holidays.includes(ymd)) return 'holiday';
    return dow === 0 || dow === 6 ? 'weekend' : 'work';
  }

  /** Records one call (IAM and the other global services go to us-east-1, as CloudTrail records them). */
  call(who: Who, t: number, source: string, name: string, region: string, extra: Partial<Call> = {}): void {
    if (t < this.opts.startDay || t >= this.end) return;
    const r = GLOBAL_SOURCES.has(source) ? THIRD : region;
    const c: Call = {
      account: this.acct.id,
      region: r,
      time: t,
      who,
      source,
      name,
      ip: '',
      agent: AGENTS.cli,
      ...extra,
    };
    this.push(r, t, this.lib.make(this.rng, c));
  }

  push(region: string, t: number, rec: RawRecord, lateMinutes?: number): void {
    let list = this.entries.get(region);
    if (!list) {
      list = [];
      this.entries.set(region, list);
    }
    list.push(lateMinutes === undefined ? { t, rec } : { t, rec, lateMinutes });
  }

  /** A human's working session replayed from a real grycap session (with a sign-in when it was a console one). */
  session(h: Human, s: Session, t0: number, region: string, calls = s.calls.length): void {
    if (s.console) this.signIn(h, t0 - this.rng.uniform(0.5, 3) * MIN);
    const stretch = this.rng.uniform(0.8, 1.3);
    for (const c of s.calls.slice(0, calls)) {
      if (!this.rng.chance(0.85)) continue;
      const t = t0 + c.offset * stretch + this.rng.normal(0, 5_000);
      if (t < this.opts.startDay || t >= this.end) continue;
      const src = /"eventSource":"([^"]+)"/.exec(c.text)?.[1] ?? '';
      const r = GLOBAL_SOURCES.has(src) ? THIRD : region;
      this.push(
        r,
        t,
        this.lib.replay(this.rng, c, { account: this.acct.id, region: r, time: t, who: h.who, ip: h.ip, agent: '' }),
      );
    }
  }

  /** A console sign-in; sometimes after a typo or two (a benign look-alike of brute force). */
  signIn(h: Human, t: number): void {
    if (this.rng.chance(0.06)) {
      const n = this.rng.int(1, 2);
      for (let i = n; i > 0; i--)
        this.failedLogin(h.who, t - i * this.rng.uniform(10, 40) * 1000, h.signinRegion, h.ip);
      if (t >= this.testStart) {
        this.lookAlikes.push({
          kind: 'login-typo',
          account: this.acct.id,
          regions: [h.signinRegion],
          start: t - 2 * MIN,
          end: t,
          principal: this.arn(h.who),
          note: `${n} mistyped password(s), then a sign-in with MFA ${h.mfa ? 'Yes' : 'No'}`,
        });
      }
    }
    this.login(h.who, t, h.signinRegion, h.ip, h.mfa);
  }

  login(who: Who, t: number, region: string, ip: string, mfa: boolean): void {
    this.call(who, t, 'signin.amazonaws.com', 'ConsoleLogin', region, {
      ip,
      agent: AGENTS.browser,
      response: { ConsoleLogin: 'Success' },
      additional: {
        LoginTo: 'https://console.aws.amazon.com/console/home',
        MobileVersion: 'No',
        MFAUsed: mfa ? 'Yes' : 'No',
      },
    });
  }

  /** A failed sign-in as CloudTrail records it: no errorCode, `ConsoleLogin: Failure`, "Failed authentication". */
  failedLogin(who: Who, t: number, region: string, ip: string): void {
    this.call(who, t, 'signin.amazonaws.com', 'ConsoleLogin', region, {
      ip,
      agent: AGENTS.browser,
      errorMessage: 'Failed authentication',
      response: { ConsoleLogin: 'Failure' },
      additional: {
        LoginTo: 'https://console.aws.amazon.com/console/home?state=hashArgs%23&isauthcode=true',
        MobileVersion: 'No',
        MFAUsed: 'No',
      },
    });
  }

  get testStart(): number {
    return this.opts.startDay + this.opts.warmupDays * DAY;
  }

  /** Emits every job's runs of day `d` (minus skipped ones). */
  runJobs(d: number): void {
    this.jobs.forEach((job, j) => {
      if (job.fromDay !== undefined && d < job.fromDay) return;
      for (const due of job.runs(d)) {
        if (this.skipped.has(`${j}|${due}`)) continue;
        const stop = this.stoppedFrom.get(j);
        if (stop !== undefined && due >= stop) continue;
        const late = this.lateRuns.get(`${j}|${due}`);
        const t0 = due + Math.abs(this.rng.normal(0, 0.7)) * MIN;
        let k = 0;
        for (const [src, name, n] of job.calls(this.rng)) {
          for (let i = 0; i < n; i++) {
            const t = t0 + k++ * this.rng.uniform(0.3, 4) * 1000;
            if (late === undefined) this.call(job.who, t, src, name, job.region, { ip: job.ip, agent: job.agent });
            else if (t >= this.opts.startDay && t < this.end) {
              const r = GLOBAL_SOURCES.has(src) ? THIRD : job.region;
              const rec = this.lib.make(this.rng, {
                account: this.acct.id,
                region: r,
                time: t,
                who: job.who,
                source: src,
                name,
                ip: job.ip,
                agent: job.agent,
              });
              this.push(r, t, rec, late);
            }
          }
        }
      }
    });
  }

  /** All runs of a job that fall inside the scenario, in order. */
  runsOf(j: number): number[] {
    const out: number[] = [];
    for (let d = 0; d < this.opts.days; d++)
      for (const t of this.jobs[j].runs(d)) if (t >= this.opts.startDay && t < this.end) out.push(t);
    return out;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Schedules

const daily =
  (clock: LocalClock, minutes: number) =>
  (d: number): number[] => [clock.at(d, minutes)];
const everyLocal =
  (clock: LocalClock, hours: number, minute: number) =>
  (d: number): number[] =>
    Array.from({ length: 24 / hours }, (_, i) => clock.at(d, i * hours * 60 + minute));
const everyUtc =
  (startDay: number, periodMinutes: number, offset: number) =>
  (d: number): number[] =>
    Array.from(
      { length: (24 * 60) / periodMinutes },
      (_, i) => startDay + d * DAY + (offset + i * periodMinutes) * MIN,
    );

// ---------------------------------------------------------------------------------------------------------------
// Characters

function pickSessions(sim: AccountSim, max: number, n: number, maxWrites = Number.POSITIVE_INFINITY): Session[] {
  const pool = sim.lib.sessions.filter((s) => s.calls.length >= 5 && s.calls.length <= max && s.writes <= maxWrites);
  return sim.rng.sample(pool, n);
}

function addHumans(
  sim: AccountSim,
  prefix: string,
  names: string[],
  max: number,
  weekday: number,
  weekend: number,
  maxWrites?: number,
): void {
  const { rng } = sim;
  names.forEach((name, i) => {
    sim.humans.push({
      who: { kind: 'IAMUser', name: `${prefix}${name}` },
      ip: i % 2 === 0 ? `198.51.100.${rng.int(10, 40)}` : `203.0.113.${rng.int(10, 200)}`,
      sessions: pickSessions(sim, max, rng.int(2, 3), maxWrites),
      // The first person of each account signs in without MFA (a legacy user): a success without MFA is normal for them.
      mfa: i > 0,
      signinRegion: rng.chance(0.7) ? THIRD : HOME,
      weekday,
      weekend,
    });
  });
}

function setUp(sim: AccountSim): void {
  const { rng, clock, acct, opts } = sim;
  const role = (name: string): Who => ({ kind: 'AssumedRole', name });
  const c = acct.character;
  if (c === 'sandbox') {
    addHumans(sim, 'dev-', rng.sample(['jonas', 'mara', 'ole', 'pia', 'tim'], 2), 400, 0.45, 0.04);
    sim.jobs.push({
      who: role('budget-guard'),
      region: THIRD,
      runs: daily(clock, 7 * 60),
      calls: () => [['ce.amazonaws.com', 'GetCostAndUsage', 1]],
      ip: `3.${rng.int(80, 95)}.${rng.int(1, 254)}.${rng.int(1, 254)}`,
      agent: AGENTS.lambda,
      quiet: true,
    });
    sim.jobs.push({
      who: role('lab-cleanup'),
      region: SECOND,
      runs: daily(clock, 23 * 60 + 30),
      calls: (r) => [
        ['ec2.amazonaws.com', 'DescribeInstances', 1],
        ['ec2.amazonaws.com', 'DescribeVolumes', 1],
        ['ec2.amazonaws.com', 'DescribeSnapshots', 1],
        ['ec2.amazonaws.com', 'TerminateInstances', r.chance(0.2) ? 1 : 0],
      ],
      ip: `3.${rng.int(120, 127)}.${rng.int(1, 254)}.${rng.int(1, 254)}`,
      agent: AGENTS.lambda,
      quiet: true,
    });
  } else if (c === 'production') {
    addHumans(sim, 'ops-', rng.sample(['anna', 'ben', 'clara', 'deniz', 'emil'], 3), 1000, 0.7, 0.1);
    sim.jobs.push({
      who: role('governance-hourly'),
      region: HOME,
      runs: everyUtc(opts.startDay, 60, rng.int(0, 59)),
      calls: () => [
        ['ec2.amazonaws.com', 'DescribeInstances', 1],
        ['ec2.amazonaws.com', 'DescribeVolumes', 1],
        ['s3.amazonaws.com', 'ListBuckets', 1],
        ['ec2.amazonaws.com', 'DescribeSecurityGroups', 1],
      ],
      ip: sim.appIps[0],
      agent: AGENTS.lambda,
      gapCandidate: true,
    });
    sim.jobs.push({
      who: role('ops-report'),
      region: HOME,
      runs: everyLocal(clock, 6, rng.int(0, 59)),
      calls: () => [
        ['ssm.amazonaws.com', 'SendCommand', 1],
        ['ssm.amazonaws.com', 'ListCommandInvocations', 3],
      ],
      ip: sim.appIps[1],
      agent: AGENTS.lambda,
      gapCandidate: true,
    });
    sim.jobs.push({
      who: role('dr-snapshot-copy'),
      region: SECOND,
      runs: daily(clock, 3 * 60 + rng.int(0, 20)),
      calls: (r) => {
        const n = r.int(3, 5);
        return [
          ['ec2.amazonaws.com', 'DescribeSnapshots', 2],
          ['ec2.amazonaws.com', 'CopySnapshot', n],
          ['ec2.amazonaws.com', 'DeleteSnapshot', n],
        ];
      },
      ip: sim.appIps[2],
      agent: AGENTS.lambda,
      quiet: true,
    });
  } else if (c === 'cicd') {
    addHumans(sim, 'platform-', rng.sample(['farid', 'greta', 'hugo', 'ines'], 2), 600, 0.5, 0.05);
    sim.jobs.push({
      who: role('ci-nightly'),
      region: HOME,
      runs: daily(clock, 60 + rng.int(0, 15)),
      calls: (r) => [
        ['sts.amazonaws.com', 'GetCallerIdentity', 1],
        ['ecr.amazonaws.com', 'GetAuthorizationToken', 1],
        ['ecr.amazonaws.com', 'BatchCheckLayerAvailability', r.int(6, 12)],
        ['ecr.amazonaws.com', 'PutImage', 1],
        ['cloudformation.amazonaws.com', 'DescribeStacks', r.int(4, 8)],
        ['cloudformation.amazonaws.com', 'DescribeStackEvents', r.int(6, 14)],
      ],
      ip: sim.ciIp,
      agent: AGENTS.ci,
      gapCandidate: true,
    });
    sim.jobs.push({
      who: role('ecr-cleanup'),
      region: HOME,
      runs: everyUtc(opts.startDay, 60, rng.int(0, 59)),
      calls: (r) => [
        ['ecr.amazonaws.com', 'DescribeRepositories', 2],
        ['ecr.amazonaws.com', 'ListImages', 3],
        ['ecr.amazonaws.com', 'BatchDeleteImage', r.chance(0.3) ? r.int(1, 2) : 0],
      ],
      ip: sim.appIps[0],
      agent: AGENTS.lambda,
      gapCandidate: true,
    });
    sim.jobs.push({
      who: role('ecr-replication-check'),
      region: SECOND,
      runs: daily(clock, 4 * 60 + rng.int(0, 30)),
      calls: () => [
        ['ecr.amazonaws.com', 'DescribeRepositories', 1],
        ['ecr.amazonaws.com', 'DescribeImages', 2],
      ],
      ip: sim.appIps[1],
      agent: AGENTS.lambda,
      quiet: true,
    });
  } else {
    addHumans(sim, 'sre-', rng.sample(['jana', 'kai', 'lars', 'mia'], 2), 700, 0.6, 0.15, 5);
    const grafana: Who = role('grafana-cloudwatch');
    sim.jobs.push({
      who: grafana,
      region: HOME,
      runs: everyUtc(opts.startDay, 5, rng.int(0, 4)),
      calls: () => [
        ['monitoring.amazonaws.com', 'GetMetricData', 2],
        ['monitoring.amazonaws.com', 'DescribeAlarms', 1],
      ],
      ip: sim.appIps[0],
      agent: AGENTS.grafana,
    });
    sim.jobs.push({
      who: grafana,
      region: SECOND,
      runs: everyUtc(opts.startDay, 15, rng.int(0, 14)),
      calls: () => [['monitoring.amazonaws.com', 'GetMetricData', 1]],
      ip: sim.appIps[0],
      agent: AGENTS.grafana,
    });
    const inventory = rng.sample(READ_APIS, rng.int(22, 30));
    sim.jobs.push({
      who: role('config-inventory'),
      region: HOME,
      runs: everyUtc(opts.startDay, 60, rng.int(0, 59)),
      calls: (r) => inventory.filter(() => r.chance(0.9)).map(([s, n]) => [s, n, 1] as [string, string, number]),
      ip: sim.appIps[1],
      agent: AGENTS.lambda,
      gapCandidate: true,
    });
    sim.jobs.push({
      who: role('cost-report'),
      region: HOME,
      runs: everyLocal(clock, 6, rng.int(0, 59)),
      calls: () => [
        ['ce.amazonaws.com', 'GetCostAndUsage', 1],
        ['monitoring.amazonaws.com', 'GetMetricStatistics', 10],
      ],
      ip: sim.appIps[2],
      agent: AGENTS.lambda,
      gapCandidate: true,
    });
    sim.jobs.push({
      who: role('canary-check'),
      region: SECOND,
      runs: daily(clock, 3 * 60 + 30),
      calls: () => [
        ['synthetics.amazonaws.com', 'DescribeCanariesLastRun', 1],
        ['monitoring.amazonaws.com', 'GetMetricData', 1],
      ],
      ip: sim.appIps[3],
      agent: AGENTS.lambda,
      quiet: true,
    });
  }
}

/** What the account does on day `d` besides its jobs. */
function liveDay(sim: AccountSim, d: number, plan: DayPlan): void {
  const { rng, clock, acct } = sim;
  const kind = sim.dayKind(d);
  const quiet = kind !== 'work';
  for (const h of sim.humans) {
    if (h === plan.usEastSession) {
      // The look-alike: this person works briefly in us-east-1 (the console's default) with their usual APIs.
      const s = rng.pick(h.sessions);
      const start = clock.at(d, rng.uniform(9, 16) * 60);
      const calls = Math.min(s.calls.length, rng.int(15, 60));
      sim.session(h, s, start, THIRD, calls);
      sim.lookAlikes.push({
        kind: 'us-east-1-session',
        account: acct.id,
        regions: [THIRD],
        start,
        end: start + s.calls[calls - 1].offset * 1.3 + 5 * MIN,
        principal: sim.arn(h.who),
        note: `${h.who.name} works ${calls} calls in us-east-1 with the APIs of their usual sessions`,
      });
      continue;
    }
    if (!rng.chance(quiet ? h.weekend : h.weekday)) continue;
    const s = rng.pick(h.sessions);
    const start = clock.at(d, rng.uniform(8.5, quiet ? 20 : 17) * 60);
    sim.session(h, s, start, rng.chance(0.1) ? SECOND : HOME);
  }
  adminWork(sim, d, plan);
  if (acct.character === 'production') productionDay(sim, d, kind);
  if (acct.character === 'cicd') cicdDay(sim, d, kind);
  if (
    (acct.character === 'production' && clock.date(d).dow === 2) ||
    (acct.character === 'cicd' && clock.date(d).dow === 3)
  ) {
    if (kind === 'work') terraformApply(sim, d);
  }
}

/** The platform admin's IAM work through SSO: small maintenance some days, an onboarding now and then. */
function adminWork(sim: AccountSim, d: number, plan: DayPlan): void {
  const { rng, clock, admin, acct } = sim;
  if (acct.character === 'monitoring' && !plan.onboarding) {
    if (sim.dayKind(d) === 'work' && rng.chance(0.1)) maintenance();
    return;
  }
  if (sim.dayKind(d) === 'work' && rng.chance(0.3)) maintenance();
  if (plan.onboarding) {
    const t0 = clock.at(d, rng.uniform(9.5, 16) * 60);
    const users = rng.int(2, 4);
    let t = t0;
    let n = 0;
    const step = (name: string): void => {
      t += rng.uniform(10, 70) * 1000;
      sim.call(admin, t, 'iam.amazonaws.com', name, HOME, { ip: '198.51.100.11', agent: AGENTS.browser });
      n++;
    };
    for (let u = 0; u < users; u++) {
      step('CreateUser');
      step('TagUser');
      if (acct.character !== 'cicd') step('CreateLoginProfile');
      step('AddUserToGroup');
      if (rng.chance(0.6)) step('AttachUserPolicy');
      if (acct.character === 'cicd' || rng.chance(0.4)) step('CreateAccessKey');
    }
    if (t0 >= sim.testStart) {
      sim.lookAlikes.push({
        kind: 'onboarding',
        account: acct.id,
        regions: [THIRD],
        start: t0,
        end: t,
        principal: sim.arn(admin),
        note: `${users} users onboarded by the usual admin (${n} IAM writes)`,
      });
    }
  }

  function maintenance(): void {
    const t0 = clock.at(d, rng.uniform(9, 17) * 60);
    const calls: Calls = [
      ['iam.amazonaws.com', 'ListUsers', 1],
      ['iam.amazonaws.com', 'GetUser', rng.int(1, 4)],
      ['iam.amazonaws.com', 'ListAttachedUserPolicies', rng.int(1, 3)],
      ['iam.amazonaws.com', 'ListAccessKeys', rng.int(0, 2)],
      ['iam.amazonaws.com', 'AttachUserPolicy', rng.chance(0.3) ? 1 : 0],
      ['iam.amazonaws.com', 'UpdateAccessKey', rng.chance(0.2) ? 1 : 0],
    ];
    let t = t0;
    for (const [s, n, k] of calls)
      for (let i = 0; i < k; i++) {
        t += rng.uniform(5, 60) * 1000;
        sim.call(admin, t, s, n, HOME, { ip: '198.51.100.11', agent: AGENTS.browser });
      }
  }
}

/** The production workload: S3 data events of the API, a nightly ETL, the reports reader, the real service roles. */
function productionDay(sim: AccountSim, d: number, kind: DayKind): void {
  const { rng, clock, acct, lib } = sim;
  const api: Who = { kind: 'AssumedRole', name: 'orders-api-task', session: 'ecs-task-7f3a' };
  const bucket = `orders-${acct.id}-prod`;
  const object = (op: string, who: Who, t: number, ip: string, agent: string, key: string, b = bucket): void =>
    sim.call(who, t, 's3.amazonaws.com', op, HOME, {
      ip,
      agent,
      request: { bucketName: b, Host: `${b}.s3.${HOME}.amazonaws.com`, key },
      resources: [
        { type: 'AWS::S3::Object', ARN: `arn:aws:s3:::${b}/${key}` },
        { type: 'AWS::S3::Bucket', ARN: `arn:aws:s3:::${b}`, accountId: acct.id },
      ],
      additional: {
        SignatureVersion: 'SigV4',
        CipherSuite: 'TLS_AES_128_GCM_SHA256',
        bytesTransferredIn: op === 'PutObject' ? rng.int(800, 40_000) : 0,
        bytesTransferredOut: op === 'GetObject' ? rng.int(800, 40_000) : 0,
        AuthenticationMethod: 'AuthHeader',
        'x-amz-id-2': rng.token(),
      },
    });
  // The API: requests follow the local day (busy 8-20 h, some evening, little at night); weekends and holidays 60 %.
  for (let m = 0; m < 24 * 60; m += 5) {
    const hour = m / 60;
    const perMin = (hour >= 8 && hour < 20 ? 2 : hour >= 20 || hour < 1 ? 0.8 : 0.25) * (kind === 'work' ? 1 : 0.6);
    const n = rng.poisson(perMin * 5);
    for (let i = 0; i < n; i++) {
      const t = clock.at(d, m + rng.uniform(0, 5));
      const ip = rng.pick(sim.appIps);
      const key = `orders/${new Date(t).toISOString().slice(0, 10).replace(/-/g, '/')}/${rng.uuid()}.json`;
      if (rng.chance(0.65)) {
        object('GetObject', api, t, ip, AGENTS.java, key);
        if (rng.chance(0.3)) sim.call(api, t, 'kms.amazonaws.com', 'Decrypt', HOME, { ip, agent: AGENTS.java });
      } else {
        sim.call(api, t - 200, 'kms.amazonaws.com', 'GenerateDataKey', HOME, { ip, agent: AGENTS.java });
        object('PutObject', api, t, ip, AGENTS.java, key);
      }
    }
  }
  // The nightly ETL reads thousands of objects (a benign look-alike of exfiltration).
  const etl: Who = { kind: 'AssumedRole', name: 'etl-nightly', session: 'glue-job-run' };
  const e0 = clock.at(d, 2 * 60 + rng.normal(0, 3));
  const reads = rng.int(2000, 5000);
  const dur = rng.uniform(25, 40) * MIN;
  for (let i = 0; i < reads; i++) {
    const t = e0 + (i / reads) * dur + rng.uniform(0, 2000);
    object('GetObject', etl, t, '10.20.8.15', AGENTS.java, `orders/${rng.uuid()}.json`);
    if (i % 100 === 0) sim.call(etl, t, 'kms.amazonaws.com', 'Decrypt', HOME, { ip: '10.20.8.15', agent: AGENTS.java });
  }
  for (let i = rng.int(10, 30); i > 0; i--) {
    object(
      'PutObject',
      etl,
      e0 + dur + rng.uniform(0, 3) * MIN,
      '10.20.8.15',
      AGENTS.java,
      `warehouse/part-${rng.int(0, 9999)}.parquet`,
    );
  }
  if (e0 >= sim.testStart) {
    sim.lookAlikes.push({
      kind: 'etl-nightly-reads',
      account: acct.id,
      regions: [HOME],
      start: e0,
      end: e0 + dur + 3 * MIN,
      principal: sim.arn(etl),
      note: `${reads} GetObject by the nightly ETL`,
    });
  }
  // A reports job reads a few objects every morning: a principal that "reads a few".
  const reports: Who = { kind: 'AssumedRole', name: 'reports-reader' };
  const r0 = clock.at(d, 6 * 60 + rng.uniform(0, 10));
  for (let i = rng.int(5, 20); i > 0; i--) {
    object(
      'GetObject',
      reports,
      r0 + rng.uniform(0, 4) * MIN,
      sim.appIps[3],
      AGENTS.lambda,
      `reports/daily/${rng.int(1, 400)}.csv`,
    );
  }
  // The service roles of the real grycap day (OpsWorks, Lambda, EMR, Cloud Custodian, Beanstalk), on local time.
  for (const p of backgroundPrincipals(lib)) {
    if (!rng.chance(kind === 'work' ? 0.95 : 0.7)) continue;
    const shift = rng.normal(0, 20) * MIN;
    for (const call of p.calls) {
      if (!rng.chance(0.9)) continue;
      const t = clock.at(d, call.offset / MIN) + shift;
      if (t < sim.opts.startDay || t >= sim.end) continue;
      sim.push(
        HOME,
        t,
        lib.replay(
          rng,
          call,
          {
            account: acct.id,
            region: HOME,
            time: t,
            who: { kind: 'IAMUser', name: 'unused' },
            ip: sim.appIps[0],
            agent: '',
          },
          true,
        ),
      );
    }
  }
}

let background: { principal: string; calls: Session['calls'] }[] | undefined;

/** Service principals of the grycap day (roles and AWS services), offsets from midnight. */
function backgroundPrincipals(lib: ShapeLibrary): { principal: string; calls: Session['calls'] }[] {
  background ??= lib.serviceDay();
  return background;
}

/** The CI/CD workload: pipeline runs on working days (a few on weekends), each 40-80 calls in 6-10 minutes. */
function cicdDay(sim: AccountSim, d: number, kind: DayKind): void {
  const { rng, clock } = sim;
  const runner: Who = { kind: 'AssumedRole', name: 'ci-runner', session: `gha-${rng.int(1e8, 9e8)}` };
  const runs = rng.poisson(kind === 'work' ? 12 : 0.8);
  for (let k = 0; k < runs; k++) {
    const t0 = clock.at(d, rng.uniform(8, 19) * 60);
    const region = rng.chance(0.1) ? SECOND : HOME;
    const calls: Calls = [
      ['sts.amazonaws.com', 'GetCallerIdentity', 1],
      ['ecr.amazonaws.com', 'GetAuthorizationToken', 1],
      ['ecr.amazonaws.com', 'BatchCheckLayerAvailability', rng.int(5, 15)],
      ['ecr.amazonaws.com', 'InitiateLayerUpload', rng.int(0, 3)],
      ['ecr.amazonaws.com', 'CompleteLayerUpload', rng.int(0, 3)],
      ['ecr.amazonaws.com', 'PutImage', 1],
      ['cloudformation.amazonaws.com', 'DescribeStacks', rng.int(3, 8)],
      ['cloudformation.amazonaws.com', 'CreateChangeSet', 1],
      ['cloudformation.amazonaws.com', 'DescribeChangeSet', rng.int(2, 5)],
      ['cloudformation.amazonaws.com', 'ExecuteChangeSet', 1],
      ['cloudformation.amazonaws.com', 'DescribeStackEvents', rng.int(10, 30)],
      ['lambda.amazonaws.com', 'UpdateFunctionCode20150331v2', rng.int(0, 3)],
    ];
    const dur = rng.uniform(6, 10) * MIN;
    let i = 0;
    const total = calls.reduce((s, c) => s + c[2], 0);
    for (const [s, n, c] of calls)
      for (let j = 0; j < c; j++)
        sim.call(runner, t0 + (i++ / total) * dur, s, n, region, { ip: sim.ciIp, agent: AGENTS.ci });
  }
}

/** The weekly Terraform apply of the usual deploy role: a plan's reads, then a burst of provisioning and IAM writes. */
function terraformApply(sim: AccountSim, d: number): void {
  const { rng, clock, acct } = sim;
  const tf: Who = { kind: 'AssumedRole', name: 'terraform-deploy', session: 'atlantis' };
  const t0 = clock.at(d, 10 * 60 + rng.normal(0, 30) + (acct.character === 'cicd' ? 4 * 60 : 0));
  const reads = rng.int(80, 200);
  let t = t0;
  const readApis = READ_APIS.filter(([s]) => s !== 'sts.amazonaws.com');
  for (let i = 0; i < reads; i++) {
    const [s, n] = readApis[i % readApis.length];
    sim.call(tf, t0 + rng.uniform(0, 3) * MIN, s, n, HOME, { ip: sim.ciIp, agent: AGENTS.terraform });
  }
  t = t0 + 3 * MIN;
  const writes: [string, string][] = [
    ['iam.amazonaws.com', 'CreateRole'],
    ['iam.amazonaws.com', 'PutRolePolicy'],
    ['iam.amazonaws.com', 'AttachRolePolicy'],
    ['iam.amazonaws.com', 'CreatePolicyVersion'],
    ['iam.amazonaws.com', 'TagRole'],
    ['ec2.amazonaws.com', 'CreateSecurityGroup'],
    ['ec2.amazonaws.com', 'AuthorizeSecurityGroupIngress'],
    ['ec2.amazonaws.com', 'CreateLaunchTemplateVersion'],
    ['ec2.amazonaws.com', 'CreateTags'],
    ['autoscaling.amazonaws.com', 'UpdateAutoScalingGroup'],
    ['s3.amazonaws.com', 'PutBucketPolicy'],
    ['logs.amazonaws.com', 'CreateLogGroup'],
    ['logs.amazonaws.com', 'PutRetentionPolicy'],
    ['lambda.amazonaws.com', 'UpdateFunctionConfiguration20150331v2'],
  ];
  const n = rng.int(20, 60);
  for (let i = 0; i < n; i++) {
    const [s, name] = rng.pick(writes);
    sim.call(tf, t + rng.uniform(0, 5) * MIN, s, name, HOME, { ip: sim.ciIp, agent: AGENTS.terraform });
  }
  if (t0 >= sim.testStart) {
    sim.lookAlikes.push({
      kind: 'terraform-apply',
      account: acct.id,
      regions: [HOME, THIRD],
      start: t0,
      end: t0 + 8 * MIN,
      principal: sim.arn(tf),
      note: `weekly apply: ${reads} reads, ${n} provisioning/IAM writes`,
    });
  }
}

/** A new CI job (integration tests twice a working day) appears on a test day and keeps running. */
function newCiJob(sim: AccountSim, fromDay: number): void {
  const { clock } = sim;
  const who: Who = { kind: 'AssumedRole', name: 'ci-integration-tests' };
  const j = sim.jobs.length;
  sim.jobs.push({
    who,
    region: HOME,
    runs: (d) => (sim.dayKind(d) === 'work' ? [clock.at(d, 11 * 60), clock.at(d, 15 * 60)] : []),
    calls: (r) => [
      ['sts.amazonaws.com', 'GetCallerIdentity', 1],
      ['cloudformation.amazonaws.com', 'CreateStack', 1],
      ['cloudformation.amazonaws.com', 'DescribeStacks', r.int(5, 10)],
      ['cloudformation.amazonaws.com', 'DescribeStackEvents', r.int(5, 15)],
      ['lambda.amazonaws.com', 'GetFunction20150331v2', 2],
      ['cloudformation.amazonaws.com', 'DeleteStack', 1],
    ],
    ip: sim.ciIp,
    agent: AGENTS.ci,
    fromDay,
  });
  for (const t of sim.runsOf(j)) {
    sim.lookAlikes.push({
      kind: 'new-ci-job',
      account: sim.acct.id,
      regions: [HOME],
      start: t,
      end: t + 5 * MIN,
      principal: sim.arn(who),
      note: 'a new CI job (integration tests) runs',
    });
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Injections

interface DayPlan {
  kinds: OrgKind[];
  onboarding?: boolean;
  usEastSession?: Human;
}

const KINDS_BY_CHARACTER: Record<Character, OrgKind[]> = {
  sandbox: [
    'mining',
    'console-brute-force',
    'low-and-slow',
    'recon-split',
    'denied-split',
    'gap-quiet-region',
    'trail-stopped',
    'iam-burst',
    'recon',
    'access-denied',
  ],
  production: [
    's3-exfiltration',
    'mining',
    'console-brute-force',
    'low-and-slow',
    's3-exfiltration',
    'recon-split',
    'denied-split',
    'gap-quiet-region',
    's3-exfiltration',
    'trail-stopped',
    'call-rate',
    'error-rate',
    'gap',
  ],
  cicd: [
    'mining',
    'low-and-slow',
    'recon-split',
    'denied-split',
    'gap-quiet-region',
    'trail-stopped',
    'call-rate',
    'error-rate',
    'iam-burst',
    'gap',
  ],
  monitoring: [
    'mining',
    'console-brute-force',
    'recon-split',
    'denied-split',
    'gap-quiet-region',
    'trail-stopped',
    'access-denied',
    'recon',
    'gap',
    'error-rate',
  ],
};

/** The principals an attacker may hold in this account (stolen keys or sessions), plus a new one now and then. */
function suspect(sim: AccountSim): Who {
  const { rng, acct } = sim;
  const known: Who[] = sim.humans.map((h) => h.who);
  if (acct.character === 'cicd') known.push({ kind: 'AssumedRole', name: 'ci-runner', session: 'gha-stolen' });
  if (acct.character === 'production')
    known.push({ kind: 'AssumedRole', name: 'terraform-deploy', session: 'atlantis' });
  if (rng.chance(0.7)) return rng.pick(known);
  return rng.chance(0.5)
    ? { kind: 'IAMUser', name: `svc-${rng.pick(['backup', 'deploy', 'legacy', 'batch'])}-${rng.int(10, 99)}` }
    : { kind: 'AssumedRole', name: `ops-${rng.pick(['automation', 'breakglass', 'migration'])}-${rng.int(10, 99)}` };
}

function inject(sim: AccountSim, d: number, kind: OrgKind): void {
  const { rng, clock, acct } = sim;
  const day0 = sim.opts.startDay + d * DAY;
  const id = `${acct.id}-${d}-${kind}`;
  const base = { id, kind, detector: EXPECTED_DETECTOR[kind], account: acct.id };
  const label = (l: Omit<OrgLabel, 'id' | 'kind' | 'detector' | 'account'>): void => {
    sim.labels.push({ ...base, ...l });
  };
  const at = day0 + rng.uniform(0.5, 21.5) * HOUR;
  const who = suspect(sim);
  const ip = rng.pick(sim.attackerIps);
  const agent = rng.pick(ATTACK_AGENTS);
  const regionsOf = (calls: [number, string, string, string][]): string[] => [...new Set(calls.map((c) => c[3]))];

  if (kind === 'mining') {
    const region =
      rng.chance(0.65) || acct.character === 'sandbox'
        ? rng.pick(UNUSED_REGIONS)
        : acct.character === 'monitoring' && rng.chance(0.5)
          ? SECOND
          : THIRD;
    const setup = rng.sample(
      [
        'DescribeRegions',
        'DescribeImages',
        'DescribeVpcs',
        'DescribeSubnets',
        'DescribeSecurityGroups',
        'CreateSecurityGroup',
        'AuthorizeSecurityGroupIngress',
        'ImportKeyPair',
        'DescribeInstanceTypeOfferings',
      ],
      rng.int(3, 7),
    );
    let t = at;
    for (const name of setup) {
      t += rng.uniform(10, 90) * 1000;
      sim.call(who, t, 'ec2.amazonaws.com', name, region, { ip, agent });
    }
    const runs = rng.int(3, 6);
    const type = rng.pick(['p3.2xlarge', 'g4dn.12xlarge', 'c5.9xlarge', 'p2.xlarge', 'g5.4xlarge']);
    const hex = (n: number): string => rng.uuid().replace(/-/g, '').slice(0, n);
    const imageId = `ami-0${hex(16)}`;
    for (let i = 0; i < runs; i++) {
      t += rng.uniform(15, 120) * 1000;
      const count = rng.int(1, 4);
      // The request of Stratus Red Team's ec2-launch-unusual-instances detonation (which was denied); the
      // response of a successful grycap RunInstances, with the instances this request asked for.
      sim.call(who, t, 'ec2.amazonaws.com', 'RunInstances', region, {
        ip,
        agent,
        request: {
          instancesSet: { items: [{ imageId, minCount: 1, maxCount: count }] },
          instanceType: type,
          blockDeviceMapping: {},
          monitoring: { enabled: false },
          disableApiTermination: false,
          disableApiStop: false,
          clientToken: rng.uuid(),
        },
        response: {
          requestId: rng.uuid(),
          reservationId: `r-0${hex(16)}`,
          ownerId: acct.id,
          groupSet: {},
          instancesSet: {
            items: Array.from({ length: count }, (_, k) => ({
              instanceId: `i-0${hex(16)}`,
              imageId,
              instanceState: { code: 0, name: 'pending' },
              amiLaunchIndex: k,
              productCodes: {},
              instanceType: type,
              launchTime: Math.floor(t / 1000) * 1000,
              placement: { availabilityZone: `${region}a`, tenancy: 'default' },
              monitoring: { state: 'disabled' },
            })),
          },
        },
      });
    }
    label({
      regions: [region],
      start: at,
      end: t,
      principal: sim.arn(who),
      eventNames: [...setup, 'RunInstances'],
      size: runs,
      note: `${setup.length} setup calls, ${runs} RunInstances (${type}) in ${region} by ${who.name}`,
    });
  } else if (kind === 's3-exfiltration') {
    // A principal that never reads objects (people, Terraform) or reads a few (the reports job), from a new IP.
    const reader: Who = rng.pick<Who>([
      ...sim.humans.map((h) => h.who),
      { kind: 'AssumedRole', name: 'terraform-deploy', session: 'atlantis' },
      { kind: 'AssumedRole', name: 'reports-reader' },
    ]);
    const n = Math.round(rng.logUniform(150, 800));
    const dur = rng.uniform(10, 60) * MIN;
    const bucket = `orders-${acct.id}-prod`;
    sim.call(reader, at - 2 * MIN, 's3.amazonaws.com', 'ListBuckets', HOME, { ip, agent });
    const lists = rng.int(1, 4);
    for (let i = 0; i < lists; i++) {
      sim.call(reader, at - MIN + i * 5000, 's3.amazonaws.com', 'ListObjects', HOME, {
        ip,
        agent,
        request: { bucketName: bucket, Host: `${bucket}.s3.${HOME}.amazonaws.com`, prefix: '', 'list-type': '2' },
      });
    }
    for (let i = 0; i < n; i++) {
      const key = `orders/${rng.int(2024, 2026)}/${String(rng.int(1, 12)).padStart(2, '0')}/${rng.uuid()}.json`;
      sim.call(reader, at + (i / n) * dur + rng.uniform(0, 3000), 's3.amazonaws.com', 'GetObject', HOME, {
        ip,
        agent,
        request: { bucketName: bucket, Host: `${bucket}.s3.${HOME}.amazonaws.com`, key },
        resources: [
          { type: 'AWS::S3::Object', ARN: `arn:aws:s3:::${bucket}/${key}` },
          { type: 'AWS::S3::Bucket', ARN: `arn:aws:s3:::${bucket}`, accountId: acct.id },
        ],
      });
    }
    label({
      regions: [HOME],
      start: at - 2 * MIN,
      end: at + dur,
      principal: sim.arn(reader),
      eventNames: ['GetObject', 'ListObjects', 'ListBuckets'],
      size: n,
      note: `${n} GetObject in ${Math.round(dur / MIN)} min by ${reader.name} from ${ip}`,
    });
  } else if (kind === 'console-brute-force') {
    const target = sim.humans.find((h) => !h.mfa) ?? sim.humans[0];
    const n = rng.int(8, 16);
    const dur = rng.uniform(3, 20) * MIN;
    const ips = rng.sample(sim.attackerIps, rng.int(1, 3));
    for (let i = 0; i < n; i++)
      sim.failedLogin(target.who, at + (i / n) * dur + rng.uniform(0, 10_000), target.signinRegion, rng.pick(ips));
    const success = at + dur + rng.uniform(1, 10) * MIN;
    sim.login(target.who, success, target.signinRegion, ips[0], false);
    for (let i = rng.int(0, 8); i > 0; i--) {
      const [s, name] = rng.pick(READ_APIS);
      sim.call(target.who, success + rng.uniform(0.5, 10) * MIN, s, name, HOME, { ip: ips[0], agent: AGENTS.browser });
    }
    label({
      regions: [target.signinRegion],
      start: at,
      end: success,
      principal: sim.arn(target.who),
      eventNames: ['ConsoleLogin'],
      size: n + 1,
      note: `${n} failed ConsoleLogin from ${ips.length} IP(s) in ${Math.round(dur / MIN)} min, then a success without MFA`,
    });
  } else if (kind === 'low-and-slow') {
    const region = rng.chance(0.7) ? HOME : SECOND;
    const total = rng.int(30, 45);
    const useOwn = rng.chance(0.5);
    let n = 0;
    let bin = 0;
    let last = at;
    // 4-7 per 10 minutes until the total is reached (60-90 minutes).
    while (n < total) {
      const k = Math.min(total - n, rng.int(4, 7));
      for (let i = 0; i < k; i++) {
        last = at + (bin * 10 + rng.uniform(0, 10)) * MIN;
        sim.call(who, last, 'ec2.amazonaws.com', 'RunInstances', region, {
          ip: useOwn ? sim.ciIp : ip,
          agent: useOwn ? AGENTS.cli : agent,
        });
      }
      n += k;
      bin++;
    }
    label({
      regions: [region],
      start: at,
      end: last,
      principal: sim.arn(who),
      eventNames: ['RunInstances'],
      size: total,
      note: `${total} RunInstances over ${bin * 10} min in ${region} by ${who.name}`,
    });
  } else if (kind === 'recon-split' || kind === 'denied-split' || kind === 'recon' || kind === 'access-denied') {
    const denied = kind === 'denied-split' || kind === 'access-denied';
    const split = kind === 'recon-split' || kind === 'denied-split';
    const pool = denied ? [...READ_APIS, ...WRITE_APIS].filter(([s]) => s !== 'sts.amazonaws.com') : READ_APIS;
    const apis = rng.sample(pool, denied ? rng.int(4, 15) : rng.int(12, 30));
    const n = Math.max(apis.length, Math.round(denied ? rng.logUniform(10, 50) : rng.logUniform(30, 120)));
    const dur = rng.uniform(denied ? 3 : 5, denied ? 15 : 25) * MIN;
    const share = rng.uniform(0.35, 0.65);
    const calls: [number, string, string, string][] = [];
    for (let i = 0; i < n; i++) {
      const [s, name] = i < apis.length ? apis[i] : rng.pick(apis);
      const region = GLOBAL_SOURCES.has(s) ? THIRD : split && rng.chance(share) ? SECOND : HOME;
      const t = at + rng.uniform(0, dur);
      calls.push([t, s, name, region]);
      const [code, message] = DENIED[s] ?? [
        'AccessDenied',
        `User is not authorized to perform: ${s.split('.')[0]}:${name}`,
      ];
      sim.call(who, t, s, name, region, { ip, agent, ...(denied ? { errorCode: code, errorMessage: message } : {}) });
    }
    label({
      regions: regionsOf(calls),
      start: at,
      end: at + dur,
      principal: sim.arn(who),
      eventNames: [...new Set(calls.map((c) => c[2]))],
      size: n,
      note: `${n} ${denied ? 'denied calls' : 'reads'} on ${new Set(calls.map((c) => c[2])).size} APIs in ${Math.round(dur / MIN)} min over ${regionsOf(calls).join('+')} by ${who.name}`,
    });
  } else if (kind === 'call-rate') {
    const [s, name] = rng.pick(WRITE_APIS);
    const n = Math.round(rng.logUniform(8, 60));
    const dur = rng.uniform(2, 15);
    for (let i = 0; i < n; i++) sim.call(who, at + rng.uniform(0, dur) * MIN, s, name, HOME, { ip, agent });
    label({
      regions: [HOME],
      start: at,
      end: at + dur * MIN,
      principal: sim.arn(who),
      eventNames: [name],
      size: n,
      note: `${n} ${name} in ${Math.round(dur)} min by ${who.name}`,
    });
  } else if (kind === 'error-rate') {
    const [s, name, code] = rng.pick(ERROR_APIS);
    const n = Math.round(rng.logUniform(8, 80));
    const dur = rng.uniform(3, 20);
    for (let i = 0; i < n; i++)
      sim.call(who, at + rng.uniform(0, dur) * MIN, s, name, HOME, { ip, agent, errorCode: code, errorMessage: code });
    label({
      regions: [HOME],
      start: at,
      end: at + dur * MIN,
      principal: sim.arn(who),
      eventNames: [name],
      size: n,
      note: `${n} ${name}/${code} in ${Math.round(dur)} min by ${who.name}`,
    });
  } else if (kind === 'iam-burst') {
    const users = rng.int(2, 6);
    const dur = rng.uniform(1, 10);
    const names = new Set<string>();
    let n = 0;
    for (let u = 0; u < users; u++) {
      const steps = ['CreateUser', 'CreateAccessKey', 'AttachUserPolicy'];
      if (rng.chance(0.5)) steps.push('CreateLoginProfile');
      for (const step of steps) {
        sim.call(who, at + rng.uniform(0, dur) * MIN, 'iam.amazonaws.com', step, HOME, { ip, agent });
        names.add(step);
        n++;
      }
    }
    label({
      regions: [THIRD],
      start: at,
      end: at + dur * MIN,
      principal: sim.arn(who),
      eventNames: [...names],
      size: n,
      note: `${users} users, ${n} IAM writes in ${Math.round(dur)} min by ${who.name}`,
    });
  } else if (kind === 'gap' || kind === 'gap-quiet-region') {
    const candidates = sim.jobs
      .map((j, i) => ({ j, i }))
      .filter(({ j }) => (kind === 'gap' ? j.gapCandidate : j.quiet) && j.fromDay === undefined);
    const { j, i } = rng.pick(candidates);
    // Runs of local days d and d + 1 may fall on UTC day d (a job at 01:00 in Berlin runs at 23:00 or 00:00 UTC).
    const due = rng.pick([...j.runs(d), ...j.runs(d + 1)].filter((t) => t >= day0 + HOUR && t < day0 + DAY - HOUR));
    if (due === undefined) return;
    // A quiet-Region job sometimes stops for good (after its last planned miss), otherwise one run is missed.
    const forGood = kind === 'gap-quiet-region' && d >= sim.opts.days - 4 && rng.chance(0.5) && !sim.stoppedFrom.has(i);
    if (forGood) sim.stoppedFrom.set(i, due);
    else sim.skipped.add(`${i}|${due}`);
    const apis = [
      ...new Set(
        j
          .calls(new Rng(1))
          .filter((c) => c[2] > 0)
          .map((c) => c[1]),
      ),
    ];
    label({
      regions: [j.region],
      start: due,
      end: forGood ? sim.end : due + 10 * MIN,
      principal: sim.arn(j.who),
      eventNames: apis,
      size: 0,
      note: `${j.who.name} in ${j.region} ${forGood ? 'stops for good' : 'misses its run'} at ${clockText(clock, due)}`,
    });
  } else if (kind === 'trail-stopped') {
    const hours = rng.uniform(1.5, 4);
    // Only where the files show it: digests, a busy account, or StopLogging in the log.
    const busy = acct.character !== 'sandbox';
    const viaStopLogging = !acct.digests && !busy ? true : rng.chance(0.5);
    const from =
      acct.digests && rng.chance(0.5)
        ? day0 + rng.uniform(0, 24 - hours - 1) * HOUR
        : clock.at(d, rng.uniform(9, 17.5 - hours) * 60);
    const to = from + hours * HOUR;
    if (viaStopLogging) {
      const trail = `arn:aws:cloudtrail:${HOME}:${acct.id}:trail/${TRAIL}`;
      const stopper = rng.chance(0.5) ? sim.admin : who;
      sim.call(stopper, from - 20_000, 'cloudtrail.amazonaws.com', 'StopLogging', HOME, {
        ip: stopper === sim.admin ? '198.51.100.11' : ip,
        agent: stopper === sim.admin ? AGENTS.browser : agent,
        request: { name: trail },
      });
      sim.call(sim.admin, to + 10_000, 'cloudtrail.amazonaws.com', 'StartLogging', HOME, {
        ip: '198.51.100.11',
        agent: AGENTS.browser,
        request: { name: trail },
      });
    }
    sim.silences.push({ from, to, stopped: viaStopLogging });
    label({
      regions: 'account',
      start: from,
      end: to,
      eventNames: [],
      size: 0,
      note: `trail ${viaStopLogging ? 'stopped (StopLogging)' : 'stopped delivering'} for ${Math.round(hours * 60)} min at ${clockText(clock, from)}${acct.digests ? ', digests too' : ''}`,
    });
  }
}

function clockText(clock: LocalClock, t: number): string {
  const local = new Date(t + clock.offset(t)).toISOString();
  return `${local.slice(5, 10)} ${local.slice(11, 16)} local`;
}

// ---------------------------------------------------------------------------------------------------------------
// Delivery

interface Written {
  readonly key: string;
  readonly deliveredAt: number;
  readonly hash: string;
  readonly oldest: number;
  readonly newest: number;
}

function stamp(t: number, seconds: boolean): string {
  const s = new Date(t).toISOString();
  return `${s.slice(0, 4)}${s.slice(5, 7)}${s.slice(8, 10)}T${s.slice(11, 13)}${s.slice(14, 16)}${seconds ? s.slice(17, 19) : ''}Z`;
}

/** Writes an account's delivery files (and digests), returns counts. */
function deliver(
  sim: AccountSim,
  outDir: string,
  lags: LagHistogram,
): { files: number; digests: number; late: number; events: number } {
  const { rng, acct } = sim;
  const written = new Map<string, Written[]>();
  let files = 0;
  let late = 0;
  let events = 0;
  const inStop = (t: number): boolean => sim.silences.some((s) => s.stopped && t >= s.from && t < s.to);
  const undelivered = (t: number): boolean => sim.silences.some((s) => !s.stopped && t >= s.from && t < s.to);
  for (const [region, list] of [...sim.entries.entries()].sort()) {
    const offset = rng.int(0, 4) * MIN;
    const byFile = new Map<string, { at: number; recs: Entry[] }>();
    for (const e of list) {
      if (inStop(e.t)) continue; // logging was stopped: never recorded
      let key: string;
      let at: number;
      if (e.lateMinutes !== undefined) {
        at = Math.ceil((e.t + e.lateMinutes * MIN) / MIN) * MIN;
        key = `late|${at}`;
      } else {
        const lag = 1.5 * MIN + Math.min(8 * MIN, -Math.log(1 - rng.next()) * 2.5 * MIN);
        at = Math.ceil((e.t + lag - offset) / (5 * MIN)) * 5 * MIN + offset;
        key = String(at);
      }
      let f = byFile.get(key);
      if (!f) {
        f = { at, recs: [] };
        byFile.set(key, f);
      }
      f.recs.push(e);
    }
    const out: Written[] = [];
    for (const [key, f] of [...byFile.entries()].sort((a, b) => a[1].at - b[1].at)) {
      let at = f.at;
      if (key.startsWith('late|')) late++;
      else if (rng.chance(0.012)) {
        at += Math.round(rng.uniform(30, 90)) * MIN;
        late++;
      }
      if (undelivered(at) || at >= sim.end + 2 * HOUR) continue;
      const ymd = new Date(at).toISOString().slice(0, 10).split('-');
      const name = `${acct.id}_CloudTrail_${region}_${stamp(at, false)}_${rng.token()}.json.gz`;
      const rel = ['AWSLogs', acct.id, 'CloudTrail', region, ...ymd, name].join('/');
      mkdirSync(path.join(outDir, path.dirname(rel)), { recursive: true });
      // Records inside a file are in no particular order (cloudtrail.md §1.3).
      const recs = rng.sample(f.recs, f.recs.length);
      const body = gzipSync(JSON.stringify({ Records: recs.map((e) => e.rec) }), { level: 1 });
      writeFileSync(path.join(outDir, rel), body);
      files++;
      events += recs.length;
      for (const e of recs) addLag(lags, at - e.t);
      const times = recs.map((e) => e.t);
      out.push({
        key: rel,
        deliveredAt: at,
        hash: acct.digests ? createHash('sha256').update(body).digest('hex') : '',
        oldest: Math.min(...times),
        newest: Math.max(...times),
      });
    }
    written.set(region, out);
  }
  let digests = 0;
  if (acct.digests) {
    for (const region of DEFAULT_REGIONS) {
      const logs = (written.get(region) ?? []).sort((a, b) => a.deliveredAt - b.deliveredAt);
      const offset = rng.int(0, 3599) * 1000;
      let previous: { key: string; hash: string; signature: string } | undefined;
      for (let end = sim.opts.startDay + HOUR + offset; end < sim.end + HOUR; end += HOUR) {
        const stop = sim.silences.find((s) => end >= s.from && end < s.to);
        if (stop) {
          previous = undefined; // the chain restarts with a starting digest after the trail resumes
          continue;
        }
        const start = end - HOUR;
        const inHour = logs.filter((l) => l.deliveredAt > start && l.deliveredAt <= end);
        const ymd = new Date(end).toISOString().slice(0, 10).split('-');
        const name = `${acct.id}_CloudTrail-Digest_${region}_${TRAIL}_${HOME}_${stamp(end, true)}.json.gz`;
        const rel = ['AWSLogs', acct.id, 'CloudTrail-Digest', region, ...ymd, name].join('/');
        // The digest shape of the CloudTrail user guide (awsdocs-cloudtrail-user-guide/examples/22_digest_file_sample-digest-file-contents.json
        // and 23_digest_file_empty-digest-files.json); the signatures are not real.
        const doc = {
          awsAccountId: acct.id,
          digestStartTime: iso(start),
          digestEndTime: iso(end),
          digestS3Bucket: 'org-cloudtrail-archive',
          digestS3Object: rel,
          digestPublicKeyFingerprint: createHash('md5').update(region).digest('hex'),
          digestSignatureAlgorithm: 'SHA256withRSA',
          newestEventTime: inHour.length ? iso(Math.max(...inHour.map((l) => l.newest))) : null,
          oldestEventTime: inHour.length ? iso(Math.min(...inHour.map((l) => l.oldest))) : null,
          previousDigestS3Bucket: previous ? 'org-cloudtrail-archive' : null,
          previousDigestS3Object: previous?.key ?? null,
          previousDigestHashValue: previous?.hash ?? null,
          previousDigestHashAlgorithm: previous ? 'SHA-256' : null,
          previousDigestSignature: previous?.signature ?? null,
          logFiles: inHour.map((l) => ({
            s3Bucket: 'org-cloudtrail-archive',
            s3Object: l.key,
            hashValue: l.hash,
            hashAlgorithm: 'SHA-256',
            newestEventTime: iso(l.newest),
            oldestEventTime: iso(l.oldest),
          })),
        };
        const text = JSON.stringify(doc);
        mkdirSync(path.join(outDir, path.dirname(rel)), { recursive: true });
        writeFileSync(path.join(outDir, rel), gzipSync(text, { level: 1 }));
        digests++;
        previous = {
          key: rel,
          hash: createHash('sha256').update(text).digest('hex'),
          signature: rng.token().repeat(32).slice(0, 512),
        };
      }
    }
  }
  return { files, digests, late, events };
}

// ---------------------------------------------------------------------------------------------------------------

/** Builds one organization scenario and writes its delivery files under `outDir`. */
export function generateOrgScenario(lib: ShapeLibrary, opts: OrgOptions, outDir: string): OrgScenario {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const rng = new Rng(opts.seed * 104_729 + 31);
  const clock = new LocalClock(opts.timeZone, opts.startDay);
  const withDigests = new Set(rng.sample(CHARACTERS, 2));
  // Every account's ID is drawn, so a subset of characters keeps the IDs of the full organization.
  const accounts: OrgAccount[] = CHARACTERS.map((character) => ({
    id: String(rng.int(100000000000, 999999999999)),
    character,
    digests: withDigests.has(character),
  })).filter((a) => (opts.characters ?? CHARACTERS).includes(a.character));
  // The UTC day holding the clock change, and the holidays.
  let dstDay = -1;
  for (let d = 1; d < opts.days; d++)
    if (clock.offset(clock.at(d, 12 * 60)) !== clock.offset(clock.at(d - 1, 12 * 60))) dstDay = d;
  const holidayDays: number[] = [];
  for (let d = 0; d < opts.days; d++) if (opts.holidays.includes(clock.date(d).ymd)) holidayDays.push(d);
  const labels: OrgLabel[] = [];
  const lookAlikes: LookAlike[] = [];
  const cleanDays: string[] = [];
  const notes: string[] = [];
  let files = 0;
  let digestFiles = 0;
  let lateFiles = 0;
  let events = 0;
  const lags: LagHistogram = [];

  for (const acct of accounts) {
    const sim = new AccountSim(lib, rng, acct, opts, clock);
    setUp(sim);
    const test = Array.from({ length: opts.days - opts.warmupDays }, (_, i) => opts.warmupDays + i);
    const plans = new Map<number, DayPlan>();
    for (let d = 0; d < opts.days; d++) plans.set(d, { kinds: [] });
    // Look-alike days: onboarding once in history and once in the test period, a new CI job, a us-east-1 session.
    const workTest = test.filter((d) => sim.dayKind(d) === 'work' && d !== dstDay && d !== dstDay + 1);
    const reserved = new Set<number>([dstDay, ...holidayDays]);
    if (acct.character !== 'monitoring') {
      plans.get(rng.int(1, opts.warmupDays - 2))!.onboarding = true;
      const day = rng.pick(workTest.filter((d) => !reserved.has(d)));
      plans.get(day)!.onboarding = true;
      reserved.add(day);
    }
    if (acct.character === 'cicd') {
      const day = rng.pick(workTest.filter((d) => !reserved.has(d)));
      newCiJob(sim, day);
      reserved.add(day);
    }
    if (acct.character !== 'production' && rng.chance(0.7)) {
      const day = rng.pick(workTest.filter((d) => !reserved.has(d)));
      plans.get(day)!.usEastSession = rng.pick(sim.humans);
      reserved.add(day);
    }
    // Two runs of a quiet-Region job arrive 30-90 minutes late on purpose (late files happen anyway at 1.2 %).
    const quietJobs = sim.jobs.map((j, i) => ({ j, i })).filter(({ j }) => j.quiet);
    for (let k = 0; k < 2; k++) {
      const { j, i } = rng.pick(quietJobs);
      const runs = sim.runsOf(i).filter((t) => t >= sim.testStart);
      const t = rng.pick(runs);
      const minutes = rng.uniform(30, 90);
      sim.lateRuns.set(`${i}|${t}`, minutes);
      lookAlikes.push({
        kind: 'late-job-file',
        account: acct.id,
        regions: [GLOBAL_SOURCES.has(j.calls(new Rng(1))[0][0]) ? THIRD : j.region],
        start: t,
        end: t + minutes * MIN + 10 * MIN,
        principal: sim.arn(j.who),
        note: `${j.who.name}'s run at ${clockText(clock, t)} delivered ${Math.round(minutes)} min late`,
      });
    }
    // Injections: kinds in rotation; one or two on ~70 % of the eligible test days; a stopped trail alone.
    const kinds = KINDS_BY_CHARACTER[acct.character];
    let cursor = rng.int(0, kinds.length - 1);
    for (const d of test) {
      if (reserved.has(d) || d >= opts.days - 1 || !rng.chance(0.75)) continue;
      const first = kinds[cursor++ % kinds.length];
      const list: OrgKind[] = [first];
      if (first !== 'trail-stopped' && rng.chance(0.3)) {
        const second = kinds[cursor % kinds.length];
        if (second !== 'trail-stopped' && second !== first) {
          list.push(second);
          cursor++;
        }
      }
      plans.get(d)!.kinds = list;
    }
    // Missed runs first (the day's jobs are generated after), then the days, then the rest of the injections.
    for (const [d, plan] of plans)
      for (const k of plan.kinds) if (k === 'gap' || k === 'gap-quiet-region') inject(sim, d, k);
    for (let d = -1; d <= opts.days; d++) {
      sim.runJobs(d);
      if (d >= 0 && d < opts.days) liveDay(sim, d, plans.get(d)!);
    }
    for (const [d, plan] of plans)
      for (const k of plan.kinds) if (k !== 'gap' && k !== 'gap-quiet-region') inject(sim, d, k);
    // Injections whose calls fell into a stopped trail were never recorded: their labels go.
    const kept = sim.labels.filter(
      (l) =>
        l.kind === 'trail-stopped' ||
        !sim.silences.some((s) =>
          l.size === 0
            ? l.start + 15 * MIN >= s.from && l.start <= s.to
            : l.end + 15 * MIN >= s.from && l.start <= s.to,
        ),
    );
    labels.push(...kept);
    lookAlikes.push(...sim.lookAlikes);
    const injected = new Set(kept.map((l) => Math.floor((l.start - opts.startDay) / DAY)));
    for (const d of test) if (!injected.has(d)) cleanDays.push(`${acct.id}|${d}`);
    const delivered = deliver(sim, outDir, lags);
    files += delivered.files;
    digestFiles += delivered.digests;
    lateFiles += delivered.late;
    events += delivered.events;
    const byRegion = [...sim.entries.entries()].map(([r, l]) => [r, l.length] as const).sort((a, b) => b[1] - a[1]);
    const total = byRegion.reduce((s, [, n]) => s + n, 0);
    notes.push(
      `${acct.character.padEnd(10)} ${acct.id}${acct.digests ? ' digests' : '        '} ${Math.round(total / opts.days)
        .toLocaleString('en-US')
        .padStart(6)} events/day: ${byRegion.map(([r, n]) => `${r} ${((100 * n) / total).toFixed(1)}%`).join(', ')}`,
    );
  }
  return {
    options: opts,
    accounts,
    labels,
    lookAlikes,
    cleanDays,
    dstDay,
    holidayDays,
    notes,
    files,
    digestFiles,
    lateFiles,
    events,
    lags,
  };
}
