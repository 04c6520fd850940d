/**
 * The detection engine: seasonal count baselines per API and per principal, negative-binomial tail tests
 * on sliding windows, learned schedules for periodic jobs, and episodes with Start/End pairs.
 *
 * Pure: time comes only from the data (event times, file delivery times) or from an explicit
 * {@link DetectionEngine.tick}, so replaying the same files in the same order gives identical output.
 */
import type { TrailEvent } from '../event';
import type { DetectConfig, DetectConfigInput, DetectorKind, RateDetectorConfig } from './config';
import { resolveDetectConfig, wildcardMatcher } from './config';
import type { Attribution, AttributionValue, InsightEvent } from './insight';
import { deterministicUuid, INSIGHT_EVENT_VERSION, isoSeconds, round } from './insight';
import type { BinState, EngineState, EpisodeState, PartitionState, SeriesState } from './state';
import { emptyState } from './state';
import { logUpperTail, roundSum, zeroProbability } from './stats';

/** The delivery file a batch of events came from. */
export interface DeliveredFile {
  readonly account: string;
  readonly region: string;
  /** Delivery time from the file name (epoch ms). */
  readonly deliveredAt: number;
}

const MINUTE = 60_000;
const HOUR = 3_600_000;
const SLOTS = 48;
/** Error codes that mean "you are not allowed to", as opposed to "that failed". */
const DENIED = /AccessDenied|Unauthorized|Forbidden|NotAuthorized/i;
const IAM_SOURCE = 'iam.amazonaws.com';
/** A rate counts as unusual (though not alarming on its own) below this tail probability. */
const CALLER_ALPHA = 0.01;
const DAY = 86_400_000;
/** Calls made through the console: people, not scheduled jobs. */
const CONSOLE_AGENT = /^(signin|console)\.amazonaws\.com|^AWS Internal/i;

/** Series-key prefix → the detector that tests it. */
const PREFIX_DETECTOR: Record<string, Exclude<DetectorKind, 'gap' | 'delivery-gap'>> = {
  c: 'call-rate',
  e: 'error-rate',
  i: 'iam-burst',
  r: 'recon',
  d: 'access-denied',
};

interface Expectation {
  /** Expected window count. */
  mu: number;
  /** NB dispersion (1/r). */
  c: number;
}

interface WindowView {
  count: number;
  t0: number;
  p: Record<string, number>;
  a: Record<string, number>;
  e: Record<string, number>;
  n: Record<string, number>;
  s: Record<string, number>;
}

/** Adds to a decayed sum, keeping {@link roundSum}'s precision. */
function addRounded(map: Record<string, number>, key: string, by: number): void {
  map[key] = roundSum((map[key] ?? 0) + by);
}

function inc(map: Record<string, number>, key: string, by = 1): void {
  map[key] = (map[key] ?? 0) + by;
}

function ranked(map: Record<string, number> | undefined): [string, number][] {
  if (!map) return [];
  return Object.entries(map).sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : 1));
}

/** Short, human form of a principal ARN: `user/alice`, `role/deploy`, `root`. */
export function shortPrincipal(principal: string): string {
  const m = /^arn:[^:]+:(?:iam|sts)::\d*:(.+)$/.exec(principal);
  if (!m) return principal;
  return m[1];
}

function fmtCount(n: number): string {
  return n >= 10 ? String(Math.round(n)) : String(round(n));
}

function fmtMinutes(ms: number): string {
  const m = ms / MINUTE;
  if (m >= 120) return `${round(m / 60)} h`;
  return `${Math.round(m)} min`;
}

/**
 * Detects unusual activity in a stream of delivered CloudTrail files.
 *
 * Feed files in delivery order with {@link ingestFile}; call {@link tick} when time passes without files
 * (the Lambdas' scheduled evaluator) so gaps and episode ends are found. {@link snapshot} returns the
 * state to persist; pass it back to the constructor to resume exactly where the engine stopped.
 */
export class DetectionEngine {
  readonly config: DetectConfig;
  private readonly state: EngineState;
  private readonly binMs: number;
  private readonly windowMs: number;
  private readonly halfLifeMs: number;
  private readonly suppressPrincipal: (v: string) => boolean;
  private readonly suppressName: (v: string) => boolean;
  private readonly suppressAccount: (v: string) => boolean;
  private readonly suppressRegion: (v: string) => boolean;

  constructor(config: DetectConfigInput | DetectConfig = {}, state?: EngineState) {
    this.config = resolveDetectConfig(config);
    this.state = state ?? emptyState();
    this.binMs = this.config.binMinutes * MINUTE;
    this.windowMs = this.binMs * this.config.windowBins;
    this.halfLifeMs = this.config.halfLifeDays * 86_400_000;
    const s = this.config.suppress;
    this.suppressPrincipal = wildcardMatcher(s.principals);
    this.suppressName = wildcardMatcher(s.eventNames);
    this.suppressAccount = wildcardMatcher(s.accounts);
    this.suppressRegion = wildcardMatcher(s.regions);
  }

  /** The engine's clock (latest delivery time or tick, epoch ms). */
  get clock(): number {
    return this.state.clock;
  }

  /** The state to persist; resuming from it continues exactly. Returned by reference: serialize it. */
  snapshot(): EngineState {
    return this.state;
  }

