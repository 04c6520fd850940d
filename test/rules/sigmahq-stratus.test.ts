/**
 * The 57 SigmaHQ CloudTrail rules (../shared/data/sigmahq-cloudtrail-rules, DRL 1.1, read in place) on the
 * Stratus Red Team detonations (../shared/data/stratus-red-team, one file per attack technique, Apache-2.0):
 * every rule whose API the detonations contain fires on exactly the techniques listed below, the one that does
 * not is listed with the reason, and the techniques no rule catches are listed as such.
 */
import { basename, join } from 'node:path';
import { loadRules } from '../../lambda/core/rules';
import { DATA, hitsOn, SIGMAHQ_DIR } from './helpers';

const STRATUS = join(DATA, 'stratus-red-team/detonation-logs');

/** SigmaHQ rule → the Stratus techniques it fires on (file name without `aws.` and `.json`). */
const SIGMAHQ_CATCHES: Record<string, string[]> = {
  aws_cloudtrail_disable_logging: ['defense-evasion.cloudtrail-delete', 'defense-evasion.cloudtrail-stop'],
  aws_cloudtrail_vpc_flow_logs_deleted: ['defense-evasion.vpc-remove-flow-logs'],
  aws_cloudtrail_ssm_malicious_usage: [
    'credential-access.ec2-steal-instance-credentials',
    'execution.ssm-send-command',
  ],
  aws_cloudtrail_security_group_change_ingress_egress: ['exfiltration.ec2-security-group-open-port-22-ingress'],
  aws_snapshot_backup_exfiltration: ['exfiltration.ec2-share-ebs-snapshot'],
  aws_cloudtrail_console_login_success_without_mfa: ['initial-access.console-login-without-mfa'],
  // The rule's filter compares userIdentity.arn with the literal text 'responseElements.accessKey.userName' (the
  // load report notes it), so every CreateAccessKey fires, including the admin user's own key.
  aws_iam_backdoor_users_keys: ['persistence.iam-backdoor-user', 'persistence.iam-create-admin-user'],
  aws_new_lambda_layer_attached: ['persistence.lambda-layer-extension'],
  aws_update_login_profile: ['privilege-escalation.iam-update-user-login-profile'],
  // Fires on every call of an assumed role whose issuer is a role: any attacker using a role, and most benign use.
  aws_sts_assumerole_misuse: [
    'credential-access.ec2-get-password-data',
    'credential-access.ec2-steal-instance-credentials',
    'defense-evasion.organizations-leave',
    'discovery.ec2-download-user-data',
    'execution.ec2-launch-unusual-instances',
    'impact.bedrock-invoke-model',
    'lateral-movement.ec2-serial-console-send-ssh-public-key',
  ],
};

/**
 * Rules whose API is in a detonation but which do not fire on it, and why. Every other SigmaHQ rule names APIs
 * (or user agents, such as TruffleHog and S3 Browser) that no detonation contains.
 */
const SIGMAHQ_MISSES: Record<string, { technique: string; why: string }> = {
  aws_ec2_startup_script_change: {
    technique: 'execution.ec2-user-data',
    why: 'the rule wants requestParameters.attribute = userData; the detonation logs requestParameters.userData',
  },
};

/** Trailsight's built-in pack on the same detonations (all levels). */
const BUILTIN_CATCHES: Record<string, string[]> = {
  'cis-4.01-unauthorized-api-calls': [
    'credential-access.ec2-get-password-data',
    'defense-evasion.organizations-leave',
    'discovery.ec2-download-user-data',
    'execution.ec2-launch-unusual-instances',
  ],
  'cis-4.02-console-signin-without-mfa': ['initial-access.console-login-without-mfa'],
  'cis-4.04-iam-policy-changes': ['persistence.iam-create-admin-user', 'persistence.iam-create-backdoor-role'],
  'cis-4.05-cloudtrail-configuration-changes': ['defense-evasion.cloudtrail-delete', 'defense-evasion.cloudtrail-stop'],
  'cis-4.10-security-group-changes': ['exfiltration.ec2-security-group-open-port-22-ingress'],
  'cis-4.15-organizations-changes': ['defense-evasion.organizations-leave'],
  'cloudtrail-tampering': [
    'defense-evasion.cloudtrail-delete',
    'defense-evasion.cloudtrail-event-selectors',
    'defense-evasion.cloudtrail-stop',
  ],
  'console-login-without-mfa': ['initial-access.console-login-without-mfa'],
};

