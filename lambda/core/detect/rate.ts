/**
 * The rate detectors: a window of a series (10 minutes by default, sliding by one bin; for the provisioning
 * APIs also the long window) is tested against the series' baseline with a negative-binomial tail test.
 * Per-API series (call-rate, error-rate) also require the dominant caller's own rate to be unusual;
 * per-principal series (iam-burst, recon, access-denied) also fire on many APIs the principal never used
 * before (first-seen logic). Also what every windowed detector shares: where a series' baseline and
 * first-seen sets are, when an insight may start, and how its episode opens.
 */
import { type Expectation, expectation, logTail, longExpectation } from './baseline';
import { pageRefOf, peakAt } from './compaction';
import type { DetectorKind, RateDetectorConfig, RateDetectorKind } from './config';
import { type Context, DAY, historyMinutes, MINUTE, shortPrincipal } from './context';
import { isConsoleAgent, OTHER_ATTRIBUTION } from './delta';
import { episodeId, startEpisode } from './episodes';
import type { Attribution, AttributionValue, InsightEvent } from './insight';
import { round } from './insight';
import { own } from './records';
import {
  callerSeries,
  DETECTOR_OF,
  groupOf,
  isApiSeries,
  kindOf,
  learnsApis,
  type PrincipalKey,
  parseSeriesId,
} from './series';
import { type EpisodeState, type KnownApis, type Page, pageIdOf, type SeriesBaseline } from './state';
import { logUpperTail } from './stats';
import { otherCount, ranked, type WindowIndex, type WindowView } from './windows';

/** A rate counts as unusual (though not alarming on its own) below this tail probability. */
export const CALLER_ALPHA = 0.01;

/** Expected calls per window below which an API counts as almost never called (see testRate's override). */
const RARE_PER_WINDOW = 0.5;

/** The page holding a series (or a principal's first-seen sets). */
export function pageFor(ctx: Context, id: string): Page {
  return ctx.data.page(pageIdOf(pageRefOf(ctx.head.pages, groupOf(id))));
}

export function baselineOf(ctx: Context, id: string): SeriesBaseline | undefined {
  return pageFor(ctx, id).series[id];
}

export function knownOf(ctx: Context, id: string): KnownApis | undefined {
  return pageFor(ctx, id).known[id];
}

/** A count as an explanation writes it. */
export function fmtCount(n: number): string {
  return n >= 10 ? String(Math.round(n)) : String(round(n));
}

/**
 * Whether an insight may start from window `w` (of `bins` bins) of series `id`: the partition has replayed
 * its learning period, and the window does not reach into an episode of the series that already ended (late
 * calls of an ended episode do not start a second one).
 */
export function mayStart(ctx: Context, id: string, w: number, bins: number): boolean {
  if (historyMinutes(ctx.head) < ctx.settings.config.learningHours * 60) return false;
  const ended = ctx.head.ended[id];
  return ended === undefined || w - bins >= ended[0];
}

/**
 * The count test shared by the windowed detectors with one count series (failed sign-ins, object reads):
 * window `w` of series `id` with at least `minCount` events (half that while its episode is open) and
 * `minRatio` × its expectation. An open episode stays open while the window stays unusual (p < alphaContinue)
 * and nothing new starts; otherwise returns the count, its expectation and the log p-value for the detector to
 * judge.
 */
export function windowTail(
  ctx: Context,
  index: WindowIndex,
  id: string,
  w: number,
  minCount: number,
): { count: number; exp: Expectation; logP: number } | undefined {
  const { config, binMs } = ctx.settings;
  const ep = ctx.head.episodes[id];
  const count = index.count(id, w, config.windowBins);
  if (count < (ep ? Math.ceil(minCount / 2) : minCount)) return undefined;
  const exp = expectation(ctx, baselineOf(ctx, id), (w + 1) * binMs);
  if (count < config.minRatio * exp.mu) return undefined;
  const logP = logTail(count, exp);
  if (ep) {
    if (logP < Math.log(config.alphaContinue)) ep.lastHot = Math.max(ep.lastHot, w);
    return undefined;
  }
  return { count, exp, logP };
}

