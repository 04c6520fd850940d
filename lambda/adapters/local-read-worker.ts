/**
 * A reader thread of `readLocalFiles` and `summarizeLocalFiles` (local-reader.ts): runs each task it is given
 * (`runTask`: read the files with the ingest core's reader, then encode their events, or count them and send
 * their eventIDs) and posts
 * the result back, one message per task.
 */
import { parentPort } from 'node:worker_threads';
import { runTask, transferables, type WorkerTask } from './local-reader';

parentPort?.on('message', async (task: WorkerTask) => {
  const reply = await runTask(task);
  parentPort?.postMessage(reply, transferables(reply));
});
