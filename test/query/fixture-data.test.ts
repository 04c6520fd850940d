/**
 * The queries whose targets the three real datasets do not contain (KMS, S3 exposure, Config, NACL, gateway,
 * route, VPC changes; SSO/SAML look-alike sign-ins; Insights), on excerpts of other real sources:
 * Panther's rule-test CloudTrail records (test/fixtures/query, see its README), AWS's documentation examples
 * (../shared/data/awsdocs-cloudtrail-user-guide, read in place), and two hand-written Trailsight insights.
 */
import { resolve } from 'node:path';
import { LocalCloudTrail } from '../../lambda/adapters/duckdb-cloudtrail';
import { findQuery, loadCatalog, renderQuery } from '../../queries/catalog';

const FIXTURES = resolve(__dirname, '../fixtures/query');
const AWSDOCS = resolve(__dirname, '../../../shared/data/awsdocs-cloudtrail-user-guide');
const PANTHER_DAY = { start: '2019-01-01', end: '2019-01-02' };

const catalog = loadCatalog();
let engine: LocalCloudTrail;

async function run(name: string, params: Record<string, string>): Promise<Record<string, unknown>[]> {
  const { sql } = renderQuery(findQuery(catalog, name), params, { now: new Date('2025-01-01T00:00:00Z') });
  return [...(await engine.query(sql)).rows];
}
const pick = (rows: readonly Record<string, unknown>[], ...cols: string[]) => rows.map((r) => cols.map((c) => r[c]));

beforeAll(async () => {
  engine = await LocalCloudTrail.open([FIXTURES, AWSDOCS]);
});
afterAll(() => engine.close());

test('reads the fixtures and the AWS examples; the doc fragment and index are not CloudTrail, the digests ignored', async () => {
  const { rows } = await engine.query('SELECT count(*) AS n FROM trailsight_insights');
  expect(rows).toEqual([{ n: 7 }]);
  const r = engine.report;
  expect(r.unreadable).toEqual([]);
  expect(r.notCloudTrail.map((s) => s.path.split('/').pop()).sort()).toEqual([
    '11_event_fragment_aws-sts-source-identity.json',
    'index.json',
  ]);
  expect(r.digests).toBe(2);
});

describe("console-login-without-mfa on Panther's LoginWithoutMFA rule tests and AWS's sign-in examples", () => {
  test('reports IAM users and root without MFA; excludes SAML, SSO, assumed roles, MFA and failed logins', async () => {
    const rows = await run('console-login-without-mfa', { start: '2019-01-01', end: '2022-04-01' });
    expect(pick(rows, 'principal', 'principal_type')).toEqual([
      ['arn:aws:iam::123456789012:user/tester', 'IAMUser'], // No MFA Login - IAM User
      ['arn:aws:iam::123456789013:user/tester', 'IAMUser'], // No MFA Login - IAM User Unknown Account
      ['arn:aws:iam::123456789012:root', 'Root'], // No MFA Login - Root User
      ['arn:aws:iam::123456789012:user/tester', 'IAMUser'], // No MFA Login - New User (Panther suppresses new users)
      ['arn:aws:iam::123456789012:user/Mary_Major', 'IAMUser'], // AWS example: IAM user without MFA
    ]);
  });

  test('AWS examples: without MFA reported, "YES" (the root example) treated as MFA', async () => {
    const rows = await run('console-login-without-mfa', { start: '2022-11-10', end: '2022-11-11' });
    expect(pick(rows, 'principal', 'mfa_used')).toEqual([
      ['arn:aws:iam::111122223333:user/anaya', 'No'],
      ['arn:aws:iam::111122223333:root', 'No'],
    ]);
  });

  test('failed sign-ins from the AWS examples, by user and by IP', async () => {
    const day = { start: '2022-11-10', end: '2022-11-11' };
    expect(pick(await run('console-login-failures-by-user', day), 'username', 'failures')).toEqual([
      ['anaya', 1],
      ['arn:aws:iam::111122223333:root', 1],
    ]);
    expect(
      pick(await run('console-login-failures-by-ip', day), 'sourceipaddress', 'failures', 'distinct_users'),
    ).toEqual([['192.0.2.0', 2, 2]]);
    expect(pick(await run('cis-4.06-console-authentication-failures', day), 'eventname')).toHaveLength(2);
  });

  test('root-account-use on the AWS examples: sign-ins, the password change and the MFA device', async () => {
    const rows = await run('root-account-use', { start: '2022-11-10', end: '2022-11-11' });
    expect(pick(rows, 'eventname', 'calls')).toEqual([
      ['ConsoleLogin', 3],
      ['EnableMFADevice', 1],
      ['PasswordUpdated', 1],
    ]);
  });
});

