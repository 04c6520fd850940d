/**
 * Stopping the local readers' threads: between two steps of their work, never mid-statement (see `stopThread`).
 */
import { mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import { gunzipSync } from 'node:zlib';
import { type LocalFile, scanLocalPaths } from '../../lambda/adapters/local-files';
import type { WorkerTask } from '../../lambda/adapters/local-reader';
import { type ReplayMessage, type ReplayPart, runReplayPart } from '../../lambda/adapters/local-replay';
import { startThread, stopThread, THREADS_DIR_ENV, unexpectedMessage } from '../../lambda/adapters/threads';
import { fileIdentity, REPLAY_STATE_FORMAT, resolveDetectConfig } from '../../lambda/core/detect';

const SAMPLES = resolve(__dirname, '../../samples');
const logs = scanLocalPaths([resolve(SAMPLES, 'grycap-cloudtrail-tracker')]).files.filter((f) => f.info.kind === 'log');

/** The grycap sample's log files as one replay thread's share. */
function replayPart(): ReplayPart {
  return {
    config: resolveDetectConfig({}),
    state: { format: REPLAY_STATE_FORMAT, partitions: {}, applied: {} },
    files: logs.map((file, index) => ({
      file,
      index,
      deliveredAt: Number(file.info.deliveredAt),
      identity: fileIdentity(file.key),
    })),
  };
}

/** A named delivery file of about 5 MB (uncompressed JSON, as someone may keep them), from a real record. */
function bigDelivery(): LocalFile {
  const [record] = JSON.parse(gunzipSync(readFileSync(logs[0].path)).toString('utf8')).Records;
  const records = Array.from({ length: 20_000 }, (_, i) => ({ ...record, eventID: `big-${i}` }));
  const dir = mkdtempSync(join(tmpdir(), 'trailsight-threads-'));
  const folder = join(dir, 'AWSLogs/111122223333/CloudTrail/us-east-1/2024/01/01');
  mkdirSync(folder, { recursive: true });
  writeFileSync(
    join(folder, '111122223333_CloudTrail_us-east-1_20240101T0000Z_big.json'),
    JSON.stringify({ Records: records }),
  );
  const [file] = scanLocalPaths([dir]).files;
  expect(statSync(file.path).size).toBeGreaterThan(4 * 1024 * 1024);
  return file;
}

/** Resolves with a thread's exit code. */
const exitOf = (worker: Worker) => new Promise<number>((done) => worker.once('exit', done));

describe('stopThread', () => {
  test('a reader thread with a task in hand ends by itself on the stop message, unterminated', async () => {
    // A file over 4 MB is streamed: the task waits on reads when the stop, sent right behind it, is read.
    const big = bigDelivery();
    const worker = startThread('local-read-worker');
    const terminate = jest.spyOn(worker, 'terminate');
    const replies: unknown[] = [];
    worker.on('message', (m) => replies.push(m));
    const exit = exitOf(worker);
    worker.postMessage({ id: 0, files: [big], mode: { kind: 'count' } } satisfies WorkerTask);

    await stopThread(worker);

    expect(terminate).not.toHaveBeenCalled();
    expect(await exit).toBe(0);
    expect(replies).toEqual([]); // the task finished after the stop: its reply went nowhere
  });

  test('a replay thread stops on the stop message before its next file, without its end, unterminated', async () => {
    const worker = startThread('local-replay-worker', { workerData: replayPart() });
    const terminate = jest.spyOn(worker, 'terminate');
    const messages: unknown[] = [];
    worker.on('message', (m) => messages.push(m));
    const exit = exitOf(worker);

    await stopThread(worker); // read before the first file

    expect(terminate).not.toHaveBeenCalled();
    expect(await exit).toBe(0);
    expect(messages).toEqual([]);
  });

  test('a replay stops before the next file once told to, and sends neither the rest nor its end', async () => {
    const posted: ReplayMessage[] = [];
    let checked = 0;
    await runReplayPart(
      replayPart(),
      (m) => posted.push(m),
      () => ++checked > 40,
    );
    // 40 files replayed: the first 32 outcomes were posted as they came; the 8 after them and the end never are.
    expect(checked).toBe(41);
    expect(posted.map((m) => m.kind)).toEqual(['outcomes']);
    expect(posted[0].kind === 'outcomes' && posted[0].outcomes.map((o) => o.index)).toEqual(
      Array.from({ length: 32 }, (_, i) => i),
    );
  });

  test('a thread that does not end within the grace period is terminated', async () => {
    const worker = new Worker('for (;;) {}', { eval: true });
    await new Promise((r) => worker.once('online', r));
    const terminate = jest.spyOn(worker, 'terminate');
    const exit = exitOf(worker);

    await stopThread(worker, 100);

    expect(terminate).toHaveBeenCalledTimes(1);
    expect(await exit).toBe(1);
  });

  test('a thread that has already ended is left as it is', async () => {
    const worker = new Worker('', { eval: true });
    await exitOf(worker);
    const post = jest.spyOn(worker, 'postMessage');

    await stopThread(worker);

    expect(post).not.toHaveBeenCalled();
  });
});

test('a reader thread sent a message it does not know fails with an error naming it', async () => {
  const worker = startThread('local-read-worker');
  const error = new Promise<Error>((r) => worker.once('error', r));
  const exit = exitOf(worker);
  worker.postMessage({ not: 'a task' });
  expect((await error).message).toBe("a thread was sent a message it does not know: { not: 'a task' }");
  expect(await exit).toBe(1);
});

describe('startThread, running as TypeScript', () => {
  const countTask: WorkerTask = { id: 7, files: logs.slice(0, 3), mode: { kind: 'count' } };
  /** Starts the reader thread, has it count three files, stops it; says how its Worker was made and what it replied. */
  const started = async () => {
    const threads: typeof import('node:worker_threads') = require('node:worker_threads');
    const RealWorker = threads.Worker;
    const spy = jest.spyOn(threads, 'Worker').mockImplementation((...args) => new RealWorker(...args));
    try {
      const worker = startThread('local-read-worker');
      worker.postMessage(countTask);
      const reply = await new Promise<{ id: number; files: unknown[] }>((r, fail) => {
        worker.once('message', r);
        worker.once('error', fail); // a script that cannot be loaded
      });
      await stopThread(worker);
      const [[script, options]] = spy.mock.calls;
      return { script: String(script), evaluated: options?.eval === true, reply };
    } finally {
      spy.mockRestore();
    }
  };
  const counted = { id: 7, files: [{}, {}, {}] };
  /** The tsx route: the script is a snippet requiring tsx, then the TypeScript file. */
  const throughTsx = expect.stringContaining(`require('tsx/cjs');`);

  test('starts the bundled script the test run built (test/support/global-setup.ts)', async () => {
    const dir = process.env[THREADS_DIR_ENV] as string;
    expect(dir).toBeTruthy();
    const { script, evaluated, reply } = await started();
    expect({ script, evaluated }).toEqual({ script: resolve(dir, 'local-read-worker.js'), evaluated: false });
    expect(reply).toMatchObject(counted);
  });

  test('without bundles, compiles the TypeScript script in the thread through tsx', async () => {
    const dir = process.env[THREADS_DIR_ENV] as string;
    delete process.env[THREADS_DIR_ENV];
    try {
      const { script, evaluated, reply } = await started();
      expect({ script, evaluated }).toEqual({ script: throughTsx, evaluated: true });
      expect(reply).toMatchObject(counted);
    } finally {
      process.env[THREADS_DIR_ENV] = dir;
    }
  });

  test('a setting whose directory is gone is ignored: the TypeScript script is started', async () => {
    const dir = process.env[THREADS_DIR_ENV] as string;
    process.env[THREADS_DIR_ENV] = join(tmpdir(), 'trailsight-threads-gone');
    try {
      const { script, evaluated, reply } = await started();
      expect({ script, evaluated }).toEqual({ script: throughTsx, evaluated: true });
      expect(reply).toMatchObject(counted);
    } finally {
      process.env[THREADS_DIR_ENV] = dir;
    }
  });
});

test('an unexpected message is named whatever it holds (a cycle, a BigInt), and shortly', () => {
  const cyclic: Record<string, unknown> = { n: 1n };
  cyclic.self = cyclic;
  expect(unexpectedMessage(cyclic).message).toBe(
    'a thread was sent a message it does not know: <ref *1> { n: 1n, self: [Circular *1] }',
  );
  expect(unexpectedMessage('x'.repeat(500)).message).toHaveLength(
    'a thread was sent a message it does not know: '.length + 80,
  );
});
