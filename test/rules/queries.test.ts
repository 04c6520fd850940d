/**
 * One question, two answers that must agree: each built-in rule and the named query of the same name
 * (queries/**), run on the same records: the query on the local DuckDB engine, the rule through the rule engine.
 * Records: the real datasets (flaws2, Stratus Red Team, grycap) and the excerpts the query tests use (Panther's
 * rule-test events in test/fixtures/query, AWS's documentation examples), read by the same file reader.
 *
 * Where rule and query differ on purpose, the difference is written here and applied to the query's rows:
 * - change rules fire on changes made or refused for lack of permission; the queries list every attempt;
 * - kms-key-disable-or-deletion leaves out CancelKeyDeletion and EnableKey, which the query lists for context;
 * - root-account-use groups the same events as cis-4.03-root-account-usage per account, IP and API;
 * - network-changes is CIS 4.10-4.14 on ec2.amazonaws.com in one time line.
 */
import { join, resolve } from 'node:path';
import { LocalCloudTrail } from '../../lambda/adapters/duckdb-cloudtrail';
import { readLogFile } from '../../lambda/adapters/duckdb-log-files';
import { listLocalFiles } from '../../lambda/adapters/local-files';
import { isSkip, normalizeRecord } from '../../lambda/core/normalize';
import { loadRules, type RuleHit, RuleSet } from '../../lambda/core/rules';
import { findQuery, loadCatalog, renderQuery } from '../../queries/catalog';
import { DATA } from './helpers';

const ROOTS = [
  join(DATA, 'flaws2-cloud'),
  join(DATA, 'stratus-red-team'),
  join(DATA, 'grycap-cloudtrail-tracker'),
  join(DATA, 'awsdocs-cloudtrail-user-guide'),
  resolve(__dirname, '../fixtures/query'),
];
const RANGE = { start: '2010-01-01', end: '2030-01-01' };
/** A bucket that Panther's events change (PutBucketPolicy, PutBucketAcl, public access block), standing in for the archive. */
const ARCHIVE_BUCKET = 'example-bucket';

const catalog = loadCatalog();
let engine: LocalCloudTrail;
/** rule name → keys of the records it matched. */
const matched = new Map<string, string[]>();

const key = (id: unknown, time: unknown) => `${id}|${time}`;

async function queryKeys(name: string, params: Record<string, string> = {}): Promise<Record<string, unknown>[]> {
  const { sql } = renderQuery(findQuery(catalog, name), { ...RANGE, ...params }, { now: new Date('2030-01-01') });
  return [...(await engine.query(sql)).rows];
}

const refusedOrDone = (row: Record<string, unknown>) => {
  const code = row.errorcode as string | null;
  return code === null || code.startsWith('AccessDenied') || code.endsWith('UnauthorizedOperation');
};

beforeAll(async () => {
  engine = await LocalCloudTrail.open(ROOTS);
  const loaded = loadRules({ builtin: true, folders: [], placeholders: { archive_bucket: [ARCHIVE_BUCKET] } });
  const set = new RuleSet(loaded.rules);
  const hits: RuleHit[] = [];
  for (const f of await listLocalFiles(ROOTS)) {
    const read = readLogFile(f.path);
    if (!read.ok) continue;
    for (const record of read.file.records) {
      const event = normalizeRecord(record, { fallbackAccount: f.info.account });
      if (!isSkip(event)) set.match(event, record, (h) => hits.push(h));
    }
  }
  for (const h of hits) {
    const list = matched.get(h.rule.ref.name) ?? [];
    list.push(key(h.event.eventId, `${new Date(h.event.time).toISOString().slice(0, 19)}Z`));
    matched.set(h.rule.ref.name, list);
  }
});
afterAll(() => engine.close());

const rowKeys = (rows: Record<string, unknown>[]) => rows.map((r) => key(r.eventid, r.eventtime)).sort();
const ruleKeys = (name: string) => [...(matched.get(name) ?? [])].sort();

describe.each([
  ['cis-4.01-unauthorized-api-calls', 'all rows'],
  ['cis-4.02-console-signin-without-mfa', 'all rows'],
  ['cis-4.03-root-account-usage', 'all rows'],
  ['cis-4.04-iam-policy-changes', 'refused or done'],
  ['cis-4.05-cloudtrail-configuration-changes', 'refused or done'],
  ['cis-4.06-console-authentication-failures', 'all rows'],
  ['cis-4.07-cmk-disable-or-deletion', 'refused or done'],
  ['cis-4.08-s3-bucket-policy-changes', 'refused or done'],
  ['cis-4.09-config-changes', 'refused or done'],
  ['cis-4.10-security-group-changes', 'refused or done'],
  ['cis-4.11-nacl-changes', 'refused or done'],
  ['cis-4.12-network-gateway-changes', 'refused or done'],
  ['cis-4.13-route-table-changes', 'refused or done'],
  ['cis-4.14-vpc-changes', 'refused or done'],
  ['cis-4.15-organizations-changes', 'refused or done'],
  ['console-login-without-mfa', 'all rows'],
  ['s3-bucket-made-public', 'all rows'],
])('rule and query %s (%s)', (name, filter) => {
  test('the same records', async () => {
    let rows = await queryKeys(name);
    if (filter === 'refused or done') rows = rows.filter(refusedOrDone);
    expect(rowKeys(rows)).toEqual(ruleKeys(name));
  });
});

test('every compared rule matched something in the data, so no agreement above is vacuous', () => {
  const silent = [...catalog]
    .map((q) => q.name)
    .filter((n) => /^cis-4\.|console-login-without-mfa|s3-bucket-made-public/.test(n))
    .filter((n) => (matched.get(n) ?? []).length === 0);
  // CIS 4.9 (Config), 4.15 (Organizations) and others only occur in some datasets; none is absent from all of them.
  expect(silent).toEqual([]);
});

test('cloudtrail-tampering = its query, with the archive bucket named', async () => {
  const rows = (await queryKeys('cloudtrail-tampering', { archive_bucket: ARCHIVE_BUCKET })).filter(refusedOrDone);
  expect(rowKeys(rows)).toEqual(ruleKeys('cloudtrail-tampering'));
  expect(rows.map((r) => r.technique)).toEqual(expect.arrayContaining(['archive bucket changed', 'selectors changed']));
});

test('kms-key-disable-or-deletion = its query less CancelKeyDeletion and EnableKey', async () => {
  const rows = (await queryKeys('kms-key-disable-or-deletion'))
    .filter((r) => r.eventname !== 'CancelKeyDeletion' && r.eventname !== 'EnableKey')
    .filter(refusedOrDone);
  expect(rowKeys(rows)).toEqual(ruleKeys('kms-key-disable-or-deletion'));
});

test('root-account-use groups exactly the cis-4.03 root events', async () => {
  const rows = await queryKeys('root-account-use');
  const calls = rows.reduce((n, r) => n + Number(r.calls), 0);
  expect(calls).toBe(ruleKeys('cis-4.03-root-account-usage').length);
  expect(calls).toBeGreaterThan(0);
});

test('network-changes = CIS 4.10 to 4.14 on ec2.amazonaws.com', async () => {
  const rows = (await queryKeys('network-changes')).filter(refusedOrDone);
  const union = [10, 11, 12, 13, 14].flatMap((n) => {
    const rule = catalog.find((q) => q.name.startsWith(`cis-4.${n}-`))?.name ?? '';
    return ruleKeys(rule);
  });
  expect(rowKeys(rows)).toEqual(union.sort());
});
