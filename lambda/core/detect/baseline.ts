/**
 * Baselines: what count a series is expected to have in a window at a given time, learned from the windows
 * folded by compactions (decayed sums by hour-of-week slot), and how windows are folded into them.
 */
import { type Context, decay, SLOTS, slotOf } from './context';
import type { PartitionHead, SeriesBaseline } from './state';
import { logUpperTail, roundSum } from './stats';

/** The count model of a series' window: negative binomial with mean `mu` and dispersion `c` (= 1/r). */
export interface Expectation {
  readonly mu: number;
  readonly c: number;
}

/** Adds to a decayed sum, keeping {@link roundSum}'s precision. */
export function addRounded(map: Record<string, number>, key: string, by: number): void {
  map[key] = roundSum((map[key] ?? 0) + by);
}

/**
 * The count model of a series at time `t`: negative binomial with the slot's rate (hour of day ×
 * weekday/weekend), shrunk toward the same hour on any day and then toward the series' all-day rate
 * (empirical Bayes), never far below the neighbouring hours (people drift by an hour or two from day to day)
 * nor below half the all-day rate; the dispersion is learned by method of moments within slots and shrunk
 * toward the prior while evidence is thin. Sparse, bursty series get a large dispersion, so a burst like the
 * ones they usually have is not news, while a burst from a quiet series is.
 */
export function expectation(ctx: Context, series: SeriesBaseline | undefined, t: number): Expectation {
  const { config, halfLifeMs } = ctx.settings;
  const { head } = ctx;
  const e: number[] = new Array(SLOTS).fill(0);
  let eAll = 0;
  for (const [k, v] of Object.entries(head.exposure)) {
    const d = decay(v, head.expRef, t, halfLifeMs);
    e[Number(k)] = d;
    eAll += d;
  }
  const a = config.priorWindows;
  const floor = 0.5 / (eAll + a);
  if (!series) return { mu: floor, c: config.priorDispersion };
  const s1: number[] = new Array(SLOTS).fill(0);
  let s1All = 0;
  let within = 0;
  for (const [k, v] of Object.entries(series.s1)) {
    const i = Number(k);
    const x = decay(v, series.ref, t, halfLifeMs);
    s1[i] = x;
    s1All += x;
    const x2 = decay(series.s2[k] ?? 0, series.ref, t, halfLifeMs);
    if (e[i] > 0) within += Math.max(0, x2 - (x * x) / Math.max(e[i], 1));
  }
  const muAll = (s1All + 0.5) / (eAll + a);
  const hourRate = (h: number): number => {
    const hh = (h + 24) % 24;
    return (s1[hh] + s1[hh + 24] + a * muAll) / (e[hh] + e[hh + 24] + a);
  };
  const slot = slotOf(t - 1, config.utcOffsetMinutes);
  const hour = slot % 24;
  const muSlot = (s1[slot] + a * hourRate(hour)) / (e[slot] + a);
  const near = 0.5 * Math.max(hourRate(hour - 1), hourRate(hour + 1));
  const far = 0.25 * Math.max(hourRate(hour - 2), hourRate(hour + 2));
  const mu = Math.max(muSlot, near, far, 0.5 * muAll, floor);
  let c = config.priorDispersion;
  if (eAll > 0 && s1All > 0) {
    const mean = s1All / eAll;
    const variance = within / eAll;
    const cHat = Math.max(0, (variance - mean) / (mean * mean));
    const w = s1All / (s1All + 20);
    c = w * cHat + (1 - w) * config.priorDispersion;
  }
  return { mu, c: Math.max(config.minDispersion, c) };
}

/**
 * The count model of a window of `bins` bins ending with bin `w`, longer than the short window the baselines
 * learn: the short window's expected count per bin, summed over the window's bins (one expectation per
 * hour-of-week slot the window touches), with the short window's dispersion kept. Keeping the dispersion
 * treats the long window as one burst rather than as independent short windows (which would divide it by
 * their number): a series that bursts now and then gets the heavy tail it has, so only a pace it never keeps
 * stands out (docs/detection.md, "Long window", has the measurement). No second baseline is stored.
 */
