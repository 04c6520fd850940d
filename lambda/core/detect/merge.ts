/**
 * Merging what two replays of the same partition learned: the backfill replays the archive's history apart
 * from the live partition, then folds it in. Baselines are summed after decaying both to the same reference
 * time, first-seen sets and the Regions' first provisioning united, the better-established schedule of each
 * job kept, and the live partition's clock, episodes and input position kept as they are (history is learned
 * from, never alerted on).
 */
import { keepPeak, keepRecent, pageChars, pageRefOf } from './compaction';
import type { DetectConfig } from './config';
import { DAY, decay } from './context';
import { type FileDelta, jobObservations } from './delta';
import { observeRun } from './jobs';
import { addTo, own, put } from './records';
import { groupOf, learnsSources, parseJobId, principalGroup } from './series';
import {
  emptyPage,
  type JobState,
  type KnownApis,
  type Page,
  type PartitionHead,
  pageIdOf,
  pageIds,
  type SeriesBaseline,
} from './state';
import { roundSum } from './stats';

function addDecayed(
  a: Record<string, number>,
  aRef: number,
  b: Record<string, number>,
  bRef: number,
  ref: number,
  halfLifeMs: number,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(a)) out[k] = decay(v, aRef, ref, halfLifeMs);
  for (const [k, v] of Object.entries(b)) addTo(out, k, decay(v, bRef, ref, halfLifeMs));
  for (const k of Object.keys(out)) out[k] = roundSum(out[k]);
  return out;
}

function mergeSeries(x: SeriesBaseline, y: SeriesBaseline, halfLifeMs: number): SeriesBaseline {
  const ref = Math.max(x.ref, y.ref);
  return {
    ref,
    s1: addDecayed(x.s1, x.ref, y.s1, y.ref, ref, halfLifeMs),
    s2: addDecayed(x.s2, x.ref, y.s2, y.ref, ref, halfLifeMs),
    fw: Math.max(x.fw, y.fw),
  };
}

/** Keep the better-established schedule; the latest run wins, and the next due time follows from it. */
function mergeJob(x: JobState, y: JobState): JobState {
  const best = x.streak >= y.streak ? x : y;
  const latest = x.rs >= y.rs ? x : y;
  const out: JobState = { ...best, rs: latest.rs, l: Math.max(x.l, y.l), n: latest.n, pn: latest.pn };
  if (best.due !== undefined && best.per !== undefined) out.due = out.rs + best.per;
  if (out.missed !== undefined && out.missed !== out.due) delete out.missed;
  // A run passed over is the latest runs' news.
  delete out.skip;
  if (latest.skip !== undefined) out.skip = latest.skip;
  return out;
}

/**
 * Merges `history` (head and pages of a backfill replay) into `live` (head, pages, and the deltas it applied
 * since its last compaction, in order). Returns the live partition's new head
 * and its pages in the live page layout (every page, changed or not); pages that outgrow the limit are left
 * for the next compaction to split.
 */
