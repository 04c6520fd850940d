/**
 * `trailsight detect` on every core replays the accounts side by side, one engine per thread
 * (lambda/adapters/local-replay.ts): it must print, count and keep exactly what one thread does — insights in
 * the same order, the same closing counts and warnings, the same `--state` file, byte for byte — and when a
 * thread dies, go on in one thread to the same result.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { command } from '../../cli/commands/detect';
import { scanLocalPaths } from '../../lambda/adapters/local-files';
import { type ReplayPart, runReplayPart } from '../../lambda/adapters/local-replay';
import { REPLAY_STATE_FORMAT, resolveDetectConfig } from '../../lambda/core/detect';
import { resolveRulesConfig } from '../../lambda/core/rules';
import { captureIo } from '../support/cli-io';

const SAMPLES = resolve(__dirname, '../../samples');

/**
 * Two accounts of real deliveries (a day of grycap's, flaws2's hour), with what a replay thread must handle like
 * the main thread: a delivery synced twice under another name (duplicate eventIDs), a truncated delivery, and a
 * digest file (applied by its name).
 */
function twoAccountTree(): string {
  const root = mkdtempSync(join(tmpdir(), 'trailsight-partitioned-'));
  const files = scanLocalPaths([join(SAMPLES, 'grycap-cloudtrail-tracker'), join(SAMPLES, 'flaws2-cloud')]).files;
  for (const f of files) {
    mkdirSync(join(root, f.key, '..'), { recursive: true });
    copyFileSync(f.path, join(root, f.key));
  }
  const grycap = files.find((f) => f.info.account === '974349055189' && f.info.kind === 'log')!;
  const day = join(root, grycap.key, '..');
  const name = grycap.key.split('/').pop()!;
  copyFileSync(grycap.path, join(day, name.replace(/_[A-Za-z0-9]+\.json\.gz$/, '_ZZZsyncedTwice000.json.gz')));
  writeFileSync(
    join(day, '974349055189_CloudTrail_us-east-1_20170601T1502Z_truncatedTruncated.json.gz'),
    gzipSync('{"Records":[{"eventTime":"2017-06-01T14:58:00Z"').subarray(0, 30),
  );
  const digests = join(root, 'AWSLogs/653711331788/CloudTrail-Digest/us-east-1/2018/11/28');
  mkdirSync(digests, { recursive: true });
  writeFileSync(
    join(digests, '653711331788_CloudTrail-Digest_us-east-1_level1_us-east-1_20181128T233000Z.json.gz'),
    gzipSync('{}'),
  );
  return root;
}

// The module object itself, to watch the threads started (an `import * as` copy would not reach the code under test).
const threads: typeof import('node:worker_threads') = require('node:worker_threads');
type WorkerOptions = import('node:worker_threads').WorkerOptions;

let root: string;
let config: string;
beforeAll(() => {
  root = twoAccountTree();
  config = join(mkdtempSync(join(tmpdir(), 'trailsight-partitioned-config-')), 'config.json');
  // The real days have no history before them: let insights start after their first hour.
  writeFileSync(config, JSON.stringify({ learningHours: 1 }));
});

async function detect(paths: string[], threadCount: number, state: string, rules = false) {
  const io = captureIo();
  const code = await command.run(
    [
      ...paths,
      '--format',
      'jsonl',
      ...(rules ? [] : ['--no-rules']),
      '--config',
      config,
      '--until',
      '2018-11-30T00:00:00Z',
      '--state',
      state,
      '--threads',
      String(threadCount),
    ],
    io,
  );
  // The closing line ends with the run's duration.
  const err = io.err.replace(/; [\d.]+ s\n/, '\n');
  const ledger = rules ? readFileSync(`${state}.rules.json`, 'utf8') : undefined;
  return { code, out: io.out, err, state: readFileSync(state, 'utf8'), ledger };
}

const stateFile = () => join(mkdtempSync(join(tmpdir(), 'trailsight-partitioned-state-')), 'state.json');

/** Runs `run`, noting the thread scripts it starts. */
async function watchingThreads<T>(run: () => Promise<T>): Promise<{ result: T; scripts: string[] }> {
  const RealWorker = threads.Worker;
  const spy = jest.spyOn(threads, 'Worker').mockImplementation((...args) => new RealWorker(...args));
  try {
    const result = await run();
    return { result, scripts: spy.mock.calls.map(([script]) => String(script)) };
  } finally {
    spy.mockRestore();
  }
}

/**
 * Runs `run` with the threads it starts (every one, or those whose options `dies` picks) failing after their first
 * message, as if they had crashed; a replay thread whose first message is also its last has nothing left to fail.
 */
async function withThreadsDying<T>(
  run: () => Promise<T>,
  dies: (options: WorkerOptions | undefined) => boolean = () => true,
): Promise<T> {
  const RealWorker = threads.Worker;
  const spy = jest.spyOn(threads, 'Worker').mockImplementation((script, options) => {
    const worker = new RealWorker(script, options);
    // Failed by a message it does not know, which it throws on (`terminate()` would stop it mid-statement: see
    // stopThread).
    if (dies(options)) worker.once('message', () => worker.postMessage('not a task'));
    return worker;
  });
  try {
    const result = await run();
    expect(spy).toHaveBeenCalled();
    return result;
  } finally {
    spy.mockRestore();
  }
}

