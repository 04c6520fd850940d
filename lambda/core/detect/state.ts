/**
 * The engine's state for one account + Region (a partition), split by how often each part changes:
 *
 * - the **head** ({@link PartitionHead}): small and hot: the clock and the position in the input order,
 *   open and recently ended episodes, trusted periodic jobs, and what was learned about the partition as a
 *   whole (exposure by hour of week, silences between deliveries, delivery lag). Rewritten on every advance.
 * - **pages** ({@link Page}): the cold, large part: the baseline of every series, the APIs each principal is
 *   known to use, candidate jobs and when each principal was last seen, spread over pages by a hash of the
 *   principal or API (pages hold ranges of a hash of the group; see compaction.ts). Written only by a compaction, which folds the deltas received since
 *   the last one into them, so a file costs its delta, not a rewrite of everything the partition knows.
 * - **deltas** ({@link FileDelta}): one per file, the input; the recent ones are read back to test windows.
 *
 * Everything is plain JSON. Numbers survive JSON round-trips bit for bit and key order is kept, so a
 * resumed engine continues exactly where it stopped.
 */
import type { DetectorKind } from './config';
import type { Attribution, GapCause } from './insight';

/** Seasonal count baseline of one series: decayed sums of window counts (s1) and squares (s2) by slot. */
export interface SeriesBaseline {
  /** Reference time of the decayed sums (epoch ms). */
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
  /** The Region the insight is reported in (`awsRegion`): the API's, the job's, or where the file that opened it was delivered. */
  region: string;
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
  gapCause?: GapCause;
  expectedAt?: number;
  periodMinutes?: number;
  /** Bins of the window that opened the episode, when not the short window (the long window). */
  windowBins?: number;
  /** Source IPs of the activity, most frequent first (s3-exfiltration, console-brute-force). */
  sourceIps?: string[];
  explanation: string;
}

/** Run history of one (principal, API): the raw material of a learned schedule. */
export interface JobState {
  /** Start of the latest run and its latest event time (epoch ms). */
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
  /**
   * A due time a later run passed over (no run at it, the job ran again a period later): reported once a late
   * file of it can no longer come, unless its calls arrive before then.
   */
  skip?: number;
}

/**
 * The first-seen memory of a series, since when: the APIs a principal read (reads), was denied on (denials) or
 * wrote to IAM with (IAM writes), with value 1; the source IPs it read S3 objects from (object reads), with the
 * hour (epoch hours) each was last seen, at most `s3-exfiltration.knownSources` of them.
 */
export interface KnownApis {
  since: number;
  apis: Record<string, number>;
  /**
   * Reads, denials and IAM writes: the largest window count the principal made (reported or not), decayed with
   * the baselines' half-life to `peakAt` (epoch ms) — the bursts it is known to make (rate.ts, habits).
   */
  peak?: number;
  peakAt?: number;
}

/** One page of the cold state. */
export interface Page {
  /** The compaction that last wrote the page (a retried compaction skips pages it already wrote). */
  k: number;
  series: Record<string, SeriesBaseline>;
  known: Record<string, KnownApis>;
  /** Candidate jobs (not trusted yet), by job id. */
  jobs: Record<string, JobState>;
  /** Latest event time per principal (the retention policy's clock). */
  seen: Record<string, number>;
  /** Jobs the compaction that wrote this page moved to the head (a retried compaction moves them again). */
  promoted?: Record<string, JobState>;
}

/** A page's place: the range [lo, hi) of group buckets (0..65535) it holds. */
export interface PageRef {
  readonly lo: number;
  readonly hi: number;
}

/** Group buckets: pages hold contiguous ranges of them. */
export const BUCKETS = 65_536;

/** The storage id of a page. */
export function pageIdOf(ref: PageRef): string {
  return `${ref.lo}-${ref.hi}`;
}

