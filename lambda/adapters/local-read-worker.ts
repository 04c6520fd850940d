/**
 * A reader thread of `readLocalFiles` (local-reader.ts): reads the files of each task with the ingest core's
 * reader and posts their events and reports back, one message per task.
 */
import { parentPort } from 'node:worker_threads';
import type { TrailEvent } from '../core/event';
import { encodeEvents, readOneFile, type WorkerReply, type WorkerTask } from './local-reader';

parentPort?.on('message', async (task: WorkerTask) => {
  const events: TrailEvent[] = [];
  const files: WorkerReply['files'][number][] = [];
  for (const file of task.files) {
    const result = await readOneFile(file, task.maxRecordBytes);
    for (const e of result.events) events.push(e);
    files.push({ report: result.report, events: result.events.length });
  }
  const encoded = encodeEvents(events);
  const reply: WorkerReply = { id: task.id, events: encoded, files };
  // The typed arrays move to the reading thread without a copy.
  parentPort?.postMessage(reply, [encoded.time.buffer, encoded.flags.buffer, encoded.refs.buffer] as ArrayBuffer[]);
});