  /**
   * Processes one delivered file: advances the clock to its delivery time (closing windows, ending quiet
   * episodes, checking schedules), counts its events, and tests every window they touched.
   * Returns the insights emitted, in a deterministic order.
   */
  ingestFile(file: DeliveredFile, events: Iterable<TrailEvent>): InsightEvent[] {
    const out = this.tick(file.deliveredAt);
    const part = this.partition(file.account, file.region, file.deliveredAt);
    const now = this.state.clock;
    // A file ends any silence of its partition.
    const deliveryEp = part.episodes['g|'];
    if (deliveryEp) {
      this.endEpisode(part, 'g|', deliveryEp, now, out);
      if (part.silence) part.silence[1] = file.deliveredAt;
    } else if (file.deliveredAt > part.lastDelivery) {
      // A reported outage does not teach the baseline that outages are normal.
      this.recordSilence(part, part.lastDelivery, file.deliveredAt);
    }
    part.lastDelivery = Math.max(part.lastDelivery, file.deliveredAt);

    const touched = new Map<string, Set<number>>();
    for (const ev of events) {
      const bin = Math.floor(ev.time / this.binMs);
      const lagMin = Math.min(30, Math.max(0, Math.floor((file.deliveredAt - ev.time) / MINUTE)));
      part.lag[lagMin] += 1;
      for (const key of this.seriesKeys(ev)) {
        this.addToBin(part, key, bin, ev.time, ev);
        let bins = touched.get(key);
        if (!bins) {
          bins = new Set();
          touched.set(key, bins);
        }
        bins.add(bin);
        const ep = part.episodes[key];
        if (ep) ep.total += 1;
      }
      if (this.config.gap.enabled) this.observeJob(part, ev, now, out);
    }
    if (part.lag.reduce((x, y) => x + y, 0) > 100_000) part.lag = part.lag.map((v) => Math.floor(v / 2));

    for (const [key, bins] of touched) {
      const recent = part.recent[key];
      for (const bin of [...bins].sort((x, y) => x - y)) {
        for (let w = bin; w < bin + this.config.windowBins; w++) {
          if (w !== bin && !recent[w]) break;
          this.testWindow(part, key, w, now, out);
        }
      }
    }
    return out;
  }

  /**
   * Advances the clock to `now` (never backwards): folds settled windows into the baselines, ends
   * episodes that went quiet, and reports missed scheduled runs and silent accounts/regions.
   */
  tick(now: number): InsightEvent[] {
    const out: InsightEvent[] = [];
    if (now > this.state.clock) this.state.clock = now;
    const clock = this.state.clock;
    for (const part of Object.values(this.state.partitions)) {
      this.fold(part, clock);
      this.endQuietEpisodes(part, clock, out);
      if (this.config.gap.enabled) this.checkJobs(part, clock, out);
      if (this.config.deliveryGap.enabled) this.checkDelivery(part, clock, out);
    }
    return out;
  }

  // ---------------------------------------------------------------- counting

  private partition(account: string, region: string, at: number): PartitionState {
    const key = `${account}|${region}`;
    let part = this.state.partitions[key];
    if (!part) {
      part = {
        account,
        region,
        first: at,
        foldedBin: Math.floor((at - this.config.settleMinutes * MINUTE) / this.binMs) - 1,
        exposure: {},
        expRef: at,
        lastDelivery: at,
        lag: new Array(31).fill(0),
        seen: {},
        silences: {},
        known: {},
        ended: {},
        series: {},
        recent: {},
        episodes: {},
        jobs: {},
      };
      this.state.partitions[key] = part;
    }
    return part;
  }

  /** The series an event counts toward (prefix|...; see PREFIX_DETECTOR). */
  private seriesKeys(ev: TrailEvent): string[] {
    const keys: string[] = [];
    // Failed writes provision nothing: they belong to the error-rate series, not the call rate.
    if (!ev.readOnly && !ev.errorCode) {
      keys.push(`c|${ev.source}|${ev.name}`);
      keys.push(`w|${ev.principal}`);
    }
    if (ev.errorCode) {
      keys.push(`e|${ev.source}|${ev.name}|${ev.errorCode}`);
      keys.push(`x|${ev.principal}`);
    }
    if (ev.source === IAM_SOURCE && !ev.readOnly) keys.push(`i|${ev.principal}`);
    if (ev.readOnly) keys.push(`r|${ev.principal}`);
    if (ev.errorCode && DENIED.test(ev.errorCode)) keys.push(`d|${ev.principal}`);
    return keys;
  }

  private addToBin(part: PartitionState, key: string, bin: number, time: number, ev: TrailEvent | undefined): void {
    let bins = part.recent[key];
    if (!bins) {
      bins = {};
      part.recent[key] = bins;
    }
    let b = bins[bin];
    if (!b) {
      b = { c: 0, t0: time };
      const series = part.series[key];
      if (series && bin + this.config.windowBins - 1 <= series.fw) b.late = true;
      bins[bin] = b;
    }
    b.c += 1;
    if (time < b.t0) b.t0 = time;
    if (!ev) return;
    const prefix = key[0];
    if (prefix === 'c' || prefix === 'e') {
      b.p ??= {};
      inc(b.p, ev.principal);
      if (prefix === 'c') {
        b.e ??= {};
        inc(b.e, ev.errorCode ?? 'null');
      }
    } else {
      b.n ??= {};
      inc(b.n, ev.name);
      b.s ??= {};
      inc(b.s, ev.source);
      if (prefix === 'd') {
        b.e ??= {};
        inc(b.e, ev.errorCode ?? 'null');
      }
    }
    if (ev.userAgent !== undefined) {
      b.a ??= {};
      // User agents are capped at 1 KB by CloudTrail; 120 characters identify the tool.
      inc(b.a, ev.userAgent.slice(0, 120));
    }
  }

