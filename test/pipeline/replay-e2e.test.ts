/**
 * One truth: replaying the same files through the deployed pipeline (the ingest, coordinator and evaluator
 * handlers on s3rver + dynalite, driven by a simulated clock and the evaluator's schedule) and through
 * `trailsight detect` gives the same insights, with the same eventIDs and fields, and the pipeline gives
 * them whatever order the files were processed in, within the reorder window.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { generateScenario, loadBackground } from '../../bench/scenarios/generate';
import { command as detectCommand } from '../../cli/commands/detect';
import type { InsightEvent } from '../../lambda/core/detect';
import { classifyKey } from '../../lambda/core/keys';
import { createStateTables, type HarnessFile, PipelineHarness } from '../support/pipeline-harness';
import { type DynamoStandIn, startDynamo } from '../support/stand-ins';
import { BUCKET, GRYCAP_DAY, logKey, SHARED_DATA } from './helpers';

const DAY = 86_400_000;

async function cli(paths: string[], detector: Record<string, unknown>, until: number): Promise<InsightEvent[]> {
  const dir = mkdtempSync(path.join(tmpdir(), 'trailsight-cfg-'));
  const configFile = path.join(dir, 'detector.json');
  writeFileSync(configFile, JSON.stringify(detector));
  const out: string[] = [];
  const code = await detectCommand.run(
    [...paths, '--format', 'jsonl', '--until', new Date(until).toISOString(), '--config', configFile, '--no-rules'],
    { stdout: (t) => out.push(t), stderr: () => undefined, stderrIsTty: false },
  );
  rmSync(dir, { recursive: true, force: true });
  expect(code).toBe(0);
  return out
    .join('')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

const byId = (list: InsightEvent[]) => [...list].sort((a, b) => (a.eventID < b.eventID ? -1 : 1));

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)],
  );
}

describe('the pipeline equals trailsight detect', () => {
  let dynamo: DynamoStandIn;
  let tables = 0;
  // The objects stay in memory (the ingest's S3 reads are tested against s3rver elsewhere). The long replays
  // run the handlers on the in-memory store, which follows DynamoDB's conditions and limits
  // (dynamodb-state-store.test.ts holds both adapters to the same behaviour); one replay runs on dynalite.
  const harness = async (
    detector: Record<string, unknown>,
    options: { batchSize?: number; store?: 'dynalite' | 'memory' } = {},
  ) => {
    if (options.store === 'memory') return new PipelineHarness({ bucket: BUCKET, detector, ...options });
    const tablePrefix = `t${++tables}-`;
    await createStateTables(dynamo.client, tablePrefix);
    return new PipelineHarness({ dynamo: dynamo.client, bucket: BUCKET, detector, tablePrefix, ...options });
  };

  beforeAll(async () => {
    dynamo = await startDynamo();
  });
  afterAll(async () => {
    await dynamo.stop();
  });

  test('on the real grycap tree: 1,067 files, two partitions, 2014–2018, with the evaluator ticking', async () => {
    const root = path.join(SHARED_DATA, 'grycap-cloudtrail-tracker');
    const local = walk(root).filter((f) => f.endsWith('.json.gz'));
    const files: HarnessFile[] = local.map((f) => ({ key: logKey(f), body: readFileSync(f) }));
    const last = Math.max(...files.map((f) => classifyKey(f.key).deliveredAt ?? 0));
    const until = last + 6 * 3_600_000;
    const detector = {};
    const expected = await cli([root], detector, until);
    const h = await harness(detector, { store: 'memory' });
    await h.replay(files, until);
    expect(h.failures).toEqual([]);
    expect(byId(h.sink.published)).toEqual(byId(expected));
    expect(new Set(expected.map((i) => i.awsRegion))).toEqual(new Set(['us-east-1', 'sa-east-1']));
    expect(expected.length).toBeGreaterThan(10);
  }, 240_000);

  test('on dynalite: the DynamoDB adapter under the same handlers, over the first 300 files of the grycap tree', async () => {
    const root = path.join(SHARED_DATA, 'grycap-cloudtrail-tracker');
    const delivered = (f: string) => classifyKey(logKey(f)).deliveredAt ?? 0;
    const local = walk(root)
      .filter((f) => f.endsWith('.json.gz'))
      .sort((a, b) => delivered(a) - delivered(b))
      .slice(0, 300);
    const files: HarnessFile[] = local.map((f) => ({ key: logKey(f), body: readFileSync(f) }));
    const until = delivered(local[local.length - 1]) + 6 * 3_600_000;
    const detector = { learningHours: 24 };
    const expected = await cli(local, detector, until);
    const h = await harness(detector);
    await h.replay(files, until);
    expect(h.failures).toEqual([]);
    expect(byId(h.sink.published)).toEqual(byId(expected));
    expect(expected.length).toBeGreaterThan(0);
  }, 120_000);

  test('on a multi-day scenario, whatever order the files of each minute are processed in', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'trailsight-replay-'));
    try {
      generateScenario(
        loadBackground(GRYCAP_DAY),
        { seed: 3, accounts: 1, days: 3, warmupDays: 2, startDay: Date.UTC(2026, 2, 2), region: 'us-east-1' },
        dir,
      );
      const detector = { learningHours: 24, tickMinutes: 5 };
      const local = walk(dir).filter((f) => classifyKey(f).kind === 'log');
      const files = local.map((f) => ({ key: path.relative(dir, f).split(path.sep).join('/'), body: readFileSync(f) }));
      const until = Date.UTC(2026, 2, 2) + 3 * DAY + 6 * 3_600_000;
      const expected = await cli([dir], detector, until);
      expect(new Set(expected.map((i) => i.trailsight.detector)).size).toBeGreaterThan(1);

      const inOrder = await harness(detector, { batchSize: 10, store: 'memory' });
      await inOrder.replay(files, until);
      expect(inOrder.failures).toEqual([]);
      expect(byId(inOrder.sink.published)).toEqual(byId(expected));

      // Shuffled: every file arrives at a random point of the minute after its delivery, and files of the
      // same minute in random order, up to the reorder window late.
      let seed = 7;
      const random = () => {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        return seed / 2 ** 31;
      };
      const shuffled = await harness(detector, { batchSize: 3, store: 'memory' });
      await shuffled.replay(
        [...files].sort(() => random() - 0.5),
        until,
        (_f, d) => d + 5_000 + random() * 75_000,
      );
      expect(shuffled.failures).toEqual([]);
      expect(byId(shuffled.sink.published)).toEqual(byId(expected));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 240_000);
});
