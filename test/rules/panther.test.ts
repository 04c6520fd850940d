/**
 * The built-in pack against Panther's rule tests (../shared/data/panther-analysis, Apache-2.0, read in place):
 * where a built-in rule asks the same question as one or more Panther rules, it should agree with their
 * `expected_result` on the same CloudTrail records. Every disagreement is counted (false positive: the rule
 * fires where Panther expects no alert; false negative: the reverse) and listed with the reason.
 *
 * An event used by several Panther rules of one question is expected to alert when any of them expects it to
 * (Panther splits "AWS Config delivery channel created" and "... deleted"; CIS 4.9 is both). Records the ingest
 * core cannot read (Panther's lower-cased keys, a "redacted" eventTime) are never matched, as in the pipeline.
 *
 * Panther rules that look related but ask another question are not compared: AWS.EC2.ManualSecurityGroupChange
 * (manual versus infrastructure-as-code changes), AWS.Console.LoginWithoutSAML (sign-ins that skip the IdP),
 * AWS.Console.RootLoginFailed (its test record has no errorMessage, which CIS 4.6 keys on).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isSkip, normalizeRecord } from '../../lambda/core/normalize';
import { loadRules, RuleSet } from '../../lambda/core/rules';
import { DATA } from './helpers';

interface PantherTest {
  rule_id: string;
  test_name: string;
  expected_result: boolean;
  log: Record<string, unknown>;
}

const TESTS: PantherTest[] = readFileSync(join(DATA, 'panther-analysis/cloudtrail_rule_tests.jsonl'), 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l) as PantherTest);

interface Question {
  readonly rule: string;
  readonly panther: readonly string[];
  /** Only these records are the same question (e.g. S3 events of a rule about every resource type). */
  readonly scope?: (log: Record<string, unknown>) => boolean;
  /** Expected disagreements: Panther test name → why. */
  readonly falsePositives: Readonly<Record<string, string>>;
  readonly falseNegatives: Readonly<Record<string, string>>;
}

const QUESTIONS: Question[] = [
  {
    rule: 'cis-4.01-unauthorized-api-calls',
    panther: ['AWS.CloudTrail.UnauthorizedAPICall'],
    falsePositives: {
      'Unauthorized API Call from Within AWS (FQDN)':
        'Panther ignores refusals of calls an AWS service made (source is a service name); the CIS 4.1 filter counts every refusal',
    },
    falseNegatives: {},
  },
  {
    rule: 'console-login-without-mfa',
    panther: ['AWS.Console.LoginWithoutMFA'],
    // Panther's 'No MFA Login - New User' is the very record of 'No MFA Login - IAM User', suppressed through a
    // mocked user-creation lookup: one record, expected to alert.
    falsePositives: {},
    falseNegatives: {},
  },
  {
    rule: 'cis-4.03-root-account-usage',
    panther: ['AWS.Root.Activity', 'AWS.Console.RootLogin'],
    falsePositives: {
      'Root Activity - CreateServiceLinkedRole':
        'Panther leaves out service-linked role creation; CIS 4.3 counts every root call',
      'Root Read-Only Enumeration': 'Panther leaves out root read-only calls; CIS 4.3 counts every root call',
    },
    falseNegatives: {},
  },
  { rule: 'cis-4.04-iam-policy-changes', panther: ['AWS.IAM.PolicyModified'], falsePositives: {}, falseNegatives: {} },
  {
    rule: 'cis-4.05-cloudtrail-configuration-changes',
    panther: ['AWS.CloudTrail.Created'],
    falsePositives: {},
    falseNegatives: {},
  },
  {
    rule: 'cloudtrail-tampering',
    panther: [
      'AWS.CloudTrail.Stopped',
      'AWS.CloudTrail.EventSelectorsDisabled',
      'AWS.CloudTrail.SecurityConfigurationChange',
    ],
    scope: (log) => log.eventSource === 'cloudtrail.amazonaws.com',
    falsePositives: {
      'Event Selector Enabled':
        'Panther alerts only when selectors drop management events; any PutEventSelectors can narrow what the trail records, so the rule reports them all (as the cloudtrail-tampering query does)',
    },
    falseNegatives: {},
  },
  {
    rule: 'kms-key-disable-or-deletion',
    panther: ['AWS.KMS.CustomerManagedKeyLoss'],
    falsePositives: {},
    falseNegatives: {},
  },
  {
    rule: 'cis-4.08-s3-bucket-policy-changes',
    panther: ['AWS.S3.BucketPolicyModified'],
    falsePositives: {
      'S3 Bucket Policy Modified Error Response':
        'an attempt refused with AccessDenied: Panther drops every failed call; the rule keeps permission refusals (an intruder’s first try)',
    },
    falseNegatives: {},
  },
  {
    rule: 'cis-4.09-config-changes',
    panther: ['AWS.ConfigService.Created', 'AWS.ConfigService.DisabledDeleted'],
    falsePositives: {},
    falseNegatives: {},
  },
  {
    rule: 'cis-4.10-security-group-changes',
    panther: ['AWS.EC2.SecurityGroupModified'],
    falsePositives: {},
    falseNegatives: {},
  },
  { rule: 'cis-4.11-nacl-changes', panther: ['AWS.EC2.NetworkACLModified'], falsePositives: {}, falseNegatives: {} },
  {
    rule: 'cis-4.12-network-gateway-changes',
    panther: ['AWS.EC2.GatewayModified'],
    falsePositives: {},
    falseNegatives: {},
  },
  {
    rule: 'cis-4.13-route-table-changes',
    panther: ['AWS.EC2.RouteTableModified'],
    falsePositives: {},
    falseNegatives: {},
  },
  { rule: 'cis-4.14-vpc-changes', panther: ['AWS.EC2.VPCModified'], falsePositives: {}, falseNegatives: {} },
  {
    rule: 'cis-4.15-organizations-changes',
    panther: ['AWS.CloudTrail.AttemptToLeaveOrg'],
    falsePositives: {},
    falseNegatives: {},
  },
  {
    rule: 's3-bucket-made-public',
    panther: ['AWS.CloudTrail.ResourceMadePublic', 'AWS.S3.DeletePublicAccessBlock'],
    scope: (log) => log.eventSource === 's3.amazonaws.com' || log.eventSource === 's3-control.amazonaws.com',
    falsePositives: {},
    falseNegatives: {},
  },
];

