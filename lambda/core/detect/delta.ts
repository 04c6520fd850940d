/**
 * A delivery file reduced to what the engine needs: per-series counts by 5-minute bin (with the attributions
 * an explanation needs), run observations of candidate periodic jobs, the latest event per principal and
 * the delivery lag. Built once per file, while its events stream by, so detection never holds a file's
 * events in memory.
 *
 * The delta is the engine's input (the CLI and the pipeline feed the same deltas in the same order) and,
 * in the pipeline, the stored record of the file: written once when the file is read, it is both the
 * "this file was applied" marker and what later windows and compactions read back.
 */
import type { TrailEvent } from '../event';
import { addTo, put } from './records';
import { isObjectRead, isProvisioning, jobId, parseJobId, seriesId } from './series';

/** Counts of one series in one bin, and what explains them (only the maps the series kind needs). */
export interface BinCounts {
  /** Calls in the bin. */
  c: number;
  /** Earliest event time in the bin, ms after the bin's start (small numbers: deltas are stored per file). */
  o: number;
  /** By principal (per-API series), user agent, error code (denials), eventName, eventSource (per-principal series). */
  p?: Record<string, number>;
  a?: Record<string, number>;
  e?: Record<string, number>;
  n?: Record<string, number>;
  s?: Record<string, number>;
  /** By source IP (S3 object reads, console sign-ins). */
  i?: Record<string, number>;
}

/** One file's reduction. Plain JSON: it is stored as it is. */
export interface FileDelta {
  readonly account: string;
  readonly region: string;
  /** Delivery time from the file name (epoch ms, minute precision). */
  readonly deliveredAt: number;
  /** The file's identity (object key, or local path): the tie-breaker of the canonical order. */
  readonly file: string;
  readonly events: number;
  /** Series id → bin index → counts. */
  readonly series: Record<string, Record<string, BinCounts>>;
  /**
   * Job id → [ms from the first event to the delivery, ms from the first to the last event, calls] of the
   * (principal, API) in this file (offsets keep the stored delta small; see {@link jobObservations}).
   */
  readonly jobs: Record<string, [number, number, number]>;
  /**
   * Principal → ms from its latest event to the delivery, for principals without job observations in this
   * file (the console, root); the others' latest event is in `jobs` (see {@link latestByPrincipal}).
   */
  readonly seen: Record<string, number>;
  /**
   * The file's delivery lag: whole minutes from its oldest event to its delivery (capped at 240). A file
   * whose oldest event is an hour old is a late file, however few events it holds: the job checks wait for
   * the lag the partition's files usually have (jobs.ts).
   */
  readonly lag: number;
  /** Smallest and largest bin with events (undefined for a file without events). */
  readonly minBin?: number;
  readonly maxBin?: number;
  /**
   * A digest file (log file validation delivers one per Region every hour, with or without activity): it
   * carries no events, only the fact that the trail was logging when it was delivered.
   */
  readonly digest?: true;
  /**
   * The latest successful `StopLogging` or `DeleteTrail` in the file: [ms from it to the delivery, who, which
   * call]. Only present when the file holds one: the delivery-gap detector's direct evidence that logging was
   * turned off (delivery.ts).
   */
  readonly loggingStopped?: [number, string, string];
  /** ms from the file's newest event to the delivery (undefined for a file without events). */
  readonly newest?: number;
}

/** Error codes that mean "you are not allowed to", as opposed to "that failed". */
const DENIED = /AccessDenied|Unauthorized|Forbidden|NotAuthorized/i;
const IAM_SOURCE = 'iam.amazonaws.com';
const CLOUDTRAIL_SOURCE = 'cloudtrail.amazonaws.com';
/** Calls that turn a trail's logging off. */
const STOPS_LOGGING = new Set(['StopLogging', 'DeleteTrail']);
/**
 * Calls made through the console: people, not scheduled jobs. CloudTrail's user agent is `signin.amazonaws.com`
 * for an IAM user in the console, `console.amazonaws.com` for the root user, `AWS Internal` for the console's
 * back end.
 */
