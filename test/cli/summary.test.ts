import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { command } from '../../cli/commands/summary';
import type { SummaryJson } from '../../lambda/core/summary';
import { captureIo } from '../support/cli-io';

const REPO = resolve(__dirname, '../..');
const SAMPLES = join(REPO, 'samples');
const FLAWS_DIR = 'AWSLogs/653711331788/CloudTrail/us-east-1/2018/11/28';
const FLAWS_FILE = '653711331788_CloudTrail_us-east-1_20181128T2310Z_rp9i9zxR2Vcpqfnz.json.gz';

async function runJson(args: string[]): Promise<{ code: number; summary: SummaryJson; err: string }> {
  const io = captureIo();
  const code = await command.run([...args, '--format', 'json'], io);
  return { code, summary: JSON.parse(io.out) as SummaryJson, err: io.err };
}

describe('trailsight summary', () => {
  let tmp: string;
  beforeEach(() => {
    tmp = mkdtempSync(join(tmpdir(), 'trailsight-summary-'));
  });
  afterEach(() => rmSync(tmp, { recursive: true, force: true }));

  test('summarizes the bundled samples: counts from samples/SOURCE.md', async () => {
    const { code, summary } = await runJson([SAMPLES]);
    expect(code).toBe(0);
    expect(summary.events).toBe(11450);
    expect(summary.accounts).toEqual([
      ['974349055189', 11410],
      ['653711331788', 37],
      ['143434273843', 1],
      ['847129010505', 1],
      ['958312252124', 1],
    ]);
    expect(summary.timeSpan).toEqual({ first: '2017-06-01T00:02:57.000Z', last: '2024-07-31T13:06:24.000Z' });
    expect(summary.files).toEqual({
      read: 391,
      byKind: { log: 388, file: 3 },
      ignored: { 'not CloudTrail': 1 },
      failed: [],
    });
    expect(summary.reads + summary.writes).toBe(11450);
    expect(summary.sourceIps.map(([ip]) => ip)).toContain('37.15.201.180');
    expect(summary.consoleSignIns.success + summary.consoleSignIns.failure).toBeGreaterThan(0);
  });

  test('prints a table with every section', async () => {
    const io = captureIo();
    expect(await command.run([join(SAMPLES, 'flaws2-cloud')], io)).toBe(0);
    for (const heading of [
      'CloudTrail summary: 37 events from 8 files',
      'time span: 2018-11-28T22:31:59.000Z → 2018-11-28T23:09:36.000Z',
      'accounts',
      'regions',
      'event sources',
      'APIs',
      'writes vs reads',
      'errors (7 events)',
      'top principals',
      'top source IPs',
      'console sign-ins',
      'files',
      'skipped records',
    ]) {
      expect(io.out).toContain(heading);
    }
    expect(io.out).toMatch(/AccessDenied\s+5/);
    expect(io.out).toMatch(/104\.102\.221\.250\s+\d+/);
    expect(io.err).toMatch(/8 files .* processed, 37 events/);
  });

  test('reports corrupt files and skipped objects, counts what it could read, and exits 1', async () => {
    const dir = join(tmp, FLAWS_DIR);
    mkdirSync(dir, { recursive: true });
    copyFileSync(join(SAMPLES, 'flaws2-cloud', FLAWS_DIR, FLAWS_FILE), join(dir, FLAWS_FILE));
    const good = readFileSync(join(dir, FLAWS_FILE));
    writeFileSync(
      join(dir, '653711331788_CloudTrail_us-east-1_20181128T2315Z_TruncatedTruncate.json.gz'),
      good.subarray(0, 40),
    );
    writeFileSync(join(dir, '653711331788_CloudTrail_us-east-1_20181128T2320Z_NotGzipNotGzipNo.json.gz'), 'hello');
    mkdirSync(join(tmp, 'AWSLogs/653711331788/Config'), { recursive: true });
    writeFileSync(join(tmp, 'AWSLogs/653711331788/Config/ConfigWritabilityCheckFile'), '');
    const digestDir = join(tmp, 'AWSLogs/653711331788/CloudTrail-Digest/us-east-1/2018/11/28');
    mkdirSync(digestDir, { recursive: true });
    writeFileSync(
      join(digestDir, '653711331788_CloudTrail-Digest_us-east-1_trail_us-east-1_20181128T231000Z.json.gz'),
      gzipSync('{"logFiles":[]}'),
    );
    const { code, summary, err } = await runJson([tmp]);
    expect(code).toBe(1);
    expect(summary.files.read).toBe(3);
    expect(summary.files.ignored).toEqual({ 'digest file': 1, 'not CloudTrail': 1 });
    expect(summary.files.failed.map((f) => f.kind).sort()).toEqual(['not-gzip', 'truncated-gzip']);
    expect(summary.files.failed.every((f) => f.file.startsWith(tmp))).toBe(true);
    expect(summary.events).toBeGreaterThan(0);
    expect(err).toMatch(/warning: .*TruncatedTruncate.*truncated-gzip/);
  });

  test('reads JSON Lines files and bare arrays', async () => {
    const r = (name: string) => ({
      eventTime: '2025-03-01T09:15:02Z',
      eventName: name,
      eventSource: 'iam.amazonaws.com',
      eventID: name,
    });
    writeFileSync(join(tmp, 'events.jsonl'), `${JSON.stringify(r('A'))}\n\n${JSON.stringify(r('B'))}\n`);
    writeFileSync(join(tmp, 'array.json'), JSON.stringify([r('C')]));
    const { code, summary } = await runJson([tmp]);
    expect(code).toBe(0);
    expect(summary.events).toBe(3);
  });

  test('draws a progress bar only on a TTY', async () => {
    const io = captureIo(true);
    await command.run([join(SAMPLES, 'flaws2-cloud')], io);
    expect(io.err).toContain('\r[');
    const plain = captureIo(false);
    await command.run([join(SAMPLES, 'flaws2-cloud')], plain);
    expect(plain.err).not.toContain('\r');
  });

  test('fails with usage when no path or a bad format is given', async () => {
    const io = captureIo();
    expect(await command.run([], io)).toBe(2);
    expect(io.err).toMatch(/no path given/);
    const xml = captureIo();
    expect(await command.run([SAMPLES, '--format', 'xml'], xml)).toBe(2);
    expect(xml.err).toMatch(/--format must be one of table, json \(got 'xml'\)/);
    const bogus = captureIo();
    expect(await command.run([SAMPLES, '--bogus'], bogus)).toBe(2);
    expect(bogus.err).toMatch(/Unknown option '--bogus'/);
    const top = captureIo();
    expect(await command.run([SAMPLES, '--top', '0'], top)).toBe(2);
    expect(top.err).toMatch(/--top must be a whole number ≥ 1 \(got '0'\)/);
  });

  test('a missing path among several is reported, the others summarized, exit 1', async () => {
    const io = captureIo();
    expect(await command.run([join(tmp, 'nope'), join(SAMPLES, 'flaws2-cloud'), '--format', 'json'], io)).toBe(1);
    expect(JSON.parse(io.out).events).toBe(37);
    expect(io.err).toMatch(/warning: no such file or directory: .*nope/);
    expect(io.err).toMatch(/partial result: 1 input could not be read/);
  });

  test('prints help', async () => {
    const io = captureIo();
    expect(await command.run(['--help'], io)).toBe(0);
    expect(io.out).toMatch(/usage: trailsight summary/);
  });
});
