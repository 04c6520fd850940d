/**
 * One set of conventions for every command: --help, usage errors that name the option and its values (exit 2), a
 * partial result (exit 1, summary on stderr), files that are not CloudTrail's (a counted skip with a warning, exit
 * unchanged), and a closed pipe (`| head -1`) that ends the output quietly.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { command as detect } from '../../cli/commands/detect';
import { command as index } from '../../cli/commands/index';
import { command as query } from '../../cli/commands/query';
import { command as summary } from '../../cli/commands/summary';
import type { CliCommand } from '../../cli/io';
import { main } from '../../cli/main';
import { captureIo } from '../support/cli-io';

const REPO = resolve(__dirname, '../..');
const SAMPLES = join(REPO, 'samples');
const FLAWS_DAY = 'AWSLogs/653711331788/CloudTrail/us-east-1/2018/11/28';
const FLAWS_FILE = '653711331788_CloudTrail_us-east-1_20181128T2310Z_rp9i9zxR2Vcpqfnz.json.gz';

async function run(cmd: CliCommand, ...argv: string[]) {
  const io = captureIo();
  const code = await cmd.run(argv, io);
  return { code, out: io.out, err: io.err };
}

/** A delivery tree with one real file, plus `extra` files (name → content). */
function tree(extra: Record<string, string | Buffer> = {}): string {
  const root = mkdtempSync(join(tmpdir(), 'trailsight-conventions-'));
  mkdirSync(join(root, FLAWS_DAY), { recursive: true });
  copyFileSync(join(SAMPLES, 'flaws2-cloud', FLAWS_DAY, FLAWS_FILE), join(root, FLAWS_DAY, FLAWS_FILE));
  for (const [name, content] of Object.entries(extra)) {
    mkdirSync(join(root, name, '..'), { recursive: true });
    writeFileSync(join(root, name), content);
  }
  return root;
}

/** The four commands over one tree, each with its output format and arguments. */
const COMMANDS: readonly [string, CliCommand, (root: string) => string[]][] = [
  ['summary', summary, (root) => [root, '--format', 'json', '--threads', '0']],
  ['query', query, (root) => ['principal-activity', '--logs', root, '-p', 'principal=level', '--format', 'json']],
  [
    'index',
    index,
    (root) => [root, '--out', join(mkdtempSync(join(tmpdir(), 'trailsight-idx-')), 'i'), '--format', 'json'],
  ],
  ['detect', detect, (root) => [root, '--format', 'table']],
];

describe('every command', () => {
  test.each(['summary', 'query', 'index', 'detect', 'findings', 'rules', 'verify', 'report'])(
    '%s --help prints its usage and exits 0',
    async (name) => {
      const io = captureIo();
      expect(await main([name, '--help'], io)).toBe(0);
      expect(io.out).toMatch(new RegExp(`^usage:\\s+trailsight ${name}`));
    },
  );

  test.each([
    ['findings', ['findings', '--format', 'sarif', 'x.jsonl'], 'ocsf, asff'],
    ['rules list', ['rules', 'list', '--format', 'sarif'], 'table, json'],
    ['rules test', ['rules', 'test', 'builtin', SAMPLES, '--format', 'sarif'], 'table, jsonl'],
    ['verify', ['verify', SAMPLES, '--public-keys', 'k.json', '--format', 'sarif'], 'table, json'],
  ])('%s: a bad --format names the option and the allowed values, exit 2', async (_name, argv, allowed) => {
    const io = captureIo();
    expect(await main(argv, io)).toBe(2);
    expect(io.err).toContain(`--format must be one of ${allowed} (got 'sarif')`);
    expect(io.err).toContain(`Run 'trailsight ${argv[0]} --help'`);
  });

  test('trailsight --version prints the package version; an unknown command exits 2 with the list', async () => {
    const version = captureIo();
    expect(await main(['--version'], version)).toBe(0);
    expect(version.out.trim()).toBe(require('../../package.json').version);
    const unknown = captureIo();
    expect(await main(['sumary'], unknown)).toBe(2);
    expect(unknown.err).toMatch(/unknown command 'sumary'[\s\S]*summary/);
  });

  test.each(COMMANDS)(
    '%s: a bad --format or an unknown option exits 2 naming the option and the allowed values',
    async (name, cmd, args) => {
      const root = tree();
      const argv = args(root).filter((a, i, all) => a !== '--format' && all[i - 1] !== '--format');
      const bad = await run(cmd, ...argv, '--format', 'xml');
      expect(bad.code).toBe(2);
      expect(bad.err).toMatch(new RegExp(`^trailsight ${name}: --format must be one of [a-z, |]+ \\(got 'xml'\\)`));
      expect(bad.err).toContain(`Run 'trailsight ${name} --help'`);
      const unknown = await run(cmd, ...argv, '--colour');
      expect(unknown.code).toBe(2);
      expect(unknown.err).toMatch(/Unknown option '--colour'/);
    },
  );

  test.each(COMMANDS)(
    '%s: files that are not CloudTrail are a counted skip with one warning; the exit status stays 0',
    async (_name, cmd, args) => {
      const root = tree({
        'labels.json': JSON.stringify({ labels: ['attack'] }),
        'README.md': '# notes',
        'AWSLogs/653711331788/Config/ConfigWritabilityCheckFile': '',
      });
      const r = await run(cmd, ...args(root));
      expect(r.code).toBe(0);
      expect(r.err).toMatch(/warning: skipped 3 files that are not CloudTrail logs: .*ConfigWritabilityCheckFile/);
      expect(r.err).not.toMatch(/partial result/);
    },
  );

  test.each(COMMANDS)(
    '%s: an unreadable CloudTrail file makes a partial result: exit 1, the file and a summary on stderr',
    async (_name, cmd, args) => {
      const root = tree({
        [`${FLAWS_DAY}/653711331788_CloudTrail_us-east-1_20181128T2355Z_truncatedTruncate.json.gz`]: Buffer.from([
          0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2,
        ]),
      });
      const r = await run(cmd, ...args(root));
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/warning: .*truncatedTruncate\.json\.gz.*gzip/);
      expect(r.err).toMatch(/partial result: 1 input could not be read \(listed above\); exit status 1/);
      expect(r.out.length).toBeGreaterThan(0);
    },
  );
});

describe('a closed pipe', () => {
  test('trailsight query … | head: the rest of the output is dropped, no EPIPE error, exit 0', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'trailsight-pipe-'));
    const all = join(dir, 'all.sql');
    writeFileSync(
      all,
      [
        '-- @title Everything',
        '-- @description Every event, to fill a pipe.',
        '-- @param start timestamp = -7d  Start',
        '-- @param end timestamp = now  End',
        '-- @returns eventid',
        "SELECT * FROM cloudtrail_logs WHERE dt BETWEEN '{{dt_from}}' AND '{{dt_to}}' AND eventtime >= '{{start}}' AND eventtime < '{{end}}'",
      ].join('\n'),
    );
    const child = spawn(process.execPath, [
      join(REPO, 'cli/trailsight.js'),
      'query',
      all,
      '--logs',
      SAMPLES,
      '--format',
      'jsonl',
    ]);
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    // Read the first line, then close the reading end, as `head -1` does.
    child.stdout.once('data', () => child.stdout.destroy());
    const code = await new Promise<number | null>((r) => child.on('close', r));
    expect(stderr).not.toMatch(/EPIPE|Error:|at .*\(/);
    expect(code).toBe(0);
  });
});
