/**
 * `trailsight index` and `query --index`: Parquet partitioned like the compacted Athena table, the same answers as
 * the logs themselves, incremental runs, and recovery from a run that died halfway.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { command as index } from '../../cli/commands/index';
import { command as query } from '../../cli/commands/query';
import { INDEX_MANIFEST } from '../../lambda/adapters/duckdb-index';
import { captureIo } from '../support/cli-io';

const DATA = resolve(__dirname, '../../../shared/data');
const FLAWS2_DAY = join(DATA, 'flaws2-cloud/AWSLogs/653711331788/CloudTrail/us-east-1/2018/11/28');
const DAY = 'AWSLogs/653711331788/CloudTrail/us-east-1/2018/11/28';

async function run(cmd: typeof index, ...argv: string[]) {
  const io = captureIo();
  const code = await cmd.run(argv, io);
  return { code, out: io.out, err: io.err };
}

/** A copy of the flaws2 delivery tree, without its last `keep`-th files when `keep` is given. */
function flawsTree(keep?: number): string {
  const root = mkdtempSync(join(tmpdir(), 'ts-index-logs-'));
  mkdirSync(join(root, DAY), { recursive: true });
  const files = readdirSync(FLAWS2_DAY).sort();
  for (const f of files.slice(0, keep ?? files.length)) copyFileSync(join(FLAWS2_DAY, f), join(root, DAY, f));
  return root;
}

function parquetFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else if (e.name.endsWith('.parquet')) out.push(join(d, e.name).slice(dir.length + 1));
    }
  };
  if (existsSync(dir)) walk(dir);
  return out.sort();
}

describe('trailsight index', () => {
  test('writes Parquet partitioned account/region/dt (yyyy-MM-dd), and the index answers as the logs do', async () => {
    const logs = flawsTree();
    const out = join(mkdtempSync(join(tmpdir(), 'ts-index-')), 'idx');
    const built = await run(index, logs, '--out', out, '--format', 'json');
    expect(built.code).toBe(0);
    expect(JSON.parse(built.out)).toMatchObject({ filesIndexed: 8, eventsWritten: 37, total: { events: 37 } });
    expect(
      parquetFiles(out).every((f) =>
        /^cloudtrail\/account=653711331788\/region=us-east-1\/dt=2018-11-28\/part-[\w-]+\.parquet$/.test(f),
      ),
    ).toBe(true);

    for (const [name, ...params] of [
      ['source-ip-activity', '-p', 'ip=104.102.221.250'],
      ['assumed-role-session-chain', '-p', 'role=level3'],
      ['access-denied-by-principal'],
    ]) {
      const fromLogs = await run(query, name, '--logs', logs, ...params, '--format', 'json');
      const fromIndex = await run(query, name, '--index', out, ...params, '--format', 'json');
      expect(fromIndex.code).toBe(0);
      expect(JSON.parse(fromIndex.out)).toEqual(JSON.parse(fromLogs.out));
      expect(JSON.parse(fromIndex.out).length).toBeGreaterThan(0);
      expect(fromIndex.err).toMatch(/dt_from=2018-11-2\d/);
    }
  });

  test('is incremental: a second run reads only the new files', async () => {
    const logs = flawsTree(5);
    const out = join(mkdtempSync(join(tmpdir(), 'ts-index-')), 'idx');
    expect(JSON.parse((await run(index, logs, '--out', out, '--format', 'json')).out)).toMatchObject({
      filesIndexed: 5,
      filesIndexedBefore: 0,
    });
    for (const f of readdirSync(FLAWS2_DAY)) copyFileSync(join(FLAWS2_DAY, f), join(logs, DAY, f));
    const second = JSON.parse((await run(index, logs, '--out', out, '--format', 'json')).out);
    expect(second).toMatchObject({ filesIndexed: 3, filesIndexedBefore: 5, total: { events: 37 } });
    const third = JSON.parse((await run(index, logs, '--out', out, '--format', 'json')).out);
    expect(third).toMatchObject({ filesIndexed: 0, eventsWritten: 0, total: { events: 37 } });
    const count = await run(query, 'principal-activity', '--index', out, '-p', 'principal=level', '--format', 'jsonl');
    expect(count.out.trim().split('\n').length).toBeGreaterThan(0);
  });

  test('removes the Parquet files of a run that died before its manifest, and indexes their inputs again', async () => {
    const logs = flawsTree();
    const out = join(mkdtempSync(join(tmpdir(), 'ts-index-')), 'idx');
    await run(index, logs, '--out', out);
    const manifest = JSON.parse(readFileSync(join(out, INDEX_MANIFEST), 'utf8'));
    // A run that wrote its Parquet files and died: the files are there, the manifest does not list them.
    writeFileSync(join(out, INDEX_MANIFEST), JSON.stringify({ ...manifest, runs: [] }));
    const again = await run(index, logs, '--out', out, '--format', 'json');
    expect(again.err).toMatch(/removed 1 Parquet file left by an interrupted run/);
    expect(JSON.parse(again.out)).toMatchObject({ filesIndexed: 8, total: { events: 37 } });
    expect(parquetFiles(out)).toHaveLength(1);
  });

  test('does not record an unreadable file, so the next run tries it again', async () => {
    const logs = flawsTree();
    const broken = join(logs, DAY, '653711331788_CloudTrail_us-east-1_20181128T2359Z_brokenBroken1234.json.gz');
    writeFileSync(broken, Buffer.from([0x1f, 0x8b, 8, 0, 1, 2, 3]));
    const out = join(mkdtempSync(join(tmpdir(), 'ts-index-')), 'idx');
    const first = await run(index, logs, '--out', out, '--format', 'json');
    expect(first.code).toBe(1);
    expect(first.err).toMatch(/brokenBroken1234.*gzip/);
    const second = await run(index, logs, '--out', out, '--format', 'json');
    expect(JSON.parse(second.out)).toMatchObject({ filesIndexed: 1, filesIndexedBefore: 8 });
  });

  test.each([
    [
      'a directory that holds other files',
      (d: string) => writeFileSync(join(d, 'notes.txt'), 'x'),
      /is not empty and holds no/,
    ],
    ['a manifest that is not JSON', (d: string) => writeFileSync(join(d, INDEX_MANIFEST), '{'), /is not valid JSON/],
    [
      'a manifest of another shape',
      (d: string) => writeFileSync(join(d, INDEX_MANIFEST), JSON.stringify({ format: 'x', runs: 1 })),
      /is not a trailsight-index\/1 manifest/,
    ],
  ])('refuses %s (exit 1, nothing written)', async (_what, prepare, message) => {
    const out = mkdtempSync(join(tmpdir(), 'ts-index-'));
    prepare(out);
    const r = await run(index, flawsTree(1), '--out', out);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(message);
    expect(parquetFiles(out)).toEqual([]);
    const q = await run(query, 'root-account-use', '--index', out);
    expect(q.code).toBe(1);
  });

  test.each([
    [[], /give at least one path/],
    [['logs'], /give --out DIR/],
    [['logs', '--out', 'x', '--format', 'csv'], /--format must be one of table, json \(got 'csv'\)/],
  ])('usage errors exit 2: %j', async (argv, message) => {
    const r = await run(index, ...argv);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
  });

  test('query --index refuses a query of the insights table, which has no compacted copy', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'ts-index-')), 'idx');
    await run(index, flawsTree(1), '--out', out);
    const r = await run(query, 'trailsight-insights', '--index', out);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/reads trailsight_insights, which has no compacted copy/);
  });
});
