/**
 * Scenario generator for the detection evaluation: weeks of several accounts' CloudTrail, built from the
 * real grycap background day (../shared/data/grycap-cloudtrail-tracker, a university account on
 * 2017-06-01: console sessions of a class, staff, service roles) varied from day to day — who shows up,
 * when, how much — plus synthetic periodic jobs and benign bursty automation, and labelled injections of
 * every detector kind with sizes around the detection limits. Written as real delivery files
 * (`AWSLogs/<acct>/CloudTrail/<region>/YYYY/MM/DD/<acct>_CloudTrail_<region>_<ts>_<uniq>.json.gz`).
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { Rng } from './random';
import { addLag, type LagHistogram } from './score';

export type LabelKind = 'call-rate' | 'error-rate' | 'iam-burst' | 'recon' | 'access-denied' | 'gap' | 'delivery-gap';

/** One injected anomaly: what, where, when (event time), by whom. */
export interface Label {
  readonly id: string;
  readonly kind: LabelKind;
  readonly account: string;
  readonly region: string;
  /** Event time of the first injected call, or when the missing activity was due (ms). */
  readonly start: number;
  readonly end: number;
  readonly principal?: string;
  readonly eventNames: string[];
  readonly errorCodes: string[];
  /** Calls injected (0 for gaps), and distinct APIs. */
  readonly size: number;
  readonly distinctApis: number;
  readonly note: string;
}

export interface ScenarioOptions {
  readonly seed: number;
  readonly accounts: number;
  readonly days: number;
  /** Injection-free history days at the start (the replayed archive). */
  readonly warmupDays: number;
  /** First day, UTC midnight (ms). */
  readonly startDay: number;
  readonly region: string;
}

export interface Scenario {
  readonly options: ScenarioOptions;
  readonly accounts: string[];
  readonly labels: Label[];
  /** `account|dayIndex` of test days with no injection (benign look-alikes allowed). */
  readonly cleanDays: string[];
  /** What each account's days looked like (for the report). */
  readonly notes: string[];
  readonly files: number;
  readonly events: number;
  /** Event → file delivery lags of the delivered events. */
  readonly lags: LagHistogram;
}

export type RawRecord = Record<string, unknown>;

const DAY = 86_400_000;
const MIN = 60_000;
const SOURCE_ACCOUNT = '974349055189';

/**
 * Reads every delivery file under `root` (the grycap folder of ../shared/data, or the bundled copy under
 * samples/) and keeps the records of the real 2017-06-01 day.
 */
export function loadBackground(root: string): RawRecord[] {
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (entry.name.endsWith('.json.gz')) files.push(p);
    }
  };
  walk(root);
  files.sort();
  const records: RawRecord[] = [];
  for (const f of files) {
    const doc = JSON.parse(gunzipSync(readFileSync(f)).toString('utf8')) as { Records: RawRecord[] };
    records.push(...doc.Records);
  }
  return records.filter((r) => typeof r.eventTime === 'string' && String(r.eventTime).startsWith('2017-06-01'));
}

interface Identity {
  readonly arn: string;
  readonly kind: 'IAMUser' | 'AssumedRole' | 'Root';
  readonly name: string;
}

function principalOf(r: RawRecord): string {
  const u = (r.userIdentity ?? {}) as Record<string, unknown>;
  const issuer = ((u.sessionContext as Record<string, unknown> | undefined)?.sessionIssuer ?? {}) as Record<
    string,
    unknown
  >;
  return String(u.userName ?? issuer.userName ?? u.invokedBy ?? u.type ?? 'unknown');
}

function isHuman(r: RawRecord): boolean {
  const t = (r.userIdentity as Record<string, unknown> | undefined)?.type;
  return t === 'IAMUser' || t === 'Root';
}

