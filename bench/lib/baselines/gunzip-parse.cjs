// The plain single-core baseline for many small files: walk the tree, then for each delivery file
// readFileSync + gunzipSync + JSON.parse of the whole document + a count per eventName. The simplest correct
// program, what `trailsight summary` is measured against (`npm run bench`, cli section). Prints the event count. Its
// walk and per-file work are exported for gunzip-parse-threads.cjs, the same baseline on every core.
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
function countFiles(files) {
  const counts = new Map();
  let events = 0;
  for (const file of files) {
    const doc = JSON.parse(gunzipSync(readFileSync(file)).toString('utf8'));
    for (const r of doc.Records) counts.set(r.eventName, (counts.get(r.eventName) ?? 0) + 1);
    events += doc.Records.length;
  }
  return events;
}

module.exports = { walk, countFiles };

if (require.main === module) process.stdout.write(`${countFiles(walk(process.argv[2], []).sort())}\n`);
