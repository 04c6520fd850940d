/**
 * The engine's state: plain JSON-serializable objects, so it can be written to a file (`--state`) or a
 * DynamoDB item and resumed exactly. Numbers survive JSON round-trips bit for bit, and object key order
 * is preserved, so a resumed engine produces the same insights as an uninterrupted one.
 */
import type { DetectorKind } from './config';
import type { Attribution } from './insight';
import { roundSum } from './stats';

/** Per-bin counts of one series, with what is needed to explain a window (attributions, API lists). */
export interface BinState {
  /** Calls in the bin. */
  c: number;
  /** Earliest event time in the bin (epoch ms). */
  t0: number;
  /** Arrived after the bin's windows were folded into the baseline. */
  late?: true;
  /** Counts by principal, user agent, error code, eventName, eventSource (only those the series needs). */
  p?: Record<string, number>;
  a?: Record<string, number>;
  e?: Record<string, number>;
  n?: Record<string, number>;
  s?: Record<string, number>;
}

/**
 * Seasonal count baseline of one series: decayed sums of window counts (s1) and squared counts (s2) by
 * slot (24 hours × weekday/weekend), as of time `ref`. The slot exposure (how many windows were
 * observed) is shared by the partition, because zero-count windows cost nothing to store.
 */
export interface SeriesState {
  ref: number;
  s1: Record<string, number>;
  s2: Record<string, number>;
  /** Last window (bin index) folded into the sums. */
  fw: number;
}

/** An open episode: one insight from Start to End, never re-alerted in between. */
export interface EpisodeState {
  id: string;
  detector: DetectorKind;
  /** Event time of the first anomalous activity (or when the missing activity was due). */
  start: number;
  /** First and last anomalous bins. */
  startBin: number;
  lastHot: number;
  /** Calls counted in the episode so far. */
  total: number;
  observed: number;
  expected: number;
  score: number;
  suppressed: boolean;
  eventSource: string;
  eventName: string;
  errorCode?: string;
  principal?: string;
  eventNames: string[];
  errorCodes: string[];
  attributions: Attribution[];
  baselineAverage: number;
  gapCause?: 'job-stopped' | 'delivery-stopped';
  expectedAt?: number;
  periodMinutes?: number;
  explanation: string;
}

/**
 * Run history of one (principal, API): the raw material for learned schedules. Compact on purpose: the
 * current run, the candidate period and how many consecutive runs kept to it.
 */
export interface JobState {
  /** Start of the latest run and latest event time (epoch ms). */
  rs: number;
  l: number;
  /** Calls in the current and the previous run. */
  n: number;
  pn: number;
  /** Candidate period (ms): the interval between the last two runs until runs keep to it. */
  per?: number;
  /** Consecutive intervals that matched the period, and the worst jitter among them (ms). */
  streak: number;
  jit: number;
  /** Next due time, set once the schedule is trusted. */
  due?: number;
  /** The due time already reported (or excused) as missed. */
  missed?: number;
}

/** Everything learned about one account + region. */
export interface PartitionState {
  account: string;
  region: string;
  /** Time of the first data seen (epoch ms). */
  first: number;
  /** Last bin whose exposure was counted. */
  foldedBin: number;
  /** Decayed count of observed windows per slot, as of `expRef`. */
  exposure: Record<string, number>;
  expRef: number;
  /** Delivery time of the latest file. */
  lastDelivery: number;
  /** The latest silence reported by the delivery-gap detector: [since, until] (until 0 while open). */
  silence?: [number, number];
  /**
   * Silences between files by the hour-of-week slot where they began: [longest (decayed), count, total
   * length, last update], all decayed with the baselines' half-life.
   */
  silences: Record<string, [number, number, number, number]>;
  /** APIs each principal has read (`r|…`) or been denied on (`d|…`), and since when (first-seen logic). */
  known: Record<string, { since: number; apis: Record<string, 1> }>;
  /** Last anomalous bin of recently ended episodes, so late calls do not restart them. */
  ended: Record<string, number>;
  /** No scheduled run can be overdue before this time (a cache; absent = check now). */
  nextCheck?: number;
  /** Latest event time per principal: a job whose principal was active since its due time did run. */
  seen: Record<string, number>;
  /** Histogram of delivery lag (file time − event time), whole minutes 0..30. */
  lag: number[];
  series: Record<string, SeriesState>;
  recent: Record<string, Record<string, BinState>>;
  episodes: Record<string, EpisodeState>;
  jobs: Record<string, JobState>;
}

export interface EngineState {
  version: 1;
  /** The engine's clock: the latest delivery time (or tick) seen, epoch ms. */
  clock: number;
  partitions: Record<string, PartitionState>;
}

export const STATE_VERSION = 1;

/** Thrown when a state document cannot be resumed. */
export class StateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StateError';
  }
}

export function emptyState(): EngineState {
  return { version: 1, clock: 0, partitions: {} };
}

/** Parses and checks a state document (the top-level shape; the engine wrote the rest). */
export function parseState(text: string): EngineState {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new StateError(`state is not JSON: ${(err as Error).message}`);
  }
  if (typeof doc !== 'object' || doc === null) throw new StateError('state is not an object');
  const s = doc as Partial<EngineState>;
  if (s.version !== STATE_VERSION) throw new StateError(`unsupported state version ${String(s.version)}`);
  if (typeof s.clock !== 'number' || typeof s.partitions !== 'object' || s.partitions === null) {
    throw new StateError('state lacks clock or partitions');
  }
  for (const [key, p] of Object.entries(s.partitions)) {
    if (typeof p !== 'object' || p === null || typeof p.account !== 'string' || typeof p.series !== 'object') {
      throw new StateError(`state partition ${key} is malformed`);
    }
  }
  return s as EngineState;
}

