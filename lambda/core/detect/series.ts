/**
 * The count series the engine learns, as typed keys.
 *
 * A series is what one detector tests: the successful write calls of one API in one Region, one error code
 * of one API in one Region, the provisioning attempts in one Region, or one principal's writes, failures,
 * IAM writes, reads, denials, S3 object reads, failed console sign-ins or sign-ins without MFA across the
 * account's Regions (the evidence about a principal adds up wherever it acts). In memory and in storage a
 * series is identified by a compact string id (`<code>|<fields…>`), because ids are map keys in state that is
 * written on every compaction; code outside this module works with {@link SeriesKey} and never parses ids.
 */
import type { TrailEvent } from '../event';
import type { DetectorKind } from './config';

/** Successful write calls of one API in one Region (call-rate). */
export interface ApiCallsKey {
  readonly kind: 'api-calls';
  readonly region: string;
  readonly source: string;
  readonly name: string;
}

/** Calls of one API in one Region that failed with one error code (error-rate). */
export interface ApiErrorsKey {
  readonly kind: 'api-errors';
  readonly region: string;
  readonly source: string;
  readonly name: string;
  readonly code: string;
}

/** Calls of the {@link PROVISIONING_APIS} in one Region, failed attempts included (unused-region). */
export interface RegionProvisioningKey {
  readonly kind: 'region-provisioning';
  readonly region: string;
}

/**
 * A per-principal series, over all the account's Regions: writes and failures (the caller check), IAM
 * writes, reads, denials, S3 object reads (data events), failed console sign-ins for the principal, and its
 * successful console sign-ins without MFA (evidence for console-brute-force, never tested on its own).
 */
export interface PrincipalKey {
  readonly kind:
    | 'principal-writes'
    | 'principal-failures'
    | 'iam-writes'
    | 'reads'
    | 'denials'
    | 'object-reads'
    | 'login-failures'
    | 'logins-without-mfa';
  readonly principal: string;
}

/**
 * The account's failed console sign-ins, whichever user they named (console-brute-force: password spraying,
 * a few guesses against each of many users from one place).
 */
export interface AccountSignInFailuresKey {
  readonly kind: 'account-login-failures';
}

export type SeriesKey = ApiCallsKey | ApiErrorsKey | RegionProvisioningKey | AccountSignInFailuresKey | PrincipalKey;
export type SeriesKind = SeriesKey['kind'];

/** Storage code of each kind (one character: ids are map keys in every stored page). */
const CODE: Record<SeriesKind, string> = {
  'api-calls': 'c',
  'api-errors': 'e',
  'region-provisioning': 'g',
  'account-login-failures': 'f',
  'principal-writes': 'w',
  'principal-failures': 'x',
  'iam-writes': 'i',
  reads: 'r',
  denials: 'd',
  'object-reads': 'o',
  'login-failures': 'l',
  'logins-without-mfa': 'm',
};
const KIND_OF_CODE: Record<string, SeriesKind> = Object.fromEntries(
  Object.entries(CODE).map(([kind, code]) => [code, kind as SeriesKind]),
);

/**
 * The detector that tests a kind of series; the caller-check series are tested by none, and sign-ins without
 * MFA are tested as the end of a failure series (console-brute-force).
 */
export const DETECTOR_OF: Readonly<Record<SeriesKind, Exclude<DetectorKind, 'gap' | 'delivery-gap'> | undefined>> = {
  'api-calls': 'call-rate',
  'api-errors': 'error-rate',
  'region-provisioning': 'unused-region',
  'account-login-failures': 'console-brute-force',
  'principal-writes': undefined,
  'principal-failures': undefined,
  'iam-writes': 'iam-burst',
  reads: 'recon',
  denials: 'access-denied',
  'object-reads': 's3-exfiltration',
  'login-failures': 'console-brute-force',
  'logins-without-mfa': 'console-brute-force',
};

/**
 * Calls that start compute capacity (`eventSource:eventName`): what `unused-region` counts and what
 * `call-rate` also tests over the long window (low-and-slow provisioning). Chosen for what crypto-mining
 * abuse of stolen credentials calls (EC2 instances, fleets and Spot requests, Auto Scaling groups, Lightsail
 * instances, SageMaker notebooks and training jobs, EKS node groups); setup calls (key pairs, security
 * groups) are not provisioning. A fixed list, because it decides which series a file's delta holds, and
 * stored deltas must mean the same thing to every reader.
 */
export const PROVISIONING_APIS: readonly string[] = [
  'ec2.amazonaws.com:RunInstances',
  'ec2.amazonaws.com:CreateFleet',
  'ec2.amazonaws.com:RequestSpotInstances',
  'ec2.amazonaws.com:RequestSpotFleet',
  'ec2.amazonaws.com:RunScheduledInstances',
  'ec2.amazonaws.com:StartInstances',
  'autoscaling.amazonaws.com:CreateAutoScalingGroup',
  'lightsail.amazonaws.com:CreateInstances',
  'sagemaker.amazonaws.com:CreateNotebookInstance',
  'sagemaker.amazonaws.com:CreateTrainingJob',
  'eks.amazonaws.com:CreateNodegroup',
];
const PROVISIONING = new Set(PROVISIONING_APIS);

/** True for a call of the {@link PROVISIONING_APIS}. */
export function isProvisioning(source: string, name: string): boolean {
  return PROVISIONING.has(`${source}:${name}`);
}

