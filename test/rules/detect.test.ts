/**
 * `trailsight detect` with the rules: insights and rule matches in one pass, on Stratus Red Team detonations
 * (../shared/data/stratus-red-team, Apache-2.0) with the built-in pack and the 57 SigmaHQ rules (DRL 1.1); the
 * `rules` block of the detect configuration, `--format ocsf` against the OCSF schema, `--state` resuming the
 * rule groups exactly, and the failure paths.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { command } from '../../cli/commands/detect';
import { groupId, type RuleMatch } from '../../lambda/core/rules';
import { ocsfValidator } from '../findings/helpers';
import { captureIo } from '../support/cli-io';
import { DATA, SIGMAHQ_DIR } from './helpers';

const STRATUS = join(DATA, 'stratus-red-team/detonation-logs');
const GRYCAP = join(DATA, 'grycap-cloudtrail-tracker/examples');

const technique = (name: string) => join(STRATUS, `aws.${name}.json`);

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'trailsight-detect-rules-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function detect(...argv: string[]) {
  const io = captureIo();
  const code = await command.run(argv, io);
  return { code, out: io.out, err: io.err };
}

const lines = (out: string) =>
  out
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
const isMatch = (x: { rule?: unknown }): x is RuleMatch => x.rule !== undefined;

describe('trailsight detect with rules', () => {
  test('the Stratus detonations: every expected rule match beside the insights, with the grouped id', async () => {
    const { code, out, err } = await detect(STRATUS, '--format', 'jsonl', '--rules', SIGMAHQ_DIR);
    expect(code).toBe(0);
    const matches = lines(out).filter(isMatch);
    expect(matches.map((m) => `${m.rule.name} ${m.event.eventName}`).sort()).toEqual([
      'aws_cloudtrail_ssm_malicious_usage SendCommand',
      'aws_cloudtrail_ssm_malicious_usage SendCommand',
      'aws_cloudtrail_vpc_flow_logs_deleted DeleteFlowLogs',
      'aws_iam_backdoor_users_keys CreateAccessKey',
      'aws_iam_backdoor_users_keys CreateAccessKey',
      'aws_snapshot_backup_exfiltration ModifySnapshotAttribute',
      'aws_update_login_profile UpdateLoginProfile',
      'cis-4.04-iam-policy-changes AttachRolePolicy',
      'cis-4.04-iam-policy-changes AttachUserPolicy',
      'cis-4.05-cloudtrail-configuration-changes DeleteTrail',
      'cis-4.05-cloudtrail-configuration-changes StopLogging',
      'cis-4.10-security-group-changes AuthorizeSecurityGroupIngress',
      'cis-4.15-organizations-changes LeaveOrganization',
      'cloudtrail-tampering DeleteTrail',
      'cloudtrail-tampering PutEventSelectors',
      'cloudtrail-tampering StopLogging',
      'console-login-without-mfa ConsoleLogin',
    ]);
    for (const m of matches) {
      expect(m.id).toBe(groupId(m.rule.id, m.event.account, m.event.principal, Date.parse(m.group.windowStart)));
      expect(Date.parse(m.group.windowStart) % 3_600_000).toBe(0);
    }
    const stop = matches.find((m) => m.rule.name === 'cloudtrail-tampering' && m.event.eventName === 'StopLogging');
    expect(stop).toMatchObject({
      rule: { level: 'high', author: 'Trailsight', source: { pack: 'Trailsight' } },
      event: { principal: 'arn:aws:iam::143434273843:user/christophe' },
      group: { count: 1, windowStart: '2024-07-31T13:00:00Z', windowEnd: '2024-07-31T14:00:00Z' },
    });
    const sigma = matches.find((m) => m.rule.name === 'aws_cloudtrail_vpc_flow_logs_deleted');
    expect(sigma?.rule.source).toMatchObject({ pack: 'SigmaHQ', license: 'DRL-1.1' });
    expect(err).toMatch(/; 53 rules: 17 matches, 0 allow-listed, 17 rule-match events;/);
  });

  test('table: the insights, then the rule matches with the credit DRL 1.1 asks for', async () => {
    const { code, out } = await detect(technique('defense-evasion.cloudtrail-stop'), '--rules', SIGMAHQ_DIR);
    expect(code).toBe(0);
    const [insights, rules] = out.split('\nrule matches');
    expect(insights).toBe('no insights\n');
    expect(rules).toMatch(/cloudtrail-tampering\s+StopLogging\s+arn:aws:iam::143434273843:user\/christophe/);
    expect(rules).toMatch(/Trailsight \/ Trailsight \(Apache-2\.0\) changes\/cloudtrail-tampering\.yml/);
  });

  test('--format ocsf: insights and rule matches as OCSF Detection Findings that pass the schema', async () => {
    const config = join(dir, 'learn.json');
    writeFileSync(config, JSON.stringify({ learningHours: 1 }));
    const { code, out } = await detect(
      GRYCAP,
      technique('defense-evasion.cloudtrail-stop'),
      '--format',
      'ocsf',
      '--config',
      config,
    );
    expect(code).toBe(0);
    const records = lines(out);
    const validate = ocsfValidator();
    for (const r of records) expect(validate(r)).toEqual([]);
    const analytics = records.map((r) => r.finding_info.analytic.type);
    expect(analytics).toContain('Statistical');
    expect(analytics).toContain('Rule');
    const stop = records.find((r) => r.api?.operation === 'StopLogging');
    expect(stop).toMatchObject({
      class_uid: 2004,
      severity: 'High',
      finding_info: {
        title: 'CloudTrail Tampering',
        analytic: { name: 'cloudtrail-tampering', type_id: 1 },
        attacks: [{ technique: { uid: 'T1562' }, sub_technique: { uid: 'T1562.008' } }],
      },
      unmapped: { 'trailsight/ruleAuthor': 'Trailsight' },
    });
  });

  test('the rules block of the configuration: disable, allow-lists, window; relative folders from its folder', async () => {
    const mine = join(dir, 'my-rules');
    mkdirSync(mine);
    writeFileSync(
      join(mine, 'event-selectors.yml'),
      readFileSync(join(SIGMAHQ_DIR, 'aws_cloudtrail_disable_logging.yml'), 'utf8')
        .replace(/^id: .*$/m, 'id: 6a3f2ba5-2f1e-4a2c-9b8e-0c4a1b2c3d4e')
        .replace(/^title: .*$/m, 'title: My selectors rule')
        .replace(/- StopLogging[\s\S]*?condition/m, '- PutEventSelectors\n    condition'),
    );
    const config = join(dir, 'rules-block.json');
    writeFileSync(
      config,
      JSON.stringify({
        rules: {
          folders: ['my-rules'],
          disable: ['cis-4.05-*'],
          allow: [
            { rules: ['cloudtrail-tampering'], accounts: ['143434273843'], reason: 'the stop detonation account' },
          ],
          grouping: { windowMinutes: 15 },
        },
      }),
    );
    const { code, out, err } = await detect(STRATUS, '--format', 'jsonl', '--config', config);
    expect(code).toBe(0);
    const matches = lines(out).filter(isMatch);
    const names = matches.map((m) => `${m.rule.name} ${m.event.eventName}`);
    expect(names).not.toContain('cloudtrail-tampering StopLogging');
    expect(names).toContain('cloudtrail-tampering DeleteTrail');
    expect(names.filter((n) => n.startsWith('cis-4.05'))).toEqual([]);
    expect(matches.find((m) => m.rule.title === 'My selectors rule')?.event.eventName).toBe('PutEventSelectors');
    for (const m of matches) expect(Date.parse(m.group.windowEnd) - Date.parse(m.group.windowStart)).toBe(900_000);
    expect(err).toMatch(/, 1 allow-listed,/);
  });

  test('--state keeps the rule groups: two runs over halves print what one run prints', async () => {
    // Two delivery files of one hour, each with a StopLogging by the same user: one group, one alert.
    const [stop] = JSON.parse(readFileSync(technique('defense-evasion.cloudtrail-stop'), 'utf8'));
    const tree = join(dir, 'two-files');
    const files = ['20240731T1310Z', '20240731T1325Z'].map((stamp, i) => {
      const key = `AWSLogs/143434273843/CloudTrail/us-east-1/2024/07/31/143434273843_CloudTrail_us-east-1_${stamp}_abcdefABCDEF012${i}.json.gz`;
      const record = { ...stop, eventID: `stop-${i}`, eventTime: `2024-07-31T13:${i === 0 ? '06' : '21'}:24Z` };
      mkdirSync(join(tree, key, '..'), { recursive: true });
      writeFileSync(join(tree, key), gzipSync(JSON.stringify({ Records: [record] })));
      return join(tree, key);
    });
    const whole = await detect(...files, '--format', 'jsonl');
    const state = join(dir, 'state.json');
    const a = await detect(files[0], '--format', 'jsonl', '--state', state);
    const b = await detect(files[1], '--format', 'jsonl', '--state', state);
    expect(lines(whole.out).map((m) => [m.rule.name, m.event.eventId, m.group.count])).toEqual([
      ['cloudtrail-tampering', 'stop-0', 1],
      ['cis-4.05-cloudtrail-configuration-changes', 'stop-0', 1],
    ]);
    expect(a.out + b.out).toBe(whole.out);
    expect(b.err).toMatch(/2 matches, 0 allow-listed, 0 rule-match events/);
  });

  test('fails with exit 2 on a bad rules block, a corrupt rule ledger or --rules with --no-rules', async () => {
    const bad = join(dir, 'bad-rules.json');
    writeFileSync(bad, JSON.stringify({ rules: { grouping: { windowMinutes: 0 } } }));
    const state = join(dir, 'corrupt', 'state.json');
    mkdirSync(join(dir, 'corrupt'));
    writeFileSync(`${state}.rules.json`, '{"version":1,"markers":{"x":{"owner":3}}}');
    const stop = technique('defense-evasion.cloudtrail-stop');
    for (const [argv, message] of [
      [[stop, '--config', bad], /bad config: grouping.windowMinutes: expected a whole number/],
      [[stop, '--state', state], /bad state: marker x is malformed/],
      [[stop, '--rules', SIGMAHQ_DIR, '--no-rules'], /--rules and --no-rules contradict/],
      [[stop, '--rules', join(dir, 'no-such-folder')], /bad input: rule folder not found/],
    ] as const) {
      const r = await detect(...argv);
      expect(r.code).toBe(2);
      expect(r.out).toBe('');
      expect(r.err).toMatch(message);
    }
  });

  test('a rejected rule is named on stderr and makes the exit status 1; the other rules still run', async () => {
    const broken = join(dir, 'broken-rules');
    mkdirSync(broken);
    writeFileSync(join(broken, 'keywords.yml'), 'title: x\nlogsource: {product: aws, service: cloudtrail}\n');
    const { code, out, err } = await detect(technique('defense-evasion.cloudtrail-stop'), '--rules', broken);
    expect(code).toBe(1);
    expect(err).toMatch(/warning: rule rejected: broken-rules\/keywords\.yml/);
    expect(out).toMatch(/cloudtrail-tampering\s+StopLogging/);
  });

  test('a file that cannot be read whole raises no rule match (the ingest retries it instead)', async () => {
    const tree = join(dir, 'damaged');
    const key =
      'AWSLogs/143434273843/CloudTrail/us-east-1/2024/07/31/143434273843_CloudTrail_us-east-1_20240731T1310Z_abcdefABCDEF0123.json.gz';
    mkdirSync(join(tree, key, '..'), { recursive: true });
    const records = JSON.parse(readFileSync(technique('defense-evasion.cloudtrail-stop'), 'utf8'));
    const whole = gzipSync(
      JSON.stringify({
        Records: Array(50)
          .fill(records.Records ?? records)
          .flat(),
      }),
    );
    writeFileSync(join(tree, key), whole.subarray(0, whole.length - 20));
    const { code, out, err } = await detect(tree, '--format', 'jsonl');
    expect(code).toBe(1);
    expect(err).toMatch(/warning: /);
    expect(lines(out).filter(isMatch)).toEqual([]);
  });
});
