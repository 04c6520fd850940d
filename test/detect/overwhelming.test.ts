/**
 * The per-API override (p < alpha² on the API alone is news whoever the caller is) is for APIs almost never
 * called in the Region. On an API called all day, a nightly job's usual bulk writes, made in another Region than
 * usual (a disaster-recovery run), are the job's habit: its own write rate must agree before an insight starts.
 *
 * Background: the real grycap day on seven days (real-records.ts). The SSM `SendCommand` and EC2
 * `ModifySnapshotAttribute` records are the real ones of the Stratus Red Team detonations
 * `aws.execution.ssm-send-command` and `aws.exfiltration.ec2-share-ebs-snapshot`.
 */
import type { InsightEvent } from '../../lambda/core/detect';
import type { TrailEvent } from '../../lambda/core/event';
import { DAY, HOUR, MIN } from './helpers';
import { grycapDays, type Raw, readJson, replay, STRATUS, shape, spread, T0, type Who } from './real-records';

const record = (file: string, name: string): Raw =>
  (readJson(`${STRATUS}/${file}.json`) as Raw[]).find((r) => r.eventName === name)!;
const SEND_COMMAND = record('aws.execution.ssm-send-command', 'SendCommand');
const SHARE_SNAPSHOT = record('aws.exfiltration.ec2-share-ebs-snapshot', 'ModifySnapshotAttribute');

const FLEET: Who = { role: 'fleet-agent' };
const PATCH: Who = { role: 'nightly-patch' };
const HOME = 'eu-west-1';
const DR = 'us-east-1';

/** The fleet agent sends a command every 4 minutes in both Regions, all day. */
const fleet = (start: number): TrailEvent[] =>
  [HOME, DR].flatMap((region) =>
    spread(start, 360, 24 * 60, (t) => shape(SEND_COMMAND, t, { who: FLEET, region, errorCode: null })),
  );

/** The patch job's 40 commands at 02:00, in `region`. */
const patch = (start: number, region: string, raw = SEND_COMMAND): TrailEvent[] =>
  spread(start + 2 * HOUR, 40, 6, (t) => shape(raw, t, { who: PATCH, region, errorCode: null }));

const LAST = T0 + 6 * DAY;
const days = (last: (start: number) => TrailEvent[]): TrailEvent[] =>
  grycapDays(7, (start) => [...fleet(start), ...(start === LAST ? last(start) : patch(start, HOME))]);

const onLastNight = (insights: InsightEvent[]): InsightEvent[] =>
  insights.filter(
    (i) =>
      i.insightDetails.state === 'Start' &&
      Date.parse(i.eventTime) >= LAST + 90 * MIN &&
      Date.parse(i.eventTime) < LAST + 150 * MIN,
  );

describe('overwhelming evidence on one API', () => {
  const insights = {
    drRun: replay(days((start) => patch(start, DR))),
    share: replay(days((start) => patch(start, DR, SHARE_SNAPSHOT))),
  };

  test('the nightly job run in the other Region, on an API called there all day, stays quiet', () => {
    expect(
      onLastNight(insights.drRun).map((i) => `${i.trailsight.detector} ${i.trailsight.eventNames.join(',')}`),
    ).toEqual([]);
  });

  test('the same job sharing 40 snapshots, an API never called there, is reported', () => {
    expect(
      onLastNight(insights.share).map((i) => `${i.trailsight.detector} ${i.trailsight.eventNames.join(',')}`),
    ).toContain('call-rate ModifySnapshotAttribute');
  });
});
