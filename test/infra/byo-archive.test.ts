/**
 * Trailsight over an existing archive (`archive.existing`, docs/deploy.md "Bring your own trail and archive"), for each
 * layout people have (test/support/archive-layouts.ts): no trail and no archive bucket; the Glue table, the rules,
 * the grants, the backfill and the account sync all follow the configured prefix and key; real keys rewritten into
 * the layout land where the table reads and the rules match, and nothing else the bucket holds does.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { classifyKey } from '../../lambda/core/keys';
import { parseConfig } from '../../lib/config';
import { archiveSource, digestKeyPattern, logFileKeyPattern } from '../../lib/contracts';
import { ACCOUNT_SYNC_ENV } from '../../schema/analytics-contract';
import { CLOUDTRAIL_TABLE_NAME } from '../../schema/cloudtrail-table';
import { ENV } from '../../schema/detection-contract';
import { INTEGRITY_ENV } from '../../schema/evidence-contract';
import { configFor, HOME_REGION, LAYOUTS, LOG_ARCHIVE_ACCOUNT, realKeys } from '../support/archive-layouts';
import { build, REPO_ROOT, withDefaults } from './helpers';

interface Statement {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, unknown>;
}

/** Every statement of the IAM policies of a template. */
function statements(template: Template): Statement[] {
  return Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
    (p) => p.Properties.PolicyDocument.Statement as Statement[],
  );
}

/** The statements with this Sid (one per role that has it). */
function withSid(template: Template, sid: string): Statement[] {
  return statements(template).filter((s) => s.Sid === sid);
}

