/**
 * Streams one CloudTrail delivery file into normalized events: gunzip (detected by magic bytes, so plain
 * `.json` reads too) → {@link RecordSplitter} → `JSON.parse` per record → {@link normalizeRecord} →
 * optional eventID dedupe. Memory is bounded by one decompressed chunk plus the largest record, whatever
 * the file size.
 *
 * Bad input never escapes as an exception: every problem becomes a {@link ReadIssue} with the file and a byte
 * offset, passed to `onIssue` and tallied in the {@link ReadReport}. Records before a fatal problem (a
 * truncated gzip, broken JSON structure) still count: each was complete and parsed on its own.
 */
import { Readable } from 'node:stream';
import { createGunzip, gunzipSync } from 'node:zlib';
import type { AccountDedupers, Deduper } from './dedupe';
import type { TrailEvent } from './event';
import { isSkip, type NormalizeContext, normalizeRecord, type SkipReason } from './normalize';
import { RecordSplitter, type SplitIssue, type SplitIssueKind } from './record-splitter';

/** Problems that concern the whole file (reading stops, or the file never held records). */
export type FileErrorKind =
  | 'not-gzip'
  | 'truncated-gzip'
  | 'corrupt-gzip'
  | 'not-json'
  | 'no-records'
  /** The byte source itself failed (e.g. the S3 stream was cut). */
  | 'read-failed';

/** Problems with one record; the record is skipped and counted, the rest of the file still counts. */
export type RecordSkipKind = Exclude<SplitIssueKind, 'not-json' | 'no-records'> | SkipReason | 'duplicate';

export type ReadIssueKind = FileErrorKind | RecordSkipKind;

export interface ReadIssue {
  readonly kind: ReadIssueKind;
  /** The `file` option: an S3 key or a local path. */
  readonly file: string;
  /**
   * Byte offset of the problem: in the decompressed document for JSON and record issues, in the file as
   * stored (compressed bytes read) for gzip and source issues.
   */
  readonly offset: number;
  readonly message: string;
  /** `file`: reading stopped or the file has no records; `record`: one record was skipped. */
  readonly scope: 'file' | 'record';
}

/** A file-level problem as an Error, for callers that want to throw or log one. */
export class TrailReadError extends Error {
  readonly kind: ReadIssueKind;
  readonly file: string;
  readonly offset: number;

  constructor(issue: ReadIssue) {
    super(`${issue.file} @${issue.offset}: ${issue.kind}: ${issue.message}`);
    this.name = 'TrailReadError';
    this.kind = issue.kind;
    this.file = issue.file;
    this.offset = issue.offset;
  }
}

/** What happened to one file; filled in while reading, final when the generator is done. */
export interface ReadReport {
  readonly file: string;
  /** Gzip detected by magic bytes. */
  gzip: boolean;
  /** Bytes read from the source (compressed size for gzip). */
  bytesRead: number;
  /** Decompressed bytes scanned. */
  bytesScanned: number;
  /** Elements of `Records` seen (objects or not). */
  records: number;
  /** Events yielded. */
  events: number;
  /** Records skipped, by reason (duplicates included). */
  skipped: Partial<Record<RecordSkipKind, number>>;
  /** File-level problems (normally zero or one). */
  errors: TrailReadError[];
  /** True when the whole file was read without a file-level error. */
  complete: boolean;
}

export interface ReadOptions {
  /** The key or path, used in issues and reports. */
  readonly file: string;
  /** Keep each parsed record on its event (`raw`), for forensics. Costs memory per event held. */
  readonly keepRaw?: boolean;
  /** Account to use when a record names none (e.g. from {@link classifyKey}). */
  readonly fallbackAccount?: string;
  /**
   * Drop events whose eventID was seen recently; share one across files to dedupe across deliveries. Asked with
   * the event's account too (an {@link AccountDedupers} keeps each account's IDs apart).
   */
  readonly dedupe?: Deduper;
  /** Called for every issue as it happens (record skips included). */
  readonly onIssue?: (issue: ReadIssue) => void;
  /**
   * Called with every event (after dedupe) and the parsed record it came from, while the record is still at hand:
   * for consumers that read raw fields, such as the rule engine (`requestParameters.…`), without `keepRaw`
   * holding every record of the file in memory.
   */
  readonly onEvent?: (event: TrailEvent, record: Record<string, unknown>) => void;
  /** A report to fill in (so the caller can hold it); one is created otherwise and returned at the end. */
  readonly report?: ReadReport;
  /** Skip records larger than this many bytes. @default 16 MiB (CloudTrail caps events at 256 KB). */
  readonly maxRecordBytes?: number;
}

