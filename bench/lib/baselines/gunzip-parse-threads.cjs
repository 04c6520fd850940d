// The plain baseline on every core: gunzip-parse.cjs's walk, then the delivery files split over one worker thread
// per core (consecutive runs of 64 files, dealt in turn), each doing gunzip-parse.cjs's work (readFileSync +
// gunzipSync + JSON.parse + a count per eventName). Not a target: it shows what this machine's cores give the
// simplest correct program, the ceiling for `trailsight summary` on every core (`npm run bench`, cli section).
// Prints the event count.
const { availableParallelism } = require('node:os');
const { Worker, isMainThread, parentPort, workerData } = require('node:worker_threads');
const { countFiles, walk } = require('./gunzip-parse.cjs');

if (isMainThread) {
  const threads = availableParallelism();
  const files = walk(process.argv[2], []).sort();
  const parts = Array.from({ length: threads }, (_, t) => files.filter((_, i) => Math.floor(i / 64) % threads === t));
  let events = 0;
  let done = 0;
  for (const part of parts) {
    new Worker(__filename, { workerData: part }).on('message', (n) => {
      events += n;
      if (++done === threads) process.stdout.write(`${events}\n`);
    });
  }
} else {
  parentPort.postMessage(countFiles(workerData));
}
