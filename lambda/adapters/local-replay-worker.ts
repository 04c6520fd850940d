/** A replay thread of `replayByPartition` (local-replay.ts): replays its share of the files and posts the outcomes. */
import { parentPort, workerData } from 'node:worker_threads';
import { type ReplayPart, runReplayPart } from './local-replay';

void runReplayPart(workerData as ReplayPart, (message) => parentPort?.postMessage(message));
