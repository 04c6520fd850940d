// The local readers' thread scripts (`lambda/adapters/*-worker.ts`) and how every bundle of the command is built:
// one definition for the command build (cli/build.mjs, which puts the threads beside the command bundles that
// start them) and the test suite (test/support/global-setup.ts, which bundles the threads once per run).
const { readdirSync } = require('node:fs');
const { join } = require('node:path');

/** The esbuild options every bundle of the command shares. */
const NODE_BUNDLE = { bundle: true, platform: 'node', target: 'node20', format: 'cjs' };

/** The thread scripts of the repository at `root`: name (`local-read-worker`, …) to source path. */
function threadEntryPoints(root) {
  const adapters = join(root, 'lambda/adapters');
  return Object.fromEntries(
    readdirSync(adapters)
      .filter((f) => f.endsWith('-worker.ts'))
      .map((f) => [f.slice(0, -'.ts'.length), join(adapters, f)]),
  );
}

module.exports = { NODE_BUNDLE, threadEntryPoints };
