import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type CatalogQuery,
  findQuery,
  loadCatalog,
  parseQuery,
  parseTimestamp,
  QueryCatalogError,
  renderQuery,
  sqlString,
} from '../../queries/catalog';

const NOW = new Date('2024-08-01T12:00:00Z');

const MINIMAL = `-- @title A title
-- @description What it answers.
-- @param start timestamp = -7d  Start
-- @param end timestamp = now  End
-- @param who string  Principal (required)
-- @param n integer = 5  A number
-- @returns a, b
SELECT 1 AS a, 2 AS b FROM cloudtrail_logs
WHERE dt BETWEEN '{{dt_from}}' AND '{{dt_to}}'
  AND eventtime >= '{{start}}' AND eventtime < '{{end}}'
  AND useridentity.arn = '{{who}}' AND 1 < CAST('{{n}}' AS integer)
`;

function minimal(): CatalogQuery {
  return parseQuery(MINIMAL, '/x/forensics/minimal.sql', 'forensics');
}

describe('parseQuery', () => {
  test('reads title, description, params with defaults, returns and the name from the file name', () => {
    const q = minimal();
    expect(q.name).toBe('minimal');
    expect(q.title).toBe('A title');
    expect(q.returns).toEqual(['a', 'b']);
    expect(q.params).toEqual([
      { name: 'start', type: 'timestamp', default: '-7d', description: 'Start' },
      { name: 'end', type: 'timestamp', default: 'now', description: 'End' },
      { name: 'who', type: 'string', description: 'Principal (required)' },
      { name: 'n', type: 'integer', default: '5', description: 'A number' },
    ]);
    expect(q.engines).toEqual(['athena', 'duckdb']);
    expect(q.table).toBe('cloudtrail_logs');
  });

  test('reads a quoted empty default', () => {
    const q = parseQuery(MINIMAL.replace('who string  Principal', 'who string = ""  Principal'), 'x.sql');
    expect(q.params.find((p) => p.name === 'who')?.default).toBe('');
  });

  test.each([
    ['missing title', MINIMAL.replace('-- @title A title\n', ''), /@title/],
    ['missing returns', MINIMAL.replace('-- @returns a, b\n', ''), /@returns/],
    ['no time range', MINIMAL.replace('-- @param end timestamp = now  End\n', ''), /`end` timestamp/],
    ['undeclared placeholder', MINIMAL.replace("'{{who}}'", "'{{whom}}'"), /undeclared parameter \{\{whom\}\}/],
    ['unused parameter', MINIMAL.replace("AND useridentity.arn = '{{who}}' ", ''), /declares `who` but never uses it/],
    ['unquoted placeholder', MINIMAL.replace("'{{who}}'", '{{who}}'), /whole quoted literal/],
    [
      'derived parameter declared',
      MINIMAL.replace('-- @returns', '-- @param dt_from string = x  no\n-- @returns'),
      /derived/,
    ],
    ['unknown engine', MINIMAL.replace('-- @returns', '-- @engines athena, sqlite\n-- @returns'), /unknown engine/],
  ])('fails when the header has a %s', (_why, text, message) => {
    expect(() => parseQuery(text, 'bad.sql')).toThrow(message);
  });
});

