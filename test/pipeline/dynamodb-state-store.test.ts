/**
 * The partition store's contract, held against both adapters: the DynamoDB store on dynalite and the
 * in-memory store the long replays and benches run on. Head items with optimistic versions, deltas written
 * once (and chunked when large), the late index, pages, and the evaluator's scan.
 */
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDbStateStore, MAX_CHUNK_BYTES } from '../../lambda/adapters/dynamodb-state-store';
import { MemoryStateStore } from '../../lambda/adapters/memory-state-store';
import {
  buildDelta,
  emptyPage,
  type FileDelta,
  newHead,
  resolveDetectConfig,
  settingsOf,
} from '../../lambda/core/detect';
import { ev } from '../detect/helpers';
import { createStateTables } from '../support/pipeline-harness';
import { type DynamoStandIn, startDynamo } from '../support/stand-ins';

const KEY = '111122223333';
const settings = settingsOf(resolveDetectConfig({}));
const T = Date.UTC(2026, 2, 2, 10);

function delta(deliveredAt: number, file: string, calls = 3): FileDelta {
  return buildDelta(
    { account: '111122223333', region: 'us-east-1', deliveredAt, file },
    Array.from({ length: calls }, (_, i) => ev(deliveredAt - 60_000 + i, 'DescribeInstances')),
    settings.binMs,
  );
}

let dynamo: DynamoStandIn;
let n = 0;
async function dynamoStore() {
  const prefix = `s${++n}-`;
  await createStateTables(dynamo.client, prefix);
  return {
    store: new DynamoDbStateStore(dynamo.client, { headsTableName: `${prefix}heads`, dataTableName: `${prefix}data` }),
    prefix,
  };
}
beforeAll(async () => {
  dynamo = await startDynamo();
});
afterAll(async () => dynamo.stop());

