import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { type ContextReader, parseConfig, readConfig } from '../../lib/config';
import { DEFAULT_CONFIG_INPUT, EXAMPLE_ORG_CONFIG_INPUT, withDefaults } from './helpers';

function contextOf(values: Record<string, unknown>): ContextReader {
  return { tryGetContext: (key) => values[key] };
}

describe('parseConfig', () => {
  test('fills every default from an empty object', () => {
    const config = parseConfig({});
    expect(config).toMatchObject({
      homeRegion: 'us-east-1',
      regions: 'all',
      organization: false,
      accounts: {},
      trailName: 'trailsight',
      managementEvents: { readWrite: 'All', excludeSources: [] },
      dataEvents: { s3: false, lambda: false },
      cloudWatchLogs: false,
      nativeInsights: [],
      archive: { retentionDays: 2557, transition: false, objectLock: false, noncurrentVersionRetentionDays: 90 },
      analytics: {
        databaseName: 'trailsight',
        workGroupName: 'trailsight',
        bytesScannedCutoffPerQuery: 10_737_418_240,
      },
    });
  });

  test('accepts the cdk.json default and the example organization configuration', () => {
    expect(parseConfig(DEFAULT_CONFIG_INPUT).regions).toBe('all');
    const org = parseConfig(EXAMPLE_ORG_CONFIG_INPUT);
    expect(org.organization).toEqual({ organizationId: 'o-a1b2c3d4e5' });
    expect(org.regions).toEqual(['eu-west-1', 'eu-central-1', 'us-east-1']);
  });

  test('fills nested defaults inside a partial object', () => {
    const config = parseConfig({ dataEvents: { s3: { resources: 'all' } } });
    expect(config.dataEvents.s3).toEqual({ resources: 'all', readWrite: 'All' });
    expect(config.dataEvents.lambda).toBe(false);
  });

  describe('fails with the key, the value and the fix', () => {
    const cases: [string, Record<string, unknown>, RegExp][] = [
      [
        'when homeRegion is not a Region code',
        { homeRegion: 'Europe' },
        /homeRegion = "Europe": must be an AWS Region code/,
      ],
      ['when regions is empty', { regions: [] }, /regions = \[\]: must list at least one Region, or be "all"/],
      [
        'when a listed Region is malformed',
        { regions: ['us-east-1', 'mars-1'] },
        /regions\.1 = "mars-1": must be an AWS Region code/,
      ],
      [
        'when the listed regions miss us-east-1, where the global service events are recorded',
        { homeRegion: 'eu-west-1', regions: ['eu-west-1', 'eu-central-1'] },
        /regions = \["eu-west-1","eu-central-1"\]: does not include "us-east-1".*IAM, STS.*add "us-east-1" to the list \(recommended\), or set globalServiceEvents to false/,
      ],
      [
        'when global service events are turned off for a multi-Region trail',
        { globalServiceEvents: false },
        /globalServiceEvents = false: cannot be false with regions "all"/,
      ],
      [
        'when a Region is listed twice',
        { regions: ['us-east-1', 'us-east-1'] },
        /regions = .*lists us-east-1 twice; list each Region once/,
      ],
      [
        'when the organization ID is malformed',
        { organization: { organizationId: 'ou-abcd-12345678' } },
        /organization\.organizationId = "ou-abcd-12345678": must be an Organizations ID such as "o-a1b2c3d4e5"/,
      ],
      [
        'when an account ID is a number',
        { accounts: { management: 111111111111 } },
        /accounts\.management = 111111111111: must be a 12-digit AWS account ID as a string/,
      ],
      [
        'when a cross-account layout has no management account',
        { accounts: { logArchive: '222222222222' } },
        /accounts\.management = undefined: is required when accounts\.logArchive or accounts\.audit is set/,
      ],
      ['when the trail name has a space', { trailName: 'my trail' }, /trailName = "my trail": must be 3-128 letters/],
      [
        'when management events are misspelled',
        { managementEvents: { readWrite: 'Write' } },
        /managementEvents\.readWrite = "Write": must be one of "All", "ReadOnly", "WriteOnly", "None"/,
      ],
      [
        'when an excluded source cannot be excluded',
        { managementEvents: { excludeSources: ['iam.amazonaws.com'] } },
        /managementEvents\.excludeSources\.0 = "iam.amazonaws.com": must be "kms.amazonaws.com" or "rdsdata.amazonaws.com"/,
      ],
      [
        'when the trail would log nothing',
        { managementEvents: { readWrite: 'None' } },
        /managementEvents\.readWrite = "None": .*the trail would log nothing; enable management or data events/,
      ],
      [
        'when an S3 data resource is a bucket name, not an ARN',
        { dataEvents: { s3: { resources: ['my-bucket'] } } },
        /dataEvents\.s3\.resources\.0 = "my-bucket": must be an S3 object ARN prefix "arn:aws:s3:::<bucket>\/<prefix>"/,
      ],
      [
        'when an S3 data resource ARN has no slash after the bucket',
        { dataEvents: { s3: { resources: ['arn:aws:s3:::my-bucket'] } } },
        /use "<bucket>\/" for a whole bucket/,
      ],
      [
        'when a Lambda data resource is not a function ARN',
        { dataEvents: { lambda: { functions: ['arn:aws:lambda:us-east-1:111111111111:layer:x'] } } },
        /dataEvents\.lambda\.functions\.0 = .*must be a Lambda function ARN/,
      ],
      [
        'when the data event read/write type is None',
        { dataEvents: { lambda: { functions: 'all', readWrite: 'None' } } },
        /dataEvents\.lambda\.readWrite = "None": must be one of "All", "ReadOnly", "WriteOnly"/,
      ],
      [
        'when the CloudWatch Logs retention is not a CloudWatch value',
        { cloudWatchLogs: { retentionDays: 100 } },
        /cloudWatchLogs\.retentionDays = 100: must be one of the CloudWatch Logs retention values 1, 3, 5/,
      ],
      [
        'when a native Insights type is unknown',
        { nativeInsights: ['ApiVolumeInsight'] },
        /nativeInsights\.0 = "ApiVolumeInsight": must be "ApiCallRateInsight" or "ApiErrorRateInsight"/,
      ],
      [
        'when retention is not a whole number',
        { archive: { retentionDays: 30.5 } },
        /archive\.retentionDays = 30\.5: must be a whole number of days/,
      ],
      [
        'when retention is zero',
        { archive: { retentionDays: 0 } },
        /archive\.retentionDays = 0: must be at least 1 day/,
      ],
      [
        'when the transition comes at or after expiry',
        { archive: { retentionDays: 365, transition: { storageClass: 'GLACIER', afterDays: 365 } } },
        /archive\.transition\.afterDays = 365: must be less than archive\.retentionDays \(365\).*lower it or set transition to false/,
      ],
      [
        'when the storage class is unknown',
        { archive: { transition: { storageClass: 'STANDARD_IA', afterDays: 30 } } },
        /archive\.transition\.storageClass = "STANDARD_IA": must be "GLACIER_IR", "GLACIER" or "DEEP_ARCHIVE"/,
      ],
      [
        'when Object Lock outlasts retention',
        { archive: { retentionDays: 365, transition: false, objectLock: { mode: 'COMPLIANCE', days: 400 } } },
        /archive\.objectLock\.days = 400: must not exceed archive\.retentionDays \(365\).*lower it or raise retentionDays/,
      ],
      [
        'when the Object Lock mode is unknown',
        { archive: { objectLock: { mode: 'LEGAL_HOLD', days: 1 } } },
        /archive\.objectLock\.mode = "LEGAL_HOLD": must be "GOVERNANCE" or "COMPLIANCE"/,
      ],
      [
        'when the Glue database name has upper case',
        { analytics: { databaseName: 'Trailsight' } },
        /analytics\.databaseName = "Trailsight": must be lower-case/,
      ],
      [
        'when the scan cutoff is below the Athena minimum',
        { analytics: { bytesScannedCutoffPerQuery: 1000 } },
        /analytics\.bytesScannedCutoffPerQuery = 1000: must be at least 10485760/,
      ],
      [
        'when the projected accounts of an account trail miss the trail account',
        { accounts: { management: '111111111111' }, analytics: { accountIds: ['222222222222'] } },
        /analytics\.accountIds = \["222222222222"\]: must include accounts\.management \(111111111111\)/,
      ],
      [
        'when a key is unknown',
        { homeregion: 'us-east-1' },
        /\(root\) = .*has unknown key\(s\) homeregion; remove or rename them/,
      ],
      ['when a nested key is unknown', { archive: { retention: 30 } }, /archive = .*has unknown key\(s\) retention/],
    ];
    test.each(cases)('fails %s', (_name, input, message) => {
      expect(() => parseConfig(input)).toThrow(message);
    });
  });

  test('fails listing every invalid key at once, naming the source', () => {
    expect(() => parseConfig({ homeRegion: 'x', trailName: '!' }, 'file bad.json')).toThrow(
      /Invalid Trailsight configuration \(file bad\.json\):\n {2}- homeRegion = "x": .*\n {2}- trailName = "!": /,
    );
  });

  test('accepts a transition just before expiry and an Object Lock as long as retention', () => {
    const config = parseConfig(
      withDefaults({
        archive: {
          retentionDays: 400,
          transition: { storageClass: 'DEEP_ARCHIVE', afterDays: 399 },
          objectLock: { mode: 'COMPLIANCE', days: 400 },
        },
      }),
    );
    expect(config.archive.objectLock).toEqual({ mode: 'COMPLIANCE', days: 400 });
  });
});