const CONSOLE_AGENT = /^(signin|console)\.amazonaws\.com|^AWS Internal/i;

/** Whether a user agent is the console's. */
export function isConsoleAgent(agent: string): boolean {
  return CONSOLE_AGENT.test(agent);
}
/** User agents are capped at 1 KB by CloudTrail; 120 characters identify the tool. */
const AGENT_CHARS = 120;
/**
 * Attribution maps keep their top entries only: explanations name the top five, the caller check the top
 * principal. A busy API's bin can have thousands of callers; the cap keeps a delta proportional to its
 * series, not to its distinct strings.
 */
const MAX_ATTRIBUTION_ENTRIES = 16;
const OTHER = '~other';

/** Adds to a count map, creating it when absent; returns the map. */
function inc(map: Record<string, number> | undefined, key: string, by = 1): Record<string, number> {
  const m = map ?? {};
  addTo(m, key, by);
  return m;
}

/**
 * The series an event counts toward. Failed writes provision nothing: they count as errors, not calls. A
 * failed console sign-in carries no errorCode (the failure is in `responseElements`): it counts for the user
 * it named and for the account, as a failure, and nowhere else.
 */
export function seriesOfEvent(ev: TrailEvent, region: string): string[] {
  const ids: string[] = [];
  if (ev.loginOutcome === 'Failure') {
    ids.push(seriesId({ kind: 'login-failures', principal: ev.principal }));
    ids.push(seriesId({ kind: 'account-login-failures' }));
    return ids;
  }
  // Console passwords belong to IAM users and the root user; federated sign-ins do MFA at their identity provider.
  if (
    ev.loginOutcome === 'Success' &&
    ev.mfaUsed === false &&
    (ev.principalKind === 'IAMUser' || ev.principalKind === 'Root')
  ) {
    ids.push(seriesId({ kind: 'logins-without-mfa', principal: ev.principal }));
  }
  if (isProvisioning(ev.source, ev.name)) ids.push(seriesId({ kind: 'region-provisioning', region }));
  if (isObjectRead(ev)) {
    ids.push(seriesId({ kind: 'object-reads', principal: ev.principal }));
  }
  if (!ev.readOnly && !ev.errorCode) {
    ids.push(seriesId({ kind: 'api-calls', region, source: ev.source, name: ev.name }));
    ids.push(seriesId({ kind: 'principal-writes', principal: ev.principal }));
  }
  if (ev.errorCode) {
    ids.push(seriesId({ kind: 'api-errors', region, source: ev.source, name: ev.name, code: ev.errorCode }));
    ids.push(seriesId({ kind: 'principal-failures', principal: ev.principal }));
  }
  if (ev.source === IAM_SOURCE && !ev.readOnly) ids.push(seriesId({ kind: 'iam-writes', principal: ev.principal }));
  if (ev.readOnly) ids.push(seriesId({ kind: 'reads', principal: ev.principal }));
  if (ev.errorCode && DENIED.test(ev.errorCode)) ids.push(seriesId({ kind: 'denials', principal: ev.principal }));
  return ids;
}

/** Scheduled jobs are programs: the console and the root user do not run cron jobs. */
export function mayBeJob(ev: TrailEvent): boolean {
  return ev.principalKind !== 'Root' && !(ev.userAgent !== undefined && isConsoleAgent(ev.userAgent));
}

/**
 * Accumulates a file's events into a {@link FileDelta}. Feed events with {@link add} as the reader yields
 * them, then call {@link finish}. An event dated after the file's delivery minute (clock skew) is counted in
 * the bin of the delivery minute, so a delta never holds bins later than its delivery: the window reads of
 * the pipeline and the CLI then agree on which files can contribute to a bin.
 */
