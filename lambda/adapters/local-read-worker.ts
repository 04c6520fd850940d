/**
 * A reader thread of `readLocalFiles` and `summarizeLocalFiles` (local-reader.ts): runs each task it is given
 * (`runTask`: read the files with the ingest core's reader, then encode their events, or count them and send
 * their eventIDs) and posts the result back, one message per task. On {@link STOP_THREAD} it closes its port: the
 * tasks it was sent before the stop finish (their replies go nowhere) and the thread ends. Any other message fails
 * the thread, and the caller reads its files itself.
 */
import { parentPort } from 'node:worker_threads';
import { runTask, transferables, type WorkerTask } from './local-reader';
import { STOP_THREAD, unexpectedMessage } from './threads';

parentPort?.on('message', (message: unknown) => {
  if (message === STOP_THREAD) return parentPort?.close();
  if (typeof message !== 'object' || message === null || !('files' in message)) throw unexpectedMessage(message);
  void runTask(message as WorkerTask).then((reply) => parentPort?.postMessage(reply, transferables(reply)));
});