describe("changes on Panther's rule-test records", () => {
  test('kms-key-disable-or-deletion and cis-4.07: DisableKey and ScheduleKeyDeletion, the failed one flagged', async () => {
    const rows = await run('kms-key-disable-or-deletion', PANTHER_DAY);
    expect(pick(rows, 'eventname', 'errorcode').sort()).toEqual([
      ['DisableKey', null],
      ['DisableKey', 'NotFoundException'],
      ['ScheduleKeyDeletion', null],
      ['ScheduleKeyDeletion', null],
    ]);
    expect(rows.find((r) => r.eventname === 'ScheduleKeyDeletion')?.pending_window_days).toMatch(/^\d+$/);
    expect(await run('cis-4.07-cmk-disable-or-deletion', PANTHER_DAY)).toHaveLength(4);
  });

  test('s3-bucket-made-public: the Principal {"AWS":"*"} policy and the deleted public access block only', async () => {
    const rows = await run('s3-bucket-made-public', { start: '2019-01-01', end: '2024-02-01' });
    expect(pick(rows, 'exposure', 'bucket')).toEqual([
      ['policy grants Principal *', 'example-bucket'],
      ['public access block deleted', 'corporate-documents'],
    ]);
    // Not reported: the service-principal policy, the AccessDenied attempt, the private ACL, the block put back.
  });

  test('cis-4.08: every bucket policy/ACL/lifecycle change, failed attempts included', async () => {
    const rows = await run('cis-4.08-s3-bucket-policy-changes', { start: '2019-01-01', end: '2024-12-01' });
    expect(pick(rows, 'eventname').flat().sort()).toEqual([
      'PutBucketAcl',
      'PutBucketAcl',
      'PutBucketPolicy',
      'PutBucketPolicy',
      'PutBucketPolicy',
      'PutBucketPolicy',
    ]);
  });

  test.each([
    ['cis-4.09-config-changes', ['DeleteDeliveryChannel', 'DeleteDeliveryChannel', 'DeleteDeliveryChannel']],
    ['cis-4.11-nacl-changes', Array(6).fill('CreateNetworkAclEntry')],
    ['cis-4.12-network-gateway-changes', ['AttachInternetGateway', 'AttachInternetGateway']],
    ['cis-4.13-route-table-changes', ['CreateRoute', 'CreateRoute']],
    ['cis-4.14-vpc-changes', ['CreateVpc', 'CreateVpc']],
  ])('%s finds its events', async (name, expected) => {
    expect((await run(name, PANTHER_DAY)).map((r) => r.eventname)).toEqual(expected);
  });

  test('network-changes labels each kind of change', async () => {
    const rows = await run('network-changes', PANTHER_DAY);
    const kinds: Record<string, number> = {};
    for (const r of rows) kinds[String(r.change_kind)] = (kinds[String(r.change_kind)] ?? 0) + 1;
    expect(kinds).toEqual({ gateway: 2, nacl: 6, route: 2, vpc: 2 });
  });
});

describe('trailsight-insights', () => {
  test("reads Trailsight's insight events with their detector, principal, score and explanation", async () => {
    const rows = await run('trailsight-insights', { start: '2024-07-31', end: '2024-08-01' });
    expect(pick(rows, 'state', 'eventname', 'detector', 'principal', 'insight_average', 'baseline_average')).toEqual([
      ['Start', 'CreateUser', 'iam-burst', 'arn:aws:iam::111122223333:user/alice', '1.67', '0.01'],
      ['End', 'CreateUser', 'iam-burst', 'arn:aws:iam::111122223333:user/alice', '1.67', '0.01'],
    ]);
    expect(rows[0].explanation).toMatch(/^alice created 10 users/);
  });

  test("reads CloudTrail's own Insights records (AWS examples) and filters on state", async () => {
    const rows = await run('trailsight-insights', { start: '2019-01-01', end: '2021-01-01', state: 'Start' });
    expect(pick(rows, 'eventtime', 'eventname', 'insight_type', 'detector')).toEqual([
      ['2019-10-15T21:13:00Z', 'CompleteLifecycleAction', 'ApiCallRateInsight', null],
      ['2019-11-14T00:51:00Z', 'UpdateInstanceInformation', 'ApiCallRateInsight', null],
      ['2020-07-21T20:56:00Z', 'CompleteLifecycleAction', 'ApiCallRateInsight', null],
    ]);
  });

  test('Insights records stay out of cloudtrail_logs', async () => {
    const { rows } = await engine.query(
      "SELECT count(*) AS n FROM cloudtrail_logs WHERE eventtype = 'AwsCloudTrailInsight'",
    );
    expect(rows).toEqual([{ n: 0 }]);
  });
});