export function mergeHistory(
  live: { head: PartitionHead; pages: ReadonlyMap<string, Page>; recent: readonly FileDelta[] },
  history: { head: PartitionHead; pages: ReadonlyMap<string, Page> },
  config: DetectConfig,
): { head: PartitionHead; pages: Map<string, Page> } {
  const halfLifeMs = config.halfLifeDays * DAY;
  const head = structuredClone(live.head);
  const h = history.head;
  const expRef = Math.max(head.expRef, h.expRef);
  head.exposure = addDecayed(head.exposure, head.expRef, h.exposure, h.expRef, expRef, halfLifeMs);
  head.expRef = expRef;
  // The provisioning memory of both covers the earlier of the two starts.
  head.provSince = Math.min(head.provSince ?? head.first, h.provSince ?? h.first);
  head.first = Math.min(head.first, h.first);
  head.lag = head.lag.map((v, i) => v + (h.lag[i] ?? 0));
  head.silences = { ...h.silences, ...head.silences };
  for (const [region, r] of Object.entries(h.regions)) {
    const mine = head.regions[region];
    head.regions[region] = mine
      ? {
          ...mine,
          last: Math.max(mine.last, r.last),
          ...(r.digest !== undefined || mine.digest !== undefined
            ? { digest: Math.max(mine.digest ?? Number.NEGATIVE_INFINITY, r.digest ?? Number.NEGATIVE_INFINITY) }
            : {}),
          ...(r.prov !== undefined || mine.prov !== undefined
            ? { prov: Math.min(mine.prov ?? Number.POSITIVE_INFINITY, r.prov ?? Number.POSITIVE_INFINITY) }
            : {}),
        }
      : structuredClone(r);
  }
  head.compaction.horizon = Math.max(head.compaction.horizon, h.compaction.horizon);
  for (const [p, t] of Object.entries(h.seen)) put(head.seen, p, Math.max(own(head.seen, p) ?? t, t));

  const pages = new Map<string, Page>();
  for (const id of pageIds(head)) pages.set(id, structuredClone(live.pages.get(id) ?? emptyPage()));
  const into = (group: string): Page => pages.get(pageIdOf(pageRefOf(head.pages, group)))!;
  // A schedule trusted in history: merged with what the live partition saw of the same job so far.
  for (const [id, job] of Object.entries(h.jobs)) {
    const page = into(principalGroup(parseJobId(id).principal));
    const liveJob = head.jobs[id] ?? page.jobs[id];
    head.jobs[id] = liveJob ? mergeJob(liveJob, job) : structuredClone(job);
    delete page.jobs[id];
    const principal = parseJobId(id).principal;
    const seen = Math.max(
      own(head.seen, principal) ?? Number.NEGATIVE_INFINITY,
      own(page.seen, principal) ?? Number.NEGATIVE_INFINITY,
    );
    if (Number.isFinite(seen)) put(head.seen, principal, seen);
    if (live.head.jobs[id]) continue;
    // Runs the live partition saw since its last compaction are in its deltas, not in its pages yet.
    for (const d of live.recent) {
      for (const [jid, first, last, calls] of jobObservations(d)) {
        if (jid !== id) continue;
        observeRun(config, head.jobs[id], first, last, calls);
        if (last > (own(head.seen, principal) ?? Number.NEGATIVE_INFINITY)) put(head.seen, principal, last);
      }
    }
  }
  for (const page of history.pages.values()) {
    for (const [id, s] of Object.entries(page.series)) {
      const p = into(groupOf(id));
      p.series[id] = p.series[id] ? mergeSeries(p.series[id], s, halfLifeMs) : structuredClone(s);
    }
    for (const [id, k] of Object.entries(page.known)) {
      const p = into(groupOf(id));
      const x = p.known[id];
      if (!x) {
        p.known[id] = structuredClone(k);
        continue;
      }
      // Source IPs keep the later of the two last-seen hours, and only the most recent ones (s3-exfiltration).
      const apis = { ...x.apis };
      for (const [name, v] of Object.entries(k.apis)) put(apis, name, Math.max(own(apis, name) ?? 0, v));
      if (learnsSources(id)) keepRecent(apis, config.detectors['s3-exfiltration'].knownSources);
      const merged: KnownApis = { since: Math.min(x.since, k.since), apis };
      // The larger of the two bursts, decayed to the later time.
      for (const from of [x, k]) {
        if (from.peak !== undefined && from.peakAt !== undefined) keepPeak(merged, from.peak, from.peakAt, halfLifeMs);
      }
      p.known[id] = merged;
    }
    for (const [id, job] of Object.entries(page.jobs)) {
      if (head.jobs[id]) continue;
      const p = into(principalGroup(parseJobId(id).principal));
      p.jobs[id] = p.jobs[id] ? mergeJob(p.jobs[id], job) : structuredClone(job);
    }
    for (const [principal, t] of Object.entries(page.seen)) {
      const p = into(principalGroup(principal));
      put(p.seen, principal, Math.max(own(p.seen, principal) ?? t, t));
    }
  }
  head.compaction.baseChars = [...pages.values()].reduce((n, p) => n + pageChars(p), 0);
  return { head, pages };
}
