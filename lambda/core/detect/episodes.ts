/**
 * Episodes: an insight from its Start to its End, and the insight records both emit. A Start and its End
 * share `sharedEventID` (the episode id), as CloudTrail Insights pairs do.
 */
import { type Context, historyMinutes, MINUTE } from './context';
import { deterministicUuid, INSIGHT_EVENT_VERSION, type InsightEvent, isoSeconds, round } from './insight';
import type { EpisodeState } from './state';

/** Open-episode key of a missed periodic job of a principal. */
export function gapEpisodeKey(principal: string): string {
  return `gap|${principal}`;
}
/** Open-episode key of a partition's delivery gap. */
export const DELIVERY_EPISODE_KEY = 'delivery';

export function isGapEpisode(ep: EpisodeState): boolean {
  return ep.detector === 'gap' || ep.detector === 'delivery-gap';
}

/** The insight record of an episode's Start or End at input time `now`. */
export function episodeRecord(
  ctx: Context,
  ep: EpisodeState,
  state: 'Start' | 'End',
  now: number,
  insightAverage: number,
  insightDuration: number,
): InsightEvent {
  const { head, settings } = ctx;
  const isError = ep.detector === 'error-rate' || (ep.detector === 'access-denied' && ep.errorCodes.length > 0);
  return {
    eventVersion: INSIGHT_EVENT_VERSION,
    eventTime: isoSeconds(ep.start),
    awsRegion: ep.region,
    eventID: deterministicUuid(ep.id, state),
    eventType: 'AwsCloudTrailInsight',
    recipientAccountId: head.account,
    sharedEventID: ep.id,
    insightDetails: {
      state,
      eventSource: ep.eventSource,
      eventName: ep.eventName,
      insightType: isError ? 'ApiErrorRateInsight' : 'ApiCallRateInsight',
      ...(isError ? { errorCode: ep.errorCode ?? ep.errorCodes[0] } : {}),
      insightContext: {
        statistics: {
          baseline: { average: round(ep.baselineAverage) },
          insight: { average: round(insightAverage) },
          baselineDuration: historyMinutes(head),
          insightDuration,
        },
        attributions: [...ep.attributions],
      },
    },
    eventCategory: 'Insight',
    trailsight: {
      detector: ep.detector,
      // Inputs are applied once the reorder window behind them has passed: that is when the pipeline
      // publishes, and what the CLI reports, so both say the same.
      detectedAt: isoSeconds(now + settings.config.reorderMinutes * MINUTE),
      ...(ep.principal !== undefined ? { principal: ep.principal } : {}),
      // Copies: the episode goes on (a gap episode gains the APIs of the principal's other missed jobs), and
      // an insight records the moment it was emitted, whenever it is serialized (CLI and pipeline differ).
      eventNames: [...ep.eventNames],
      errorCodes: [...ep.errorCodes],
      observed: state === 'Start' ? ep.observed : ep.total,
      expected: round(ep.expected),
      score: ep.score,
      windowMinutes:
        state === 'Start' ? ((ep.windowBins ?? settings.config.windowBins) * settings.binMs) / MINUTE : insightDuration,
      ...(ep.sourceIps ? { sourceIps: ep.sourceIps } : {}),
      ...(ep.gapCause ? { gapCause: ep.gapCause } : {}),
      ...(ep.expectedAt !== undefined ? { expectedAt: isoSeconds(ep.expectedAt) } : {}),
      ...(ep.periodMinutes !== undefined ? { periodMinutes: ep.periodMinutes } : {}),
      explanation: ep.explanation,
    },
  };
}

/**
 * An episode's expected count per short window (what compactions clip a young episode's windows to): the
 * expectation of a long-window episode is for the long window.
 */
export function shortWindowExpected(ctx: Context, ep: EpisodeState): number {
  const wb = ctx.settings.config.windowBins;
  return ep.windowBins === undefined ? ep.expected : (ep.expected * wb) / ep.windowBins;
}

/** Opens an episode and emits its Start (unless suppressed). */
export function startEpisode(
  ctx: Context,
  key: string,
  ep: EpisodeState,
  now: number,
  insightAverage: number,
  insightDuration: number,
  out: InsightEvent[],
): void {
  ctx.head.episodes[key] = ep;
  if (!ep.suppressed) out.push(episodeRecord(ctx, ep, 'Start', now, insightAverage, insightDuration));
}

/** Closes an episode and emits its End (unless suppressed). */
export function endEpisode(ctx: Context, key: string, ep: EpisodeState, now: number, out: InsightEvent[]): void {
  const { head, settings } = ctx;
  delete head.episodes[key];
  if (!isGapEpisode(ep)) head.ended[key] = [ep.lastHot, ep.start, shortWindowExpected(ctx, ep)];
  if (ep.suppressed) return;
  const gap = isGapEpisode(ep);
  const endTime = gap ? now : (ep.lastHot + 1) * settings.binMs;
  const minutes = Math.max(1, Math.round((endTime - ep.start) / MINUTE));
  out.push(episodeRecord(ctx, ep, 'End', now, gap ? 0 : ep.total / minutes, minutes));
}

/** Ends the rate episodes that had no anomalous window for `endQuietMinutes`. */
export function endQuietEpisodes(ctx: Context, now: number, out: InsightEvent[]): void {
  const { config, binMs } = ctx.settings;
  const quietBins = Math.ceil((config.endQuietMinutes * MINUTE) / binMs);
  const clockBin = Math.floor(now / binMs);
  for (const [key, ep] of Object.entries(ctx.head.episodes)) {
    if (isGapEpisode(ep)) continue;
    if (clockBin - ep.lastHot > quietBins) endEpisode(ctx, key, ep, now, out);
  }
}

/** The earliest time an open rate episode can end by going quiet (for the evaluator's due time). */
export function nextQuietEnd(ctx: Context): number {
  const { config, binMs } = ctx.settings;
  const quietBins = Math.ceil((config.endQuietMinutes * MINUTE) / binMs);
  let next = Number.POSITIVE_INFINITY;
  for (const ep of Object.values(ctx.head.episodes)) {
    if (!isGapEpisode(ep)) next = Math.min(next, (ep.lastHot + quietBins + 1) * binMs);
  }
  return next;
}

/**
 * An episode id: stable for the same account, series (or job, or Region) and first window, whatever the
 * processing order.
 */
export function episodeId(ctx: Context, ...parts: (string | number)[]): string {
  return deterministicUuid(...parts.slice(0, 1), ctx.head.account, ...parts.slice(1));
}