/**
 * Tests window `w` (of `bins` bins: the short window, or the long one for the provisioning APIs' calls) of a
 * rate detector's series `id` after a file delivered in `region` added counts to it (per-principal series
 * span the account's Regions: an insight about them is reported in the Region of that file). May start an
 * episode, or keep an open one alive.
 */
export function testRate(
  ctx: Context,
  index: WindowIndex,
  id: string,
  w: number,
  bins: number,
  now: number,
  region: string,
  out: InsightEvent[],
): void {
  const kind = kindOf(id);
  const detector = DETECTOR_OF[kind] as RateDetectorKind | undefined;
  if (!detector) return;
  const { config, binMs } = ctx.settings;
  const dc: RateDetectorConfig = config.detectors[detector];
  if (!dc.enabled) return;
  const long = bins !== config.windowBins;
  if (long && !config.longWindow.enabled) return;
  const ep = ctx.head.episodes[id];
  // The long window keeps alive only the episodes it opened: a short burst must end as it always did.
  if (long && ep && ep.windowBins !== bins) return;
  const threshold = long ? config.longWindow.minCount : dc.minCount;
  const minCount = ep ? Math.ceil(threshold / 2) : threshold;
  const count = index.count(id, w, bins);
  const novelPossible = !long && !ep && learnsApis(id) && dc.minNovelApis > 0 && count >= dc.minNovelApis;
  if (count < minCount && !novelPossible) return;
  const view = index.view(id, w, bins);
  const distinct = Object.keys(view.n).length;
  if (!ep && !isApiSeries(id) && distinct < dc.minDistinctApis) return;
  if (!ep && dc.habitFactor > 0 && habitual(ctx, id, view, w, dc.habitFactor)) return;
  const exp = long
    ? longExpectation(ctx, baselineOf(ctx, id), w, bins)
    : expectation(ctx, baselineOf(ctx, id), (w + 1) * binMs);
  const novelty = novelPossible ? testNovelty(ctx, id, view, w) : undefined;
  const countOk = view.count >= minCount && view.count >= config.minRatio * exp.mu;
  if (!countOk && novelty === undefined) return;
  const logP = Math.min(countOk ? logTail(view.count, exp) : 0, novelty ?? 0);
  if (ep) {
    if (logP < Math.log(config.alphaContinue)) ep.lastHot = Math.max(ep.lastHot, w);
    return;
  }
  const alpha = Math.log(config.alpha);
  // Per-API series: two views must agree. The API's rate and the dominant caller's own write (error) rate
  // are both unusual, and at least one of them extremely so. A lab student or CI role that always works in
  // bursts stays quiet; a new or normally quiet principal on a busy API does not.
  const caller = isApiSeries(id) ? callerLogTail(ctx, index, id, view, w, bins) : undefined;
  const loose = Math.log(CALLER_ALPHA);
  // Overwhelming evidence on the API alone (p < alpha²) on an API that is almost never called here (a new
  // error code in bulk, dozens of calls of a never-used API) is news whoever the caller is; on an API called
  // every window, the caller must agree (a nightly job's bulk writes are its own habit).
  const overwhelming = logP < 2 * alpha && exp.mu < RARE_PER_WINDOW;
  const anomalous =
    caller === undefined || overwhelming
      ? logP < alpha
      : (logP < alpha && caller < loose) || (caller < alpha && logP < loose);
  if (!anomalous) return;
  if (!mayStart(ctx, id, w, bins)) return;
  startRateEpisode(ctx, id, w, bins, view, exp, Math.exp(logP), now, region, out, caller);
}

/**
 * Whether a principal's window is one of its habits: it has a day of history, every API in the window is one
 * it used before, and the window is at most `factor` × the largest window it made in the last weeks (reported
 * or not: the young-episode clipping keeps a reported burst out of the baseline, so without this memory a
 * burst that recurs, like the usual admin onboarding people or a weekly Terraform apply, would be reported every
 * time). A principal that never made such bursts, one that uses an API it never used, or a burst much larger
 * than its own, is tested as before.
 */
