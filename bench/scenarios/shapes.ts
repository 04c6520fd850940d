/**
 * Real record shapes for the organization scenarios (bench/scenarios/org.ts): every event is a real CloudTrail
 * record from the public data in ../shared/data, rewritten — account, Region, time, principal, source IP, user
 * agent, IDs — never a record invented from scratch when a real one of the same API exists.
 *
 * Sources, all under ../shared/data (each folder's SOURCE.md gives the origin, commit and licence), in order of
 * preference for an API's template:
 *  - `grycap-cloudtrail-tracker/examples/*.json.gz` (Apache-2.0): real delivery files of a university account, 2014,
 *    2017 and 2018 — most management APIs; the 2017-06-01 day's IAM users are replayed as the human sessions and its
 *    service roles (OpsWorks, Lambda, EMR, Cloud Custodian, Beanstalk) as the production account's background;
 *  - `stratus-red-team/detonation-logs/aws.*.json` (Apache-2.0): real attack records, e.g.
 *    `aws.defense-evasion.cloudtrail-stop.json` (StopLogging), `aws.execution.ec2-launch-unusual-instances.json`
 *    (the mining RunInstances request), `aws.persistence.iam-create-admin-user.json` (IAM backdoors);
 *  - `flaws2-cloud/AWSLogs/**` (no licence stated, public training data) and
 *    `otrf-security-datasets/ec2_proxy_s3_exfiltration_2020-09-14011940.json` (MIT): real S3 data events (GetObject,
 *    ListObjects with `eventCategory: Data`, `resources`, bytes transferred);
 *  - `awsdocs-cloudtrail-user-guide/examples/*_event_*.json` and `*_log_file_*.json` (MIT-0): the console sign-in
 *    events — `03_event_iam-user-unsuccessful-sign-in.json` shows that a failed ConsoleLogin carries no errorCode
 *    (`responseElements.ConsoleLogin: "Failure"`, `errorMessage: "Failed authentication"`), `01_…` and `02_…` a
 *    success without and with MFA; org.ts writes digests in the shape of `22_digest_file_sample-digest-file-contents.json`
 *    and `23_digest_file_empty-digest-files.json`;
 *  - `panther-analysis/cloudtrail_rule_tests.jsonl` (Apache-2.0): sanitized real events, last resort (PutObject,
 *    CopySnapshot, ...).
 * An API no source has borrows the envelope of a real record of the same service (`stats.envelope`), else of any
 * real record (`stats.generic`); the eval prints the counts.
 *
 * Records are modernized to what CloudTrail writes today: eventVersion 1.08 where older, explicit `readOnly`,
 * `managementEvent` and `eventCategory` (the 2017 grycap records predate those fields).
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { inferReadOnly } from '../../lambda/core/normalize';
import type { Rng } from './random';

export type RawRecord = Record<string, unknown>;

/** Who makes a call: an IAM user, a role session, or root. `name` may carry a path (`aws-reserved/.../Role`). */
export interface Who {
  readonly kind: 'IAMUser' | 'AssumedRole' | 'Root';
  readonly name: string;
  /** Assumed roles: the session name (defaults to the role's last path segment). */
  readonly session?: string;
  /** Assumed roles: `sessionContext.attributes.mfaAuthenticated`. */
  readonly mfa?: boolean;
}

/** One call to write: everything that is not the API's own shape. */
export interface Call {
  readonly account: string;
  readonly region: string;
  readonly time: number;
  readonly who: Who;
  readonly source: string;
  readonly name: string;
  readonly ip: string;
  readonly agent: string;
  readonly errorCode?: string;
  readonly errorMessage?: string;
  /** Replaces the template's requestParameters (S3 object keys, ...). */
  readonly request?: RawRecord | null;
  readonly response?: RawRecord | null;
  readonly additional?: RawRecord;
  readonly resources?: RawRecord[];
}

interface Template {
  readonly id: number;
  readonly dataset: string;
  /** JSON text of the cleaned record. */
  readonly text: string;
  readonly accounts: string[];
  readonly region: string;
  readonly failed: boolean;
  readonly data: boolean;
  /** Top-level fields: a fuller record makes a better template. */
  readonly keys: number;
}

/** A human's working session from the real grycap day: offsets from its first call, and each call's record. */
export interface Session {
  readonly principal: string;
  readonly calls: {
    readonly offset: number;
    readonly text: string;
    readonly region: string;
    readonly accounts: string[];
  }[];
  readonly minutes: number;
  readonly console: boolean;
  readonly writes: number;
}

