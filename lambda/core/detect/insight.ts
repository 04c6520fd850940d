/**
 * The insight event: the CloudTrail Insights record shape (so existing Insights consumers keep working)
 * plus a `trailsight` object that says which detector fired, about whom, what was observed against what
 * was expected, how surprising that is, and one sentence a human can act on.
 */
import { createHash } from 'node:crypto';
import type { DetectorKind } from './config';

export type InsightState = 'Start' | 'End';
export type InsightType = 'ApiCallRateInsight' | 'ApiErrorRateInsight';

/**
 * Why a gap's activity is missing: a periodic job that did not run, a trail that stopped delivering, or a
 * trail whose logging was turned off (a logged `StopLogging` or `DeleteTrail`).
 */
export const GAP_CAUSES = ['job-stopped', 'delivery-stopped', 'logging-stopped'] as const;
export type GapCause = (typeof GAP_CAUSES)[number];

/** One `{ value, average }` item of an attribution list (averages are per minute). */
export interface AttributionValue {
  readonly value: string;
  readonly average: number;
}

export interface Attribution {
  readonly attribute: 'userIdentityArn' | 'userAgent' | 'errorCode';
  readonly insight: AttributionValue[];
  readonly baseline: AttributionValue[];
}

export interface InsightStatistics {
  /** Expected calls per minute at this time of day/week. */
  readonly baseline: { readonly average: number };
  /** Start: the rate in the first anomalous window; End: the average over the episode (per minute). */
  readonly insight: { readonly average: number };
  /** Minutes of history behind the baseline. */
  readonly baselineDuration: number;
  /** Minutes of anomalous activity so far (Start) or in total (End). */
  readonly insightDuration: number;
}

export interface InsightDetails {
  readonly state: InsightState;
  readonly eventSource: string;
  readonly eventName: string;
  readonly insightType: InsightType;
  /** For ApiErrorRateInsight: the error code the insight is about. */
  readonly errorCode?: string;
  readonly insightContext: {
    readonly statistics: InsightStatistics;
    readonly attributions: Attribution[];
  };
}

/** What Trailsight adds to the Insights record. */
export interface TrailsightDetails {
  readonly detector: DetectorKind;
  /** ISO time the event is emitted: the delivery time of the file (or tick) that triggered it. */
  readonly detectedAt: string;
  /** The principal the insight is about (principal-level detectors), or the dominant caller. */
  readonly principal?: string;
  /** Every API involved, most frequent first. */
  readonly eventNames: string[];
  /** Every error code involved, most frequent first. */
  readonly errorCodes: string[];
  /** Calls seen in the test window (Start) or over the episode (End); 0 for gaps. */
  readonly observed: number;
  /** Calls expected in the same window from the baseline. */
  readonly expected: number;
  /** Upper-tail p-value of `observed` under the baseline (for gaps: probability of the silence). */
  readonly score: number;
  /** Width of the test window, minutes (Start), or the episode's minutes (End). */
  readonly windowMinutes: number;
  /** s3-exfiltration, console-brute-force: the source IPs of the activity, most frequent first. */
  readonly sourceIps?: string[];
  /** gap / delivery-gap: why the activity is missing. */
  readonly gapCause?: GapCause;
  /** gap / delivery-gap: when the missing activity was due (ISO). */
  readonly expectedAt?: string;
  /** gap: the learned schedule period, minutes. */
  readonly periodMinutes?: number;
  /** One sentence a human can act on. */
  readonly explanation: string;
}

/** One insight record (one line of `trailsight detect --format jsonl`). */
export interface InsightEvent {
  readonly eventVersion: string;
  readonly eventTime: string;
  readonly awsRegion: string;
  readonly eventID: string;
  readonly eventType: 'AwsCloudTrailInsight';
  readonly recipientAccountId: string;
  readonly sharedEventID: string;
  readonly insightDetails: InsightDetails;
  readonly eventCategory: 'Insight';
  readonly trailsight: TrailsightDetails;
}

/** The Insights eventVersion the records follow (insightDetails and sharedEventID arrived in 1.07). */
export const INSIGHT_EVENT_VERSION = '1.08';

/** A UUID-shaped (version 5 style) id derived from `parts`, so a replay yields identical ids. */
export function deterministicUuid(...parts: (string | number)[]): string {
  const h = createHash('sha256').update(parts.join('\u0000')).digest('hex');
  const variant = ((Number.parseInt(h[16], 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** CloudTrail's time format: ISO-8601 UTC without milliseconds. */
export function isoSeconds(ms: number): string {
  return `${new Date(Math.floor(ms / 1000) * 1000).toISOString().slice(0, 19)}Z`;
}

/** Rounds for the output: keeps small baselines legible (4 significant digits). */
export function round(value: number): number {
  if (value === 0 || !Number.isFinite(value)) return value;
  return Number(value.toPrecision(4));
}