const DEFAULT_MAX_RECORD_BYTES = 16 * 1024 * 1024;

export function createReadReport(file: string): ReadReport {
  return {
    file,
    gzip: false,
    bytesRead: 0,
    bytesScanned: 0,
    records: 0,
    events: 0,
    skipped: {},
    errors: [],
    complete: false,
  };
}

/** Marks an error thrown by the caller's byte source, so it is not mistaken for a gzip error. */
class SourceFailure extends Error {
  constructor(readonly cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause));
  }
}

function toBuffer(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8');
  throw new TypeError(`unsupported chunk type ${typeof chunk}`);
}

const GZIP_CHUNK = 256 * 1024;
/** The output cap of a one-call inflate (`DocumentRead.whole`), so memory stays bounded. */
const SYNC_GUNZIP_MAX_OUTPUT = 64 * 1024 * 1024;
/** zlib's own output chunk (`zlib.constants.Z_DEFAULT_CHUNK`), the least a one-call inflate is given. */
const SYNC_GUNZIP_MIN_CHUNK = 16 * 1024;
/** Deflate's largest expansion: 258 bytes from as little as 2 bits (RFC 1951), about 1032 to 1. */
const DEFLATE_MAX_RATIO = 1032;

/**
 * The output buffer of a one-call inflate: the size the gzip trailer declares (ISIZE, RFC 1952 §2.3.1: the
 * inflated length mod 2^32) plus one byte, so that zlib writes the whole document into one buffer. With zlib's
 * default 16 KB chunks a typical 20 KB delivery is inflated into two chunks and then copied into a third (`npm run
 * bench`, cli section, prints what the baseline gains from this alone). The trailer is only a hint: a wrong one
 * (several gzip members, a hostile file) costs extra chunks or unused bytes, never a wrong result, and it is
 * bounded by the one-call cap and by the most the compressed bytes can inflate to, so a lying trailer cannot make a
 * small file allocate megabytes.
 */
export function inflateChunkSize(gz: Buffer): number {
  const declared = gz.length >= 18 ? gz.readUInt32LE(gz.length - 4) : 0;
  const most = Math.min(SYNC_GUNZIP_MAX_OUTPUT, gz.length * DEFLATE_MAX_RATIO);
  return Math.max(SYNC_GUNZIP_MIN_CHUNK, Math.min(declared, most) + 1);
}

/**
 * Reads one delivery file and yields its events. The generator's return value is the {@link ReadReport}
 * (also available through `options.report` when iterating with `for await`).
 */
export async function* readTrailEvents(
  source: AsyncIterable<Uint8Array> | NodeJS.ReadableStream,
  options: ReadOptions,
): AsyncGenerator<TrailEvent, ReadReport, undefined> {
  const batches = readTrailEventBatches(source, options);
  try {
    for (;;) {
      const r = await batches.next();
      if (r.done) return r.value;
      for (const event of r.value) yield event;
    }
  } finally {
    // Runs when the caller stops early too: closes the streams and the source.
    await batches.return(undefined as unknown as ReadReport);
  }
}

/**
 * Reads a delivery file already in memory (the whole file, as stored), synchronously: what
 * {@link readTrailEventBatches} does with a source of one chunk, without its asynchronous steps, which cost more
 * than parsing a small delivery (many-small-files case of `npm run bench`). Fills `options.report` as that would.
 *
 * Returns undefined, having counted nothing, when the gzip data cannot be inflated in one call (corrupt, truncated,
 * or larger than the one-call cap): read the same bytes with {@link readTrailEventBatches} then, which keeps the
 * records before the damage and reports it precisely.
 */
