/**
 * Learned schedules of periodic jobs (one principal calling one API every N minutes, e.g. a nightly backup)
 * and the `gap` detector: a trusted schedule whose run did not appear.
 *
 * A (principal, API) is a *candidate* until its runs keep to one period long enough; candidates live in the
 * cold pages and learn at compactions (most pairs never become jobs, and a busy partition has many pairs).
 * Once trusted, the job moves to the partition head, where every delivered file updates it and every tick
 * checks it, so a missed run is reported minutes after it was due.
 */
import type { DetectConfig } from './config';
import { type Context, DAY, historyMinutes, MINUTE, shortPrincipal } from './context';
import { endEpisode, episodeId, gapEpisodeKey, startEpisode } from './episodes';
import { type InsightEvent, isoSeconds, round } from './insight';
import { own } from './records';
import { parseJobId } from './series';
import { type EpisodeState, type JobState, lagBucketMinutes } from './state';
import { zeroProbability } from './stats';

function fmtMinutes(ms: number): string {
  const m = ms / MINUTE;
  if (m >= 120) return `${round(m / 60)} h`;
  return `${Math.round(m)} min`;
}

const HOUR = 60 * MINUTE;

/** The n-th (1-based) Sunday of a month, or the last one (n = 0), at 00:00 UTC. */
function sunday(year: number, month: number, n: number): number {
  if (n === 0) {
    const last = new Date(Date.UTC(year, month + 1, 0));
    return last.getTime() - last.getUTCDay() * DAY;
  }
  const first = new Date(Date.UTC(year, month, 1));
  return first.getTime() + (((7 - first.getUTCDay()) % 7) + (n - 1) * 7) * DAY;
}

/**
 * The days clocks change in the largest zones that observe daylight saving: the United States and Canada
 * (second Sunday of March, first of November), Europe (last Sundays of March and October), south-east
 * Australia (first Sundays of April and October) and New Zealand (last Sunday of September, first of April).
 * A job scheduled in local time there runs an hour earlier or later in UTC from that day on.
 */
export function clockChangeDays(year: number): number[] {
  return [
    sunday(year, 2, 2),
    sunday(year, 10, 1),
    sunday(year, 2, 0),
    sunday(year, 9, 0),
    sunday(year, 3, 1),
    sunday(year, 9, 1),
    sunday(year, 8, 0),
  ];
}

/**
 * Whether a run of a job with this period, due at `due`, may be the first after a clock change: from the day
 * before a change (zones east of UTC change earlier) to one period plus a day after it. Only jobs of 6 hours
 * or more: an hourly job runs every hour in any zone.
 */
export function nearClockChange(config: DetectConfig, due: number, period: number): boolean {
  if (!config.gap.clockChanges || period < 6 * HOUR) return false;
  const year = new Date(due).getUTCFullYear();
  for (const y of [year - 1, year]) {
    for (const day of clockChangeDays(y)) if (due >= day - DAY && due <= day + period + DAY) return true;
  }
  return false;
}

/** How long after its due time a run may come: the jitter, plus an hour near a clock change. */
function runTolerance(config: DetectConfig, job: JobState & { per: number }, due: number): number {
  const tol = Math.max(job.jit, jitterTolerance(config, job.per));
  return nearClockChange(config, due, job.per) ? tol + HOUR : tol;
}

/** Allowed jitter of a run: max(floor, fraction × period). */
export function jitterTolerance(config: DetectConfig, period: number): number {
  return Math.max(config.gap.jitterFloorMinutes * MINUTE, config.gap.jitterFraction * period);
}

/** A new job's state from its first observation. */
export function newJob(first: number, last: number, calls: number): JobState {
  return { rs: first, l: last, n: calls, pn: 0, streak: 0, jit: 0 };
}

/** Whether a job's schedule is trusted enough to be checked for missed runs. */
export function isTrusted(config: DetectConfig, job: JobState): boolean {
  const g = config.gap;
  const per = job.per;
  return (
    per !== undefined &&
    per >= g.minPeriodMinutes * MINUTE &&
    per <= g.maxPeriodMinutes * MINUTE &&
    job.streak >= Math.max(g.minRuns - 1, Math.ceil(DAY / per))
  );
}

/**
 * Applies one file's calls of a (principal, API) — first and last event time, number of calls — to its run
 * history (`principalSeen`: the principal's latest call before this file, for trusted jobs in the head).
 * Returns true when a new run started. Calls within `runGapMinutes` of the latest one continue the current run
 * (earlier calls arriving late move its start back); later calls start a new run, whose interval to the previous
 * start is matched against the learned period.
 */
