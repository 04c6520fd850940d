/**
 * Compaction: folds what was delivered since the last compaction into the cold pages, in one deterministic
 * step at a deterministic point of the input sequence (so the CLI and the pipeline compact alike).
 *
 * - every settled window (ended before clock − settle) of every series goes into the series' baseline, as
 *   each window used to be folded one at a time; calls that arrived after their windows were folded count as
 *   separate "late" windows; windows of a young episode are clipped so an anomaly is not learned as normal;
 * - the partition's exposure (observed windows per slot) moves to the same horizon;
 * - reads and denials teach the APIs each principal is known to use (first-seen logic), object reads the
 *   source IPs it reads objects from (the most recent `s3-exfiltration.knownSources`); provisioning per
 *   Region and sign-ins without MFA keep no baseline;
 * - candidate jobs learn their runs; a candidate whose schedule is trusted moves to the head, a trusted job
 *   whose schedule broke moves back;
 * - the retention policy forgets principals not seen for `retention.principalDays` (their series, first-seen
 *   sets, jobs) and series whose decayed weight fell below `retention.minSeriesWeight`;
 * - a page that grew beyond `compaction.maxPageChars` is split in two.
 *
 * When to compact: once the deltas applied since the last compaction weigh as much as the pages
 * (`compaction.deltaRatio`; at least `minIntervalMinutes` apart), or `maxIntervalHours` after the first of
 * them. A file's share of the compaction writes is then about its own delta's size, whatever the size of the
 * partition. Idle partitions are not compacted (there is nothing to fold; the exposure catches up at the
 * next compaction).
 *
 * Crash safety: a compaction only writes pages, each marked with the compaction's number; the head that
 * records the compaction is written after them. A retried compaction recomputes from the same head and skips
 * the pages that already carry its number; pages replaced by a split are garbage once the head is written.
 */
import { foldExposure, foldWindow, packSums, seriesWeight, unpackSums } from './baseline';
import type { Context } from './context';
import { DAY, decay, HOUR, MINUTE } from './context';
import { compareDeltas, jobObservations, latestByPrincipal, OTHER_ATTRIBUTION } from './delta';
import { shortWindowExpected } from './episodes';
import { isTrusted, newJob, observeRun } from './jobs';
import { own, put } from './records';
import { groupOf, hasBaseline, learnsApis, learnsSources, parseJobId, principalGroup } from './series';
import {
  BUCKETS,
  emptyPage,
  type FilePosition,
  hash32,
  type JobState,
  type KnownApis,
  type Page,
  type PageRef,
  pageIdOf,
  pageRefs,
} from './state';
import { roundSum } from './stats';

/** The bucket (0..65535) of a storage group: pages hold contiguous bucket ranges. */
export function bucketOf(group: string): number {
  return hash32(group) >>> 16;
}

/** The page holding a storage group, from the sorted starts of the pages' bucket ranges. */
export function pageRefOf(starts: readonly number[], group: string): PageRef {
  const bucket = bucketOf(group);
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid] <= bucket) lo = mid;
    else hi = mid - 1;
  }
  return { lo: starts[lo], hi: starts[lo + 1] ?? BUCKETS };
}

function positionAfter(p: FilePosition | undefined, q: FilePosition): boolean {
  return p === undefined || compareDeltas(q, p) > 0;
}

/** Whether a compaction is due after the input just applied at `now`. */
export function compactionDue(ctx: Context, now: number): boolean {
  const { config } = ctx.settings;
  const c = ctx.head.compaction;
  if (c.deltaChars === 0) return false;
  const since = now - c.at;
  if (since >= config.compaction.maxIntervalHours * 60 * MINUTE) return true;
  if (since < config.compaction.minIntervalMinutes * MINUTE) return false;
  return c.deltaChars >= config.compaction.deltaRatio * Math.max(c.baseChars, config.compaction.minBaseChars);
}

