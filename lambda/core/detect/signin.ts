/**
 * `console-brute-force`: failed console sign-ins against one user. A failed `ConsoleLogin` has no errorCode
 * (the failure is in `responseElements.ConsoleLogin`), so it is neither an error nor a denial to the other
 * detectors; the reader normalizes it as `loginOutcome: 'Failure'` and the delta counts it for the user it
 * named. CloudTrail names the user when it exists (`user/<name>`, `root`) and writes
 * `HIDDEN_DUE_TO_SECURITY_REASONS` for a user name that does not exist, so guesses of user names add up to
 * one series too.
 *
 * Three insights:
 * - a burst of failures against one user (its `login-failures` series against its own baseline: people
 *   mistype now and then);
 * - a successful sign-in without MFA after failures in the long window before it (`logins-without-mfa`,
 *   IAM users and root only): the password may have been guessed, which is worse than the guessing;
 * - password spraying: a burst of the account's failures (`account-login-failures`, against the account's
 *   baseline) that no single user accounts for — a few guesses against each of many users, usually from one
 *   place, stay under every user's own test.
 */
import { logTail, longExpectation } from './baseline';
import { type Context, MINUTE, shortPrincipal } from './context';
import type { InsightEvent } from './insight';
import { isoSeconds } from './insight';
import {
  attributionsOf,
  baselineOf,
  CALLER_ALPHA,
  type EpisodeFacts,
  fmtCount,
  fromIps,
  mayStart,
  openWindowEpisode,
  principalAttributions,
  windowTail,
} from './rate';
import { seriesId } from './series';
import { ranked, type WindowIndex } from './windows';

/** The user name CloudTrail writes for a sign-in attempt with a user name that does not exist. */
const HIDDEN_USER = 'HIDDEN_DUE_TO_SECURITY_REASONS';

function target(principal: string): string {
  if (principal.endsWith(`/${HIDDEN_USER}`))
    return 'user names that do not exist in the account (CloudTrail hides them)';
  const short = shortPrincipal(principal);
  return short === 'root' ? 'the root user' : short;
}

/** What every console-brute-force insight says of its calls: ConsoleLogin events, in `region`. */
function signInFacts(
  region: string,
): Pick<EpisodeFacts, 'detector' | 'region' | 'eventSource' | 'eventName' | 'eventNames' | 'errorCodes'> {
  return {
    detector: 'console-brute-force',
    region,
    eventSource: 'signin.amazonaws.com',
    eventName: 'ConsoleLogin',
    eventNames: ['ConsoleLogin'],
    errorCodes: [],
  };
}

/**
 * Tests window `w` of a user's failed sign-ins `id`: at least `minFailures`, extremely unusual for it
 * (p < alpha). An open episode stays open while failures continue.
 */
export function testSignInFailures(
  ctx: Context,
  index: WindowIndex,
  id: string,
  w: number,
  now: number,
  region: string,
  out: InsightEvent[],
): void {
  const { config, binMs } = ctx.settings;
  const dc = config.detectors['console-brute-force'];
  if (!dc.enabled) return;
  const bins = config.windowBins;
  const tail = windowTail(ctx, index, id, w, dc.minFailures);
  if (!tail) return;
  const { count, exp, logP } = tail;
  if (logP >= Math.log(config.alpha) || !mayStart(ctx, id, w, bins)) return;
  const principal = id.slice(2);
  const view = index.view(id, w, bins);
  const windowMin = (bins * binMs) / MINUTE;
  const p = Math.exp(logP);
  const { text, ips } = fromIps(view);
  const explanation = `${count} failed console sign-ins for ${target(principal)} in ${windowMin} min${text}; expected about ${fmtCount(exp.mu)} per ${windowMin} min at this hour (p = ${p.toExponential(1)}): someone is guessing a password — check the source IPs, and that the user has MFA.`;
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
      ...signInFacts(region),
      principal,
      attributions: principalAttributions(view, windowMin, id, principal),
      sourceIps: ips,
      explanation,
    },
    out,
  );
}

