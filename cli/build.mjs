// Builds the `trailsight` command to JavaScript with esbuild, so it starts without compiling TypeScript:
// `dist/cli/trailsight.js` (argument dispatch only), one bundle per command in `dist/cli/commands/` (loaded when
// the command runs, as cli/main.ts requires them), the reader and replay threads' scripts beside the commands that start them,
// and `dist/queries/` (the SQL library the catalog reads at run time). Run by `npm run build:cli`, and by `prepare`,
// which npm runs on `npm ci`, `npm install` and `npm pack`.
//
// Why bundles rather than `tsc` output: a bundle loads in milliseconds where hundreds of modules take hundreds
// (`trailsight --help` must answer in under 300 ms), a command never parses another's code, and the pure-JavaScript
// dependencies ride inside, so installing the package fetches only DuckDB's native binary (external: it is a
// native module).
import { cpSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import threadBundles from './thread-bundles.cjs';

const { NODE_BUNDLE, threadEntryPoints } = threadBundles;

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist');

rmSync(out, { recursive: true, force: true });
await build({
  entryPoints: {
    'cli/trailsight': join(root, 'cli/main.ts'),
    'cli/commands/detect': join(root, 'cli/commands/detect.ts'),
    'cli/commands/findings': join(root, 'cli/commands/findings.ts'),
    'cli/commands/index': join(root, 'cli/commands/index.ts'),
    'cli/commands/query': join(root, 'cli/commands/query.ts'),
    'cli/commands/report': join(root, 'cli/commands/report.ts'),
    'cli/commands/rules': join(root, 'cli/commands/rules.ts'),
    'cli/commands/summary': join(root, 'cli/commands/summary.ts'),
    'cli/commands/verify': join(root, 'cli/commands/verify.ts'),
    // The AWS SDK for `query --athena`, required by the query command only when it runs on Athena.
    'cli/athena': join(root, 'cli/athena.ts'),
    // The threads' scripts, beside the command bundles, which start them from their own directory
    // (lambda/adapters/threads.ts).
    ...Object.fromEntries(
      Object.entries(threadEntryPoints(root)).map(([name, path]) => [`cli/commands/${name}`, path]),
    ),
  },
  outdir: out,
  ...NODE_BUNDLE,
  // Each command is its own bundle, required by path at run time.
  external: ['@duckdb/node-api', './commands/*', '../athena'],
  // Files read at run time, relative to dist/cli/commands/: the SQL library (queries/catalog.ts), the built-in
  // rule pack (lambda/core/rules/load.ts) and the Chart.js build the report inlines (cli/report/html.ts).
  define: {
    TRAILSIGHT_QUERIES_DIR: JSON.stringify('../../queries'),
    TRAILSIGHT_RULES_DIR: JSON.stringify('../../rules'),
    TRAILSIGHT_CHARTJS_FILE: JSON.stringify('../../vendor/chart.umd.min.js'),
  },
  legalComments: 'linked',
  logLevel: 'warning',
});
cpSync(join(root, 'queries'), join(out, 'queries'), { recursive: true, filter: (p) => !p.endsWith('.ts') });
cpSync(join(root, 'rules'), join(out, 'rules'), { recursive: true });
const require = createRequire(import.meta.url);
cpSync(join(dirname(require.resolve('chart.js')), 'chart.umd.min.js'), join(out, 'vendor', 'chart.umd.min.js'));