/** A complete CloudTrail record for a synthetic call (eventVersion 1.08, explicit readOnly). */
function makeRecord(
  rng: Rng,
  account: string,
  region: string,
  who: Identity,
  time: number,
  source: string,
  name: string,
  readOnly: boolean,
  userAgent: string,
  errorCode?: string,
): RawRecord {
  const userIdentity: Record<string, unknown> =
    who.kind === 'AssumedRole'
      ? {
          type: 'AssumedRole',
          principalId: `AROA${account.slice(0, 8)}:${who.name}-session`,
          arn: `arn:aws:sts::${account}:assumed-role/${who.name}/${who.name}-session`,
          accountId: account,
          accessKeyId: 'ASIAEXAMPLE',
          sessionContext: {
            sessionIssuer: {
              type: 'Role',
              principalId: `AROA${account.slice(0, 8)}`,
              arn: `arn:aws:iam::${account}:role/${who.name}`,
              accountId: account,
              userName: who.name,
            },
            attributes: { creationDate: new Date(time - 60_000).toISOString(), mfaAuthenticated: 'false' },
          },
        }
      : who.kind === 'Root'
        ? { type: 'Root', principalId: account, arn: `arn:aws:iam::${account}:root`, accountId: account }
        : {
            type: 'IAMUser',
            principalId: `AIDA${account.slice(0, 8)}${who.name.length}`,
            arn: `arn:aws:iam::${account}:user/${who.name}`,
            accountId: account,
            userName: who.name,
          };
  const rec: RawRecord = {
    eventVersion: '1.08',
    userIdentity,
    eventTime: `${new Date(time).toISOString().slice(0, 19)}Z`,
    eventSource: source,
    eventName: name,
    awsRegion: region,
    sourceIPAddress: '198.51.100.23',
    userAgent,
    requestParameters: null,
    responseElements: null,
    requestID: rng.uuid(),
    eventID: rng.uuid(),
    readOnly,
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: account,
    eventCategory: 'Management',
  };
  if (errorCode) {
    rec.errorCode = errorCode;
    rec.errorMessage = `${errorCode} (injected)`;
  }
  return rec;
}

const WRITE_APIS: [string, string][] = [
  ['ec2.amazonaws.com', 'RunInstances'],
  ['ec2.amazonaws.com', 'CreateVolume'],
  ['ec2.amazonaws.com', 'CreateSnapshot'],
  ['ec2.amazonaws.com', 'AuthorizeSecurityGroupIngress'],
  ['ec2.amazonaws.com', 'CreateKeyPair'],
  ['ec2.amazonaws.com', 'TerminateInstances'],
  ['ec2.amazonaws.com', 'CreateSecurityGroup'],
  ['ec2.amazonaws.com', 'AllocateAddress'],
  ['lambda.amazonaws.com', 'CreateFunction20150331'],
  ['s3.amazonaws.com', 'PutBucketPolicy'],
  ['kms.amazonaws.com', 'ScheduleKeyDeletion'],
  ['rds.amazonaws.com', 'CreateDBSnapshot'],
];

const ERROR_APIS: [string, string, string, boolean][] = [
  ['ec2.amazonaws.com', 'RunInstances', 'Client.InstanceLimitExceeded', false],
  ['ec2.amazonaws.com', 'RunInstances', 'Server.InsufficientInstanceCapacity', false],
  ['ec2.amazonaws.com', 'DescribeInstances', 'Client.RequestLimitExceeded', true],
  ['ec2.amazonaws.com', 'CreateVolume', 'Client.VolumeLimitExceeded', false],
  ['monitoring.amazonaws.com', 'PutMetricData', 'Throttling', false],
  ['cloudformation.amazonaws.com', 'CreateStack', 'LimitExceededException', false],
  ['cloudformation.amazonaws.com', 'DescribeStacks', 'Throttling', true],
  ['lambda.amazonaws.com', 'Invoke', 'TooManyRequestsException', false],
];

