/**
 * readLocalFiles: every core reads, and the caller still gets each file's events in the order given, identical
 * to reading the files one after another here (events, dedupe, reports).
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { scanLocalPaths } from '../../lambda/adapters/local-files';
import {
  decodeEvents,
  encodeEvents,
  type FileEvents,
  readLocalDeltas,
  readLocalFiles,
  summarizeLocalFiles,
} from '../../lambda/adapters/local-reader';
import { EventIdDeduper } from '../../lambda/core/dedupe';
import { DeltaBuilder, fileIdentity, resolveDetectConfig, settingsOf } from '../../lambda/core/detect';
import { normalizeRecord } from '../../lambda/core/normalize';
import { loadRules, RuleEngine, resolveRulesConfig } from '../../lambda/core/rules';
import { SummaryBuilder } from '../../lambda/core/summary';

const SAMPLES = resolve(__dirname, '../../samples');

/** The bundled grycap day (343 small deliveries) plus every kind of problem and shape a tree can hold. */
function mixedTree(): string {
  const root = mkdtempSync(join(tmpdir(), 'trailsight-reader-'));
  const src = join(SAMPLES, 'grycap-cloudtrail-tracker');
  const files = scanLocalPaths([src]).files;
  for (const f of files) {
    mkdirSync(join(root, f.key, '..'), { recursive: true });
    copyFileSync(f.path, join(root, f.key));
  }
  // The same events delivered again in another file (dedupe across files), a truncated delivery, JSON Lines,
  // an export holding a single record, and files that are not CloudTrail's.
  const first = files[0];
  const day = join(root, first.key, '..');
  copyFileSync(
    first.path,
    join(
      day,
      first.key
        .split('/')
        .pop()!
        .replace(/_[A-Za-z0-9]+\.json\.gz$/, '_ZZZZduplicate0000.json.gz'),
    ),
  );
  // A delivery one of whose records is skipped (no eventName): its report, not plain, crosses threads whole.
  const [kept] = JSON.parse(gunzipSync(readFileSync(first.path)).toString('utf8')).Records;
  writeFileSync(
    join(day, '974349055189_CloudTrail_us-east-1_20170601T2358Z_skippedrecord0.json.gz'),
    gzipSync(JSON.stringify({ Records: [{ ...kept, eventID: 'skipped-1' }, { eventTime: kept.eventTime }] })),
  );
  writeFileSync(
    join(day, '974349055189_CloudTrail_us-east-1_20170601T2359Z_truncatedtruncate.json.gz'),
    gzipSync('{"Records":[{"eventTime":"2017-06-01T23:58:00Z"').subarray(0, 30),
  );
  const r = { eventTime: '2017-06-01T12:00:00Z', eventName: 'X', eventSource: 'iam.amazonaws.com', eventID: 'jsonl-1' };
  writeFileSync(join(root, 'export.jsonl'), `${JSON.stringify(r)}\n${JSON.stringify({ ...r, eventID: 'jsonl-2' })}\n`);
  writeFileSync(join(root, 'single.json'), JSON.stringify({ ...r, eventID: 'single-1' }));
  // An eventID that is not a UUID delivered again (threads send such IDs as strings, UUIDs as words).
  writeFileSync(join(root, 'export.zz.jsonl'), `${JSON.stringify({ ...r, eventID: 'jsonl-2' })}\n`);
  writeFileSync(join(root, 'labels.json'), JSON.stringify({ labels: [] }));
  return root;
}

/** Fails the test if the reader threads failed (their files would be read in this thread, hiding it). */
const threadsMustWork = { onThreadFailure: (e: Error) => expect(e).toBeUndefined() };

async function collect(workers: number, root: string): Promise<FileEvents[]> {
  const out: FileEvents[] = [];
  const files = scanLocalPaths([root]).files;
  for await (const f of readLocalFiles(files, { workers, dedupe: new EventIdDeduper(), ...threadsMustWork }))
    out.push(f);
  return out;
}

