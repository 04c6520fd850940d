/**
 * Recent counts by series and bin, summed over the deltas applied so far: what window tests read.
 *
 * The index is derived data: the CLI keeps it across files, the pipeline rebuilds it from the deltas it
 * reads before an advance. Both give the same window views because a delta only holds bins up to its own
 * delivery minute (see DeltaBuilder), so every file that can contribute to a window was delivered after
 * the window began, and both read every such file.
 */
import type { BinCounts, FileDelta } from './delta';
import { OTHER_ATTRIBUTION } from './delta';
import { addTo } from './records';

/** The counts of one window of one series, merged over its bins. */
export interface WindowView {
  count: number;
  /** Earliest event time in the window. */
  t0: number;
  p: Record<string, number>;
  a: Record<string, number>;
  e: Record<string, number>;
  n: Record<string, number>;
  s: Record<string, number>;
  /** By source IP (S3 object reads, console sign-ins). */
  i: Record<string, number>;
}

function addCounts(into: Record<string, number>, from: Record<string, number>): void {
  for (const k in from) addTo(into, k, from[k]);
}

/**
 * A bin's counts in the index: the total and the earliest event's absolute time, and the deltas' own counts
 * (not copies: deltas are not changed once built). Most windows are tested on their count alone, so the
 * attributions are only merged when a view is read.
 */
interface IndexedBin {
  c: number;
  t0: number;
  parts: BinCounts[];
}

export class WindowIndex {
  private readonly bins = new Map<string, Map<number, IndexedBin>>();
  /** Bin → the series with counts in it (what a prune forgets). */
  private readonly seriesOfBin = new Map<number, string[]>();
  constructor(private readonly binMs: number) {}

  /** Adds a delta's counts. */
  add(delta: FileDelta): void {
    for (const id in delta.series) {
      const bins = delta.series[id];
      let into = this.bins.get(id);
      if (!into) {
        into = new Map();
        this.bins.set(id, into);
      }
      for (const bin in bins) {
        const b = Number(bin);
        const counts = bins[bin];
        const t0 = b * this.binMs + counts.o;
        const have = into.get(b);
        if (have) {
          have.c += counts.c;
          if (t0 < have.t0) have.t0 = t0;
          have.parts.push(counts);
          continue;
        }
        into.set(b, { c: counts.c, t0, parts: [counts] });
        const ids = this.seriesOfBin.get(b);
        if (ids) ids.push(id);
        else this.seriesOfBin.set(b, [id]);
      }
    }
  }

  /** The bin the last prune kept from: pruning again from it or an earlier bin would find nothing to forget. */
  private prunedTo = Number.NEGATIVE_INFINITY;

  /** Forgets bins before `bin` (never read again: windows that old are not tested). */
  prune(bin: number): void {
    // Files arrive several times per bin: look for bins to forget only when the cut moves. Bins below the cut
    // are never read (windows are tested from the clock's oldest testable bin on, which only moves forward), so
    // the older bins of a late file may wait for the next cut.
    if (bin <= this.prunedTo) return;
    this.prunedTo = bin;
    for (const [b, ids] of this.seriesOfBin) {
      if (b >= bin) continue;
      this.seriesOfBin.delete(b);
      for (const id of ids) {
        const bins = this.bins.get(id)!;
        bins.delete(b);
        if (bins.size === 0) this.bins.delete(id);
      }
    }
  }

  /** The merged counts of series `id` over bins [w − windowBins + 1, w]. */
  view(id: string, w: number, windowBins: number): WindowView {
    const view: WindowView = { count: 0, t0: Number.POSITIVE_INFINITY, p: {}, a: {}, e: {}, n: {}, s: {}, i: {} };
    const bins = this.bins.get(id);
    if (!bins) return view;
    for (let b = w - windowBins + 1; b <= w; b++) {
      const bin = bins.get(b);
      if (!bin) continue;
      view.count += bin.c;
      if (bin.t0 < view.t0) view.t0 = bin.t0;
      for (const part of bin.parts) {
        if (part.p) addCounts(view.p, part.p);
        if (part.a) addCounts(view.a, part.a);
        if (part.e) addCounts(view.e, part.e);
        if (part.n) addCounts(view.n, part.n);
        if (part.s) addCounts(view.s, part.s);
        if (part.i) addCounts(view.i, part.i);
      }
    }
    return view;
  }

  /** The count of series `id` over bins [w − windowBins + 1, w] (a view's count, without its attributions). */
  count(id: string, w: number, windowBins: number): number {
    const bins = this.bins.get(id);
    if (!bins) return 0;
    let n = 0;
    for (let b = w - windowBins + 1; b <= w; b++) n += bins.get(b)?.c ?? 0;
    return n;
  }

  /** The latest bin in [from, to] where series `id` has counts (undefined when none). */
  latest(id: string, from: number, to: number): number | undefined {
    const bins = this.bins.get(id);
    if (!bins) return undefined;
    for (let b = to; b >= from; b--) if (bins.has(b)) return b;
    return undefined;
  }

  /** True when series `id` has counts in bin `b`. */
  has(id: string, b: number): boolean {
    return this.bins.get(id)?.has(b) ?? false;
  }
}

/** Entries of a count map, largest first (ties by key), without the capped remainder. */
export function ranked(map: Record<string, number> | undefined): [string, number][] {
  if (!map) return [];
  return Object.entries(map)
    .filter(([k]) => k !== OTHER_ATTRIBUTION)
    .sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : 1));
}

/** The sum of a count map's capped remainder (0 when nothing was capped). */
export function otherCount(map: Record<string, number> | undefined): number {
  return map?.[OTHER_ATTRIBUTION] ?? 0;
}
