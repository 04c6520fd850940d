/**
 * The local engine: the `cloudtrail_logs` view has exactly the Glue table's columns and types, the Trino
 * compatibility macros keep Trino's meaning, every input shape loads, and bad input is a reported skip.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { LocalCloudTrail, NoLogsError } from '../../lambda/adapters/duckdb-cloudtrail';
import { duckdbType, parseHiveType } from '../../lambda/adapters/duckdb-hive-types';
import { partitionOf, readLogFile } from '../../lambda/adapters/duckdb-log-files';
import { CLOUDTRAIL_COLUMNS, CLOUDTRAIL_PARTITION_KEYS } from '../../schema/cloudtrail-table';

const DATA = resolve(__dirname, '../../../shared/data');
const FLAWS2 = join(DATA, 'flaws2-cloud/AWSLogs/653711331788/CloudTrail/us-east-1/2018/11/28');

/** A tree with every accepted shape plus the bad inputs the engine must survive. */
function buildTree(): string {
  const root = mkdtempSync(join(tmpdir(), 'ts-duck-'));
  // Organization layout, real delivery files (flaws2), at depth.
  const org = join(root, 'AWSLogs/o-exampleorg/653711331788/CloudTrail/us-east-1/2018/11/28');
  mkdirSync(org, { recursive: true });
  for (const f of readdirSync(FLAWS2)) copyFileSync(join(FLAWS2, f), join(org, f));
  // A JSON array of records (stratus), a single record (AWS docs), JSON Lines.
  copyFileSync(
    join(DATA, 'stratus-red-team/detonation-logs/aws.defense-evasion.cloudtrail-stop.json'),
    join(root, 'array.json'),
  );
  copyFileSync(
    join(DATA, 'awsdocs-cloudtrail-user-guide/examples/03_event_iam-user-unsuccessful-sign-in.json'),
    join(root, 'single.json'),
  );
  const record = {
    eventVersion: '1.08',
    eventTime: '2020-01-01T00:00:00Z',
    eventName: 'X',
    readOnly: true,
    requestParameters: { a: { b: 1 } },
  };
  writeFileSync(
    join(root, 'lines.jsonl'),
    `${JSON.stringify(record)}\n${JSON.stringify({ ...record, eventName: 'Y', readOnly: 'false' })}\n`,
  );
  // Bad input: a truncated gzip, a non-JSON file, a wrong shape; a digest to ignore; a README to pass over.
  const gz = gzipSync(Buffer.from(JSON.stringify({ Records: [record] })));
  writeFileSync(
    join(org, '653711331788_CloudTrail_us-east-1_20181128T2359Z_corrupt.json.gz'),
    gz.subarray(0, gz.length - 12),
  );
  writeFileSync(join(root, 'notes.json'), 'this is not JSON');
  writeFileSync(join(root, 'shape.json'), JSON.stringify({ hello: 'world' }));
  copyFileSync(
    join(DATA, 'awsdocs-cloudtrail-user-guide/examples/22_digest_file_sample-digest-file-contents.json'),
    join(root, 'digest.json'),
  );
  writeFileSync(join(root, 'README.md'), '# not a log');
  return root;
}