/** Techniques no rule (built-in or SigmaHQ, any level) catches: gaps to know about, not failures to hide. */
const CAUGHT_BY_NONE = [
  'credential-access.secretsmanager-batch-retrieve-secrets',
  'credential-access.secretsmanager-retrieve-secrets',
  'credential-access.ssm-retrieve-securestring-parameters',
  'defense-evasion.dns-delete-logs',
  'execution.ec2-user-data',
  'execution.ssm-start-session',
  'exfiltration.ec2-share-ami',
  'exfiltration.rds-share-snapshot',
  'lateral-movement.ec2-instance-connect',
  'persistence.iam-backdoor-role',
  'persistence.iam-create-user-login-profile',
  'persistence.lambda-backdoor-function',
  'persistence.lambda-overwrite-code',
  'persistence.rolesanywhere-create-trust-anchor',
  'persistence.sts-federation-token',
];

const technique = (file: string) =>
  basename(file)
    .replace(/^aws\./, '')
    .replace(/\.json$/, '');

/** rule name → techniques it fired on, sorted. */
async function catches(builtin: boolean, sigma: boolean): Promise<Record<string, string[]>> {
  const loaded = loadRules({ builtin, folders: sigma ? [{ path: SIGMAHQ_DIR }] : [], placeholders: {} });
  const out: Record<string, Set<string>> = {};
  for (const hit of await hitsOn([STRATUS], loaded.rules)) {
    // The reader's file name is not on the event; the detonations have one technique per file and unique event ids.
    const name = hit.rule.ref.name;
    out[name] ??= new Set();
    out[name].add(techniqueOf.get(hit.event.eventId ?? '') ?? 'unknown');
  }
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, [...v].sort()]));
}

const techniqueOf = new Map<string, string>();

beforeAll(async () => {
  const { readdirSync, readFileSync } = await import('node:fs');
  for (const f of readdirSync(STRATUS)) {
    for (const r of JSON.parse(readFileSync(join(STRATUS, f), 'utf8')) as { eventID: string }[]) {
      techniqueOf.set(r.eventID, technique(f));
    }
  }
});

test('all 57 SigmaHQ rules load; the load report holds two notes, both about the rules themselves', () => {
  const loaded = loadRules({ builtin: false, folders: [{ path: SIGMAHQ_DIR }], placeholders: {} });
  expect(loaded.rules).toHaveLength(57);
  expect(loaded.rules.every((r) => r.ref.source.pack === 'SigmaHQ' && r.ref.source.license === 'DRL-1.1')).toBe(true);
  expect(loaded.rules.every((r) => r.ref.author !== 'unknown')).toBe(true);
  expect(loaded.issues.map((i) => [i.severity, i.file, i.construct])).toEqual([
    // `status: success` is not a CloudTrail field: the rule can never fire on CloudTrail records.
    ['note', 'aws_delete_saml_provider.yml', 'field'],
    // A literal compared where a field reference (|fieldref) was meant: the filter never excludes anything.
    ['note', 'aws_iam_backdoor_users_keys.yml', 'value'],
  ]);
});

test('each SigmaHQ rule fires on exactly the detonations in the table', async () => {
  expect(await catches(false, true)).toEqual(SIGMAHQ_CATCHES);
});

test('the rule whose API a detonation contains but which does not fire is the one listed, for the reason given', async () => {
  const loaded = loadRules({ builtin: false, folders: [{ path: SIGMAHQ_DIR }], placeholders: {} });
  for (const [name, { technique: t }] of Object.entries(SIGMAHQ_MISSES)) {
    const rule = loaded.rules.find((r) => r.ref.name === name);
    const file = join(STRATUS, `aws.${t}.json`);
    expect(rule?.eventNames?.size).toBeGreaterThan(0);
    expect(await hitsOn([file], rule ? [rule] : [])).toEqual([]);
  }
  expect(Object.keys(SIGMAHQ_MISSES).every((n) => !(n in SIGMAHQ_CATCHES))).toBe(true);
});

test('the built-in pack fires on exactly the detonations in its table', async () => {
  expect(await catches(true, false)).toEqual(BUILTIN_CATCHES);
});

test('the techniques no rule catches are exactly the listed ones', async () => {
  const caught = new Set(Object.values(await catches(true, true)).flat());
  const all = [...new Set(techniqueOf.values())].sort();
  expect(all).toHaveLength(35);
  expect(all.filter((t) => !caught.has(t))).toEqual(CAUGHT_BY_NONE);
});