describe.each([
  ['DynamoDbStateStore (dynalite)', async () => (await dynamoStore()).store],
  ['MemoryStateStore', async () => new MemoryStateStore()],
])('%s', (_name, create) => {
  const store = async () => ({ store: await create() });

  test('creates a head item once, then writes it only at the version read', async () => {
    const { store: s } = await store();
    expect(await s.getHead(KEY)).toBeUndefined();
    await s.createHead(KEY, 'AWSLogs/111122223333/CloudTrail/us-east-1/');
    await s.createHead(KEY, 'ignored');
    const stub = await s.getHead(KEY);
    expect(stub).toMatchObject({ version: 1, prefix: 'AWSLogs/111122223333/CloudTrail/us-east-1/', idle: false });
    expect(stub?.head).toBeUndefined();
    const head = newHead(settings, '111122223333', T);
    const update = {
      head,
      outbox: [],
      lateHint: false,
      lateApplied: [],
      prefix: stub?.prefix,
      idle: false,
      dueAt: T + 60_000,
    };
    expect(await s.putHead(KEY, update, 1)).toMatchObject({ ok: true, version: 2 });
    expect(await s.putHead(KEY, update, 1)).toEqual({ ok: false });
    const read = await s.getHead(KEY);
    expect(read?.head).toEqual(head);
    expect(read?.dueAt).toBe(T + 60_000);
    // An infinite due time (nothing due) survives the number attribute.
    await s.putHead(KEY, { ...update, dueAt: Number.POSITIVE_INFINITY }, 2);
    expect((await s.getHead(KEY))?.dueAt).toBe(Number.POSITIVE_INFINITY);
  });

  test('wake bumps the version (an advance that read before it must retry) and sets the late hint', async () => {
    const { store: s } = await store();
    await s.createHead(KEY, 'p/');
    const head = newHead(settings, '111122223333', T);
    await s.putHead(KEY, { head, outbox: [], lateHint: false, lateApplied: [], idle: true, dueAt: 0 }, 1);
    await s.wake(KEY, true);
    const woken = await s.getHead(KEY);
    expect(woken).toMatchObject({ version: 3, idle: false, lateHint: true });
    expect(
      await s.putHead(KEY, { head, outbox: [], lateHint: false, lateApplied: [], idle: false, dueAt: 0 }, 2),
    ).toEqual({
      ok: false,
    });
  });

  test('stores a delta once: a second write of the same file reports it exists', async () => {
    const { store: s } = await store();
    const d = delta(T, 'a.json.gz');
    expect(await s.putDelta(KEY, d, 2e9)).toBe('stored');
    expect(await s.putDelta(KEY, d, 2e9)).toBe('exists');
    expect(await s.hasDelta(KEY, { deliveredAt: T, file: 'a.json.gz' })).toBe(true);
    expect(await s.hasDelta(KEY, { deliveredAt: T, file: 'b.json.gz' })).toBe(false);
    expect(await s.getDeltas(KEY, [{ deliveredAt: T, file: 'a.json.gz' }])).toEqual([d]);
  });

  test('returns deltas in canonical order (delivery time, then file) and finds the first after a cursor', async () => {
    const { store: s } = await store();
    for (const [t, f] of [
      [T + 60_000, 'b'],
      [T, 'z'],
      [T + 60_000, 'a'],
      [T + 120_000, 'c'],
    ] as const) {
      await s.putDelta(KEY, delta(t, f), 2e9);
    }
    const all = await s.queryDeltas(KEY, T, T + 120_000);
    expect(all.map((d) => d.file)).toEqual(['z', 'a', 'b', 'c']);
    expect((await s.queryDeltas(KEY, T + 60_000, T + 60_000)).map((d) => d.file)).toEqual(['a', 'b']);
    expect(await s.hasDeltaAfter(KEY, { deliveredAt: T + 60_000, file: 'b' }, T + 60_000)).toBe(false);
    expect(await s.hasDeltaAfter(KEY, { deliveredAt: T + 60_000, file: 'a' }, T + 60_000)).toBe(true);
    expect(await s.hasDeltaAfter(KEY, undefined, T)).toBe(true);
    expect(await s.hasDeltaAfter(KEY, { deliveredAt: T + 120_000, file: 'c' }, T + 600_000)).toBe(false);
  });

  test('keeps a late index: an entry is added once, marked applied, and never added again', async () => {
    const { store: s } = await store();
    const ref = { deliveredAt: T, file: 'late.json.gz' };
    expect(await s.addLate(KEY, ref, 2e9)).toBe(true);
    expect(await s.addLate(KEY, ref, 2e9)).toBe(false);
    expect(await s.queryLate(KEY)).toEqual([{ ...ref, applied: false }]);
    await s.markLateApplied(KEY, [ref]);
    expect(await s.queryLate(KEY)).toEqual([{ ...ref, applied: true }]);
    expect(await s.addLate(KEY, ref, 2e9)).toBe(false);
  });

  test('writes and reads pages; a page never written is absent', async () => {
    const { store: s } = await store();
    const page = { ...emptyPage(), k: 3, seen: { 'arn:aws:iam::1:role/x': T } };
    await s.putPages(KEY, new Map([['0-65536', page]]));
    const read = await s.getPages(KEY, ['0-65536', '0-32768']);
    expect([...read.keys()]).toEqual(['0-65536']);
    expect(read.get('0-65536')).toEqual(page);
  });

  test('scans heads by segment (each once across segments), with what the evaluator decides on', async () => {
    const { store: s } = await store();
    const keys = Array.from({ length: 12 }, (_, i) => `1111222233${String(i).padStart(2, '0')}`);
    for (const k of keys) await s.createHead(k, 'p/');
    const seen: string[] = [];
    for (let segment = 0; segment < 3; segment++) {
      for await (const h of s.scanHeads(segment, 3)) {
        seen.push(h.key);
        expect(h).toMatchObject({ idle: false, dueAt: 0, lateHint: false, outbox: false });
      }
    }
    expect(seen.sort()).toEqual(keys.sort());
    // DynamoDB's item count lags by hours (dynalite's too): evaluations record how many segments they needed.
    expect((await s.countHeads()).segmentsNeeded).toBe(0);
    await s.raiseSegmentsNeeded(4);
    await s.raiseSegmentsNeeded(2);
    expect((await s.countHeads()).segmentsNeeded).toBe(4);
    const after: string[] = [];
    for await (const h of s.scanHeads(0, 1)) after.push(h.key);
    expect(after).toHaveLength(12);
  });
});

describe('DynamoDbStateStore (dynalite) item limits', () => {
  test('splits a delta larger than an item into chunks, written before the conditional first item', async () => {
    const { store: s, prefix } = await dynamoStore();
    // Distinct principals make a delta too large to compress into one item.
    const events = Array.from({ length: 40_000 }, (_, i) =>
      ev(T - 60_000, `Describe${i % 300}`, { who: `role/r-${i}-${(i * 7919).toString(36)}` }),
    );
    const big = buildDelta(
      { account: '111122223333', region: 'us-east-1', deliveredAt: T, file: 'big' },
      events,
      settings.binMs,
    );
    expect(await s.putDelta(KEY, big, 2e9)).toBe('stored');
    const first = await dynamo.client.send(
      new GetItemCommand({
        TableName: `${prefix}data`,
        Key: { pk: { S: KEY }, sk: { S: `f#${String(T).padStart(13, '0')}#big` } },
      }),
    );
    expect(Number(first.Item?.n?.N)).toBeGreaterThan(1);
    expect((first.Item?.b?.B?.length ?? 0) <= MAX_CHUNK_BYTES).toBe(true);
    expect(await s.queryDeltas(KEY, T, T)).toEqual([big]);
    expect(await s.getDeltas(KEY, [{ deliveredAt: T, file: 'big' }])).toEqual([big]);
  });
});