describe('readLocalFiles', () => {
  test('with worker threads, gives the files in order with the same events and reports as in one thread', async () => {
    const root = mixedTree();
    const one = await collect(0, root);
    const two = await collect(2, root);
    expect(two.map((f) => f.file.key)).toEqual(one.map((f) => f.file.key));
    for (let i = 0; i < one.length; i++) {
      expect(two[i].events).toEqual(one[i].events);
      expect(two[i].report).toEqual(one[i].report);
    }
    const duplicates = one.reduce((n, f) => n + (f.report.skipped.duplicate ?? 0), 0);
    expect(duplicates).toBeGreaterThan(0);
    expect(
      one
        .filter((f) => !f.report.complete)
        .map((f) => f.file.key.split('/').pop())
        .sort(),
    ).toEqual(['974349055189_CloudTrail_us-east-1_20170601T2359Z_truncatedtruncate.json.gz', 'labels.json']);
    expect(one.find((f) => f.file.key === 'single.json')?.events).toHaveLength(1);
    expect(one.find((f) => f.file.key === 'export.jsonl')?.events).toHaveLength(2);
    expect(one.find((f) => f.file.key === 'export.zz.jsonl')?.report.skipped.duplicate).toBe(1);
  });

  test("summarizeLocalFiles counts what adding every file's events would, with and without threads", async () => {
    const root = mixedTree();
    const files = scanLocalPaths([root]).files;
    // The reference: each file's events, deduped in order, added one by one.
    const expected = new SummaryBuilder();
    const reports = [];
    for await (const f of readLocalFiles(files, { workers: 0, dedupe: new EventIdDeduper() })) {
      for (const e of f.events) expected.add(e);
      reports.push(f.report);
    }
    for (const workers of [0, 1, 2]) {
      const summary = new SummaryBuilder();
      const seen = [];
      for await (const f of summarizeLocalFiles(files, summary, {
        workers,
        dedupe: new EventIdDeduper(),
        ...threadsMustWork,
      })) {
        expect(f.events).toBe(f.report.events);
        seen.push(f.report);
      }
      expect(seen).toEqual(reports);
      expect(summary.toJSON(1000)).toEqual(expected.toJSON(1000));
    }
    expect(reports.reduce((n, r) => n + (r.skipped.duplicate ?? 0), 0)).toBeGreaterThan(1);
    // Reports of every kind crossed: plain ones as numbers, the others whole.
    expect(reports.filter((r) => r.skipped['record-missing-field'])).toHaveLength(1);
    expect(reports.filter((r) => r.errors.length > 0).length).toBeGreaterThan(0);
  });

  test('readLocalDeltas gives the deltas Replay would build from the deduped events, with and without threads', async () => {
    const root = mixedTree();
    const logs = scanLocalPaths([root]).files.filter((f) => f.info.kind === 'log');
    const binMs = settingsOf(resolveDetectConfig({})).binMs;
    // The reference: each file's events, deduped in order, through the engine's own builder.
    const expected = [];
    for await (const f of readLocalFiles(logs, { workers: 0, dedupe: new EventIdDeduper() })) {
      const { account, region, deliveredAt } = f.file.info;
      const builder = new DeltaBuilder(
        { account: account!, region: region!, deliveredAt: deliveredAt!, file: fileIdentity(f.file.key) },
        binMs,
      );
      for (const e of f.events) builder.add(e);
      expected.push({ key: f.file.key, events: f.events.length, delta: builder.finish(), report: f.report });
    }
    expect(expected.reduce((n, f) => n + (f.report.skipped.duplicate ?? 0), 0)).toBeGreaterThan(0);
    for (const workers of [0, 2]) {
      const got = [];
      for await (const f of readLocalDeltas(logs, binMs, { workers, dedupe: new EventIdDeduper(), ...threadsMustWork }))
        got.push({ key: f.file.key, events: f.events, delta: f.delta, report: f.report });
      expect(got).toEqual(expected);
    }
  });

  test('readLocalDeltas with rules: the threads test the events; threads that load other rules hand the files back', async () => {
    const root = mixedTree();
    const logs = scanLocalPaths([root]).files.filter((f) => f.info.kind === 'log');
    const binMs = settingsOf(resolveDetectConfig({})).binMs;
    const config = resolveRulesConfig({});
    const loaded = loadRules(config);
    const reads = async (workers: number, digest: string, onThreadFailure: (e: Error) => void) => {
      const engine = new RuleEngine(loaded.rules, config);
      const rules = { engine, threads: { config, digest } };
      const out = [];
      for await (const f of readLocalDeltas(logs, binMs, {
        workers,
        dedupe: new EventIdDeduper(),
        rules,
        onThreadFailure,
      }))
        out.push({
          key: f.file.key,
          delta: JSON.stringify(f.delta),
          groups: engine.record(f.file.key, f.groups ?? []),
        });
      return { out, observed: { ...engine.stats } };
    };
    const expected = await reads(0, loaded.digest, threadsMustWork.onThreadFailure);
    expect(expected.out.flatMap((f) => f.groups).length).toBeGreaterThan(0);
    expect(await reads(2, loaded.digest, threadsMustWork.onThreadFailure)).toEqual(expected);
    // Threads whose rules are not the run's (a rule file changed): each fails on its first task, and this thread
    // reads and tests every file instead, to the same result.
    const failures: Error[] = [];
    expect(await reads(2, 'the digest of other rule files', (e) => failures.push(e))).toEqual(expected);
    expect(failures.map((e) => e.message)).toEqual([expect.stringMatching(/not the ones this run loaded/)]);
  });

  test('readLocalDeltas refuses a file that is not a named CloudTrail log file', async () => {
    const root = mixedTree();
    const files = scanLocalPaths([root]).files;
    await expect(readLocalDeltas(files, 300_000).next()).rejects.toThrow(
      /export\.jsonl: not a CloudTrail log file name/,
    );
  });

  test('when the reader threads die, the rest is read in this thread: the same files, events, counts and deltas', async () => {
    const root = mixedTree();
    const files = scanLocalPaths([root]).files;
    const logs = files.filter((f) => f.info.kind === 'log');
    const binMs = settingsOf(resolveDetectConfig({})).binMs;
    const reads = async (workers: number, onThreadFailure?: (e: Error) => void) => {
      const options = { workers, ...(onThreadFailure ? { onThreadFailure } : {}) };
      const events = [];
      for await (const f of readLocalFiles(files, { ...options, dedupe: new EventIdDeduper() })) events.push(f);
      const summary = new SummaryBuilder();
      const reports = [];
      for await (const f of summarizeLocalFiles(files, summary, { ...options, dedupe: new EventIdDeduper() }))
        reports.push(f.report);
      const deltas = [];
      for await (const f of readLocalDeltas(logs, binMs, { ...options, dedupe: new EventIdDeduper() }))
        deltas.push({ delta: f.delta, report: f.report });
      return { events, summary: summary.toJSON(1000), reports, deltas };
    };
    const expected = await reads(0);
    // Every reader thread fails after its first reply, with tasks in hand: it is sent a message it does not know,
    // which it throws on (`terminate()` would stop it mid-statement: see stopThread).
    const threads: typeof import('node:worker_threads') = require('node:worker_threads');
    const RealWorker = threads.Worker;
    const spy = jest.spyOn(threads, 'Worker').mockImplementation((...args) => {
      const worker = new RealWorker(...args);
      worker.once('message', () => worker.postMessage('not a task'));
      return worker;
    });
    const failures: Error[] = [];
    try {
      const got = await reads(2, (e) => failures.push(e));
      expect(got).toEqual(expected);
    } finally {
      spy.mockRestore();
    }
    expect(failures).toHaveLength(3);
    expect(failures.map((e) => e.message)).toEqual(
      Array(3).fill("a thread was sent a message it does not know: 'not a task'"),
    );
  });

  test('stops its threads when the caller stops early: each ends by itself, none is terminated', async () => {
    const files = scanLocalPaths([join(SAMPLES, 'grycap-cloudtrail-tracker')]).files;
    const threads: typeof import('node:worker_threads') = require('node:worker_threads');
    const RealWorker = threads.Worker;
    const started: { code?: number; terminate: jest.SpyInstance }[] = [];
    const spy = jest.spyOn(threads, 'Worker').mockImplementation((...args) => {
      const worker = new RealWorker(...args);
      const thread: (typeof started)[number] = { terminate: jest.spyOn(worker, 'terminate') };
      worker.once('exit', (code) => {
        thread.code = code;
      });
      started.push(thread);
      return worker;
    });
    let seen = 0;
    try {
      for await (const _ of readLocalFiles(files, { workers: 2 })) if (++seen === 3) break;
    } finally {
      spy.mockRestore();
    }
    expect(seen).toBe(3);
    expect(started).toHaveLength(2);
    // Stopped when the loop broke off: exited by then, with code 0, never terminated.
    expect(started.map((t) => t.code)).toEqual([0, 0]);
    for (const t of started) expect(t.terminate).not.toHaveBeenCalled();
  });

  test('events cross threads as columns and come back as normalizeRecord shapes them', () => {
    const records = [
      {
        eventTime: '2024-01-01T00:00:00Z',
        eventName: 'ConsoleLogin',
        eventSource: 'signin.amazonaws.com',
        responseElements: { ConsoleLogin: 'Success' },
        additionalEventData: { MFAUsed: 'No' },
        userIdentity: { type: 'AssumedRole', arn: 'arn:aws:sts::111122223333:assumed-role/r/s' },
      },
      {
        eventTime: '2024-01-01T00:00:01Z',
        eventName: 'ListUsers',
        readOnly: true,
        eventID: 'e2',
        managementEvent: false,
        userAgent: '\u001b[31m',
      },
      {
        eventTime: '2024-01-01T00:00:02Z',
        eventName: 'PutObject',
        errorCode: 'AccessDenied',
        eventCategory: 'Data',
        sourceIPAddress: '10.0.0.1',
      },
    ];
    const events = records.map((r) => normalizeRecord(r, {})) as Parameters<typeof encodeEvents>[0];
    const decoded = decodeEvents(encodeEvents(events), 0, events.length);
    expect(decoded).toEqual(events);
    expect(decoded.map((e) => Object.keys(e))).toEqual(events.map((e) => Object.keys(e)));
  });
});