export function readTrailBuffer(bytes: Buffer, options: ReadOptions): TrailEvent[] | undefined {
  const doc = new DocumentRead(options);
  if (bytes.length === 0) {
    doc.issue('no-records', 0, 'empty file (0 bytes)', 'file');
    return doc.finish();
  }
  if (!doc.start(bytes)) return doc.finish();
  if (!doc.whole(bytes)) return undefined;
  return doc.finish();
}

/**
 * Like {@link readTrailEvents}, but yields the events of each decompressed chunk as one array (a few hundred
 * events): for hot loops (the Lambda, the benchmark) this saves an async step per event.
 */
export async function* readTrailEventBatches(
  source: AsyncIterable<Uint8Array> | NodeJS.ReadableStream,
  options: ReadOptions,
): AsyncGenerator<TrailEvent[], ReadReport, undefined> {
  const doc = new DocumentRead(options);
  const { report } = doc;
  const input = (source as AsyncIterable<unknown>)[Symbol.asyncIterator]();
  let first: Buffer | undefined;
  try {
    // Peek at the first non-empty chunk to choose gzip or plain JSON.
    for (;;) {
      const r = await input.next();
      if (r.done) break;
      const b = toBuffer(r.value);
      if (b.length > 0) {
        first = b;
        break;
      }
    }
  } catch (e) {
    doc.issue('read-failed', 0, `reading the source failed: ${(e as Error).message}`, 'file');
    doc.finish();
    return report;
  }
  if (!first) {
    doc.issue('no-records', 0, 'empty file (0 bytes)', 'file');
    doc.finish();
    return report;
  }
  if (!doc.start(first)) {
    await closeInput();
    doc.finish();
    return report;
  }

  // Peek at a second chunk: a source that ends after one chunk may take the synchronous path.
  const head: Buffer[] = [first];
  let headFailure: unknown;
  let sourceDone = false;
  try {
    const r = await input.next();
    if (r.done) sourceDone = true;
    else head.push(toBuffer(r.value));
  } catch (e) {
    headFailure = e;
  }

  if (sourceDone && doc.whole(first)) {
    const batch = doc.take();
    if (batch.length > 0) yield batch;
    await closeInput();
    doc.finish();
    return report;
  }

  async function* raw(): AsyncGenerator<Buffer> {
    for (const b of head) {
      report.bytesRead += b.length;
      yield b;
    }
    if (headFailure !== undefined) throw new SourceFailure(headFailure);
    if (sourceDone) return;
    for (;;) {
      let r: IteratorResult<unknown>;
      try {
        r = await input.next();
      } catch (e) {
        throw new SourceFailure(e);
      }
      if (r.done) return;
      const b = toBuffer(r.value);
      report.bytesRead += b.length;
      yield b;
    }
  }

  let chunks: AsyncIterable<Buffer>;
  let gunzip: ReturnType<typeof createGunzip> | undefined;
  let from: Readable | undefined;
  if (report.gzip) {
    gunzip = createGunzip({ chunkSize: GZIP_CHUNK });
    from = Readable.from(raw(), { objectMode: false });
    from.on('error', (e) => gunzip?.destroy(e));
    from.pipe(gunzip);
    chunks = gunzip;
  } else {
    chunks = raw();
  }

  try {
    for await (const chunk of chunks) {
      report.bytesScanned += chunk.length;
      doc.splitter.push(chunk);
      const batch = doc.take();
      if (batch.length > 0) yield batch;
      if (doc.fatal) break;
    }
    if (!doc.fatal) doc.splitter.end();
  } catch (e) {
    // Records completed before the failure were already yielded; only what follows is lost.
    if (e instanceof SourceFailure) {
      doc.issue('read-failed', report.bytesRead, `reading the source failed: ${e.message}`, 'file');
    } else {
      const err = e as NodeJS.ErrnoException;
      const truncated = err.code === 'Z_BUF_ERROR' || /unexpected end of file/i.test(err.message);
      doc.issue(
        truncated ? 'truncated-gzip' : 'corrupt-gzip',
        report.bytesRead,
        truncated
          ? `gzip stream ends early (after ${report.bytesScanned} decompressed bytes)`
          : `gzip data is corrupt: ${err.message}`,
        'file',
      );
    }
  } finally {
    // Also runs when the caller stops iterating early: release the streams and the source.
    from?.destroy();
    gunzip?.destroy();
    await closeInput();
  }
  const rest = doc.take();
  if (rest.length > 0) yield rest;
  doc.finish();
  return report;

  async function closeInput(): Promise<void> {
    try {
      await input.return?.();
    } catch {
      // The source is being abandoned after an error already reported; its own close error adds nothing.
    }
  }
}

