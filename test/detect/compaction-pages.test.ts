/**
 * A page records what its compaction wrote: until a later compaction rewrites it, nothing the engine applies
 * may change it. The pipeline stores a page when its compaction commits and reads that copy back; the CLI
 * keeps its pages in memory, so a page sharing an object with the head (a job it promoted to the head, kept
 * on the page for a retried attempt of the same compaction) changed there with every run of the job, and
 * the CLI's state no longer equalled the pipeline's (found by the fault soak, seed 3).
 */
import {
  emptyPage,
  newHead,
  type Page,
  type PartitionData,
  pageIdOf,
  pageIds,
  Replay,
  resolveDetectConfig,
  settingsOf,
} from '../../lambda/core/detect';
import { compact, pageChars, pageRefOf } from '../../lambda/core/detect/compaction';
import { jobId, principalGroup } from '../../lambda/core/detect/series';
import { ACCOUNT, background, DAY, deliveries, ev, HOUR, MIN, REGION, T0 } from './helpers';

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

  test('the size a compaction records counts a page it changed without rewriting it as it is now', () => {
    // Compaction 1 promotes role/patch's trusted job to the head and keeps it on the page as promoted; at
    // compaction 2 nothing touches the page, which only drops that record. Compactions keep the sizes of the
    // pages they leave alone (compaction.ts): this page's must be forgotten, not counted as compaction 1 wrote it;
    // so must the size of a page a compaction rewrites.
    const settings = settingsOf(resolveDetectConfig({}));
    const head = newHead(settings, ACCOUNT, T0);
    head.clock = T0 + 2 * DAY;
    head.pages = [0, 32_768];
    const principal = `arn:aws:iam::${ACCOUNT}:role/patch`;
    const job = { rs: head.clock - HOUR, l: head.clock - HOUR, n: 3, pn: 3, per: 6 * HOUR, streak: 8, jit: 0 };
    const pages = new Map<string, Page>(pageIds(head).map((id) => [id, emptyPage()]));
    const patchPage = pages.get(pageIdOf(pageRefOf(head.pages, principalGroup(principal))))!;
    patchPage.jobs[jobId({ principal, region: REGION, source: 'ssm.amazonaws.com', name: 'SendCommand' })] = job;
    patchPage.seen[principal] = job.l;
    const data: PartitionData = {
      page: (id) => pages.get(id)!,
      putPage: (id, page) => pages.set(id, page),
      deltas: () => [],
      unappliedFiles: () => false,
    };
    const ctx = { settings, head, data };
    const recorded = () => head.compaction.baseChars;
    const actual = () => pageIds(head).reduce((n, id) => n + pageChars(pages.get(id)!), 0);

    compact(ctx);
    expect(patchPage.promoted).toBeDefined();
    expect(recorded()).toBe(actual());
    head.clock += HOUR;
    compact(ctx);
    expect(patchPage.promoted).toBeUndefined();
    expect(patchPage.k).toBe(1);
    expect(recorded()).toBe(actual());
    // Compaction 3 moves the job back (its schedule broke) and rewrites the page: its size is taken anew.
    for (const running of Object.values(head.jobs)) running.streak = 0;
    head.clock += HOUR;
    compact(ctx);
    expect(Object.keys(patchPage.jobs)).toHaveLength(1);
    expect(patchPage.k).toBe(3);
    expect(recorded()).toBe(actual());
  });
});
