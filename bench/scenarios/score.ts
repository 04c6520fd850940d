/**
 * Scores insights against injected labels per episode, without point adjustment (Kim et al., AAAI 2022):
 * a label counts once however many insights it got, every Start insight counts once for precision, and
 * nothing is credited for being "near" an anomaly it does not name.
 *
 * An insight matches a label when it is in the same account and region, starts within the label's time
 * range (± a slack for delivery and drift), and names the label's principal or one of its APIs (a
 * delivery-gap insight matches a delivery-gap label). Recall counts a label as detected by any matching
 * insight; "kind recall" also requires the detector to be the label's kind.
 */
import type { InsightEvent } from '../../lambda/core/detect';
import type { Label, LabelKind, Scenario } from './generate';

const MIN = 60_000;
const DAY = 86_400_000;

export interface KindScore {
  labels: number;
  detected: number;
  detectedByKind: number;
  latencies: number[];
  missed: string[];
}

export interface Score {
  labels: number;
  detected: number;
  detectedByKind: number;
  starts: number;
  matchedStarts: number;
  /** Start insights matching no label, on clean test days / in the whole test period. */
  falseOnCleanDays: number;
  cleanAccountDays: number;
  falseInTestPeriod: number;
  testAccountDays: number;
  /** detectedAt − label start, minutes, for detected labels. */
  latencies: number[];
  byKind: Record<string, KindScore>;
  /** The unmatched insights, for the report. */
  falseInsights: string[];
}

function slack(kind: LabelKind): number {
  return kind === 'gap' || kind === 'delivery-gap' ? 60 * MIN : 30 * MIN;
}

export function matches(i: InsightEvent, l: Label): boolean {
  if (i.recipientAccountId !== l.account || i.awsRegion !== l.region) return false;
  const t = Date.parse(i.eventTime);
  if (t < l.start - slack(l.kind) || t > l.end + slack(l.kind)) return false;
  const ts = i.trailsight;
  if (l.kind === 'delivery-gap') return ts.detector === 'delivery-gap';
  if (ts.detector === 'delivery-gap') return false;
  if (l.principal !== undefined && ts.principal === l.principal) return true;
  const names = new Set([i.insightDetails.eventName, ...ts.eventNames]);
  return l.eventNames.some((n) => names.has(n));
}

export function emptyScore(): Score {
  return {
    labels: 0,
    detected: 0,
    detectedByKind: 0,
    starts: 0,
    matchedStarts: 0,
    falseOnCleanDays: 0,
    cleanAccountDays: 0,
    falseInTestPeriod: 0,
    testAccountDays: 0,
    latencies: [],
    byKind: {},
    falseInsights: [],
  };
}

/** Adds one scenario's result to `into` (scores of several seeds accumulate). */
export function scoreScenario(scenario: Scenario, insights: readonly InsightEvent[], into: Score): Score {
  const o = scenario.options;
  const testStart = o.startDay + o.warmupDays * DAY;
  // The scenario ends at midnight of its last day; late files carry the clock a little past it, where
  // every scheduled run is "missing". Those insights are outside the scenario and not scored.
  const end = o.startDay + o.days * DAY;
  const starts = insights.filter((i) => {
    const t = Date.parse(i.eventTime);
    return i.insightDetails.state === 'Start' && t >= testStart && t < end;
  });
  const clean = new Set(scenario.cleanDays);
  into.cleanAccountDays += clean.size;
  into.testAccountDays += scenario.accounts.length * (o.days - o.warmupDays);
  for (const l of scenario.labels) {
    into.byKind[l.kind] ??= { labels: 0, detected: 0, detectedByKind: 0, latencies: [], missed: [] };
    const k = into.byKind[l.kind];
    into.labels++;
    k.labels++;
    const hits = starts.filter((i) => matches(i, l));
    if (hits.length === 0) {
      k.missed.push(`${l.kind} ${new Date(l.start).toISOString().slice(0, 16)} ${l.note}`);
      continue;
    }
    into.detected++;
    k.detected++;
    if (hits.some((i) => i.trailsight.detector === l.kind)) {
      into.detectedByKind++;
      k.detectedByKind++;
    }
    const latency = Math.min(...hits.map((i) => Date.parse(i.trailsight.detectedAt) - l.start)) / MIN;
    into.latencies.push(latency);
    k.latencies.push(latency);
  }
  for (const i of starts) {
    into.starts++;
    if (scenario.labels.some((l) => matches(i, l))) {
      into.matchedStarts++;
      continue;
    }
    into.falseInTestPeriod++;
    const day = Math.floor((Date.parse(i.eventTime) - o.startDay) / DAY);
    if (clean.has(`${i.recipientAccountId}|${day}`)) into.falseOnCleanDays++;
    into.falseInsights.push(
      `${i.eventTime} ${i.recipientAccountId} ${i.trailsight.detector}: ${i.trailsight.explanation}`,
    );
  }
  return into;
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function quantile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
}

export interface Summary {
  recall: number;
  kindRecall: number;
  precision: number;
  f1: number;
  falsePerCleanAccountDay: number;
  falsePerTestAccountDay: number;
  medianLatency: number;
  p90Latency: number;
}

export function summarize(s: Score): Summary {
  const recall = s.labels ? s.detected / s.labels : Number.NaN;
  const precision = s.starts ? s.matchedStarts / s.starts : Number.NaN;
  return {
    recall,
    kindRecall: s.labels ? s.detectedByKind / s.labels : Number.NaN,
    precision,
    f1: recall + precision > 0 ? (2 * recall * precision) / (recall + precision) : 0,
    falsePerCleanAccountDay: s.cleanAccountDays ? s.falseOnCleanDays / s.cleanAccountDays : Number.NaN,
    falsePerTestAccountDay: s.testAccountDays ? s.falseInTestPeriod / s.testAccountDays : Number.NaN,
    medianLatency: median(s.latencies),
    p90Latency: quantile(s.latencies, 0.9),
  };
}
