/**
 * Stale evaluations on DynamoDB (dynalite): an evaluation of an earlier scheduled time, received after a
 * later one ran, must change nothing and fail nothing.
 */
import { readFileSync } from 'node:fs';
import { classifyKey } from '../../lambda/core/keys';
import { createStateTables, type HarnessFile, PipelineHarness } from '../support/pipeline-harness';
import { type DynamoStandIn, startDynamo } from '../support/stand-ins';
import { BUCKET, grycapDayFiles, logKey } from './helpers';

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
    const before = await h.state.getHead(`${classifyKey(day[0].key).account}|us-east-1`);
    await h.evaluateAt(last - 30 * 60_000);
    expect(h.failures).toEqual([]);
    expect(await h.state.getHead(`${classifyKey(day[0].key).account}|us-east-1`)).toEqual(before);
  });
});
