/**
 * classifyKey over the existing-archive layouts (Control Tower, Landing Zone Accelerator, a prefixed account trail):
 * every real delivery file and digest of ../shared/data, rewritten into each layout, classifies as what it is, with
 * the layout's prefix and organization, and the bucket's other objects stay foreign.
 */
import { classifyKey } from '../../lambda/core/keys';
import { LAYOUTS, realKeys } from '../support/archive-layouts';

const keys = realKeys();

describe.each(LAYOUTS)('classifyKey in the layout of $name', (layout) => {
  test('classifies every real log file with its account, Region, date, the prefix and the organization', () => {
    expect(keys.logs).toHaveLength(1075);
    for (const key of keys.logs) {
      const original = classifyKey(key);
      const moved = `${layout.accountsRoot}${key.slice('AWSLogs/'.length)}`;
      expect(classifyKey(moved)).toEqual({
        ...original,
        prefix: layout.keyPrefix,
        ...(layout.organizationId ? { organizationId: layout.organizationId } : {}),
      });
    }
  });

  test('classifies the real digest keys as digests of their trail', () => {
    for (const key of keys.digests) {
      const info = classifyKey(`${layout.accountsRoot}${key.slice('AWSLogs/'.length)}`);
      expect(info).toMatchObject({
        kind: 'digest',
        account: '111122223333',
        region: 'us-east-2',
        trailName: 'your-trail-name',
        prefix: layout.keyPrefix,
      });
    }
  });

  test.each([
    ['the AWS Config probe the landing zone writes', 'AWSLogs/111122223333/Config/ConfigWritabilityCheckFile'],
    [
      'a Config snapshot',
      'AWSLogs/111122223333/Config/eu-west-1/2025/3/1/ConfigSnapshot/111122223333_Config_eu-west-1_ConfigSnapshot_20250301T091502Z_x.json.gz',
    ],
  ])('leaves %s foreign', (_what, key) => {
    expect(classifyKey(`${layout.accountsRoot}${key.slice('AWSLogs/'.length)}`)).toEqual({ kind: 'foreign' });
  });
});
