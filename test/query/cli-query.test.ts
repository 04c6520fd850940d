import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  AthenaClient,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  StartQueryExecutionCommand,
} from '@aws-sdk/client-athena';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { command, parseParams } from '../../cli/commands/query';
import { main } from '../../cli/main';
import { loadCatalog } from '../../queries/catalog';
import { captureIo } from '../support/cli-io';

const DATA = resolve(__dirname, '../../../shared/data');
const FLAWS2 = join(DATA, 'flaws2-cloud');

async function trailsight(...argv: string[]) {
  const io = captureIo();
  const code = await command.run(argv, io);
  return { code, out: io.out, err: io.err };
}

describe('trailsight query --list', () => {
  test('lists every query with its parameters, grouped by folder', async () => {
    const { code, out } = await trailsight('--list');
    expect(code).toBe(0);
    for (const q of loadCatalog()) expect(out).toContain(`  ${q.name}  —  ${q.title}`);
    expect(out).toContain('params: start, end, ip=<string>');
    expect(out).toContain('[window_minutes=60]');
  });

  test('lists the catalog as JSON', async () => {
    const { code, out } = await trailsight('--list', '--format', 'json');
    expect(code).toBe(0);
    const entries = JSON.parse(out);
    expect(entries).toHaveLength(loadCatalog().length);
    expect(entries[0]).toEqual(
      expect.objectContaining({ name: expect.any(String), params: expect.any(Array), returns: expect.any(Array) }),
    );
  });

  test('is wired into the trailsight command map', async () => {
    const io = captureIo();
    expect(await main(['query', '--list'], io)).toBe(0);
    expect(io.out).toContain('root-account-use');
  });
});

describe('trailsight query on local logs', () => {
  test('runs a named query on a delivery tree and prints JSON rows', async () => {
    const { code, out, err } = await trailsight(
      'assumed-role-session-chain',
      '--logs',
      FLAWS2,
      '--param',
      'role=level3',
      '--format',
      'json',
    );
    expect(code).toBe(0);
    expect(JSON.parse(out)).toEqual([
      expect.objectContaining({
        access_key_id: 'ASIAZQNB3KHGNXWXBSJS',
        used_from: '104.102.221.250',
        apis: 'ListBuckets',
      }),
    ]);
    expect(err).toMatch(/assumed-role-session-chain over 8 files/);
    expect(err).toMatch(/: 1 row\n/);
  });

  test('defaults start/end to the time the logs cover: from a day before the first delivery to the last', async () => {
    const { code, out, err } = await trailsight(
      'source-ip-activity',
      '--logs',
      FLAWS2,
      '-p',
      'ip=104.102.221.250',
      '--format',
      'csv',
    );
    expect(code).toBe(0);
    expect(err).toContain('start=2018-11-27T22:35:00Z end=2018-11-28T23:10:01Z');
    const lines = out.trim().split('\n');
    expect(lines[0]).toBe(
      'eventtime,principal,principal_type,eventsource,eventname,useragent,errorcode,account,awsregion,eventid',
    );
    expect(lines).toHaveLength(1 + 27);
  });

  test('prints a readable table', async () => {
    const { code, out } = await trailsight('principal-activity', '--logs', FLAWS2, '--param', 'principal=level3');
    expect(code).toBe(0);
    const [header, rule, row] = out.split('\n');
    expect(header).toMatch(/^eventtime\s+principal\s+eventsource/);
    expect(rule).toMatch(/^-+ {2}-+/);
    expect(row).toMatch(
      /^2018-11-28T23:09:28Z\s+arn:aws:sts::653711331788:assumed-role\/level3\/.*ListBuckets\s+104\.102\.221\.250/,
    );
  });

  test('runs a .sql file given by path', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ts-cli-'));
    const file = join(dir, 'count.sql');
    writeFileSync(
      file,
      [
        '-- @title Count',
        '-- @description Events per name.',
        '-- @param start timestamp = -7d  Start',
        '-- @param end timestamp = now  End',
        '-- @returns eventname, n',
        'SELECT eventname, count(*) AS n FROM cloudtrail_logs',
        "WHERE dt BETWEEN '{{dt_from}}' AND '{{dt_to}}' AND eventtime >= '{{start}}' AND eventtime < '{{end}}'",
        'GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 2',
      ].join('\n'),
    );
    const { code, out } = await trailsight(file, '--logs', FLAWS2, '--format', 'json');
    expect(code).toBe(0);
    expect(JSON.parse(out)).toEqual([
      { eventname: 'GetObject', n: 22 },
      { eventname: 'CreateLogStream', n: 5 },
    ]);
  });

  test("falls back to the header defaults when the logs' times cannot be read", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ts-cli-'));
    writeFileSync(join(dir, 'odd.json'), JSON.stringify({ eventTime: 'yesterday', eventName: 'X' }));
    const { code, err } = await trailsight('root-account-use', '--logs', dir);
    expect(code).toBe(0);
    expect(err).toMatch(/over 1 file; start=\d{4}-\d{2}-\d{2}T/);
  });

  test('reads a time without a zone as UTC, as the ingest core does', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ts-cli-'));
    writeFileSync(join(dir, 'odd.json'), JSON.stringify({ eventTime: '2024-01-01 00:00:00', eventName: 'X' }));
    const { code, err } = await trailsight('root-account-use', '--logs', dir);
    expect(code).toBe(0);
    expect(err).toContain('start=2024-01-01T00:00:00Z end=2024-01-01T00:00:01Z');
  });

  test('--print-sql shows the rendered SQL without running it', async () => {
    const { code, out } = await trailsight(
      'root-account-use',
      '--print-sql',
      '--param',
      'start=2024-01-01',
      '--param',
      'end=2024-01-02',
    );
    expect(code).toBe(0);
    expect(out).toContain("dt BETWEEN '2023/12/31' AND '2024/01/03'");
  });

  test('skips a corrupt file in the tree, reports it, and exits 1 with the results', async () => {
    const root = mkdtempSync(join(tmpdir(), 'ts-cli-'));
    const day = join(root, 'AWSLogs/653711331788/CloudTrail/us-east-1/2018/11/28');
    mkdirSync(day, { recursive: true });
    const src = join(FLAWS2, 'AWSLogs/653711331788/CloudTrail/us-east-1/2018/11/28');
    for (const f of readdirSync(src)) copyFileSync(join(src, f), join(day, f));
    writeFileSync(
      join(day, '653711331788_CloudTrail_us-east-1_20181128T2315Z_broken.json.gz'),
      Buffer.from([0x1f, 0x8b, 0x08, 0, 1, 2]),
    );
    const { code, out, err } = await trailsight(
      'principal-activity',
      '--logs',
      root,
      '-p',
      'principal=level3',
      '--format',
      'json',
    );
    expect(code).toBe(1);
    expect(JSON.parse(out)).toHaveLength(1);
    expect(err).toMatch(/warning: .*_broken\.json\.gz: corrupt gzip/);
    expect(err).toMatch(/partial result: 1 input could not be read/);
  });
});

