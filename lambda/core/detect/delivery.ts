/**
 * The `delivery-gap` detector: a trail that stopped delivering.
 *
 * Three kinds of evidence, the strongest available:
 *
 * - **A logged stop.** A successful `StopLogging` or `DeleteTrail` in the account, after which no event logged
 *   later is delivered for `afterStopMinutes` (long enough for the files of the events before it to arrive): a
 *   gap since the stop, whatever the account's usual silences. Any event logged after the stop means logging
 *   went on (another trail was stopped, or logging was started again), and clears the evidence; a busy account
 *   clears it within minutes, a quiet account whose other trail was stopped is reported with that said.
 * - **Digest files.** A trail with log file validation delivers a digest file for each Region every hour,
 *   whether or not anything happened. In a Region whose digests the partition has seen, a gap is
 *   `digestGapMinutes` without one (two missed in a row): certain, and quiet accounts stay quiet — a Region
 *   with no activity still gets its digests, so its log-file silences are never reported.
 * - **Log files, account-wide.** Without digests, a silence only means something when the whole account is
 *   silent: one Region going quiet while others deliver is normal (CloudTrail writes no file when nothing
 *   happened). The account's silence is compared with the silences learned for the same hour of the week
 *   (decayed, so an old outage fades out of the baseline), and with the longest silences of the other day
 *   type at that hour too: a holiday is as quiet as a weekend. At hours when the account is quiet (files
 *   10 minutes apart or more on average) a silence must also outlast the longest the account has had at any
 *   hour: nights and weekends of a sandbox are not outages. Each delivered file teaches the silence it ends,
 *   unless that silence was reported: an outage must not teach the baseline that outages are normal.
 *
 * A gap is only reported when the archive confirms it: the caller is asked whether files of the partition
 * were delivered in the silence but not applied (a backlog or failing files inside the pipeline), and such a
 * silence is the pipeline's own fault, alarmed by the pipeline, not a trail that stopped logging.
 */
import { type Context, decay, HOUR, historyMinutes, MINUTE, shortPrincipal, slotOf } from './context';
import type { FileDelta } from './delta';
import { DELIVERY_EPISODE_KEY, endEpisode, episodeId, startEpisode } from './episodes';
import { type GapCause, type InsightEvent, isoSeconds, round } from './insight';
import type { EpisodeState, PartitionHead } from './state';
import { roundSum } from './stats';

function fmtMinutes(ms: number): string {
  const m = ms / MINUTE;
  if (m >= 120) return `${round(m / 60)} h`;
  return `${Math.round(m)} min`;
}

/** Open-episode key of a Region's digest gap. */
export function digestEpisodeKey(region: string): string {
  return `${DELIVERY_EPISODE_KEY}|${region}`;
}

/** Events logged this long after a stop are another trail's, or logging was started again. */
const STOP_SKEW_MS = MINUTE;

/**
 * A log file delivered at its `deliveredAt`: what it says of logging (a stop, events after a stop), and the
 * account's silence it ends. A silence after a logged stop ends when logging resumes, not with the files of
 * events logged before the stop; other silences end with any file, and teach the baseline unless reported.
 */