export function serializeState(state: EngineState): string {
  return JSON.stringify(state);
}

function decayTo(value: number, from: number, to: number, halfLifeMs: number): number {
  return to <= from ? value : value * 2 ** (-(to - from) / halfLifeMs);
}

function addRecords(
  a: Record<string, number>,
  aRef: number,
  b: Record<string, number>,
  bRef: number,
  ref: number,
  halfLifeMs: number,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(a)) out[k] = decayTo(v, aRef, ref, halfLifeMs);
  for (const [k, v] of Object.entries(b)) out[k] = (out[k] ?? 0) + decayTo(v, bRef, ref, halfLifeMs);
  for (const k of Object.keys(out)) out[k] = roundSum(out[k]);
  return out;
}

function mergeCounts(a?: Record<string, number>, b?: Record<string, number>): Record<string, number> | undefined {
  if (!a) return b && { ...b };
  if (!b) return { ...a };
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = (out[k] ?? 0) + v;
  return out;
}

function mergeMax(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = Math.max(out[k] ?? v, v);
  return out;
}

function mergeKnown(a: PartitionState['known'], b: PartitionState['known']): PartitionState['known'] {
  const out = structuredClone(a);
  for (const [p, k] of Object.entries(b)) {
    const x = out[p];
    out[p] = x ? { since: Math.min(x.since, k.since), apis: { ...x.apis, ...k.apis } } : structuredClone(k);
  }
  return out;
}

function mergePartition(a: PartitionState, b: PartitionState, halfLifeMs: number): PartitionState {
  const expRef = Math.max(a.expRef, b.expRef);
  const series: Record<string, SeriesState> = {};
  for (const key of new Set([...Object.keys(a.series), ...Object.keys(b.series)])) {
    const x = a.series[key];
    const y = b.series[key];
    if (!x || !y) {
      series[key] = structuredClone((x ?? y)!);
      continue;
    }
    const ref = Math.max(x.ref, y.ref);
    series[key] = {
      ref,
      s1: addRecords(x.s1, x.ref, y.s1, y.ref, ref, halfLifeMs),
      s2: addRecords(x.s2, x.ref, y.s2, y.ref, ref, halfLifeMs),
      fw: Math.max(x.fw, y.fw),
    };
  }
  const recent: Record<string, Record<string, BinState>> = structuredClone(a.recent);
  for (const [key, bins] of Object.entries(b.recent)) {
    const into = recent[key] ?? {};
    for (const [bin, y] of Object.entries(bins)) {
      const x = into[bin];
      into[bin] = x
        ? {
            c: x.c + y.c,
            t0: Math.min(x.t0, y.t0),
            ...(x.p || y.p ? { p: mergeCounts(x.p, y.p) } : {}),
            ...(x.a || y.a ? { a: mergeCounts(x.a, y.a) } : {}),
            ...(x.e || y.e ? { e: mergeCounts(x.e, y.e) } : {}),
            ...(x.n || y.n ? { n: mergeCounts(x.n, y.n) } : {}),
            ...(x.s || y.s ? { s: mergeCounts(x.s, y.s) } : {}),
          }
        : structuredClone(y);
    }
    recent[key] = into;
  }
  const episodes = structuredClone(a.episodes);
  for (const [key, ep] of Object.entries(b.episodes)) {
    if (!episodes[key] || ep.start < episodes[key].start) episodes[key] = structuredClone(ep);
  }
  const jobs = structuredClone(a.jobs);
  for (const [key, job] of Object.entries(b.jobs)) {
    const x = jobs[key];
    if (!x) {
      jobs[key] = structuredClone(job);
      continue;
    }
    // Keep the better-established schedule; the latest activity wins for the current run.
    const best = x.streak >= job.streak ? x : job;
    jobs[key] = { ...best, l: Math.max(x.l, job.l), rs: Math.max(x.rs, job.rs) };
  }
  return {
    account: a.account,
    region: a.region,
    first: Math.min(a.first, b.first),
    foldedBin: Math.max(a.foldedBin, b.foldedBin),
    exposure: addRecords(a.exposure, a.expRef, b.exposure, b.expRef, expRef, halfLifeMs),
    expRef,
    lastDelivery: Math.max(a.lastDelivery, b.lastDelivery),
    ...(a.silence || b.silence
      ? { silence: (a.silence ?? [0, 0])[0] >= (b.silence ?? [0, 0])[0] ? a.silence! : b.silence! }
      : {}),
    seen: mergeMax(a.seen, b.seen),
    silences: { ...b.silences, ...a.silences },
    known: mergeKnown(a.known, b.known),
    ended: mergeMax(a.ended, b.ended),
    lag: a.lag.map((v, i) => v + (b.lag[i] ?? 0)),
    series,
    recent,
    episodes,
    jobs,
  };
}

/**
 * Merges two states, e.g. from two Lambdas that handled different accounts, or a backfill computed apart
 * from the live state. Partitions present in one state are copied; partitions present in both have
 * their baselines summed (after decaying both to the same reference time), their recent bins and run
 * histories united, and the earlier of two open episodes kept. Merging with an empty state is identity.
 */
export function mergeStates(a: EngineState, b: EngineState, halfLifeDays = 14): EngineState {
  const halfLifeMs = halfLifeDays * 86_400_000;
  const partitions: Record<string, PartitionState> = {};
  for (const key of new Set([...Object.keys(a.partitions), ...Object.keys(b.partitions)])) {
    const x = a.partitions[key];
    const y = b.partitions[key];
    partitions[key] = x && y ? mergePartition(x, y, halfLifeMs) : structuredClone((x ?? y)!);
  }
  return { version: 1, clock: Math.max(a.clock, b.clock), partitions };
}