/**
 * S3 data events that read an object's content: what `s3-exfiltration` counts (HeadObject and the ACL and
 * tagging reads return no content).
 */
const OBJECT_READS = new Set(['GetObject', 'SelectObjectContent', 'GetObjectTorrent']);

/** True for an S3 data event that reads an object's content. */
export function isObjectRead(ev: Pick<TrailEvent, 'readOnly' | 'management' | 'source' | 'name'>): boolean {
  return ev.readOnly && !ev.management && ev.source === 's3.amazonaws.com' && OBJECT_READS.has(ev.name);
}

/** The string id of a series (a map key in state). */
export function seriesId(key: SeriesKey): string {
  switch (key.kind) {
    case 'api-calls':
      return `c|${key.region}|${key.source}|${key.name}`;
    case 'api-errors':
      return `e|${key.region}|${key.source}|${key.name}|${key.code}`;
    case 'region-provisioning':
      return `g|${key.region}`;
    case 'account-login-failures':
      return 'f|';
    default:
      return `${CODE[key.kind]}|${key.principal}`;
  }
}

/** The key of a series id written by {@link seriesId}. */
export function parseSeriesId(id: string): SeriesKey {
  const kind = KIND_OF_CODE[id[0]];
  if (!kind || id[1] !== '|') throw new Error(`not a series id: ${id}`);
  const rest = id.slice(2);
  if (kind === 'api-calls' || kind === 'api-errors') {
    const [region, source, name, ...code] = rest.split('|');
    return kind === 'api-calls' ? { kind, region, source, name } : { kind, region, source, name, code: code.join('|') };
  }
  if (kind === 'region-provisioning') return { kind, region: rest };
  if (kind === 'account-login-failures') return { kind };
  return { kind, principal: rest };
}

/** The kind of a series id, without parsing the rest. */
export function kindOf(id: string): SeriesKind {
  const kind = KIND_OF_CODE[id[0]];
  if (!kind) throw new Error(`not a series id: ${id}`);
  return kind;
}

/** Per-API series (call-rate, error-rate) as opposed to per-principal ones. */
export function isApiSeries(id: string): boolean {
  return id[0] === 'c' || id[0] === 'e';
}

/**
 * Series whose windows learn which APIs a principal uses and the largest bursts it makes: the first-seen logic
 * of recon and access-denied, and the habits of recon and iam-burst (rate.ts).
 */
export function learnsApis(id: string): boolean {
  return id[0] === 'r' || id[0] === 'd' || id[0] === 'i';
}

/** Series whose windows learn the source IPs a principal reads objects from (s3-exfiltration). */
export function learnsSources(id: string): boolean {
  return id[0] === 'o';
}

/**
 * Series folded into a baseline by compactions. Provisioning per Region is judged against the Region's
 * provisioning memory in the head, and sign-ins without MFA are evidence within a window: neither needs a
 * seasonal baseline.
 */
export function hasBaseline(id: string): boolean {
  return id[0] !== 'g' && id[0] !== 'm';
}

/**
 * Series tested over the long window too: the provisioning APIs' calls (low-and-slow provisioning), the
 * provisioning per Region (unused-region) and sign-ins without MFA (the failures before them).
 */
export function hasLongTest(id: string): boolean {
  const code = id[0];
  if (code === 'g' || code === 'm') return true;
  if (code !== 'c') return false;
  const [, , source, name] = id.split('|');
  return isProvisioning(source, name);
}

/**
 * The storage group of a series: everything about one principal (its series, first-seen sets, jobs) or one
 * API (its call and error series) lives together, so one page read answers every question about it.
 */
export function groupOf(id: string): string {
  if (isApiSeries(id)) {
    const [, region, source, name] = id.split('|');
    return `a|${region}|${source}|${name}`;
  }
  if (id[0] === 'g' || id[0] === 'f') return id;
  return `p|${id.slice(2)}`;
}

/** The group of a principal (its series, jobs and last-seen time). */
export function principalGroup(principal: string): string {
  return `p|${principal}`;
}

/** The caller-check series of a per-API series' dominant principal: its writes (calls) or failures (errors). */
export function callerSeries(apiSeriesId: string, principal: string): string {
  return seriesId({ kind: apiSeriesId[0] === 'c' ? 'principal-writes' : 'principal-failures', principal });
}

/** A learned periodic job: one principal calling one API in one Region. Id: `<principal>|<region>|<source>|<name>`. */
export interface JobKey {
  readonly principal: string;
  readonly region: string;
  readonly source: string;
  readonly name: string;
}

export function jobId(key: JobKey): string {
  return `${key.principal}|${key.region}|${key.source}|${key.name}`;
}

/** Principals may contain `|` in pathological input: the Region, source and name are the last three fields. */
export function parseJobId(id: string): JobKey {
  // The last three separators, found from the end (ids are parsed for every job of every file).
  const c = id.lastIndexOf('|');
  const b = c > 0 ? id.lastIndexOf('|', c - 1) : -1;
  const a = b > 0 ? id.lastIndexOf('|', b - 1) : -1;
  if (a < 0) {
    const fields = id.split('|');
    const [region, source, name] = fields.slice(-3);
    return { principal: fields.slice(0, -3).join('|'), region, source, name };
  }
  return { principal: id.slice(0, a), region: id.slice(a + 1, b), source: id.slice(b + 1, c), name: id.slice(c + 1) };
}
