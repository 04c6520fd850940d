/**
 * The detection state in DynamoDB, in two tables:
 *
 * - **heads** (partition key `pk` = `<account>`, `backfill|<account>` for history being replayed): one small
 *   item per partition (an account, all its Regions): `v` (N, the version
 *   for optimistic concurrency), `head` (B, gzip JSON of the engine head; absent until the first advance),
 *   `outbox` (B, gzip JSON of insights not yet confirmed published), `lateHint` (BOOL) and `lateApplied`
 *   (SS) for files that arrived out of order, `cursor` (S, the last file applied), `prefix` (S, the
 *   account's `…/CloudTrail/` key prefix in the archive), `idle` (BOOL), `dueAt` (N), and `account`,
 *   `bytes`, `updatedAt` for people reading the table. The evaluator scans this table.
 * - **data** (`pk`, sort key `sk`): `f#<delivery ms, 13 digits>#<file>` holds a file's delta (B, gzip JSON;
 *   a digest file's delta says only that it was delivered),
 *   written once by the ingest with a condition (the file's "applied" marker), `late` (BOOL) when a late
 *   receive wrote it, expiring (`expiresAt`, TTL) after the dedupe retention; a delta over {@link MAX_CHUNK_BYTES} compressed is split into chunk items
 *   `f#…#<file>#<i>`. `l#<delivery ms>#<file>` is the late index (`applied` BOOL, TTL as the deltas).
 *   `p#<lo>-<hi>` holds a page of the cold state (B, gzip JSON), written by compactions.
 *
 * Items stay far below the 400 KB limit by construction: pages split at `compaction.maxPageChars`, deltas are
 * chunked, heads hold only partition-level state.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import {
  type AttributeValue,
  BatchGetItemCommand,
  BatchWriteItemCommand,
  ConditionalCheckFailedException,
  DescribeTableCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  ScanCommand,
  UpdateItemCommand,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import {
  checkPage,
  type FileDelta,
  headFromJson,
  headToJson,
  type Page,
  parseDelta,
  serializeDelta,
} from '../core/detect';
import type {
  FileRef,
  HeadSummary,
  HeadUpdate,
  LateEntry,
  OutboxEntry,
  PartitionStore,
  PutResult,
  StoredHead,
} from '../pipeline/ports';

/** Compressed delta bytes per item (a 400 KB item limit, less the key and attributes). */
export const MAX_CHUNK_BYTES = 350 * 1024;
/** The heads table's bookkeeping item (not a partition: scans skip it). */
export const META_KEY = '~meta';
/** `dueAt` of a partition that nothing time-based can wake (stored as a number). */
const NEVER = 8.64e15;

export interface DynamoDbStateStoreOptions {
  readonly headsTableName: string;
  readonly dataTableName: string;
  /** Wall clock for `updatedAt` only (never for detection). @default Date.now */
  readonly now?: () => number;
  /** Pause before retrying unprocessed batch items, ms. @default 50 */
  readonly retryBaseMs?: number;
}

export function encodeJson(value: unknown): Buffer {
  return gzipSync(JSON.stringify(value), { level: 6 });
}

export function decodeJson(bytes: Uint8Array): unknown {
  return JSON.parse(gunzipSync(bytes).toString('utf8'));
}

/** {@link encodeJson} of a delta, through the engine's own serializer (which remembers its size: `deltaChars`). */
export function encodeDelta(delta: FileDelta): Buffer {
  return gzipSync(serializeDelta(delta), { level: 6 });
}

/** {@link decodeJson} of a delta, through the engine's own parser (which remembers its size: `deltaChars`). */
export function decodeDelta(bytes: Uint8Array): FileDelta {
  return parseDelta(gunzipSync(bytes).toString('utf8'));
}

const pad = (ms: number): string => String(Math.max(0, Math.floor(ms))).padStart(13, '0');

/** The sort key of a file's delta. */
export function deltaKey(deliveredAt: number, file: string): string {
  return `f#${pad(deliveredAt)}#${file}`;
}

export function refString(ref: FileRef): string {
  return `${pad(ref.deliveredAt)}#${ref.file}`;
}