/** The earliest time a compaction can become due by time alone (for the evaluator's due time). */
export function nextCompaction(ctx: Context): number {
  const { config } = ctx.settings;
  const c = ctx.head.compaction;
  if (c.deltaChars === 0) return Number.POSITIVE_INFINITY;
  const bySize = c.deltaChars >= config.compaction.deltaRatio * Math.max(c.baseChars, config.compaction.minBaseChars);
  return (
    c.at + (bySize ? config.compaction.minIntervalMinutes * MINUTE : config.compaction.maxIntervalHours * 3_600_000)
  );
}

interface SeriesBins {
  /** Bin → calls from files applied before the last compaction. */
  old: Map<number, number>;
  /** Bin → calls from files applied since. */
  fresh: Map<number, number>;
  /** Bin → eventNames (reads and denials series) or source IPs (object reads), for first-seen sets. */
  names?: Map<number, string[]>;
}

/** Runs the compaction. Needs every page (the retention policy looks at all of them). */
export function compact(ctx: Context): void {
  const { head, settings, data } = ctx;
  const { config, binMs, halfLifeMs } = settings;
  const c = head.compaction;
  const k = c.k + 1;
  const wb = config.windowBins;
  const prevH = c.horizon;
  const H = Math.max(prevH, Math.floor((head.clock - settings.settleMs) / binMs) - 1);

  // Read everything first (the pipeline records what it has not loaded and runs the advance again).
  const pages = new Map<string, Page>();
  for (const ref of pageRefs(head)) pages.set(pageIdOf(ref), data.page(pageIdOf(ref)));
  const from = (prevH - wb + 1) * binMs - MINUTE;
  const deltas = data.deltas(from, c.late);

  // Sort the deltas' counts into "before the last compaction" (already folded up to prevH) and "since".
  const lateSet = new Set(c.late.map((p) => `${p.deliveredAt}|${p.file}`));
  const bins = new Map<string, SeriesBins>();
  const freshJobs: [string, [number, number, number]][] = [];
  const seen = new Map<string, number>();
  for (const d of deltas) {
    const fresh = lateSet.has(`${d.deliveredAt}|${d.file}`) || positionAfter(c.position, d);
    for (const id in d.series) {
      if (!hasBaseline(id)) continue;
      const byBin = d.series[id];
      let sb = bins.get(id);
      const sources = learnsSources(id);
      if (!sb) {
        sb = { old: new Map(), fresh: new Map(), ...(learnsApis(id) || sources ? { names: new Map() } : {}) };
        bins.set(id, sb);
      }
      const into = fresh ? sb.fresh : sb.old;
      for (const bin in byBin) {
        const b = Number(bin);
        const counts = byBin[bin];
        into.set(b, (into.get(b) ?? 0) + counts.c);
        const learnt = sources ? (counts.i ?? {}) : counts.n;
        if (sb.names && learnt && (fresh || b > prevH)) {
          const list = sb.names.get(b) ?? [];
          for (const name in learnt) if (name !== OTHER_ATTRIBUTION) list.push(name);
          sb.names.set(b, list);
        }
      }
    }
    if (fresh) {
      for (const [id, first, last, calls] of jobObservations(d)) freshJobs.push([id, [first, last, calls]]);
      for (const [p, t] of latestByPrincipal(d)) if (t > (seen.get(p) ?? Number.NEGATIVE_INFINITY)) seen.set(p, t);
    }
  }

  // Which page each group lives in, and the pages this compaction may modify (not the ones a failed attempt
  // of the same compaction already wrote).
  const pageFor = (group: string): { id: string; page: Page } | undefined => {
    const id = pageIdOf(pageRefOf(head.pages, group));
    const page = pages.get(id)!;
    return page.k >= k ? undefined : { id, page };
  };
  const dirty = new Set<string>();
  const touch = (group: string): Page | undefined => {
    const at = pageFor(group);
    if (at) dirty.add(at.id);
    return at?.page;
  };

  // Baselines.
  const episodeStart = (id: string): [number, number] | undefined => {
    const open = head.episodes[id];
    if (open) return [open.start, shortWindowExpected(ctx, open)];
    const ended = head.ended[id];
    return ended ? [ended[1], ended[2]] : undefined;
  };
  for (const [id, sb] of bins) {
    const page = touch(groupOf(id));
    if (!page) continue;
    let series = page.series[id];
    const all = [...new Set([...sb.old.keys(), ...sb.fresh.keys()])].sort((x, y) => x - y);
    if (all.length === 0) continue;
    if (!series) {
      series = { ref: (all[0] + 1) * binMs, s1: {}, s2: {}, fw: all[0] - 1 };
      page.series[id] = series;
    }
    const fw = series.fw;
    const young = episodeStart(id);
    // The largest new window, before clipping: a burst the principal made, reported or not, is one it makes.
    let peak: [number, number] | undefined;
    const sums = unpackSums(series);
    // Every window holding a bin with counts, in order: the union of [b, b + wb − 1] over the sorted bins.
    let covered = Number.NEGATIVE_INFINITY;
    for (const first of all) {
      const from = Math.max(first, covered);
      covered = first + wb;
      for (let w = from; w < covered && w <= H; w++) {
        let sum = 0;
        for (let b = w - wb + 1; b <= w; b++) {
          // A window not folded yet takes every call of its bins. A window already folded only takes calls
          // that arrived after it was folded, and only from bins whose every window was folded: a partly
          // folded bin counts in its later windows instead.
          if (w > fw) sum += (sb.old.get(b) ?? 0) + (sb.fresh.get(b) ?? 0);
          else if (b + wb - 1 <= fw) sum += sb.fresh.get(b) ?? 0;
        }
        if (sum === 0) continue;
        const t = (w + 1) * binMs;
        if (w > fw && (!peak || sum >= peak[0])) peak = [sum, t];
        // While an episode is young, its windows would teach the baseline that the anomaly is normal; clip
        // them. After two hours a lasting change is learned as the new normal.
        if (young && t >= young[0] && t - young[0] < 2 * HOUR)
          sum = Math.min(sum, Math.max(1, Math.ceil(2 * young[1])));
        foldWindow(ctx, sums, w, sum);
      }
    }
    packSums(sums, series, halfLifeMs);
    series.fw = Math.max(series.fw, H);
    // First-seen sets: the APIs (or source IPs) of every settled bin.
    if (sb.names) {
      const sources = learnsSources(id);
      for (const [b, names] of [...sb.names.entries()].sort((x, y) => x[0] - y[0])) {
        if (b > H) continue;
        let known = page.known[id];
        if (!known) {
          known = { since: b * binMs, apis: {} };
          page.known[id] = known;
        }
        // Source IPs keep the hour they were last seen, so the most recent ones are kept.
        const value = sources ? Math.floor((b * binMs) / HOUR) : 1;
        for (const name of names) put(known.apis, name, Math.max(own(known.apis, name) ?? 0, value));
      }
      const known = page.known[id];
      if (sources && known) keepRecent(known.apis, config.detectors['s3-exfiltration'].knownSources);
      if (!sources && known && peak) keepPeak(known, peak[0], peak[1], halfLifeMs);
    }
  }
  foldExposure(ctx, prevH, H);

  // Last seen per principal (the retention clock).
  for (const [principal, t] of seen) {
    const page = touch(principalGroup(principal));
    if (page && t > (own(page.seen, principal) ?? Number.NEGATIVE_INFINITY)) put(page.seen, principal, t);
  }

  // Candidate jobs learn their runs; trusted ones move to the head, broken ones back to the pages.
  for (const [id, job] of Object.entries(head.jobs)) {
    if (isTrusted(config, job)) continue;
    const page = touch(principalGroup(parseJobId(id).principal));
    if (page) page.jobs[id] = job;
    delete head.jobs[id];
  }
  for (const [id, [first, last, calls]] of freshJobs) {
    if (head.jobs[id]) continue;
    const page = touch(principalGroup(parseJobId(id).principal));
    if (!page) continue;
    const job = page.jobs[id];
    if (!job) page.jobs[id] = newJob(first, last, calls);
    else observeRun(config, job, first, last, calls);
  }
  for (const [pageId, page] of pages) {
    // A page a failed attempt of this compaction already wrote keeps the jobs it promoted.
    const promoted = page.k >= k ? (page.promoted ?? {}) : undefined;
    if (promoted) {
      for (const [id, job] of Object.entries(promoted)) head.jobs[id] = job;
      continue;
    }
    const moved: Record<string, JobState> = {};
    for (const [id, job] of Object.entries(page.jobs)) {
      if (!isTrusted(config, job)) continue;
      head.jobs[id] = job;
      // A copy: the page keeps the job as promoted (for a retried attempt), the head's goes on running.
      moved[id] = { ...job };
      delete page.jobs[id];
      dirty.add(pageId);
    }
    if (Object.keys(moved).length > 0) page.promoted = moved;
    else if (page.promoted) {
      delete page.promoted;
      forgetSize(page);
    }
  }
  for (const id of Object.keys(head.jobs)) {
    const { principal } = parseJobId(id);
    const page = pages.get(pageIdOf(pageRefOf(head.pages, principalGroup(principal))))!;
    const t = own(page.seen, principal);
    if (t !== undefined && t > (own(head.seen, principal) ?? Number.NEGATIVE_INFINITY)) put(head.seen, principal, t);
  }

  // Retention: forget principals not seen for principalDays, and faint series.
  const idleBefore = head.clock - config.retention.principalDays * DAY;
  for (const [pageId, page] of pages) {
    if (page.k >= k) continue;
    for (const [principal, t] of Object.entries(page.seen)) {
      if (t >= idleBefore) continue;
      delete page.seen[principal];
      for (const id of Object.keys(page.series))
        if (id.slice(2) === principal && !head.episodes[id]) delete page.series[id];
      for (const id of Object.keys(page.known)) if (id.slice(2) === principal) delete page.known[id];
      for (const id of Object.keys(page.jobs)) if (parseJobId(id).principal === principal) delete page.jobs[id];
      dirty.add(pageId);
    }
    for (const [id, series] of Object.entries(page.series)) {
      if (head.episodes[id] || bins.has(id)) continue;
      if (seriesWeight(series, head.clock, halfLifeMs) < config.retention.minSeriesWeight) {
        delete page.series[id];
        delete page.known[id];
        dirty.add(pageId);
      }
    }
    for (const [id, job] of Object.entries(page.jobs)) {
      if (job.l < idleBefore) {
        delete page.jobs[id];
        dirty.add(pageId);
      }
    }
  }
  for (const [id, job] of Object.entries(head.jobs)) {
    if (job.l < idleBefore) delete head.jobs[id];
  }
  for (const principal of Object.keys(head.seen)) {
    if (!Object.keys(head.jobs).some((id) => parseJobId(id).principal === principal)) delete head.seen[principal];
  }
  // Ended episodes are kept for a day after their windows are folded (young-episode clipping needs their
  // start; late calls must not restart them).
  for (const [id, [lastHot]] of Object.entries(head.ended)) if (lastHot < H - DAY / binMs) delete head.ended[id];

  // Write the pages, splitting those that grew too large.
  const starts: number[] = [];
  let baseChars = 0;
  for (const ref of pageRefs(head)) {
    const id = pageIdOf(ref);
    const page = pages.get(id)!;
    if (!dirty.has(id)) {
      // Unchanged, or written by a failed attempt of this compaction (its size as it is now).
      starts.push(ref.lo);
      baseChars += sizeOf(page);
      continue;
    }
    page.k = k;
    forgetSize(page);
    const tooBig = ([r, p]: [PageRef, Page]) => sizeOf(p) > config.compaction.maxPageChars && r.hi - r.lo > 1;
    let parts: [PageRef, Page][] = [[ref, page]];
    while (parts.some(tooBig)) parts = parts.flatMap((part) => (tooBig(part) ? split(part[0], part[1], k) : [part]));
    for (const [r, p] of parts) {
      data.putPage(pageIdOf(r), p);
      starts.push(r.lo);
      baseChars += sizeOf(p);
    }
  }
  head.pages = starts.sort((x, y) => x - y);
  head.compaction = {
    k,
    at: head.clock,
    horizon: H,
    ...(head.cursor ? { position: head.cursor } : {}),
    deltaChars: 0,
    baseChars,
    late: [],
    due: false,
  };
}