  // ---------------------------------------------------------------- baselines

  private slot(time: number): number {
    const local = time + this.config.utcOffsetMinutes * MINUTE;
    const hour = Math.floor(local / HOUR) % 24;
    const day = new Date(local).getUTCDay();
    return (day === 0 || day === 6 ? 24 : 0) + hour;
  }

  private decay(value: number, from: number, to: number): number {
    return to <= from ? value : value * 2 ** (-(to - from) / this.halfLifeMs);
  }

  /** Folds every window that ended before (clock − settle) into exposure and series sums. */
  private fold(part: PartitionState, clock: number): void {
    const horizon = Math.floor((clock - this.config.settleMinutes * MINUTE) / this.binMs) - 1;
    if (horizon <= part.foldedBin) return;
    // Exposure: one observed window per bin, in the bin's slot (zero-count windows included).
    const start = Math.max(part.foldedBin + 1, horizon - 14 * 24 * (60 / this.config.binMinutes));
    for (let b = start; b <= horizon; b++) {
      const t = (b + 1) * this.binMs;
      const f = 2 ** (-(t - part.expRef) / this.halfLifeMs);
      if (f !== 1) {
        for (const k of Object.keys(part.exposure)) part.exposure[k] = roundSum(part.exposure[k] * f);
        part.expRef = t;
      }
      addRounded(part.exposure, String(this.slot(b * this.binMs)), 1);
    }
    const dayBefore = Math.floor((part.foldedBin * this.binMs) / DAY);
    part.foldedBin = horizon;
    if (Math.floor((horizon * this.binMs) / DAY) > dayBefore) this.prune(part, horizon * this.binMs);
    for (const [key, bin] of Object.entries(part.ended)) if (bin < horizon - 12 * 24) delete part.ended[key];
    const wb = this.config.windowBins;
    for (const [key, bins] of Object.entries(part.recent)) {
      const binIds = Object.keys(bins).map(Number);
      if (binIds.length === 0 || binIds[0] > horizon) continue;
      let series = part.series[key];
      if (!series) {
        series = { ref: (binIds[0] + 1) * this.binMs, s1: {}, s2: {}, fw: binIds[0] - 1 };
        part.series[key] = series;
      }
      const windows = new Set<number>();
      for (const b of binIds) for (let w = b; w < b + wb && w <= horizon; w++) windows.add(w);
      for (const w of [...windows].sort((x, y) => x - y)) {
        let sum = 0;
        for (let b = w - wb + 1; b <= w; b++) {
          const bin = bins[b];
          if (bin && (w > series.fw || bin.late)) sum += bin.c;
        }
        if (sum === 0) continue;
        const t = (w + 1) * this.binMs;
        // While an episode is young, its windows would teach the baseline that the anomaly is normal and
        // end the episode early; clip them. After two hours a lasting change is learned as the new normal.
        const ep = part.episodes[key];
        if (ep && t - ep.start < 2 * HOUR) sum = Math.min(sum, Math.max(1, Math.ceil(2 * ep.expected)));
        if (t > series.ref) {
          const f = 2 ** (-(t - series.ref) / this.halfLifeMs);
          for (const k of Object.keys(series.s1)) series.s1[k] = roundSum(series.s1[k] * f);
          for (const k of Object.keys(series.s2)) series.s2[k] = roundSum(series.s2[k] * f);
          series.ref = t;
        }
        const slot = String(this.slot(w * this.binMs));
        addRounded(series.s1, slot, sum);
        addRounded(series.s2, slot, sum * sum);
      }
      const learnsApis = key[0] === 'r' || key[0] === 'd';
      for (const b of binIds) {
        if (learnsApis && b <= horizon) this.learnApis(part, key, bins[b], b);
        if (b + wb - 1 <= horizon) delete bins[b];
        else if (bins[b].late) delete bins[b].late;
      }
      series.fw = Math.max(series.fw, horizon);
      if (Object.keys(bins).length === 0) delete part.recent[key];
    }
  }

  /**
   * Once a day: forgets what has been idle for longer than the state can usefully remember (schedules and
   * principals idle for 30 days, series whose decayed sums fell below one call), so the state of a
   * long-running deployment stays proportional to its active series.
   */
  private prune(part: PartitionState, t: number): void {
    const idle = t - 30 * DAY;
    for (const [key, job] of Object.entries(part.jobs)) if (job.l < idle) delete part.jobs[key];
    for (const [key, last] of Object.entries(part.seen)) if (last < idle) delete part.seen[key];
    for (const [key, series] of Object.entries(part.series)) {
      if (part.recent[key] || part.episodes[key]) continue;
      const total = Object.values(series.s1).reduce((x, y) => x + y, 0);
      if (this.decay(total, series.ref, t) < 1) {
        delete part.series[key];
        delete part.known[key];
      }
    }
  }

  /**
   * Remembers the APIs a principal has read (`r|` series) or been denied on (`d|` series): first-seen
   * logic for reconnaissance and permission probing.
   */
  private learnApis(part: PartitionState, key: string, bin: BinState, b: number): void {
    if (!bin.n) return;
    let known = part.known[key];
    if (!known) {
      known = { since: b * this.binMs, apis: {} };
      part.known[key] = known;
    }
    for (const name of Object.keys(bin.n)) known.apis[name] = 1;
  }