export function parseRef(text: string): FileRef {
  const i = text.indexOf('#');
  return { deliveredAt: Number(text.slice(0, i)), file: text.slice(i + 1) };
}

export class DynamoDbStateStore implements PartitionStore {
  private readonly now: () => number;
  private readonly retryBaseMs: number;

  constructor(
    private readonly client: DynamoDBClient,
    private readonly options: DynamoDbStateStoreOptions,
  ) {
    this.now = options.now ?? Date.now;
    this.retryBaseMs = options.retryBaseMs ?? 50;
  }

  private get heads(): string {
    return this.options.headsTableName;
  }

  private get data(): string {
    return this.options.dataTableName;
  }

  async getHead(key: string): Promise<StoredHead | undefined> {
    const out = await this.client.send(
      new GetItemCommand({ TableName: this.heads, Key: { pk: { S: key } }, ConsistentRead: true }),
    );
    return out.Item ? decodeHeadItem(out.Item) : undefined;
  }

  async createHead(key: string, prefix: string): Promise<void> {
    const account = key.slice(key.lastIndexOf('|') + 1);
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.heads,
          Item: {
            pk: { S: key },
            v: { N: '1' },
            prefix: { S: prefix },
            idle: { BOOL: false },
            dueAt: { N: '0' },
            account: { S: account },
            updatedAt: { N: String(Math.floor(this.now() / 1000)) },
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  async putHead(key: string, update: HeadUpdate, expectedVersion: number): Promise<PutResult> {
    const head = gzipSync(headToJson(update.head), { level: 6 });
    const outbox = update.outbox.length > 0 ? encodeJson(update.outbox) : undefined;
    const version = expectedVersion + 1;
    const item: Record<string, AttributeValue> = {
      pk: { S: key },
      v: { N: String(version) },
      head: { B: head },
      ...(outbox ? { outbox: { B: outbox } } : {}),
      lateHint: { BOOL: update.lateHint },
      ...(update.lateApplied.length > 0 ? { lateApplied: { SS: update.lateApplied.map(refString) } } : {}),
      ...(update.head.cursor ? { cursor: { S: refString(update.head.cursor) } } : {}),
      ...(update.prefix ? { prefix: { S: update.prefix } } : {}),
      idle: { BOOL: update.idle },
      dueAt: { N: String(Number.isFinite(update.dueAt) ? Math.floor(update.dueAt) : NEVER) },
      account: { S: update.head.account },
      bytes: { N: String(head.length + (outbox?.length ?? 0)) },
      updatedAt: { N: String(Math.floor(this.now() / 1000)) },
    };
    return this.conditionalPut(item, expectedVersion, head.length + (outbox?.length ?? 0));
  }

  async putOutbox(key: string, outbox: OutboxEntry[], expectedVersion: number): Promise<PutResult> {
    const version = expectedVersion + 1;
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.heads,
          Key: { pk: { S: key } },
          UpdateExpression: outbox.length > 0 ? 'SET v = :next, outbox = :o' : 'SET v = :next REMOVE outbox',
          ConditionExpression: 'v = :v',
          ExpressionAttributeValues: {
            ':v': { N: String(expectedVersion) },
            ':next': { N: String(version) },
            ...(outbox.length > 0 ? { ':o': { B: encodeJson(outbox) } } : {}),
          },
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return { ok: false };
      throw error;
    }
    return { ok: true, version, bytes: 0 };
  }

  async wake(key: string, late: boolean): Promise<void> {
    await this.client.send(
      new UpdateItemCommand({
        TableName: this.heads,
        Key: { pk: { S: key } },
        UpdateExpression: late ? 'SET v = v + :one, idle = :f, lateHint = :t' : 'SET v = v + :one, idle = :f',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: {
          ':one': { N: '1' },
          ':f': { BOOL: false },
          ...(late ? { ':t': { BOOL: true } } : {}),
        },
      }),
    );
  }

  async putDelta(key: string, delta: FileDelta, expiresAtSeconds: number, late = false): Promise<'stored' | 'exists'> {
    const sk = deltaKey(delta.deliveredAt, delta.file);
    const bytes = encodeDelta(delta);
    const chunks: Buffer[] = [];
    for (let at = 0; at < bytes.length; at += MAX_CHUNK_BYTES) chunks.push(bytes.subarray(at, at + MAX_CHUNK_BYTES));
    if (chunks.length === 0) chunks.push(Buffer.alloc(0));
    const expiresAt = { N: String(Math.floor(expiresAtSeconds)) };
    // Chunks first, then the first item with its condition: the delta exists once the first item does,
    // and by then every chunk does.
    const rest: WriteRequest[] = chunks.slice(1).map((b, i) => ({
      PutRequest: { Item: { pk: { S: key }, sk: { S: `${sk}#${i + 1}` }, b: { B: b }, expiresAt } },
    }));
    await this.batchWrite(rest);
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.data,
          Item: {
            pk: { S: key },
            sk: { S: sk },
            b: { B: chunks[0] },
            n: { N: String(chunks.length) },
            expiresAt,
            ...(late ? { late: { BOOL: true } } : {}),
          },
          ConditionExpression: 'attribute_not_exists(sk)',
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return 'exists';
      throw error;
    }
    return 'stored';
  }

