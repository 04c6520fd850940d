/**
 * Turns one parsed CloudTrail record into a {@link TrailEvent}, or says why it cannot.
 *
 * Old records are the norm, not the exception: eventVersion 1.01 has no `eventType`, and most records
 * before ~2018 have no `readOnly`, so read/write is then inferred from the API name (and flagged).
 * Field types are checked, never trusted: `readOnly` arrives as a boolean or as `"true"`/`"false"`.
 */
import type { PrincipalKind, TrailEvent } from './event';

/** Why a record was skipped. Counted per file by the reader. */
export type SkipReason =
  /** eventTime or eventName is missing or not a string. */
  | 'record-missing-field'
  /** eventTime is present but is not an ISO-8601 time. */
  | 'record-bad-time'
  /** An Insights record (`eventType: AwsCloudTrailInsight`): not an API call, so it is not counted as one. */
  | 'insight-record';

export interface Skip {
  readonly skip: SkipReason;
  readonly message: string;
}

export interface NormalizeContext {
  /** Used when neither recipientAccountId nor userIdentity.accountId is present (e.g. the account from the object key). */
  readonly fallbackAccount?: string;
  /** Keep the parsed record on the event (forensics). */
  readonly keepRaw?: boolean;
}

export function isSkip(value: TrailEvent | Skip): value is Skip {
  return (value as Skip).skip !== undefined;
}

type Json = Record<string, unknown>;

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

function obj(v: unknown): Json | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : undefined;
}

// Read-only API name prefixes. Checked against every record in ../shared/data that carries `readOnly`:
// the inference agrees on all but a handful (see test/core/normalize.test.ts).
const READ_PREFIX =
  /^(?:Describe|Get|List|Head|Lookup|Search|Scan|Query|Check|BatchGet|Select|View|Preview|Estimate|Verify|Validate|Decrypt|Encrypt|ReEncrypt|GenerateDataKey|GenerateRandom|GenerateMac|Test|Detect|Discover|Download|Filter|Read|Retrieve|Simulate|AssumeRole)/;
// Names that look like reads but are recorded as writes. (AssumeRole* is recorded as readOnly=true by current
// CloudTrail, so it is a read here too, matching the field when it is present.)
const WRITE_DESPITE_PREFIX = /^(?:GetFederationToken|GetSessionToken)$/;

/** Infers read-only from an API name, for records without a `readOnly` field. */
export function inferReadOnly(eventName: string): boolean {
  return READ_PREFIX.test(eventName) && !WRITE_DESPITE_PREFIX.test(eventName);
}

function readOnlyField(v: unknown): boolean | undefined {
  if (v === true || v === 'true') return true;
  if (v === false || v === 'false') return false;
  return undefined;
}

/** The number in `v[at, at+len)`, or -1 when a character is not a digit. */
function digits(v: string, at: number, len: number): number {
  let n = 0;
  for (let i = at; i < at + len; i++) {
    const c = v.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    n = n * 10 + c;
  }
  return n;
}

const ISO_TIME = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})?$/;

/**
 * Parses CloudTrail's `YYYY-MM-DDTHH:MM:SSZ` and close variants (fractions, a numeric offset, a space instead
 * of `T`) as epoch ms. A time without a zone is taken as UTC, never as the machine's local time.
 */
export function parseEventTime(v: string): number | undefined {
  // Fast path for CloudTrail's own `YYYY-MM-DDTHH:MM:SSZ` (every real record): no regex, no substrings.
  if (
    v.length === 20 &&
    v.charCodeAt(19) === 0x5a &&
    v.charCodeAt(10) === 0x54 &&
    v.charCodeAt(4) === 0x2d &&
    v.charCodeAt(7) === 0x2d &&
    v.charCodeAt(13) === 0x3a &&
    v.charCodeAt(16) === 0x3a
  ) {
    const y = digits(v, 0, 4);
    const mo = digits(v, 5, 2);
    const d = digits(v, 8, 2);
    const h = digits(v, 11, 2);
    const mi = digits(v, 14, 2);
    const s = digits(v, 17, 2);
    if (
      y >= 0 &&
      mo >= 1 &&
      mo <= 12 &&
      d >= 1 &&
      d <= 31 &&
      h >= 0 &&
      h <= 23 &&
      mi >= 0 &&
      mi <= 59 &&
      s >= 0 &&
      s <= 60
    ) {
      return Date.UTC(y, mo - 1, d, h, mi, s);
    }
    return undefined;
  }
  const m = ISO_TIME.exec(v);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  const month = Number(mo);
  const day = Number(d);
  if (month < 1 || month > 12 || day < 1 || day > 31 || Number(h) > 23 || Number(mi) > 59 || Number(s) > 60) {
    return undefined;
  }
  let t = Date.UTC(Number(y), month - 1, day, Number(h), Number(mi), Number(s));
  if (frac) t += Math.floor(Number(`0.${frac}`) * 1000);
  if (zone && zone !== 'Z') {
    const sign = zone[0] === '-' ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    t -= sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2))) * 60000;
  }
  return t;
}

const ARN_ACCOUNT = /^arn:[^:]*:[^:]*::(\d{12}):/;

interface Principal {
  principal: string;
  principalKind: PrincipalKind;
  sessionName?: string;
}

/**
 * Folds a `userIdentity` to a stable principal so baselines are per identity, not per session
 * (the folding rules are on {@link TrailEvent.principal}).
 */
