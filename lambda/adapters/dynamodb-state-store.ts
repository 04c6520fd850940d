/**
 * The detection state in DynamoDB: one item per account + Region (partition key `pk` = `<account>|<region>`).
 *
 * Item: `pk` (S), `v` (N, the version for optimistic concurrency), `state` (B, the gzip-compressed JSON
 * partition document: engine state, applied-object marker set, outbox), `bytes` (N, size of `state`),
 * `account`, `region` (S, for people reading the table), `updatedAt` (N, epoch s) and `expiresAt` (N, epoch s,
 * the table's TTL attribute: a partition that delivers nothing for `ttlDays` is forgotten).
 *
 * Writes are conditional puts on `v`, so two writers of one partition never lose an update: the loser gets
 * `{ ok: false }`, re-reads and re-applies. Different partitions never contend, and a busy account is spread
 * over its Regions' items.
 *
 * The 400 KB item limit: the compressed document must stay under {@link MAX_STATE_BYTES}; beyond it the put
 * fails with a `state-too-large` PipelineError naming the partition and its size (metric + DLQ), instead of
 * a DynamoDB ValidationException. docs/pipeline.md has the numbers and the plan should a partition get there.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import { PipelineError } from '../pipeline/errors';
import {
  emptyDocument,
  type PartitionDocument,
  type PartitionStore,
  type PutResult,
  type StoredPartition,
} from '../pipeline/ports';

/** Largest compressed state accepted: the 400 KB item limit less room for the other attributes. */
export const MAX_STATE_BYTES = 390 * 1024;

export interface DynamoDbStateStoreOptions {
  readonly tableName: string;
  /**
   * Days without a write after which the partition item expires (TTL).
   * @default 90
   */
  readonly ttlDays?: number;
  /** @default MAX_STATE_BYTES */
  readonly maxStateBytes?: number;
  /** Wall clock for `updatedAt`/`expiresAt` only (never for detection). @default Date.now */
  readonly now?: () => number;
}

export class DynamoDbStateStore implements PartitionStore {
  private readonly ttlSeconds: number;
  private readonly maxStateBytes: number;
  private readonly now: () => number;

  constructor(
    private readonly client: DynamoDBClient,
    private readonly options: DynamoDbStateStoreOptions,
  ) {
    this.ttlSeconds = (options.ttlDays ?? 90) * 86_400;
    this.maxStateBytes = options.maxStateBytes ?? MAX_STATE_BYTES;
    this.now = options.now ?? Date.now;
  }

  async get(key: string): Promise<StoredPartition> {
    const out = await this.client.send(
      new GetItemCommand({ TableName: this.options.tableName, Key: { pk: { S: key } }, ConsistentRead: true }),
    );
    if (!out.Item) return { key, document: emptyDocument(), version: 0, storedBytes: 0 };
    return decodeItem(out.Item);
  }

  async put(key: string, document: PartitionDocument, expectedVersion: number): Promise<PutResult> {
    const state = encodeDocument(document);
    if (state.length > this.maxStateBytes) {
      throw new PipelineError(
        'state-too-large',
        `the compressed state of ${key} is ${state.length} bytes, over the ${this.maxStateBytes}-byte limit of one DynamoDB item; see docs/pipeline.md ("State size")`,
      );
    }
    const version = expectedVersion + 1;
    const [account, region] = key.split('|');
    const nowSeconds = Math.floor(this.now() / 1000);
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.options.tableName,
          Item: {
            pk: { S: key },
            v: { N: String(version) },
            state: { B: state },
            bytes: { N: String(state.length) },
            account: { S: account ?? '' },
            region: { S: region ?? '' },
            updatedAt: { N: String(nowSeconds) },
            expiresAt: { N: String(nowSeconds + this.ttlSeconds) },
          },
          ConditionExpression: expectedVersion === 0 ? 'attribute_not_exists(pk)' : 'v = :v',
          ...(expectedVersion === 0 ? {} : { ExpressionAttributeValues: { ':v': { N: String(expectedVersion) } } }),
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return { ok: false };
      throw error;
    }
    return { ok: true, version, storedBytes: state.length };
  }

  async *list(): AsyncIterable<StoredPartition> {
    let start: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.client.send(
        new ScanCommand({ TableName: this.options.tableName, ConsistentRead: true, ExclusiveStartKey: start }),
      );
      for (const item of page.Items ?? []) yield decodeItem(item);
      start = page.LastEvaluatedKey;
    } while (start);
  }
}

/** gzip(JSON(document)): state JSON is repetitive (keys, ARNs) and compresses 5-10×. */
export function encodeDocument(document: PartitionDocument): Buffer {
  return gzipSync(JSON.stringify(document), { level: 6 });
}

export function decodeDocument(bytes: Uint8Array): PartitionDocument {
  const doc = JSON.parse(gunzipSync(bytes).toString('utf8')) as Partial<PartitionDocument>;
  if (typeof doc !== 'object' || doc === null || typeof doc.clock !== 'number') {
    throw new Error('the stored partition document has no clock');
  }
  return { clock: doc.clock, partition: doc.partition, processed: doc.processed ?? {}, outbox: doc.outbox ?? [] };
}

function decodeItem(item: Record<string, AttributeValue>): StoredPartition {
  const key = item.pk?.S;
  const state = item.state?.B;
  if (!key || !state) throw new Error(`state item ${key ?? '(no pk)'} has no state attribute`);
  return { key, document: decodeDocument(state), version: Number(item.v?.N ?? 0), storedBytes: state.length };
}
