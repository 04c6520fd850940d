/**
 * Every library query on real CloudTrail data (../shared/data), with the answers asserted:
 * flaws2-cloud (an attack with stolen role credentials), stratus-red-team (one file per attack technique) and
 * grycap-cloudtrail-tracker (a university account's real background activity). One DuckDB for the file:
 * the three datasets do not overlap in time (grycap 2014–2018-05, flaws2 2018-11-28, stratus 2024-07→11),
 * so the time range of each test selects its dataset, as it would select days in the archive.
 *
 * Every query also runs rendered for the compacted table on a local index of the same files (Parquet, the layout
 * the deployed compaction writes) and must give the same rows: the named queries run on both tables.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { LocalCloudTrail } from '../../lambda/adapters/duckdb-cloudtrail';
import { TrailIndex } from '../../lambda/adapters/duckdb-index';
import { inputRole, scanLocalPaths } from '../../lambda/adapters/local-files';
import { type CatalogQuery, findQuery, loadCatalog, renderQuery } from '../../queries/catalog';

const DATA = resolve(__dirname, '../../../shared/data');
const FLAWS2 = { start: '2018-11-28', end: '2018-11-29' };
const STRATUS = { start: '2024-07-30', end: '2024-12-01' };
const GRYCAP = { start: '2014-01-01', end: '2018-06-01' };
const EVERYTHING = { start: '2014-01-01', end: '2025-01-01' };

const catalog = loadCatalog();
let engine: LocalCloudTrail;
let compacted: LocalCloudTrail;
const exercised = new Set<string>();

async function run(name: string, params: Record<string, string>): Promise<Record<string, unknown>[]> {
  const query: CatalogQuery = findQuery(catalog, name);
  exercised.add(name);
  const { sql } = renderQuery(query, params, { now: new Date('2025-01-01T00:00:00Z') });
  const result = await engine.query(sql);
  expect(result.columns).toEqual(query.returns); // the header's @returns is the truth
  if (query.table === 'cloudtrail_logs') {
    const onIndex = renderQuery(query, params, { now: new Date('2025-01-01T00:00:00Z'), compacted: true });
    expect(await compacted.query(onIndex.sql)).toEqual(result);
  }
  return [...result.rows];
}

const pick = (rows: readonly Record<string, unknown>[], ...cols: string[]) => rows.map((r) => cols.map((c) => r[c]));

beforeAll(async () => {
  const paths = [join(DATA, 'flaws2-cloud'), join(DATA, 'stratus-red-team'), join(DATA, 'grycap-cloudtrail-tracker')];
  engine = await LocalCloudTrail.open(paths);
  const files = scanLocalPaths(paths).files.filter((f) => inputRole(f) === 'events');
  const index = TrailIndex.open(join(mkdtempSync(join(tmpdir(), 'ts-real-index-')), 'idx'), { create: true });
  const writer = await LocalCloudTrail.openFiles(files);
  await index.add(writer, files, new Date('2025-01-01T00:00:00Z'));
  writer.close();
  compacted = await LocalCloudTrail.openIndex(index);
});
afterAll(() => {
  engine.close();
  compacted.close();
});

test('reads the three datasets completely', async () => {
  const { rows } = await engine.query('SELECT count(*) AS n FROM cloudtrail_logs');
  expect(rows).toEqual([{ n: 37 + 310 + 17_598 }]);
  expect(engine.report).toMatchObject({ unreadable: [], notCloudTrail: [], problems: [] });
});

describe('flaws2-cloud: stolen role credentials', () => {
  test('assumed-role-session-chain: the level3 ECS task role, assumed by ecs-tasks, used from 104.102.221.250 for ListBuckets', async () => {
    const rows = await run('assumed-role-session-chain', { ...FLAWS2, role: 'level3' });
    expect(rows).toEqual([
      {
        assumed_at: '2018-11-28T22:31:59Z',
        role_arn: 'arn:aws:iam::653711331788:role/level3',
        session_name: 'd190d14a-2404-45d6-9113-4eda22d7f2c7',
        assumed_by: 'ecs-tasks.amazonaws.com',
        assumed_by_type: 'AWSService',
        assumed_from: 'ecs-tasks.amazonaws.com',
        access_key_id: 'ASIAZQNB3KHGNXWXBSJS',
        calls: 1,
        first_use: '2018-11-28T23:09:28Z',
        last_use: '2018-11-28T23:09:28Z',
        used_from: '104.102.221.250',
        apis: 'ListBuckets',
      },
    ]);
  });

  test('assumed-role-session-chain: the level1 Lambda key is used from the Lambda and from the attacker', async () => {
    const [row] = await run('assumed-role-session-chain', { ...FLAWS2, role: 'service-role/level1' });
    expect(row).toMatchObject({
      assumed_by: 'lambda.amazonaws.com',
      access_key_id: 'ASIAZQNB3KHGIGYQXVVG',
      calls: 9,
      used_from: '104.102.221.250, 34.234.236.212',
      apis: 'BatchGetImage, CreateLogStream, GetDownloadUrlForLayer, ListImages, ListObjects',
    });
  });

  test('principal-activity: the level3 session made exactly one call, ListBuckets from 104.102.221.250', async () => {
    const rows = await run('principal-activity', { ...FLAWS2, principal: 'assumed-role/level3' });
    expect(pick(rows, 'eventtime', 'eventname', 'sourceipaddress')).toEqual([
      ['2018-11-28T23:09:28Z', 'ListBuckets', '104.102.221.250'],
    ]);
  });

  test('source-ip-activity: the attacker IP browsed anonymously, then used both stolen roles', async () => {
    const rows = await run('source-ip-activity', { ...FLAWS2, ip: '104.102.221.250' });
    expect(rows).toHaveLength(27);
    expect(
      pick(
        rows.filter((r) => r.principal_type === 'AssumedRole'),
        'eventname',
        'principal',
      ),
    ).toEqual([
      ['ListObjects', 'arn:aws:sts::653711331788:assumed-role/level1/level1'],
      ['ListImages', 'arn:aws:sts::653711331788:assumed-role/level1/level1'],
      ['BatchGetImage', 'arn:aws:sts::653711331788:assumed-role/level1/level1'],
      ['GetDownloadUrlForLayer', 'arn:aws:sts::653711331788:assumed-role/level1/level1'],
      ['ListBuckets', 'arn:aws:sts::653711331788:assumed-role/level3/d190d14a-2404-45d6-9113-4eda22d7f2c7'],
    ]);
    expect(new Set(rows.filter((r) => r.principal_type === 'AWSAccount').map((r) => r.eventname))).toEqual(
      new Set(['GetObject']),
    );
  });

  test('first-seen-api: after 23:04 the level1 role calls S3 and ECR for the first time, and level3 appears', async () => {
    const rows = await run('first-seen-api', { ...FLAWS2, since: '2018-11-28T23:04:00Z' });
    expect(pick(rows, 'principal', 'eventname', 'first_source_ip', 'baseline_calls')).toEqual([
      ['arn:aws:sts::653711331788:assumed-role/level1/level1', 'ListObjects', '104.102.221.250', 5],
      ['arn:aws:sts::653711331788:assumed-role/level1/level1', 'ListImages', '104.102.221.250', 5],
      ['arn:aws:sts::653711331788:assumed-role/level1/level1', 'BatchGetImage', '104.102.221.250', 5],
      ['arn:aws:sts::653711331788:assumed-role/level1/level1', 'GetDownloadUrlForLayer', '104.102.221.250', 5],
      [
        'arn:aws:sts::653711331788:assumed-role/level3/d190d14a-2404-45d6-9113-4eda22d7f2c7',
        'ListBuckets',
        '104.102.221.250',
        0,
      ],
    ]);
  });

  test('access-denied-by-principal: the Lambda role was refused CreateLogStream five times', async () => {
    const rows = await run('access-denied-by-principal', FLAWS2);
    expect(pick(rows, 'principal', 'denied_calls', 'apis', 'source_ips')).toEqual([
      ['arn:aws:sts::653711331788:assumed-role/level1/level1', 5, 'CreateLogStream', '34.234.236.212'],
    ]);
  });

  test('principal-activity finds nothing for a principal that never appears', async () => {
    expect(await run('principal-activity', { ...FLAWS2, principal: 'no-such-role' })).toEqual([]);
  });
});

describe('stratus-red-team: attack techniques', () => {
  test('cloudtrail-tampering: finds cloudtrail-delete, cloudtrail-event-selectors and cloudtrail-stop', async () => {
    const rows = await run('cloudtrail-tampering', STRATUS);
    expect(pick(rows, 'eventtime', 'technique', 'eventname', 'target')).toEqual([
      ['2024-07-31T12:46:41Z', 'trail deleted', 'DeleteTrail', 'stratus-red-team-cloudtraild-trail-kvrwohmiai'],
      ['2024-07-31T12:50:02Z', 'selectors changed', 'PutEventSelectors', 'stratus-red-team-ctes-trail-khlvciwdor'],
      ['2024-07-31T13:06:24Z', 'logging stopped', 'StopLogging', 'stratus-red-team-ct-stop-trail-buykxbqejv'],
    ]);
  });

  test('cloudtrail-tampering: with archive_bucket set, bucket changes are reported only for that bucket', async () => {
    expect(await run('cloudtrail-tampering', { ...STRATUS, archive_bucket: 'no-such-bucket' })).toHaveLength(3);
  });

  test('console-login-without-mfa: finds the console-login-without-mfa technique', async () => {
    const rows = await run('console-login-without-mfa', STRATUS);
    expect(pick(rows, 'eventtime', 'username', 'principal_type', 'mfa_used')).toEqual([
      ['2024-08-02T08:53:24Z', 'stratus-red-team-nmfalu-jfzdtsvchl', 'IAMUser', 'No'],
    ]);
  });

  test('cis-4.02: the exact CIS filter finds the same sign-in', async () => {
    const rows = await run('cis-4.02-console-signin-without-mfa', STRATUS);
    expect(pick(rows, 'eventtime', 'mfa_used')).toEqual([['2024-08-02T08:53:24Z', 'No']]);
  });

  test('cis-4.05: DeleteTrail and StopLogging (PutEventSelectors is not in the CIS list)', async () => {
    const rows = await run('cis-4.05-cloudtrail-configuration-changes', STRATUS);
    expect(pick(rows, 'eventname', 'trail')).toEqual([
      ['DeleteTrail', 'stratus-red-team-cloudtraild-trail-kvrwohmiai'],
      ['StopLogging', 'stratus-red-team-ct-stop-trail-buykxbqejv'],
    ]);
  });

  test('cis-4.15: organizations-leave is an Organizations change', async () => {
    const rows = await run('cis-4.15-organizations-changes', STRATUS);
    expect(pick(rows, 'eventname', 'errorcode')).toEqual([['LeaveOrganization', 'AccessDenied']]);
  });

  test('cis-4.04: iam-create-admin-user and iam-create-backdoor-role attach policies', async () => {
    const rows = await run('cis-4.04-iam-policy-changes', STRATUS);
    expect(pick(rows, 'eventname', 'policy')).toEqual([
      ['AttachUserPolicy', 'arn:aws:iam::aws:policy/AdministratorAccess'],
      ['AttachRolePolicy', 'arn:aws:iam::aws:policy/AdministratorAccess'],
    ]);
  });

  test('cis-4.10 and network-changes: ec2-security-group-open-port-22-ingress', async () => {
    const cis = await run('cis-4.10-security-group-changes', STRATUS);
    const net = await run('network-changes', STRATUS);
    expect(pick(cis, 'eventname')).toEqual([['AuthorizeSecurityGroupIngress']]);
    expect(pick(net, 'change_kind', 'eventname', 'resource_id')).toEqual([
      ['security-group', 'AuthorizeSecurityGroupIngress', cis[0].security_group],
    ]);
  });

  test('cis-4.01 and access-denied-by-principal: the ec2-get-password-data role was refused 30 times', async () => {
    const cis = await run('cis-4.01-unauthorized-api-calls', STRATUS);
    expect(cis).toHaveLength(51);
    const rows = await run('access-denied-by-principal', { ...STRATUS, min_denied: '10' });
    expect(pick(rows, 'denied_calls', 'apis', 'error_codes')).toEqual([
      [30, 'GetPasswordData', 'Client.UnauthorizedOperation'],
      [15, 'DescribeInstanceAttribute', 'Client.UnauthorizedOperation'],
    ]);
  });

  test('resource-history: who created malicious-iam-user, attached admin and made it a key', async () => {
    const rows = await run('resource-history', { ...STRATUS, resource: 'malicious-iam-user' });
    expect(pick(rows, 'action', 'eventname', 'principal').sort()).toEqual([
      ['create', 'AttachUserPolicy', 'arn:aws:iam::229654561268:user/christophe'],
      ['create', 'CreateAccessKey', 'arn:aws:iam::229654561268:user/christophe'],
      ['create', 'CreateUser', 'arn:aws:iam::229654561268:user/christophe'],
    ]);
  });

  test('resource-history: a deleted trail is a delete, by its name', async () => {
    const rows = await run('resource-history', {
      ...STRATUS,
      resource: 'stratus-red-team-cloudtraild-trail-kvrwohmiai',
    });
    expect(pick(rows, 'action', 'eventname')).toEqual([['delete', 'DeleteTrail']]);
  });

  test("resource-actor-context: the same principal's calls around each change", async () => {
    const rows = await run('resource-actor-context', {
      ...STRATUS,
      resource: 'malicious-iam-user',
      window_minutes: '5',
    });
    expect(rows).toHaveLength(9); // 3 changes x the 3 calls christophe made in that minute
    expect(new Set(rows.map((r) => r.seconds_from_change))).toEqual(new Set([0]));
  });
});

describe('grycap-cloudtrail-tracker: real background activity', () => {
  test('root-account-use: one root console sign-in, from 158.42.105.124', async () => {
    const rows = await run('root-account-use', GRYCAP);
    expect(pick(rows, 'account', 'sourceipaddress', 'eventname', 'calls', 'first_seen')).toEqual([
      ['974349055189', '158.42.105.124', 'ConsoleLogin', 1, '2014-09-26T13:43:42Z'],
    ]);
  });

  test('cis-4.03: the same root use with the CIS filter', async () => {
    const rows = await run('cis-4.03-root-account-usage', GRYCAP);
    expect(pick(rows, 'eventtime', 'eventname', 'principal')).toEqual([
      ['2014-09-26T13:43:42Z', 'ConsoleLogin', 'arn:aws:iam::974349055189:root'],
    ]);
  });

  test('console-login-without-mfa: 34 successful sign-ins without MFA, root included, none with MFA', async () => {
    const rows = await run('console-login-without-mfa', GRYCAP);
    expect(rows).toHaveLength(34);
    expect(rows.filter((r) => r.principal_type === 'Root')).toHaveLength(1);
    expect(new Set(rows.map((r) => r.mfa_used))).toEqual(new Set(['No']));
    expect(pick(rows.slice(0, 2), 'eventtime', 'username')).toEqual([
      ['2014-09-26T11:29:20Z', 'alucloud00'],
      ['2014-09-26T13:43:42Z', null],
    ]);
    expect((await run('cis-4.02-console-signin-without-mfa', GRYCAP)).length).toBe(33); // IAM users only
  });

  test('console-login-failures-by-user and -by-ip: two failed sign-ins, one for a user name that does not exist', async () => {
    const byUser = await run('console-login-failures-by-user', GRYCAP);
    expect(pick(byUser, 'username', 'failures', 'source_ips')).toEqual([
      ['HIDDEN_DUE_TO_SECURITY_REASONS', 1, '83.37.50.95'],
      ['alucloud34', 1, '213.37.139.133'],
    ]);
    const byIp = await run('console-login-failures-by-ip', GRYCAP);
    expect(pick(byIp, 'sourceipaddress', 'failures', 'usernames')).toEqual([
      ['213.37.139.133', 1, 'alucloud34'],
      ['83.37.50.95', 1, 'HIDDEN_DUE_TO_SECURITY_REASONS'],
    ]);
    expect(await run('console-login-failures-by-ip', { ...GRYCAP, min_failures: '2' })).toEqual([]);
  });

  test('cis-4.06: the failure with errorMessage "Failed authentication"', async () => {
    const rows = await run('cis-4.06-console-authentication-failures', GRYCAP);
    expect(pick(rows, 'eventtime', 'username', 'sourceipaddress')).toEqual([
      ['2014-09-27T13:11:42Z', 'alucloud34', '213.37.139.133'],
    ]);
  });

  test('cis-4.05: the trail was created and started in 2014', async () => {
    const rows = await run('cis-4.05-cloudtrail-configuration-changes', GRYCAP);
    expect(pick(rows, 'eventtime', 'eventname', 'principal')).toEqual([
      ['2014-09-26T11:26:19Z', 'StartLogging', 'arn:aws:iam::974349055189:user/gmolto'],
      ['2014-09-26T11:26:19Z', 'CreateTrail', 'arn:aws:iam::974349055189:user/gmolto'],
    ]);
  });

  test('cis-4.10: 114 security group changes by students and staff', async () => {
    const rows = await run('cis-4.10-security-group-changes', GRYCAP);
    expect(rows).toHaveLength(114);
    expect(rows[0]).toMatchObject({
      eventname: 'DeleteSecurityGroup',
      security_group: 'sg-ec8dff86',
      errorcode: 'Client.InvalidGroup.InUse',
    });
  });

  test('resource-history and resource-actor-context: gmolto deleting security group sg-ec8dff86', async () => {
    const history = await run('resource-history', { ...GRYCAP, resource: 'sg-ec8dff86' });
    expect(pick(history, 'eventtime', 'action', 'errorcode')).toEqual([
      ['2014-09-26T11:34:06Z', 'delete', 'Client.InvalidGroup.InUse'],
      ['2014-09-26T11:34:10Z', 'delete', 'Client.InvalidGroup.InUse'],
    ]);
    const context = await run('resource-actor-context', { ...GRYCAP, resource: 'sg-ec8dff86', window_minutes: '5' });
    const first = context.filter((r) => r.change_time === '2014-09-26T11:34:06Z');
    expect(first[0]).toMatchObject({ eventname: 'GetAccountSummary', seconds_from_change: -139 });
    expect(first.some((r) => r.eventname === 'PutGroupPolicy')).toBe(true);
  });

  test('first-seen-region: students first using sa-east-1 in 2018', async () => {
    const rows = await run('first-seen-region', { ...GRYCAP, since: '2018-01-01' });
    expect(rows[0]).toMatchObject({
      principal: 'arn:aws:iam::974349055189:user/alucloud101',
      awsregion: 'sa-east-1',
      first_seen: '2018-01-27T10:39:59Z',
      known_regions: null,
    });
    const gmolto = rows.find((r) => r.principal === 'arn:aws:iam::974349055189:user/gmolto');
    expect(gmolto).toMatchObject({ awsregion: 'sa-east-1', known_regions: 'us-east-1' });
  });

  test('first-seen-api with a principal filter', async () => {
    const rows = await run('first-seen-api', { ...GRYCAP, since: '2018-01-01', principal: 'user/gmolto' });
    expect(rows.length).toBeGreaterThan(0);
    expect(new Set(rows.map((r) => r.principal))).toEqual(new Set(['arn:aws:iam::974349055189:user/gmolto']));
  });
});

describe('queries with no matching activity in the real data', () => {
  test.each([
    'cis-4.07-cmk-disable-or-deletion',
    'cis-4.08-s3-bucket-policy-changes',
    'cis-4.09-config-changes',
    'cis-4.11-nacl-changes',
    'cis-4.12-network-gateway-changes',
    'cis-4.13-route-table-changes',
    'cis-4.14-vpc-changes',
    'kms-key-disable-or-deletion',
    's3-bucket-made-public',
  ])('%s returns no rows over the three datasets (positives: fixture-data.test.ts)', async (name) => {
    expect(await run(name, EVERYTHING)).toEqual([]);
  });

  test('trailsight-insights is empty: the datasets hold no Insights records', async () => {
    expect(await run('trailsight-insights', EVERYTHING)).toEqual([]);
  });
});

test('every query of the library ran on the real data', () => {
  expect([...exercised].sort()).toEqual(catalog.map((q) => q.name).sort());
});