describe('renderQuery', () => {
  test('fills every placeholder with a quoted literal and widens dt by a day on each side', () => {
    const { sql, values } = renderQuery(
      minimal(),
      { who: 'arn:aws:iam::1:user/a', start: '2024-07-30', end: '2024-07-31T10:00:00Z' },
      { now: NOW },
    );
    expect(values).toMatchObject({
      start: '2024-07-30T00:00:00Z',
      end: '2024-07-31T10:00:00Z',
      dt_from: '2024/07/29',
      dt_to: '2024/08/01',
      n: '5',
    });
    expect(sql).toContain("dt BETWEEN '2024/07/29' AND '2024/08/01'");
    expect(sql).toContain("useridentity.arn = 'arn:aws:iam::1:user/a'");
    expect(sql).not.toContain('{{');
  });

  test('resolves relative defaults against the given now', () => {
    const { values } = renderQuery(minimal(), { who: 'x' }, { now: NOW });
    expect(values.start).toBe('2024-07-25T12:00:00Z');
    expect(values.end).toBe('2024-08-01T12:00:00Z');
  });

  test('prefers caller defaults over header defaults, and given values over both', () => {
    const { values } = renderQuery(
      minimal(),
      { who: 'x', end: '2024-01-03' },
      { now: NOW, defaults: { start: '2024-01-01', end: '2024-01-02' } },
    );
    expect(values.start).toBe('2024-01-01T00:00:00Z');
    expect(values.end).toBe('2024-01-03T00:00:00Z');
  });

  test('doubles quotes so a value cannot leave its string literal', () => {
    const { sql } = renderQuery(minimal(), { who: "x' OR '1'='1" }, { now: NOW });
    expect(sql).toContain("useridentity.arn = 'x'' OR ''1''=''1'");
  });

  test('normalizes timestamps with offsets to UTC', () => {
    const { values } = renderQuery(
      minimal(),
      { who: 'x', start: '2024-07-30T02:00:00+02:00', end: '2024-07-30T01:00:00.500Z' },
      { now: NOW },
    );
    expect(values.start).toBe('2024-07-30T00:00:00Z');
  });

  test('fails when a required parameter is missing, naming it', () => {
    expect(() => renderQuery(minimal(), {}, { now: NOW })).toThrow(/needs --param who=<string>/);
  });

  test('fails when a parameter is unknown, listing the known ones', () => {
    expect(() => renderQuery(minimal(), { who: 'x', whom: 'y' }, { now: NOW })).toThrow(
      /no parameter 'whom' \(it takes: start, end, who, n\)/,
    );
  });

  test.each([
    ['n', 'five', /is not an integer/],
    ['start', 'yesterday', /is not a time/],
    ['start', '2024-13-45', /is not a time/],
  ])('fails when %s=%s has the wrong type', (name, value, message) => {
    expect(() => renderQuery(minimal(), { who: 'x', [name]: value }, { now: NOW })).toThrow(message);
  });

  test('fails when start is not before end', () => {
    expect(() => renderQuery(minimal(), { who: 'x', start: '2024-02-01', end: '2024-01-01' }, { now: NOW })).toThrow(
      /must be before end/,
    );
  });

  test('sqlString rejects NUL characters', () => {
    expect(() => sqlString('a\u0000b')).toThrow(QueryCatalogError);
  });

  test('parseTimestamp accepts now and relative times, rejects free text', () => {
    expect(parseTimestamp('-30m', NOW)?.toISOString()).toBe('2024-08-01T11:30:00.000Z');
    expect(parseTimestamp('-12h', NOW)?.toISOString()).toBe('2024-08-01T00:00:00.000Z');
    expect(parseTimestamp('last week', NOW)).toBeUndefined();
  });
});

describe('the library', () => {
  const catalog = loadCatalog();

  test('every query parses, and names are unique', () => {
    expect(catalog.length).toBeGreaterThanOrEqual(32);
    expect(new Set(catalog.map((q) => q.name)).size).toBe(catalog.length);
  });

  test('covers each CIS 4.1-4.15 control with its own query', () => {
    for (let n = 1; n <= 15; n++) {
      const prefix = `cis-4.${String(n).padStart(2, '0')}-`;
      expect(catalog.filter((q) => q.name.startsWith(prefix))).toHaveLength(1);
    }
  });

  test('covers the questions of the issue', () => {
    const names = catalog.map((q) => q.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'resource-history',
        'resource-actor-context',
        'assumed-role-session-chain',
        'root-account-use',
        'console-login-without-mfa',
        'console-login-failures-by-user',
        'console-login-failures-by-ip',
        'access-denied-by-principal',
        'cloudtrail-tampering',
        'kms-key-disable-or-deletion',
        's3-bucket-made-public',
        'network-changes',
        'principal-activity',
        'source-ip-activity',
        'first-seen-api',
        'first-seen-region',
        'trailsight-insights',
      ]),
    );
  });

  test.each(catalog.map((q) => [q.name, q] as const))('%s prunes on dt and filters eventtime precisely', (_name, q) => {
    expect(q.sql).toContain("dt BETWEEN '{{dt_from}}' AND '{{dt_to}}'");
    expect(q.sql).toContain("from_iso8601_timestamp(eventtime) >= from_iso8601_timestamp('{{start}}')");
    // Every declared parameter has a description, every returned column is named.
    for (const p of q.params) expect(p.description).not.toBe('');
  });

  test('findQuery finds by name and suggests close names for a typo', () => {
    expect(findQuery(catalog, 'root-account-use').category).toBe('identity');
    expect(() => findQuery(catalog, 'root-account')).toThrow(
      /unknown query 'root-account'. Did you mean: .*root-account-use/,
    );
  });

  test('findQuery reads a .sql file given by path, and fails clearly when it is missing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ts-cat-'));
    const file = join(dir, 'mine.sql');
    writeFileSync(file, MINIMAL);
    expect(findQuery(catalog, file).name).toBe('mine');
    expect(() => findQuery(catalog, join(dir, 'nope.sql'))).toThrow(/cannot read query file/);
  });

  test('loadCatalog fails when two files share a name', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ts-cat-'));
    for (const sub of ['a', 'b']) {
      require('node:fs').mkdirSync(join(dir, sub));
      writeFileSync(join(dir, sub, 'same.sql'), MINIMAL);
    }
    expect(() => loadCatalog(dir)).toThrow(/two queries are named 'same'/);
  });
});