describe('detect replays accounts side by side', () => {
  test('prints, counts and keeps exactly what one thread does', async () => {
    const one = await detect([root], 0, stateFile());
    const { result: two, scripts } = await watchingThreads(() => detect([root], 2, stateFile()));
    // The accounts were replayed on replay threads, one per account (not read ahead for one engine here).
    expect(scripts.map((script) => /local-replay-worker/.test(script))).toEqual([true, true]);
    expect(one.out.split('\n').filter(Boolean).length).toBeGreaterThan(0);
    expect(one.err).toMatch(/1 digest files, 0 not CloudTrail, 1 unreadable/);
    expect(one.err).toMatch(/warning: .*truncatedTruncated/);
    expect(two).toEqual(one);
    const state = JSON.parse(one.state);
    expect(Object.keys(state.partitions).sort()).toEqual(['653711331788', '974349055189']);
  });

  test('continues a state as one thread does (a later run over a grown folder)', async () => {
    const grycap = join(root, 'AWSLogs/974349055189');
    const runs = async (threadCount: number) => {
      const state = stateFile();
      const first = await detect([grycap], threadCount, state);
      const second = await detect([root], threadCount, state);
      return { first, second, path: state };
    };
    const one = await runs(0);
    const two = await runs(2);
    expect(one.second.err).toMatch(/already applied by an earlier run/);
    // Files applied before are listed, not read again: not "no CloudTrail log files found". (flaws2's: grycap's
    // were delivered more than 35 days before them, so the state has forgotten them, as the pipeline does.)
    const again = await detect([join(root, 'AWSLogs/653711331788')], 0, one.path);
    expect(again.err).toMatch(/^0 files, 0 events, .* \d+ already applied by an earlier run/m);
    expect(again.err).not.toMatch(/no CloudTrail log files/);
    expect({ ...two, path: '' }).toEqual({ ...one, path: '' });
  });

  test("with the rules: each thread tests its files, and the matches, counts and ledger are one thread's", async () => {
    const one = await detect([root], 0, stateFile(), true);
    const { result: two, scripts } = await watchingThreads(() => detect([root], 2, stateFile(), true));
    expect(scripts.map((script) => /local-replay-worker/.test(script))).toEqual([true, true]);
    const kinds = one.out
      .split('\n')
      .filter(Boolean)
      .map((line) => ('rule' in JSON.parse(line) ? 'match' : 'insight'));
    expect(kinds).toContain('match');
    expect(kinds).toContain('insight');
    // The closing line counts the rules' matches, allow-listed hits and events: the threads' counts added up.
    expect(one.err).toMatch(/ rules: [1-9]\d* matches, \d+ allow-listed, [1-9]\d* rule-match events/);
    expect(two).toEqual(one);
  });

  test("one account with the rules: files read ahead on threads that test them too, the result one thread's", async () => {
    // grycap's day alone: a delivery synced twice (duplicates, re-read and re-tested here) and a truncated one.
    const grycap = [join(root, 'AWSLogs/974349055189')];
    const one = await detect(grycap, 0, stateFile(), true);
    const { result: two, scripts } = await watchingThreads(() => detect(grycap, 2, stateFile(), true));
    expect(scripts.map((script) => /local-read-worker/.test(script))).toEqual([true, true]);
    expect(one.out).toMatch(/"rule":/);
    expect(one.err).toMatch(/warning: .*truncatedTruncated/);
    expect(one.err).toMatch(/ rules: [1-9]\d* matches, \d+ allow-listed, [1-9]\d* rule-match events/);
    expect(two).toEqual(one);
  });

  test('when a replay thread dies, goes on in one thread to the same result, and says so', async () => {
    const expected = await detect([root], 0, stateFile());
    const got = await withThreadsDying(() => detect([root], 2, stateFile()));
    expect(got.err).toMatch(/warning: threads failed \(the replay threads failed: .*\); going on in one thread/);
    // Said once: the rest is replayed here, without starting reader threads that would fail alike.
    expect(got.err.match(/warning: threads failed/g)).toHaveLength(1);
    expect(got.out).toBe(expected.out);
    expect(got.state).toBe(expected.state);
    expect(got.code).toBe(expected.code);
  });

  // With the rules, the groups of files handed back before the threads died are recorded again when those files are
  // replayed here: nothing may be raised or counted twice. Side by side, only the thread replaying the first file
  // dies, after its first outcomes: those files were recorded before the replay starts again here.
  const firstFileReplayer = (options: WorkerOptions | undefined) =>
    (options?.workerData as ReplayPart | undefined)?.files[0]?.index === 0;
  test.each([
    ['two accounts, replayed side by side', () => [root], firstFileReplayer],
    ['one account, its files read ahead', () => [join(root, 'AWSLogs/974349055189')], () => true],
  ])(
    "with the rules, %s: a thread death still gives one thread's matches, counts and ledger",
    async (_, paths, dies) => {
      const expected = await detect(paths(), 0, stateFile(), true);
      const got = await withThreadsDying(() => detect(paths(), 2, stateFile(), true), dies);
      expect(got.err).toMatch(/warning: threads failed/);
      expect({ ...got, err: '' }).toEqual({ ...expected, err: '' });
      expect(got.err.split('\n').slice(-2)).toEqual(expected.err.split('\n').slice(-2));
    },
  );

  test("a replay thread whose rules are not the run's refuses to start (the run then goes on in one thread)", async () => {
    const part = {
      config: resolveDetectConfig({}),
      state: { format: REPLAY_STATE_FORMAT, partitions: {}, applied: {} },
      files: [],
      rules: { config: resolveRulesConfig({}), digest: 'of rule files this thread will not read' },
    } as const;
    const posted: unknown[] = [];
    await expect(runReplayPart(part, (m) => posted.push(m))).rejects.toThrow(/not the ones this run loaded/);
    expect(posted).toEqual([]);
  });
});
