/**
 * The reader's whole-document path (one JSON.parse for a small document read in one chunk, taken when no caller
 * waits for byte offsets) gives exactly what the splitter gives: the same events, in the same order, and the same
 * report, for every shape and every problem a document can have; and so does the synchronous read of a file
 * already in memory (`readTrailBuffer`), the local reader's path for delivery files.
 */
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { EventIdDeduper } from '../../lambda/core/dedupe';
import type { TrailEvent } from '../../lambda/core/event';
import {
  createReadReport,
  inflateChunkSize,
  type ReadReport,
  readTrailBuffer,
  readTrailEvents,
} from '../../lambda/core/reader';
import { DATA_DIR, record, walk } from './helpers';

async function read(bytes: Buffer, offsets: boolean, dedupe?: EventIdDeduper) {
  const events: TrailEvent[] = [];
  const gen = readTrailEvents(
    (async function* () {
      yield bytes;
    })(),
    { file: 'f.json.gz', ...(dedupe ? { dedupe } : {}), ...(offsets ? { onIssue: () => {} } : {}) },
  );
  for (;;) {
    const r = await gen.next();
    if (r.done) return { events, report: r.value as ReadReport };
    events.push(r.value);
  }
}

function readSync(bytes: Buffer, dedupe: EventIdDeduper) {
  const report = createReadReport('f.json.gz');
  const events = readTrailBuffer(bytes, { file: 'f.json.gz', dedupe, report });
  return events && { events, report };
}

async function expectSame(bytes: Buffer, forms: readonly Buffer[] = [bytes, gzipSync(bytes)]): Promise<void> {
  for (const b of forms) {
    const fast = await read(b, false, new EventIdDeduper());
    const split = await read(b, true, new EventIdDeduper());
    expect(fast.events).toEqual(split.events);
    expect(fast.events.map((e) => Object.keys(e))).toEqual(split.events.map((e) => Object.keys(e)));
    expect(fast.report).toEqual(split.report);
    expect(readSync(b, new EventIdDeduper())).toEqual(fast);
  }
}

const json = (v: unknown) => Buffer.from(JSON.stringify(v));