describe('readConfig', () => {
  test('reads the object under the trailsight context key', () => {
    expect(readConfig(contextOf({ trailsight: { homeRegion: 'eu-west-1' } })).homeRegion).toBe('eu-west-1');
  });

  test('parses a JSON string given with -c trailsight=...', () => {
    expect(readConfig(contextOf({ trailsight: '{"regions":["us-east-1","us-west-2"]}' })).regions).toEqual([
      'us-east-1',
      'us-west-2',
    ]);
  });

  test('reads the file named by trailsightConfigFile, relative to the base directory, instead of the key', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trailsight-config-'));
    fs.writeFileSync(
      path.join(dir, 'org.json'),
      JSON.stringify({ homeRegion: 'eu-central-1', regions: ['eu-central-1'], globalServiceEvents: false }),
    );
    const config = readConfig(
      contextOf({ trailsight: { homeRegion: 'us-east-1' }, trailsightConfigFile: 'org.json' }),
      dir,
    );
    expect(config.homeRegion).toBe('eu-central-1');
  });

  test('uses every default when no configuration is given', () => {
    expect(readConfig(contextOf({})).trailName).toBe('trailsight');
  });

  test('fails when the -c value is not JSON', () => {
    expect(() => readConfig(contextOf({ trailsight: '{regions: all}' }))).toThrow(
      /context key "trailsight"\): not valid JSON .*fix the JSON syntax/,
    );
  });

  test('fails when the config file does not exist', () => {
    expect(() => readConfig(contextOf({ trailsightConfigFile: 'nope.json' }), os.tmpdir())).toThrow(
      /Context key "trailsightConfigFile" = "nope.json": cannot read .*nope\.json .*check the path/,
    );
  });

  test('fails when the config file is invalid, naming the file', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'trailsight-config-'));
    fs.writeFileSync(path.join(dir, 'bad.json'), JSON.stringify({ regions: 'some' }));
    expect(() => readConfig(contextOf({ trailsightConfigFile: 'bad.json' }), dir)).toThrow(
      /\(file bad\.json\):\n {2}- regions = "some"/,
    );
  });

  test('fails when trailsightConfigFile is not a string', () => {
    expect(() => readConfig(contextOf({ trailsightConfigFile: true }))).toThrow(
      /"trailsightConfigFile" = true: must be a path to a JSON file/,
    );
  });
});

describe('parseConfig on values of the wrong shape', () => {
  test.each([
    ['regions', { regions: 'some' }, /regions = "some": must be "all" or a list of Region codes/],
    [
      'organization',
      { organization: 'o-a1b2c3d4e5' },
      /organization = "o-a1b2c3d4e5": must be false \(account trail\) or \{ "organizationId"/,
    ],
    ['dataEvents.s3', { dataEvents: { s3: true } }, /dataEvents\.s3 = true: must be false or \{ "resources"/],
    [
      'archive.objectLock',
      { archive: { objectLock: 'COMPLIANCE' } },
      /archive\.objectLock = "COMPLIANCE": must be false or \{ "mode"/,
    ],
    ['cloudWatchLogs', { cloudWatchLogs: 30 }, /cloudWatchLogs = 30: must be false or \{ "retentionDays"/],
  ])('fails when %s has the wrong shape, showing the accepted shapes', (_key, input, message) => {
    expect(() => parseConfig(input)).toThrow(message);
  });
});