describe('LocalCloudTrail', () => {
  let engine: LocalCloudTrail;
  beforeAll(async () => {
    engine = await LocalCloudTrail.open([buildTree()]);
  });
  afterAll(() => engine.close());

  test('the view has exactly the Glue columns, in order, with the same types', async () => {
    const { rows } = await engine.query('DESCRIBE cloudtrail_logs');
    // DESCRIBE quotes only field names that are keywords ("type"); compare without quotes.
    const unquote = (t: unknown) => String(t).replaceAll('"', '');
    const expected = [...CLOUDTRAIL_COLUMNS, ...CLOUDTRAIL_PARTITION_KEYS].map((c) => [
      c.name,
      unquote(duckdbType(parseHiveType(c.type))),
    ]);
    expect(rows.map((r) => [r.column_name, unquote(r.column_type)])).toEqual(expected);
    expect(expected).toContainEqual(['readonly', 'VARCHAR']);
    expect(expected).toContainEqual(['requestparameters', 'VARCHAR']);
  });

  test('loads every accepted shape and reports the bad files with a reason, without failing', () => {
    const r = engine.report;
    expect(r.records).toBe(37 + 1 + 1 + 2);
    expect(r.skipped.map((s) => [s.path.split('/').pop(), s.reason.split(':')[0]]).sort()).toEqual([
      ['653711331788_CloudTrail_us-east-1_20181128T2359Z_corrupt.json.gz', 'corrupt gzip'],
      ['notes.json', 'not JSON'],
      ['shape.json', 'not a CloudTrail file (no Records, not a record)'],
    ]);
    expect(r.ignored.map((s) => s.reason)).toEqual(['digest file (holds no events)']);
  });

  test('partitions come from the S3 key for delivery files and from the record otherwise', async () => {
    const { rows } = await engine.query(
      'SELECT account, region, dt, count(*) AS n FROM cloudtrail_logs GROUP BY 1, 2, 3 ORDER BY dt',
    );
    expect(rows).toEqual(
      [
        { account: 'unknown', region: 'unknown', dt: '2020/01/01', n: 2 },
        { account: '653711331788', region: 'us-east-1', dt: '2018/11/28', n: 37 },
        { account: '111122223333', region: 'us-east-1', dt: '2022/11/10', n: 1 },
        { account: '143434273843', region: 'apiso-centralnorth-2r', dt: '2024/07/31', n: 1 },
      ].sort((a, b) => a.dt.localeCompare(b.dt)),
    );
  });

  test('free-form columns hold JSON text and readonly is the string true/false', async () => {
    const { rows } = await engine.query(
      "SELECT eventname, readonly, requestparameters FROM cloudtrail_logs WHERE eventname IN ('X', 'Y') ORDER BY 1",
    );
    expect(rows).toEqual([
      { eventname: 'X', readonly: 'true', requestparameters: '{"a":{"b":1}}' },
      { eventname: 'Y', readonly: 'false', requestparameters: '{"a":{"b":1}}' },
    ]);
  });

  test('struct fields are matched case-insensitively, as the JsonSerDe does', async () => {
    const { rows } = await engine.query(
      "SELECT useridentity.sessioncontext.sessionissuer.arn AS issuer FROM cloudtrail_logs WHERE eventname = 'ListBuckets'",
    );
    expect(rows).toEqual([{ issuer: 'arn:aws:iam::653711331788:role/level3' }]);
  });

  test('json_extract_scalar keeps Trino semantics: scalars as text, NULL for objects, arrays and JSON null', async () => {
    const { rows } = await engine.query(`SELECT
      json_extract_scalar('{"a":{"b":1}}', '$.a') AS obj,
      json_extract_scalar('{"a":[1]}', '$.a') AS arr,
      json_extract_scalar('{"a":{"b":1}}', '$.a.b') AS num,
      json_extract_scalar('{"a":null}', '$.a') AS nul,
      json_extract_scalar('{"a":true}', '$.a') AS bool,
      json_extract_scalar(NULL, '$.a') AS none`);
    expect(rows).toEqual([{ obj: null, arr: null, num: '1', nul: null, bool: 'true', none: null }]);
  });

  test('from_iso8601_timestamp, to_unixtime and to_iso8601 work in UTC', async () => {
    const { rows } = await engine.query(`SELECT
      to_iso8601(from_iso8601_timestamp('2024-07-31T12:46:41Z') + INTERVAL '30' MINUTE) AS t,
      to_unixtime(from_iso8601_timestamp('1970-01-01T00:01:00Z')) AS u,
      from_iso8601_timestamp('2024-07-31T14:46:41+02:00') = from_iso8601_timestamp('2024-07-31T12:46:41Z') AS same`);
    expect(rows).toEqual([{ t: '2024-07-31T13:16:41Z', u: 60, same: true }]);
  });

  test('the insights view is empty but queryable when no Insights records were found', async () => {
    const { rows } = await engine.query('SELECT count(*) AS n FROM trailsight_insights');
    expect(rows).toEqual([{ n: 0 }]);
  });
});

