/**
 * `unused-region`: compute provisioned in a Region where the account never provisions. Stolen credentials
 * are used to mine crypto-currency where nobody looks: a few setup calls (a key pair, a security group),
 * then a handful of RunInstances or Spot requests in a Region the account has no business in. Per-API
 * baselines cannot see it: the Region's series are new, and a handful of calls is no spike.
 *
 * What is known is the account's: the partition is the whole account, so a Region it never used is judged
 * with the history of the Regions it did use. The memory is one number per Region in the head (when its
 * first provisioning call was seen), so the rule holds from the first file of a new Region, and the head
 * stays small (an account has at most a few dozen Regions).
 */
import { logTail, longExpectation } from './baseline';
import { type Context, HOUR, MINUTE, shortPrincipal } from './context';
import type { FileDelta } from './delta';
import type { InsightEvent } from './insight';
import { attributionsOf, fmtCount, mayStart, openWindowEpisode, topList } from './rate';
import { PROVISIONING_APIS, parseSeriesId, type RegionProvisioningKey, seriesId } from './series';
import { ranked, type WindowIndex } from './windows';

/** eventSource of a provisioning API by its name (the names in the list are unique). */
const SOURCE_OF_NAME = new Map(
  PROVISIONING_APIS.map((api) => {
    const at = api.indexOf(':');
    return [api.slice(at + 1), api.slice(0, at)];
  }),
);

/**
 * Tests the long window `w` of a Region's provisioning series `id`: at least `minCalls` provisioning calls in
 * a Region where the account never provisioned (or first did less than `establishedHours` ago, after its
 * learning period), once the account has `learningHours` of history. An open episode stays open while the calls continue.
 */
export function testUnusedRegion(
  ctx: Context,
  index: WindowIndex,
  id: string,
  w: number,
  bins: number,
  now: number,
  out: InsightEvent[],
): void {
  const { config, binMs } = ctx.settings;
  const dc = config.detectors['unused-region'];
  if (!dc.enabled) return;
  const count = index.count(id, w, bins);
  if (count < dc.minCalls) return;
  const ep = ctx.head.episodes[id];
  if (ep) {
    ep.lastHot = Math.max(ep.lastHot, w);
    return;
  }
  const { region } = parseSeriesId(id) as RegionProvisioningKey;
  const view = index.view(id, w, bins);
  const first = ctx.head.regions[region]?.prov;
  const watched = ctx.head.provSince ?? ctx.head.first;
  const learnedBy = watched + config.learningHours * HOUR;
  // Established: provisioning there long before this window, or already while the memory was learning (what
  // the account did in its learning period is its normal, however short that period).
  if (first !== undefined && (first <= view.t0 - dc.establishedHours * HOUR || first < learnedBy)) return;
  // The memory must have watched the account for its learning period (it starts empty after an upgrade).
  if (ctx.head.clock < learnedBy) return;
  if (!mayStart(ctx, id, w, bins)) return;
  // No baseline: the Region never provisioned, so the expectation is the partition's floor.
  const exp = longExpectation(ctx, undefined, w, bins);
  const p = Math.exp(logTail(view.count, exp));
  const windowMin = (bins * binMs) / MINUTE;
  const names = ranked(view.n);
  const principals = ranked(view.p);
  const errors = ranked(view.e);
  const principal = principals.length > 0 && principals[0][1] * 2 >= view.count ? principals[0][0] : undefined;
  const eventName = names[0]?.[0] ?? '';
  const failed = errors.reduce((n, [, c]) => n + c, 0);
  const elsewhere = Object.entries(ctx.head.regions)
    // Where the account is established, not a Region that an attacker started using an hour ago.
    .filter(
      ([r, s]) =>
        r !== region && s.prov !== undefined && (s.prov <= view.t0 - dc.establishedHours * HOUR || s.prov < learnedBy),
    )
    .map(([r]) => r)
    .sort();
  const days = Math.floor((ctx.head.clock - ctx.head.first) / (24 * HOUR));
  const history =
    first === undefined || first >= view.t0
      ? `the account never provisioned in ${region} in ${days} days of history`
      : `the account's first provisioning in ${region} was ${fmtCount((view.t0 - first) / HOUR)} h earlier`;
  const others = elsewhere.length > 0 ? `it provisions in ${elsewhere.join(', ')}` : 'it provisions in no other Region';
  const explanation = `${region} saw ${view.count} provisioning calls in ${windowMin} min (${topList(names, 4)}${failed > 0 ? `; ${failed} failed: ${errors.map(([c]) => c).join(', ')}` : ''})${principal ? `, mostly by ${shortPrincipal(principal)}` : ` by ${principals.length} principals`}; ${history} (${others}; p = ${p.toExponential(1)}): check for unauthorized compute such as crypto-mining, and for new key pairs and security groups there.`;
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
      detector: 'unused-region',
      region,
      ...(principal !== undefined ? { principal } : {}),
      eventSource: SOURCE_OF_NAME.get(eventName) ?? '',
      eventName,
      eventNames: names.map(([n]) => n),
      errorCodes: errors.map(([c]) => c),
      attributions: attributionsOf(view, windowMin, id),
      explanation,
    },
    out,
  );
}

/** Remembers when each Region first saw provisioning (after the file's windows were tested). */
export function recordProvisioning(ctx: Context, delta: FileDelta): void {
  const bins = delta.series[seriesId({ kind: 'region-provisioning', region: delta.region })];
  if (!bins) return;
  const region = ctx.head.regions[delta.region];
  for (const [bin, counts] of Object.entries(bins)) {
    const t = Number(bin) * ctx.settings.binMs + counts.o;
    if (region.prov === undefined || t < region.prov) region.prov = t;
  }
}