export function longExpectation(
  ctx: Context,
  series: SeriesBaseline | undefined,
  w: number,
  bins: number,
): Expectation {
  const { config, binMs } = ctx.settings;
  let mu = 0;
  let c = 0;
  let b = w - bins + 1;
  while (b <= w) {
    const slot = slotOf(b * binMs, config.utcOffsetMinutes);
    let end = b;
    while (end < w && slotOf((end + 1) * binMs, config.utcOffsetMinutes) === slot) end++;
    const e = expectation(ctx, series, (end + 1) * binMs);
    mu += (e.mu * (end - b + 1)) / config.windowBins;
    c = Math.max(c, e.c);
    b = end + 1;
  }
  return { mu, c };
}

/** ln P(window count ≥ x) under a count model. */
export function logTail(x: number, exp: Expectation): number {
  return logUpperTail(x, exp.mu, exp.c);
}

/**
 * Folds every bin in (head.compaction.horizon, horizon] into the exposure: one observed window per bin, in
 * the bin's slot (zero-count windows included, which is why exposure is kept per partition, not per series).
 * An idle stretch costs at most two weeks of bins: older ones have decayed to nothing.
 */
export function foldExposure(ctx: Context, from: number, horizon: number): void {
  const { config, binMs, halfLifeMs } = ctx.settings;
  const head: PartitionHead = ctx.head;
  const start = Math.max(from + 1, horizon - 14 * 24 * (60 / config.binMinutes));
  for (let b = start; b <= horizon; b++) {
    const t = (b + 1) * binMs;
    const f = 2 ** (-(t - head.expRef) / halfLifeMs);
    if (f !== 1) {
      for (const k of Object.keys(head.exposure)) head.exposure[k] = roundSum(head.exposure[k] * f);
      head.expRef = t;
    }
    addRounded(head.exposure, String(slotOf(b * binMs, config.utcOffsetMinutes)), 1);
  }
}

/**
 * A series' sums while a compaction folds its windows. Each window's count is added as it would weigh at the
 * sums' reference time (`2^((t − ref) / halfLife)` times its count, t the window's end, at least `ref`: a late
 * window is counted in full), and {@link packSums} decays the total once to the last window's end and keeps
 * {@link roundSum}'s 6 digits. The sums used to be decayed and rounded, every slot, at every window: most of a
 * compaction's cost, and thousands of roundings of each slot per half-life (docs/detection.md, "Folding windows").
 */
export interface SlotSums {
  /** The series' reference time when the compaction began, and the latest window end folded since. */
  readonly ref: number;
  end: number;
  /** Counts and squared counts added by slot, weighed at `ref`. */
  readonly s1: Float64Array;
  readonly s2: Float64Array;
  /** Slots a window was folded into. */
  readonly slots: number[];
}

/** An empty {@link SlotSums} for a series, for {@link foldWindow}. */
export function unpackSums(series: SeriesBaseline): SlotSums {
  return { ref: series.ref, end: series.ref, s1: new Float64Array(SLOTS), s2: new Float64Array(SLOTS), slots: [] };
}

/** Writes folded windows into their series: its sums decayed to the latest window's end, plus the windows. */
export function packSums(sums: SlotSums, series: SeriesBaseline, halfLifeMs: number): void {
  if (sums.slots.length === 0 && sums.end === sums.ref) return;
  const f = 2 ** (-(sums.end - sums.ref) / halfLifeMs);
  const into = (record: Record<string, number>, added: Float64Array): void => {
    for (const k in record) record[k] = roundSum((record[k] + added[Number(k)]) * f);
    for (const slot of sums.slots) if (record[slot] === undefined) record[slot] = roundSum(added[slot] * f);
  };
  into(series.s1, sums.s1);
  into(series.s2, sums.s2);
  series.ref = sums.end;
}

/** Adds one window's count to a series' sums at window `w`. */
export function foldWindow(ctx: Context, sums: SlotSums, w: number, count: number): void {
  const { config, binMs, halfLifeMs } = ctx.settings;
  const t = (w + 1) * binMs;
  const weight = t > sums.ref ? 2 ** ((t - sums.ref) / halfLifeMs) : 1;
  if (t > sums.end) sums.end = t;
  const slot = slotOf(w * binMs, config.utcOffsetMinutes);
  if (!sums.slots.includes(slot)) sums.slots.push(slot);
  sums.s1[slot] += count * weight;
  sums.s2[slot] += count * count * weight;
}

/** The decayed total of a series' window counts at time `t` (the retention policy drops faint series). */
export function seriesWeight(series: SeriesBaseline, t: number, halfLifeMs: number): number {
  let total = 0;
  for (const v of Object.values(series.s1)) total += v;
  return decay(total, series.ref, t, halfLifeMs);
}