  /**
   * Reconnaissance (or permission probing) by a known principal: many APIs it has never read (or never
   * been denied on), at once. Tested against the pace at which it has picked up new ones so far
   * (Poisson), once it has a day of history.
   */
  private testNovelty(part: PartitionState, key: string, view: WindowView, w: number): number | undefined {
    const dc = this.config.detectors[key[0] === 'r' ? 'recon' : 'access-denied'];
    if (dc.minNovelApis <= 0) return undefined;
    const known = part.known[key];
    const t = (w + 1) * this.binMs;
    if (!known || t - known.since < DAY) return undefined;
    let novel = 0;
    for (const name of Object.keys(view.n)) if (!known.apis[name]) novel++;
    if (novel < dc.minNovelApis) return undefined;
    const windows = (t - known.since) / this.windowMs;
    const rate = (Object.keys(known.apis).length + 1) / windows;
    return logUpperTail(novel, rate, 0);
  }

  /**
   * The count model of a series at time `t`: negative binomial with the slot's rate (hour of day ×
   * weekday/weekend), shrunk toward the same hour on any day and then toward the series' all-day rate
   * (empirical Bayes), never far below the neighbouring hours (people drift by an hour or two from day to
   * day) nor below half the all-day rate; the dispersion is learned by method of moments within slots and
   * shrunk toward the prior while evidence is thin. Sparse, bursty series get a large dispersion, so a
   * burst like the ones they usually have is not news, while a burst from a quiet series is.
   */
  private expectation(part: PartitionState, series: SeriesState | undefined, t: number): Expectation {
    const cfg = this.config;
    const e: number[] = new Array(SLOTS).fill(0);
    let eAll = 0;
    for (const [k, v] of Object.entries(part.exposure)) {
      const d = this.decay(v, part.expRef, t);
      e[Number(k)] = d;
      eAll += d;
    }
    const a = cfg.priorWindows;
    const floor = 0.5 / (eAll + a);
    if (!series) return { mu: floor, c: cfg.priorDispersion };
    const s1: number[] = new Array(SLOTS).fill(0);
    let s1All = 0;
    let within = 0;
    for (const [k, v] of Object.entries(series.s1)) {
      const i = Number(k);
      const x = this.decay(v, series.ref, t);
      s1[i] = x;
      s1All += x;
      const x2 = this.decay(series.s2[k] ?? 0, series.ref, t);
      if (e[i] > 0) within += Math.max(0, x2 - (x * x) / Math.max(e[i], 1));
    }
    const muAll = (s1All + 0.5) / (eAll + a);
    const hourRate = (h: number): number => {
      const hh = (h + 24) % 24;
      return (s1[hh] + s1[hh + 24] + a * muAll) / (e[hh] + e[hh + 24] + a);
    };
    const slot = this.slot(t - 1);
    const hour = slot % 24;
    const muSlot = (s1[slot] + a * hourRate(hour)) / (e[slot] + a);
    const near = 0.5 * Math.max(hourRate(hour - 1), hourRate(hour + 1));
    const far = 0.25 * Math.max(hourRate(hour - 2), hourRate(hour + 2));
    const mu = Math.max(muSlot, near, far, 0.5 * muAll, floor);
    let c = cfg.priorDispersion;
    if (eAll > 0 && s1All > 0) {
      const mean = s1All / eAll;
      const variance = within / eAll;
      const cHat = Math.max(0, (variance - mean) / (mean * mean));
      const w = s1All / (s1All + 20);
      c = w * cHat + (1 - w) * cfg.priorDispersion;
    }
    return { mu, c: Math.max(cfg.minDispersion, c) };
  }

  /** ln P(window count ≥ x) under the series' count model. */
  private logTail(x: number, exp: Expectation): number {
    return logUpperTail(x, exp.mu, exp.c);
  }

  private historyMinutes(part: PartitionState): number {
    return Math.max(0, Math.round((this.state.clock - part.first) / MINUTE));
  }

  // ---------------------------------------------------------------- rate detectors

  private window(part: PartitionState, key: string, w: number): WindowView {
    const view: WindowView = { count: 0, t0: Number.POSITIVE_INFINITY, p: {}, a: {}, e: {}, n: {}, s: {} };
    const bins = part.recent[key] ?? {};
    for (let b = w - this.config.windowBins + 1; b <= w; b++) {
      const bin: BinState | undefined = bins[b];
      if (!bin) continue;
      view.count += bin.c;
      view.t0 = Math.min(view.t0, bin.t0);
      for (const [field, into] of [
        [bin.p, view.p],
        [bin.a, view.a],
        [bin.e, view.e],
        [bin.n, view.n],
        [bin.s, view.s],
      ] as const) {
        if (field) for (const [k, v] of Object.entries(field)) inc(into, k, v);
      }
    }
    return view;
  }