const loaded = loadRules({ builtin: true, folders: [], placeholders: {} });

function fires(ruleName: string, log: Record<string, unknown>): boolean {
  const rule = loaded.rules.find((r) => r.ref.name === ruleName);
  if (!rule) throw new Error(`no built-in rule ${ruleName}`);
  const event = normalizeRecord(log);
  if (isSkip(event)) return false;
  let hit = false;
  new RuleSet([rule]).match(event, log, () => {
    hit = true;
  });
  return hit;
}

describe.each(QUESTIONS)('$rule agrees with Panther $panther', (q) => {
  test('false positives and false negatives are exactly the listed ones', () => {
    // One verdict per distinct record: expected when any Panther rule of the question expects an alert.
    const records = new Map<string, { log: Record<string, unknown>; expected: boolean; names: string[] }>();
    for (const t of TESTS) {
      if (!q.panther.includes(t.rule_id) || (q.scope && !q.scope(t.log))) continue;
      const key = JSON.stringify(t.log);
      const r = records.get(key) ?? { log: t.log, expected: false, names: [] };
      r.expected ||= t.expected_result;
      r.names.push(t.test_name);
      records.set(key, r);
    }
    const counts = {
      truePositives: 0,
      trueNegatives: 0,
      falsePositives: [] as string[],
      falseNegatives: [] as string[],
    };
    for (const r of records.values()) {
      const got = fires(q.rule, r.log);
      if (got && r.expected) counts.truePositives++;
      else if (!got && !r.expected) counts.trueNegatives++;
      else if (got) counts.falsePositives.push(...r.names);
      else counts.falseNegatives.push(...r.names);
    }
    expect(counts.truePositives).toBeGreaterThan(0);
    expect(counts.falsePositives.sort()).toEqual(Object.keys(q.falsePositives).sort());
    expect(counts.falseNegatives.sort()).toEqual(Object.keys(q.falseNegatives).sort());
  });
});

test('totals over every compared question', () => {
  let compared = 0;
  for (const q of QUESTIONS) {
    compared += new Set(
      TESTS.filter((t) => q.panther.includes(t.rule_id) && (!q.scope || q.scope(t.log))).map((t) =>
        JSON.stringify(t.log),
      ),
    ).size;
  }
  const fp = QUESTIONS.reduce((n, q) => n + Object.keys(q.falsePositives).length, 0);
  const fn = QUESTIONS.reduce((n, q) => n + Object.keys(q.falseNegatives).length, 0);
  expect({ questions: QUESTIONS.length, compared, fp, fn }).toEqual({ questions: 16, compared: 74, fp: 5, fn: 0 });
});
