/**
 * The per-insight series of the report: the calls an insight counts, per window, around its episode, read from
 * the logs, and the band the engine expected them in.
 *
 * Why derived here: an insight event carries the engine's expectation for one window (`trailsight.expected`,
 * the seasonal baseline at the episode's start), not the baseline's curve, and the engine keeps its series
 * private. So the observed series is recounted from the same events the engine read (same reader, same
 * de-duplication) with the detector's own selection (the API, the error code, the principal's reads, IAM writes
 * or refused calls), in windows of the insight's width; the band is the expected count with the range a
 * Poisson count around it stays in 99.9 % of the time. The engine's own test is negative-binomial (wider for
 * bursty series), so the band is a guide to the eye, not the decision rule; the report says so.
 */
import type { InsightEvent } from '../../lambda/core/detect';
import { isObjectRead, isProvisioning } from '../../lambda/core/detect/series';
import { logNegBinomPmf, logUpperTail } from '../../lambda/core/detect/stats';
import type { TrailEvent } from '../../lambda/core/event';

const MINUTE = 60_000;
/** Context shown before an episode and after it. */
export const LEAD_MS = 6 * 60 * MINUTE;
export const TRAIL_MS = 2 * 60 * MINUTE;
/** At most this many points per chart: longer ranges get wider windows. */
const MAX_POINTS = 400;

/** One insight episode as the report shows it: its Start, completed by its End when there is one. */
export interface Episode {
  readonly start: InsightEvent;
  readonly end?: InsightEvent;
}

/** The counted series of one episode. */
export interface EpisodeSeries {
  /** Window width, minutes. */
  readonly windowMinutes: number;
  /** Start of the first window (epoch ms). */
  readonly from: number;
  /** Calls per window. */
  readonly counts: number[];
}

/** Groups insight events into episodes (Start + End by `sharedEventID`), in Start order; lone Ends are dropped. */
export function episodesOf(insights: readonly InsightEvent[]): Episode[] {
  const byId = new Map<string, { start?: InsightEvent; end?: InsightEvent }>();
  for (const i of insights) {
    const e = byId.get(i.sharedEventID) ?? {};
    if (i.insightDetails.state === 'Start') e.start = i;
    else e.end = i;
    byId.set(i.sharedEventID, e);
  }
  return [...byId.values()]
    .filter((e): e is Episode => e.start !== undefined)
    .sort((a, b) => Date.parse(a.start.eventTime) - Date.parse(b.start.eventTime));
}

/** When the episode ended (or was last known to be going on). */
export function episodeEnd(e: Episode): number {
  if (e.end) {
    const d = e.end.insightDetails.insightContext.statistics.insightDuration;
    const gap = e.start.trailsight.detector === 'gap' || e.start.trailsight.detector === 'delivery-gap';
    return gap ? Date.parse(e.end.trailsight.detectedAt) : Date.parse(e.start.eventTime) + d * MINUTE;
  }
  return Date.parse(e.start.trailsight.detectedAt);
}

/** Does `ev` count toward the series the episode's detector tested? */
export function matcherOf(e: Episode): (ev: TrailEvent) => boolean {
  const s = e.start;
  const { account, region } = { account: s.recipientAccountId, region: s.awsRegion };
  const { eventSource, eventName, errorCode } = s.insightDetails;
  const { detector, principal, errorCodes } = s.trailsight;
  const here = (ev: TrailEvent) => ev.account === account && ev.region === region;
  switch (detector) {
    case 'call-rate':
      return (ev) => here(ev) && ev.source === eventSource && ev.name === eventName;
    case 'error-rate':
      return (ev) => here(ev) && ev.source === eventSource && ev.name === eventName && ev.errorCode === errorCode;
    case 'iam-burst':
      return (ev) => here(ev) && ev.principal === principal && ev.source === 'iam.amazonaws.com' && !ev.readOnly;
    case 'recon':
      return (ev) => here(ev) && ev.principal === principal && ev.readOnly;
    case 'access-denied': {
      const codes = new Set(errorCodes);
      return (ev) => here(ev) && ev.principal === principal && ev.errorCode !== undefined && codes.has(ev.errorCode);
    }
    case 'gap':
      return (ev) => here(ev) && ev.principal === principal && ev.source === eventSource && ev.name === eventName;
    case 'unused-region':
      return (ev) => here(ev) && isProvisioning(ev.source, ev.name);
    case 's3-exfiltration':
      return (ev) => here(ev) && ev.principal === principal && isObjectRead(ev);
    case 'console-brute-force':
      // A user's failures, or (password spraying: no principal) the account's.
      return (ev) =>
        here(ev) && ev.loginOutcome === 'Failure' && (principal === undefined || ev.principal === principal);
    default:
      // delivery-gap: everything the account-Region delivered.
      return here;
  }
}