export function observeRun(
  config: DetectConfig,
  job: JobState,
  first: number,
  last: number,
  calls: number,
  principalSeen = Number.POSITIVE_INFINITY,
): boolean {
  const g = config.gap;
  if (first <= job.l + g.runGapMinutes * MINUTE) {
    // The late file of a run a later one passed over: that run happened.
    if (job.skip !== undefined && job.per !== undefined) {
      if (Math.abs(first - job.skip) <= runTolerance(config, { ...job, per: job.per }, job.skip)) delete job.skip;
    }
    if (last > job.l) job.l = last;
    if (first < job.rs && first >= job.rs - g.runGapMinutes * MINUTE) job.rs = first;
    job.n += calls;
    return false;
  }
  const delta = first - job.rs;
  // A trusted run due before this one that did not come (the principal did nothing from its due time until this
  // run, and it was not reported yet): check it once its file can no longer be late (an hourly job runs again
  // well before a late file of the missed run could come).
  if (job.due !== undefined && job.per !== undefined && job.missed !== job.due && job.skip === undefined) {
    const tol = runTolerance(config, { ...job, per: job.per }, job.due);
    // This run is a later one (a period after the due time or more), not the due one running late.
    if (principalSeen < job.due - tol && first >= job.due + job.per - tol) job.skip = job.due;
  }
  job.pn = job.n;
  job.n = calls;
  job.rs = first;
  job.l = last;
  const fits = (per: number): { k: number; dev: number } => {
    const k = Math.max(1, Math.round(delta / per));
    return { k, dev: Math.abs(delta - k * per) };
  };
  const tol = job.per === undefined ? 0 : jitterTolerance(config, job.per);
  // A run an hour early or late just after a clock change: the schedule moved with local time.
  const shifted =
    job.per !== undefined &&
    fits(job.per).k === 1 &&
    Math.abs(fits(job.per).dev - HOUR) <= tol &&
    nearClockChange(config, first, job.per);
  if (shifted) {
    job.streak += 1;
  } else if (job.per !== undefined && fits(job.per).dev <= tol) {
    const { k, dev } = fits(job.per);
    if (k === 1) {
      job.streak += 1;
      // Follow slow drift of the schedule without letting one late run move it far.
      job.per += (delta - job.per) / 8;
    }
    job.jit = Math.max(job.jit, dev);
  } else {
    job.per = delta;
    job.streak = 0;
    job.jit = 0;
  }
  if (isTrusted(config, job)) job.due = job.rs + job.per!;
  else delete job.due;
  return true;
}

/** A trusted job's run arrived: its gap episode (if any) is over. */
export function jobRan(ctx: Context, id: string, now: number, out: InsightEvent[]): void {
  const { principal, name } = parseJobId(id);
  const key = gapEpisodeKey(principal);
  const ep = ctx.head.episodes[key];
  if (ep?.eventNames.includes(name)) endEpisode(ctx, key, ep, now, out);
}

/**
 * Fraction of a partition's files allowed to arrive after the lag allowance. A missed run is declared when its
 * file could no longer be late; a job's file is as likely to be late as any other (CloudTrail delivers some
 * files 30–90 minutes late, at random), so the allowance is a far quantile of the partition's lag: a daily job
 * is then called missed by a late file about once in three years, an hourly one every six weeks.
 */
export const LATE_FILE_RISK = 0.001;

/**
 * How long to wait for a run's file beyond its due time: the lag (from a file's oldest event to its delivery)
 * that all but {@link LATE_FILE_RISK} of the partition's files kept, 3 minutes to 2 hours. Where no file was
 * ever late this is the usual few minutes; where some are, a run is only called missed once such a file could
 * have come.
 */
export function lagAllowance(lag: readonly number[]): number {
  const total = lag.reduce((x, y) => x + y, 0);
  if (total < 50) return 10 * MINUTE;
  let acc = 0;
  for (let b = 0; b < lag.length; b++) {
    acc += lag[b];
    if (acc >= (1 - LATE_FILE_RISK) * total) return Math.min(120, Math.max(3, lagBucketMinutes(b) + 1)) * MINUTE;
  }
  return 120 * MINUTE;
}

/** The due times of a trusted job still to be checked: the next run's, and one a later run passed over. */
function pendingRuns(job: JobState): { due: number; skipped: boolean }[] {
  if (job.per === undefined) return [];
  const out: { due: number; skipped: boolean }[] = [];
  if (job.skip !== undefined) out.push({ due: job.skip, skipped: true });
  if (job.due !== undefined && job.missed !== job.due) out.push({ due: job.due, skipped: false });
  return out;
}

/**
 * Whether the trail is known to be logging since `at`: a file from any of the account's Regions, or a digest of
 * the job's Region, delivered after it. Until then only an input (not time) can make a missed run reportable.
 */