export function recordLogFile(ctx: Context, delta: FileDelta, now: number, out: InsightEvent[]): void {
  const { head } = ctx;
  const at = delta.deliveredAt;
  if (delta.newest !== undefined) head.newest = Math.max(head.newest ?? Number.NEGATIVE_INFINITY, at - delta.newest);
  if (delta.loggingStopped) {
    const [toDelivery, by, call] = delta.loggingStopped;
    const t = at - toDelivery;
    if (t > (head.loggingStopped?.[0] ?? Number.NEGATIVE_INFINITY)) head.loggingStopped = [t, by, delta.region, call];
  }
  if (head.loggingStopped && (head.newest ?? Number.NEGATIVE_INFINITY) > head.loggingStopped[0] + STOP_SKEW_MS) {
    delete head.loggingStopped;
  }
  const ep = head.episodes[DELIVERY_EPISODE_KEY];
  if (ep) {
    if (ep.gapCause !== 'logging-stopped' || !head.loggingStopped) {
      endEpisode(ctx, DELIVERY_EPISODE_KEY, ep, now, out);
      if (head.silence) head.silence[1] = at;
    }
  } else if (at > head.lastDelivery) {
    recordSilence(ctx, head.lastDelivery, at);
  }
  head.lastDelivery = Math.max(head.lastDelivery, at);
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

/** A digest file of `region` delivered at `at`: the trail logs there; it ends the Region's digest gap. */
export function recordDigest(ctx: Context, region: string, at: number, now: number, out: InsightEvent[]): void {
  const r = ctx.head.regions[region];
  r.digest = Math.max(r.digest ?? Number.NEGATIVE_INFINITY, at);
  const key = digestEpisodeKey(region);
  const ep = ctx.head.episodes[key];
  if (ep) {
    endEpisode(ctx, key, ep, now, out);
    if (r.silence) r.silence[1] = at;
  }
}

/** Whether any Region of the account delivers digests (then log-file silences are not evidence). */
function hasDigests(head: PartitionHead): boolean {
  return Object.values(head.regions).some((r) => r.digest !== undefined);
}

interface LearnedSilence {
  longest: number;
  seen: number;
  meanGap: number;
}

/**
 * An account whose files come this far apart on average at an hour is quiet then: its silences are
 * heavy-tailed (a night, a weekend, a holiday), so a silence is only unusual beyond the longest it has had
 * at any hour.
 */
const QUIET_MEAN_GAP_MS = 10 * MINUTE;

/** The longest silence the account has had, at any hour of the week. */
function longestSilence(head: PartitionHead): number {
  let longest = 0;
  for (const e of Object.values(head.silences)) longest = Math.max(longest, e[0]);
  return longest;
}

/**
 * What the account's silences look like within three hours of the hour where this one began (activity
 * drifts from day to day): the mean silence from the same day type (weekday/weekend) — undefined until that
 * day type has been seen enough (the first weekend after deploy is not judged by weekdays) — and the longest
 * from both day types, so a holiday silence is measured against weekends.
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
  if (own.seen < 20) return undefined;
  return { ...own, longest: gather([0, 24]).longest };
}

/** The account-wide silence threshold, or undefined when nothing learned yet. */
function silenceThreshold(ctx: Context): { threshold: number; learned: LearnedSilence } | undefined {
  const { head, settings } = ctx;
  const dg = settings.config.deliveryGap;
  const learned = learnedSilence(head, head.lastDelivery, settings.config.utcOffsetMinutes);
  if (!learned) return undefined;
  const quiet = learned.meanGap >= QUIET_MEAN_GAP_MS;
  const threshold = Math.max(
    dg.minSilentMinutes * MINUTE,
    dg.factor * (quiet ? Math.max(learned.longest, longestSilence(head)) : learned.longest),
    Math.max(learned.meanGap, MINUTE) * Math.log(1 / dg.alpha),
  );
  return { threshold, learned };
}

/**
 * The earliest time a gap can be reported (the evaluator's due time), or +∞: the next digest deadline of a
 * Region that has digests, else the account's silence threshold. A silence longer than `maxSilentHours` at
 * the first look is an archive boundary (another period replayed, an account that left), never reported.
 */
export function nextDeliveryCheck(ctx: Context): number {
  const { head, settings } = ctx;
  const dg = settings.config.deliveryGap;
  if (!dg.enabled) return Number.POSITIVE_INFINITY;
  const learnedBy = head.first + settings.config.learningHours * HOUR;
  const open = head.episodes[DELIVERY_EPISODE_KEY];
  if (open?.gapCause === 'logging-stopped') return Number.POSITIVE_INFINITY;
  const stop = head.loggingStopped;
  const afterStop =
    stop && !open ? Math.max(stop[0] + dg.afterStopMinutes * MINUTE, learnedBy) : Number.POSITIVE_INFINITY;
  return Math.min(afterStop, nextSilenceCheck(ctx, learnedBy));
}

/** The earliest time a digest gap or an account's silence can be reported, or +∞. */
function nextSilenceCheck(ctx: Context, learnedBy: number): number {
  const { head, settings } = ctx;
  const dg = settings.config.deliveryGap;
  let next = Number.POSITIVE_INFINITY;
  if (hasDigests(head)) {
    for (const [region, r] of Object.entries(head.regions)) {
      if (r.digest === undefined || head.episodes[digestEpisodeKey(region)]) continue;
      if (head.clock - r.digest > dg.maxSilentHours * HOUR) continue;
      next = Math.min(next, Math.max(r.digest + dg.digestGapMinutes * MINUTE, learnedBy));
    }
    return next;
  }
  if (head.episodes[DELIVERY_EPISODE_KEY] || !Number.isFinite(head.lastDelivery)) return next;
  if (head.clock - head.lastDelivery > dg.maxSilentHours * HOUR) return next;
  const t = silenceThreshold(ctx);
  if (!t) return next;
  const earliest = Math.max(head.lastDelivery + t.threshold, learnedBy);
  return earliest > head.lastDelivery + dg.maxSilentHours * HOUR ? next : earliest;
}

function gapEpisode(
  ctx: Context,
  region: string,
  since: number,
  fields: Pick<EpisodeState, 'expected' | 'score' | 'baselineAverage' | 'explanation'>,
  gapCause: Exclude<GapCause, 'job-stopped'> = 'delivery-stopped',
): EpisodeState {
  const { head, settings } = ctx;
  return {
    id: episodeId(ctx, 'delivery-gap', region, since),
    detector: 'delivery-gap',
    region,
    start: since,
    startBin: Math.floor(since / settings.binMs),
    lastHot: Math.floor(since / settings.binMs),
    total: 0,
    observed: 0,
    suppressed: settings.isSuppressed(
      { account: head.account, region },
      'delivery-gap',
      undefined,
      'cloudtrail.amazonaws.com',
      [],
    ),
    eventSource: 'cloudtrail.amazonaws.com',
    eventName: 'LogFileDelivery',
    eventNames: [],
    errorCodes: [],
    attributions: [],
    gapCause,
    expectedAt: since,
    ...fields,
  };
}

/** Opens delivery-gap episodes: Regions whose digests stopped, or an account silent beyond its history. */
export function checkDelivery(ctx: Context, now: number, out: InsightEvent[]): void {
  const { head, settings } = ctx;
  const { config } = settings;
  const dg = config.deliveryGap;
  if (!dg.enabled || historyMinutes(head) < config.learningHours * 60) return;
  checkLoggingStopped(ctx, now, out);
  // Digests and the account's silence would only report the same outage again.
  if (head.episodes[DELIVERY_EPISODE_KEY]?.gapCause === 'logging-stopped') return;
  if (hasDigests(head)) {
    for (const [region, r] of Object.entries(head.regions)) {
      const key = digestEpisodeKey(region);
      if (r.digest === undefined || head.episodes[key]) continue;
      const silent = now - r.digest;
      if (silent < dg.digestGapMinutes * MINUTE || silent > dg.maxSilentHours * HOUR) continue;
      if (ctx.data.unappliedFiles(r.digest, now, { regions: [region], digests: true })) continue;
      const logsGoOn = r.last > r.digest;
      const ep = gapEpisode(ctx, region, r.digest, {
        expected: silent / HOUR,
        score: 0,
        baselineAverage: 1 / 60,
        explanation: logsGoOn
          ? `${head.account}/${region} delivered no digest file for ${fmtMinutes(silent)} (since ${isoSeconds(r.digest)}) while its log files still arrive: log file validation was turned off or the digests are withheld (UpdateTrail, bucket policy).`
          : `${head.account}/${region} delivered no digest file for ${fmtMinutes(silent)} (since ${isoSeconds(r.digest)}); a trail with log file validation delivers one every hour, with or without activity: check that the trail is still logging (StopLogging, DeleteTrail, bucket policy, KMS key).`,
      });
      r.silence = [r.digest, 0];
      startEpisode(ctx, key, ep, now, 0, Math.round(silent / MINUTE), out);
    }
    return;
  }
  if (head.episodes[DELIVERY_EPISODE_KEY] || !Number.isFinite(head.lastDelivery)) return;
  const silent = now - head.lastDelivery;
  if (silent < dg.minSilentMinutes * MINUTE || silent > dg.maxSilentHours * HOUR) return;
  const t = silenceThreshold(ctx);
  if (!t) return;
  const { learned } = t;
  // Files arrive roughly as a Poisson process around the hour's mean gap: a silence of s has probability
  // exp(−s / mean). Both that and "well beyond the longest silence seen" must hold.
  const p0 = Math.exp(-silent / Math.max(learned.meanGap, MINUTE));
  if (silent < t.threshold || p0 >= dg.alpha) return;
  const regions = Object.keys(head.regions).sort();
  // Files delivered but not applied: the pipeline's own backlog or failures, not a trail that stopped.
  if (ctx.data.unappliedFiles(head.lastDelivery, now, { regions })) return;
  const since = head.lastDelivery;
  // Reported in the Region of the account's last file (where the trail was last heard from).
  const lastRegion = regions.reduce((a, b) => (head.regions[b].last > head.regions[a].last ? b : a), regions[0]);
  const ep = gapEpisode(ctx, lastRegion, since, {
    expected: learned.seen > 0 ? silent / (learned.meanGap || silent) : 0,
    score: p0,
    baselineAverage: learned.meanGap > 0 ? MINUTE / learned.meanGap : 0,
    explanation: `Account ${head.account} delivered no log files in any Region for ${fmtMinutes(silent)} (since ${isoSeconds(since)}, last from ${lastRegion}); at this hour the longest silence of the last weeks was ${fmtMinutes(learned.longest)}: check that the trail is still logging (StopLogging, DeleteTrail, bucket policy, KMS key).`,
  });
  head.silence = [since, 0];
  startEpisode(ctx, DELIVERY_EPISODE_KEY, ep, now, 0, Math.round(silent / MINUTE), out);
}

/** Opens the gap after a logged stop (see the module comment): nothing logged after it for `afterStopMinutes`. */
function checkLoggingStopped(ctx: Context, now: number, out: InsightEvent[]): void {
  const { head, settings } = ctx;
  const dg = settings.config.deliveryGap;
  const stop = head.loggingStopped;
  if (!stop || head.episodes[DELIVERY_EPISODE_KEY]) return;
  const [since, by, region, call] = stop;
  const silent = now - since;
  if (silent < dg.afterStopMinutes * MINUTE || silent > dg.maxSilentHours * HOUR) return;
  // Files delivered but not applied may hold events logged after the stop.
  if (ctx.data.unappliedFiles(since, now, { regions: Object.keys(head.regions).sort() })) return;
  const ep = gapEpisode(
    ctx,
    region,
    since,
    {
      expected: silent / MINUTE,
      score: 0,
      baselineAverage: 0,
      explanation: `${shortPrincipal(by)} called ${call} in ${region} at ${isoSeconds(since)}, and account ${head.account} has delivered no event logged after it for ${fmtMinutes(silent)}: the trail that feeds this archive stopped logging — start it again (StartLogging) and review what that principal did before.`,
    },
    'logging-stopped',
  );
  head.silence = [since, 0];
  startEpisode(ctx, DELIVERY_EPISODE_KEY, ep, now, 0, Math.round(silent / MINUTE), out);
}