function habitual(ctx: Context, id: string, view: WindowView, w: number, factor: number): boolean {
  const known = knownOf(ctx, id);
  const t = (w + 1) * ctx.settings.binMs;
  if (!known || t - known.since < DAY) return false;
  // Calls beyond the attribution cap ("Other") have unknown names: not provably habitual.
  if (Object.keys(view.n).some((name) => name === OTHER_ATTRIBUTION || !own(known.apis, name))) return false;
  return view.count <= factor * peakAt(known, t, ctx.settings.halfLifeMs);
}

/**
 * Reconnaissance (or permission probing) by a known principal: many APIs it has never read (or never been
 * denied on), at once. Tested against the pace at which it has picked up new ones so far (Poisson), once it
 * has a day of history. Reads made mostly through the console are left to the count test: each console page
 * a person opens calls several read APIs, so a person opening pages new to them reads many new APIs at once;
 * sweeps are run from programs (the CLI, SDKs, tools).
 */
function testNovelty(ctx: Context, id: string, view: WindowView, w: number): number | undefined {
  const { config, binMs, windowMs } = ctx.settings;
  const detector = DETECTOR_OF[kindOf(id)] as RateDetectorKind;
  const dc = config.detectors[detector];
  if (dc.minNovelApis <= 0) return undefined;
  if (detector === 'recon' && consoleShare(view) >= 0.5) return undefined;
  const known = knownOf(ctx, id);
  const t = (w + 1) * binMs;
  if (!known || t - known.since < DAY) return undefined;
  let novel = 0;
  for (const name of Object.keys(view.n)) if (!own(known.apis, name)) novel++;
  if (novel < dc.minNovelApis) return undefined;
  const windows = (t - known.since) / windowMs;
  const rate = (Object.keys(known.apis).length + 1) / windows;
  return logUpperTail(novel, rate, 0);
}

/** The share of a window's calls whose user agent is the console's. */
function consoleShare(view: WindowView): number {
  let fromConsole = 0;
  for (const [agent, n] of Object.entries(view.a)) if (isConsoleAgent(agent)) fromConsole += n;
  return view.count > 0 ? fromConsole / view.count : 0;
}

/**
 * ln P(caller's window count) for the principal that made most of a per-API window's calls, under its own
 * write (or error) baseline; undefined when no principal made at least half of the calls.
 */
function callerLogTail(
  ctx: Context,
  index: WindowIndex,
  id: string,
  view: WindowView,
  w: number,
  bins: number,
): number | undefined {
  const top = ranked(view.p)[0];
  if (!top || top[1] * 2 < view.count) return undefined;
  const callerId = callerSeries(id, top[0]);
  const baseline = baselineOf(ctx, callerId);
  const exp =
    bins === ctx.settings.config.windowBins
      ? expectation(ctx, baseline, (w + 1) * ctx.settings.binMs)
      : longExpectation(ctx, baseline, w, bins);
  return logTail(index.count(callerId, w, bins), exp);
}

/** The Insights attributions of a window: top 5 (+ Other) principals, user agents and (calls) error codes. */
export function attributionsOf(view: WindowView, windowMin: number, id: string): Attribution[] {
  const items = (map: Record<string, number>): AttributionValue[] => {
    const list = ranked(map);
    const head = list.slice(0, 5).map(([value, n]) => ({ value, average: round(n / windowMin) }));
    const rest = list.slice(5).reduce((acc, [, n]) => acc + n, 0) + otherCount(map);
    if (rest > 0) head.push({ value: 'Other', average: round(rest / windowMin) });
    return head;
  };
  const out: Attribution[] = [];
  if (Object.keys(view.p).length > 0) out.push({ attribute: 'userIdentityArn', insight: items(view.p), baseline: [] });
  if (Object.keys(view.a).length > 0) out.push({ attribute: 'userAgent', insight: items(view.a), baseline: [] });
  if (kindOf(id) === 'api-calls' && view.count > 0) {
    // Successful calls only: every errorCode is null, which CloudTrail Insights reports as the value "null".
    out.push({ attribute: 'errorCode', insight: items({ null: view.count }), baseline: [] });
  }
  return out;
}

