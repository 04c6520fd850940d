import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync, gzipSync } from 'node:zlib';
import { EventIdDeduper } from '../../lambda/core/dedupe';
import { readTrailEvents, TrailReadError } from '../../lambda/core/reader';
import { chunked, DATA_DIR, deliveryFile, drain, record } from './helpers';

const FLAWS = join(
  DATA_DIR,
  'flaws2-cloud/AWSLogs/653711331788/CloudTrail/us-east-1/2018/11/28/653711331788_CloudTrail_us-east-1_20181128T2310Z_rp9i9zxR2Vcpqfnz.json.gz',
);

describe('readTrailEvents', () => {
  test('reads a gzipped delivery file into normalized events', async () => {
    const { events, report, issues } = await drain(
      chunked(deliveryFile([record(), record({ eventName: 'ListUsers', readOnly: true })])),
      {
        file: 'a.json.gz',
      },
    );
    expect(issues).toEqual([]);
    expect(events.map((e) => [e.name, e.readOnly])).toEqual([
      ['CreateUser', false],
      ['ListUsers', true],
    ]);
    expect(report).toMatchObject({ gzip: true, records: 2, events: 2, complete: true, errors: [] });
  });

  test('reads plain JSON (gzip is detected by magic bytes, not by the name)', async () => {
    const plain = Buffer.from(JSON.stringify({ Records: [record()] }));
    const { events, report } = await drain(chunked(plain), { file: 'mislabelled.json.gz' });
    expect(events).toHaveLength(1);
    expect(report.gzip).toBe(false);
  });

  test('reads a bare top-level array and a document with other keys around Records', async () => {
    const array = await drain(chunked(Buffer.from(JSON.stringify([record(), record()]))), { file: 'a.json' });
    expect(array.events).toHaveLength(2);
    const doc = Buffer.from(`{"before":{"x":[1,"]}"]},"Records":[${JSON.stringify(record())}],"after":"}"}`);
    const other = await drain(chunked(doc), { file: 'b.json' });
    expect(other.events).toHaveLength(1);
    expect(other.report.complete).toBe(true);
  });

  test('gives the same events whatever the chunk size (records, strings and escapes split across chunks)', async () => {
    const tricky = record({
      userAgent: 'quote " brace { bracket ] backslash \\ unicode é 🚀',
      requestParameters: { a: [{ b: '}' }] },
    });
    const gz = deliveryFile([record(), tricky, record()]);
    const plain = gunzipSync(gz);
    const whole = await drain(chunked(plain, plain.length), { file: 'x.json' });
    for (const size of [1, 2, 3, 7, 64]) {
      const split = await drain(chunked(plain, size), { file: 'x.json' });
      expect(split.events).toEqual(whole.events);
    }
    expect(whole.events[1].userAgent).toBe(tricky.userAgent);
  });

  test('reads a real delivery file from a Node stream, keeping raw records only when asked', async () => {
    const lean = await drain(Readable.from(readFileSync(FLAWS)), { file: FLAWS });
    expect(lean.events.length).toBeGreaterThan(0);
    expect(lean.events.every((e) => e.raw === undefined)).toBe(true);
    const raw = await drain(Readable.from(readFileSync(FLAWS)), { file: FLAWS, keepRaw: true });
    const doc = JSON.parse(gunzipSync(readFileSync(FLAWS)).toString('utf8')) as { Records: unknown[] };
    expect(raw.events.map((e) => e.raw)).toEqual(doc.Records);
  });

  test('returns the report as the generator result and fills the caller-supplied one', async () => {
    const gen = readTrailEvents(chunked(deliveryFile([record()])), { file: 'r.json.gz' });
    let result = await gen.next();
    while (!result.done) result = await gen.next();
    expect(result.value).toMatchObject({ file: 'r.json.gz', events: 1, records: 1, complete: true });
  });

  test('drops duplicate eventIDs, across files when the deduper is shared', async () => {
    const dedupe = new EventIdDeduper(100);
    const a = record();
    const b = record();
    const first = await drain(chunked(deliveryFile([a, b, a])), { file: 'one.json.gz', dedupe });
    expect(first.events).toHaveLength(2);
    expect(first.report.skipped).toEqual({ duplicate: 1 });
    const second = await drain(chunked(deliveryFile([b])), { file: 'two.json.gz', dedupe });
    expect(second.events).toHaveLength(0);
    expect(second.issues).toEqual([
      expect.objectContaining({ kind: 'duplicate', file: 'two.json.gz', scope: 'record' }),
    ]);
  });

  test.each([
    ['gzip', true],
    ['plain JSON', false],
  ])('stops cleanly and closes the source when the caller stops iterating early (%s)', async (_what, gzip) => {
    const records = Array.from({ length: 2000 }, () => record());
    const bytes = gzip ? deliveryFile(records) : Buffer.from(JSON.stringify({ Records: records }));
    const source = Readable.from(chunked(bytes, 1024));
    const gen = readTrailEvents(source, { file: 'early.json.gz' });
    for await (const _e of gen) break;
    await expect(gen.next()).resolves.toEqual({ done: true, value: undefined });
    expect(source.destroyed).toBe(true);
  });

  test('reads a file made of several gzip members', async () => {
    const text = JSON.stringify({ Records: [record(), record(), record()] });
    const cut = text.indexOf('},{') + 2;
    const twoMembers = Buffer.concat([gzipSync(text.slice(0, cut)), gzipSync(text.slice(cut))]);
    const { events, report } = await drain(chunked(twoMembers, 100), { file: 'multi.json.gz' });
    expect(events).toHaveLength(3);
    expect(report.complete).toBe(true);
  });
});

