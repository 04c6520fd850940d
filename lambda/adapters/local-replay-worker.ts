/**
 * A replay thread of `replayByPartition` (local-replay.ts): replays its share of the files and posts the outcomes.
 * It looks for {@link STOP_THREAD} between files and stops there; any other message fails the thread, and the
 * caller replays again in its own. Looked for without yielding: small files are read synchronously, so a 'message'
 * listener would hear the stop only once the whole share was done.
 */
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { type ReplayPart, runReplayPart } from './local-replay';
import { STOP_THREAD, unexpectedMessage } from './threads';

function stopping(): boolean {
  const received = parentPort && receiveMessageOnPort(parentPort);
  if (!received) return false;
  if (received.message !== STOP_THREAD) throw unexpectedMessage(received.message);
  return true;
}

void runReplayPart(workerData as ReplayPart, (message) => parentPort?.postMessage(message), stopping);
