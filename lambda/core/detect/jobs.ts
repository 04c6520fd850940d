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
function runTolerance(config: DetectConfig, job: JobState & { due: number; per: number }): number {
  const tol = Math.max(job.jit, jitterTolerance(config, job.per));
  return nearClockChange(config, job.due, job.per) ? tol + HOUR : tol;
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
 * history. Returns true when a new run started. Calls within `runGapMinutes` of the latest one continue the
 * current run (earlier calls arriving late move its start back); later calls start a new run, whose interval
 * to the previous start is matched against the learned period.
 */
export function observeRun(config: DetectConfig, job: JobState, first: number, last: number, calls: number): boolean {
  const g = config.gap;
  if (first <= job.l + g.runGapMinutes * MINUTE) {
    if (last > job.l) job.l = last;
    if (first < job.rs && first >= job.rs - g.runGapMinutes * MINUTE) job.rs = first;
    job.n += calls;
    return false;
  }
  const delta = first - job.rs;
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
 * How long to wait for a run's file beyond its due time: the 98th percentile of the partition's files'
 * delivery lag (from their oldest event), 3 minutes to 2 hours. CloudTrail delivers some files 30–90
 * minutes late; where that happens, a run is only called missed once such a file could have come.
 */
export function lagAllowance(lag: readonly number[]): number {
  const total = lag.reduce((x, y) => x + y, 0);
  if (total < 50) return 10 * MINUTE;
  let acc = 0;
  for (let b = 0; b < lag.length; b++) {
    acc += lag[b];
    if (acc >= 0.98 * total) return Math.min(120, Math.max(3, lagBucketMinutes(b) + 1)) * MINUTE;
  }
  return 120 * MINUTE;
}

/** The earliest time a trusted job can be reported missed (for the evaluator's due time). */
export function nextJobCheck(ctx: Context): number {
  const { config } = ctx.settings;
  let next = Number.POSITIVE_INFINITY;
  for (const [id, job] of Object.entries(ctx.head.jobs)) {
    if (job.due === undefined || job.missed === job.due || job.per === undefined) continue;
    const tol = runTolerance(config, { ...job, due: job.due, per: job.per });
    // Nothing shows the trail logging since the run was due: only an input (not time) can make it reportable.
    const digest = ctx.head.regions[parseJobId(id).region]?.digest ?? Number.NEGATIVE_INFINITY;
    if (Math.max(ctx.head.lastDelivery, digest) < job.due + tol) continue;
    next = Math.min(next, job.due + tol);
  }
  return next;
}

/** Reports trusted jobs whose run is overdue at `now` (once per due time). */
export function checkJobs(ctx: Context, now: number, out: InsightEvent[]): void {
  const { head, settings } = ctx;
  const { config } = settings;
  const allowance = lagAllowance(head.lag);
  for (const [id, job] of Object.entries(head.jobs)) {
    if (job.due === undefined || job.missed === job.due || job.per === undefined) continue;
    const tol = runTolerance(config, { ...job, due: job.due, per: job.per });
    if (now < job.due + tol + allowance) continue;
    const { principal, region, source, name } = parseJobId(id);
    // A run lost in a reported silence (the account's, or its Region's digests) is excused: the delivery-gap
    // insight already speaks for it.
    const due = job.due;
    const covers = (silence: [number, number] | undefined) =>
      silence !== undefined && silence[0] <= due + tol + allowance && (silence[1] === 0 || silence[1] >= due);
    const excused = covers(head.silence) || covers(head.regions[region]?.silence);
    if (excused) {
      job.missed = job.due;
      continue;
    }
    // Nothing shows the trail logging since the run was due (no file in any Region, no digest of the job's
    // Region): wait before blaming the job.
    if (Math.max(head.lastDelivery, head.regions[region]?.digest ?? Number.NEGATIVE_INFINITY) < job.due + tol) continue;
    job.missed = job.due;
    // The principal was active around the due time: the run happened (some calls may arrive late).
    if ((head.seen[principal] ?? 0) >= job.due - tol) continue;
    if (historyMinutes(head) < config.learningHours * 60) continue;
    const key = gapEpisodeKey(principal);
    const open = head.episodes[key];
    if (open) {
      if (!open.eventNames.includes(name)) open.eventNames.push(name);
      continue;
    }
    const per = job.per;
    const ep: EpisodeState = {
      id: episodeId(ctx, 'gap', principal, region, job.due),
      detector: 'gap',
      region,
      start: job.due,
      startBin: Math.floor(job.due / settings.binMs),
      lastHot: Math.floor(job.due / settings.binMs),
      total: 0,
      observed: 0,
      expected: job.pn,
      score: zeroProbability(Math.max(1, job.pn), config.minDispersion),
      suppressed: settings.isSuppressed({ account: head.account, region }, 'gap', principal, source, [name]),
      eventSource: source,
      eventName: name,
      principal,
      eventNames: [name],
      errorCodes: [],
      attributions: [],
      baselineAverage: job.pn / (per / MINUTE),
      gapCause: 'job-stopped',
      expectedAt: job.due,
      periodMinutes: Math.round(per / MINUTE),
      explanation: `${shortPrincipal(principal)} runs ${name} (${source}) every ${fmtMinutes(per)} (${job.streak} runs on schedule, last ${isoSeconds(job.rs)}); the run due at ${isoSeconds(job.due)} has not appeared by ${isoSeconds(now)} in ${region} while account ${head.account} still delivers logs: the job may have stopped.`,
    };
    startEpisode(ctx, key, ep, now, 0, Math.max(1, Math.round((now - job.due) / MINUTE)), out);
  }
}

/** The earliest time `checkJobs` can do something: due + tolerance + lag allowance of the earliest job. */
export function nextJobDue(ctx: Context): number {
  const allowance = lagAllowance(ctx.head.lag);
  const next = nextJobCheck(ctx);
  return next === Number.POSITIVE_INFINITY ? next : next + allowance;
}