const READ_APIS: [string, string][] = [
  ['iam.amazonaws.com', 'ListUsers'],
  ['iam.amazonaws.com', 'ListRoles'],
  ['iam.amazonaws.com', 'ListPolicies'],
  ['iam.amazonaws.com', 'GetAccountAuthorizationDetails'],
  ['iam.amazonaws.com', 'ListAccessKeys'],
  ['iam.amazonaws.com', 'ListAttachedUserPolicies'],
  ['iam.amazonaws.com', 'ListGroups'],
  ['iam.amazonaws.com', 'GetAccountSummary'],
  ['iam.amazonaws.com', 'ListMFADevices'],
  ['iam.amazonaws.com', 'GetLoginProfile'],
  ['s3.amazonaws.com', 'ListBuckets'],
  ['s3.amazonaws.com', 'GetBucketPolicy'],
  ['s3.amazonaws.com', 'GetBucketAcl'],
  ['s3.amazonaws.com', 'GetBucketLocation'],
  ['s3.amazonaws.com', 'GetBucketEncryption'],
  ['ec2.amazonaws.com', 'DescribeInstances'],
  ['ec2.amazonaws.com', 'DescribeSecurityGroups'],
  ['ec2.amazonaws.com', 'DescribeVpcs'],
  ['ec2.amazonaws.com', 'DescribeSubnets'],
  ['ec2.amazonaws.com', 'DescribeSnapshots'],
  ['ec2.amazonaws.com', 'DescribeImages'],
  ['ec2.amazonaws.com', 'DescribeKeyPairs'],
  ['ec2.amazonaws.com', 'DescribeRegions'],
  ['ec2.amazonaws.com', 'DescribeVolumes'],
  ['lambda.amazonaws.com', 'ListFunctions20150331'],
  ['lambda.amazonaws.com', 'GetFunction20150331v2'],
  ['lambda.amazonaws.com', 'GetPolicy20150331v2'],
  ['secretsmanager.amazonaws.com', 'ListSecrets'],
  ['secretsmanager.amazonaws.com', 'DescribeSecret'],
  ['ssm.amazonaws.com', 'DescribeParameters'],
  ['ssm.amazonaws.com', 'GetParameters'],
  ['kms.amazonaws.com', 'ListKeys'],
  ['kms.amazonaws.com', 'ListAliases'],
  ['kms.amazonaws.com', 'DescribeKey'],
  ['rds.amazonaws.com', 'DescribeDBInstances'],
  ['rds.amazonaws.com', 'DescribeDBSnapshots'],
  ['dynamodb.amazonaws.com', 'ListTables'],
  ['dynamodb.amazonaws.com', 'DescribeTable'],
  ['cloudtrail.amazonaws.com', 'DescribeTrails'],
  ['cloudtrail.amazonaws.com', 'GetTrailStatus'],
  ['cloudtrail.amazonaws.com', 'GetEventSelectors'],
  ['guardduty.amazonaws.com', 'ListDetectors'],
  ['config.amazonaws.com', 'DescribeConfigRules'],
  ['sns.amazonaws.com', 'ListTopics'],
  ['sqs.amazonaws.com', 'ListQueues'],
  ['logs.amazonaws.com', 'DescribeLogGroups'],
  ['cloudformation.amazonaws.com', 'ListStacks'],
  ['cloudformation.amazonaws.com', 'DescribeStacks'],
  ['ecr.amazonaws.com', 'DescribeRepositories'],
  ['eks.amazonaws.com', 'ListClusters'],
  ['organizations.amazonaws.com', 'DescribeOrganization'],
  ['sts.amazonaws.com', 'GetCallerIdentity'],
];

const DENIED_CODES = ['AccessDenied', 'Client.UnauthorizedOperation', 'AccessDeniedException'];
const TOOL_AGENTS = [
  'aws-cli/2.15.30 Python/3.11.8 Linux/6.5.0 exe/x86_64.ubuntu.22',
  'Boto3/1.34.69 md/Botocore#1.34.69 ua/2.0 os/linux#6.5.0 lang/python#3.11.8',
  'aws-sdk-go-v2/1.25.2 os/linux lang/go#1.22.1',
];

interface DayPlan {
  scale: number;
  busy: boolean;
  weekend: boolean;
}

