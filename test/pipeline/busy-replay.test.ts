/**
 * One truth for a busy partition: 1,000 principals × 30 APIs each (bench/scenarios/busy.ts: real record
 * shapes, 100 events per 5-minute file) over a day, through the deployed handlers (the pipeline harness,
 * on the in-memory store held to the DynamoDB store's contract by dynamodb-state-store.test.ts) and through
 * `trailsight detect`: the same insights field for field, and the same state (head and every page).
 *
 * The busy generator's traffic is uniform (every principal calls its own APIs at random times), so on its
 * own it gives no rate insight (at most a delivery gap after the last file): in the evening one principal
 * makes a burst of denied IAM writes, which must come out of both, the same. (A day, not two: the test
 * stays within its time budget; `npm run soak` replays busy partitions of up to 5,000 principals for 30
 * days against the CLI.)
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { type BusyFile, busyBackground, busyDay } from '../../bench/scenarios/busy';
import type { RawRecord } from '../../bench/scenarios/generate';
import { encodeJson } from '../../lambda/adapters/dynamodb-state-store';
import { pageIds } from '../../lambda/core/detect';
import { PipelineHarness } from '../support/pipeline-harness';
import { detectReference, ITEM_LIMIT_BYTES, insightProblems, stateProblems } from '../support/soak';
import { BUCKET, GRYCAP_DAY } from './helpers';

const HOUR = 3_600_000;
const START = Date.UTC(2026, 2, 2);
/** Learned over the first half of the day (the default 48 hours would leave the day without a Start). */
const DETECTOR = { learningHours: 12, tickMinutes: 5 };
const DENIED_IAM_WRITES = [
  'AttachRolePolicy',
  'PutRolePolicy',
  'CreateAccessKey',
  'CreateUser',
  'UpdateAssumeRolePolicy',
];

const records = (file: BusyFile) =>
  (JSON.parse(gunzipSync(file.body).toString('utf8')) as { Records: RawRecord[] }).Records;

/** The file with `calls` denied IAM writes added, by the principal of `template` (one of its calls). */
function withDeniedIamWrites(file: BusyFile, template: RawRecord, calls: number): BusyFile {
  const doc = { Records: records(file) };
  const identity = template.userIdentity as { arn: string };
  const start = file.deliveredAt - 5 * 60_000;
  for (let i = 0; i < calls; i++) {
    const eventName = DENIED_IAM_WRITES[i % DENIED_IAM_WRITES.length];
    doc.Records.push({
      ...template,
      eventTime: new Date(start + Math.floor((i * 5 * 60_000) / calls)).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      eventSource: 'iam.amazonaws.com',
      eventName,
      readOnly: false,
      eventID: `00000000-0000-4000-8000-${String(file.deliveredAt + i)
        .padStart(12, '0')
        .slice(-12)}`,
      errorCode: 'AccessDenied',
      errorMessage: `User: ${identity.arn} is not authorized to perform: iam:${eventName} on resource: role admin`,
      requestParameters: { roleName: 'admin' },
      responseElements: null,
    });
  }
  return { ...file, body: gzipSync(JSON.stringify(doc)), events: doc.Records.length };
}

describe('a busy partition through the pipeline equals trailsight detect', () => {
  test('1,000 principals × 30 APIs over a day, with a burst of denied IAM writes in the evening', async () => {
    const background = busyBackground(GRYCAP_DAY);
    const files = [...busyDay(background, { principals: 1000, seed: 5, start: START }, 0)];
    // 18:00-18:15: one principal's 60 denied IAM writes over three files.
    const burstFiles = files.filter((f) => f.deliveredAt > START + 18 * HOUR && f.deliveredAt <= START + 18.25 * HOUR);
    const template = records(burstFiles[0])[0];
    for (const f of burstFiles) files[files.indexOf(f)] = withDeniedIamWrites(f, template, 20);
    const role = (template.userIdentity as { sessionContext: { sessionIssuer: { arn: string } } }).sessionContext
      .sessionIssuer.arn;
    const dir = mkdtempSync(path.join(tmpdir(), 'trailsight-busy-'));
    try {
      for (const f of files) {
        mkdirSync(path.dirname(path.join(dir, f.key)), { recursive: true });
        writeFileSync(path.join(dir, f.key), f.body);
      }
      const until = files[files.length - 1].deliveredAt + 3 * HOUR;
      const expected = await detectReference(
        files.map((f) => path.join(dir, f.key)),
        DETECTOR,
        until,
        dir,
      );
      expect(expected.problems).toEqual([]);

      const h = new PipelineHarness({ bucket: BUCKET, detector: DETECTOR });
      await h.replay(files, until);
      expect(h.failures).toEqual([]);
      expect(h.ingestFailures).toEqual([]);
      expect(insightProblems(h.sink.published, expected.insights)).toEqual([]);
      expect((await stateProblems(h.state, expected.state)).problems).toEqual([]);

      // The burst is found, by both.
      // (unused-region also fires on both, the same: hundreds of roles whose APIs include RunInstances and
      // CreateAutoScalingGroup make a Region that provisions at a steady rate only hours after its first
      // provisioning, with 12 hours to learn; not what this test is about.)
      const starts = expected.insights.filter(
        (i) => i.insightDetails.state === 'Start' && i.trailsight.detector !== 'unused-region',
      );
      // (And the silence after the last file, three hours long by `until`.)
      expect(starts.map((i) => [i.trailsight.detector, i.trailsight.principal]).sort()).toEqual([
        ['access-denied', role],
        ['delivery-gap', undefined],
        ['iam-burst', role],
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);
});

describe('no size wall', () => {
  test('5,000 principals × 30 APIs for a day, on the default settings: no file fails, every item stays far below the limit', async () => {
    // The busy profile, one day of it (`npm run soak` runs 30 days on dynalite): every file recorded
    // and applied once, and the head and pages well within DynamoDB's item limit.
    const files = [...busyDay(busyBackground(GRYCAP_DAY), { principals: 5000, seed: 9, start: START }, 0)];
    const h = new PipelineHarness({ bucket: BUCKET });
    const last = files[files.length - 1];
    await h.replay(files, last.deliveredAt + HOUR);
    expect(h.failures).toEqual([]);
    expect(h.ingestFailures).toEqual([]);
    const key = '123456789012';
    const deltas = await h.state.queryDeltas(key, 0, Number.MAX_SAFE_INTEGER);
    expect(deltas).toHaveLength(files.length);
    const stored = (await h.state.getHead(key))!;
    const head = stored.head!;
    expect(head.cursor?.deliveredAt).toBe(last.deliveredAt);
    // Every file applied once (the delivery-lag histogram counts the files applied), every event recorded once.
    expect(head.lag.reduce((a, b) => a + b, 0)).toBe(files.length);
    expect(deltas.reduce((n, d) => n + d.events, 0)).toBe(files.reduce((n, f) => n + f.events, 0));
    const pages = await h.state.getPages(key, pageIds(head));
    const largest = Math.max(...[...pages.values()].map((p) => encodeJson(p).length));
    expect(pages.size).toBeGreaterThan(1);
    expect(stored.bytes).toBeLessThan(ITEM_LIMIT_BYTES / 4);
    expect(largest).toBeLessThan(ITEM_LIMIT_BYTES / 4);
  }, 300_000);
});
