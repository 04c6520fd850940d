/**
 * Every named query runs on an organization table (docs/queries.md, "Organization tables"):
 * - no table of an organization (Trailsight's own organization trail, or any existing archive) projects `account`
 *   as `injected`, under which Athena rejects every query without a static `account = '…'` (none of the library's
 *   queries has one); each is an `enum`, seeded at deployment and kept current by the account sync, and the saved
 *   named queries are the library's text, with no account to fill in;
 * - run as saved, on real files of two accounts in the Control Tower layout (the local engine reads the account,
 *   Region and day from the keys, as partition projection does), the queries answer across both accounts.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { LocalCloudTrail } from '../../lambda/adapters/duckdb-cloudtrail';
import { findQuery, loadCatalog, renderQuery } from '../../queries/catalog';
import { build, withDefaults } from '../infra/helpers';
import { configFor, LAYOUTS, realKeys } from '../support/archive-layouts';

const catalog = loadCatalog();

const ORGANIZATIONS: [string, Record<string, unknown>][] = [
  [
    "Trailsight's own organization trail, no accounts listed",
    withDefaults({
      organization: { organizationId: 'o-a1b2c3d4e5' },
      accounts: { management: '111111111111' },
      archive: { objectLock: { mode: 'COMPLIANCE', days: 2557 } },
    }) as Record<string, unknown>,
  ],
  ...LAYOUTS.map((l): [string, Record<string, unknown>] => [l.name, configFor(l) as Record<string, unknown>]),
];

describe.each(ORGANIZATIONS)('the tables of %s', (_name, input) => {
  let template: Template;
  beforeAll(() => {
    template = Template.fromStack(build(input as never).analytics);
  });

  test('project the account as an enum of known accounts, never injected', () => {
    const tables = Object.values(template.findResources('AWS::Glue::Table'));
    expect(tables.map((t) => t.Properties.TableInput.Name).sort()).toEqual([
      'cloudtrail_logs',
      'cloudtrail_parquet',
      'trailsight_insights',
    ]);
    for (const t of tables) {
      const parameters = t.Properties.TableInput.Parameters as Record<string, unknown>;
      expect(parameters['projection.account.type']).toBe('enum');
      expect(parameters['projection.account.values']).toEqual(expect.stringMatching(/^\d{12}$/));
    }
    expect(JSON.stringify(template.toJSON())).not.toContain('injected');
  });

  test('save every query of the library with nothing to fill in about accounts', () => {
    const saved = Object.values(template.findResources('AWS::Athena::NamedQuery')).map(
      (q) => q.Properties.QueryString as string,
    );
    expect(saved.length).toBe(catalog.length + catalog.filter((q) => q.table === 'cloudtrail_logs').length);
    for (const text of saved) expect(text).not.toMatch(/\{\{\s*account/);
    for (const q of catalog) expect(q.params.map((p) => p.name)).not.toContain('account');
  });
});

describe('the library on an organization archive (Control Tower layout, two real accounts)', () => {
  const layout = LAYOUTS[0];
  let root: string;
  let engine: LocalCloudTrail;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'ts-org-layout-'));
    const { logs, files } = realKeys();
    // flaws2 (653711331788, 2018-11-28) and the first hours of grycap's 2017-06-01 (974349055189).
    const chosen = logs.filter((k) => k.includes('/653711331788/') || /_20170601T0[0-3]/.test(k));
    for (const key of chosen) {
      const target = join(root, `${layout.accountsRoot}${key.slice('AWSLogs/'.length)}`);
      mkdirSync(dirname(target), { recursive: true });
      copyFileSync(files.get(key) as string, target);
    }
    engine = await LocalCloudTrail.open([root]);
  });
  afterAll(() => {
    engine?.close();
    rmSync(root, { recursive: true, force: true });
  });

  test('reads both accounts with their partitions from the layout', async () => {
    const { rows } = await engine.query(
      'SELECT account, region, count(*) AS n FROM cloudtrail_logs GROUP BY 1, 2 ORDER BY 1, 2',
    );
    expect(rows.map((r) => [r.account, r.region])).toEqual([
      ['653711331788', 'us-east-1'],
      ['974349055189', 'us-east-1'],
    ]);
  });

  test('runs every cloudtrail_logs query as saved, across both accounts without naming one', async () => {
    const accounts = new Set<unknown>();
    let ran = 0;
    for (const query of catalog.filter((q) => q.table === 'cloudtrail_logs' && q.engines.includes('duckdb'))) {
      const given = Object.fromEntries(
        query.params
          .filter((p) => p.default === undefined)
          .map((p) => [p.name, p.type === 'timestamp' ? '2017-06-01' : 'a']),
      );
      const { sql } = renderQuery(
        findQuery(catalog, query.name),
        { start: '2017-06-01', end: '2018-11-29', ...given },
        {
          now: new Date('2018-11-29T00:00:00Z'),
        },
      );
      const result = await engine.query(sql);
      expect(result.columns).toEqual(query.returns);
      for (const row of result.rows) if ('account' in row) accounts.add(row.account);
      ran++;
    }
    expect(ran).toBeGreaterThan(25);
    // The CIS filters alone find events of both accounts: no query was limited to one.
    expect([...accounts].sort()).toEqual(['653711331788', '974349055189']);
  });
});