/** An EventBridge wildcard pattern as a regular expression (`*` is any run of characters, slashes included). */
function wildcard(pattern: string): RegExp {
  return new RegExp(
    `^${pattern
      .split('*')
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );
}

/** A Lambda function of the template by a part of its description, with its environment. */
function functionEnv(template: Template, description: RegExp): Record<string, unknown> {
  const found = Object.values(template.findResources('AWS::Lambda::Function')).filter((f) =>
    description.test(String(f.Properties.Description)),
  );
  if (found.length !== 1) throw new Error(`expected one function matching ${description}, found ${found.length}`);
  return found[0].Properties.Environment.Variables as Record<string, unknown>;
}

const keys = realKeys();
/** Two hundred real log keys (every 5th), enough to cover both sources' accounts, Regions and days. */
const sampleLogs = keys.logs.filter((_k, i) => i % 5 === 0);

describe.each(LAYOUTS)('over an existing archive: $name', (layout) => {
  let app: ReturnType<typeof build>;
  let analytics: Template;
  let detection: Template;
  let integrity: Template;
  let archive: Template;
  const moved = (key: string) => `${layout.accountsRoot}${key.slice('AWSLogs/'.length)}`;

  beforeAll(() => {
    app = build(configFor(layout));
    [analytics, detection, integrity, archive] = [app.analytics, app.detection!, app.integrity!, app.logArchive].map(
      (s) => Template.fromStack(s),
    );
  });

  test('reads the configured bucket under the layout, with its key', () => {
    expect(archiveSource(parseConfig(configFor(layout)))).toEqual({
      existing: true,
      bucketName: layout.bucketName,
      keyPrefix: layout.keyPrefix,
      organizationId: layout.organizationId,
      accountsRoot: layout.accountsRoot,
      readPrefix: layout.accountsRoot,
      key: layout.kmsKeyArn ? { kind: 'arn', keyArn: layout.kmsKeyArn } : { kind: 's3-managed' },
    });
  });

  test('creates no trail and no archive bucket: only the insights bucket, its key and its access logs', () => {
    expect(app.trails).toEqual([]);
    expect(app.guardrails).toBeUndefined();
    for (const stack of app.app.node.children.filter((c) => c instanceof Object && 'templateFile' in c)) {
      const template = Template.fromStack(stack as never);
      template.resourceCountIs('AWS::CloudTrail::Trail', 0);
      expect(JSON.stringify(template.findResources('AWS::S3::Bucket'))).not.toContain(layout.bucketName);
    }
    expect(app.logArchive.archive).toBeUndefined();
    archive.resourceCountIs('AWS::S3::Bucket', 2);
    archive.hasResourceProperties('AWS::S3::Bucket', {
      BucketName: `trailsight-insights-${LOG_ARCHIVE_ACCOUNT}-${HOME_REGION}`,
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [
          Match.objectLike({ ServerSideEncryptionByDefault: Match.objectLike({ SSEAlgorithm: 'aws:kms' }) }),
        ],
      },
      ObjectLockEnabled: Match.absent(),
      NotificationConfiguration: Match.absent(),
    });
    archive.hasResourceProperties('AWS::KMS::Alias', { AliasName: 'alias/trailsight/insights' });
    archive.hasResource('AWS::S3::Bucket', { DeletionPolicy: 'Retain' });
  });

  test("the Glue table's location template renders to the folder of every real key moved into the layout", () => {
    const table = Object.values(analytics.findResources('AWS::Glue::Table')).find(
      (t) => t.Properties.TableInput.Name === CLOUDTRAIL_TABLE_NAME,
    );
    const input = table?.Properties.TableInput as {
      StorageDescriptor: { Location: string };
      Parameters: Record<string, string>;
    };
    expect(input.StorageDescriptor.Location).toBe(`s3://${layout.bucketName}/${layout.accountsRoot}`);
    const template = input.Parameters['storage.location.template'];
    expect(input.Parameters['projection.account.type']).toBe('enum');
    for (const key of sampleLogs.map(moved)) {
      const info = classifyKey(key);
      const values: Record<string, string | undefined> = { account: info.account, region: info.region, dt: info.date };
      const rendered = template.replace(/\$\{(\w+)\}/g, (_m, name: string) => values[name] ?? '?');
      expect(rendered).toBe(`s3://${layout.bucketName}/${path.posix.dirname(key)}`);
    }
  });

  test("the detection rule takes every real log file and digest of the layout, and no Insights file, Config object or other trail's file", () => {
    const patterns = [logFileKeyPattern(layout.accountsRoot), digestKeyPattern(layout.accountsRoot)];
    detection.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.s3'],
        'detail-type': ['Object Created'],
        detail: { bucket: { name: [layout.bucketName] }, object: { key: patterns.map((p) => ({ wildcard: p })) } },
      },
    });
    const matchers = patterns.map(wildcard);
    const matches = (key: string) => matchers.some((m) => m.test(key));
    for (const key of [...keys.logs, ...keys.digests]) {
      expect(matches(moved(key))).toBe(true);
      // The same file at the bucket's root, or under another trail's prefix in the same bucket: not this trail's.
      expect(matches(key)).toBe(false);
      expect(matches(`cloudtrail-other/${key}`)).toBe(false);
    }
    const insight = keys.logs[0].replace(/CloudTrail(?=[/_])/g, 'CloudTrail-Insight');
    expect(classifyKey(moved(insight)).kind).toBe('insight');
    expect(matches(moved(insight))).toBe(false);
    expect(matches(moved('AWSLogs/111122223333/Config/ConfigWritabilityCheckFile'))).toBe(false);
  });

  test('the integrity rule takes the real digests of the layout, and no log file', () => {
    const pattern = digestKeyPattern(layout.accountsRoot);
    integrity.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: Match.objectLike({
        detail: { bucket: { name: [layout.bucketName] }, object: { key: [{ wildcard: pattern }] } },
      }),
    });
    const matches = wildcard(pattern);
    for (const key of keys.digests) expect(matches.test(moved(key))).toBe(true);
    for (const key of sampleLogs) expect(matches.test(moved(key))).toBe(false);
  });

  test('the functions read and list the layout only, and decrypt with its key (none for SSE-S3)', () => {
    const files = `arn:aws:s3:::${layout.bucketName}/${layout.accountsRoot}*`;
    const prefix = { StringLike: { 's3:prefix': [`${layout.accountsRoot}*`] } };
    const reads = [
      ...withSid(detection, 'ReadLogFiles'),
      ...withSid(integrity, 'ReadArchive'),
      ...withSid(analytics, 'ReadArchive'),
    ];
    expect(reads.map((s) => s.Resource)).toEqual([files, files, files, files, files]);
    const lists = [
      ...withSid(detection, 'ListLogFiles'),
      ...withSid(integrity, 'ListArchive'),
      ...withSid(analytics, 'ListArchive'),
      ...withSid(analytics, 'ListAccountFolders'),
    ];
    expect(lists).toHaveLength(5);
    for (const list of lists) {
      expect(list.Resource).toBe(`arn:aws:s3:::${layout.bucketName}`);
      expect(list.Condition).toEqual(prefix);
    }
    const decrypts = [
      ...withSid(detection, 'UseArchiveKey'),
      ...withSid(integrity, 'DecryptWithArchiveKey'),
      ...withSid(analytics, 'DecryptArchive'),
    ];
    if (layout.kmsKeyArn) {
      expect(decrypts.map((s) => s.Resource)).toEqual(Array(5).fill(layout.kmsKeyArn));
      // Exactly that key: no alias condition, no wildcard.
      for (const d of decrypts) expect(JSON.stringify(d.Condition ?? {})).not.toContain('ResourceAliases');
    } else {
      expect(decrypts).toEqual([]);
    }
    // Nothing reads, lists or decrypts outside the layout: no `AWSLogs/*` at the bucket root, no other key.
    const all = JSON.stringify([detection, integrity, analytics].flatMap(statements));
    expect(all).not.toContain(`${layout.bucketName}/AWSLogs/*`);
    expect(all).not.toContain('alias/trailsight/archive');
  });

  test('the backfill defaults to (and stays within) the layout, and the sweep verifies under it', () => {
    expect(functionEnv(detection, /replays archived history/)[ENV.archivePrefix]).toBe(layout.accountsRoot);
    expect(functionEnv(integrity, /re-checks recent delivery/)[INTEGRITY_ENV.archivePrefix]).toBe(layout.accountsRoot);
  });

  test("the account sync lists the layout's account folders and writes the three tables' account partition", () => {
    const env = functionEnv(analytics, /account partition/);
    expect(env).toMatchObject({
      [ACCOUNT_SYNC_ENV.archiveBucket]: layout.bucketName,
      [ACCOUNT_SYNC_ENV.accountsRoot]: layout.accountsRoot,
      [ACCOUNT_SYNC_ENV.database]: { Ref: 'Database' },
      [ACCOUNT_SYNC_ENV.tables]: 'cloudtrail_logs,trailsight_insights,cloudtrail_parquet',
    });
  });

  test('has zero unacknowledged cdk-nag findings (AwsSolutions and Serverless)', () => {
    app.app.synth();
    for (const pack of [new AwsSolutionsChecks(), new ServerlessChecks()]) {
      const findings = pack
        .validateScope(app.app)
        .violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} @ ${r.constructPath}`));
      expect(findings).toEqual([]);
    }
  });
});

describe('the account sync (organization tables without a hand-kept account list)', () => {
  test('runs every hour and after each deployment or rollback of the analytics stack, one run at a time', () => {
    const template = Template.fromStack(build(configFor(LAYOUTS[0])).analytics);
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(1 hour)',
      Target: Match.objectLike({ RetryPolicy: Match.objectLike({ MaximumRetryAttempts: 2 }) }),
    });
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.cloudformation'],
        'detail-type': ['CloudFormation Stack Status Change'],
        detail: {
          'stack-id': [{ Ref: 'AWS::StackId' }],
          'status-details': { status: ['CREATE_COMPLETE', 'UPDATE_COMPLETE', 'UPDATE_ROLLBACK_COMPLETE'] },
        },
      },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('account partition'),
      ReservedConcurrentExecutions: 1,
    });
  });

  test('may update only the three tables, in the configured database', () => {
    const template = Template.fromStack(build(configFor(LAYOUTS[0])).analytics);
    const update = withSid(template, 'UpdateAccountPartition');
    expect(update).toHaveLength(1);
    expect(update[0].Action).toEqual(['glue:GetTable', 'glue:UpdateTable']);
    const resources = JSON.stringify(update[0].Resource);
    for (const table of ['cloudtrail_logs', 'trailsight_insights', 'cloudtrail_parquet'])
      expect(resources).toContain(`:table/",{"Ref":"Database"},"/${table}`);
    expect((update[0].Resource as unknown[]).length).toBe(5);
  });

  test("Trailsight's own organization trail without listed accounts gets the account sync too", () => {
    const app = build(
      withDefaults({
        organization: { organizationId: 'o-a1b2c3d4e5' },
        accounts: { management: '111111111111' },
        archive: { objectLock: { mode: 'COMPLIANCE', days: 2557 } },
      }),
    );
    expect(functionEnv(Template.fromStack(app.analytics), /account partition/)[ACCOUNT_SYNC_ENV.accountsRoot]).toBe(
      'AWSLogs/o-a1b2c3d4e5/',
    );
  });

  test('fixed accounts (analytics.accountIds, or an account trail) need no sync', () => {
    expect(build(withDefaults({})).analytics.accountSync).toBeUndefined();
    expect(
      build(configFor(LAYOUTS[0], { analytics: { accountIds: ['111111111111', '222222222222'] } })).analytics
        .accountSync,
    ).toBeUndefined();
  });
});

describe('the example Control Tower configuration (config/control-tower.example.json)', () => {
  test("is the Control Tower layout, every stack in the log archive account (no change to the bucket's policy)", () => {
    const input = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'config/control-tower.example.json'), 'utf8'));
    const app = build(input);
    expect(archiveSource(parseConfig(input)).accountsRoot).toBe(LAYOUTS[0].accountsRoot);
    expect([app.logArchive.account, app.detection?.account, app.integrity?.account, app.analytics.account]).toEqual([
      LOG_ARCHIVE_ACCOUNT,
      LOG_ARCHIVE_ACCOUNT,
      LOG_ARCHIVE_ACCOUNT,
      LOG_ARCHIVE_ACCOUNT,
    ]);
    expect(app.trails).toEqual([]);
  });
});

describe('archive.existing validation', () => {
  const ct = LAYOUTS[0];
  const withArchive = (existing: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
    configFor(ct, { archive: { existing: { bucketName: ct.bucketName, ...existing } }, ...extra });

  test('accepts every layout and the defaults of every other key, with no Object Lock rule for an organization', () => {
    for (const layout of LAYOUTS) expect(() => parseConfig(configFor(layout))).not.toThrow();
    // The Object Lock of an existing archive is its owner's: the organization rule does not apply.
    expect(parseConfig(configFor(ct)).archive.objectLock).toBe(false);
  });

  test.each([
    [
      'a key prefix with AWSLogs in it',
      { keyPrefix: 'o-a1b2c3d4e5/AWSLogs/o-a1b2c3d4e5' },
      /archive\.existing\.keyPrefix = "o-a1b2c3d4e5\/AWSLogs\/o-a1b2c3d4e5": must stop before AWSLogs\/: .*write "o-a1b2c3d4e5"/,
    ],
    [
      'a key prefix with a slash at an end',
      { keyPrefix: '/security/cloudtrail/' },
      /archive\.existing\.keyPrefix = "\/security\/cloudtrail\/": must be the part of the keys before AWSLogs\//,
    ],
    ['a key prefix with a wildcard', { keyPrefix: 'logs*' }, /archive\.existing\.keyPrefix = "logs\*"/],
    [
      'a key prefix longer than CloudTrail allows',
      { keyPrefix: 'a'.repeat(201) },
      /keyPrefix = .*at most 200 characters/,
    ],
    [
      'a bucket name with capitals',
      { bucketName: 'My-Bucket' },
      /archive\.existing\.bucketName = "My-Bucket": must be an S3 bucket name/,
    ],
    [
      'a key alias instead of a key',
      { kmsKeyArn: 'arn:aws:kms:eu-west-1:111111111111:alias/aws-controltower' },
      /kmsKeyArn = .*not an alias: IAM grants name keys/,
    ],
    [
      'a key in another Region',
      { kmsKeyArn: 'arn:aws:kms:us-east-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab' },
      /kmsKeyArn = .*is in us-east-1, but SSE-KMS keys are in their bucket's Region \(homeRegion eu-west-1\)/,
    ],
    ['an unknown key', { bucket: 'x' }, /archive\.existing = .*unknown key\(s\) bucket/],
  ])('fails on %s, naming the key and the fix', (_what, existing, message) => {
    expect(() => parseConfig(withArchive(existing))).toThrow(message);
  });

  test.each([
    [
      'regions',
      { regions: ['eu-west-1', 'us-east-1'] },
      /regions = .*selects the Regions of Trailsight's trails, and archive\.existing creates no trail.*remove it/,
    ],
    [
      'trailName',
      { trailName: 'org' },
      /trailName = "org": names Trailsight's trail; archive\.existing creates no trail/,
    ],
    ['managementEvents', { managementEvents: { readWrite: 'WriteOnly' } }, /managementEvents = .*is a trail setting/],
    ['dataEvents', { dataEvents: { lambda: { functions: 'all' } } }, /dataEvents = .*is a trail setting/],
    ['cloudWatchLogs', { cloudWatchLogs: { retentionDays: 30 } }, /cloudWatchLogs = .*is a trail setting/],
    ['nativeInsights', { nativeInsights: ['ApiCallRateInsight'] }, /nativeInsights = .*is a trail setting/],
    ['globalServiceEvents', { globalServiceEvents: false }, /globalServiceEvents = false: is a trail setting/],
    ['scp', { scp: { targetIds: ['r-a1b2'] } }, /scp = .*the existing archive's owner protects it: remove it/],
    [
      'breakGlassRoleArn',
      { breakGlassRoleArn: 'arn:aws:iam::222222222222:role/BreakGlass' },
      /breakGlassRoleArn = .*applies to Trailsight's own archive bucket/,
    ],
    [
      'keyAdministrators',
      { keyAdministrators: ['arn:aws:iam::222222222222:role/KeyAdmin'] },
      /keyAdministrators = .*own archive key/,
    ],
    [
      'allowWeakObjectLock',
      { allowWeakObjectLock: true },
      /allowWeakObjectLock = true: applies to Trailsight's own archive bucket/,
    ],
    [
      'accounts.management',
      { accounts: { management: '111111111111', logArchive: '222222222222' } },
      /accounts\.management = "111111111111": is the account of Trailsight's trails.*set accounts\.logArchive/,
    ],
    [
      'accounts.audit alone',
      { accounts: { audit: '333333333333' } },
      /accounts\.logArchive = undefined: is required with accounts\.audit/,
    ],
  ])('fails on %s, which has nothing to apply to', (_key, extra, message) => {
    expect(() => parseConfig(configFor(ct, extra))).toThrow(message);
  });

  test.each([
    [
      'archive.objectLock',
      { objectLock: { mode: 'COMPLIANCE', days: 365 } },
      /archive\.objectLock = .*with archive\.existing the bucket's owner sets it there: remove it/,
    ],
    [
      'archive.transition',
      { transition: { storageClass: 'GLACIER_IR', afterDays: 90 } },
      /archive\.transition = .*remove it/,
    ],
  ])("fails on %s, a setting of Trailsight's own bucket", (_key, archive, message) => {
    expect(() =>
      parseConfig(configFor(ct, { archive: { ...archive, existing: { bucketName: ct.bucketName } } })),
    ).toThrow(message);
  });

  test("fails when a Control Tower or LZA bucket's name says another account or Region", () => {
    expect(() => parseConfig(configFor(ct, { accounts: { logArchive: '999999999999' } }))).toThrow(
      /accounts\.logArchive = "999999999999": must be the account that owns aws-controltower-logs-222222222222-eu-west-1 \(222222222222\)/,
    );
    expect(() => parseConfig(configFor(LAYOUTS[2], { homeRegion: 'eu-central-1' }))).toThrow(
      /homeRegion = "eu-central-1": must be the Region of aws-accelerator-central-logs-222222222222-eu-west-1 \(eu-west-1\): S3 sends the bucket's events to EventBridge in its own Region/,
    );
  });

  test('lists every problem at once', () => {
    expect(() =>
      parseConfig(configFor(ct, { trailName: 'org', scp: { targetIds: ['r-a1b2'] }, regions: ['eu-west-1'] })),
    ).toThrow(/trailName[\s\S]*scp[\s\S]*regions|regions[\s\S]*trailName[\s\S]*scp/);
  });
});
