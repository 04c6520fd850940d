/**
 * delivery-gap from a logged stop: the real StopLogging and DeleteTrail records of the Stratus Red Team
 * detonations (samples/stratus-red-team, cited there), re-timed into the real grycap background. A stop after
 * which nothing more is logged is a gap within minutes, whatever the account's silences; a stop of another
 * trail (logging goes on) is not.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { type InsightEvent, Replay } from '../../lambda/core/detect';
import type { TrailEvent } from '../../lambda/core/event';
import { DAY, HOUR, MIN, starts } from './helpers';
import { ACCOUNT, deliveries, grycapDays, type Raw, replay, shape, T0 } from './real-records';

const SAMPLES = path.resolve(__dirname, '../../samples/stratus-red-team');
const sample = (name: string): Raw => (JSON.parse(readFileSync(path.join(SAMPLES, name), 'utf8')) as Raw[])[0];
const STOP = sample('aws.defense-evasion.cloudtrail-stop.json');
const DELETE = sample('aws.defense-evasion.cloudtrail-delete.json');
const REGION = 'us-east-1';

const STOP_AT = T0 + 3 * DAY + 10 * HOUR + 2 * MIN;
const RESTART_AT = STOP_AT + 3 * HOUR;

/** Four grycap days with `call` at STOP_AT; when `stops`, nothing else is logged until RESTART_AT. */
function days(call: TrailEvent, stops: boolean): TrailEvent[] {
  const logged = grycapDays(5).filter((e) => !stops || e.time <= STOP_AT || e.time >= RESTART_AT);
  const restart = shape(STOP, RESTART_AT, { region: REGION, who: { user: 'admin' }, name: 'StartLogging' });
  return [...logged, call, ...(stops ? [restart] : [])];
}

const gaps = (insights: InsightEvent[]) => insights.filter((i) => i.trailsight.detector === 'delivery-gap');

describe('delivery-gap after a logged StopLogging or DeleteTrail', () => {
  test('StopLogging, then nothing logged: a gap within minutes, ended when logging starts again', () => {
    const stop = shape(STOP, STOP_AT, { region: REGION, who: { user: 'intruder' } });
    const found = gaps(replay(days(stop, true)));
    expect(found.map((i) => [i.insightDetails.state, i.awsRegion, i.trailsight.gapCause])).toEqual([
      ['Start', REGION, 'logging-stopped'],
      ['End', REGION, 'logging-stopped'],
    ]);
    const [start, end] = found;
    expect(start.eventTime).toBe(new Date(STOP_AT).toISOString().replace('.000Z', 'Z'));
    expect(start.trailsight.explanation).toMatch(/user\/intruder called StopLogging in us-east-1 .* no event logged/);
    // The stop's file arrives 8 min after its bin; 15 min without anything logged; the reorder window.
    const latency = Date.parse(start.trailsight.detectedAt) - STOP_AT;
    expect(latency).toBeGreaterThanOrEqual(15 * MIN);
    expect(latency).toBeLessThanOrEqual(20 * MIN);
    // The first file after the restart ends it.
    expect(Date.parse(end.trailsight.detectedAt)).toBeGreaterThan(RESTART_AT);
  });

  test('a late file of events logged before the stop neither ends the gap nor starts a second one', () => {
    const stop = shape(STOP, STOP_AT, { region: REGION, who: { user: 'intruder' } });
    const files = deliveries(days(stop, true));
    const before = grycapDays(4).filter((e) => e.time < STOP_AT && e.time > STOP_AT - 2 * MIN);
    const lateAt = STOP_AT + 50 * MIN;
    files.push([{ account: ACCOUNT, region: REGION, deliveredAt: lateAt, file: 'late' }, before]);
    files.sort((a, b) => a[0].deliveredAt - b[0].deliveredAt);
    const r = new Replay();
    const found = gaps(files.flatMap(([file, list]) => r.ingestFile(file, list)));
    expect(before.length).toBeGreaterThan(0);
    expect(found.map((i) => i.insightDetails.state)).toEqual(['Start', 'End']);
    expect(Date.parse(found[1].trailsight.detectedAt)).toBeGreaterThan(RESTART_AT);
  });

  test('DeleteTrail is a stop too', () => {
    const del = shape(DELETE, STOP_AT, { region: REGION, who: { role: 'ops' } });
    const [start] = starts(replay(days(del, true)), 'delivery-gap');
    expect(start.trailsight.gapCause).toBe('logging-stopped');
    expect(start.trailsight.explanation).toMatch(/called DeleteTrail/);
  });

  test('look-alike: another trail stopped (the account keeps logging) is no gap', () => {
    const stop = shape(STOP, STOP_AT, { region: REGION, who: { user: 'intruder' } });
    expect(gaps(replay(days(stop, false)))).toEqual([]);
  });

  test('look-alike: a StopLogging that was denied stops nothing', () => {
    const denied = shape(STOP, STOP_AT, { region: REGION, who: { user: 'intruder' }, errorCode: 'AccessDenied' });
    const found = starts(replay(days(denied, true)), 'delivery-gap');
    // Still a silence of three hours at 10:00 on a working day: the account-wide test reports it, later.
    expect(found.map((i) => i.trailsight.gapCause)).toEqual(['delivery-stopped']);
    expect(Date.parse(found[0].trailsight.detectedAt) - STOP_AT).toBeGreaterThan(30 * MIN);
  });
});