/**
 * Data events among the APIs the scenarios call (S3 object-level operations and Lambda Invoke): CloudTrail logs
 * them only with data event selectors, as `eventCategory: Data`, `managementEvent: false`. Some sanitized
 * templates (Panther's) lost the category.
 */
const DATA_APIS = new Set([
  's3.amazonaws.com|GetObject',
  's3.amazonaws.com|PutObject',
  's3.amazonaws.com|DeleteObject',
  's3.amazonaws.com|HeadObject',
  's3.amazonaws.com|ListObjects',
  's3.amazonaws.com|CopyObject',
  'lambda.amazonaws.com|Invoke',
]);

const DATASETS = ['grycap', 'stratus', 'flaws2', 'otrf', 'awsdocs', 'panther'] as const;
const ACCOUNT_IN_ARN = /arn:aws[a-z-]*:[a-z0-9-]*:[a-z0-9-]*:(\d{12}):/g;

function walk(dir: string, suffix: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...walk(p, suffix));
    else if (entry.name.endsWith(suffix)) out.push(p);
  }
  return out.sort();
}

function accountsOf(r: RawRecord, text: string): string[] {
  const found = new Set<string>();
  const uid = (r.userIdentity ?? {}) as RawRecord;
  for (const v of [r.recipientAccountId, uid.accountId]) if (typeof v === 'string' && /^\d{12}$/.test(v)) found.add(v);
  for (const m of text.matchAll(ACCOUNT_IN_ARN)) found.add(m[1]);
  return [...found];
}

/** Drops export artefacts (Logstash `@timestamp`, Panther `p_*`) so only CloudTrail's own fields remain. */
function clean(r: RawRecord): RawRecord {
  const out: RawRecord = {};
  for (const [k, v] of Object.entries(r)) if (!k.startsWith('@') && !k.startsWith('p_')) out[k] = v;
  return out;
}

function replaceAll(text: string, from: readonly string[], to: string): string {
  let t = text;
  for (const f of from) if (f !== to) t = t.split(f).join(to);
  return t;
}

export class ShapeLibrary {
  /** How many records were written from a real record of the same API, a same-service envelope, or any envelope. */
  readonly stats = { real: 0, envelope: 0, generic: 0 };
  private readonly byApi = new Map<string, Template[]>();
  private readonly bySource = new Map<string, Template>();
  private readonly parsed = new Map<string, RawRecord>();
  private generic!: Template;
  private templates = 0;
  /** Human sessions of the real grycap day (2017-06-01), for background. */
  readonly sessions: Session[] = [];
  private grycapDay: RawRecord[] = [];

  static load(dataRoot: string): ShapeLibrary {
    const lib = new ShapeLibrary();
    const add = (dataset: string, r: RawRecord): void => lib.add(dataset, clean(r));
    const grycap: RawRecord[] = [];
    for (const f of walk(path.join(dataRoot, 'grycap-cloudtrail-tracker/examples'), '.json.gz')) {
      grycap.push(...(JSON.parse(gunzipSync(readFileSync(f)).toString('utf8')) as { Records: RawRecord[] }).Records);
    }
    // Templates prefer the 2017 day (the newest eventVersion of the set), then the older and the sa-east-1 records.
    grycap.sort(
      (a, b) =>
        Number(!String(a.eventTime).startsWith('2017-06-01')) - Number(!String(b.eventTime).startsWith('2017-06-01')),
    );
    for (const r of grycap) add('grycap', r);
    for (const f of walk(path.join(dataRoot, 'stratus-red-team/detonation-logs'), '.json')) {
      for (const r of JSON.parse(readFileSync(f, 'utf8')) as RawRecord[]) add('stratus', r);
    }
    for (const f of walk(path.join(dataRoot, 'flaws2-cloud/AWSLogs'), '.json.gz')) {
      for (const r of (JSON.parse(gunzipSync(readFileSync(f)).toString('utf8')) as { Records: RawRecord[] }).Records)
        add('flaws2', r);
    }
    for (const line of readFileSync(
      path.join(dataRoot, 'otrf-security-datasets/ec2_proxy_s3_exfiltration_2020-09-14011940.json'),
      'utf8',
    ).split('\n')) {
      if (line.trim()) add('otrf', JSON.parse(line) as RawRecord);
    }
    for (const f of walk(path.join(dataRoot, 'awsdocs-cloudtrail-user-guide/examples'), '.json')) {
      if (!/_(event|log_file)_/.test(path.basename(f))) continue;
      const doc = JSON.parse(readFileSync(f, 'utf8')) as RawRecord;
      for (const r of Array.isArray(doc.Records) ? (doc.Records as RawRecord[]) : [doc])
        if (r.eventName) add('awsdocs', r);
    }
    for (const line of readFileSync(path.join(dataRoot, 'panther-analysis/cloudtrail_rule_tests.jsonl'), 'utf8').split(
      '\n',
    )) {
      if (!line.trim()) continue;
      const log = (JSON.parse(line) as { log?: RawRecord }).log;
      if (log?.eventName && log.eventSource && log.userIdentity) add('panther', log);
    }
    // Data-event records first (they carry `resources` and bytes transferred), then by source, then the fullest.
    for (const list of lib.byApi.values()) {
      list.sort(
        (a, b) =>
          Number(b.data) - Number(a.data) ||
          DATASETS.indexOf(a.dataset as never) - DATASETS.indexOf(b.dataset as never) ||
          b.keys - a.keys,
      );
    }
    lib.generic = lib.byApi.get('ec2.amazonaws.com|DescribeInstances')![0];
    lib.grycapDay = grycap.filter((r) => String(r.eventTime).startsWith('2017-06-01'));
    lib.sessions.push(...sessionsOf(lib.grycapDay));
    return lib;
  }

