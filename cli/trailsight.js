#!/usr/bin/env node
// Entry of the `trailsight` command: runs the JavaScript bundle that `npm run build:cli` writes (npm runs it on
// `npm ci`, `npm install` and `npm pack` through the `prepare` script). No TypeScript is compiled at run time.

let cli;
try {
  cli = require('../dist/cli/trailsight.js');
} catch (err) {
  if (err?.code !== 'MODULE_NOT_FOUND' || !String(err.message).includes('dist/cli/trailsight.js')) throw err;
  process.stderr.write(
    'trailsight: the command is not built; run `npm run build:cli` (or `npm ci`) in the repository\n',
  );
  process.exit(2);
}
cli.main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`trailsight: ${err?.stack ?? err}\n`);
    process.exitCode = 2;
  },
);