/** Builds one scenario and writes its delivery files under `outDir`. */
export function generateScenario(background: RawRecord[], opts: ScenarioOptions, outDir: string): Scenario {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const rng = new Rng(opts.seed * 7919 + 17);
  const region = opts.region;
  const accounts = Array.from({ length: opts.accounts }, () => String(rng.int(100000000000, 999999999999)));
  const labels: Label[] = [];
  const cleanDays: string[] = [];
  const notes: string[] = [];
  let files = 0;
  let events = 0;
  const lags: LagHistogram = [];

  const bgDay0 = Date.parse('2017-06-01T00:00:00Z');
  const templates = background.map((r) => ({
    text: JSON.stringify(r),
    offset: Date.parse(String(r.eventTime)) - bgDay0,
    principal: principalOf(r),
    human: isHuman(r),
  }));
  const principalsAll = [...new Set(templates.map((t) => t.principal))];
  const students = principalsAll.filter((p) => /^alucloud/.test(p));
  const humans = new Set(templates.filter((t) => t.human).map((t) => t.principal));

  for (const account of accounts) {
    const records: RawRecord[] = [];
    const arnUser = (name: string): string => `arn:aws:iam::${account}:user/${name}`;
    const arnRole = (name: string): string => `arn:aws:iam::${account}:role/${name}`;
    const perAccount = templates.map((t) => ({ ...t, text: t.text.split(SOURCE_ACCOUNT).join(account) }));
    // Each account has its own class: a different subset of the students, at a different weekly rhythm.
    const enrolled = new Set(rng.sample(students, Math.round(students.length * rng.uniform(0.6, 0.9))));
    const accountShift = rng.normal(0, 45) * MIN;
    const plans: DayPlan[] = [];
    const busyDay = rng.int(opts.warmupDays, opts.days - 1);
    for (let d = 0; d < opts.days; d++) {
      const dow = new Date(opts.startDay + d * DAY).getUTCDay();
      const weekend = dow === 0 || dow === 6;
      const busy = d === busyDay && !weekend;
      plans.push({ scale: weekend ? 0.2 : Math.exp(rng.normal(0, 0.3)) * (busy ? 2.2 : 1), busy, weekend });
    }
    const backup: Identity = { arn: arnRole('backup-nightly'), kind: 'AssumedRole', name: 'backup-nightly' };
    const patch: Identity = { arn: arnRole('patch-baseline'), kind: 'AssumedRole', name: 'patch-baseline' };
    const custodian: Identity = { arn: arnRole('custodian-hourly'), kind: 'AssumedRole', name: 'custodian-hourly' };
    const ci: Identity = { arn: arnRole('ci-deploy'), kind: 'AssumedRole', name: 'ci-deploy' };
    const newCiName = `ci-nightly-${rng.int(10, 99)}`;
    const newCi: Identity = { arn: arnRole(newCiName), kind: 'AssumedRole', name: newCiName };
    const newCiDay = rng.int(opts.warmupDays, opts.days - 1);
    const backupMinute = rng.int(60, 240);
    const patchMinute = rng.int(0, 59);
    const custodianMinute = rng.int(0, 59);
    const add = (who: Identity, t: number, source: string, name: string, ro: boolean, agent: string, err?: string) =>
      records.push(makeRecord(rng, account, region, who, t, source, name, ro, agent, err));

    // Injection plan: each test day gets 0-2 injections; about a third of test days stay clean.
    const kinds: LabelKind[] = [
      'call-rate',
      'error-rate',
      'iam-burst',
      'recon',
      'access-denied',
      'gap',
      'delivery-gap',
    ];
    const injections = new Map<number, LabelKind[]>();
    let kindCursor = rng.int(0, kinds.length - 1);
    for (let d = opts.warmupDays; d < opts.days; d++) {
      if (d === busyDay || d === newCiDay || rng.chance(0.3)) {
        cleanDays.push(`${account}|${d}`);
        continue;
      }
      const n = rng.chance(0.3) ? 3 : rng.chance(0.5) ? 2 : 1;
      const list: LabelKind[] = [];
      for (let i = 0; i < n; i++) list.push(kinds[kindCursor++ % kinds.length]);
      injections.set(d, list);
    }
    const skipBackup = new Set<number>();
    const skipPatch = new Set<string>();
    const silences: [number, number][] = [];
    // Missed runs are planned up front: the periodic jobs of a day are generated before its injections.
    for (const [d, list] of injections) {
      if (!list.includes('gap')) continue;
      const base = { id: `${account}-${d}-gap`, account, region };
      const day0 = opts.startDay + d * DAY;
      if (rng.chance(0.5)) {
        skipBackup.add(d);
        const due = day0 + backupMinute * MIN;
        labels.push({
          ...base,
          kind: 'gap',
          start: due,
          end: due + 10 * MIN,
          principal: backup.arn,
          eventNames: ['DescribeVolumes', 'CreateSnapshot', 'DeleteSnapshot'],
          errorCodes: [],
          size: 0,
          distinctApis: 3,
          note: 'nightly backup missed',
        });
      } else {
        const h = rng.pick([0, 6, 12, 18]);
        skipPatch.add(`${d}|${h}`);
        const due = day0 + (h * 60 + patchMinute) * MIN;
        labels.push({
          ...base,
          kind: 'gap',
          start: due,
          end: due + 10 * MIN,
          principal: patch.arn,
          eventNames: ['SendCommand', 'ListCommandInvocations'],
          errorCodes: [],
          size: 0,
          distinctApis: 2,
          note: `6-hourly patch run at ${h}h missed`,
        });
      }
    }

    for (let d = 0; d < opts.days; d++) {
      const day0 = opts.startDay + d * DAY;
      const plan = plans[d];
      const dayShift = accountShift + rng.normal(0, 25) * MIN;
      // Who shows up today, how active, and how late or early.
      const mood = new Map<string, { on: boolean; factor: number; shift: number }>();
      for (const p of principalsAll) {
        const student = students.includes(p);
        const human = humans.has(p);
        const on = student
          ? enrolled.has(p) && rng.chance(plan.weekend ? 0.12 : 0.75)
          : rng.chance(plan.weekend ? (human ? 0.2 : 0.6) : 0.9);
        mood.set(p, {
          on,
          factor: Math.exp(rng.normal(0, human ? 0.5 : 0.2)),
          // Service roles here act on behalf of students (OpsWorks, EMR, Lambda labs), so they drift too.
          shift: rng.normal(0, human ? 35 : 30) * MIN,
        });
      }
      for (const t of perAccount) {
        const m = mood.get(t.principal)!;
        if (!m.on) continue;
        const copies = rng.poisson(plan.scale * m.factor);
        for (let k = 0; k < copies; k++) {
          const time = day0 + t.offset + dayShift + m.shift + (k === 0 ? 0 : rng.normal(0, 90_000));
          if (time < day0 || time >= day0 + DAY) continue;
          const rec = JSON.parse(t.text) as RawRecord;
          rec.eventTime = `${new Date(time).toISOString().slice(0, 19)}Z`;
          rec.eventID = rng.uuid();
          rec.recipientAccountId = account;
          rec.awsRegion = region;
          records.push(rec);
        }
      }
      // Periodic jobs (every day, weekends included).
      if (!skipBackup.has(d)) {
        const t0 = day0 + backupMinute * MIN + rng.normal(0, 1.5) * MIN;
        add(backup, t0, 'ec2.amazonaws.com', 'DescribeVolumes', true, 'Boto3/1.34.69 lambda');
        const vols = rng.int(3, 6);
        for (let v = 0; v < vols; v++) {
          add(backup, t0 + (20 + v * 15) * 1000, 'ec2.amazonaws.com', 'CreateSnapshot', false, 'Boto3/1.34.69 lambda');
          add(backup, t0 + (90 + v * 15) * 1000, 'ec2.amazonaws.com', 'DeleteSnapshot', false, 'Boto3/1.34.69 lambda');
        }
      }
      for (let h = 0; h < 24; h += 6) {
        if (skipPatch.has(`${d}|${h}`)) continue;
        const t0 = day0 + (h * 60 + patchMinute) * MIN + rng.normal(0, 1) * MIN;
        add(patch, t0, 'ssm.amazonaws.com', 'SendCommand', false, 'aws-sdk-go-v2/1.25.2 ssm-automation');
        for (let i = 0; i < 3; i++) {
          add(
            patch,
            t0 + (30 + i * 40) * 1000,
            'ssm.amazonaws.com',
            'ListCommandInvocations',
            true,
            'aws-sdk-go-v2/1.25.2',
          );
        }
      }
      for (let h = 0; h < 24; h++) {
        const t0 = day0 + (h * 60 + custodianMinute) * MIN + rng.normal(0, 0.5) * MIN;
        for (const [src, name] of [
          ['ec2.amazonaws.com', 'DescribeInstances'],
          ['ec2.amazonaws.com', 'DescribeVolumes'],
          ['s3.amazonaws.com', 'ListBuckets'],
          ['ec2.amazonaws.com', 'DescribeSecurityGroups'],
        ]) {
          add(custodian, t0 + rng.uniform(0, 40_000), src, name, true, 'Boto3/1.26.0 custodian/0.9.34');
        }
      }
      // CI deploys: bursty, on some weekdays, at working hours.
      if (!plan.weekend && rng.chance(0.5)) {
        for (let k = rng.int(1, 2); k > 0; k--) {
          const t0 = day0 + rng.uniform(9, 18) * 60 * MIN;
          const calls: [string, string, boolean, number][] = [
            ['cloudformation.amazonaws.com', 'CreateChangeSet', false, 1],
            ['cloudformation.amazonaws.com', 'ExecuteChangeSet', false, 1],
            ['cloudformation.amazonaws.com', 'DescribeStacks', true, rng.int(5, 15)],
            ['cloudformation.amazonaws.com', 'DescribeStackEvents', true, rng.int(10, 30)],
            ['lambda.amazonaws.com', 'UpdateFunctionCode20150331v2', false, rng.int(1, 4)],
            ['lambda.amazonaws.com', 'UpdateFunctionConfiguration20150331v2', false, rng.int(1, 4)],
            ['ec2.amazonaws.com', 'CreateTags', false, rng.int(2, 8)],
          ];
          for (const [src, name, ro, n] of calls) {
            for (let i = 0; i < n; i++) add(ci, t0 + rng.uniform(0, 8) * MIN, src, name, ro, 'aws-cli/2.15.30 ci');
          }
        }
      }
      // A new, harmless nightly CI job appears on one test day and keeps running.
      if (d >= newCiDay) {
        const t0 = day0 + (23 * 60 + 5) * MIN + rng.normal(0, 2) * MIN;
        for (const [src, name, ro, n] of [
          ['ecr.amazonaws.com', 'DescribeRepositories', true, 3],
          ['ecr.amazonaws.com', 'DescribeImages', true, 6],
          ['ecr.amazonaws.com', 'BatchDeleteImage', false, rng.int(2, 6)],
          ['logs.amazonaws.com', 'DescribeLogGroups', true, 4],
          ['logs.amazonaws.com', 'PutRetentionPolicy', false, rng.int(2, 5)],
        ] as [string, string, boolean, number][]) {
          for (let i = 0; i < n; i++) add(newCi, t0 + rng.uniform(0, 4) * MIN, src, name, ro, 'aws-cli/2.15.30 ci');
        }
      }
      // Injections.
      for (const kind of (injections.get(d) ?? []).filter((k) => k !== 'gap')) {
        const id = `${account}-${d}-${kind}`;
        const at = day0 + rng.uniform(1, 23) * 60 * MIN;
        const known: Identity[] = [
          ...[...enrolled].slice(0, 6).map((n) => ({ arn: arnUser(n), kind: 'IAMUser' as const, name: n })),
          { arn: arnUser('micafer'), kind: 'IAMUser', name: 'micafer' },
          { arn: arnRole('lambda-s3-execution-role'), kind: 'AssumedRole', name: 'lambda-s3-execution-role' },
          { arn: arnRole('EMR_DefaultRole'), kind: 'AssumedRole', name: 'EMR_DefaultRole' },
          { arn: `arn:aws:iam::${account}:root`, kind: 'Root', name: 'root' },
        ];
        const freshName = `${rng.chance(0.5) ? 'svc' : 'ops'}-${rng.int(100, 999)}`;
        const fresh: Identity = freshName.startsWith('svc')
          ? { arn: arnUser(freshName), kind: 'IAMUser', name: freshName }
          : { arn: arnRole(freshName), kind: 'AssumedRole', name: freshName };
        const who = rng.chance(0.6) ? rng.pick(known) : fresh;
        const agent = rng.pick(TOOL_AGENTS);
        const spread = (minutes: number): number => at + rng.uniform(0, minutes) * MIN;
        const base = { id, account, region };
        if (kind === 'call-rate') {
          const [src, name] = rng.pick(WRITE_APIS);
          const n = Math.round(rng.logUniform(8, 60));
          const dur = rng.uniform(2, 15);
          for (let i = 0; i < n; i++) add(who, spread(dur), src, name, false, agent);
          labels.push({
            ...base,
            kind,
            start: at,
            end: at + dur * MIN,
            principal: who.arn,
            eventNames: [name],
            errorCodes: [],
            size: n,
            distinctApis: 1,
            note: `${n} ${name} in ${Math.round(dur)} min`,
          });
        } else if (kind === 'error-rate') {
          const [src, name, code, ro] = rng.pick(ERROR_APIS);
          const n = Math.round(rng.logUniform(8, 80));
          const dur = rng.uniform(3, 20);
          const callers = rng.chance(0.5) ? [who] : [who, ...rng.sample(known, rng.int(1, 3))];
          for (let i = 0; i < n; i++) add(rng.pick(callers), spread(dur), src, name, ro, agent, code);
          labels.push({
            ...base,
            kind,
            start: at,
            end: at + dur * MIN,
            ...(callers.length === 1 ? { principal: who.arn } : {}),
            eventNames: [name],
            errorCodes: [code],
            size: n,
            distinctApis: 1,
            note: `${n} ${name}/${code} in ${Math.round(dur)} min by ${callers.length}`,
          });
        } else if (kind === 'iam-burst') {
          const users = rng.int(2, 6);
          const dur = rng.uniform(1, 10);
          const names = new Set<string>();
          let n = 0;
          for (let u = 0; u < users; u++) {
            const steps = ['CreateUser', 'CreateAccessKey', 'AttachUserPolicy'];
            if (rng.chance(0.5)) steps.push('CreateLoginProfile');
            if (rng.chance(0.3)) steps.push('AddUserToGroup');
            for (const s of steps) {
              add(who, spread(dur), 'iam.amazonaws.com', s, false, agent);
              names.add(s);
              n++;
            }
          }
          labels.push({
            ...base,
            kind,
            start: at,
            end: at + dur * MIN,
            principal: who.arn,
            eventNames: [...names],
            errorCodes: [],
            size: n,
            distinctApis: names.size,
            note: `${users} users, ${n} IAM writes in ${Math.round(dur)} min`,
          });
        } else if (kind === 'recon') {
          const apis = rng.sample(READ_APIS, rng.int(12, READ_APIS.length));
          const n = Math.max(apis.length, Math.round(rng.logUniform(30, 200)));
          const dur = rng.uniform(3, 20);
          const used = new Set<string>();
          for (let i = 0; i < n; i++) {
            const [src, name] = i < apis.length ? apis[i] : rng.pick(apis);
            add(who, spread(dur), src, name, true, agent);
            used.add(name);
          }
          labels.push({
            ...base,
            kind,
            start: at,
            end: at + dur * MIN,
            principal: who.arn,
            eventNames: [...used],
            errorCodes: [],
            size: n,
            distinctApis: used.size,
            note: `${n} reads on ${used.size} APIs in ${Math.round(dur)} min`,
          });
        } else if (kind === 'access-denied') {
          const apis = rng.sample([...READ_APIS, ...WRITE_APIS], rng.int(4, 20));
          const n = Math.max(apis.length, Math.round(rng.logUniform(8, 60)));
          const dur = rng.uniform(2, 15);
          const used = new Set<string>();
          const codes = new Set<string>();
          for (let i = 0; i < n; i++) {
            const [src, name] = i < apis.length ? apis[i] : rng.pick(apis);
            const code = src === 'ec2.amazonaws.com' ? 'Client.UnauthorizedOperation' : rng.pick(DENIED_CODES);
            const ro = /^(List|Describe|Get)/.test(name);
            add(who, spread(dur), src, name, ro, agent, code);
            used.add(name);
            codes.add(code);
          }
          labels.push({
            ...base,
            kind,
            start: at,
            end: at + dur * MIN,
            principal: who.arn,
            eventNames: [...used],
            errorCodes: [...codes],
            size: n,
            distinctApis: used.size,
            note: `${n} denied on ${used.size} APIs in ${Math.round(dur)} min`,
          });
        } else {
          const from = day0 + rng.uniform(9, 17) * 60 * MIN;
          const dur = rng.uniform(1.5, 4) * 60 * MIN;
          silences.push([from, from + dur]);
          labels.push({
            ...base,
            kind,
            start: from,
            end: from + dur,
            eventNames: [],
            errorCodes: [],
            size: 0,
            distinctApis: 0,
            note: `no delivery for ${Math.round(dur / MIN)} min`,
          });
        }
      }
    }
    const planNote = plans.map((p) =>
      p.weekend ? 'w' : p.busy ? 'B' : p.scale > 1.2 ? '+' : p.scale < 0.8 ? '-' : '.',
    );
    notes.push(`${account}: days ${planNote.join('')} (w weekend, B busy ×2.2), new CI job from day ${newCiDay}`);

    // Calls injected during a silence are never delivered: their labels go (a missed run there is excused).
    for (let i = labels.length - 1; i >= 0; i--) {
      const l = labels[i];
      if (l.account !== account || l.kind === 'delivery-gap') continue;
      // A missed run stays a missed run when the silence only began after it was due.
      const lost =
        l.kind === 'gap'
          ? silences.some(([a, b]) => l.start + 15 * MIN >= a && l.start <= b)
          : silences.some(([a, b]) => l.end + 15 * MIN >= a && l.start <= b);
      if (lost) labels.splice(i, 1);
    }

    // Delivery: ~5-minute files, 1.5-10 min after the call, 1% hours late; nothing during a silence.
    const cadenceOffset = rng.int(0, 4);
    const byFile = new Map<number, RawRecord[]>();
    for (const rec of records) {
      const t = Date.parse(String(rec.eventTime));
      let lag = 1.5 * MIN + Math.min(8 * MIN, -Math.log(1 - rng.next()) * 2.5 * MIN);
      if (rng.chance(0.01)) lag += rng.uniform(15, 60) * MIN;
      let due = t + lag;
      due = Math.ceil((due - cadenceOffset * MIN) / (5 * MIN)) * 5 * MIN + cadenceOffset * MIN;
      const silence = silences.find(([a, b]) => due >= a && due < b);
      if (silence) continue; // logging was stopped: these events are never delivered
      let list = byFile.get(due);
      if (!list) {
        list = [];
        byFile.set(due, list);
      }
      list.push(rec);
    }
    for (const [at, list] of [...byFile.entries()].sort((x, y) => x[0] - y[0])) {
      for (const rec of list) addLag(lags, at - Date.parse(String(rec.eventTime)));
      const d = new Date(at);
      const ymd = d.toISOString().slice(0, 10).split('-');
      const ts = `${ymd.join('')}T${d.toISOString().slice(11, 13)}${d.toISOString().slice(14, 16)}Z`;
      const dir = path.join(outDir, 'AWSLogs', account, 'CloudTrail', region, ...ymd);
      mkdirSync(dir, { recursive: true });
      // Records inside a file are in no particular order (cloudtrail.md §1.3).
      const shuffled = rng.sample(list, list.length);
      writeFileSync(
        path.join(dir, `${account}_CloudTrail_${region}_${ts}_${rng.token()}.json.gz`),
        gzipSync(JSON.stringify({ Records: shuffled }), { level: 1 }),
      );
      files++;
      events += list.length;
    }
  }
  return { options: opts, accounts, labels, cleanDays, notes, files, events, lags };
}