  private add(dataset: string, r: RawRecord): void {
    if (typeof r.eventSource !== 'string' || typeof r.eventName !== 'string' || !r.userIdentity) return;
    if (r.eventType === 'AwsCloudTrailInsight') return;
    const text = JSON.stringify(r);
    const t: Template = {
      id: this.templates++,
      dataset,
      text,
      accounts: accountsOf(r, text),
      region: String(r.awsRegion ?? 'us-east-1'),
      failed: r.errorCode !== undefined || (r.responseElements as RawRecord | null)?.ConsoleLogin === 'Failure',
      data: r.eventCategory === 'Data',
      keys: Object.keys(r).length,
    };
    const key = `${r.eventSource}|${r.eventName}`;
    const list = this.byApi.get(key) ?? [];
    list.push(t);
    this.byApi.set(key, list);
    if (!t.failed && !this.bySource.has(r.eventSource)) this.bySource.set(r.eventSource, t);
  }

  /**
   * The service principals of the real grycap day (assumed roles and AWS services: OpsWorks, Lambda, EMR, Cloud
   * Custodian, Beanstalk), each call's offset from local midnight of that day.
   */
  serviceDay(): { principal: string; calls: Session['calls'] }[] {
    const day0 = Date.parse('2017-06-01T00:00:00Z') - GRYCAP_LOCAL_OFFSET;
    const byPrincipal = new Map<string, Session['calls'][number][]>();
    for (const r of this.grycapDay) {
      const u = (r.userIdentity ?? {}) as RawRecord;
      if (u.type !== 'AssumedRole' && u.type !== 'AWSService') continue;
      const issuer = ((u.sessionContext as RawRecord | undefined)?.sessionIssuer ?? {}) as RawRecord;
      const p = String(issuer.userName ?? u.invokedBy);
      const text = JSON.stringify(clean(r));
      const list = byPrincipal.get(p) ?? [];
      list.push({
        offset: Date.parse(String(r.eventTime)) - day0,
        text,
        region: String(r.awsRegion),
        accounts: accountsOf(r, text),
      });
      byPrincipal.set(p, list);
    }
    return [...byPrincipal.entries()].sort().map(([principal, calls]) => ({ principal, calls }));
  }

  /** True when a real record of this API exists (for the report). */
  has(source: string, name: string): boolean {
    return this.byApi.has(`${source}|${name}`);
  }

  /** The template for a call: a real record of the API (a failed one for a failed call when there is one). */
  private templateFor(c: Call): { t: Template; kind: 'real' | 'envelope' | 'generic' } {
    const list = this.byApi.get(`${c.source}|${c.name}`);
    if (list) {
      const wantFailed = c.errorCode !== undefined || c.errorMessage !== undefined;
      const t =
        (wantFailed &&
          list.find((x) => x.failed && (c.errorMessage !== undefined || x.text.includes(`"${c.errorCode}"`)))) ||
        list.find((x) => x.failed === wantFailed) ||
        list[0];
      return { t, kind: 'real' };
    }
    const env = this.bySource.get(c.source);
    return env ? { t: env, kind: 'envelope' } : { t: this.generic, kind: 'generic' };
  }

