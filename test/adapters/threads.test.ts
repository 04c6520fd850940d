/**
 * Stopping the local readers' threads: between two steps of their work, never mid-statement (see `stopThread`).
 */
import { resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import { scanLocalPaths } from '../../lambda/adapters/local-files';
import type { WorkerTask } from '../../lambda/adapters/local-reader';
import type { ReplayMessage, ReplayPart } from '../../lambda/adapters/local-replay';
import { startThread, stopThread, THREADS_DIR_ENV } from '../../lambda/adapters/threads';
import { fileIdentity, REPLAY_STATE_FORMAT, resolveDetectConfig } from '../../lambda/core/detect';

const SAMPLES = resolve(__dirname, '../../samples');
const logs = scanLocalPaths([resolve(SAMPLES, 'grycap-cloudtrail-tracker')]).files.filter((f) => f.info.kind === 'log');

/** Resolves with a thread's exit code. */
const exitOf = (worker: Worker) => new Promise<number>((done) => worker.once('exit', done));

describe('stopThread', () => {
  test('a reader thread with tasks in hand ends by itself on the stop message, unterminated', async () => {
    const worker = startThread('local-read-worker');
    const terminate = jest.spyOn(worker, 'terminate');
    const exit = exitOf(worker);
    // The stop comes behind the tasks: the thread has started them all when it reads it.
    for (let id = 0; id < 4; id++)
      worker.postMessage({ id, files: logs, mode: { kind: 'count' } } satisfies WorkerTask);

    await stopThread(worker);

    expect(terminate).not.toHaveBeenCalled();
    expect(await exit).toBe(0);
  });

  test('a replay thread stops after the file at hand on the stop message, without its end, unterminated', async () => {
    const part: ReplayPart = {
      config: resolveDetectConfig({}),
      state: { format: REPLAY_STATE_FORMAT, partitions: {}, applied: {} },
      files: logs.map((file, index) => ({
        file,
        index,
        deliveredAt: Number(file.info.deliveredAt),
        identity: fileIdentity(file.key),
      })),
    };
    const worker = startThread('local-replay-worker', { workerData: part });
    const terminate = jest.spyOn(worker, 'terminate');
    const messages: ReplayMessage[] = [];
    worker.on('message', (m: ReplayMessage) => messages.push(m));
    const exit = exitOf(worker);
    await new Promise((r) => worker.once('message', r)); // replaying

    await stopThread(worker);

    expect(terminate).not.toHaveBeenCalled();
    expect(await exit).toBe(0);
    expect(messages.map((m) => m.kind)).not.toContain('end');
    const outcomes = messages.flatMap((m) => (m.kind === 'outcomes' ? m.outcomes : []));
    expect(outcomes.length).toBeLessThan(logs.length);
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
  expect((await error).message).toBe('a thread was sent a message it does not know: {"not":"a task"}');
  expect(await exit).toBe(1);
});

describe('startThread, running as TypeScript', () => {
  const countTask: WorkerTask = { id: 7, files: logs.slice(0, 3), mode: { kind: 'count' } };
  const replyOf = async (worker: Worker) => {
    worker.postMessage(countTask);
    const reply = await new Promise<{ id: number; files: unknown[] }>((r) => worker.once('message', r));
    await stopThread(worker);
    return reply;
  };

  test('starts the bundled script the test run built (test/support/global-setup.ts)', async () => {
    const dir = process.env[THREADS_DIR_ENV] as string;
    expect(dir).toBeTruthy();
    const threads: typeof import('node:worker_threads') = require('node:worker_threads');
    const RealWorker = threads.Worker;
    const spy = jest.spyOn(threads, 'Worker').mockImplementation((...args) => new RealWorker(...args));
    try {
      const reply = await replyOf(startThread('local-read-worker'));
      expect(spy.mock.calls.map(([script]) => String(script))).toEqual([resolve(dir, 'local-read-worker.js')]);
      expect(reply).toMatchObject({ id: 7, files: [{}, {}, {}] });
    } finally {
      spy.mockRestore();
    }
  });

  test('without bundles, compiles the TypeScript script in the thread through tsx', async () => {
    const dir = process.env[THREADS_DIR_ENV];
    delete process.env[THREADS_DIR_ENV];
    try {
      expect(await replyOf(startThread('local-read-worker'))).toMatchObject({ id: 7, files: [{}, {}, {}] });
    } finally {
      process.env[THREADS_DIR_ENV] = dir;
    }
  });
});