  async hasDeltaAfter(key: string, after: FileRef | undefined, to: number): Promise<boolean> {
    // A delta sort key sorts after its own chunks' keys' prefix: step past the cursor's own items.
    const from = after ? `${deltaKey(after.deliveredAt, after.file)}#\uffff` : 'f#';
    const upTo = `f#${pad(to)}#\uffff`;
    // An empty range (a cursor past `to`: an evaluation of an earlier time, received late) holds nothing;
    // DynamoDB rejects a BETWEEN whose bounds are reversed.
    if (from > upTo) return false;
    const out = await this.client.send(
      new QueryCommand({
        TableName: this.data,
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
        ExpressionAttributeValues: {
          ':pk': { S: key },
          ':from': { S: from },
          ':to': { S: upTo },
        },
        ProjectionExpression: 'sk',
        // A hint for the evaluator (a delta written a moment ago is found at the next tick): half the units.
        ConsistentRead: false,
        Limit: 1,
      }),
    );
    return (out.Items?.length ?? 0) > 0;
  }

  async hasDelta(key: string, ref: FileRef): Promise<boolean> {
    const out = await this.client.send(
      new GetItemCommand({
        TableName: this.data,
        Key: { pk: { S: key }, sk: { S: deltaKey(ref.deliveredAt, ref.file) } },
        ProjectionExpression: 'sk',
        ConsistentRead: true,
      }),
    );
    return out.Item !== undefined;
  }

  async recordedLate(key: string, ref: FileRef): Promise<boolean> {
    const out = await this.client.send(
      new GetItemCommand({
        TableName: this.data,
        Key: { pk: { S: key }, sk: { S: deltaKey(ref.deliveredAt, ref.file) } },
        ProjectionExpression: 'late',
        ConsistentRead: true,
      }),
    );
    return out.Item?.late?.BOOL === true;
  }

