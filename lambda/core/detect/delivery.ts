/**
 * The `delivery-gap` detector: an account + Region that stopped delivering log files.
 *
 * Files cluster (a burst of calls spreads over a few files, then nothing), so instead of a count model this
 * compares the current silence with the silences learned for the same hour of the week (decayed, so an old
 * outage fades out of the baseline). Each delivered file teaches the silence it ends, unless that silence was
 * reported: an outage must not teach the baseline that outages are normal.
 *
 * A silence is only reported when the archive confirms it: the caller is asked whether log files of the
 * partition were delivered in the silence but not applied (a backlog or failing files inside the pipeline),
 * and such a silence is the pipeline's own fault, alarmed by the pipeline, not a trail that stopped logging.
 */
import { type Context, decay, HOUR, historyMinutes, MINUTE, slotOf } from './context';
import { DELIVERY_EPISODE_KEY, episodeId, startEpisode } from './episodes';
import { type InsightEvent, isoSeconds, round } from './insight';
import type { EpisodeState, PartitionHead } from './state';
import { roundSum } from './stats';

function fmtMinutes(ms: number): string {
  const m = ms / MINUTE;
  if (m >= 120) return `${round(m / 60)} h`;
  return `${Math.round(m)} min`;
}

/** Records the silence between two consecutive deliveries, in the hour-of-week slot where it began. */
export function recordSilence(ctx: Context, from: number, to: number): void {
  if (to <= from || !Number.isFinite(from)) return;
  const { config, halfLifeMs } = ctx.settings;
  const slot = String(slotOf(from, config.utcOffsetMinutes));
  const entry = ctx.head.silences[slot];
  const gap = to - from;
  if (!entry) {
    ctx.head.silences[slot] = [gap, 1, gap, to];
    return;
  }
  const f = decay(1, entry[3], to, halfLifeMs);
  // The longest silence fades at half the baselines' pace: an outage is remembered for weeks. Decayed
  // values keep 6 digits (roundSum), as the baselines do: the head is rewritten on every advance.
  entry[0] = roundSum(Math.max(gap, entry[0] * Math.sqrt(f)));
  entry[1] = roundSum(entry[1] * f + 1);
  entry[2] = roundSum(entry[2] * f + gap);
  entry[3] = to;
}

interface LearnedSilence {
  longest: number;
  seen: number;
  meanGap: number;
}

/**
 * What the partition's silences look like within three hours of the hour where this one began (activity
 * drifts from day to day): the longest and the mean silence, from the same day type (weekday/weekend) when it
 * has enough of them, else from both.
 */
function learnedSilence(head: PartitionHead, from: number, utcOffsetMinutes: number): LearnedSilence | undefined {
  const slot = slotOf(from, utcOffsetMinutes);
  const hour = slot % 24;
  const gather = (bases: number[]): LearnedSilence => {
    let longest = 0;
    let seen = 0;
    let total = 0;
    for (let h = hour - 3; h <= hour + 3; h++) {
      for (const base of bases) {
        const e = head.silences[String(base + ((h + 24) % 24))];
        if (!e) continue;
        longest = Math.max(longest, e[0]);
        seen += e[1];
        total += e[2];
      }
    }
    return { longest, seen, meanGap: seen > 0 ? total / seen : 0 };
  };
  const own = gather([slot - hour]);
  if (own.seen >= 20) return own;
  const both = gather([0, 24]);
  return both.seen >= 20 ? both : undefined;
}

/**
 * The earliest time a silence can be reported (the evaluator's due time), or +∞: from the learned silences
 * (fixed between compactions) and the current silence's start. A silence longer than `maxSilentHours` at the
 * first look is an archive boundary (another period replayed, an account that left), never reported.
 */
export function nextDeliveryCheck(ctx: Context): number {
  const { head, settings } = ctx;
  const dg = settings.config.deliveryGap;
  if (!dg.enabled || head.episodes[DELIVERY_EPISODE_KEY] || !Number.isFinite(head.lastDelivery)) {
    return Number.POSITIVE_INFINITY;
  }
  // Past the longest silence that is still reported, only a delivery can change anything.
  if (head.clock - head.lastDelivery > dg.maxSilentHours * HOUR) return Number.POSITIVE_INFINITY;
  const learned = learnedSilence(head, head.lastDelivery, settings.config.utcOffsetMinutes);
  if (!learned) return Number.POSITIVE_INFINITY;
  const threshold = Math.max(
    dg.minSilentMinutes * MINUTE,
    dg.factor * learned.longest,
    Math.max(learned.meanGap, MINUTE) * Math.log(1 / dg.alpha),
  );
  const earliest = Math.max(head.lastDelivery + threshold, head.first + settings.config.learningHours * HOUR);
  return earliest > head.lastDelivery + dg.maxSilentHours * HOUR ? Number.POSITIVE_INFINITY : earliest;
}

/** Opens a delivery-gap episode when the partition has been silent for longer than its history explains. */
export function checkDelivery(ctx: Context, now: number, out: InsightEvent[]): void {
  const { head, settings } = ctx;
  const { config } = settings;
  const dg = config.deliveryGap;
  if (!dg.enabled || head.episodes[DELIVERY_EPISODE_KEY] || !Number.isFinite(head.lastDelivery)) return;
  const silent = now - head.lastDelivery;
  if (silent < dg.minSilentMinutes * MINUTE) return;
  if (silent > dg.maxSilentHours * HOUR) return;
  if (historyMinutes(head) < config.learningHours * 60) return;
  const learned = learnedSilence(head, head.lastDelivery, config.utcOffsetMinutes);
  if (!learned) return;
  // Files arrive roughly as a Poisson process around the hour's mean gap: a silence of s has probability
  // exp(−s / mean). Both that and "well beyond the longest silence seen" must hold.
  const p0 = Math.exp(-silent / Math.max(learned.meanGap, MINUTE));
  if (silent <= dg.factor * learned.longest || p0 >= dg.alpha) return;
  // Files delivered but not applied: the pipeline's own backlog or failures, not a trail that stopped.
  if (ctx.data.unappliedFiles(head.lastDelivery, now)) return;
  const expectedFiles = learned.seen > 0 ? silent / (learned.meanGap || silent) : 0;
  const since = head.lastDelivery;
  const ep: EpisodeState = {
    id: episodeId(ctx, 'delivery-gap', since),
    detector: 'delivery-gap',
    start: since,
    startBin: Math.floor(since / settings.binMs),
    lastHot: Math.floor(since / settings.binMs),
    total: 0,
    observed: 0,
    expected: expectedFiles,
    score: p0,
    suppressed: settings.isSuppressed(head, 'delivery-gap', undefined, 'cloudtrail.amazonaws.com', []),
    eventSource: 'cloudtrail.amazonaws.com',
    eventName: 'LogFileDelivery',
    eventNames: [],
    errorCodes: [],
    attributions: [],
    baselineAverage: learned.meanGap > 0 ? MINUTE / learned.meanGap : 0,
    gapCause: 'delivery-stopped',
    expectedAt: since,
    explanation: `${head.account}/${head.region} delivered no log files for ${fmtMinutes(silent)} (since ${isoSeconds(since)}); at this hour the longest silence of the last weeks was ${fmtMinutes(learned.longest)}: check that the trail is still logging (StopLogging, DeleteTrail, bucket policy, KMS key).`,
  };
  head.silence = [since, 0];
  startEpisode(ctx, DELIVERY_EPISODE_KEY, ep, now, 0, Math.round(silent / MINUTE), out);
}