/** Counts, for every episode, the matching events per window around it. Feed it every event once. */
interface Plan {
  readonly match: (ev: TrailEvent) => boolean;
  readonly from: number;
  readonly to: number;
  readonly series: EpisodeSeries;
}

export class SeriesCollector {
  private readonly plans: Plan[];
  /** Plans by `account|region`: an event is only tested against the episodes of its own partition. */
  private readonly byPartition = new Map<string, Plan[]>();

  constructor(episodes: readonly Episode[]) {
    this.plans = episodes.map((e) => {
      const window = Math.max(1, e.start.trailsight.windowMinutes || 10);
      const first = Date.parse(e.start.eventTime);
      const due = e.start.trailsight.expectedAt ? Date.parse(e.start.trailsight.expectedAt) : first;
      // A missed job: show the last runs too (one period and a bit before the one that was due).
      const period = e.start.trailsight.periodMinutes;
      const lead = period ? Math.min(8 * 24 * 60 * MINUTE, Math.max(LEAD_MS, 1.2 * period * MINUTE)) : LEAD_MS;
      const rawFrom = Math.min(first, due) - lead;
      const to = episodeEnd(e) + TRAIL_MS;
      let windowMinutes = window;
      while ((to - rawFrom) / (windowMinutes * MINUTE) > MAX_POINTS) windowMinutes *= 2;
      // Align windows on the episode's start, so its first window is one of them.
      const step = windowMinutes * MINUTE;
      const from = first - Math.ceil((first - rawFrom) / step) * step;
      const counts = new Array<number>(Math.ceil((to - from) / step)).fill(0);
      // Whole windows only: the last one is counted to its end.
      return { match: matcherOf(e), from, to: from + counts.length * step, series: { windowMinutes, from, counts } };
    });
    episodes.forEach((e, i) => {
      const key = `${e.start.recipientAccountId}|${e.start.awsRegion}`;
      const list = this.byPartition.get(key) ?? [];
      list.push(this.plans[i]);
      this.byPartition.set(key, list);
    });
  }

  add(ev: TrailEvent): void {
    for (const p of this.byPartition.get(`${ev.account}|${ev.region}`) ?? []) {
      if (ev.time < p.from || ev.time >= p.to || !p.match(ev)) continue;
      p.series.counts[Math.floor((ev.time - p.from) / (p.series.windowMinutes * MINUTE))]++;
    }
  }

  /** The series, in the order of the episodes given. */
  series(): EpisodeSeries[] {
    return this.plans.map((p) => p.series);
  }
}

/** Tail probability left out on each side of the band. */
export const BAND_TAIL = 0.0005;

/**
 * The band a Poisson count with this mean stays in with probability 1 − 2 × {@link BAND_TAIL} (99.9 %), from the
 * engine's own count statistics (lambda/core/detect/stats.ts), so the chart and the detector share one model.
 */
export function poissonBand(mean: number): { low: number; high: number } {
  if (!(mean > 0)) return { low: 0, high: 0 };
  let low = 0;
  let cdf = Math.exp(logNegBinomPmf(0, mean, 0));
  while (cdf < BAND_TAIL) {
    low++;
    cdf += Math.exp(logNegBinomPmf(low, mean, 0));
  }
  if (low > 0 && cdf > BAND_TAIL) low--;
  let high = Math.max(1, Math.ceil(mean));
  while (logUpperTail(high + 1, mean, 0) >= Math.log(BAND_TAIL)) high++;
  return { low, high };
}