function loggingSince(ctx: Context, region: string, at: number): boolean {
  return Math.max(ctx.head.lastDelivery, ctx.head.regions[region]?.digest ?? Number.NEGATIVE_INFINITY) >= at;
}

/** The earliest time `checkJobs` can report a trusted job missed: due + tolerance + lag allowance. */
export function nextJobDue(ctx: Context): number {
  const { config } = ctx.settings;
  const allowance = lagAllowance(ctx.head.lag);
  let next = Number.POSITIVE_INFINITY;
  for (const [id, job] of Object.entries(ctx.head.jobs)) {
    for (const { due } of pendingRuns(job)) {
      const tol = runTolerance(config, { ...job, per: job.per! }, due);
      if (!loggingSince(ctx, parseJobId(id).region, due + tol)) continue;
      next = Math.min(next, due + tol + allowance);
    }
  }
  return next;
}

/**
 * Reports trusted jobs whose run is overdue at `now` (once per due time): the next run, once it is later than
 * its file could be, and a run a later one passed over (an hourly job runs again before a late file could come).
 */
export function checkJobs(ctx: Context, now: number, out: InsightEvent[]): void {
  const { head, settings } = ctx;
  const { config } = settings;
  const allowance = lagAllowance(head.lag);
  for (const [id, job] of Object.entries(head.jobs)) {
    for (const { due, skipped } of pendingRuns(job)) {
      const tol = runTolerance(config, { ...job, per: job.per! }, due);
      if (now < due + tol + allowance) continue;
      const { principal, region } = parseJobId(id);
      // A run lost in a reported silence (the account's, or its Region's digests) is excused: the delivery-gap
      // insight already speaks for it.
      const covers = (silence: [number, number] | undefined) =>
        silence !== undefined && silence[0] <= due + tol + allowance && (silence[1] === 0 || silence[1] >= due);
      const excused = covers(head.silence) || covers(head.regions[region]?.silence);
      if (!excused && !loggingSince(ctx, region, due + tol)) continue;
      if (skipped) delete job.skip;
      else job.missed = due;
      if (excused) continue;
      // The principal was active around the due time: the run happened (some calls may arrive late). A run
      // passed over is known not to have come: the principal's later activity is the next run.
      if (!skipped && (own(head.seen, principal) ?? 0) >= due - tol) continue;
      if (historyMinutes(head) < config.learningHours * 60) continue;
      reportMissed(ctx, id, job, due, skipped, now, out);
    }
  }
}

/** Opens the gap episode of a missed run (or adds the API to the principal's open one). */
function reportMissed(
  ctx: Context,
  id: string,
  job: JobState,
  due: number,
  skipped: boolean,
  now: number,
  out: InsightEvent[],
): void {
  const { head, settings } = ctx;
  const { principal, region, source, name } = parseJobId(id);
  const key = gapEpisodeKey(principal);
  const open = head.episodes[key];
  if (open) {
    if (!open.eventNames.includes(name)) open.eventNames.push(name);
    return;
  }
  const per = job.per!;
  const ep: EpisodeState = {
    id: episodeId(ctx, 'gap', principal, region, due),
    detector: 'gap',
    region,
    start: due,
    startBin: Math.floor(due / settings.binMs),
    lastHot: Math.floor(due / settings.binMs),
    total: 0,
    observed: 0,
    expected: job.pn,
    score: zeroProbability(Math.max(1, job.pn), settings.config.minDispersion),
    suppressed: settings.isSuppressed({ account: head.account, region }, 'gap', principal, source, [name]),
    eventSource: source,
    eventName: name,
    principal,
    eventNames: [name],
    errorCodes: [],
    attributions: [],
    baselineAverage: job.pn / (per / MINUTE),
    gapCause: 'job-stopped',
    expectedAt: due,
    periodMinutes: Math.round(per / MINUTE),
    explanation: skipped
      ? `${shortPrincipal(principal)} runs ${name} (${source}) every ${fmtMinutes(per)} (last run ${isoSeconds(job.rs)}); the run due at ${isoSeconds(due)} did not come in ${region}, and by ${isoSeconds(now)} no late file brought it: the job skipped a run.`
      : `${shortPrincipal(principal)} runs ${name} (${source}) every ${fmtMinutes(per)} (${job.streak} runs on schedule, last ${isoSeconds(job.rs)}); the run due at ${isoSeconds(due)} has not appeared by ${isoSeconds(now)} in ${region} while account ${head.account} still delivers logs: the job may have stopped.`,
  };
  startEpisode(ctx, key, ep, now, 0, Math.max(1, Math.round((now - due) / MINUTE)), out);
}
