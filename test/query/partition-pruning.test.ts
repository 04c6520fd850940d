/**
 * Local queries read only the days their `dt` bounds allow, as Athena reads only the partitions a query's
 * `dt BETWEEN … AND …` names, and never lose a row by it: the analysis is conservative (anything it cannot
 * prove reads every file), and every answer is the same as reading every file.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { DuckDBInstance } from '@duckdb/node-api';
import { LocalCloudTrail } from '../../lambda/adapters/duckdb-cloudtrail';
import { type PartitionRange, partitionRanges } from '../../lambda/adapters/duckdb-columns';
import { findQuery, loadCatalog, renderQuery } from '../../queries/catalog';

let duck: DuckDBInstance;
async function ranges(sql: string, table = 'cloudtrail_logs'): Promise<PartitionRange[] | undefined> {
  const connection = await duck.connect();
  const reader = await connection.runAndReadAll(`SELECT json_serialize_sql('${sql.replaceAll("'", "''")}') AS j`);
  connection.closeSync();
  return partitionRanges(String(reader.getRowObjectsJS()[0].j), table, 'dt');
}
beforeAll(async () => {
  duck = await DuckDBInstance.create(':memory:');
});
afterAll(() => duck.closeSync());

describe('partitionRanges', () => {
  test.each<[string, PartitionRange[]]>([
    [
      "SELECT * FROM cloudtrail_logs WHERE dt BETWEEN '2024/03/01' AND '2024/03/02'",
      [{ from: '2024/03/01', to: '2024/03/02' }],
    ],
    [
      "SELECT 1 FROM cloudtrail_logs WHERE eventname = 'X' AND dt = '2024/03/02'",
      [{ from: '2024/03/02', to: '2024/03/02' }],
    ],
    [
      "SELECT 1 FROM cloudtrail_logs l WHERE l.dt >= '2024/03/01' AND l.dt < '2024/03/05'",
      [{ from: '2024/03/01', to: '2024/03/05' }],
    ],
    [
      "SELECT 1 FROM cloudtrail_logs WHERE '2024/03/04' >= dt AND (eventname = 'a' OR eventname = 'b')",
      [{ to: '2024/03/04' }],
    ],
    [
      "SELECT 1 FROM cloudtrail_logs WHERE dt >= '2024/03/01' AND dt >= '2024/03/03' AND dt <= '2024/03/09'",
      [{ from: '2024/03/03', to: '2024/03/09' }],
    ],
    [
      "WITH a AS (SELECT eventname FROM cloudtrail_logs WHERE dt = '2024/03/01'), b AS (SELECT eventname FROM cloudtrail_logs WHERE dt = '2024/03/07') SELECT * FROM a UNION ALL SELECT * FROM b",
      [
        { from: '2024/03/01', to: '2024/03/01' },
        { from: '2024/03/07', to: '2024/03/07' },
      ],
    ],
    ['SELECT 1 FROM other_table WHERE x = 1', []],
  ])('%s', async (sql, expected) => {
    expect(await ranges(sql)).toEqual(expected);
  });

  test.each([
    ['no dt bound', 'SELECT count(*) FROM cloudtrail_logs'],
    ['an OR around the bound', "SELECT 1 FROM cloudtrail_logs WHERE dt = '2024/03/01' OR eventname = 'x'"],
    ['a NOT', "SELECT 1 FROM cloudtrail_logs WHERE NOT dt = '2024/03/01'"],
    ['NOT BETWEEN', "SELECT 1 FROM cloudtrail_logs WHERE dt NOT BETWEEN '2024/03/01' AND '2024/03/02'"],
    ['a function of dt', "SELECT 1 FROM cloudtrail_logs WHERE substr(dt, 1, 7) = '2024/03'"],
    ['a non-string constant', 'SELECT 1 FROM cloudtrail_logs WHERE dt = 20240301'],
    [
      'a join',
      "SELECT 1 FROM cloudtrail_logs a JOIN cloudtrail_logs b ON a.eventid = b.eventid WHERE a.dt = '2024/03/01' AND b.dt = '2024/03/01'",
    ],
    ['a comma join', "SELECT 1 FROM cloudtrail_logs, other WHERE dt = '2024/03/01'"],
    ['another alias', "SELECT 1 FROM cloudtrail_logs l WHERE x.dt = '2024/03/01'"],
    [
      'one bounded reference, one not',
      "SELECT 1 FROM cloudtrail_logs WHERE dt = '2024/03/01' UNION ALL SELECT 1 FROM cloudtrail_logs",
    ],
    [
      'a subquery without bound',
      "SELECT 1 FROM cloudtrail_logs WHERE dt = '2024/03/01' AND eventname IN (SELECT eventname FROM cloudtrail_logs)",
    ],
    [
      'a CTE named like the table',
      "WITH cloudtrail_logs AS (SELECT * FROM cloudtrail_logs) SELECT 1 FROM cloudtrail_logs WHERE dt = '2024/03/01'",
    ],
    ['not a statement DuckDB serializes', "CREATE TABLE t AS SELECT 1 FROM cloudtrail_logs WHERE dt = '2024/03/01'"],
  ])('every file when %s', async (_what, sql) => {
    expect(await ranges(sql)).toBeUndefined();
  });

  test('each table has its own ranges', async () => {
    const sql =
      "SELECT 1 FROM cloudtrail_logs WHERE dt = '2024/03/01' UNION ALL SELECT 1 FROM trailsight_insights WHERE dt >= '2024/03/05'";
    expect(await ranges(sql, 'cloudtrail_logs')).toEqual([{ from: '2024/03/01', to: '2024/03/01' }]);
    expect(await ranges(sql, 'trailsight_insights')).toEqual([{ from: '2024/03/05' }]);
  });
});

describe('the engine reads only the days a statement bounds, with the same answers', () => {
  const ACCOUNT = '111122223333';
  let root: string;
  let engine: LocalCloudTrail;
  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'ts-prune-'));
    // Nine days, four delivery files a day, plus an export outside the layout (always read).
    for (let day = 1; day <= 9; day++) {
      const dir = join(root, `AWSLogs/${ACCOUNT}/CloudTrail/us-east-1/2024/03/0${day}`);
      mkdirSync(dir, { recursive: true });
      for (let f = 0; f < 4; f++) {
        const records = Array.from({ length: 5 }, (_, i) => ({
          eventVersion: '1.08',
          eventTime: `2024-03-0${day}T0${f}:0${i}:00Z`,
          eventSource: 'iam.amazonaws.com',
          eventName: day % 2 === 0 ? 'CreateUser' : 'ListUsers',
          awsRegion: 'us-east-1',
          eventID: `id-${day}-${f}-${i}`,
          recipientAccountId: ACCOUNT,
          eventType: 'AwsApiCall',
          userIdentity:
            i === 0
              ? { type: 'Root', arn: `arn:aws:iam::${ACCOUNT}:root`, principalId: ACCOUNT }
              : { type: 'IAMUser', arn: `arn:aws:iam::${ACCOUNT}:user/u${day}` },
          sourceIPAddress: `198.51.100.${day}`,
          ...(i === 1 ? { errorCode: 'AccessDenied', errorMessage: 'denied' } : {}),
        }));
        writeFileSync(
          join(dir, `${ACCOUNT}_CloudTrail_us-east-1_2024030${day}T0${f}00Z_f${f}.json.gz`),
          gzipSync(Buffer.from(JSON.stringify({ Records: records }))),
        );
      }
    }
    writeFileSync(
      join(root, 'export.json'),
      JSON.stringify([{ eventTime: '2024-03-05T12:00:00Z', eventName: 'Exported', eventID: 'x-1' }]),
    );
    engine = await LocalCloudTrail.open([root]);
  });
  afterAll(() => engine.close());

  test.each<[string, number]>([
    ["SELECT count(*) AS n FROM cloudtrail_logs WHERE dt BETWEEN '2024/03/02' AND '2024/03/03'", 8],
    ["SELECT count(*) AS n FROM cloudtrail_logs WHERE dt = '2024/03/09'", 4],
    ["SELECT count(*) AS n FROM cloudtrail_logs WHERE dt > '2024/03/08'", 8],
    ["SELECT count(*) AS n FROM cloudtrail_logs WHERE dt BETWEEN '2025/01/01' AND '2025/01/02'", 0],
    ["SELECT count(*) AS n FROM cloudtrail_logs WHERE dt = '2024/03/01' OR eventname = 'CreateUser'", 36],
    ['SELECT count(*) AS n FROM cloudtrail_logs', 36],
  ])('%s (%i delivery files)', async (sql, files) => {
    const pruned = await engine.query(sql);
    expect(engine.statementFiles).toBe(files);
    // The same statement with its bounds hidden from the analysis (a function of dt) reads every file.
    const whole = await engine.query(sql.replaceAll(/\bdt\b/g, "concat(dt, '')"));
    expect(engine.statementFiles).toBe(36);
    expect(pruned).toEqual(whole);
  });

  test('every named query over a day range reads that range and answers as over every file', async () => {
    const catalog = loadCatalog();
    let answered = 0;
    for (const name of [
      'root-account-use',
      'console-login-without-mfa',
      'first-seen-api',
      'access-denied-by-principal',
    ]) {
      const query = findQuery(catalog, name);
      const { sql } = renderQuery(
        query,
        { start: '2024-03-03T00:00:00Z', end: '2024-03-05T00:00:00Z' },
        { now: new Date('2024-03-05T00:00:00Z') },
      );
      const pruned = await engine.query(sql);
      expect(engine.statementFiles).toBeLessThan(36);
      const whole = await engine.query(sql.replaceAll(/\bdt\b/g, "concat(dt, '')"));
      expect(engine.statementFiles).toBe(36);
      expect(pruned).toEqual(whole);
      if (pruned.rows.length > 0) answered++;
    }
    expect(answered).toBeGreaterThanOrEqual(3);
  });
});
