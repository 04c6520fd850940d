/**
 * The query engine's tolerant reader: the files DuckDB does not read itself (exports, odd shapes, files it
 * refused) are read here one at a time, so a bad file is a reported skip instead of the end of the query.
 *
 * Accepted shapes are those of `extractRecords` (local-files.ts), the same for every local command; `.gz` is
 * detected by its magic bytes. Digest files are recognised and ignored. A failure is reported the way
 * `readOutcome` classifies the core reader's: a file named like CloudTrail's, or compressed, that cannot be read
 * is unreadable; any other file that is not a CloudTrail document is not CloudTrail's.
 */
import { readFileSync, statSync } from 'node:fs';
import { sep } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { classifyKey, type KeyInfo } from '../core/keys';
import { extractRecords } from './local-files';

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
  /** `digest`: expected next to logs, holds no events; `not-cloudtrail`: someone else's file; `unreadable`: broken. */
  readonly outcome: 'digest' | 'not-cloudtrail' | 'unreadable';
}

/**
 * The partition a file belongs to, as the Glue table's projection computes it from the S3 key: account, region
 * and the UTC delivery date (`yyyy/MM/dd`). The key is classified by the ingest core's `classifyKey`, the one
 * parser of CloudTrail's key layouts; a file it calls foreign (renamed, or not CloudTrail's) gets its partition
 * values from its records instead, as the ingest pipeline also ignores such objects.
 */
export function partitionOf(path: string): FilePartition | undefined {
  return partitionOfKey(classifyKey(path.split(sep).join('/')));
}

/** {@link partitionOf} for a key already classified (a listed file's `info`). */
export function partitionOfKey(info: KeyInfo): FilePartition | undefined {
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
  const kind = classifyKey(path.split(sep).join('/')).kind;
  const named = kind === 'log' || kind === 'insight';
  let gzip = false;
  const skip = (reason: string, shape = false): ReadResult => ({
    ok: false,
    path,
    reason,
    outcome: reason.startsWith('digest file') ? 'digest' : shape && !named && !gzip ? 'not-cloudtrail' : 'unreadable',
  });
  let bytes: Buffer;
  try {
    const size = statSync(path).size;
    if (size > maxBytes) return skip(`too large: ${size} bytes (limit ${maxBytes})`);
    bytes = readFileSync(path);
  } catch (err) {
    return skip(`unreadable: ${(err as Error).message}`);
  }
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    gzip = true;
    try {
      bytes = gunzipSync(bytes, { maxOutputLength: maxBytes });
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.code === 'ERR_BUFFER_TOO_LARGE') return skip(`too large once decompressed (limit ${maxBytes} bytes)`);
      return skip(`corrupt gzip: ${e.message}`);
    }
  }
  const text = bytes.toString('utf8');
  if (text.trim() === '') return skip('empty file', true);
  let records: unknown[];
  try {
    records = extractRecords(text);
  } catch (err) {
    return skip((err as Error).message, true);
  }
  const good = records.filter(isRecord);
  if (good.length === 0) {
    return skip(
      records.length === 0 ? 'no CloudTrail records in file' : 'no CloudTrail records (objects without eventTime)',
      true,
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