/**
 * Tests a successful sign-in without MFA (bin `w` of a user's `logins-without-mfa` series `id`) against the
 * failed sign-ins of the same user in the long window ending with it: at least `minFailuresBeforeSuccess`,
 * unusual for the user (p < 0.01). Its own episode, so it is reported even while (or after) the failures'
 * episode.
 */
export function testSignInAfterFailures(
  ctx: Context,
  index: WindowIndex,
  id: string,
  w: number,
  bins: number,
  now: number,
  region: string,
  out: InsightEvent[],
): void {
  const { config, binMs } = ctx.settings;
  const dc = config.detectors['console-brute-force'];
  if (!dc.enabled || ctx.head.episodes[id]) return;
  const principal = id.slice(2);
  const failuresId = seriesId({ kind: 'login-failures', principal });
  const failures = index.count(failuresId, w, bins);
  if (failures < dc.minFailuresBeforeSuccess) return;
  const exp = longExpectation(ctx, baselineOf(ctx, failuresId), w, bins);
  if (failures < config.minRatio * exp.mu) return;
  const logP = logTail(failures, exp);
  if (logP >= Math.log(CALLER_ALPHA) || !mayStart(ctx, id, w, bins)) return;
  const view = index.view(failuresId, w, bins);
  const signIn = index.view(id, w, 1);
  const windowMin = (bins * binMs) / MINUTE;
  const p = Math.exp(logP);
  const failedFrom = fromIps(view);
  const signInFrom = fromIps(signIn);
  const explanation = `${target(principal)} signed in to the console without MFA at ${isoSeconds(signIn.t0)}${signInFrom.text} after ${failures} failed sign-ins in the previous ${windowMin} min${failedFrom.text}; expected about ${fmtCount(exp.mu)} failures per ${windowMin} min at this hour (p = ${p.toExponential(1)}): the password may have been guessed — reset it, require MFA and review what the session did.`;
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
      ...signInFacts(region),
      principal,
      attributions: principalAttributions(view, windowMin, failuresId, principal),
      sourceIps: [...new Set([...signInFrom.ips, ...failedFrom.ips])],
      explanation,
    },
    out,
  );
}

/**
 * Tests window `w` of the account's failed sign-ins `id`: at least `minFailures`, extremely unusual for the
 * account (p < alpha), and no user named in half of them (one user's failures are that user's insight).
 * An open episode stays open while failures continue.
 */
export function testSignInSpray(
  ctx: Context,
  index: WindowIndex,
  id: string,
  w: number,
  now: number,
  region: string,
  out: InsightEvent[],
): void {
  const { config, binMs } = ctx.settings;
  const dc = config.detectors['console-brute-force'];
  if (!dc.enabled) return;
  const bins = config.windowBins;
  const tail = windowTail(ctx, index, id, w, dc.minFailures);
  if (!tail) return;
  const { count, exp, logP } = tail;
  if (logP >= Math.log(config.alpha)) return;
  const view = index.view(id, w, bins);
  const users = ranked(view.p);
  if (users.length > 0 && users[0][1] * 2 >= count) return;
  if (!mayStart(ctx, id, w, bins)) return;
  const windowMin = (bins * binMs) / MINUTE;
  const p = Math.exp(logP);
  const { text, ips } = fromIps(view);
  const named = users.map(([u]) => u).filter((u) => !u.endsWith(`/${HIDDEN_USER}`)).length;
  const hidden = users.length > named ? ' and user names that do not exist' : '';
  const explanation = `${count} failed console sign-ins for ${named} users${hidden} in ${windowMin} min${text}; expected about ${fmtCount(exp.mu)} per ${windowMin} min at this hour for the whole account (p = ${p.toExponential(1)}): someone is spraying passwords across users — check the source IPs, and that every console user has MFA.`;
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
      ...signInFacts(region),
      attributions: attributionsOf(view, windowMin, id),
      sourceIps: ips,
      explanation,
    },
    out,
  );
}
