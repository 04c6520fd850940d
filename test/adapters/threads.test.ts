/**
 * Stopping the local readers' threads: between two steps of their work, never mid-statement (see `stopThread`).
 */
import { resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import { scanLocalPaths } from '../../lambda/adapters/local-files';
import type { WorkerTask } from '../../lambda/adapters/local-reader';
import type { ReplayMessage, ReplayPart } from '../../lambda/adapters/local-replay';
import { startThread, stopThread } from '../../lambda/adapters/threads';
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
