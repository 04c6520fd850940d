/**
 * End to end: a multi-day scenario (bench/scenarios, built from the real grycap day with varied days,
 * periodic jobs and labelled injections) replayed through the ingest handler (SQS batches, s3rver, dynalite,
 * EventBridge captured) and the evaluator gives the same insights as `trailsight detect` on the same files.
 *
 * Single account + Region: the CLI's engine then advances exactly as the partition's engine does (the CLI
 * holds one clock for all partitions; the pipeline one per partition, see docs/pipeline.md), so the
 * insights must match field for field, in order.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { SQSBatchResponse } from 'aws-lambda';
import { generateScenario, loadBackground, type Scenario } from '../../bench/scenarios/generate';
import { command as detectCommand } from '../../cli/commands/detect';
import { listLocalFiles } from '../../lambda/adapters/local-files';
import { buildPorts } from '../../lambda/handlers/environment';
import { createEvaluateHandler } from '../../lambda/handlers/evaluate';
import { createIngestHandler } from '../../lambda/handlers/ingest';
import { type DynamoStandIn, type S3StandIn, startDynamo, startS3 } from '../support/stand-ins';
import {
  acceptedDetails,
  BUCKET,
  captureEventBridge,
  createStateTable,
  GRYCAP_DAY,
  lambdaContext,
  objectCreatedRecord,
  settings,
  sqsEvent,
  upload,
} from './helpers';

const DAY = 86_400_000;
/** A day of learning instead of two: a shorter scenario, the same comparison. */
const DETECTOR = { learningHours: 24 };

describe('replay of a multi-day scenario: pipeline = trailsight detect', () => {
  let s3: S3StandIn;
  let dynamo: DynamoStandIn;
  let eventBridge: ReturnType<typeof captureEventBridge>;
  let dir: string;
  let scenario: Scenario;
  let until: string;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'trailsight-replay-'));
    scenario = generateScenario(
      loadBackground(GRYCAP_DAY),
      { seed: 3, accounts: 1, days: 3, warmupDays: 2, startDay: Date.UTC(2026, 2, 2), region: 'us-east-1' },
      dir,
    );
    until = new Date(Date.UTC(2026, 2, 2) + 3 * DAY + 6 * 3_600_000).toISOString();
    [s3, dynamo] = await Promise.all([startS3([BUCKET]), startDynamo()]);
    eventBridge = captureEventBridge();
  }, 120_000);

  afterAll(async () => {
    eventBridge.mock.restore();
    await Promise.all([s3.stop(), dynamo.stop()]);
    rmSync(dir, { recursive: true, force: true });
    rmSync(`${dir}.detector.json`, { force: true });
  });

  test('emits the same insights, in the same order, as the CLI', async () => {
    // The CLI on the files, with --until the evaluator's last run.
    // Next to the scenario folder, not in it: the CLI reads every file under the folder it is given.
    const configFile = `${dir}.detector.json`;
    writeFileSync(configFile, JSON.stringify(DETECTOR));
    const out: string[] = [];
    const code = await detectCommand.run([dir, '--format', 'jsonl', '--until', until, '--config', configFile], {
      stdout: (t) => out.push(t),
      stderr: () => undefined,
      stderrIsTty: false,
    });
    expect(code).toBe(0);
    const cli = out
      .join('')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    expect(cli.length).toBeGreaterThan(0);

    // The pipeline: every file uploaded under its key and notified in delivery order, ten per SQS batch.
    await createStateTable(dynamo.client, 'replay');
    const ports = buildPorts(settings('replay', DETECTOR), {
      s3: s3.client,
      dynamodb: dynamo.client,
      eventBridge: eventBridge.client,
    });
    const ingest = createIngestHandler(() => ports);
    const evaluate = createEvaluateHandler(() => ports);
    const files = (await listLocalFiles([dir]))
      .filter((f) => f.info.kind === 'log')
      .sort((a, b) => (a.info.deliveredAt ?? 0) - (b.info.deliveredAt ?? 0) || (a.key < b.key ? -1 : 1));
    expect(files.length).toBe(scenario.files);
    eventBridge.calls.length = 0;
    for (let i = 0; i < files.length; i += 10) {
      const batch = await Promise.all(
        files
          .slice(i, i + 10)
          .map((f) => upload(s3.client, path.relative(dir, f.path).split(path.sep).join('/'), readFileSync(f.path))),
      );
      const r = (await ingest(sqsEvent(batch.map((u) => objectCreatedRecord(u))), lambdaContext)) as SQSBatchResponse;
      expect(r.batchItemFailures).toEqual([]);
    }
    const evaluation = await evaluate({ time: until.replace(/\.\d{3}Z$/, 'Z') }, lambdaContext);
    expect(evaluation.failures).toEqual([]);

    const pipeline = acceptedDetails(eventBridge.calls);
    expect(pipeline).toEqual(cli);
    // The scenario's labelled injections are what both found (not an empty agreement).
    expect(new Set(cli.map((i: { trailsight: { detector: string } }) => i.trailsight.detector)).size).toBeGreaterThan(
      1,
    );
  }, 180_000);
});
