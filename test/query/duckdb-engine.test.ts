/**
 * The local engine: the `cloudtrail_logs` view has exactly the Glue table's columns and types, the Trino
 * compatibility macros keep Trino's meaning, every input shape loads, and bad input is a reported skip.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { AbsolutePaths, LocalCloudTrail } from '../../lambda/adapters/duckdb-cloudtrail';
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

  test('reads every accepted shape and reports the bad files with a reason, without failing', async () => {
    const { rows } = await engine.query('SELECT count(*) AS n FROM cloudtrail_logs');
    expect(rows).toEqual([{ n: 37 + 1 + 1 + 2 }]);
    const r = engine.report;
    // The corrupt delivery is below the size DuckDB is trusted with, so the tolerant reader reports it.
    expect(r.unreadable.map((s) => [s.path.split('/').pop(), s.reason.split(':')[0]])).toEqual([
      ['653711331788_CloudTrail_us-east-1_20181128T2359Z_corrupt.json.gz', 'corrupt gzip'],
    ]);
    expect(r.notCloudTrail.map((s) => [s.path.split('/').pop(), s.reason.split(':')[0]]).sort()).toEqual([
      ['notes.json', 'not JSON'],
      ['shape.json', 'not a CloudTrail file (no Records, not a record)'],
    ]);
    expect(r.digests).toBe(1);
    expect(r.deliveryFiles).toBe(8);
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
  test('an empty directory is an empty table, not an error', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'ts-empty-'));
    writeFileSync(join(empty, 'README.md'), 'nothing here');
    const engine = await LocalCloudTrail.open([empty]);
    try {
      expect((await engine.query('SELECT count(*) AS n FROM cloudtrail_logs')).rows).toEqual([{ n: 0 }]);
      expect(engine.report.window).toBeUndefined();
    } finally {
      engine.close();
    }
  });

  test('reports every unreadable file with its reason, and a path that does not exist', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ts-bad-'));
    writeFileSync(join(dir, 'a.json.gz'), Buffer.from([0x1f, 0x8b, 1, 2, 3]));
    const engine = await LocalCloudTrail.open([dir, '/nonexistent/trailsight']);
    try {
      expect(engine.report.unreadable[0].reason).toMatch(/^corrupt gzip/);
      expect(engine.report.problems).toEqual([
        expect.objectContaining({ kind: 'missing', path: '/nonexistent/trailsight' }),
      ]);
    } finally {
      engine.close();
    }
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
    expect(readLogFile(join(dir, 'empty.json'))).toMatchObject({
      ok: false,
      reason: 'empty file',
      outcome: 'not-cloudtrail',
    });
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

describe('LocalCloudTrail reads delivery files itself, and never loses one', () => {
  const ACCOUNT = '111122223333';
  const DAY = `AWSLogs/${ACCOUNT}/CloudTrail/us-east-1/2024/03/01`;
  const name = (minute: number, tag: string) =>
    `${ACCOUNT}_CloudTrail_us-east-1_20240301T00${String(minute).padStart(2, '0')}Z_${tag}.json.gz`;
  const record = (i: number, extra: Record<string, unknown> = {}) => ({
    eventVersion: '1.08',
    eventTime: `2024-03-01T00:${String(i % 60).padStart(2, '0')}:00Z`,
    eventSource: 'iam.amazonaws.com',
    eventName: `Call${i}`,
    awsRegion: 'us-east-1',
    eventID: `id-${i}`,
    recipientAccountId: ACCOUNT,
    userIdentity: { type: 'IAMUser', principalId: 'AIDA', arn: `arn:aws:iam::${ACCOUNT}:user/u${i}` },
    requestParameters: { userName: `u${i}` },
    resources: [{ ARN: `arn:aws:iam::${ACCOUNT}:user/u${i}`, accountId: ACCOUNT, type: 'AWS::IAM::User' }],
    ...extra,
  });
  const delivery = (records: unknown[]) => gzipSync(Buffer.from(JSON.stringify({ Records: records })));

  function tree(files: Record<string, Buffer>): string {
    const root = mkdtempSync(join(tmpdir(), 'ts-native-'));
    mkdirSync(join(root, DAY), { recursive: true });
    for (const [n, bytes] of Object.entries(files)) writeFileSync(join(root, DAY, n), bytes);
    return root;
  }

  test('a field of the wrong type makes DuckDB refuse the file; the tolerant reader reads it as the SerDe would', async () => {
    const root = tree({
      [name(5, 'good')]: delivery([record(1), record(2)]),
      [name(10, 'odd')]: delivery([record(3, { userIdentity: 'not an object', resources: { ARN: 'x' } })]),
    });
    const engine = await LocalCloudTrail.open([root]);
    try {
      const { rows } = await engine.query(
        'SELECT eventname, useridentity.type AS t, len(resources) AS r FROM cloudtrail_logs ORDER BY 1',
      );
      expect(rows).toEqual([
        { eventname: 'Call1', t: 'IAMUser', r: 1 },
        { eventname: 'Call2', t: 'IAMUser', r: 1 },
        { eventname: 'Call3', t: null, r: null },
      ]);
      expect(engine.report).toMatchObject({ deliveryFiles: 1, otherFiles: 1, unreadable: [] });
    } finally {
      engine.close();
    }
  });

  test('a truncated delivery is reported with its reason and the other files still answer', async () => {
    const whole = delivery(Array.from({ length: 200 }, (_, i) => record(i)));
    const root = tree({
      [name(5, 'good')]: delivery([record(1000)]),
      [name(10, 'cut')]: whole.subarray(0, Math.floor(whole.length / 2)),
    });
    const engine = await LocalCloudTrail.open([root]);
    try {
      expect((await engine.query('SELECT count(*) AS n FROM cloudtrail_logs')).rows).toEqual([{ n: 1 }]);
      expect(engine.report.unreadable).toEqual([
        expect.objectContaining({
          path: expect.stringContaining('_cut.json.gz'),
          reason: expect.stringMatching(/gzip/),
        }),
      ]);
    } finally {
      engine.close();
    }
  });

  test('after several refused files, the rest are checked once instead of failing one statement per file', async () => {
    const files: Record<string, Buffer> = {};
    for (let i = 0; i < 6; i++) files[name(i, `bad${i}`)] = delivery([record(i, { resources: 'x' })]);
    for (let i = 6; i < 9; i++) files[name(i, `good${i}`)] = delivery([record(i)]);
    const engine = await LocalCloudTrail.open([tree(files)]);
    try {
      expect((await engine.query('SELECT count(resources) AS r, count(*) AS n FROM cloudtrail_logs')).rows).toEqual([
        { r: 3, n: 9 },
      ]);
      expect(engine.report).toMatchObject({ deliveryFiles: 3, otherFiles: 6 });
    } finally {
      engine.close();
    }
  });

  test("each row keeps its own file's partition values when some days are pruned and a refused file moved", async () => {
    const root = mkdtempSync(join(tmpdir(), 'ts-file-index-'));
    const files = [
      ['us-east-1', '01', 'a'],
      ['eu-west-1', '02', 'b'],
      ['us-east-1', '03', 'bad'],
      ['ap-south-1', '03', 'c'],
      ['us-east-1', '04', 'd'],
    ];
    for (const [region, day, tag] of files) {
      const dir = join(root, `AWSLogs/${ACCOUNT}/CloudTrail/${region}/2024/03/${day}`);
      mkdirSync(dir, { recursive: true });
      const extra = tag === 'bad' ? { resources: 'not a list' } : {};
      writeFileSync(
        join(dir, `${ACCOUNT}_CloudTrail_${region}_202403${day}T0005Z_${tag}.json.gz`),
        delivery([record(1, { eventName: tag, ...extra })]),
      );
    }
    const engine = await LocalCloudTrail.open([root]);
    try {
      const { rows } = await engine.query(
        "SELECT eventname, region, dt, len(resources) AS r FROM cloudtrail_logs WHERE dt >= '2024/03/02' ORDER BY eventname",
      );
      expect(rows).toEqual([
        { eventname: 'b', region: 'eu-west-1', dt: '2024/03/02', r: 1 },
        { eventname: 'bad', region: 'us-east-1', dt: '2024/03/03', r: null },
        { eventname: 'c', region: 'ap-south-1', dt: '2024/03/03', r: 1 },
        { eventname: 'd', region: 'us-east-1', dt: '2024/03/04', r: 1 },
      ]);
      expect(engine.report).toMatchObject({ deliveryFiles: 4, otherFiles: 1 });
      expect(engine.statementFiles).toBe(3);
    } finally {
      engine.close();
    }
  });

  test('reads only the columns a statement names, and whole structs when a statement asks for them', async () => {
    const root = tree({ [name(5, 'good')]: delivery([record(1)]) });
    const engine = await LocalCloudTrail.open([root]);
    try {
      const whole = await engine.query('SELECT useridentity, resources FROM cloudtrail_logs');
      expect(whole.rows[0]).toEqual({
        useridentity: expect.objectContaining({
          type: 'IAMUser',
          principalid: 'AIDA',
          arn: `arn:aws:iam::${ACCOUNT}:user/u1`,
          sessioncontext: null,
        }),
        resources: [{ arn: `arn:aws:iam::${ACCOUNT}:user/u1`, accountid: ACCOUNT, type: 'AWS::IAM::User' }],
      });
      const star = await engine.query('SELECT * FROM cloudtrail_logs');
      expect(star.columns).toEqual([...CLOUDTRAIL_COLUMNS, ...CLOUDTRAIL_PARTITION_KEYS].map((c) => c.name));
      expect(star.rows[0]).toMatchObject({
        eventname: 'Call1',
        requestparameters: '{"userName":"u1"}',
        dt: '2024/03/01',
      });
      const row = await engine.query('SELECT to_json(c) AS j FROM cloudtrail_logs c');
      expect(JSON.parse(String(row.rows[0].j))).toMatchObject({ eventid: 'id-1', account: ACCOUNT });
    } finally {
      engine.close();
    }
  });

  test('partitions taken from the file name in SQL agree with partitionOf for every delivery name', async () => {
    const root = mkdtempSync(join(tmpdir(), 'ts-parts-'));
    const paths = [
      `AWSLogs/${ACCOUNT}/CloudTrail/eu-west-1/2024/01/02/${ACCOUNT}_CloudTrail_eu-west-1_20240102T0005Z_a1.json.gz`,
      `AWSLogs/o-abcdefghij/${ACCOUNT}/CloudTrail/ap-southeast-2/2023/12/31/${ACCOUNT}_CloudTrail_ap-southeast-2_20231231T2355Z_b2.json.gz`,
      `flat/${ACCOUNT}_CloudTrail_us-gov-west-1_20240229T1200Z_c3.json`,
    ];
    for (const p of paths) {
      mkdirSync(join(root, p, '..'), { recursive: true });
      const bytes = JSON.stringify({ Records: [record(1)] });
      writeFileSync(join(root, p), p.endsWith('.gz') ? gzipSync(bytes) : bytes);
    }
    const engine = await LocalCloudTrail.open([root]);
    try {
      expect(engine.report.deliveryFiles).toBe(3);
      const { rows } = await engine.query('SELECT account, region, dt FROM cloudtrail_logs ORDER BY region');
      expect(rows).toEqual(
        paths.map((p) => partitionOf(join(root, p))).sort((a, b) => a!.region.localeCompare(b!.region)),
      );
    } finally {
      engine.close();
    }
  });
});

describe('LocalCloudTrail.stream', () => {
  test('hands over a short result and a long one (computed into a table first) in order', async () => {
    const engine = await LocalCloudTrail.open([]);
    try {
      for (const n of [3, 25_000]) {
        const batches: Record<string, unknown>[][] = [];
        let columns: readonly string[] = [];
        await engine.stream(`SELECT range AS i FROM range(${n}) ORDER BY i`, {
          columns: (c) => {
            columns = c;
          },
          rows: (b) => batches.push(b),
        });
        const rows = batches.flat();
        expect(columns).toEqual(['i']);
        expect(rows).toHaveLength(n);
        expect(rows.every((r, k) => r.i === k)).toBe(true);
      }
    } finally {
      engine.close();
    }
  });

  test('runs a statement a table cannot hold (DESCRIBE) as written', async () => {
    const engine = await LocalCloudTrail.open([]);
    try {
      const rows: Record<string, unknown>[] = [];
      await engine.stream('DESCRIBE cloudtrail_logs', { columns: () => {}, rows: (b) => rows.push(...b) });
      expect(rows.map((r) => r.column_name)).toContain('eventtime');
    } finally {
      engine.close();
    }
  });

  test("a syntax error is reported against the user's statement, not the table it was to fill", async () => {
    const engine = await LocalCloudTrail.open([]);
    try {
      const sink = { columns: jest.fn(), rows: jest.fn() };
      const error = await engine.stream('SELEC count(*) FROM cloudtrail_logs', sink).catch((e: Error) => e);
      expect((error as Error).message).toMatch(/syntax error at or near "SELEC"/);
      expect((error as Error).message).not.toMatch(/_trailsight_result|CREATE/);
      expect(sink.columns).not.toHaveBeenCalled();
    } finally {
      engine.close();
    }
  });
});

describe('AbsolutePaths', () => {
  const paths = [
    'a.json',
    './a.json',
    '../a.json',
    'x/y/a.json',
    'x/y/b.json',
    './x/../y/a.json',
    '/abs/a.json',
    'x//y/a.json',
    '.././../z/a.json',
    'x/./a.json',
  ];

  test.each(['/', tmpdir()])('gives what resolve gives, from %s', (cwd) => {
    const before = process.cwd();
    process.chdir(cwd);
    try {
      const absolute = new AbsolutePaths();
      // Twice over: the second pass meets each directory again after others.
      for (const path of [...paths, ...paths]) expect(absolute.of(path)).toBe(resolve(path));
    } finally {
      process.chdir(before);
    }
  });
});