export class DeltaBuilder {
  private readonly series: Record<string, Record<string, BinCounts>> = {};
  /** Absolute [first, last, calls] while building; offsets in the finished delta. */
  private readonly jobs: Record<string, [number, number, number]> = {};
  /** Principal → latest event (a Map: a record keyed by each event's new principal string costs more). */
  private readonly seen = new Map<string, number>();
  private readonly jobPrincipals = new Set<string>();
  private oldest = Number.POSITIVE_INFINITY;
  private newest = Number.NEGATIVE_INFINITY;
  private stopped: [number, string, string] | undefined;
  private events = 0;
  private minBin = Number.POSITIVE_INFINITY;
  private maxBin = Number.NEGATIVE_INFINITY;
  private readonly latestBin: number;

  constructor(
    private readonly file: { account: string; region: string; deliveredAt: number; file: string },
    private readonly binMs: number,
  ) {
    this.latestBin = Math.floor((file.deliveredAt + 60_000) / binMs);
  }

  add(ev: TrailEvent): void {
    this.events++;
    const bin = Math.min(Math.floor(ev.time / this.binMs), this.latestBin);
    if (bin < this.minBin) this.minBin = bin;
    if (bin > this.maxBin) this.maxBin = bin;
    if (ev.time < this.oldest) this.oldest = ev.time;
    if (ev.time > this.newest) this.newest = ev.time;
    if (
      ev.source === CLOUDTRAIL_SOURCE &&
      !ev.errorCode &&
      STOPS_LOGGING.has(ev.name) &&
      ev.time > (this.stopped?.[0] ?? Number.NEGATIVE_INFINITY)
    )
      this.stopped = [ev.time, ev.principal, ev.name];
    if (ev.time > (this.seen.get(ev.principal) ?? Number.NEGATIVE_INFINITY)) this.seen.set(ev.principal, ev.time);
    for (const id of seriesOfEvent(ev, this.file.region)) this.count(id, bin, ev);
    if (mayBeJob(ev)) {
      this.jobPrincipals.add(ev.principal);
      const key = jobId({ principal: ev.principal, region: this.file.region, source: ev.source, name: ev.name });
      const j = this.jobs[key];
      if (!j) this.jobs[key] = [ev.time, ev.time, 1];
      else {
        if (ev.time < j[0]) j[0] = ev.time;
        if (ev.time > j[1]) j[1] = ev.time;
        j[2] += 1;
      }
    }
  }

  private count(id: string, bin: number, ev: TrailEvent): void {
    let bins = this.series[id];
    if (!bins) {
      bins = {};
      this.series[id] = bins;
    }
    const offset = ev.time - bin * this.binMs;
    let b = bins[bin];
    if (!b) {
      b = { c: 0, o: offset };
      bins[bin] = b;
    }
    b.c += 1;
    if (offset < b.o) b.o = offset;
    // Only the attributions an explanation or a rule of the series' detector reads (deltas are stored).
    switch (id[0]) {
      case 'c':
      case 'e':
        // No error codes for api-calls: it counts successful calls only (their errorCode is null).
        b.p = inc(b.p, ev.principal);
        break;
      case 'w':
      case 'x':
        return;
      case 'g':
        b.p = inc(b.p, ev.principal);
        b.n = inc(b.n, ev.name);
        if (ev.errorCode) b.e = inc(b.e, ev.errorCode);
        break;
      case 'o':
        b.n = inc(b.n, ev.name);
        if (ev.sourceIp !== undefined) b.i = inc(b.i, ev.sourceIp);
        break;
      case 'f':
        b.p = inc(b.p, ev.principal);
        if (ev.sourceIp !== undefined) b.i = inc(b.i, ev.sourceIp);
        break;
      case 'l':
      case 'm':
        if (ev.sourceIp !== undefined) b.i = inc(b.i, ev.sourceIp);
        break;
      default:
        b.n = inc(b.n, ev.name);
        b.s = inc(b.s, ev.source);
        if (id[0] === 'd') b.e = inc(b.e, ev.errorCode ?? 'null');
    }
    if (ev.userAgent !== undefined) b.a = inc(b.a, ev.userAgent.slice(0, AGENT_CHARS));
  }