/** Keeps the `n` entries seen most recently (ties by name): a principal's remembered source IPs. */
export function keepRecent(map: Record<string, number>, n: number): void {
  const entries = Object.entries(map);
  if (entries.length <= n) return;
  entries.sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : 1));
  for (const [key] of entries.slice(n)) delete map[key];
}

/** The largest window a principal's series made, decayed to time `t` (0 when none is known). */
export function peakAt(known: KnownApis, t: number, halfLifeMs: number): number {
  return known.peak === undefined || known.peakAt === undefined ? 0 : decay(known.peak, known.peakAt, t, halfLifeMs);
}

/** Remembers a window of `count` calls at `t` if it is larger than the decayed peak (the bursts a principal makes). */
export function keepPeak(known: KnownApis, count: number, t: number, halfLifeMs: number): void {
  const t0 = Math.max(t, known.peakAt ?? t);
  const kept = peakAt(known, t0, halfLifeMs);
  const added = decay(count, t, t0, halfLifeMs);
  known.peak = roundSum(Math.max(kept, added));
  known.peakAt = t0;
}

/** Serialized size of a page (the unit of the compaction trigger and of page splits). */
export function pageChars(page: Page): number {
  return JSON.stringify(page).length;
}

/**
 * {@link pageChars} of the pages as compactions left them. Every compaction sums the sizes of all pages, and
 * most pages are not rewritten by most compactions: serializing them again cost more than the rest of the
 * compaction. A compaction forgets the size of every page it changes; nothing else changes a page (the CLI
 * holds its pages in memory between compactions, the pipeline reads fresh objects).
 */