describe('LocalCloudTrail bad input', () => {
  test('fails with NoLogsError when a directory holds no logs', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'ts-empty-'));
    writeFileSync(join(empty, 'README.md'), 'nothing here');
    await expect(LocalCloudTrail.open([empty])).rejects.toThrow(NoLogsError);
    await expect(LocalCloudTrail.open([empty])).rejects.toThrow(/no CloudTrail records found .*no candidate files/);
  });

  test('fails with NoLogsError when every file is bad, and says what was seen', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ts-bad-'));
    writeFileSync(join(dir, 'a.json.gz'), Buffer.from([0x1f, 0x8b, 1, 2, 3]));
    const err = await LocalCloudTrail.open([dir]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NoLogsError);
    expect((err as NoLogsError).report.skipped[0].reason).toMatch(/^corrupt gzip/);
  });

  test('reports a path that does not exist', async () => {
    const err = await LocalCloudTrail.open(['/nonexistent/trailsight']).catch((e: unknown) => e);
    expect((err as NoLogsError).report.missing).toEqual(['/nonexistent/trailsight']);
  });

  test('readLogFile skips a file over the size limit, compressed or once decompressed', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ts-big-'));
    const json = JSON.stringify({ Records: [{ eventTime: '2024-01-01T00:00:00Z', eventName: 'X'.repeat(500) }] });
    writeFileSync(join(dir, 'big.json'), json);
    writeFileSync(join(dir, 'big.json.gz'), gzipSync(Buffer.from(json)));
    expect(readLogFile(join(dir, 'big.json'), 100)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/^too large: \d+ bytes \(limit 100\)/),
    });
    expect(readLogFile(join(dir, 'big.json.gz'), 100)).toMatchObject({
      ok: false,
      reason: 'too large once decompressed (limit 100 bytes)',
    });
    expect(readLogFile(join(dir, 'big.json.gz'))).toMatchObject({ ok: true });
  });

  test('readLogFile skips an empty file and a file of records without eventTime', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ts-bad-'));
    writeFileSync(join(dir, 'empty.json'), '');
    writeFileSync(join(dir, 'otrf.json'), JSON.stringify([{ '@timestamp': 'x' }]));
    expect(readLogFile(join(dir, 'empty.json'))).toMatchObject({ ok: false, reason: 'empty file', benign: false });
    expect(readLogFile(join(dir, 'otrf.json'))).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/without eventTime/),
    });
  });
});

describe('partitionOf', () => {
  test.each([
    [
      'AWSLogs/111122223333/CloudTrail/eu-west-1/2024/01/02/111122223333_CloudTrail_eu-west-1_20240102T0005Z_a.json.gz',
      { account: '111122223333', region: 'eu-west-1', dt: '2024/01/02' },
    ],
    [
      'x/974349055189_CloudTrail_sa-east-1_20180425T1900Z_Gzr0U5A09iwYlcvn.json.gz',
      { account: '974349055189', region: 'sa-east-1', dt: '2018/04/25' },
    ],
    [
      'AWSLogs/o-abcdefghij/111122223333/CloudTrail/us-east-1/2024/01/02/111122223333_CloudTrail_us-east-1_20240102T2355Z_a.json.gz',
      { account: '111122223333', region: 'us-east-1', dt: '2024/01/02' },
    ],
    // Not CloudTrail's name: foreign to the ingest core too; its rows take account/region/dt from the records.
    ['AWSLogs/o-abc/111122223333/CloudTrail/us-east-1/2024/01/02/renamed.json.gz', undefined],
    ['stratus/aws.defense-evasion.cloudtrail-stop.json', undefined],
  ])('%s', (path, expected) => {
    expect(partitionOf(path)).toEqual(expected);
  });
});
