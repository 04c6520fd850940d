import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { command } from '../../cli/commands/detect';
import { captureIo } from '../support/cli-io';

/** Real delivery files: one day of a university account (see ../shared/data/grycap-cloudtrail-tracker/SOURCE.md). */
const GRYCAP = path.resolve(__dirname, '../../../shared/data/grycap-cloudtrail-tracker/examples');

let dir: string;
let config: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'trailsight-detect-'));
  config = path.join(dir, 'config.json');
  // The real day has no history before it: let insights start after its first hour.
  writeFileSync(config, JSON.stringify({ learningHours: 1 }));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** What a redrawing bar writes to erase itself: carriage return, then ANSI erase-line. */
const ERASE_LINE = `\r${String.fromCharCode(27)}[K`;

const REQUIRED_TOP = [
  'eventVersion',
  'eventTime',
  'awsRegion',
  'eventID',
  'eventType',
  'recipientAccountId',
  'sharedEventID',
  'insightDetails',
  'eventCategory',
  'trailsight',
];

describe('trailsight detect', () => {
  test('--format jsonl writes one insight object per line and nothing else on stdout', async () => {
    const io = captureIo();
    expect(await command.run([GRYCAP, '--format', 'jsonl', '--config', config, '--no-rules'], io)).toBe(0);
    const lines = io.out.split('\n').filter((l) => l.length > 0);
    expect(io.out.endsWith('\n')).toBe(true);
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) {
      const i = JSON.parse(line);
      for (const k of REQUIRED_TOP) expect(i).toHaveProperty(k);
      expect(i.eventType).toBe('AwsCloudTrailInsight');
      expect(i.eventCategory).toBe('Insight');
      expect(i.eventID).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      expect(['Start', 'End']).toContain(i.insightDetails.state);
      expect(['ApiCallRateInsight', 'ApiErrorRateInsight']).toContain(i.insightDetails.insightType);
      expect(i.insightDetails.insightContext.statistics.baseline).toHaveProperty('average');
      expect(i.insightDetails.insightContext.statistics.insight).toHaveProperty('average');
      const t = i.trailsight;
      for (const k of [
        'detector',
        'detectedAt',
        'eventNames',
        'errorCodes',
        'observed',
        'expected',
        'score',
        'explanation',
      ]) {
        expect(t).toHaveProperty(k);
      }
      expect(Date.parse(t.detectedAt)).toBeGreaterThanOrEqual(Date.parse(i.eventTime));
      if (i.insightDetails.insightType === 'ApiErrorRateInsight')
        expect(typeof i.insightDetails.errorCode).toBe('string');
    }
    expect(io.err).toMatch(/files, \d+ events/);
  });

  test('--state resumes: two runs over halves print what one run over everything prints', async () => {
    const files = readdirSync(GRYCAP)
      .filter((f) => f.endsWith('.json.gz'))
      .sort((a, b) => (a.split('_')[3] < b.split('_')[3] ? -1 : 1))
      .map((f) => path.join(GRYCAP, f));
    const half = Math.floor(files.length / 2);
    const whole = captureIo();
    await command.run([...files, '--format', 'jsonl', '--config', config], whole);
    const state = path.join(dir, 'state.json');
    const a = captureIo();
    const b = captureIo();
    await command.run([...files.slice(0, half), '--format', 'jsonl', '--config', config, '--state', state], a);
    await command.run([...files.slice(half), '--format', 'jsonl', '--config', config, '--state', state], b);
    expect(whole.out.length).toBeGreaterThan(0);
    expect(a.out + b.out).toBe(whole.out);
  });

  test('reader threads (--no-rules) replay exactly what one thread replays', async () => {
    const one = captureIo();
    const two = captureIo();
    const args = [GRYCAP, '--format', 'jsonl', '--config', config, '--no-rules'];
    const [oneState, twoState] = ['one', 'two'].map((n) => path.join(dir, `threads-${n}.json`));
    expect(await command.run([...args, '--threads', '0', '--state', oneState], one)).toBe(0);
    expect(await command.run([...args, '--threads', '2', '--state', twoState], two)).toBe(0);
    expect(one.out.length).toBeGreaterThan(0);
    expect(two.out).toBe(one.out);
    // And the state, byte for byte: the deltas built on the threads are the ones this thread would build.
    expect(readFileSync(twoState, 'utf8')).toBe(readFileSync(oneState, 'utf8'));
    const counts = (err: string) => /\d+ files, \d+ events/.exec(err)?.[0];
    expect(counts(two.err)).toBe(counts(one.err));
    expect(two.err).not.toMatch(/threads failed/);
  });

  test('a missing path among several is named, the rest replayed: a partial result, exit 1', async () => {
    const io = captureIo();
    const code = await command.run([path.join(dir, 'nope'), GRYCAP, '--format', 'jsonl', '--config', config], io);
    expect(code).toBe(1);
    expect(io.out.length).toBeGreaterThan(0);
    expect(io.err).toMatch(/warning: no such file or directory: .*nope/);
    expect(io.err).toMatch(/partial result: 1 input could not be read/);
  });

  test('draws a progress bar on a TTY only, and clears it before the closing line', async () => {
    const tty = captureIo(true);
    await command.run([GRYCAP, '--format', 'jsonl', '--config', config, '--no-rules'], tty);
    expect(tty.err).toMatch(/\r\[#+\.*\] +\d+% +\d+ files +\d+ events/);
    expect(tty.err).toMatch(new RegExp(`${ERASE_LINE.replace('[', '\\[')}\\d+ files, \\d+ events`));
    const plain = captureIo();
    await command.run([GRYCAP, '--format', 'jsonl', '--config', config, '--no-rules'], plain);
    expect(plain.err).not.toContain('\r');
  });

  test('--format table prints one line per episode with its explanation', async () => {
    const io = captureIo();
    await command.run([GRYCAP, '--config', config, '--no-rules'], io);
    const lines = io.out.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^start \(UTC\)\s+detector\s+account\/region\s+duration\s+explanation/);
    expect(lines.length).toBeGreaterThan(1);
    for (const l of lines.slice(1)) expect(l).toMatch(/^2017-06-01 \d\d:\d\d {2}\S+\s+974349055189\/us-east-1/);
  });

  test('fails with exit 2 on an unknown format, a bad config or a corrupt state', async () => {
    const bad = path.join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ detectors: { recon: { minCount: 'many' } } }));
    const corrupt = path.join(dir, 'corrupt-state.json');
    writeFileSync(corrupt, '{"version":1');
    for (const argv of [
      [GRYCAP, '--format', 'xml'],
      [GRYCAP, '--config', bad],
      [GRYCAP, '--state', corrupt],
      [GRYCAP, '--until', 'yesterday'],
      [],
    ]) {
      const io = captureIo();
      expect(await command.run(argv, io)).toBe(2);
      expect(io.out).toBe('');
      expect(io.err).toMatch(/trailsight detect: /);
    }
  });

  test('--state into a folder that does not exist yet creates it; the next run resumes from it', async () => {
    const state = path.join(dir, 'not', 'yet', 'there', 'state.json');
    const first = captureIo();
    expect(
      await command.run([GRYCAP, '--format', 'jsonl', '--config', config, '--no-rules', '--state', state], first),
    ).toBe(0);
    expect(JSON.parse(readFileSync(state, 'utf8')).format).toBe(3);
    const again = captureIo();
    expect(
      await command.run([GRYCAP, '--format', 'jsonl', '--config', config, '--no-rules', '--state', state], again),
    ).toBe(0);
    expect(again.out).toBe('');
    expect(again.err).toMatch(/^0 files, 0 events, .*, \d+ already applied by an earlier run/m);
  });

  test('a state of the right format but the wrong inner shape is a bad state (exit 2), not a stack trace', async () => {
    const state = path.join(dir, 'inner-shape.json');
    writeFileSync(state, JSON.stringify({ format: 3, applied: {}, partitions: { '111122223333': { deltas: 'x' } } }));
    const io = captureIo();
    expect(await command.run([GRYCAP, '--format', 'jsonl', '--state', state], io)).toBe(2);
    expect(io.err).toMatch(/^trailsight detect: bad state: state partition 111122223333 is malformed\n$/);
  });

  test('skips a corrupt file with a warning and exit 1, and still reads the rest', async () => {
    const tree = path.join(dir, 'tree');
    const key =
      'AWSLogs/111122223333/CloudTrail/us-east-1/2026/03/02/111122223333_CloudTrail_us-east-1_20260302T0005Z_abcdefABCDEF0123.json.gz';
    const { mkdirSync } = await import('node:fs');
    mkdirSync(path.dirname(path.join(tree, key)), { recursive: true });
    writeFileSync(path.join(tree, key), Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x01]));
    const io = captureIo();
    expect(await command.run([tree, GRYCAP, '--format', 'jsonl', '--config', config], io)).toBe(1);
    expect(io.err).toMatch(/warning: .*111122223333_CloudTrail/);
    expect(io.out.split('\n').filter(Boolean).length).toBeGreaterThan(0);
  });
});