  private testWindow(part: PartitionState, key: string, w: number, now: number, out: InsightEvent[]): void {
    const detector = PREFIX_DETECTOR[key[0]];
    if (!detector) return;
    const dc: RateDetectorConfig = this.config.detectors[detector];
    if (!dc.enabled) return;
    const ep = part.episodes[key];
    const view = this.window(part, key, w);
    const minCount = ep ? Math.ceil(dc.minCount / 2) : dc.minCount;
    const novelPossible =
      !ep && (key[0] === 'r' || key[0] === 'd') && dc.minNovelApis > 0 && view.count >= dc.minNovelApis;
    if (view.count < minCount && !novelPossible) return;
    const distinct = Object.keys(view.n).length;
    if (!ep && (key[0] === 'i' || key[0] === 'r' || key[0] === 'd') && distinct < dc.minDistinctApis) return;
    const exp = this.expectation(part, part.series[key], (w + 1) * this.binMs);
    const novelty = novelPossible ? this.testNovelty(part, key, view, w) : undefined;
    const countOk = view.count >= minCount && view.count >= this.config.minRatio * exp.mu;
    if (!countOk && novelty === undefined) return;
    const logP = Math.min(countOk ? this.logTail(view.count, exp) : 0, novelty ?? 0);
    if (ep) {
      if (logP < Math.log(this.config.alphaContinue)) ep.lastHot = Math.max(ep.lastHot, w);
      return;
    }
    const alpha = Math.log(this.config.alpha);
    const perApi = key[0] === 'c' || key[0] === 'e';
    // Per-API series: two views must agree. The API's rate and the dominant caller's own write (error)
    // rate are both unusual, and at least one of them extremely so. A lab student or CI role that always
    // works in bursts stays quiet; a new or normally quiet principal on a busy API does not.
    const caller = perApi ? this.callerLogTail(part, key, view, w) : undefined;
    const loose = Math.log(CALLER_ALPHA);
    // Overwhelming evidence on the API alone (p < alpha²: a new error code in bulk, dozens of calls of a
    // never-used API) is news whoever the caller is.
    const anomalous =
      caller === undefined || logP < 2 * alpha
        ? logP < alpha
        : (logP < alpha && caller < loose) || (caller < alpha && logP < loose);
    if (!anomalous) return;
    if (this.historyMinutes(part) < this.config.learningHours * 60) return;
    // Late calls of an episode that already ended do not start a second one.
    const ended = part.ended[key];
    if (ended !== undefined && w - this.config.windowBins < ended) return;
    this.startRateEpisode(part, key, detector, w, view, exp, Math.exp(logP), now, out, caller);
  }

  /**
   * ln P(caller's window count) for the principal that made most of a per-API window's calls, under its
   * own write (or error) baseline; undefined when no principal made at least half of the calls.
   */
  private callerLogTail(part: PartitionState, key: string, view: WindowView, w: number): number | undefined {
    const top = ranked(view.p)[0];
    if (!top || top[1] * 2 < view.count) return undefined;
    const callerKey = `${key[0] === 'c' ? 'w' : 'x'}|${top[0]}`;
    const callerView = this.window(part, callerKey, w);
    const exp = this.expectation(part, part.series[callerKey], (w + 1) * this.binMs);
    return this.logTail(callerView.count, exp);
  }

  private startRateEpisode(
    part: PartitionState,
    key: string,
    detector: DetectorKind,
    w: number,
    view: WindowView,
    exp: Expectation,
    p: number,
    now: number,
    out: InsightEvent[],
    callerLogP?: number,
  ): void {
    const fields = key.split('|');
    const windowMin = this.windowMs / MINUTE;
    const names = ranked(view.n);
    const sources = ranked(view.s);
    const principals = ranked(view.p);
    const errors = ranked(view.e).filter(([code]) => code !== 'null');
    let eventSource: string;
    let eventName: string;
    let errorCode: string | undefined;
    let principal: string | undefined;
    if (key[0] === 'c' || key[0] === 'e') {
      eventSource = fields[1];
      eventName = fields[2];
      if (key[0] === 'e') errorCode = fields.slice(3).join('|');
      // Name the dominant caller when one principal made most of the calls.
      if (principals.length > 0 && principals[0][1] * 2 >= view.count) principal = principals[0][0];
    } else {
      principal = fields.slice(1).join('|');
      eventName = names[0]?.[0] ?? '';
      eventSource = sources[0]?.[0] ?? '';
    }
    const eventNames = key[0] === 'c' || key[0] === 'e' ? [eventName] : names.map(([n]) => n);
    const errorCodes = errorCode ? [errorCode] : errors.map(([c]) => c);
    const attributions = this.attributions(view, windowMin, key[0]);
    if (principal !== undefined && Object.keys(view.p).length === 0) {
      // Principal-level series: the principal is the series itself; say so where Insights consumers look.
      attributions.unshift({
        attribute: 'userIdentityArn',
        insight: [{ value: principal, average: round(view.count / windowMin) }],
        baseline: [],
      });
    }
    const who = principal ? shortPrincipal(principal) : undefined;
    const expected = exp.mu;
    const callerP = callerLogP === undefined ? undefined : Math.exp(callerLogP);
    // The evidence that made it fire: the API's own tail, or the caller's when that was the extreme one.
    const score = callerP !== undefined && callerP < p ? callerP : p;
    const callerText =
      callerP !== undefined && who
        ? `; ${who}'s own ${key[0] === 'c' ? 'write' : 'error'} rate is unusual too (p = ${callerP.toExponential(1)})`
        : '';
    const expText = `expected about ${fmtCount(expected)} per ${windowMin} min at this hour`;
    const top = (list: [string, number][], n: number): string =>
      list
        .slice(0, n)
        .map(([k, v]) => `${k} ×${v}`)
        .join(', ');
    let explanation: string;
    switch (detector) {
      case 'call-rate':
        explanation = `${eventName} (${eventSource}) was called ${view.count} times in ${windowMin} min${who ? `, mostly by ${who}` : ` by ${principals.length} principals`}; ${expText} (p = ${p.toExponential(1)})${callerText}: check what is being provisioned.`;
        break;
      case 'error-rate':
        explanation = `${eventName} (${eventSource}) failed ${view.count} times with ${errorCode} in ${windowMin} min${who ? `, mostly for ${who}` : ''}; ${expText} (p = ${p.toExponential(1)})${callerText}: a limit, an outage or a broken client.`;
        break;
      case 'iam-burst':
        explanation = `${who} made ${view.count} IAM write calls in ${windowMin} min (${top(names, 4)}); ${expText} (p = ${p.toExponential(1)}): confirm these identities and keys were meant to be created.`;
        break;
      case 'recon': {
        const known = part.known[key];
        const novel = known ? names.filter(([n]) => !known.apis[n]).length : names.length;
        explanation = `${who} made ${view.count} read-only calls to ${names.length} APIs (${novel} never called by it before) across ${sources.length} services in ${windowMin} min (${top(names, 3)}…); ${expText} (p = ${p.toExponential(1)}): looks like an enumeration sweep.`;
        break;
      }
      default:
        explanation = `${who} was denied ${view.count} times on ${names.length} APIs in ${windowMin} min (${errorCodes.slice(0, 3).join(', ')}; ${top(names, 3)}); ${expText} (p = ${p.toExponential(1)}): probing for permissions or a broken deployment.`;
    }
    const ep: EpisodeState = {
      id: deterministicUuid('episode', part.account, part.region, key, w),
      detector,
      start: view.t0,
      startBin: w - this.config.windowBins + 1,
      lastHot: w,
      total: view.count,
      observed: view.count,
      expected,
      score,
      suppressed: this.isSuppressed(part, detector, principal, eventSource, eventNames),
      eventSource,
      eventName,
      ...(errorCode !== undefined ? { errorCode } : {}),
      ...(principal !== undefined ? { principal } : {}),
      eventNames,
      errorCodes,
      attributions,
      baselineAverage: expected / windowMin,
      explanation,
    };
    part.episodes[key] = ep;
    if (!ep.suppressed) out.push(this.record(part, ep, 'Start', now, view.count / windowMin, windowMin));
  }