  finish(): FileDelta {
    for (const bins of Object.values(this.series)) {
      for (const b of Object.values(bins)) {
        if (b.p) b.p = capped(b.p);
        if (b.a) b.a = capped(b.a);
        if (b.i) b.i = capped(b.i);
      }
    }
    const d = this.file.deliveredAt;
    const jobs: Record<string, [number, number, number]> = {};
    for (const [id, [first, last, calls]] of Object.entries(this.jobs)) jobs[id] = [d - first, last - first, calls];
    const seen: Record<string, number> = {};
    for (const [p, t] of this.seen) if (!this.jobPrincipals.has(p)) put(seen, p, d - t);
    return {
      ...this.file,
      events: this.events,
      series: this.series,
      jobs,
      seen,
      lag: Number.isFinite(this.oldest)
        ? Math.min(240, Math.max(0, Math.floor((this.file.deliveredAt - this.oldest) / 60_000)))
        : 0,
      ...(this.events > 0 ? { minBin: this.minBin, maxBin: this.maxBin, newest: d - this.newest } : {}),
      ...(this.stopped ? { loggingStopped: [d - this.stopped[0], this.stopped[1], this.stopped[2]] } : {}),
    };
  }
}

/** The top entries of an attribution map (ties broken by name), the rest summed under `~other`. */
function capped(map: Record<string, number>): Record<string, number> {
  const entries = Object.entries(map);
  if (entries.length <= MAX_ATTRIBUTION_ENTRIES) return map;
  entries.sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : 1));
  const out: Record<string, number> = {};
  let rest = 0;
  entries.forEach(([k, v], i) => {
    if (i < MAX_ATTRIBUTION_ENTRIES) put(out, k, v);
    else rest += v;
  });
  out[OTHER] = (out[OTHER] ?? 0) + rest;
  return out;
}

/** The attribution key under which capped entries are summed (never a principal, agent or API). */
export const OTHER_ATTRIBUTION = OTHER;

/** A delta from a list of events (tests, and callers that already hold the events). */
export function buildDelta(
  file: { account: string; region: string; deliveredAt: number; file: string },
  events: Iterable<TrailEvent>,
  binMs: number,
): FileDelta {
  const builder = new DeltaBuilder(file, binMs);
  for (const ev of events) builder.add(ev);
  return builder.finish();
}

/** The delta of a digest file: read from its key alone (the engine needs nothing inside it). */
export function digestDelta(file: { account: string; region: string; deliveredAt: number; file: string }): FileDelta {
  return { ...file, events: 0, series: {}, jobs: {}, seen: {}, lag: 0, digest: true };
}

/** A delta's job observations with absolute times: [job id, first event, last event, calls]. */
export function* jobObservations(delta: FileDelta): Generator<[string, number, number, number]> {
  for (const [id, [toDelivery, span, calls]] of Object.entries(delta.jobs)) {
    const first = delta.deliveredAt - toDelivery;
    yield [id, first, first + span, calls];
  }
}

/** The latest event time of every principal of a delta (from its job observations and `seen`). */
export function latestByPrincipal(delta: FileDelta): Map<string, number> {
  const out = new Map<string, number>();
  for (const [id, , last] of jobObservations(delta)) {
    const principal = parseJobId(id).principal;
    if (last > (out.get(principal) ?? Number.NEGATIVE_INFINITY)) out.set(principal, last);
  }
  for (const [p, toDelivery] of Object.entries(delta.seen)) {
    const t = delta.deliveredAt - toDelivery;
    if (t > (out.get(p) ?? Number.NEGATIVE_INFINITY)) out.set(p, t);
  }
  return out;
}

/** Canonical order of deltas: delivery time, then file identity. Every replay applies files in this order. */
export function compareDeltas(
  a: { deliveredAt: number; file: string },
  b: { deliveredAt: number; file: string },
): number {
  return a.deliveredAt - b.deliveredAt || (a.file < b.file ? -1 : a.file > b.file ? 1 : 0);
}
