/**
 * Insight → {@link Finding}: the mapper for `detail-type: Trailsight Insight` events.
 *
 * One episode is one finding: Start and End share `sharedEventID`, which becomes the finding id, so the End
 * updates (resolves) the finding its Start opened, and a redelivered event (same `eventID`) yields the same
 * finding version again. Versions are ordered by `trailsight.detectedAt` (the End is always later).
 */
import { INSIGHT_DETAIL_TYPE } from '../../../schema/findings';
import { shortPrincipal } from '../detect';
import type { DetectorKind } from '../detect/config';
import type { InsightEvent } from '../detect/insight';
import type { EvidenceQuery, Finding, FindingMeasure, FindingSeverity } from './finding';

export { INSIGHT_DETAIL_TYPE };

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

interface DetectorProfile {
  readonly title: string;
  readonly severity: FindingSeverity;
  /** ASFF finding types (namespace/category), most general first. */
  readonly types: readonly string[];
  /** What the measure counts. */
  readonly counts: (i: InsightEvent) => string;
}

/**
 * Severity and taxonomy per detector. HIGH matches the detectors the deployed example rule pages someone for
 * (lib/detection/insight-alerting.ts `HIGH_SEVERITY_DETECTORS`; a test keeps the two in step).
 */
export const DETECTOR_PROFILES: Readonly<Record<DetectorKind, DetectorProfile>> = {
  'call-rate': {
    title: 'Unusual call rate',
    severity: 'MEDIUM',
    types: ['Unusual Behaviors/Application', 'Effects/Resource Consumption'],
    counts: (i) => `calls of ${i.insightDetails.eventName} (${i.insightDetails.eventSource})`,
  },
  'error-rate': {
    title: 'Unusual error rate',
    severity: 'LOW',
    types: ['Unusual Behaviors/Application'],
    counts: (i) =>
      `${i.insightDetails.errorCode ?? 'error'} errors of ${i.insightDetails.eventName} (${i.insightDetails.eventSource})`,
  },
  'iam-burst': {
    title: 'Burst of IAM changes',
    severity: 'HIGH',
    types: ['Unusual Behaviors/User', 'TTPs/Persistence'],
    counts: (i) => `IAM write calls by ${who(i)}`,
  },
  recon: {
    title: 'Read-only reconnaissance sweep',
    severity: 'HIGH',
    types: ['Unusual Behaviors/User', 'TTPs/Discovery'],
    counts: (i) => `read-only calls by ${who(i)}`,
  },
  'access-denied': {
    title: 'AccessDenied storm',
    severity: 'HIGH',
    types: ['Unusual Behaviors/User', 'TTPs/Discovery'],
    counts: (i) => `denied calls of ${who(i)}`,
  },
  gap: {
    title: 'Scheduled job did not run',
    severity: 'MEDIUM',
    types: ['Unusual Behaviors/Application'],
    counts: (i) => `calls of ${i.insightDetails.eventName} by ${who(i)}`,
  },
  'delivery-gap': {
    title: 'CloudTrail stopped delivering logs',
    severity: 'HIGH',
    types: ['Unusual Behaviors/Application', 'TTPs/Defense Evasion'],
    counts: () => 'log files delivered',
  },
  'unused-region': {
    title: 'Provisioning in an unused Region',
    severity: 'HIGH',
    types: ['Unusual Behaviors/User', 'Effects/Resource Consumption'],
    counts: (i) => `provisioning calls in ${i.awsRegion}`,
  },
  's3-exfiltration': {
    title: 'Bulk S3 object reads',
    severity: 'HIGH',
    types: ['Unusual Behaviors/Data', 'Effects/Data Exfiltration'],
    counts: (i) => `S3 objects read by ${who(i)}`,
  },
  'console-brute-force': {
    title: 'Console sign-in brute force',
    severity: 'HIGH',
    types: ['Unusual Behaviors/User', 'TTPs/Credential Access'],
    counts: (i) => `failed console sign-ins for ${who(i)}`,
  },
};

function who(i: InsightEvent): string {
  return i.trailsight.principal ? shortPrincipal(i.trailsight.principal) : 'several principals';
}

function iso(ms: number): string {
  return `${new Date(Math.floor(ms / 1000) * 1000).toISOString().slice(0, 19)}Z`;
}

/** When the episode's activity was last seen: the end of the test window (Start) or of the episode (End). */
function lastSeenOf(i: InsightEvent): number {
  const start = Date.parse(i.eventTime);
  const detected = Date.parse(i.trailsight.detectedAt);
  const { detector } = i.trailsight;
  if (detector === 'gap' || detector === 'delivery-gap') return detected;
  const minutes =
    i.insightDetails.state === 'End'
      ? i.insightDetails.insightContext.statistics.insightDuration
      : i.trailsight.windowMinutes;
  return Math.min(detected, start + minutes * MINUTE);
}

/**
 * The named query to run next, scoped to the episode (an hour either side): what the principal did, or, for
 * a silent trail, whether anyone stopped or blinded it; for password spraying, the failed sign-ins by source
 * IP. API-level insights without a dominant caller get the APIs called for the first time around the episode.
 */