  private attributions(view: WindowView, windowMin: number, prefix: string): Attribution[] {
    const items = (map: Record<string, number>): AttributionValue[] => {
      const list = ranked(map);
      const head = list.slice(0, 5).map(([value, n]) => ({ value, average: round(n / windowMin) }));
      const rest = list.slice(5).reduce((acc, [, n]) => acc + n, 0);
      if (rest > 0) head.push({ value: 'Other', average: round(rest / windowMin) });
      return head;
    };
    const out: Attribution[] = [];
    if (Object.keys(view.p).length > 0)
      out.push({ attribute: 'userIdentityArn', insight: items(view.p), baseline: [] });
    if (Object.keys(view.a).length > 0) out.push({ attribute: 'userAgent', insight: items(view.a), baseline: [] });
    if (prefix === 'c' && Object.keys(view.e).length > 0) {
      out.push({ attribute: 'errorCode', insight: items(view.e), baseline: [] });
    }
    return out;
  }

  private isSuppressed(
    part: PartitionState,
    detector: DetectorKind,
    principal: string | undefined,
    eventSource: string,
    eventNames: string[],
  ): boolean {
    if (this.config.suppress.detectors.includes(detector)) return true;
    if (this.suppressAccount(part.account) || this.suppressRegion(part.region)) return true;
    if (principal && (this.suppressPrincipal(principal) || this.suppressPrincipal(shortPrincipal(principal)))) {
      return true;
    }
    // A cross-API insight is suppressed only when every API in it is.
    return (
      eventNames.length > 0 && eventNames.every((n) => this.suppressName(n) || this.suppressName(`${eventSource}:${n}`))
    );
  }

  private endQuietEpisodes(part: PartitionState, clock: number, out: InsightEvent[]): void {
    const quietBins = Math.ceil((this.config.endQuietMinutes * MINUTE) / this.binMs);
    const clockBin = Math.floor(clock / this.binMs);
    for (const [key, ep] of Object.entries(part.episodes)) {
      if (ep.detector === 'gap' || ep.detector === 'delivery-gap') continue;
      if (clockBin - ep.lastHot > quietBins) this.endEpisode(part, key, ep, clock, out);
    }
  }

  private endEpisode(part: PartitionState, key: string, ep: EpisodeState, now: number, out: InsightEvent[]): void {
    delete part.episodes[key];
    part.ended[key] = ep.lastHot;
    if (ep.suppressed) return;
    const gap = ep.detector === 'gap' || ep.detector === 'delivery-gap';
    const endTime = gap ? now : (ep.lastHot + 1) * this.binMs;
    const minutes = Math.max(1, Math.round((endTime - ep.start) / MINUTE));
    out.push(this.record(part, ep, 'End', now, gap ? 0 : ep.total / minutes, minutes));
  }

