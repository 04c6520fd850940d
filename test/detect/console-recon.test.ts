/**
 * recon's first-seen test and the console: each console page a person opens calls several read APIs, so a person
 * opening pages new to them reads many new APIs at once (issue 14: "people starting to read new APIs"). Sweeps
 * are run from programs. Reads are grycap's own real records (real-records.ts), re-attributed; the console's
 * user agent is CloudTrail's `signin.amazonaws.com` (an IAM user in the console).
 */
import type { TrailEvent } from '../../lambda/core/event';
import { DAY, HOUR, starts } from './helpers';
import { ACCOUNT, grycapDays, READ_APIS, replay, shape, spread, T0, type Who } from './real-records';

const ANALYST: Who = { user: 'analyst' };
const CONSOLE = 'signin.amazonaws.com';
const CLI = 'aws-cli/2.15.30 Python/3.11.8 Linux/6.1 exe/x86_64';

/** Every day at 09:00 the analyst reads two APIs; on day 4 at 14:00, 12 APIs new to it, twice each, in 10 min. */
function analystDays(agent: string): TrailEvent[] {
  return grycapDays(5, (start) => {
    const daily = [0, 1].map((i) => ({ ...shape(READ_APIS[i], start + 9 * HOUR, { who: ANALYST, errorCode: null }) }));
    if (start !== T0 + 3 * DAY) return daily;
    const fresh = spread(start + 14 * HOUR, 24, 10, (t, i) => ({
      ...shape(READ_APIS[2 + (i % 12)], t, { who: ANALYST, errorCode: null }),
      userAgent: agent,
    }));
    return [...daily, ...fresh];
  });
}

const reconOfAnalyst = (agent: string) =>
  starts(replay(analystDays(agent)), 'recon').filter(
    (i) => i.trailsight.principal === `arn:aws:iam::${ACCOUNT}:user/analyst`,
  );

describe('recon: 12 read APIs new to a person in 10 minutes', () => {
  test('from the CLI, a sweep: reported', () => {
    const [found, ...more] = reconOfAnalyst(CLI);
    expect(more).toEqual([]);
    expect(found.trailsight.explanation).toMatch(
      /made \d+ read-only calls to (\d+) APIs \(\1 never called by it before\)/,
    );
  });

  test('look-alike: through the console, pages new to them: quiet', () => {
    expect(reconOfAnalyst(CONSOLE)).toEqual([]);
  });
});