export function evidenceQueryFor(i: InsightEvent): EvidenceQuery {
  const first = Date.parse(i.eventTime);
  const start = iso(first - HOUR);
  const end = iso(lastSeenOf(i) + HOUR);
  const { detector, principal } = i.trailsight;
  if (detector === 'delivery-gap') {
    return { name: 'cloudtrail-tampering', params: { start: iso(first - 24 * HOUR), end } };
  }
  // Password spraying names no principal: which addresses tried which users.
  if (detector === 'console-brute-force' && principal === undefined) {
    return { name: 'console-login-failures-by-ip', params: { start, end } };
  }
  if (principal !== undefined) {
    if (detector === 'gap' && i.trailsight.expectedAt) {
      const due = Date.parse(i.trailsight.expectedAt);
      return {
        name: 'principal-activity',
        params: { start: iso(due - 24 * HOUR), end: iso(Math.max(due, lastSeenOf(i)) + HOUR), principal },
      };
    }
    return { name: 'principal-activity', params: { start, end, principal } };
  }
  return { name: 'first-seen-api', params: { start: iso(first - 30 * 24 * HOUR), end, since: start } };
}

function measureOf(i: InsightEvent): FindingMeasure | undefined {
  const t = i.trailsight;
  if (t.detector === 'gap' || t.detector === 'delivery-gap') return undefined;
  const start = Date.parse(i.eventTime);
  return {
    what: DETECTOR_PROFILES[t.detector].counts(i),
    observed: t.observed,
    expected: t.expected,
    windowMinutes: t.windowMinutes,
    windowStart: start,
    pValue: t.score,
  };
}

function titleOf(i: InsightEvent): string {
  const t = i.trailsight;
  const base = DETECTOR_PROFILES[t.detector].title;
  const subject =
    t.detector === 'delivery-gap' || t.detector === 'unused-region'
      ? `${i.recipientAccountId}/${i.awsRegion}`
      : t.principal && t.detector !== 'call-rate' && t.detector !== 'error-rate'
        ? shortPrincipal(t.principal)
        : i.insightDetails.eventName;
  const ended = i.insightDetails.state === 'End' ? ' (ended)' : '';
  return `${base}: ${subject}${ended}`;
}

function descriptionOf(i: InsightEvent): string {
  if (i.insightDetails.state === 'Start') return i.trailsight.explanation;
  const s = i.insightDetails.insightContext.statistics;
  const total = i.trailsight.observed;
  const span =
    i.trailsight.detector === 'gap' || i.trailsight.detector === 'delivery-gap'
      ? 'the activity resumed'
      : `the episode lasted ${s.insightDuration} min (${total} calls)`;
  return `Ended: ${span}. ${i.trailsight.explanation}`;
}

/**
 * When this version was produced. An End must order after its Start (Security Hub ignores an update whose
 * `UpdatedAt` is not later), but both can come from the same delivery: a delivery gap starts and ends when the
 * first file after the silence arrives. So an End is stamped one millisecond after its detection time.
 */
function updatedAtOf(i: InsightEvent): number {
  return Date.parse(i.trailsight.detectedAt) + (i.insightDetails.state === 'End' ? 1 : 0);
}

/** The finding one insight event describes. */
export function findingFromInsight(i: InsightEvent): Finding {
  const t = i.trailsight;
  const d = i.insightDetails;
  const measure = measureOf(i);
  const hasApi = d.eventSource !== '' && d.eventName !== '' && t.detector !== 'delivery-gap';
  const sourceFields: Record<string, string> = {
    'trailsight/detector': t.detector,
    'trailsight/state': d.state,
    'trailsight/insightType': d.insightType,
    'trailsight/account': i.recipientAccountId,
    'trailsight/region': i.awsRegion,
    'trailsight/eventID': i.eventID,
    'trailsight/sharedEventID': i.sharedEventID,
    'trailsight/observed': String(t.observed),
    'trailsight/expected': String(t.expected),
    'trailsight/score': String(t.score),
    'trailsight/windowMinutes': String(t.windowMinutes),
  };
  if (t.principal !== undefined) sourceFields['trailsight/principal'] = t.principal;
  if (t.eventNames.length > 0) sourceFields['trailsight/eventNames'] = t.eventNames.slice(0, 20).join(', ');
  if (t.errorCodes.length > 0) sourceFields['trailsight/errorCodes'] = t.errorCodes.slice(0, 20).join(', ');
  if (t.expectedAt !== undefined) sourceFields['trailsight/expectedAt'] = t.expectedAt;
  if (t.gapCause !== undefined) sourceFields['trailsight/gapCause'] = t.gapCause;
  if (t.sourceIps !== undefined && t.sourceIps.length > 0)
    sourceFields['trailsight/sourceIps'] = t.sourceIps.slice(0, 20).join(', ');
  return {
    sourceType: INSIGHT_DETAIL_TYPE,
    id: `trailsight/insight/${i.sharedEventID}`,
    eventId: i.eventID,
    generatorId: `trailsight/insight/${t.detector}`,
    title: titleOf(i),
    description: descriptionOf(i),
    severity: DETECTOR_PROFILES[t.detector].severity,
    state: d.state === 'Start' ? 'active' : 'resolved',
    firstSeen: Date.parse(i.eventTime),
    lastSeen: lastSeenOf(i),
    updatedAt: updatedAtOf(i),
    account: i.recipientAccountId,
    region: i.awsRegion,
    ...(t.principal !== undefined ? { principal: { arn: t.principal, name: shortPrincipal(t.principal) } } : {}),
    ...(hasApi ? { api: { service: d.eventSource, operation: d.eventName } } : {}),
    operations: t.eventNames,
    errorCodes: t.errorCodes,
    types: DETECTOR_PROFILES[t.detector].types,
    ...(measure ? { measure } : {}),
    evidenceQuery: evidenceQueryFor(i),
    sourceFields,
  };
}