  private record(
    part: PartitionState,
    ep: EpisodeState,
    state: 'Start' | 'End',
    now: number,
    insightAverage: number,
    insightDuration: number,
  ): InsightEvent {
    const isError = ep.detector === 'error-rate' || (ep.detector === 'access-denied' && ep.errorCodes.length > 0);
    return {
      eventVersion: INSIGHT_EVENT_VERSION,
      eventTime: isoSeconds(ep.start),
      awsRegion: part.region,
      eventID: deterministicUuid(ep.id, state),
      eventType: 'AwsCloudTrailInsight',
      recipientAccountId: part.account,
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
            baselineDuration: this.historyMinutes(part),
            insightDuration,
          },
          attributions: ep.attributions,
        },
      },
      eventCategory: 'Insight',
      trailsight: {
        detector: ep.detector,
        detectedAt: isoSeconds(now),
        ...(ep.principal !== undefined ? { principal: ep.principal } : {}),
        eventNames: ep.eventNames,
        errorCodes: ep.errorCodes,
        observed: state === 'Start' ? ep.observed : ep.total,
        expected: round(ep.expected),
        score: ep.score,
        windowMinutes: state === 'Start' ? this.windowMs / MINUTE : insightDuration,
        ...(ep.gapCause ? { gapCause: ep.gapCause } : {}),
        ...(ep.expectedAt !== undefined ? { expectedAt: isoSeconds(ep.expectedAt) } : {}),
        ...(ep.periodMinutes !== undefined ? { periodMinutes: ep.periodMinutes } : {}),
        explanation: ep.explanation,
      },
    };
  }

  // ---------------------------------------------------------------- schedules and gaps

  /** Delivery lag allowance: the 95th percentile of (delivery − event time), 3 to 30 min. */
  private lagAllowance(part: PartitionState): number {
    const total = part.lag.reduce((x, y) => x + y, 0);
    if (total < 50) return 10 * MINUTE;
    let acc = 0;
    for (let m = 0; m < part.lag.length; m++) {
      acc += part.lag[m];
      if (acc >= 0.95 * total) return Math.min(30, Math.max(3, m + 1)) * MINUTE;
    }
    return 30 * MINUTE;
  }

  private observeJob(part: PartitionState, ev: TrailEvent, now: number, out: InsightEvent[]): void {
    if (ev.time > (part.seen[ev.principal] ?? 0)) part.seen[ev.principal] = ev.time;
    // Scheduled jobs are programs: the console and the root user do not run cron jobs.
    if (ev.principalKind === 'Root' || (ev.userAgent !== undefined && CONSOLE_AGENT.test(ev.userAgent))) return;
    const key = `${ev.principal}|${ev.source}|${ev.name}`;
    const job = part.jobs[key];
    if (!job) {
      part.jobs[key] = { rs: ev.time, l: ev.time, n: 1, pn: 0, streak: 0, jit: 0 };
      return;
    }
    const g = this.config.gap;
    if (ev.time <= job.l + g.runGapMinutes * MINUTE) {
      if (ev.time > job.l) job.l = ev.time;
      if (ev.time >= job.rs) job.n += 1;
      return;
    }
    // A new run.
    const delta = ev.time - job.rs;
    job.pn = job.n;
    job.n = 1;
    job.rs = ev.time;
    job.l = ev.time;
    const fits = (per: number): { k: number; dev: number } => {
      const k = Math.max(1, Math.round(delta / per));
      return { k, dev: Math.abs(delta - k * per) };
    };
    if (job.per !== undefined && fits(job.per).dev <= this.jitterTolerance(job.per)) {
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
    const per = job.per;
    const trusted =
      per >= g.minPeriodMinutes * MINUTE &&
      per <= g.maxPeriodMinutes * MINUTE &&
      job.streak >= Math.max(g.minRuns - 1, Math.ceil(DAY / per));
    if (trusted) {
      job.due = job.rs + per;
      part.nextCheck = Math.min(part.nextCheck ?? Number.POSITIVE_INFINITY, job.due);
    } else delete job.due;
    // The job ran again: its gap episode (if any) is over.
    const gapKey = `j|${ev.principal}`;
    const ep = part.episodes[gapKey];
    if (ep?.eventNames.includes(ev.name)) this.endEpisode(part, gapKey, ep, now, out);
  }

  /** Records the silence a file ends, in the hour-of-week slot where it began. */
  private recordSilence(part: PartitionState, from: number, to: number): void {
    if (to <= from) return;
    const slot = String(this.slot(from));
    const entry = part.silences[slot];
    const gap = to - from;
    if (!entry) {
      part.silences[slot] = [gap, 1, gap, to];
      return;
    }
    const f = this.decay(1, entry[3], to);
    // The longest silence fades at half the baselines' pace: an outage is remembered for weeks.
    entry[0] = Math.max(gap, entry[0] * Math.sqrt(f));
    entry[1] = entry[1] * f + 1;
    entry[2] = entry[2] * f + gap;
    entry[3] = to;
  }

  /**
   * What the partition's silences look like within three hours of the hour where this one began (activity
   * drifts from day to day): the longest and the mean silence, from the same day type (weekday/weekend)
   * when it has enough of them, else from both.
   */
  private longestSilence(
    part: PartitionState,
    from: number,
  ): { longest: number; seen: number; meanGap: number } | undefined {
    const slot = this.slot(from);
    const hour = slot % 24;
    const gather = (bases: number[]): { longest: number; seen: number; meanGap: number } => {
      let longest = 0;
      let seen = 0;
      let total = 0;
      for (let h = hour - 3; h <= hour + 3; h++) {
        for (const base of bases) {
          const e = part.silences[String(base + ((h + 24) % 24))];
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

  private jitterTolerance(period: number): number {
    const g = this.config.gap;
    return Math.max(g.jitterFloorMinutes * MINUTE, g.jitterFraction * period);
  }

  private checkJobs(part: PartitionState, clock: number, out: InsightEvent[]): void {
    // Cheap skip: nothing can be overdue before the earliest due time (plus its tolerance).
    if (part.nextCheck !== undefined && clock < part.nextCheck) return;
    const allowance = this.lagAllowance(part);
    let next = Number.POSITIVE_INFINITY;
    for (const [key, job] of Object.entries(part.jobs)) {
      if (job.due === undefined || job.missed === job.due) continue;
      const tol = Math.max(job.jit, this.jitterTolerance(job.per!));
      if (clock < job.due + tol + allowance) {
        next = Math.min(next, job.due + tol);
        continue;
      }
      const [principal, source, name] = splitJobKey(key);
      // A run lost in a reported silence is excused: the delivery-gap insight already speaks for it.
      const excused =
        part.silence !== undefined &&
        part.silence[0] <= job.due + tol + allowance &&
        (part.silence[1] === 0 || part.silence[1] >= job.due);
      if (excused) {
        job.missed = job.due;
        continue;
      }
      if (part.lastDelivery < job.due + tol) {
        // Nothing delivered since the run was due: wait for logs before blaming the job.
        next = Math.min(next, clock);
        continue;
      }
      job.missed = job.due;
      // The principal was active around the due time: the run happened (some calls may arrive late).
      if ((part.seen[principal] ?? 0) >= job.due - tol) continue;
      if (this.historyMinutes(part) < this.config.learningHours * 60) continue;
      const gapKey = `j|${principal}`;
      const open = part.episodes[gapKey];
      if (open) {
        if (!open.eventNames.includes(name)) open.eventNames.push(name);
        continue;
      }
      const per = job.per!;
      const ep: EpisodeState = {
        id: deterministicUuid('gap', part.account, part.region, principal, job.due),
        detector: 'gap',
        start: job.due,
        startBin: Math.floor(job.due / this.binMs),
        lastHot: Math.floor(job.due / this.binMs),
        total: 0,
        observed: 0,
        expected: job.pn,
        score: zeroProbability(Math.max(1, job.pn), this.config.minDispersion),
        suppressed: this.isSuppressed(part, 'gap', principal, source, [name]),
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
        explanation: `${shortPrincipal(principal)} runs ${name} (${source}) every ${fmtMinutes(per)} (${job.streak} runs on schedule, last ${isoSeconds(job.rs)}); the run due at ${isoSeconds(job.due)} has not appeared by ${isoSeconds(clock)} while ${part.account}/${part.region} still delivers logs: the job may have stopped.`,
      };
      part.episodes[gapKey] = ep;
      if (!ep.suppressed) {
        out.push(this.record(part, ep, 'Start', clock, 0, Math.max(1, Math.round((clock - job.due) / MINUTE))));
      }
    }
    part.nextCheck = next === Number.POSITIVE_INFINITY ? undefined : next;
  }

  /**
   * Silence test: files cluster (a burst of calls spreads over a few files, then nothing), so instead of
   * a count model this compares the current silence with the longest silence learned for the same hour
   * of the week (decayed, so an old outage fades out of the baseline).
   */
  private checkDelivery(part: PartitionState, clock: number, out: InsightEvent[]): void {
    if (part.episodes['g|']) return;
    const silent = clock - part.lastDelivery;
    const dg = this.config.deliveryGap;
    if (silent < dg.minSilentMinutes * MINUTE) return;
    // Silent for days at the first look: an archive boundary (another period replayed in the same run, an
    // account that left), not an outage that could still be reported in time.
    if (silent > dg.maxSilentHours * HOUR) return;
    if (this.historyMinutes(part) < this.config.learningHours * 60) return;
    const learned = this.longestSilence(part, part.lastDelivery);
    if (!learned) return;
    // Files arrive roughly as a Poisson process around the hour's mean gap: a silence of s has
    // probability exp(−s / mean). Both that and "well beyond the longest silence seen" must hold.
    const p0 = Math.exp(-silent / Math.max(learned.meanGap, MINUTE));
    if (silent <= dg.factor * learned.longest || p0 >= dg.alpha) return;
    const expectedFiles = learned.seen > 0 ? silent / (learned.meanGap || silent) : 0;
    const since = part.lastDelivery;
    const ep: EpisodeState = {
      id: deterministicUuid('delivery-gap', part.account, part.region, since),
      detector: 'delivery-gap',
      start: since,
      startBin: Math.floor(since / this.binMs),
      lastHot: Math.floor(since / this.binMs),
      total: 0,
      observed: 0,
      expected: expectedFiles,
      score: p0,
      suppressed: this.isSuppressed(part, 'delivery-gap', undefined, 'cloudtrail.amazonaws.com', []),
      eventSource: 'cloudtrail.amazonaws.com',
      eventName: 'LogFileDelivery',
      eventNames: [],
      errorCodes: [],
      attributions: [],
      baselineAverage: learned.meanGap > 0 ? MINUTE / learned.meanGap : 0,
      gapCause: 'delivery-stopped',
      expectedAt: since,
      explanation: `${part.account}/${part.region} delivered no log files for ${fmtMinutes(silent)} (since ${isoSeconds(since)}); at this hour the longest silence of the last weeks was ${fmtMinutes(learned.longest)}: check that the trail is still logging (StopLogging, DeleteTrail, bucket policy, KMS key).`,
    };
    part.episodes['g|'] = ep;
    part.silence = [since, 0];
    if (!ep.suppressed) out.push(this.record(part, ep, 'Start', clock, 0, Math.round(silent / MINUTE)));
  }
}

function splitJobKey(key: string): [string, string, string] {
  const name = key.slice(key.lastIndexOf('|') + 1);
  const rest = key.slice(0, key.lastIndexOf('|'));
  const source = rest.slice(rest.lastIndexOf('|') + 1);
  return [rest.slice(0, rest.lastIndexOf('|')), source, name];
}
