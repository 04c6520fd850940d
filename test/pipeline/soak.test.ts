/**
 * The fault soak (test/support/soak.ts): two days of a generated account (us-east-1) plus twelve hours of a
 * busy Region of it (eu-west-1, 200 principals × 30 APIs), with hourly digest files, through the deployed
 * handlers on s3rver + dynalite, with faults injected at random points from a seed (and files notified
 * twice, out of order, concurrently; evaluations received twice, concurrently, late); the pipeline must end
 * exactly where `trailsight detect` ends on the same files (insights, and the state of every partition),
 * with every file applied once or dead-lettered with its reason. `npm run soak` runs longer ones (more seeds,
 * days and accounts). About 30 s of CPU.
 *
 * Reproduce a failing run with the seed its title names: `SOAK_SEED=<seed> npx jest test/pipeline/soak.test.ts`
 * (the faults hit the same calls; the interleaving of concurrent invocations may differ).
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { classifyKey } from '../../lambda/core/keys';
import { createStateTables, type HarnessFile, PipelineHarness } from '../support/pipeline-harness';
import { runSoak, SOAK_RATES } from '../support/soak';
import { type DynamoStandIn, type S3StandIn, startDynamo, startS3 } from '../support/stand-ins';
import { BUCKET, grycapDayFiles, logKey } from './helpers';

const SEED = Number(process.env.SOAK_SEED ?? 20260302);

describe('fault soak (s3rver + dynalite)', () => {
  let s3: S3StandIn;
  let dynamo: DynamoStandIn;
  beforeAll(async () => {
    [s3, dynamo] = await Promise.all([startS3([BUCKET]), startDynamo()]);
  });
  afterAll(async () => Promise.all([s3.stop(), dynamo.stop()]));

  test(`two days of an account with a busy Region, under faults end where trailsight detect does (seed ${SEED})`, async () => {
    const report = await runSoak({
      seed: SEED,
      accounts: 1,
      days: 2,
      busy: { principals: 200, days: 0.5 },
      rates: SOAK_RATES,
      duplicates: 0.1,
      evaluatorDuplicates: 0.3,
      staleEvaluations: 0.1,
      detector: { learningHours: 24, tickMinutes: 15, reorderMinutes: 10 },
      s3: s3.client,
      dynamo: dynamo.client,
      dir: mkdtempSync(path.join(tmpdir(), 'trailsight-soak-')),
    });
    expect(report.problems).toEqual([]);
    // The run did what it claims: faults of every kind, duplicates, concurrency, a file dead-lettered.
    expect(report.partitions).toBe(1);
    expect(report.regions).toBe(2);
    expect(report.digests).toBeGreaterThan(40);
    expect(report.insights).toBeGreaterThan(5);
    expect(report.duplicates).toBeGreaterThan(10);
    expect(report.reordered).toBeGreaterThan(10);
    expect(report.evaluatorDuplicates).toBeGreaterThan(5);
    expect(report.staleEvaluations).toBeGreaterThan(2);
    expect(report.conflicts).toBeGreaterThan(0);
    expect(report.deadLettered).toHaveLength(1);
    expect(report.deadLettered[0].reason).toMatch(/corrupt-file: .*truncated/);
  }, 900_000);
});

describe('stale evaluations (s3rver + dynalite)', () => {
  let dynamo: DynamoStandIn;
  beforeAll(async () => {
    dynamo = await startDynamo();
    await createStateTables(dynamo.client);
  });
  afterAll(async () => dynamo.stop());

  test('an evaluation of an earlier time, received after a later one ran, changes nothing and fails nothing', async () => {
    // SQS delivers at least once: an evaluator invocation that outlived its visibility timeout has its
    // message received again, after the next evaluations moved every cursor past the message's time.
    const day: HarnessFile[] = grycapDayFiles()
      .slice(0, 30)
      .map((f) => ({ key: logKey(f), body: readFileSync(f) }));
    const h = new PipelineHarness({ bucket: BUCKET, dynamo: dynamo.client, detector: { learningHours: 0 } });
    const last = classifyKey(day[29].key).deliveredAt ?? 0;
    await h.replay(day, last + 10 * 60_000);
    const before = await h.state.getHead(classifyKey(day[0].key).account ?? '');
    await h.evaluateAt(last - 30 * 60_000);
    expect(h.failures).toEqual([]);
    expect(await h.state.getHead(classifyKey(day[0].key).account ?? '')).toEqual(before);
  });
});