/**
 * One document being read: its report, the events parsed and not yet handed out, and the steps both ways of
 * reading share (the streaming generator and the one-buffer {@link readTrailBuffer}), so they count alike.
 */
class DocumentRead {
  readonly report: ReadReport;
  /** A file-level problem was met: reading stops. */
  fatal = false;
  readonly splitter: RecordSplitter;
  private pending: TrailEvent[] = [];
  private readonly ctx: NormalizeContext;
  private readonly maxRecordBytes: number;

  constructor(private readonly options: ReadOptions) {
    this.report = options.report ?? createReadReport(options.file);
    this.ctx = { fallbackAccount: options.fallbackAccount, keepRaw: options.keepRaw };
    this.maxRecordBytes = options.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
    this.splitter = new RecordSplitter(
      {
        record: (value, offset) => this.record(value, offset),
        issue: (i: SplitIssue) => {
          if (!i.fatal) this.report.records++;
          this.issue(i.kind, i.offset, i.message, i.fatal ? 'file' : 'record');
        },
      },
      { maxRecordBytes: this.maxRecordBytes },
    );
  }

  issue(kind: ReadIssueKind, offset: number, message: string, scope: 'file' | 'record'): void {
    const i: ReadIssue = { kind, file: this.options.file, offset, message, scope };
    if (scope === 'file') {
      this.fatal = true;
      this.report.errors.push(new TrailReadError(i));
    } else {
      const skipped = this.report.skipped;
      skipped[kind as RecordSkipKind] = (skipped[kind as RecordSkipKind] ?? 0) + 1;
    }
    this.options.onIssue?.(i);
  }