describe('trailsight query failures', () => {
  test('fails with exit 2 for an unknown query, suggesting close names', async () => {
    const { code, err } = await trailsight('root-use', '--logs', FLAWS2);
    expect(code).toBe(2);
    expect(err).toMatch(/unknown query 'root-use'\. Did you mean: .*root-account-use/);
  });

  test('fails with exit 2 when a required parameter is missing', async () => {
    const { code, err } = await trailsight('source-ip-activity', '--logs', FLAWS2);
    expect(code).toBe(2);
    expect(err).toMatch(/needs --param ip=<string>/);
  });

  test('fails with exit 2 for an unknown parameter or a malformed one', async () => {
    expect((await trailsight('root-account-use', '--logs', FLAWS2, '-p', 'user=x')).err).toMatch(/no parameter 'user'/);
    const bad = await trailsight('root-account-use', '--logs', FLAWS2, '-p', 'user');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--param expects key=value/);
  });

  test('fails with exit 2 for a bad value', async () => {
    const { code, err } = await trailsight('root-account-use', '--logs', FLAWS2, '-p', 'start=yesterday');
    expect(code).toBe(2);
    expect(err).toMatch(/--param start=yesterday is not a time/);
  });

  test("fails with exit 1 and DuckDB's message when the SQL of a .sql file is wrong", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ts-cli-'));
    const file = join(dir, 'broken.sql');
    writeFileSync(
      file,
      [
        '-- @title Broken',
        '-- @description Selects a column that does not exist.',
        '-- @param start timestamp = -7d  Start',
        '-- @param end timestamp = now  End',
        '-- @returns nope',
        "SELECT nope FROM cloudtrail_logs WHERE dt BETWEEN '{{dt_from}}' AND '{{dt_to}}' AND eventtime >= '{{start}}' AND eventtime < '{{end}}'",
      ].join('\n'),
    );
    const { code, err } = await trailsight(file, '--logs', FLAWS2);
    expect(code).toBe(1);
    expect(err).toMatch(/DuckDB failed: .*nope/);
  });

  test('an empty directory is an empty result with a warning, exit 0', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'ts-cli-'));
    const { code, out, err } = await trailsight('root-account-use', '--logs', empty, '--format', 'json');
    expect(code).toBe(0);
    expect(JSON.parse(out)).toEqual([]);
    expect(err).toMatch(/warning: no CloudTrail log files found/);
  });

  test('fails with exit 1 when the path does not exist', async () => {
    const { code, err } = await trailsight('root-account-use', '--logs', '/nonexistent/logs');
    expect(code).toBe(1);
    expect(err).toMatch(/no such file or directory: \/nonexistent\/logs/);
  });

  test.each([
    [['root-account-use'], /give --logs <path>, --index <dir>/],
    [[], /give exactly one query name/],
    [['a', 'b', '--logs', '.'], /give exactly one query name/],
    [
      ['root-account-use', '--logs', '.', '--format', 'xml'],
      /--format must be one of table, json, jsonl, csv \(got 'xml'\)/,
    ],
    [['--list', '--format', 'csv'], /--format must be one of table, json \(got 'csv'\)/],
    [['root-account-use', '--athena'], /--athena needs --workgroup/],
    [['root-account-use', '--logs', '.', '--index', 'x'], /--logs and --index cannot be combined/],
    [['root-account-use', '--logs', '.', '--compacted'], /--compacted is for --athena and --print-sql/],
    [['--no-such-option'], /Unknown option '--no-such-option'/],
  ])('fails with exit 2 for bad usage: %j', async (argv, message) => {
    const { code, err } = await trailsight(...argv);
    expect(code).toBe(2);
    expect(err).toMatch(message);
  });
});

