/**
 * The detection state in memory, encoded exactly as the DynamoDB store encodes it (gzip JSON), with the
 * request units DynamoDB on-demand would charge counted per item: the benchmarks price the pipeline with it,
 * and orchestration tests use it when they test logic rather than the DynamoDB adapter.
 *
 * Units: a write costs ⌈item KB⌉ write units (the larger of the old and the new item); a strongly consistent
 * read ⌈bytes / 4 KB⌉ read units, summed over the items a Query or batch returns (at least one); a scan is
 * eventually consistent (half) and sums its items' sizes over a page of up to 1 MB, so each head is charged
 * its share, bytes / 4 KB (a segment holds hundreds of partitions). Failed conditional writes are charged
 * like successful ones.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { checkPage, type FileDelta, headFromJson, headToJson, type Page } from '../core/detect';
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
import {
  decodeDelta,
  decodeJson,
  deltaKey,
  encodeDelta,
  encodeJson,
  parseRef,
  refString,
} from './dynamodb-state-store';

interface HeadItem {
  v: number;
  head?: Buffer;
  outbox?: Buffer;
  lateHint: boolean;
  lateApplied: string[];
  prefix?: string;
  idle: boolean;
  dueAt: number;
  cursor?: string;
}

/** Request units and bytes, as DynamoDB would charge them. */
export interface UnitCounts {
  writeUnits: number;
  readUnits: number;
  bytesWritten: number;
  bytesRead: number;
}

export type UnitKind = 'head' | 'outbox' | 'delta' | 'late' | 'pages' | 'scan';
const noUnits = (): UnitCounts => ({ writeUnits: 0, readUnits: 0, bytesWritten: 0, bytesRead: 0 });

const KB = 1024;
const writeUnits = (bytes: number) => Math.max(1, Math.ceil(bytes / KB));
const readUnits = (bytes: number) => Math.max(1, Math.ceil(bytes / (4 * KB)));
/** Keys and attribute names an item carries besides its blobs (DynamoDB counts them in the item size). */
const ITEM_OVERHEAD = 100;

function headSize(item: HeadItem | undefined): number {
  if (!item) return 0;
  return (
    ITEM_OVERHEAD +
    (item.head?.length ?? 0) +
    (item.outbox?.length ?? 0) +
    item.lateApplied.join('').length +
    (item.cursor?.length ?? 0) +
    (item.prefix?.length ?? 0)
  );
}

export class MemoryStateStore implements PartitionStore {
  private readonly heads = new Map<string, HeadItem>();
  private readonly data = new Map<string, Map<string, Buffer | { applied: boolean }>>();
  /** `<key>|<sk>` of the deltas stored by a late receive. */
  private readonly storedLate = new Set<string>();
  readonly units: UnitCounts = noUnits();
  /** The same units by what was read or written (where a partition's cost goes). */
  readonly unitsByKind: Record<UnitKind, UnitCounts> = {
    head: noUnits(),
    outbox: noUnits(),
    delta: noUnits(),
    late: noUnits(),
    pages: noUnits(),
    scan: noUnits(),
  };

  private write(kind: UnitKind, before: number, after: number): void {
    for (const u of [this.units, this.unitsByKind[kind]]) {
      u.writeUnits += writeUnits(Math.max(before, after));
      u.bytesWritten += after;
    }
  }

  private read(kind: UnitKind, bytes: number, consistent = true): void {
    this.charge(kind, readUnits(bytes) / (consistent ? 1 : 2), bytes);
  }

  private charge(kind: UnitKind, units: number, bytes: number): void {
    for (const u of [this.units, this.unitsByKind[kind]]) {
      u.readUnits += units;
      u.bytesRead += bytes;
    }
  }

  private table(key: string): Map<string, Buffer | { applied: boolean }> {
    let t = this.data.get(key);
    if (!t) {
      t = new Map();
      this.data.set(key, t);
    }
    return t;
  }

  async getHead(key: string): Promise<StoredHead | undefined> {
    const item = this.heads.get(key);
    this.read('head', headSize(item));
    if (!item) return undefined;
    return {
      key,
      version: item.v,
      ...(item.head ? { head: headFromJson(gunzipSync(item.head).toString('utf8'), `head of ${key}`) } : {}),
      outbox: item.outbox ? (decodeJson(item.outbox) as OutboxEntry[]) : [],
      lateHint: item.lateHint,
      lateApplied: item.lateApplied.map(parseRef),
      ...(item.prefix ? { prefix: item.prefix } : {}),
      idle: item.idle,
      dueAt: item.dueAt,
      bytes: headSize(item),
    };
  }

