/**
 * The installable CLI: `npm pack` builds the JavaScript bundles and the tarball installs and runs `trailsight`
 * outside the repository; `--help` loads nothing but the dispatcher.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const REPO = resolve(__dirname, '../..');
const { version } = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string };
const npm = (args: string[], cwd: string) =>
  execFileSync('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], { cwd, encoding: 'utf8' });

describe('the packed CLI', () => {
  let tarball: string;
  let files: string[];
  beforeAll(() => {
    const out = mkdtempSync(join(tmpdir(), 'trailsight-pack-'));
    // `npm test` builds dist/ before jest starts (`npm run build:cli`, the same script as `prepare`, which a fresh
    // clone's `npm ci` and a plain `npm pack` run). Packing without scripts leaves dist/ alone while other test
    // files run the built command; run on its own, this file builds it first.
    if (!existsSync(join(REPO, 'dist/cli/trailsight.js')))
      execFileSync(process.execPath, ['cli/build.mjs'], { cwd: REPO });
    const name = npm(['pack', '--ignore-scripts', '--pack-destination', out], REPO).trim().split('\n').pop() ?? '';
    tarball = join(out, name);
    files = execFileSync('tar', ['tzf', tarball], { encoding: 'utf8' }).trim().split('\n');
  });

  test('ships the JavaScript bundles and the query library, and no TypeScript', () => {
    expect(files).toEqual(
      expect.arrayContaining([
        'package/cli/trailsight.js',
        'package/dist/cli/trailsight.js',
        'package/dist/cli/commands/query.js',
        'package/dist/cli/commands/local-read-worker.js',
        'package/dist/queries/identity/root-account-use.sql',
      ]),
    );
    expect(files.filter((f) => f.endsWith('.ts'))).toEqual([]);
    expect(files.some((f) => /^package\/(lib|lambda|samples|test)\//.test(f))).toBe(false);
  });

  test('installs and runs in an empty directory: npx --package <tarball> trailsight --version', () => {
    const empty = mkdtempSync(join(tmpdir(), 'trailsight-empty-'));
    const out = execFileSync(
      'npx',
      [
        '--yes',
        '--prefer-offline',
        '--no-audit',
        '--no-fund',
        '--loglevel=error',
        '--package',
        tarball,
        'trailsight',
        '--version',
      ],
      { cwd: empty, encoding: 'utf8' },
    );
    expect(out.trim()).toBe(version);
  });

  test('--help loads only the dispatcher bundle, not a command', () => {
    const loaded = execFileSync(
      process.execPath,
      [
        '-e',
        `const io = { stdout() {}, stderr() {}, stderrIsTty: false };
         require('./dist/cli/trailsight.js').main(['--help'], io).then((code) =>
           process.stdout.write(JSON.stringify({ code, modules: Object.keys(require.cache) })));`,
      ],
      { cwd: REPO, encoding: 'utf8' },
    );
    const { code, modules } = JSON.parse(loaded) as { code: number; modules: string[] };
    expect(code).toBe(0);
    expect(modules.map((m) => m.slice(REPO.length + 1))).toEqual(['dist/cli/trailsight.js']);
  });
});
