/**
 * A page records what its compaction wrote: until a later compaction rewrites it, nothing the engine applies
 * may change it. The pipeline stores a page when its compaction commits and reads that copy back; the CLI
 * keeps its pages in memory, so a page sharing an object with the head (a job it promoted to the head, kept
 * on the page for a retried attempt of the same compaction) changed there with every run of the job, and
 * the CLI's state no longer equalled the pipeline's (found by the fault soak, seed 3).
 */
import { Replay } from '../../lambda/core/detect';
import { background, DAY, deliveries, ev, HOUR, MIN, T0 } from './helpers';

describe('compaction pages', () => {
  test('a page not rewritten by a compaction stays as it was written, jobs it promoted included', async () => {
    // role/patch runs SendCommand every 6 hours and ListCommandInvocations 3 minutes after, for five days:
    // a compaction promotes both jobs to the head, and their runs go on.
    const patch = { who: 'role/patch', source: 'ssm.amazonaws.com' };
    const runs = Array.from({ length: 20 }, (_, i) => T0 + 30 * MIN + i * 6 * HOUR);
    const events = [
      ...background(T0, T0 + 5 * DAY),
      ...runs.flatMap((t) => [
        ev(t, 'SendCommand', { ...patch, readOnly: false }),
        ev(t + 3 * MIN, 'ListCommandInvocations', { ...patch, readOnly: true }),
      ]),
    ].sort((a, b) => a.time - b.time);
    const replay = new Replay({ learningHours: 24 });
    const written = new Map<string, { k: number; json: string }>();
    let promoted = 0;
    let checked = 0;
    for (const [file, list] of deliveries(events)) {
      replay.ingestFile(file, list);
      for (const snapshot of Object.values(replay.snapshot().partitions)) {
        for (const [id, page] of Object.entries(snapshot.pages)) {
          const json = JSON.stringify(page);
          const before = written.get(id);
          if (before?.k === page.k) {
            checked++;
            expect(JSON.parse(json)).toEqual(JSON.parse(before.json));
          }
          if (before?.k !== page.k && page.promoted) promoted++;
          written.set(id, { k: page.k, json });
        }
      }
    }
    // The test saw what it is about: a compaction that promoted jobs, and pages kept after it.
    expect(promoted).toBeGreaterThan(0);
    expect(checked).toBeGreaterThan(100);
  });
});
