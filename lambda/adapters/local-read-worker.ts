/**
 * A reader thread of `readLocalFiles` and `summarizeLocalFiles` (local-reader.ts): runs each task it is given
 * (`runTask`: read the files with the ingest core's reader, then encode their events or count them) and posts the
 * result back, one message per task. The events of a counted task are kept until released, in case the reading
 * thread asks for them (`WorkerResend`: a batch holding a duplicate eventID).
 */
import { parentPort } from 'node:worker_threads';
import type { TrailEvent } from '../core/event';
import {
  encodeEvents,
  runTask,
  transferables,
  type WorkerReply,
  type WorkerResend,
  type WorkerResent,
  type WorkerTask,
} from './local-reader';

const kept = new Map<number, TrailEvent[]>();

function post(message: WorkerReply | WorkerResent): void {
  // The typed arrays move to the reading thread without a copy.
  parentPort?.postMessage(message, transferables(message));
}

parentPort?.on('message', async (message: WorkerTask | WorkerResend) => {
  if ('resend' in message) {
    const events = kept.get(message.resend);
    // Asked only for a task replied to and not released: anything else is a bug, which fails the thread (the
    // reading thread then reads the files itself).
    if (!events) throw new Error(`reader thread: no events kept for task ${message.resend}`);
    post({ resent: message.resend, events: encodeEvents(events) });
    return;
  }
  if (message.release !== undefined) for (const id of kept.keys()) if (id < message.release) kept.delete(id);
  const { reply, events } = await runTask(message);
  if (message.count) kept.set(message.id, events);
  post(reply);
});