  /** The template rewritten for one account and Region, parsed once (nested objects are shared, never mutated). */
  private base(t: Template, account: string, region: string): RawRecord {
    const key = `${t.id}|${account}|${region}`;
    let r = this.parsed.get(key);
    if (!r) {
      r = JSON.parse(replaceAll(replaceAll(t.text, t.accounts, account), [t.region], region)) as RawRecord;
      this.parsed.set(key, r);
    }
    return r;
  }

  /** One record for `c`, from the best real template of its API. */
  make(rng: Rng, c: Call): RawRecord {
    const { t, kind } = this.templateFor(c);
    this.stats[kind]++;
    const base = this.base(t, c.account, c.region);
    return finish(rng, { ...base }, c, kind !== 'real');
  }

  /**
   * One real record replayed (its own request, response and user agent), rewritten for `c`: `c.agent` '' keeps
   * the record's user agent, `keepIdentity` its caller (service roles and AWS services of the background).
   */
  replay(
    rng: Rng,
    call: { readonly text: string; readonly accounts: readonly string[]; readonly region: string },
    c: Omit<Call, 'source' | 'name'>,
    keepIdentity = false,
  ): RawRecord {
    this.stats.real++;
    const r = JSON.parse(
      replaceAll(replaceAll(call.text, call.accounts, c.account), [call.region], c.region),
    ) as RawRecord;
    return finish(rng, r, { ...c, source: String(r.eventSource), name: String(r.eventName) }, false, keepIdentity);
  }
}

const uniqueIds = new Map<string, string>();

/** A stable 17-character unique ID for a principal, in the alphabet of IAM's own IDs. */
function uniqueId(account: string, name: string): string {
  const key = `${account}/${name}`;
  let id = uniqueIds.get(key);
  if (!id) {
    const h = createHash('sha256').update(key).digest();
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
    id = Array.from({ length: 17 }, (_, i) => alphabet[h[i] % 32]).join('');
    uniqueIds.set(key, id);
  }
  return id;
}

function identity(account: string, who: Who, time: number): RawRecord {
  const id = uniqueId(account, who.name);
  if (who.kind === 'Root') {
    return {
      type: 'Root',
      principalId: account,
      arn: `arn:aws:iam::${account}:root`,
      accountId: account,
      accessKeyId: `ASIA${id}`,
    };
  }
  if (who.kind === 'IAMUser') {
    return {
      type: 'IAMUser',
      principalId: `AIDA${id}`,
      arn: `arn:aws:iam::${account}:user/${who.name}`,
      accountId: account,
      accessKeyId: `AKIA${id}`,
      userName: who.name,
    };
  }
  const roleName = who.name.split('/').pop()!;
  const session = who.session ?? roleName;
  return {
    type: 'AssumedRole',
    principalId: `AROA${id}:${session}`,
    arn: `arn:aws:sts::${account}:assumed-role/${roleName}/${session}`,
    accountId: account,
    accessKeyId: `ASIA${id}`,
    sessionContext: {
      sessionIssuer: {
        type: 'Role',
        principalId: `AROA${id}`,
        arn: `arn:aws:iam::${account}:role/${who.name}`,
        accountId: account,
        userName: roleName,
      },
      attributes: {
        creationDate: `${new Date(Math.floor((time - 600_000) / 3_600_000) * 3_600_000).toISOString().slice(0, 19)}Z`,
        mfaAuthenticated: who.mfa ? 'true' : 'false',
      },
    },
  };
}

function s3RequestId(rng: Rng): string {
  return Array.from({ length: 16 }, () => '0123456789ABCDEF'[Math.floor(rng.next() * 16)]).join('');
}