describe('trailsight query --athena', () => {
  const athena = mockClient(AthenaClient);
  beforeEach(() => athena.reset());
  afterAll(() => athena.restore());

  test('renders the same SQL, runs it in the workgroup and reports rows, bytes scanned and cost', async () => {
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q-42' });
    athena.on(GetQueryExecutionCommand).resolves({
      QueryExecution: {
        QueryExecutionId: 'q-42',
        Status: { State: 'SUCCEEDED' },
        Statistics: { DataScannedInBytes: 3_145_728 },
      },
    });
    athena.on(GetQueryResultsCommand).resolves({
      ResultSet: {
        ResultSetMetadata: { ColumnInfo: [{ Name: 'eventname', Type: 'varchar' }] },
        Rows: [{ Data: [{ VarCharValue: 'eventname' }] }, { Data: [{ VarCharValue: 'StopLogging' }] }],
      },
    });
    const { code, out, err } = await trailsight(
      'cloudtrail-tampering',
      '--athena',
      '--workgroup',
      'trailsight',
      '--database',
      'trailsight_db',
      '--region',
      'eu-west-1',
      '-p',
      'start=2024-07-31',
      '-p',
      'end=2024-08-01',
      '--format',
      'json',
    );
    expect(code).toBe(0);
    expect(JSON.parse(out)).toEqual([{ eventname: 'StopLogging' }]);
    expect(err).toMatch(/query q-42; scanned 3\.0 MB \(billed 10\.0 MB, about \$0\.000048\)/);
    const sent = athena.commandCalls(StartQueryExecutionCommand)[0].args[0].input;
    expect(sent).toMatchObject({ WorkGroup: 'trailsight', QueryExecutionContext: { Database: 'trailsight_db' } });
    expect(sent.QueryString).toContain("dt BETWEEN '2024/07/30' AND '2024/08/02'");
    expect(sent.QueryString).not.toContain('{{');
  });

  test("exits 1 with Athena's reason when the query fails", async () => {
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q-43' });
    athena
      .on(GetQueryExecutionCommand)
      .resolves({ QueryExecution: { Status: { State: 'FAILED', StateChangeReason: 'TABLE_NOT_FOUND' } } });
    const { code, err } = await trailsight(
      'root-account-use',
      '--athena',
      '--workgroup',
      'wg',
      '--region',
      'eu-west-1',
    );
    expect(code).toBe(1);
    expect(err).toMatch(/q-43 failed: TABLE_NOT_FOUND/);
  });
});

describe('helpers', () => {
  test('parseParams keeps "=" inside values', () => {
    expect(parseParams(['resource=arn:aws:s3:::a=b'])).toEqual({ resource: 'arn:aws:s3:::a=b' });
  });
});
