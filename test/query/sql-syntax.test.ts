/**
 * The Athena side of "one SQL, two engines": every library query must parse as Trino (or Athena) SQL, both as
 * written (placeholders are string literals) and rendered, and may only call functions Trino has — the
 * parser accepts unknown function names, so a DuckDB-only function would otherwise slip through.
 */
import { loadCatalog, renderQuery } from '../../queries/catalog';
import { compactionInsert } from '../../queries/compaction';
import { CLOUDTRAIL_PARQUET_TABLE_NAME, CLOUDTRAIL_TABLE_NAME } from '../../schema/cloudtrail-table';

interface SqlParser {
  astify(sql: string, opt: { database: string }): unknown;
}
const { Parser: TrinoParser } = require('node-sql-parser/build/trino') as { Parser: new () => SqlParser };
const { Parser: AthenaParser } = require('node-sql-parser/build/athena') as { Parser: new () => SqlParser };
const trino = new TrinoParser();
const athena = new AthenaParser();

/**
 * Queries neither dialect of node-sql-parser 5.4 parses although Trino does (toolchain.md §8 lists its gaps:
 * AT TIME ZONE, VALUES CTEs, array subscripts in trino / try_cast, IS DISTINCT FROM in athena). Empty today:
 * the library avoids those constructs. An entry must say why, and the test below fails once it parses again.
 */
const PARSER_GAPS: Readonly<Record<string, string>> = {};

/**
 * Functions the library may call: Trino built-ins that the local engine either has natively or gets as a
 * macro (lambda/adapters/duckdb-cloudtrail.ts, TRINO_COMPAT_MACROS). Keywords that precede '(' are listed too.
 */
const TRINO_FUNCTIONS = new Set([
  // keywords followed by a parenthesis
  'in',
  'and',
  'or',
  'as',
  'not',
  'exists',
  'filter',
  'over',
  'when',
  'then',
  'else',
  // aggregate
  'count',
  'count_if',
  'min',
  'max',
  'sum',
  'avg',
  'array_agg',
  'min_by',
  'max_by',
  'approx_distinct',
  'arbitrary',
  // scalar
  'cast',
  'try_cast',
  'coalesce',
  'strpos',
  'substr',
  'lower',
  'upper',
  'length',
  'replace',
  'split_part',
  'concat',
  'regexp_like',
  'regexp_extract',
  'array_join',
  'array_sort',
  'cardinality',
  'json_extract_scalar',
  'json_extract',
  'json_format',
  'from_iso8601_timestamp',
  'to_iso8601',
  'to_unixtime',
  'date_trunc',
  'greatest',
  'least',
  'round',
]);

function parses(sql: string): { ok: boolean; errors: string[] } {
  const errors: string[] = [];
  for (const [name, parser] of [
    ['trino', trino],
    ['athena', athena],
  ] as const) {
    try {
      parser.astify(sql, { database: name });
      return { ok: true, errors };
    } catch (err) {
      errors.push(`${name}: ${(err as Error).message.slice(0, 200)}`);
    }
  }
  return { ok: false, errors };
}

function functionsCalled(sql: string): string[] {
  const body = sql
    .split('\n')
    .filter((l) => !l.trim().startsWith('--'))
    .join('\n')
    .replace(/'(?:[^']|'')*'/g, "''");
  return [...new Set([...body.matchAll(/\b([A-Za-z_][A-Za-z0-9_]*)\s*\(/g)].map((m) => m[1].toLowerCase()))];
}

const catalog = loadCatalog();

describe('Athena syntax of the library', () => {
  test.each(catalog.map((q) => [q.name, q] as const))('%s parses as Trino/Athena SQL, raw and rendered', (name, q) => {
    if (PARSER_GAPS[name]) return;
    const raw = parses(q.sql);
    // On failure the errors of both dialects are shown.
    expect({ name, errors: raw.ok ? [] : raw.errors }).toEqual({ name, errors: [] });
    const given = Object.fromEntries(q.params.filter((p) => p.default === undefined).map((p) => [p.name, 'x']));
    const rendered = renderQuery(q, given, { now: new Date('2024-08-01T00:00:00Z') });
    expect(parses(rendered.sql).ok).toBe(true);
  });

  test.each(catalog.filter((q) => q.table === CLOUDTRAIL_TABLE_NAME).map((q) => [q.name, q] as const))(
    '%s parses rendered for the compacted table, and reads only it',
    (name, q) => {
      if (PARSER_GAPS[name]) return;
      const given = Object.fromEntries(q.params.filter((p) => p.default === undefined).map((p) => [p.name, 'x']));
      const { sql, values } = renderQuery(q, given, { now: new Date('2024-08-01T00:00:00Z'), compacted: true });
      expect(parses(sql).ok).toBe(true);
      expect(sql).not.toMatch(/\bcloudtrail_logs\b/);
      expect(sql).toContain(CLOUDTRAIL_PARQUET_TABLE_NAME);
      expect(values.dt_from).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    },
  );

  test('the compaction statement parses and calls only Trino functions', () => {
    const sql = compactionInsert('trailsight', "'2024/07/31'", "'111122223333'");
    expect(parses(sql).errors).toEqual([]);
    expect(functionsCalled(sql).filter((f) => !TRINO_FUNCTIONS.has(f))).toEqual([]);
  });

  test.each(catalog.map((q) => [q.name, q] as const))('%s calls only Trino functions', (_name, q) => {
    expect(functionsCalled(q.sql).filter((f) => !TRINO_FUNCTIONS.has(f))).toEqual([]);
  });

  test('the allowlist holds only queries that really fail to parse', () => {
    for (const name of Object.keys(PARSER_GAPS)) {
      const q = catalog.find((c) => c.name === name);
      expect(q).toBeDefined();
      expect(parses(q?.sql ?? '').ok).toBe(false);
    }
  });

  test('the check can fail: broken SQL and DuckDB-only functions are caught', () => {
    expect(parses('SELEC eventname FROM cloudtrail_logs').ok).toBe(false);
    expect(parses('SELECT eventname FROM cloudtrail_logs WHERE (a = 1').ok).toBe(false);
    expect(
      functionsCalled('SELECT list_filter(x, y -> y), epoch(t) FROM t').filter((f) => !TRINO_FUNCTIONS.has(f)),
    ).toEqual(['list_filter', 'epoch']);
  });
});