/** Sets what the call decides on a record (a fresh top-level object), and modernizes old shapes. */
function finish(rng: Rng, r: RawRecord, c: Call, borrowed: boolean, keepIdentity = false): RawRecord {
  const data = r.eventCategory === 'Data' || DATA_APIS.has(`${c.source}|${c.name}`);
  if (Number(r.eventVersion ?? 0) < 1.08) r.eventVersion = '1.08';
  r.eventTime = `${new Date(c.time).toISOString().slice(0, 19)}Z`;
  r.eventSource = c.source;
  r.eventName = c.name;
  r.awsRegion = c.region;
  if (!keepIdentity) r.userIdentity = identity(c.account, c.who, c.time);
  // A replayed call made by a service keeps its source ("AWS Internal", "lambda.amazonaws.com").
  if (!keepIdentity || /^[\d.:a-f]+$/.test(String(r.sourceIPAddress ?? ''))) r.sourceIPAddress = c.ip;
  if (c.agent !== '') r.userAgent = c.agent;
  r.eventID = rng.uuid();
  r.requestID = c.source === 's3.amazonaws.com' ? s3RequestId(rng) : rng.uuid();
  r.recipientAccountId = c.account;
  delete r.sharedEventID;
  if (r.readOnly === undefined || borrowed) r.readOnly = inferReadOnly(c.name);
  r.eventCategory = data ? 'Data' : 'Management';
  r.managementEvent = !data;
  if (borrowed) {
    r.requestParameters = null;
    r.responseElements = null;
    delete r.resources;
    delete r.additionalEventData;
  }
  if (c.request !== undefined) r.requestParameters = c.request;
  if (c.response !== undefined) r.responseElements = c.response;
  if (c.additional !== undefined) r.additionalEventData = c.additional;
  if (c.resources !== undefined) r.resources = c.resources;
  const failed = c.errorCode !== undefined || c.errorMessage !== undefined;
  if (failed) {
    if (c.errorCode !== undefined) r.errorCode = c.errorCode;
    else delete r.errorCode;
    r.errorMessage = c.errorMessage ?? c.errorCode;
    if (c.response === undefined) r.responseElements = null;
  } else {
    delete r.errorCode;
    delete r.errorMessage;
  }
  if (r.eventType === 'AwsConsoleSignIn') {
    // Sign-in events carry no access key; a failed one names the user but has no ARN (awsdocs example 03).
    const u = r.userIdentity as RawRecord;
    if (failed) {
      delete u.arn;
      u.accessKeyId = '';
    } else delete u.accessKeyId;
  }
  return r;
}

/** Minutes from local midnight in Valencia (CEST, UTC+2, in June) of a grycap event: its own working day. */
const GRYCAP_LOCAL_OFFSET = 2 * 3_600_000;

function principalOf(r: RawRecord): string | undefined {
  const u = (r.userIdentity ?? {}) as RawRecord;
  return u.type === 'IAMUser' ? String(u.userName) : undefined;
}

/** Splits each grycap IAM user's day into sessions (30 minutes without a call end one). */
function sessionsOf(day: RawRecord[]): Session[] {
  const byUser = new Map<string, RawRecord[]>();
  for (const r of day) {
    const p = principalOf(r);
    if (!p) continue;
    const list = byUser.get(p) ?? [];
    list.push(r);
    byUser.set(p, list);
  }
  const out: Session[] = [];
  for (const [principal, records] of [...byUser.entries()].sort()) {
    records.sort((a, b) => Date.parse(String(a.eventTime)) - Date.parse(String(b.eventTime)));
    let current: RawRecord[] = [];
    const flush = (): void => {
      if (current.length === 0) return;
      const t0 = Date.parse(String(current[0].eventTime));
      const console = current.some((r) => r.eventName === 'ConsoleLogin');
      // Sign-in events are generated by the scenario (its own MFA and typo failures), not replayed.
      const calls = current
        .filter((r) => r.eventSource !== 'signin.amazonaws.com')
        .map((r) => {
          const text = JSON.stringify(clean(r));
          return {
            offset: Date.parse(String(r.eventTime)) - t0,
            text,
            region: String(r.awsRegion),
            accounts: accountsOf(r, text),
          };
        });
      const last = Date.parse(String(current[current.length - 1].eventTime));
      const writes = current.filter((r) => !inferReadOnly(String(r.eventName)) && r.readOnly !== true).length;
      if (calls.length > 0) out.push({ principal, calls, minutes: (last - t0) / 60_000, console, writes });
      current = [];
    };
    let prev = Number.NEGATIVE_INFINITY;
    for (const r of records) {
      const t = Date.parse(String(r.eventTime));
      if (t - prev > 30 * 60_000) flush();
      current.push(r);
      prev = t;
    }
    flush();
  }
  return out;
}
