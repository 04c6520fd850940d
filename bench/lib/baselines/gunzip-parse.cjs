// The plain single-core baseline for many small files: walk the tree, then for each delivery file
// readFileSync + gunzipSync + JSON.parse of the whole document + a count per eventName. The simplest correct
// program, what `trailsight summary` is measured against (`npm run bench`, cli section). Prints the event count. Its
// walk and per-file work are exported for gunzip-parse-threads.cjs, the same baseline on every core.
// With --sized-inflate, each gunzipSync writes into one buffer of the size the gzip trailer declares, as Trailsight's
// reader does (inflateChunkSize in lambda/core/reader.ts): not the baseline, what that one change gives it.
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

/** The baseline's work on each file: read, inflate, parse the whole document, count per eventName. */
function countFiles(files, sizedInflate = false) {
  const counts = new Map();
  let events = 0;
  for (const file of files) {
    const gz = readFileSync(file);
    const options = sizedInflate ? { chunkSize: Math.max(16384, gz.readUInt32LE(gz.length - 4) + 1) } : {};
    const doc = JSON.parse(gunzipSync(gz, options).toString('utf8'));
    for (const r of doc.Records) counts.set(r.eventName, (counts.get(r.eventName) ?? 0) + 1);
    events += doc.Records.length;
  }
  return events;
}

module.exports = { walk, countFiles };

if (require.main === module) {
  const sized = process.argv[3] === '--sized-inflate';
  process.stdout.write(`${countFiles(walk(process.argv[2], []).sort(), sized)}\n`);
}