/** The pages of a head, from the sorted starts of their bucket ranges. */
export function pageRefs(head: { pages: readonly number[] }): PageRef[] {
  return head.pages.map((lo, i) => ({ lo, hi: head.pages[i + 1] ?? BUCKETS }));
}

/** The storage ids of a head's pages. */
export function pageIds(head: { pages: readonly number[] }): string[] {
  return pageRefs(head).map(pageIdOf);
}

/** Bookkeeping of the compactions (everything deterministic, so the CLI and the pipeline compact alike). */
export interface CompactionState {
  /** Number of the last compaction (0: none yet). */
  k: number;
  /** Clock of the last compaction. */
  at: number;
  /** Last bin folded into baselines and exposure. */
  horizon: number;
  /** Canonical position of the last file applied before the last compaction. */
  position?: FilePosition;
  /** Serialized size (characters) of the deltas applied since the last compaction. */
  deltaChars: number;
  /** Serialized size (characters) of the pages as the last compaction wrote them. */
  baseChars: number;
  /** Files applied out of canonical order since the last compaction (their bins fold as late windows). */
  late: FilePosition[];
  /** True when the next advance must start with a compaction. */
  due: boolean;
}

/** A file's place in the canonical order: delivery time, then file identity. */
export interface FilePosition {
  readonly deliveredAt: number;
  readonly file: string;
}

/** What the partition knows about one of its Regions. */
export interface RegionState {
  /** Delivery time of the Region's latest log file. */
  last: number;
  /** Time of the Region's latest digest file (log file validation delivers one every hour, activity or not). */
  digest?: number;
  /** The latest digest gap reported: [since, until] (until 0 while open). */
  silence?: [number, number];
  /** Event time of the first provisioning call seen in the Region (unused-region). */
  prov?: number;
}

export interface PartitionHead {
  format: typeof HEAD_FORMAT;
  /** A partition is one account: its Regions share what is learned about principals (see series.ts). */
  account: string;
  /** The account's Regions seen so far. */
  regions: Record<string, RegionState>;
  /** Latest input time applied (a delivery or an evaluator tick), epoch ms. */
  clock: number;
  /** Time of the first input. */
  first: number;
  /** Delivery time of the latest file, in any Region. */
  lastDelivery: number;
  /** Latest event time of the files applied, in any Region. */
  newest?: number;
  /**
   * A logged `StopLogging` or `DeleteTrail` after which no event has been delivered yet: [event time, who,
   * Region, which call]. Cleared by any later event (logging went on: it was another trail, or it was started
   * again).
   */
  loggingStopped?: [number, string, string, string];
  /** Last file applied in canonical order. */
  cursor?: FilePosition;
  /** Last evaluator tick applied. */
  lastTick?: number;
  /** Open episodes by series id (`gap|<principal>` for missed jobs, `delivery` for delivery gaps). */
  episodes: Record<string, EpisodeState>;
  /** Recently ended episodes: [last anomalous bin, start time, expected count], so late calls do not restart them. */
  ended: Record<string, [number, number, number]>;
  /** Trusted periodic jobs, by job id. */
  jobs: Record<string, JobState>;
  /** Latest event time of the principals of trusted jobs. */
  seen: Record<string, number>;
  /** The latest silence reported as a delivery gap: [since, until] (until 0 while open). */
  silence?: [number, number];
  /** Decayed count of observed windows per hour-of-week slot, as of `expRef`. */
  exposure: Record<string, number>;
  expRef: number;
  /** Silences between files by the slot where they began: [longest (decayed), count, total, last update] (6 digits). */
  silences: Record<string, [number, number, number, number]>;
  /** Files by delivery lag (file time − its oldest event), in {@link lagBucket}s. */
  lag: number[];
  compaction: CompactionState;
  /** The pages: the first bucket of each page's range, sorted (the first is 0; each runs to the next). */
  pages: number[];
  /** Backfills merged into this partition (a second merge of the same one adds nothing). */
  merged?: string[];
  /**
   * Since when the Regions' provisioning memory (`regions[…].prov`) is kept: the first input, or the first
   * one after an upgrade from a version without it (unused-region learns for `learningHours` from then on).
   */
  provSince?: number;
}