const pageSizes = new WeakMap<Page, number>();

function sizeOf(page: Page): number {
  let size = pageSizes.get(page);
  if (size === undefined) {
    size = pageChars(page);
    pageSizes.set(page, size);
  }
  return size;
}

function forgetSize(page: Page): void {
  pageSizes.delete(page);
}

/** Splits a page's bucket range in two, moving each group to its half. */
function split(ref: PageRef, page: Page, k: number): [PageRef, Page][] {
  const mid = (ref.lo + ref.hi) >> 1;
  const low = { ...emptyPage(), k };
  const high = { ...emptyPage(), k };
  const side = (group: string): Page => (bucketOf(group) < mid ? low : high);
  for (const [id, s] of Object.entries(page.series)) side(groupOf(id)).series[id] = s;
  for (const [id, kn] of Object.entries(page.known)) side(groupOf(id)).known[id] = kn;
  for (const [id, j] of Object.entries(page.jobs)) side(principalGroup(parseJobId(id).principal)).jobs[id] = j;
  for (const [p, t] of Object.entries(page.seen)) put(side(principalGroup(p)).seen, p, t);
  for (const [id, j] of Object.entries(page.promoted ?? {})) {
    const s = side(principalGroup(parseJobId(id).principal));
    s.promoted = { ...(s.promoted ?? {}), [id]: j };
  }
  return [
    [{ lo: ref.lo, hi: mid }, low],
    [{ lo: mid, hi: ref.hi }, high],
  ];
}
