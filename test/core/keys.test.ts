import { classifyKey, parseCompactUtc } from '../../lambda/core/keys';
import { DATA_DIR, walk } from './helpers';

describe('classifyKey', () => {
  test('classifies an account-trail log file with account, region, date and delivery time', () => {
    const info = classifyKey(
      'AWSLogs/111122223333/CloudTrail/us-east-2/2015/08/01/111122223333_CloudTrail_us-east-2_20150801T0210Z_Mu0KsOhtH1ar15ZZ.json.gz',
    );
    expect(info).toEqual({
      kind: 'log',
      account: '111122223333',
      region: 'us-east-2',
      date: '2015/08/01',
      deliveredAt: Date.UTC(2015, 7, 1, 2, 10),
    });
  });

  test('classifies an organization-trail log file under a bucket prefix', () => {
    const info = classifyKey(
      'audit/trail/AWSLogs/o-exampleorgid/111122223333/CloudTrail/eu-west-1/2025/03/01/111122223333_CloudTrail_eu-west-1_20250301T0915Z_AbCdEfGhIjKlMnOp.json.gz',
    );
    expect(info).toMatchObject({
      kind: 'log',
      organizationId: 'o-exampleorgid',
      account: '111122223333',
      region: 'eu-west-1',
      prefix: 'audit/trail',
      deliveredAt: Date.UTC(2025, 2, 1, 9, 15),
    });
  });

  test('a prefix that itself holds an AWSLogs folder, and a Windows path, classify by the layout at the end', () => {
    const tail =
      'AWSLogs/111122223333/CloudTrail/eu-west-1/2025/03/01/111122223333_CloudTrail_eu-west-1_20250301T0915Z_AbCd.json.gz';
    expect(classifyKey(`backup/AWSLogs/old/${tail}`)).toEqual({
      kind: 'log',
      account: '111122223333',
      region: 'eu-west-1',
      deliveredAt: Date.UTC(2025, 2, 1, 9, 15),
      prefix: 'backup/AWSLogs/old',
      date: '2025/03/01',
    });
    expect(classifyKey(`D:\\sync\\${tail.replace(/\//g, '\\')}`)).toMatchObject({ kind: 'log', prefix: 'D:/sync' });
    // No undefined fields: what a caller serializes is what it reads back.
    expect(Object.values(classifyKey(tail)).includes(undefined)).toBe(false);
  });

  test('classifies a digest file, whose time has seconds, with trail name and home region', () => {
    const info = classifyKey(
      'AWSLogs/o-exampleorgid/111122223333/CloudTrail-Digest/us-east-1/2025/03/01/111122223333_CloudTrail-Digest_us-east-1_org-trail_eu-west-1_20250301T091502Z.json.gz',
    );
    expect(info).toMatchObject({
      kind: 'digest',
      account: '111122223333',
      region: 'us-east-1',
      trailName: 'org-trail',
      homeRegion: 'eu-west-1',
      deliveredAt: Date.UTC(2025, 2, 1, 9, 15, 2),
    });
  });

  test('classifies an Insights file', () => {
    const info = classifyKey(
      'AWSLogs/111122223333/CloudTrail-Insight/us-east-1/2025/03/01/111122223333_CloudTrail-Insight_us-east-1_20250301T0915Z_AbCdEfGhIjKlMnOp.json.gz',
    );
    expect(info).toMatchObject({ kind: 'insight', account: '111122223333', region: 'us-east-1' });
  });

  test('classifies a bare file name by the name alone', () => {
    expect(classifyKey('974349055189_CloudTrail_us-east-1_20170601T0005Z_12nCTooUATtsirhW.json.gz')).toEqual({
      kind: 'log',
      account: '974349055189',
      region: 'us-east-1',
      deliveredAt: Date.UTC(2017, 5, 1, 0, 5),
    });
    expect(
      classifyKey('C:\\logs\\974349055189_CloudTrail_us-east-1_20170601T0005Z_12nCTooUATtsirhW.json'),
    ).toMatchObject({
      kind: 'log',
    });
  });

  test.each([
    ['AWS Config probe', 'AWSLogs/111122223333/Config/ConfigWritabilityCheckFile'],
    [
      'Config snapshot',
      'AWSLogs/111122223333/Config/us-east-1/2025/3/1/ConfigSnapshot/111122223333_Config_us-east-1_ConfigSnapshot_20250301T091502Z_x.json.gz',
    ],
    [
      'log file in the wrong folder',
      'AWSLogs/111122223333/Config/us-east-1/2025/03/01/111122223333_CloudTrail_us-east-1_20250301T0915Z_AbCdEfGhIjKlMnOp.json.gz',
    ],
    [
      'account in the folder and the name disagree',
      'AWSLogs/999999999999/CloudTrail/us-east-1/2025/03/01/111122223333_CloudTrail_us-east-1_20250301T0915Z_AbCdEfGhIjKlMnOp.json.gz',
    ],
    ['a README', 'README.md'],
    ['an empty key', ''],
  ])('classifies %s as foreign', (_what, key) => {
    expect(classifyKey(key)).toEqual({ kind: 'foreign' });
  });

  test('classifies every delivery file in ../shared/data as a log file of the account in its name', () => {
    const files = walk(DATA_DIR).filter((f) => f.endsWith('.json.gz'));
    expect(files).toHaveLength(1067 + 8);
    for (const f of files) {
      const info = classifyKey(f);
      expect(info.kind).toBe('log');
      expect(f).toContain(`${info.account}_CloudTrail_${info.region}_`);
    }
  });
});

describe('parseCompactUtc', () => {
  test('rejects digits that are not a time', () => {
    expect(parseCompactUtc('2025AB01T0915Z')).toBeUndefined();
  });
});
