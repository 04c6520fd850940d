/**
 * `s3-exfiltration`: bulk S3 object reads by one principal, from S3 data events (the trail must log them:
 * docs/detection.md). Data events are read-only calls of one API, so neither the per-API detectors (writes)
 * nor recon (many distinct APIs) see hundreds of GetObject by a role that never downloads anything.
 *
 * Each principal's object reads are a series with their own seasonal baseline (a backup or ETL role that
 * reads thousands of objects every night has that in its baseline), and the series remembers the source
 * IPs the principal read objects from (at most `knownSources`, the most recent): reads from an IP it never
 * read from before need less evidence than reads from its usual places.
 */
import { type Context, DAY, MINUTE, shortPrincipal } from './context';
import type { InsightEvent } from './insight';
import {
  CALLER_ALPHA,
  fmtCount,
  fromIps,
  knownOf,
  mayStart,
  openWindowEpisode,
  principalAttributions,
  topList,
  windowTail,
} from './rate';
import { own } from './records';
import { ranked, type WindowIndex } from './windows';

/**
 * Tests window `w` of a principal's object-read series `id`: at least `minCount` reads, extremely unusual
 * for it (p < alpha); or at least `minCountNewSource` reads, unusual (p < 0.01), most of them from source
 * IPs it never read objects from in at least a day of object reads.
 */
export function testExfiltration(
  ctx: Context,
  index: WindowIndex,
  id: string,
  w: number,
  now: number,
  region: string,
  out: InsightEvent[],
): void {
  const { config, binMs } = ctx.settings;
  const dc = config.detectors['s3-exfiltration'];
  if (!dc.enabled) return;
  const bins = config.windowBins;
  const tail = windowTail(ctx, index, id, w, Math.min(dc.minCount, dc.minCountNewSource));
  if (!tail) return;
  const { count, exp, logP } = tail;
  const t = (w + 1) * binMs;
  const view = index.view(id, w, bins);
  const known = knownOf(ctx, id);
  const { text: where, ips } = fromIps(view);
  const sourcesKnown = known !== undefined && t - known.since >= DAY;
  const fromNew = ranked(view.i)
    .filter(([ip]) => known === undefined || own(known.apis, ip) === undefined)
    .reduce((n, [, c]) => n + c, 0);
  const newSource = sourcesKnown && fromNew * 2 > count;
  const anomalous =
    (count >= dc.minCount && logP < Math.log(config.alpha)) ||
    (newSource && count >= dc.minCountNewSource && logP < Math.log(CALLER_ALPHA));
  if (!anomalous || !mayStart(ctx, id, w, bins)) return;
  const principal = id.slice(2);
  const windowMin = (bins * binMs) / MINUTE;
  const names = ranked(view.n);
  const p = Math.exp(logP);
  const novelty =
    known === undefined
      ? 'it never read objects before'
      : newSource
        ? `${fromNew} from source IPs it never read objects from`
        : 'from its usual source IPs';
  const explanation = `${shortPrincipal(principal)} read ${count} S3 objects in ${windowMin} min (${topList(names, 3)})${where}; ${novelty}; expected about ${fmtCount(exp.mu)} per ${windowMin} min at this hour (p = ${p.toExponential(1)}): check what was downloaded, and whether these credentials leaked.`;
  openWindowEpisode(
    ctx,
    id,
    w,
    bins,
    view,
    exp,
    p,
    now,
    {
      detector: 's3-exfiltration',
      region,
      principal,
      eventSource: 's3.amazonaws.com',
      eventName: names[0]?.[0] ?? 'GetObject',
      eventNames: names.map(([n]) => n),
      errorCodes: [],
      attributions: principalAttributions(view, windowMin, id, principal),
      sourceIps: ips,
      explanation,
    },
    out,
  );
}
