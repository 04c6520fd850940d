import { DynamoDbStateStore } from '../../lambda/adapters/dynamodb-state-store';
import { PipelineError } from '../../lambda/pipeline/errors';
import type { PartitionDocument } from '../../lambda/pipeline/ports';
import { type DynamoStandIn, startDynamo } from '../support/stand-ins';
import { createStateTable } from './helpers';

const TABLE = 'state-store-test';

function doc(clock: number, extra: Partial<PartitionDocument> = {}): PartitionDocument {
  return { clock, processed: { a: clock }, outbox: [], ...extra };
}

describe('DynamoDbStateStore (dynalite)', () => {
  let dynamo: DynamoStandIn;
  let store: DynamoDbStateStore;
  beforeAll(async () => {
    dynamo = await startDynamo();
    await createStateTable(dynamo.client, TABLE);
    store = new DynamoDbStateStore(dynamo.client, { tableName: TABLE, now: () => 1_700_000_000_000 });
  });
  afterAll(() => dynamo.stop());

  test('reads an absent partition as version 0 with an empty document', async () => {
    const stored = await store.get('111111111111|eu-west-1');
    expect(stored).toEqual({
      key: '111111111111|eu-west-1',
      version: 0,
      storedBytes: 0,
      document: { clock: 0, processed: {}, outbox: [] },
    });
  });

  test('writes a new partition, then reads back the same document at version 1', async () => {
    const put = await store.put('111111111111|us-east-1', doc(5), 0);
    expect(put).toEqual({ ok: true, version: 1, storedBytes: expect.any(Number) });
    const stored = await store.get('111111111111|us-east-1');
    expect(stored.version).toBe(1);
    expect(stored.document).toEqual(doc(5));
  });

  test('refuses a write at a stale version and keeps the stored document', async () => {
    await store.put('222222222222|us-east-1', doc(1), 0);
    expect(await store.put('222222222222|us-east-1', doc(2), 1)).toMatchObject({ ok: true, version: 2 });
    expect(await store.put('222222222222|us-east-1', doc(3), 1)).toEqual({ ok: false });
    expect(await store.put('222222222222|us-east-1', doc(3), 0)).toEqual({ ok: false });
    const stored = await store.get('222222222222|us-east-1');
    expect({ version: stored.version, clock: stored.document.clock }).toEqual({ version: 2, clock: 2 });
  });

  test('stores the document gzip-compressed, with TTL and readable account and Region attributes', async () => {
    const { GetItemCommand } = await import('@aws-sdk/client-dynamodb');
    const out = await dynamo.client.send(
      new GetItemCommand({ TableName: TABLE, Key: { pk: { S: '111111111111|us-east-1' } } }),
    );
    const item = out.Item ?? {};
    expect(
      Buffer.from(item.state?.B ?? new Uint8Array())
        .subarray(0, 2)
        .toString('hex'),
    ).toBe('1f8b');
    expect(item.account?.S).toBe('111111111111');
    expect(item.region?.S).toBe('us-east-1');
    expect(Number(item.expiresAt?.N)).toBe(1_700_000_000 + 90 * 86_400);
    expect(Number(item.bytes?.N)).toBe(item.state?.B?.length);
  });

  test('fails with state-too-large, naming the partition, before DynamoDB would reject the item', async () => {
    const small = new DynamoDbStateStore(dynamo.client, { tableName: TABLE, maxStateBytes: 64 });
    // Random-looking ids do not compress: the document is well over 64 bytes gzipped.
    const processed = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`${i}-${(i * 7919).toString(36)}`, i]));
    const error = await small.put('333333333333|us-east-1', doc(1, { processed }), 0).catch((e) => e);
    expect(error).toBeInstanceOf(PipelineError);
    expect(error).toMatchObject({ kind: 'state-too-large' });
    expect((error as Error).message).toMatch(/333333333333\|us-east-1 is \d+ bytes, over the 64-byte limit/);
    expect((await store.get('333333333333|us-east-1')).version).toBe(0);
  });

  test('lists every stored partition', async () => {
    const keys: string[] = [];
    for await (const p of store.list()) keys.push(p.key);
    expect(keys.sort()).toEqual(['111111111111|us-east-1', '222222222222|us-east-1']);
  });
});
