/**
 * The local readers' threads (local-reader.ts, local-replay.ts): how many to start, and how to start one.
 */
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/** Threads by default: one per core, at most 8; none on a single core (the work stays in the calling thread). */
export function defaultThreads(): number {
  const cores = availableParallelism();
  return cores > 1 ? Math.min(cores, 8) : 0;
}

/**
 * Starts the thread script `name`: the bundled `<name>.js` beside the command bundle that holds this code (the
 * build puts them side by side), or, when this module runs as TypeScript (tests, `tsx`), `<name>.ts` here through
 * tsx's require hook (`--import tsx` in a worker's execArgv does not reach its module loader: the thread would fail
 * and its work would be done in the calling thread instead).
 */
export function startThread(name: string, options: WorkerOptions = {}): Worker {
  if (!__filename.endsWith('.ts')) return new Worker(join(__dirname, `${name}.js`), options);
  const script = join(__dirname, `${name}.ts`);
  return new Worker(`require('tsx/cjs');\nrequire(${JSON.stringify(script)});`, { ...options, eval: true });
}
