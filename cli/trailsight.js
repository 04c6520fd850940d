#!/usr/bin/env node
// Entry shim for `npx trailsight`: registers tsx so the TypeScript CLI runs without a build step.

require('tsx/cjs/api').register();
const { main } = require('./main.ts');

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`trailsight: ${err?.stack ?? err}\n`);
    process.exitCode = 2;
  },
);