describe('whole-document path', () => {
  test.each([
    ['a delivery document', json({ Records: [record(), record(), record()] })],
    ['a bare array', json([record(), record()])],
    ['other top-level keys around Records', json({ before: { Records: 1 }, Records: [record()], after: [1, 2] })],
    ['elements that are not objects', json({ Records: [record(), 1, 'x', null, [record()], record()] })],
    [
      'records the normalizer skips',
      json({
        Records: [
          record({ eventTime: 'yesterday' }),
          record({ eventName: undefined }),
          record({ eventType: 'AwsCloudTrailInsight' }),
        ],
      }),
    ],
    ['duplicate eventIDs', json({ Records: [record({ eventID: 'same' }), record({ eventID: 'same' }), record()] })],
    ['an empty Records array', json({ Records: [] })],
    ['no Records', json({ records: [] })],
    ['Records that is not an array', json({ Records: { a: 1 } })],
    [
      'two Records keys',
      Buffer.from(`{"Records":[${JSON.stringify(record())}],"Records":[${JSON.stringify(record())}]}`),
    ],
    ['a record holding the text "Records"', json({ Records: [record({ requestParameters: { key: '"Records"' } })] })],
    ['a key ending in Records', json({ Records: [record({ requestParameters: { maxRecords: 100 } })] })],
    [
      'a second Records key right after the first array',
      Buffer.from(`{"Records":[],"Records":[${JSON.stringify(record())}]}`),
    ],
    ['a delivery with a newline after it', Buffer.concat([json({ Records: [record()] }), Buffer.from('\n \r\t')])],
    ['spaces inside the delivery wrapper', Buffer.from(`{"Records": [ ${JSON.stringify(record())} ] }`)],
    ['spaces before the Records key', Buffer.from(`{ "Records":[${JSON.stringify(record())}]}`)],
    ['a Records key and nothing else', Buffer.from('{"Records":}')],
    ['the wrapper alone, unclosed', Buffer.from('{"Records":')],
    ['Records that is an object, in the delivery wrapper', Buffer.from('{"Records":{"Records":[]}}')],
    [
      'a second Records key with spaces after the first array',
      Buffer.from(`{"Records":[${JSON.stringify(record())}] , "Records" : [${JSON.stringify(record())}] }`),
    ],
    ['a byte order mark', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), json({ Records: [record()] })])],
    ['trailing garbage', Buffer.concat([json({ Records: [record()] }), Buffer.from('xyz')])],
    ['a truncated document', json({ Records: [record(), record()] }).subarray(0, 700)],
    [
      'a broken record',
      Buffer.from(`{"Records":[${JSON.stringify(record())},{"eventTime":"2024-01-01T00:00:00Z","eventName":tru}]}`),
    ],
    [
      'invalid UTF-8 inside a string',
      Buffer.concat([
        Buffer.from('{"Records":[{"eventTime":"2024-01-01T00:00:00Z","eventName":"A'),
        Buffer.from([0xff]),
        Buffer.from('"}]}'),
      ]),
    ],
    ['not JSON', Buffer.from('hello')],
  ])('%s', async (_what, bytes) => {
    await expectSame(bytes);
  });

  test('a gzip that cannot be inflated in one call is left to the streaming read, with nothing counted', async () => {
    const whole = gzipSync(json({ Records: [record(), record()] }));
    for (const broken of [
      whole.subarray(0, whole.length - 12),
      Buffer.concat([whole.subarray(0, 20), Buffer.alloc(40, 7)]),
    ]) {
      const report = createReadReport('f.json.gz');
      expect(readTrailBuffer(broken, { file: 'f.json.gz', report })).toBeUndefined();
      expect({ ...report, gzip: false }).toEqual(createReadReport('f.json.gz'));
      expect((await read(broken, false)).report.errors[0].kind).toMatch(/^(truncated|corrupt)-gzip$/);
    }
  });

  describe('the one-call inflate sized from the gzip trailer', () => {
    /** The gzip with its trailer's ISIZE (its last four bytes) replaced. */
    const withDeclaredSize = (gz: Buffer, size: number) => {
      const copy = Buffer.from(gz);
      copy.writeUInt32LE(size, copy.length - 4);
      return copy;
    };

    test("takes the declared size, one byte more, at least zlib's own 16 KB chunk", () => {
      const doc = json({ Records: Array.from({ length: 60 }, () => record()) });
      expect(doc.length).toBeGreaterThan(16 * 1024);
      expect(inflateChunkSize(gzipSync(doc))).toBe(doc.length + 1);
      expect(inflateChunkSize(gzipSync(json({ Records: [record()] })))).toBe(16 * 1024);
      expect(inflateChunkSize(Buffer.alloc(5))).toBe(16 * 1024);
    });

    test('a lying trailer cannot make a small file allocate more than its bytes can inflate to', () => {
      const gz = gzipSync(json({ Records: [record()] }));
      expect(inflateChunkSize(withDeclaredSize(gz, 0xffffffff))).toBe(gz.length * 1032 + 1);
      const big = Buffer.concat([gz, Buffer.alloc(100_000)]);
      expect(inflateChunkSize(withDeclaredSize(big, 0xffffffff))).toBe(64 * 1024 * 1024 + 1);
    });

    test('a trailer that lies is a corrupt gzip, left to the streaming read, which reports it', async () => {
      const gz = gzipSync(json({ Records: [record(), record()] }));
      for (const size of [0, 10, 0xffffffff]) {
        const lying = withDeclaredSize(gz, size);
        expect(readTrailBuffer(lying, { file: 'f.json.gz', report: createReadReport('f.json.gz') })).toBeUndefined();
        expect((await read(lying, false)).report.errors.map((e) => e.kind)).toEqual(['corrupt-gzip']);
      }
    });

    test('several gzip members (the last trailer declares only its own member) read whole', async () => {
      const doc = json({ Records: Array.from({ length: 60 }, () => record()) });
      const cut = doc.length - 100;
      const members = Buffer.concat([gzipSync(doc.subarray(0, cut)), gzipSync(doc.subarray(cut))]);
      await expectSame(doc, [members]);
      expect(readSync(members, new EventIdDeduper())?.events).toHaveLength(60);
    });
  });

  test('an empty buffer is an empty file, as an empty source is', async () => {
    expect(readSync(Buffer.alloc(0), new EventIdDeduper())).toEqual(await read(Buffer.alloc(0), false));
  });

  test('every real document in ../shared/data', async () => {
    let documents = 0;
    for (const file of walk(DATA_DIR)) {
      if (!/\.json(\.gz)?$/.test(file)) continue;
      // As stored (mostly gzip); the gzip and plain forms of each shape are covered above.
      const bytes = readFileSync(file);
      // Compared as text (key order included), which is many times faster than a deep equality over a
      // thousand documents; a difference is shown as a readable diff first.
      const fast = JSON.stringify(await read(bytes, false, new EventIdDeduper()));
      const split = JSON.stringify(await read(bytes, true, new EventIdDeduper()));
      const sync = JSON.stringify(readSync(bytes, new EventIdDeduper()));
      if (fast !== split) expect(JSON.parse(fast)).toEqual(JSON.parse(split));
      expect(fast).toBe(split);
      expect(sync).toBe(fast);
      documents++;
    }
    expect(documents).toBeGreaterThan(1000);
  });
});