describe('readTrailEvents on bad input', () => {
  const good = [record(), record(), record()];

  test('fails when the file is not gzip and not JSON, naming the file and offset 0', async () => {
    const { events, report, issues } = await drain(chunked(Buffer.from('PK\u0003\u0004 zip archive')), {
      file: 'x.json.gz',
    });
    expect(events).toEqual([]);
    expect(issues).toEqual([
      expect.objectContaining({ kind: 'not-gzip', file: 'x.json.gz', offset: 0, scope: 'file' }),
    ]);
    expect(report.complete).toBe(false);
    expect(report.errors[0]).toBeInstanceOf(TrailReadError);
    expect(report.errors[0].message).toMatch(/^x\.json\.gz @0: not-gzip/);
  });

  test('fails when a plain file is not JSON', async () => {
    const { issues } = await drain(chunked(Buffer.from('hello world')), { file: 'x.json' });
    expect(issues).toEqual([expect.objectContaining({ kind: 'not-json', offset: 0 })]);
  });

  test('fails when the gzip is truncated, keeping the records that were complete', async () => {
    const gz = deliveryFile(Array.from({ length: 200 }, () => record()));
    const cut = gz.subarray(0, Math.floor(gz.length * 0.6));
    const { events, report, issues } = await drain(chunked(cut, 1000), { file: 'cut.json.gz' });
    expect(events.length).toBeGreaterThan(50);
    expect(events.length).toBeLessThan(200);
    expect(issues).toEqual([expect.objectContaining({ kind: 'truncated-gzip', file: 'cut.json.gz', scope: 'file' })]);
    expect(issues[0].offset).toBe(cut.length);
    expect(report.events).toBe(events.length);
  });

  test('inflates a one-chunk gzip source in one call with the same result as the stream', async () => {
    // A one-chunk source takes the synchronous fast path; a many-chunk one goes through the zlib stream.
    const gz = deliveryFile(Array.from({ length: 300 }, (_, i) => record({ eventName: `Call${i}` })));
    const oneChunk = await drain(chunked(gz, gz.length), { file: 'one.json.gz' });
    const streamed = await drain(chunked(gz, 97), { file: 'one.json.gz' });
    expect(oneChunk.events).toHaveLength(300);
    expect(oneChunk.events).toEqual(streamed.events);
    expect(oneChunk.report).toMatchObject({ ...streamed.report, file: 'one.json.gz' });
  });

  test('fails when a one-chunk gzip source is truncated, still keeping the complete records', async () => {
    const gz = deliveryFile(Array.from({ length: 200 }, () => record()));
    const cut = gz.subarray(0, Math.floor(gz.length * 0.6));
    const { events, issues } = await drain(chunked(cut, cut.length), { file: 'cut.json.gz' });
    expect(events.length).toBeGreaterThan(50);
    expect(events.length).toBeLessThan(200);
    expect(issues).toEqual([
      expect.objectContaining({ kind: 'truncated-gzip', file: 'cut.json.gz', offset: cut.length }),
    ]);
  });

  test('fails when the gzip data is corrupt', async () => {
    const gz = Buffer.from(deliveryFile(good));
    gz[gz.length - 6] ^= 0xff; // inside the CRC32 trailer
    const { issues } = await drain(chunked(gz), { file: 'crc.json.gz' });
    expect(issues).toEqual([expect.objectContaining({ kind: 'corrupt-gzip', file: 'crc.json.gz' })]);
  });

  test('fails when the JSON structure breaks, keeping the records before it with the offset of the break', async () => {
    const text = `{"Records":[${JSON.stringify(good[0])},${JSON.stringify(good[1])} oops ${JSON.stringify(good[2])}]}`;
    const { events, issues } = await drain(chunked(gzipSync(text)), { file: 'broken.json.gz' });
    expect(events).toHaveLength(2);
    expect(issues).toEqual([
      expect.objectContaining({ kind: 'not-json', offset: text.indexOf('oops'), scope: 'file' }),
    ]);
  });

  test('fails when the document ends inside Records (truncated JSON)', async () => {
    const text = `{"Records":[${JSON.stringify(good[0])},${JSON.stringify(good[1]).slice(0, 40)}`;
    const { events, issues } = await drain(chunked(Buffer.from(text)), { file: 't.json' });
    expect(events).toHaveLength(1);
    expect(issues).toEqual([expect.objectContaining({ kind: 'not-json', offset: Buffer.byteLength(text) })]);
  });

  test.each([
    ['a digest file', { awsAccountId: '111122223333', logFiles: [] }, 'the document has no "Records" array'],
    ['Records that is not an array', { Records: { a: 1 } }, '"Records" is not an array'],
    ['a single event', record(), 'the document has no "Records" array'],
  ])('fails with no-records for %s', async (_what, doc, message) => {
    const text = JSON.stringify(doc);
    const { issues } = await drain(chunked(gzipSync(text)), { file: 'n.json.gz' });
    expect(issues).toEqual([expect.objectContaining({ kind: 'no-records', offset: text.length - 1, message })]);
  });

  test('fails with no-records for an empty file', async () => {
    const { issues } = await drain(chunked(Buffer.alloc(0)), { file: 'empty.json.gz' });
    expect(issues).toEqual([
      expect.objectContaining({ kind: 'no-records', offset: 0, message: 'empty file (0 bytes)' }),
    ]);
  });

  test('skips records that are not objects, with their offsets, and reads the rest', async () => {
    const text = `{"Records":[42,${JSON.stringify(good[0])},"x",null,[1,{"a":"]"}],true,${JSON.stringify(good[1])}]}`;
    const { events, report, issues } = await drain(chunked(Buffer.from(text)), { file: 's.json' });
    expect(events).toHaveLength(2);
    expect(report.records).toBe(7);
    expect(report.skipped).toEqual({ 'record-not-object': 5 });
    expect(issues.map((i) => i.offset)).toEqual([
      text.indexOf('42'),
      text.indexOf('"x"'),
      text.indexOf(',null,') + 1,
      text.indexOf('[1,{'),
      text.indexOf(',true,') + 1,
    ]);
    expect(report.complete).toBe(true);
  });

  test('skips records missing eventTime or eventName, or with an unreadable eventTime', async () => {
    const { eventTime: _t, ...noTime } = record();
    const { eventName: _n, ...noName } = record();
    const text = JSON.stringify({ Records: [noTime, record(), noName, record({ eventTime: 'redacted' })] });
    const { events, report, issues } = await drain(chunked(Buffer.from(text)), { file: 'm.json' });
    expect(events).toHaveLength(1);
    expect(report.skipped).toEqual({ 'record-missing-field': 2, 'record-bad-time': 1 });
    expect(issues[0]).toMatchObject({ kind: 'record-missing-field', offset: text.indexOf('{', 1 + text.indexOf('[')) });
    expect(issues[0].message).toBe('record has no eventTime');
    expect(issues[1].message).toBe('record has no eventName');
  });

  test('skips a record that is balanced but not valid JSON, and reads the rest', async () => {
    const text = `{"Records":[{"eventTime": nope},${JSON.stringify(good[0])}]}`;
    const { events, issues } = await drain(chunked(Buffer.from(text)), { file: 'j.json' });
    expect(events).toHaveLength(1);
    expect(issues).toEqual([expect.objectContaining({ kind: 'record-not-json', offset: 12, scope: 'record' })]);
  });

  test('skips an oversized record without holding it, and reads the rest', async () => {
    const big = record({ requestParameters: { blob: 'x'.repeat(50_000) } });
    const gz = deliveryFile([good[0], big, good[1]]);
    const { events, report } = await drain(chunked(gz, 4096), { file: 'big.json.gz', maxRecordBytes: 10_000 });
    expect(events).toHaveLength(2);
    expect(report.skipped).toEqual({ 'record-too-large': 1 });
  });

  test('fails when data follows the end of the document', async () => {
    const text = `${JSON.stringify({ Records: [good[0]] })} trailing`;
    const { events, issues } = await drain(chunked(Buffer.from(text)), { file: 'tail.json' });
    expect(events).toHaveLength(1);
    expect(issues).toEqual([expect.objectContaining({ kind: 'not-json', offset: text.indexOf('trailing') })]);
  });

  test('fails with read-failed when the byte source throws, keeping what was read', async () => {
    const gz = deliveryFile(Array.from({ length: 100 }, () => record()));
    async function* failing(): AsyncGenerator<Uint8Array> {
      yield gz.subarray(0, Math.floor(gz.length / 2));
      throw new Error('connection reset');
    }
    const { issues } = await drain(failing(), { file: 's3://b/k.json.gz' });
    expect(issues).toEqual([expect.objectContaining({ kind: 'read-failed', scope: 'file' })]);
    expect(issues[0].message).toMatch(/connection reset/);
  });

  test('skips Insights records (not API calls) with a count', async () => {
    const insight = {
      eventVersion: '1.07',
      eventTime: '2025-03-01T09:15:02Z',
      eventType: 'AwsCloudTrailInsight',
      insightDetails: {},
    };
    const { events, report } = await drain(chunked(deliveryFile([insight, record()])), { file: 'i.json.gz' });
    expect(events).toHaveLength(1);
    expect(report.skipped).toEqual({ 'insight-record': 1 });
  });
});