/** What an insight says beyond its window's counts and expectation. */
export interface EpisodeFacts {
  readonly detector: DetectorKind;
  /** The Region the insight is reported in. */
  readonly region: string;
  readonly principal?: string;
  readonly eventSource: string;
  readonly eventName: string;
  readonly errorCode?: string;
  readonly eventNames: string[];
  readonly errorCodes: string[];
  readonly attributions: Attribution[];
  readonly sourceIps?: string[];
  readonly explanation: string;
}

/**
 * Opens the episode of series `id` from window `w` (of `bins` bins) and emits its Start: every windowed
 * detector's insight goes through here, so suppressions and the record shape are the same for all.
 */
export function openWindowEpisode(
  ctx: Context,
  id: string,
  w: number,
  bins: number,
  view: WindowView,
  exp: Expectation,
  score: number,
  now: number,
  facts: EpisodeFacts,
  out: InsightEvent[],
): void {
  const { config, binMs } = ctx.settings;
  const windowMin = (bins * binMs) / MINUTE;
  const ep: EpisodeState = {
    id: episodeId(ctx, 'episode', id, w),
    detector: facts.detector,
    region: facts.region,
    start: view.t0,
    startBin: w - bins + 1,
    lastHot: w,
    total: view.count,
    observed: view.count,
    expected: exp.mu,
    score,
    suppressed: ctx.settings.isSuppressed(
      { account: ctx.head.account, region: facts.region },
      facts.detector,
      facts.principal,
      facts.eventSource,
      facts.eventNames,
    ),
    eventSource: facts.eventSource,
    eventName: facts.eventName,
    ...(facts.errorCode !== undefined ? { errorCode: facts.errorCode } : {}),
    ...(facts.principal !== undefined ? { principal: facts.principal } : {}),
    eventNames: facts.eventNames,
    errorCodes: facts.errorCodes,
    attributions: facts.attributions,
    baselineAverage: exp.mu / windowMin,
    ...(bins !== config.windowBins ? { windowBins: bins } : {}),
    ...(facts.sourceIps !== undefined ? { sourceIps: facts.sourceIps } : {}),
    explanation: facts.explanation,
  };
  startEpisode(ctx, id, ep, now, view.count / windowMin, windowMin, out);
}

/** The attributions of a principal-level window, with the principal itself first (where Insights consumers look). */
export function principalAttributions(
  view: WindowView,
  windowMin: number,
  id: string,
  principal: string,
): Attribution[] {
  const attributions = attributionsOf(view, windowMin, id);
  if (Object.keys(view.p).length === 0) {
    attributions.unshift({
      attribute: 'userIdentityArn',
      insight: [{ value: principal, average: round(view.count / windowMin) }],
      baseline: [],
    });
  }
  return attributions;
}

/** A window's source IPs, most frequent first, and how an explanation names them (` from a, b, c…`). */
export function fromIps(view: WindowView): { text: string; ips: string[] } {
  const ips = ranked(view.i).map(([ip]) => ip);
  return { text: ips.length > 0 ? ` from ${ips.slice(0, 3).join(', ')}${ips.length > 3 ? '…' : ''}` : '', ips };
}

/** `k ×n` for the first `n` entries of a ranked list. */
export function topList(list: [string, number][], n: number): string {
  return list
    .slice(0, n)
    .map(([k, v]) => `${k} ×${v}`)
    .join(', ');
}

