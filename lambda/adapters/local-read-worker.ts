/**
 * A reader thread of `readLocalFiles` and `summarizeLocalFiles` (local-reader.ts): runs each task it is given
 * (`runTask`: read the files with the ingest core's reader, encode their events, count them if asked) and posts
 * the result back, one message per task.
 */
import { parentPort } from 'node:worker_threads';
import { runTask, type WorkerTask } from './local-reader';

parentPort?.on('message', async (task: WorkerTask) => {
  const reply = await runTask(task);
  const { time, flags, refs } = reply.events;
  // The typed arrays move to the reading thread without a copy.
  parentPort?.postMessage(reply, [time.buffer, flags.buffer, refs.buffer] as ArrayBuffer[]);
});
