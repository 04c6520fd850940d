/**
 * Scores insights against injected labels per episode, without point adjustment (Kim et al., AAAI 2022):
 * a label counts once however many insights it got, every Start insight counts once for precision, and
 * nothing is credited for being "near" an anomaly it does not name.
 *
 * An insight matches a label when it is in the same account and one of the label's Regions (any Region of the
 * account for an account-wide label such as a stopped trail), starts within the label's time range (± a slack
 * for delivery and drift), and names the label's principal or one of its APIs (a delivery-gap insight matches
 * only a delivery-gap label, and nothing else). Recall counts a label as detected by any matching insight;
 * "kind recall" also requires the insight to come from the detector the label expects.
 *
 * Both scenario families are scored here: the classic set (bench/scenarios/generate.ts, one Region, the label's
 * kind is its detector) and the organization set (bench/scenarios/org.ts, where a kind such as
 * `low-and-slow` expects the `call-rate` detector and a label may span two Regions).
 */
import type { InsightEvent } from '../../lambda/core/detect';
import type { Label, Scenario } from './generate';

const MIN = 60_000;
const DAY = 86_400_000;

/** A label as the scorer sees it, whichever family it comes from. */
export interface ScoredLabel {
  /** The scenario kind (one row of the per-kind table). */
  readonly kind: string;
  /** The detector expected to report it (`trailsight.detector`). */
  readonly detector: string;
  readonly account: string;
  /** The Regions an insight about it may name; `account`: any Region of the account. */
  readonly regions: readonly string[] | 'account';
  /** Event time of the first injected call, or when the missing activity was due (ms). */
  readonly start: number;
  readonly end: number;
  readonly principal?: string;
  readonly eventNames: readonly string[];
  readonly note: string;
}

export interface KindScore {
  /** The detector this kind expects. */
  detector: string;
  labels: number;
  detected: number;
  detectedByKind: number;
  latencies: number[];
  missed: string[];
}

/** False insights of one account character (quiet sandbox, production, ...). */
export interface CharacterScore {
  accountDays: number;
  cleanAccountDays: number;
  falseInTestPeriod: number;
  falseOnCleanDays: number;
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
  /** Unmatched Start insights in the test period, per detector. */
  falseByDetector: Record<string, number>;
  byCharacter: Record<string, CharacterScore>;
  /** The unmatched insights, for the report. */
  falseInsights: string[];
  unmatched: InsightEvent[];
}

/** The part of a scenario the scorer needs. */
export interface ScoringInput {
  readonly labels: readonly ScoredLabel[];
  readonly accounts: readonly string[];
  /** `account|dayIndex` of test days with no injection (benign look-alikes allowed). */
  readonly cleanDays: readonly string[];
  /** First day, UTC midnight (ms); the test period is [startDay + warmupDays, startDay + days). */
  readonly startDay: number;
  readonly warmupDays: number;
  readonly days: number;
  /** The character of each account, for the per-character table (classic scenarios have none). */
  readonly characterOf?: (account: string) => string;
}

function slack(detector: string): number {
  return detector === 'gap' || detector === 'delivery-gap' ? 60 * MIN : 30 * MIN;
}

export function matchesLabel(i: InsightEvent, l: ScoredLabel): boolean {
  if (i.recipientAccountId !== l.account) return false;
  if (l.regions !== 'account' && !l.regions.includes(i.awsRegion)) return false;
  const t = Date.parse(i.eventTime);
  if (t < l.start - slack(l.detector) || t > l.end + slack(l.detector)) return false;
  const ts = i.trailsight;
  if (l.detector === 'delivery-gap') return ts.detector === 'delivery-gap';
  if (ts.detector === 'delivery-gap') return false;
  if (l.principal !== undefined && ts.principal === l.principal) return true;
  const names = new Set([i.insightDetails.eventName, ...ts.eventNames]);
  return l.eventNames.some((n) => names.has(n));
}