  record(value: Record<string, unknown>, offset: number): void {
    this.report.records++;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      this.issue('record-not-object', offset, 'Records element is not an object', 'record');
      return;
    }
    const event = normalizeRecord(value, this.ctx);
    if (isSkip(event)) {
      this.issue(event.skip, offset, event.message, 'record');
      return;
    }
    const { dedupe } = this.options;
    if (dedupe && event.eventId !== undefined && dedupe.isDuplicate(event.eventId, event.account)) {
      this.issue('duplicate', offset, `duplicate eventID ${event.eventId}`, 'record');
      return;
    }
    this.options.onEvent?.(event, value);
    this.pending.push(event);
  }

  /** Looks at the first bytes: gzip or JSON; anything else is a file-level problem (returns false). */
  start(first: Buffer): boolean {
    const report = this.report;
    report.gzip = first.length >= 2 && first[0] === 0x1f && first[1] === 0x8b;
    if (report.gzip || looksLikeJson(first)) return true;
    const gz = /\.gz$/i.test(this.options.file);
    this.issue(
      gz ? 'not-gzip' : 'not-json',
      0,
      gz
        ? `not gzip: the file starts with 0x${first.subarray(0, 4).toString('hex')}, not the gzip magic 1f8b`
        : `not JSON: the file starts with 0x${first.subarray(0, 4).toString('hex')}`,
      'file',
    );
    return false;
  }

  /**
   * Reads a source that arrived whole in one buffer. A gzip source is inflated in one synchronous call instead of
   * through a zlib stream: the stream's per-file setup and thread-pool round trips cost several times the inflate
   * itself on small files. Returns false, having counted nothing, when that call fails or the output would pass
   * the cap (the streaming path then keeps the records before a truncation and reports the exact error).
   */
  whole(bytes: Buffer): boolean {
    const report = this.report;
    let text = bytes;
    if (report.gzip) {
      try {
        text = gunzipSync(bytes, { maxOutputLength: SYNC_GUNZIP_MAX_OUTPUT, chunkSize: inflateChunkSize(bytes) });
      } catch {
        return false;
      }
    }
    report.bytesRead += bytes.length;
    report.bytesScanned += text.length;
    if (!this.wholeDocument(text)) {
      this.splitter.push(text);
      if (!this.fatal) this.splitter.end();
    }
    return true;
  }

  /**
   * A whole decompressed document, parsed with one `JSON.parse` like the plain baseline, when that gives exactly
   * what the splitter would: no caller waiting for byte offsets (`onIssue`), no record that could exceed the size
   * limit, and a well-formed `{"Records":[…]}` (with a single `"Records"` key) or bare array. Anything else
   * returns false and goes through the splitter, which reports problems precisely. Saves the byte scan, a third of
   * the cost of a typical 20 KB delivery.
   */
  private wholeDocument(bytes: Buffer): boolean {
    if (this.options.onIssue || bytes.length > this.maxRecordBytes) return false;
    const text = bytes.toString('utf8');
    let records: unknown;
    try {
      records = deliveryRecords(text) ?? otherDocumentRecords(text);
    } catch {
      return false;
    }
    if (!Array.isArray(records)) return false;
    for (const r of records) {
      if (typeof r === 'object' && r !== null && !Array.isArray(r)) this.record(r as Record<string, unknown>, 0);
      else {
        this.report.records++;
        this.issue('record-not-object', 0, 'Records element is not an object', 'record');
      }
    }
    return true;
  }

  /** The events parsed since the last call, counted as handed out. */
  take(): TrailEvent[] {
    const batch = this.pending;
    if (batch.length > 0) {
      this.pending = [];
      this.report.events += batch.length;
    }
    return batch;
  }

  /** Hands out what is left and closes the report. */
  finish(): TrailEvent[] {
    const rest = this.take();
    this.report.complete = this.report.errors.length === 0;
    return rest;
  }
}

/** How CloudTrail begins every delivery document. */
const DELIVERY_PREFIX = '{"Records":';

/**
 * The value of `Records` in a document written as CloudTrail writes them: {@link DELIVERY_PREFIX}, one JSON value,
 * `}` (whitespace after it allowed). That value is parsed from the middle of the text, which proves the key is the
 * only one: a document with a second key (a second `Records` among them) is not one value there, and throws.
 * Undefined for a document of another shape. As fast as parsing the whole document, where searching the text
 * for a second `"Records"` afterwards added a seventh to the parse (8,000 deliveries: 350 → 400 ms).
 */
function deliveryRecords(text: string): unknown {
  if (!text.startsWith(DELIVERY_PREFIX)) return undefined;
  let end = text.length - 1;
  while (end > 0 && isJsonSpace(text.charCodeAt(end))) end--;
  return text.charCodeAt(end) === 0x7d ? JSON.parse(text.slice(DELIVERY_PREFIX.length, end)) : undefined;
}

/**
 * The records of a document of any other shape that one `JSON.parse` reads as the splitter does: a bare array, or
 * an object whose text holds `"Records"` once (other top-level keys are skipped by both). Anything else (no
 * `Records`, a second one, which JSON.parse would let win over the first) gives undefined.
 */
function otherDocumentRecords(text: string): unknown {
  const doc: unknown = JSON.parse(text);
  if (Array.isArray(doc)) return doc;
  if (typeof doc !== 'object' || doc === null) return undefined;
  const first = text.indexOf('"Records"');
  if (first < 0 || text.indexOf('"Records"', first + 9) >= 0) return undefined;
  return (doc as { Records?: unknown }).Records;
}

function isJsonSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function looksLikeJson(b: Buffer): boolean {
  let i = b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf ? 3 : 0;
  while (i < b.length && isJsonSpace(b[i])) i++;
  return i === b.length || b[i] === 0x7b || b[i] === 0x5b;
}