function startRateEpisode(
  ctx: Context,
  id: string,
  w: number,
  bins: number,
  view: WindowView,
  exp: Expectation,
  p: number,
  now: number,
  fileRegion: string,
  out: InsightEvent[],
  callerLogP?: number,
): void {
  const { config, binMs } = ctx.settings;
  const key = parseSeriesId(id);
  const region = key.kind === 'api-calls' || key.kind === 'api-errors' ? key.region : fileRegion;
  const detector = DETECTOR_OF[key.kind]!;
  const windowMin = (bins * binMs) / MINUTE;
  const names = ranked(view.n);
  const sources = ranked(view.s);
  const principals = ranked(view.p);
  const errors = ranked(view.e).filter(([code]) => code !== 'null');
  let eventSource: string;
  let eventName: string;
  let errorCode: string | undefined;
  let principal: string | undefined;
  if (key.kind === 'api-calls' || key.kind === 'api-errors') {
    eventSource = key.source;
    eventName = key.name;
    if (key.kind === 'api-errors') errorCode = key.code;
    // Name the dominant caller when one principal made most of the calls.
    if (principals.length > 0 && principals[0][1] * 2 >= view.count) principal = principals[0][0];
  } else {
    principal = (key as PrincipalKey).principal;
    eventName = names[0]?.[0] ?? '';
    eventSource = sources[0]?.[0] ?? '';
  }
  const perApi = isApiSeries(id);
  const eventNames = perApi ? [eventName] : names.map(([n]) => n);
  const errorCodes = errorCode ? [errorCode] : errors.map(([c]) => c);
  const attributions =
    principal !== undefined && !perApi
      ? principalAttributions(view, windowMin, id, principal)
      : attributionsOf(view, windowMin, id);
  const who = principal ? shortPrincipal(principal) : undefined;
  const expected = exp.mu;
  const callerP = callerLogP === undefined ? undefined : Math.exp(callerLogP);
  // The evidence that made it fire: the API's own tail, or the caller's when that was the extreme one.
  const score = callerP !== undefined && callerP < p ? callerP : p;
  const callerText =
    callerP !== undefined && who
      ? `; ${who}'s own ${key.kind === 'api-calls' ? 'write' : 'error'} rate is unusual too (p = ${callerP.toExponential(1)})`
      : '';
  const expText = `expected about ${fmtCount(expected)} per ${windowMin} min at this hour`;
  const slow = bins !== config.windowBins ? ', at a steady pace no 10-minute window shows' : '';
  let explanation: string;
  switch (detector) {
    case 'call-rate':
      explanation = `${eventName} (${eventSource}) was called ${view.count} times in ${windowMin} min${who ? `, mostly by ${who}` : ` by ${principals.length} principals`}${slow}; ${expText} (p = ${p.toExponential(1)})${callerText}: check what is being provisioned.`;
      break;
    case 'error-rate':
      explanation = `${eventName} (${eventSource}) failed ${view.count} times with ${errorCode} in ${windowMin} min${who ? `, mostly for ${who}` : ''}; ${expText} (p = ${p.toExponential(1)})${callerText}: a limit, an outage or a broken client.`;
      break;
    case 'iam-burst':
      explanation = `${who} made ${view.count} IAM write calls in ${windowMin} min (${topList(names, 4)}); ${expText} (p = ${p.toExponential(1)}): confirm these identities and keys were meant to be created.`;
      break;
    case 'recon': {
      const known = knownOf(ctx, id);
      const novel = known ? names.filter(([n]) => !own(known.apis, n)).length : names.length;
      explanation = `${who} made ${view.count} read-only calls to ${names.length} APIs (${novel} never called by it before) across ${sources.length} services in ${windowMin} min (${topList(names, 3)}…); ${expText} (p = ${p.toExponential(1)}): looks like an enumeration sweep.`;
      break;
    }
    default:
      explanation = `${who} was denied ${view.count} times on ${names.length} APIs in ${windowMin} min (${errorCodes.slice(0, 3).join(', ')}; ${topList(names, 3)}); ${expText} (p = ${p.toExponential(1)}): probing for permissions or a broken deployment.`;
  }
  openWindowEpisode(
    ctx,
    id,
    w,
    bins,
    view,
    exp,
    score,
    now,
    {
      detector,
      region,
      ...(principal !== undefined ? { principal } : {}),
      eventSource,
      eventName,
      ...(errorCode !== undefined ? { errorCode } : {}),
      eventNames,
      errorCodes,
      attributions,
      explanation,
    },
    out,
  );
}