/** A classic label (one Region, its kind is its detector) as the scorer sees it. */
export function scoredLabel(l: Label): ScoredLabel {
  return { ...l, detector: l.kind, regions: [l.region] };
}

/** Whether an insight matches a classic label (the demo uses this too). */
export function matches(i: InsightEvent, l: Label): boolean {
  return matchesLabel(i, scoredLabel(l));
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
    falseByDetector: {},
    byCharacter: {},
    falseInsights: [],
    unmatched: [],
  };
}

/** Adds one classic scenario's result to `into` (scores of several seeds accumulate). */
export function scoreScenario(scenario: Scenario, insights: readonly InsightEvent[], into: Score): Score {
  const o = scenario.options;
  return scoreLabels(
    {
      labels: scenario.labels.map(scoredLabel),
      accounts: scenario.accounts,
      cleanDays: scenario.cleanDays,
      startDay: o.startDay,
      warmupDays: o.warmupDays,
      days: o.days,
    },
    insights,
    into,
  );
}

/** Adds one scenario's result to `into`, whichever family it comes from. */
export function scoreLabels(input: ScoringInput, insights: readonly InsightEvent[], into: Score): Score {
  const testStart = input.startDay + input.warmupDays * DAY;
  // The scenario ends at midnight of its last day; late files carry the clock a little past it, where
  // every scheduled run is "missing". Those insights are outside the scenario and not scored.
  const end = input.startDay + input.days * DAY;
  const starts = insights.filter((i) => {
    const t = Date.parse(i.eventTime);
    return i.insightDetails.state === 'Start' && t >= testStart && t < end;
  });
  const clean = new Set(input.cleanDays);
  const testDays = input.days - input.warmupDays;
  into.cleanAccountDays += clean.size;
  into.testAccountDays += input.accounts.length * testDays;
  const character = (account: string): CharacterScore | undefined => {
    const c = input.characterOf?.(account);
    if (c === undefined) return undefined;
    into.byCharacter[c] ??= { accountDays: 0, cleanAccountDays: 0, falseInTestPeriod: 0, falseOnCleanDays: 0 };
    return into.byCharacter[c];
  };
  for (const a of input.accounts) {
    const c = character(a);
    if (c) c.accountDays += testDays;
  }
  for (const d of clean) {
    const c = character(d.split('|')[0]);
    if (c) c.cleanAccountDays++;
  }
  for (const l of input.labels) {
    into.byKind[l.kind] ??= {
      detector: l.detector,
      labels: 0,
      detected: 0,
      detectedByKind: 0,
      latencies: [],
      missed: [],
    };
    const k = into.byKind[l.kind];
    into.labels++;
    k.labels++;
    const hits = starts.filter((i) => matchesLabel(i, l));
    if (hits.length === 0) {
      k.missed.push(`${l.kind} ${new Date(l.start).toISOString().slice(0, 16)} ${l.note}`);
      continue;
    }
    into.detected++;
    k.detected++;
    if (hits.some((i) => i.trailsight.detector === l.detector)) {
      into.detectedByKind++;
      k.detectedByKind++;
    }
    const latency = Math.min(...hits.map((i) => Date.parse(i.trailsight.detectedAt) - l.start)) / MIN;
    into.latencies.push(latency);
    k.latencies.push(latency);
  }
  for (const i of starts) {
    into.starts++;
    if (input.labels.some((l) => matchesLabel(i, l))) {
      into.matchedStarts++;
      continue;
    }
    into.falseInTestPeriod++;
    const detector = i.trailsight.detector;
    into.falseByDetector[detector] = (into.falseByDetector[detector] ?? 0) + 1;
    const c = character(i.recipientAccountId);
    if (c) c.falseInTestPeriod++;
    const day = Math.floor((Date.parse(i.eventTime) - input.startDay) / DAY);
    if (clean.has(`${i.recipientAccountId}|${day}`)) {
      into.falseOnCleanDays++;
      if (c) c.falseOnCleanDays++;
    }
    into.falseInsights.push(`${i.eventTime} ${i.recipientAccountId} ${detector}: ${i.trailsight.explanation}`);
    into.unmatched.push(i);
  }
  return into;
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Event → file delivery lags in whole seconds (index = seconds, value = events): what the generators' CloudTrail
 * delivery model costs every insight before any detector sees a call.
 */
export type LagHistogram = number[];

export function addLag(h: LagHistogram, ms: number): void {
  const s = Math.max(0, Math.round(ms / 1000));
  h[s] = (h[s] ?? 0) + 1;
}

/** Median of merged histograms, minutes. */
export function medianLagMinutes(hs: readonly LagHistogram[]): number {
  const total = hs.reduce((n, h) => n + h.reduce((a, b) => a + (b ?? 0), 0), 0);
  const len = Math.max(0, ...hs.map((h) => h.length));
  let seen = 0;
  for (let s = 0; s < len; s++) {
    for (const h of hs) seen += h[s] ?? 0;
    if (seen * 2 >= total) return s / 60;
  }
  return Number.NaN;
}

/** Detectors of missing activity: they must wait out late files before a run or a file can be called missing. */
const ABSENCE_DETECTORS = new Set(['gap', 'delivery-gap']);

/**
 * Where the median latency goes: CloudTrail's delivery (median event → file in this model), the reorder
 * window, and the median of the detectors of activity against that of the detectors of missing activity.
 */
export function latencyLine(s: Score, lags: readonly LagHistogram[], reorderMinutes: number): string {
  const of = (absence: boolean) =>
    median(
      Object.values(s.byKind)
        .filter((k) => ABSENCE_DETECTORS.has(k.detector) === absence)
        .flatMap((k) => k.latencies),
    );
  const delivery = medianLagMinutes(lags);
  return (
    `latency: median ${num(median(s.latencies), 1)} min from the first call; CloudTrail's delivery alone takes ` +
    `${num(delivery, 1)} (median event → file in this model), the reorder window ${reorderMinutes}; by detector ` +
    `family: activity ${num(of(false), 1)} min (floor ${num(delivery + reorderMinutes, 1)}), missing activity ` +
    `(gap, delivery-gap: they must wait out late files) ${num(of(true), 1)} min`
  );
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

/** A fraction as a percentage, 6 wide ("-" when undefined). */
export function pct(x: number): string {
  return Number.isNaN(x) ? '     -' : `${(x * 100).toFixed(1)}%`.padStart(6);
}

/** A number with `digits` decimals ("-" when undefined). */
export function num(x: number, digits = 2): string {
  return Number.isNaN(x) ? '-' : x.toFixed(digits);
}

/** The header of an evaluation table; {@link scoreRow} writes its lines. */
export const SCORE_HEADER = [
  'detector'.padEnd(22),
  'recall',
  'kind-recall',
  'precision',
  '   F1',
  'false/clean acct-day',
  'false/test acct-day',
  'latency min med/p90',
].join('  ');

/** One detector's line of an evaluation table; `width` sets the last three columns to the table's header. */
export function scoreRow(
  name: string,
  s: Summary,
  sc: Score,
  width: { clean: number; test: number; latency: number },
): string {
  return [
    name.padEnd(22),
    pct(s.recall),
    pct(s.kindRecall).padStart(11),
    pct(s.precision).padStart(9),
    num(s.f1).padStart(5),
    `${num(s.falsePerCleanAccountDay)} (${sc.falseOnCleanDays}/${sc.cleanAccountDays})`.padStart(width.clean),
    `${num(s.falsePerTestAccountDay)} (${sc.falseInTestPeriod}/${sc.testAccountDays})`.padStart(width.test),
    `${num(s.medianLatency, 1)} / ${num(s.p90Latency, 1)}`.padStart(width.latency),
  ].join('  ');
}