  async createHead(key: string, prefix: string): Promise<void> {
    const before = this.heads.get(key);
    if (before) {
      this.write('head', headSize(before), 0);
      return;
    }
    const item: HeadItem = { v: 1, lateHint: false, lateApplied: [], prefix, idle: false, dueAt: 0 };
    this.write('head', 0, headSize(item));
    this.heads.set(key, item);
  }

  async putHead(key: string, update: HeadUpdate, expectedVersion: number): Promise<PutResult> {
    const before = this.heads.get(key);
    const head = gzipSync(headToJson(update.head), { level: 6 });
    const outbox = update.outbox.length > 0 ? encodeJson(update.outbox) : undefined;
    const item: HeadItem = {
      v: expectedVersion + 1,
      head,
      ...(outbox ? { outbox } : {}),
      lateHint: update.lateHint,
      lateApplied: update.lateApplied.map(refString),
      ...(update.prefix ? { prefix: update.prefix } : {}),
      idle: update.idle,
      dueAt: update.dueAt,
      ...(update.head.cursor ? { cursor: refString(update.head.cursor) } : {}),
    };
    this.write('head', headSize(before), headSize(item));
    if ((before?.v ?? 0) !== expectedVersion) return { ok: false };
    this.heads.set(key, item);
    return { ok: true, version: item.v, bytes: head.length + (outbox?.length ?? 0) };
  }

  async putOutbox(key: string, outbox: OutboxEntry[], expectedVersion: number): Promise<PutResult> {
    const before = this.heads.get(key);
    if (!before || before.v !== expectedVersion) {
      this.write('outbox', headSize(before), 0);
      return { ok: false };
    }
    const item: HeadItem = { ...before, v: before.v + 1 };
    if (outbox.length > 0) item.outbox = encodeJson(outbox);
    else delete item.outbox;
    this.write('outbox', headSize(before), headSize(item));
    this.heads.set(key, item);
    return { ok: true, version: item.v, bytes: 0 };
  }

  async wake(key: string, late: boolean): Promise<void> {
    const item = this.heads.get(key);
    if (!item) throw new Error(`wake: no head item for ${key}`);
    const next: HeadItem = { ...item, v: item.v + 1, idle: false, lateHint: item.lateHint || late };
    this.write('head', headSize(item), headSize(next));
    this.heads.set(key, next);
  }

  async putDelta(key: string, delta: FileDelta, _expiresAtSeconds: number, late = false): Promise<'stored' | 'exists'> {
    const t = this.table(key);
    const sk = deltaKey(delta.deliveredAt, delta.file);
    const bytes = encodeDelta(delta);
    this.write('delta', 0, bytes.length + ITEM_OVERHEAD);
    if (t.has(sk)) return 'exists';
    t.set(sk, bytes);
    if (late) this.storedLate.add(`${key}|${sk}`);
    return 'stored';
  }

  async recordedLate(key: string, ref: FileRef): Promise<boolean> {
    const sk = deltaKey(ref.deliveredAt, ref.file);
    const b = this.table(key).get(sk);
    this.read('delta', b instanceof Buffer ? ITEM_OVERHEAD : 0);
    return this.storedLate.has(`${key}|${sk}`);
  }

  async hasDeltaAfter(key: string, after: FileRef | undefined, to: number): Promise<boolean> {
    const lo = after ? `${deltaKey(after.deliveredAt, after.file)}#\uffff` : 'f#';
    const hi = `${deltaKey(to, '')}\uffff`;
    let found: Buffer | undefined;
    for (const [sk, v] of this.table(key)) {
      if (sk.startsWith('f#') && sk > lo && sk <= hi) {
        found = v as Buffer;
        break;
      }
    }
    this.read('delta', found ? found.length + ITEM_OVERHEAD : 0, false);
    return found !== undefined;
  }

  async hasDelta(key: string, ref: FileRef): Promise<boolean> {
    const b = this.table(key).get(deltaKey(ref.deliveredAt, ref.file));
    this.read('delta', b instanceof Buffer ? b.length + ITEM_OVERHEAD : 0);
    return b !== undefined;
  }

  async queryDeltas(key: string, from: number, to: number): Promise<FileDelta[]> {
    const lo = deltaKey(from, '');
    const hi = `${deltaKey(to, '')}\uffff`;
    const items: [string, Buffer][] = [];
    for (const [sk, v] of this.table(key))
      if (sk.startsWith('f#') && sk >= lo && sk <= hi) items.push([sk, v as Buffer]);
    items.sort((a, b) => (a[0] < b[0] ? -1 : 1));
    this.read(
      'delta',
      items.reduce((n, [, b]) => n + b.length + ITEM_OVERHEAD, 0),
    );
    return items.map(([, b]) => decodeDelta(b));
  }