export const HEAD_FORMAT = 3;

/** Delivery-lag buckets: one per minute up to 30, then 5 minutes wide up to 240 (the last holds the rest). */
export const LAG_BUCKETS = 31 + 42;

/** The bucket of a lag in whole minutes. */
export function lagBucket(minutes: number): number {
  return minutes <= 30 ? Math.max(0, minutes) : Math.min(LAG_BUCKETS - 1, 30 + Math.ceil((minutes - 30) / 5));
}

/** The largest lag (minutes) a bucket holds. */
export function lagBucketMinutes(bucket: number): number {
  return bucket <= 30 ? bucket : 30 + 5 * (bucket - 30);
}

/** Thrown when a state document cannot be resumed. */
export class StateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StateError';
  }
}

export function emptyHead(account: string, first: number, binMs: number, settleMs: number): PartitionHead {
  return {
    format: HEAD_FORMAT,
    account,
    regions: {},
    clock: first,
    first,
    lastDelivery: Number.NEGATIVE_INFINITY,
    episodes: {},
    ended: {},
    jobs: {},
    seen: {},
    exposure: {},
    expRef: first,
    silences: {},
    lag: new Array(LAG_BUCKETS).fill(0),
    provSince: first,
    compaction: {
      k: 0,
      at: first,
      horizon: Math.floor((first - settleMs) / binMs) - 1,
      deltaChars: 0,
      baseChars: 0,
      late: [],
      due: false,
    },
    pages: [0],
  };
}

export function emptyPage(): Page {
  return { k: 0, series: {}, known: {}, jobs: {}, seen: {} };
}

/** FNV-1a, 32 bits: a stable, fast string hash (page placement must never change between versions). */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Checks the top-level shape of a stored head (the engine wrote the rest). */
export function checkHead(value: unknown, where: string): PartitionHead {
  if (typeof value !== 'object' || value === null) throw new StateError(`${where}: not an object`);
  const h = value as Partial<PartitionHead>;
  if (h.format !== HEAD_FORMAT) {
    throw new StateError(`${where}: unsupported state format ${String(h.format)} (this version reads ${HEAD_FORMAT})`);
  }
  if (
    typeof h.account !== 'string' ||
    typeof h.regions !== 'object' ||
    typeof h.clock !== 'number' ||
    typeof h.episodes !== 'object' ||
    typeof h.compaction !== 'object' ||
    typeof h.pages !== 'object' ||
    !Array.isArray(h.lag)
  ) {
    throw new StateError(`${where}: malformed partition head`);
  }
  return h as PartitionHead;
}

/** Checks the top-level shape of a stored page. */
export function checkPage(value: unknown, where: string): Page {
  if (typeof value !== 'object' || value === null) throw new StateError(`${where}: not an object`);
  const p = value as Partial<Page>;
  if (typeof p.k !== 'number' || typeof p.series !== 'object' || typeof p.known !== 'object') {
    throw new StateError(`${where}: malformed state page`);
  }
  return {
    k: p.k,
    series: p.series ?? {},
    known: p.known ?? {},
    jobs: p.jobs ?? {},
    seen: p.seen ?? {},
    ...(p.promoted ? { promoted: p.promoted } : {}),
  };
}

/** `-Infinity` does not survive JSON; heads store it as null. */
export function headToJson(head: PartitionHead): string {
  return JSON.stringify(head, (_k, v) => (v === Number.NEGATIVE_INFINITY ? null : v));
}

export function headFromJson(text: string, where: string): PartitionHead {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new StateError(`${where}: not JSON: ${(error as Error).message}`);
  }
  const head = checkHead(value, where);
  if (head.lastDelivery === null) head.lastDelivery = Number.NEGATIVE_INFINITY;
  return head;
}
