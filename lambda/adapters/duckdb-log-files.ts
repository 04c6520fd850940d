/**
 * Reads local CloudTrail files (listed by `listLocalFiles`) for the DuckDB engine, one file at a time, so that
 * a bad file is reported and skipped instead of failing the whole load.
 *
 * Accepted shapes (by content, not by extension; `.gz` is detected by its magic bytes):
 *  - a delivery file `{"Records":[...]}` (S3 layout, gzip or not);
 *  - a JSON array of records (Stratus Red Team detonation logs);
 *  - a single record object (AWS documentation examples);
 *  - JSON Lines, one record per line (e.g. `trailsight detect --format jsonl` insights);
 *  - `aws cloudtrail lookup-events` output (`{"Events":[{"CloudTrailEvent":"<json>"}]}`).
 * Digest files are recognised and ignored (they hold no events). Anything else is a counted skip with a reason.
 */
import { readFileSync, statSync } from 'node:fs';
import { sep } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { classifyKey } from '../core/keys';

/** Partition values a file's location implies, as the Glue table's projection would compute them. */
export interface FilePartition {
  readonly account: string;
  readonly region: string;
  /** Delivery date `yyyy/MM/dd`. */
  readonly dt: string;
}

export interface LogFile {
  readonly path: string;
  readonly records: Record<string, unknown>[];
  /** From the file's S3-style name or path; absent for files outside the CloudTrail layout. */
  readonly partition?: FilePartition;
}

export interface SkippedFile {
  readonly path: string;
  readonly reason: string;
  /** True for files that are expected next to logs and hold no events (digests): ignored, not an error. */
  readonly benign: boolean;
}

/**
 * The partition a file belongs to, as the Glue table's projection computes it from the S3 key: account, region
 * and the UTC delivery date (`yyyy/MM/dd`). The key is classified by the ingest core's `classifyKey`, the one
 * parser of CloudTrail's key layouts; a file it calls foreign (renamed, or not CloudTrail's) gets its partition
 * values from its records instead, as the ingest pipeline also ignores such objects.
 */
export function partitionOf(path: string): FilePartition | undefined {
  const info = classifyKey(path.split(sep).join('/'));
  if (info.kind !== 'log' && info.kind !== 'insight') return undefined;
  if (!info.account || !info.region || info.deliveredAt === undefined) return undefined;
  // Athena takes dt from the folder (the storage location template); a bare file name carries the same date.
  const dt = info.date ?? new Date(info.deliveredAt).toISOString().slice(0, 10).replace(/-/g, '/');
  return { account: info.account, region: info.region, dt };
}

export type ReadResult = { readonly ok: true; readonly file: LogFile } | ({ readonly ok: false } & SkippedFile);

/**
 * Largest file (compressed or not) read as one JSON document: V8 strings stop at about 512 MiB, and a
 * CloudTrail delivery file is a few MB. Bigger inputs are reported, not loaded.
 */
export const MAX_FILE_BYTES = 256 * 1024 * 1024;

/** Reads one file; never throws: every failure comes back as a skip with a reason a person can act on. */
export function readLogFile(path: string, maxBytes: number = MAX_FILE_BYTES): ReadResult {
  const skip = (reason: string): ReadResult => ({ ok: false, path, reason, benign: reason.startsWith('digest file') });
  let bytes: Buffer;
  try {
    const size = statSync(path).size;
    if (size > maxBytes) return skip(`too large: ${size} bytes (limit ${maxBytes})`);
    bytes = readFileSync(path);
  } catch (err) {
    return skip(`unreadable: ${(err as Error).message}`);
  }
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = gunzipSync(bytes, { maxOutputLength: maxBytes });
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.code === 'ERR_BUFFER_TOO_LARGE') return skip(`too large once decompressed (limit ${maxBytes} bytes)`);
      return skip(`corrupt gzip: ${e.message}`);
    }
  }
  const text = bytes.toString('utf8');
  if (text.trim() === '') return skip('empty file');
  let records: unknown[];
  try {
    records = extractRecords(text);
  } catch (err) {
    return skip((err as Error).message);
  }
  const good = records.filter(isRecord);
  if (good.length === 0) {
    return skip(
      records.length === 0 ? 'no CloudTrail records in file' : 'no CloudTrail records (objects without eventTime)',
    );
  }
  const partition = partitionOf(path);
  return { ok: true, file: { path, records: good, ...(partition ? { partition } : {}) } };
}

function isRecord(r: unknown): r is Record<string, unknown> {
  return (
    typeof r === 'object' &&
    r !== null &&
    !Array.isArray(r) &&
    typeof (r as { eventTime?: unknown }).eventTime === 'string'
  );
}

class ShapeError extends Error {}

function extractRecords(text: string): unknown[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    // Not one JSON document: maybe JSON Lines.
    const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
    if (lines.length > 1) {
      try {
        return lines.flatMap((l) => fromDocument(JSON.parse(l)));
      } catch (lineErr) {
        if (lineErr instanceof ShapeError) throw lineErr;
        throw new Error(`not JSON or JSON Lines: ${(lineErr as Error).message}`);
      }
    }
    throw new Error(`not JSON: ${(err as Error).message}`);
  }
  return fromDocument(doc);
}

function fromDocument(doc: unknown): unknown[] {
  if (Array.isArray(doc)) return doc;
  if (typeof doc !== 'object' || doc === null) throw new ShapeError('not a CloudTrail file (JSON scalar)');
  const o = doc as Record<string, unknown>;
  if (Array.isArray(o.Records)) return o.Records;
  if ('digestStartTime' in o || 'logFiles' in o) throw new ShapeError('digest file (holds no events)');
  if (Array.isArray(o.Events)) {
    return o.Events.map((e) => {
      const s = (e as { CloudTrailEvent?: unknown }).CloudTrailEvent;
      return typeof s === 'string' ? JSON.parse(s) : e;
    });
  }
  if ('eventTime' in o) return [o];
  throw new ShapeError('not a CloudTrail file (no Records, not a record)');
}
