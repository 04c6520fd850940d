/**
 * An insight records a moment: once emitted, nothing the engine applies afterwards may change it. The CLI
 * prints an insight when the input that emitted it returns (a file, with the ticks before it), the pipeline
 * stores it in the outbox when its evaluation round commits (many inputs later, or fewer): an insight that
 * kept changing with its episode read differently from each (found by the fault soak, whose evaluations
 * fall at other points than the CLI's files).
 */
import type { InsightEvent } from '../../lambda/core/detect';
import { Replay } from '../../lambda/core/detect';
import { background, DAY, deliveries, ev, HOUR, MIN, T0 } from './helpers';

describe('emitted insights', () => {
  test('a gap episode that another job of the principal joins later keeps its Start as it was emitted', () => {
    // role/patch runs SendCommand every 6 hours and ListCommandInvocations 3 minutes after; one run of both
    // is missed on day 4: SendCommand is reported first, ListCommandInvocations joins its episode later.
    const missed = T0 + 3 * DAY + 12 * HOUR + 30 * MIN;
    const runs = Array.from({ length: 16 }, (_, i) => T0 + 30 * MIN + i * 6 * HOUR).filter((t) => t !== missed);
    const patch = { who: 'role/patch', source: 'ssm.amazonaws.com' };
    const events = [
      ...background(T0, T0 + 4 * DAY),
      ...runs.flatMap((t) => [
        ev(t, 'SendCommand', { ...patch, readOnly: false }),
        ev(t + 3 * MIN, 'ListCommandInvocations', { ...patch, readOnly: true }),
      ]),
    ].sort((a, b) => a.time - b.time);
    const replay = new Replay({});
    const emitted: [InsightEvent, string][] = [];
    for (const [file, list] of deliveries(events)) {
      for (const insight of replay.ingestFile(file, list)) emitted.push([insight, JSON.stringify(insight)]);
    }
    const gap = emitted.map(([i]) => i).filter((i) => i.trailsight.detector === 'gap');
    expect(gap.map((i) => [i.insightDetails.state, i.trailsight.eventNames])).toEqual([
      ['Start', ['SendCommand']],
      ['End', ['SendCommand', 'ListCommandInvocations']],
    ]);
    for (const [insight, json] of emitted) expect(JSON.stringify(insight)).toBe(json);
  });
});