export function foldPrincipal(identity: unknown): Principal {
  const id = obj(identity);
  if (!id) return { principal: 'unknown', principalKind: 'Unknown' };
  const type = str(id.type);
  const arn = str(id.arn);
  const accountId = str(id.accountId) ?? (arn ? ARN_ACCOUNT.exec(arn)?.[1] : undefined);
  switch (type) {
    case 'Root':
      return { principal: accountId ? `arn:aws:iam::${accountId}:root` : (arn ?? 'root'), principalKind: 'Root' };
    case 'IAMUser':
      return {
        principal: arn ?? (accountId && str(id.userName) ? `arn:aws:iam::${accountId}:user/${id.userName}` : 'unknown'),
        principalKind: 'IAMUser',
      };
    case 'AssumedRole': {
      const issuerArn = str(obj(obj(id.sessionContext)?.sessionIssuer)?.arn);
      // arn:aws:sts::<acct>:assumed-role/<RoleName>/<SessionName>
      const m = arn ? /^arn:([^:]+):sts::(\d{12}):assumed-role\/([^/]+)\/(.*)$/.exec(arn) : null;
      const sessionName = m?.[4] || undefined;
      const principal = issuerArn ?? (m ? `arn:${m[1]}:iam::${m[2]}:role/${m[3]}` : (arn ?? 'unknown'));
      return sessionName
        ? { principal, principalKind: 'AssumedRole', sessionName }
        : { principal, principalKind: 'AssumedRole' };
    }
    case 'AWSService':
      return { principal: str(id.invokedBy) ?? 'aws-service', principalKind: 'AWSService' };
    case 'AWSAccount': {
      if (accountId === 'ANONYMOUS_PRINCIPAL' || accountId === 'anonymous' || id.principalId === 'anonymous') {
        return { principal: 'anonymous', principalKind: 'Anonymous' };
      }
      return { principal: accountId ? `aws-account:${accountId}` : 'unknown', principalKind: 'AWSAccount' };
    }
    case 'Role':
    case 'FederatedUser':
    case 'IdentityCenterUser':
      return { principal: arn ?? str(id.userName) ?? str(id.principalId) ?? 'unknown', principalKind: type };
    case 'SAMLUser':
    case 'WebIdentityUser': {
      const provider = str(id.identityProvider);
      const user = str(id.userName) ?? str(id.principalId) ?? 'unknown';
      return { principal: provider ? `${provider}:${user}` : user, principalKind: type };
    }
    default:
      return { principal: arn ?? str(id.userName) ?? str(id.principalId) ?? 'unknown', principalKind: 'Unknown' };
  }
}

/**
 * Normalizes one record. Returns a {@link Skip} (never throws) when the record is not a usable API event.
 * Requires `eventTime` and `eventName`; everything else has a documented fallback.
 */
export function normalizeRecord(record: Json, ctx: NormalizeContext = {}): TrailEvent | Skip {
  const eventTime = record.eventTime;
  const eventType = str(record.eventType);
  if (eventType === 'AwsCloudTrailInsight') {
    return { skip: 'insight-record', message: 'Insights record (not an API call)' };
  }
  const name = str(record.eventName);
  if (typeof eventTime !== 'string' || name === undefined) {
    const missing = [typeof eventTime !== 'string' && 'eventTime', name === undefined && 'eventName'].filter(Boolean);
    return { skip: 'record-missing-field', message: `record has no ${missing.join(' or ')}` };
  }
  const time = parseEventTime(eventTime);
  if (time === undefined)
    return { skip: 'record-bad-time', message: `eventTime is not ISO-8601: ${eventTime.slice(0, 40)}` };

  const identity = record.userIdentity;
  const folded = foldPrincipal(identity);
  const recorded = readOnlyField(record.readOnly);
  const category = str(record.eventCategory);
  const managementField = record.managementEvent;
  const errorCode = str(record.errorCode);
  let loginOutcome: 'Success' | 'Failure' | undefined;
  let mfaUsed: boolean | undefined;
  if (name === 'ConsoleLogin') {
    const outcome = str(obj(record.responseElements)?.ConsoleLogin);
    if (outcome === 'Success' || outcome === 'Failure') loginOutcome = outcome;
    else if (errorCode) loginOutcome = 'Failure';
    const mfa = str(obj(record.additionalEventData)?.MFAUsed);
    if (mfa === 'Yes' || mfa === 'No') mfaUsed = mfa === 'Yes';
  }
  // One object literal with every field (absent ones undefined): every event has the same hidden class, so the
  // aggregator's and detectors' property reads stay monomorphic. That is measurably faster than adding fields
  // conditionally (bench/), and `toEqual`/JSON treat undefined fields as absent.
  const event: TrailEvent = {
    time,
    account: str(record.recipientAccountId) ?? str(obj(identity)?.accountId) ?? ctx.fallbackAccount ?? 'unknown',
    region: str(record.awsRegion) ?? 'unknown',
    source: str(record.eventSource) ?? 'unknown',
    name,
    readOnly: recorded ?? inferReadOnly(name),
    readOnlyInferred: recorded === undefined,
    errorCode,
    principal: folded.principal,
    principalKind: folded.principalKind,
    sessionName: folded.sessionName,
    sourceIp: str(record.sourceIPAddress),
    userAgent: str(record.userAgent),
    eventId: str(record.eventID),
    eventType,
    category,
    management:
      managementField === true || managementField === 'true'
        ? true
        : managementField === false || managementField === 'false'
          ? false
          : category === undefined || category === 'Management',
    loginOutcome,
    mfaUsed,
    raw: ctx.keepRaw ? record : undefined,
  };
  return event;
}
