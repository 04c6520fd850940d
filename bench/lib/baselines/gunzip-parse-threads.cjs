// The plain baseline on every core: the same walk as gunzip-parse.cjs, then the delivery files split over one worker
// thread per core (consecutive runs of 64 files, dealt in turn), each doing readFileSync + gunzipSync + JSON.parse
// + a count per eventName. Not a target: it shows what this machine's cores give the simplest correct program, the
// ceiling for `trailsight summary` on every core (`npm run bench`, cli section). Prints the event count.
const { availableParallelism } = require('node:os');
const { Worker, isMainThread, parentPort, workerData } = require('node:worker_threads');
const { readdirSync, readFileSync } = require('node:fs');
const { join } = require('node:path');
const { gunzipSync } = require('node:zlib');

function walk(dir, out) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) walk(path, out);
    else if (entry.name.endsWith('.json.gz')) out.push(path);
  }
  return out;
}

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
  const counts = new Map();
  let events = 0;
  for (const file of workerData) {
    const doc = JSON.parse(gunzipSync(readFileSync(file)).toString('utf8'));
    for (const r of doc.Records) counts.set(r.eventName, (counts.get(r.eventName) ?? 0) + 1);
    events += doc.Records.length;
  }
  parentPort.postMessage(events);
}