  async addLate(key: string, ref: FileRef, expiresAtSeconds: number): Promise<boolean> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.data,
          Item: {
            pk: { S: key },
            sk: { S: `l#${refString(ref)}` },
            applied: { BOOL: false },
            expiresAt: { N: String(Math.floor(expiresAtSeconds)) },
          },
          ConditionExpression: 'attribute_not_exists(sk)',
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
    return true;
  }

  async queryLate(key: string): Promise<LateEntry[]> {
    const out: LateEntry[] = [];
    let start: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.data,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :l)',
          ExpressionAttributeValues: { ':pk': { S: key }, ':l': { S: 'l#' } },
          ConsistentRead: true,
          ExclusiveStartKey: start,
        }),
      );
      for (const item of page.Items ?? []) {
        out.push({ ...parseRef(item.sk?.S?.slice(2) ?? ''), applied: item.applied?.BOOL === true });
      }
      start = page.LastEvaluatedKey;
    } while (start);
    return out;
  }

  async markLateApplied(key: string, refs: readonly FileRef[]): Promise<void> {
    for (const ref of refs) {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.data,
          Key: { pk: { S: key }, sk: { S: `l#${refString(ref)}` } },
          UpdateExpression: 'SET applied = :t',
          ExpressionAttributeValues: { ':t': { BOOL: true } },
        }),
      );
    }
  }

  async queryDeltas(key: string, from: number, to: number): Promise<FileDelta[]> {
    // An empty range holds nothing (DynamoDB rejects a BETWEEN whose bounds are reversed).
    if (pad(from) > pad(to)) return [];
    const items: Record<string, AttributeValue>[] = [];
    let start: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.data,
          KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
          ExpressionAttributeValues: {
            ':pk': { S: key },
            ':from': { S: `f#${pad(from)}` },
            ':to': { S: `f#${pad(to)}#\uffff` },
          },
          ConsistentRead: true,
          ExclusiveStartKey: start,
        }),
      );
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start);
    return assembleDeltas(items);
  }

  async getDeltas(key: string, refs: readonly FileRef[]): Promise<FileDelta[]> {
    const firsts = await this.batchGet(
      refs.map((r) => deltaKey(r.deliveredAt, r.file)),
      key,
    );
    const chunkKeys: string[] = [];
    for (const item of firsts) {
      const n = Number(item.n?.N ?? 1);
      for (let i = 1; i < n; i++) chunkKeys.push(`${item.sk?.S}#${i}`);
    }
    const chunks = chunkKeys.length > 0 ? await this.batchGet(chunkKeys, key) : [];
    return assembleDeltas([...firsts, ...chunks]);
  }

  async getPages(key: string, ids: readonly string[]): Promise<Map<string, Page>> {
    const items = await this.batchGet(
      ids.map((id) => `p#${id}`),
      key,
    );
    const out = new Map<string, Page>();
    for (const item of items) {
      const id = item.sk?.S?.slice(2) ?? '';
      out.set(id, checkPage(decodeJson(item.b?.B ?? new Uint8Array()), `page ${id} of ${key}`));
    }
    return out;
  }

  async putPages(key: string, pages: ReadonlyMap<string, Page>): Promise<void> {
    await this.batchWrite(
      [...pages].map(([id, page]) => ({
        PutRequest: { Item: { pk: { S: key }, sk: { S: `p#${id}` }, b: { B: encodeJson(page) } } },
      })),
    );
  }

  async *scanHeads(segment: number, total: number): AsyncIterable<HeadSummary> {
    let start: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.client.send(
        new ScanCommand({
          TableName: this.heads,
          Segment: segment,
          TotalSegments: total,
          ProjectionExpression: 'pk, idle, dueAt, #c, lateHint, outbox',
          ExpressionAttributeNames: { '#c': 'cursor' },
          ExclusiveStartKey: start,
        }),
      );
      for (const item of page.Items ?? []) {
        const key = item.pk?.S;
        if (!key || key === META_KEY) continue;
        const due = Number(item.dueAt?.N ?? 0);
        yield {
          key,
          idle: item.idle?.BOOL === true,
          dueAt: due >= NEVER ? Number.POSITIVE_INFINITY : due,
          ...(item.cursor?.S ? { cursor: parseRef(item.cursor.S) } : {}),
          lateHint: item.lateHint?.BOOL === true,
          outbox: item.outbox?.B !== undefined,
        };
      }
      start = page.LastEvaluatedKey;
    } while (start);
  }

  async countHeads(): Promise<{ items: number; segmentsNeeded: number }> {
    const [table, meta] = await Promise.all([
      this.client.send(new DescribeTableCommand({ TableName: this.heads })),
      this.client.send(new GetItemCommand({ TableName: this.heads, Key: { pk: { S: META_KEY } } })),
    ]);
    return { items: table.Table?.ItemCount ?? 0, segmentsNeeded: Number(meta.Item?.neededSegments?.N ?? 0) };
  }

  async raiseSegmentsNeeded(segments: number): Promise<void> {
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.heads,
          Key: { pk: { S: META_KEY } },
          UpdateExpression: 'SET neededSegments = :n',
          ConditionExpression: 'attribute_not_exists(neededSegments) OR neededSegments < :n',
          ExpressionAttributeValues: { ':n': { N: String(segments) } },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  private async conditionalPut(
    item: Record<string, AttributeValue>,
    expectedVersion: number,
    bytes: number,
  ): Promise<PutResult> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.heads,
          Item: item,
          ConditionExpression: expectedVersion === 0 ? 'attribute_not_exists(pk)' : 'v = :v',
          ...(expectedVersion === 0 ? {} : { ExpressionAttributeValues: { ':v': { N: String(expectedVersion) } } }),
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return { ok: false };
      throw error;
    }
    return { ok: true, version: expectedVersion + 1, bytes };
  }

  private async batchGet(sks: readonly string[], key: string): Promise<Record<string, AttributeValue>[]> {
    const out: Record<string, AttributeValue>[] = [];
    for (let i = 0; i < sks.length; i += 100) {
      let keys: Record<string, AttributeValue>[] = sks
        .slice(i, i + 100)
        .map((sk) => ({ pk: { S: key }, sk: { S: sk } }));
      for (let attempt = 0; keys.length > 0; attempt++) {
        if (attempt > 0) await sleep(this.retryBaseMs * 2 ** Math.min(attempt, 6) * Math.random());
        const res = await this.client.send(
          new BatchGetItemCommand({ RequestItems: { [this.data]: { Keys: keys, ConsistentRead: true } } }),
        );
        out.push(...(res.Responses?.[this.data] ?? []));
        keys = res.UnprocessedKeys?.[this.data]?.Keys ?? [];
        if (attempt > 10 && keys.length > 0) throw new Error(`BatchGetItem left ${keys.length} keys unprocessed`);
      }
    }
    return out;
  }

  private async batchWrite(requests: readonly WriteRequest[]): Promise<void> {
    for (let i = 0; i < requests.length; i += 25) {
      let batch = requests.slice(i, i + 25);
      for (let attempt = 0; batch.length > 0; attempt++) {
        if (attempt > 0) await sleep(this.retryBaseMs * 2 ** Math.min(attempt, 6) * Math.random());
        const res = await this.client.send(new BatchWriteItemCommand({ RequestItems: { [this.data]: batch } }));
        batch = res.UnprocessedItems?.[this.data] ?? [];
        if (attempt > 10 && batch.length > 0) throw new Error(`BatchWriteItem left ${batch.length} items unprocessed`);
      }
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function decodeHeadItem(item: Record<string, AttributeValue>): StoredHead {
  const key = item.pk?.S ?? '';
  const head = item.head?.B ? headFromJson(gunzipSync(item.head.B).toString('utf8'), `head of ${key}`) : undefined;
  const outbox = item.outbox?.B ? (decodeJson(item.outbox.B) as OutboxEntry[]) : [];
  const due = Number(item.dueAt?.N ?? 0);
  return {
    key,
    version: Number(item.v?.N ?? 0),
    ...(head ? { head } : {}),
    outbox,
    lateHint: item.lateHint?.BOOL === true,
    lateApplied: (item.lateApplied?.SS ?? []).map(parseRef),
    ...(item.prefix?.S ? { prefix: item.prefix.S } : {}),
    idle: item.idle?.BOOL === true,
    dueAt: due >= NEVER ? Number.POSITIVE_INFINITY : due,
    bytes: Number(item.bytes?.N ?? 0),
  };
}

/** Deltas from their items (first items and chunks, any order), in canonical order. */
function assembleDeltas(items: readonly Record<string, AttributeValue>[]): FileDelta[] {
  const firsts = new Map<string, { n: number; parts: Uint8Array[] }>();
  for (const item of items) {
    const sk = item.sk?.S;
    if (!sk || item.n === undefined) continue;
    firsts.set(sk, { n: Number(item.n.N), parts: [item.b?.B ?? new Uint8Array()] });
  }
  for (const item of items) {
    const sk = item.sk?.S;
    if (!sk || item.n !== undefined) continue;
    const cut = sk.lastIndexOf('#');
    const first = firsts.get(sk.slice(0, cut));
    if (first) first.parts[Number(sk.slice(cut + 1))] = item.b?.B ?? new Uint8Array();
  }
  const out: FileDelta[] = [];
  for (const [sk, { n, parts }] of [...firsts].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    if (parts.filter(Boolean).length !== n) throw new Error(`delta ${sk} is missing chunks`);
    out.push(decodeDelta(Buffer.concat(parts)));
  }
  return out;
}
