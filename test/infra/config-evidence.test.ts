/** The evidence keys of the configuration: break glass, key administrators, the SCP, the Object Lock rules, integrity. */
import { INTEGRITY_DEFAULTS, objectLockWeakness, parseConfig } from '../../lib/config';
import { EXAMPLE_ORG_CONFIG_INPUT, withDefaults } from './helpers';

const ORG = {
  organization: { organizationId: 'o-a1b2c3d4e5' },
  accounts: { management: '111111111111', logArchive: '222222222222' },
  archive: { retentionDays: 2557, objectLock: { mode: 'COMPLIANCE', days: 2557 } },
};

describe('evidence configuration', () => {
  test('defaults: no break-glass role, no key administrators, no SCP, strict lock rules, integrity on', () => {
    const config = parseConfig({});
    expect(config.breakGlassRoleArn).toBeUndefined();
    expect(config.keyAdministrators).toEqual([]);
    expect(config.scp).toBe(false);
    expect(config.allowWeakObjectLock).toBe(false);
    expect(config.integrity).toEqual(INTEGRITY_DEFAULTS);
  });

  test('accepts the example organization configuration with all of them set', () => {
    const config = parseConfig(EXAMPLE_ORG_CONFIG_INPUT);
    expect(config.breakGlassRoleArn).toBe('arn:aws:iam::222222222222:role/TrailsightBreakGlass');
    expect(config.scp).toEqual({ targetIds: ['r-a1b2'] });
  });

  test('accepts an organization with a COMPLIANCE lock as long as retention', () => {
    expect(parseConfig(ORG).archive.objectLock).toEqual({ mode: 'COMPLIANCE', days: 2557 });
  });

  test('accepts a weak lock for an organization when allowWeakObjectLock says so', () => {
    expect(parseConfig({ ...ORG, archive: { objectLock: false }, allowWeakObjectLock: true }).allowWeakObjectLock).toBe(
      true,
    );
  });

  test('accepts a role with a path as break-glass role and a user as key administrator', () => {
    const config = parseConfig({
      ...ORG,
      breakGlassRoleArn: 'arn:aws:iam::222222222222:role/emergency/BreakGlass',
      keyAdministrators: ['arn:aws:iam::222222222222:user/alice'],
    });
    expect(config.keyAdministrators).toEqual(['arn:aws:iam::222222222222:user/alice']);
  });

  describe('fails with the key, the value and the fix', () => {
    const cases: [string, Record<string, unknown>, RegExp][] = [
      [
        'when an organization has no Object Lock',
        { ...ORG, archive: { objectLock: false } },
        /archive\.objectLock = false: is too weak for an organization's evidence: Object Lock is off.*use \{ "mode": "COMPLIANCE", "days": 2557 \}.*or set allowWeakObjectLock to true/,
      ],
      [
        'when an organization locks in GOVERNANCE mode',
        { ...ORG, archive: { objectLock: { mode: 'GOVERNANCE', days: 2557 } } },
        /archive\.objectLock = .*GOVERNANCE mode lets any principal with s3:BypassGovernanceRetention/,
      ],
      [
        "when an organization's lock is shorter than retention",
        { ...ORG, archive: { objectLock: { mode: 'COMPLIANCE', days: 365 } } },
        /archive\.objectLock = .*the lock \(365 days\) is shorter than retention \(2557 days\)/,
      ],
      [
        'when the break-glass role is not a role ARN',
        { breakGlassRoleArn: 'arn:aws:iam::222222222222:user/bob' },
        /breakGlassRoleArn = "arn:aws:iam::222222222222:user\/bob": must be an IAM role ARN/,
      ],
      [
        'when the break-glass role is in another account than the archive',
        { ...ORG, breakGlassRoleArn: 'arn:aws:iam::111111111111:role/BreakGlass' },
        /breakGlassRoleArn = .*must be a role in the log archive account \(222222222222\)/,
      ],
      [
        'when a key administrator is not an IAM principal ARN',
        { keyAdministrators: ['admin'] },
        /keyAdministrators\.0 = "admin": must be an IAM role or user ARN/,
      ],
      [
        'when the SCP has no organization',
        { scp: { targetIds: ['r-a1b2'] } },
        /scp = .*needs an organization: service control policies exist only in AWS Organizations/,
      ],
      [
        'when the SCP has no accounts to place it',
        { ...ORG, accounts: {}, scp: { targetIds: ['r-a1b2'] } },
        /scp = .*needs accounts\.management .* and accounts\.logArchive/,
      ],
      [
        'when the archive is in the management account, where SCPs never apply',
        {
          ...ORG,
          accounts: { management: '111111111111', logArchive: '111111111111' },
          scp: { targetIds: ['r-a1b2'] },
        },
        /scp = .*cannot protect an archive in the management account: SCPs never apply to the management account/,
      ],
      [
        'when an SCP target is not a root, OU or account',
        { ...ORG, scp: { targetIds: ['o-a1b2c3d4e5'] } },
        /scp\.targetIds\.0 = "o-a1b2c3d4e5": must be a root \("r-…"\), OU \("ou-…-…"\) or 12-digit account ID/,
      ],
      [
        'when the SCP lists no target',
        { ...ORG, scp: { targetIds: [] } },
        /scp\.targetIds = \[\]: must list at least one/,
      ],
      ['when scp has the wrong shape', { scp: true }, /scp = true: must be false or \{ "targetIds"/],
      [
        'when the sweep runs more often than every 15 minutes',
        { integrity: { sweepMinutes: 5 } },
        /integrity\.sweepMinutes = 5: must be at least 15 minutes/,
      ],
      [
        'when a digest may be reported overdue before the next one is due',
        { integrity: { overdueMinutes: 60 } },
        /integrity\.overdueMinutes = 60: must be at least 70 minutes/,
      ],
    ];
    test.each(cases)('fails %s', (_name, input, message) => {
      expect(() => parseConfig(input)).toThrow(message);
    });
  });

  test("a single account's weak lock is valid: the rules are for an organization's evidence", () => {
    expect(() => parseConfig(withDefaults({}))).not.toThrow();
  });
});

describe('objectLockWeakness', () => {
  test('is undefined for COMPLIANCE as long as retention', () => {
    expect(objectLockWeakness({ retentionDays: 400, objectLock: { mode: 'COMPLIANCE', days: 400 } })).toBeUndefined();
  });

  test('names every weakness at once', () => {
    expect(objectLockWeakness({ retentionDays: 400, objectLock: { mode: 'GOVERNANCE', days: 100 } })).toBe(
      'GOVERNANCE mode lets any principal with s3:BypassGovernanceRetention delete or overwrite locked files; the lock (100 days) is shorter than retention (400 days), so files are unprotected for their last 300 days',
    );
  });
});
