/** Shared helpers for the ingest-core tests: where the real data lives and how to drain the reader. */
import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { TrailEvent } from '../../lambda/core/event';
import { type ReadIssue, type ReadOptions, type ReadReport, readTrailEvents } from '../../lambda/core/reader';

/** `../shared/data` next to the repository (never an absolute path). */
export const DATA_DIR = resolve(__dirname, '../../../shared/data');

export function walk(dir: string, out: string[] = []): string[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out.sort();
}

/** Yields `bytes` in pieces of `size` bytes (to exercise chunk boundaries). */
export async function* chunked(bytes: Uint8Array, size = 64 * 1024): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, Math.min(bytes.length, i + size));
}

export interface Drained {
  readonly events: TrailEvent[];
  readonly report: ReadReport;
  readonly issues: ReadIssue[];
}

/** Reads everything; the reader must never throw, so any exception fails the calling test. */
export async function drain(
  source: AsyncIterable<Uint8Array> | NodeJS.ReadableStream,
  options: Omit<ReadOptions, 'onIssue'>,
): Promise<Drained> {
  const events: TrailEvent[] = [];
  const issues: ReadIssue[] = [];
  const gen = readTrailEvents(source, { ...options, onIssue: (i) => issues.push(i) });
  for (;;) {
    const r = await gen.next();
    if (r.done) return { events, report: r.value, issues };
    events.push(r.value);
  }
}

/** A CloudTrail document built from records, gzipped like a delivery file. */
export function deliveryFile(records: unknown[]): Buffer {
  return gzipSync(JSON.stringify({ Records: records }));
}

let counter = 0;
/** A minimal, valid current-style record; override any field. */
export function record(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  counter++;
  return {
    eventVersion: '1.11',
    userIdentity: {
      type: 'IAMUser',
      principalId: 'AIDAEXAMPLE',
      arn: 'arn:aws:iam::111122223333:user/alice',
      accountId: '111122223333',
      userName: 'alice',
    },
    eventTime: '2025-03-01T09:15:02Z',
    eventSource: 'iam.amazonaws.com',
    eventName: 'CreateUser',
    awsRegion: 'us-east-1',
    sourceIPAddress: '203.0.113.10',
    userAgent: 'aws-cli/2.15.0',
    requestParameters: { userName: 'bob' },
    responseElements: null,
    requestID: `req-${counter}`,
    eventID: `00000000-0000-4000-8000-${String(counter).padStart(12, '0')}`,
    readOnly: false,
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: '111122223333',
    eventCategory: 'Management',
    ...overrides,
  };
}