  async getDeltas(key: string, refs: readonly FileRef[]): Promise<FileDelta[]> {
    const t = this.table(key);
    const out: FileDelta[] = [];
    let bytes = 0;
    for (const r of refs) {
      const b = t.get(deltaKey(r.deliveredAt, r.file));
      if (b instanceof Buffer) {
        bytes += b.length + ITEM_OVERHEAD;
        out.push(decodeDelta(b));
      }
    }
    this.read('delta', bytes);
    return out.sort((a, b) => a.deliveredAt - b.deliveredAt || (a.file < b.file ? -1 : 1));
  }

  async addLate(key: string, ref: FileRef, _expiresAtSeconds: number): Promise<boolean> {
    const t = this.table(key);
    const sk = `l#${refString(ref)}`;
    this.write('late', 0, ITEM_OVERHEAD);
    if (t.has(sk)) return false;
    t.set(sk, { applied: false });
    return true;
  }

  async queryLate(key: string): Promise<LateEntry[]> {
    const out: LateEntry[] = [];
    for (const [sk, v] of this.table(key)) {
      if (sk.startsWith('l#')) out.push({ ...parseRef(sk.slice(2)), applied: (v as { applied: boolean }).applied });
    }
    this.read('late', out.length * ITEM_OVERHEAD);
    return out.sort((a, b) => a.deliveredAt - b.deliveredAt || (a.file < b.file ? -1 : 1));
  }

  async markLateApplied(key: string, refs: readonly FileRef[]): Promise<void> {
    const t = this.table(key);
    for (const r of refs) {
      this.write('late', ITEM_OVERHEAD, ITEM_OVERHEAD);
      t.set(`l#${refString(r)}`, { applied: true });
    }
  }

  async getPages(key: string, ids: readonly string[]): Promise<Map<string, Page>> {
    const t = this.table(key);
    const out = new Map<string, Page>();
    let bytes = 0;
    for (const id of ids) {
      const b = t.get(`p#${id}`);
      if (b instanceof Buffer) {
        bytes += b.length + ITEM_OVERHEAD;
        out.set(id, checkPage(decodeJson(b), `page ${id} of ${key}`));
      }
    }
    this.read('pages', bytes);
    return out;
  }

  async putPages(key: string, pages: ReadonlyMap<string, Page>): Promise<void> {
    const t = this.table(key);
    for (const [id, page] of pages) {
      const b = encodeJson(page);
      const before = t.get(`p#${id}`);
      this.write('pages', before instanceof Buffer ? before.length + ITEM_OVERHEAD : 0, b.length + ITEM_OVERHEAD);
      t.set(`p#${id}`, b);
    }
  }

  async *scanHeads(segment: number, total: number): AsyncIterable<HeadSummary> {
    const keys = [...this.heads.keys()].sort();
    for (const [i, key] of keys.entries()) {
      if (i % total !== segment) continue;
      const item = this.heads.get(key)!;
      this.charge('scan', headSize(item) / (4 * KB) / 2, headSize(item));
      yield {
        key,
        idle: item.idle,
        dueAt: item.dueAt,
        ...(item.cursor ? { cursor: parseRef(item.cursor) } : {}),
        lateHint: item.lateHint,
        outbox: item.outbox !== undefined,
      };
    }
  }

  private segmentsNeeded = 0;

  async countHeads(): Promise<{ items: number; segmentsNeeded: number }> {
    return { items: this.heads.size, segmentsNeeded: this.segmentsNeeded };
  }

  async raiseSegmentsNeeded(segments: number): Promise<void> {
    this.segmentsNeeded = Math.max(this.segmentsNeeded, segments);
  }

  /** Stored bytes of a partition by kind (the state-growth table of the benchmark). */
  storedBytes(key: string): { head: number; deltas: number; pages: number } {
    let deltas = 0;
    let pages = 0;
    for (const [sk, v] of this.data.get(key) ?? []) {
      if (!(v instanceof Buffer)) continue;
      if (sk.startsWith('f#')) deltas += v.length;
      else if (sk.startsWith('p#')) pages += v.length;
    }
    return { head: this.heads.get(key)?.head?.length ?? 0, deltas, pages };
  }

  /** Drops delta items delivered before `before` (the deployed table's TTL does this). */
  expireDeltas(before: number): void {
    const lo = deltaKey(before, '');
    for (const t of this.data.values())
      for (const sk of [...t.keys()]) if (sk.startsWith('f#') && sk < lo) t.delete(sk);
  }

  /** Every partition key with a head item. */
  keys(): string[] {
    return [...this.heads.keys()].sort();
  }
}
