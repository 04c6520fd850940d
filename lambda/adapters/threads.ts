/**
 * The local readers' threads (local-reader.ts, local-replay.ts): how many to start, how to start one, and how to
 * stop one safely.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/** Threads by default: one per core, at most 8; none on a single core (the work stays in the calling thread). */
export function defaultThreads(): number {
  const cores = availableParallelism();
  return cores > 1 ? Math.min(cores, 8) : 0;
}

/**
 * Where `startThread` finds the thread scripts built to JavaScript when this module runs as TypeScript: the test
 * suite bundles them once per run (test/support/global-setup.ts) instead of compiling them again in every thread.
 */
export const THREADS_DIR_ENV = 'TRAILSIGHT_THREADS_DIR';

/**
 * Starts the thread script `name`: the bundled `<name>.js` beside the command bundle that holds this code (the
 * build puts them side by side) or in {@link THREADS_DIR_ENV}; otherwise, when this module runs as TypeScript
 * (`tsx`), `<name>.ts` here through tsx's require hook (`--import tsx` in a worker's execArgv does not reach its
 * module loader: the thread would fail and its work would be done in the calling thread instead), which costs each
 * thread about 0.4 s of compiling.
 */
export function startThread(name: string, options: WorkerOptions = {}): Worker {
  const bundles = process.env[THREADS_DIR_ENV];
  // A stale setting (its directory gone) is ignored rather than failing every thread.
  const built = __filename.endsWith('.ts') ? bundles && existsSync(bundles) && bundles : __dirname;
  if (built) return new Worker(join(built, `${name}.js`), options);
  const script = join(__dirname, `${name}.ts`);
  return new Worker(`require('tsx/cjs');\nrequire(${JSON.stringify(script)});`, { ...options, eval: true });
}

/** The message that asks a thread to finish the step at hand and end (see {@link stopThread}). */
export const STOP_THREAD = 'trailsight:stop-thread';

/**
 * The error a thread fails with when it is sent a message its script does not know (a caller's bug). Shown with
 * `inspect`, which, unlike JSON, takes anything a message can hold (cycles, BigInts, undefined).
 */
export function unexpectedMessage(message: unknown): Error {
  const shown = inspect(message, { depth: 2, breakLength: Number.POSITIVE_INFINITY }).slice(0, 80);
  return new Error(`a thread was sent a message it does not know: ${shown}`);
}

/** How long {@link stopThread} waits for a thread to end by itself before it is terminated. */
const STOP_GRACE_MS = 30_000;

/**
 * Stops a thread between two steps of its work rather than wherever its JavaScript happens to be: posts
 * {@link STOP_THREAD} (the thread scripts end on it once the step at hand is done: a reader thread its tasks in
 * hand, a replay thread its file) and waits for the thread to exit. `Worker.terminate()` stops a thread
 * mid-statement, and on Node 20 a thread stopped between creating a zlib handle and initializing it (in the
 * `zlib.gunzipSync` every file read makes) aborts the whole process when the thread is torn down (`node_zlib.cc`:
 * "close before init"; it killed a CI run). Only a thread that has not ended after `graceMs` (it is stuck) is
 * terminated. Never rejects: a thread that fails meanwhile has told its 'error' listeners.
 */
export async function stopThread(worker: Worker, graceMs = STOP_GRACE_MS): Promise<void> {
  if (worker.threadId === -1) return; // already exited
  // Not `events.once`, which would reject on the thread's 'error'.
  const exited = new Promise<true>((resolve) => worker.once('exit', () => resolve(true)));
  worker.postMessage(STOP_THREAD);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), graceMs);
  });
  const ended = await Promise.race([exited, late]);
  clearTimeout(timer);
  if (!ended) await worker.terminate();
}
