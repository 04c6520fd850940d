/** `trailsight rules list|test` through the CLI entry point, on the bundled samples and on bad input. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { main } from '../../cli/main';
import type { RuleMatch } from '../../lambda/core/rules';
import { captureIo } from '../support/cli-io';
import { SIGMAHQ_DIR } from './helpers';

const SAMPLES = resolve(__dirname, '../../samples');
const GRYCAP_SAMPLE = join(SAMPLES, 'grycap-cloudtrail-tracker');
const FLAWS2_SAMPLE = join(SAMPLES, 'flaws2-cloud');
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'trailsight-rules-cli-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function cli(...argv: string[]) {
  const io = captureIo();
  const code = await main(['rules', ...argv], io);
  return { code, out: io.out, err: io.err };
}

const RULE = `title: Console sign-in from the course network
id: 6a1b7f36-9a0f-4a53-9a53-2a5b8e7a0a01
author: A. Tester
level: high
logsource:
    product: aws
    service: cloudtrail
detection:
    selection:
        eventName: ConsoleLogin
        sourceIPAddress|cidr: 158.42.0.0/16
    condition: selection
`;

describe('rules list', () => {
  test('the built-in pack: every rule, whether it runs and why not, and the load report', async () => {
    const { code, out, err } = await cli('list');
    expect(code).toBe(0);
    expect(out).toMatch(/^cis-4\.01-unauthorized-api-calls\s+low\s+below-min-level\s+every event\s+Trailsight/m);
    expect(out).toMatch(/^cis-4\.02-console-signin-without-mfa\s+medium\s+superseded by console-login-without-mfa/m);
    expect(out).toMatch(/^cloudtrail-tampering\s+high\s+active\s+28 eventNames/m);
    expect(out).toMatch(/load report: 0 rejected, 3 notes/);
    expect(out).toMatch(/placeholder %archive_bucket% has no value/);
    expect(err).toBe('19 rules loaded from 19 files, 16 run under the configuration\n');
  });

  test('SigmaHQ rules are credited to their authors and to SigmaHQ under DRL 1.1', async () => {
    const { code, out } = await cli('list', SIGMAHQ_DIR, '--format', 'json');
    expect(code).toBe(0);
    const listed = JSON.parse(out) as { rules: { name: string; author: string; source: unknown }[]; issues: unknown[] };
    expect(listed.rules).toHaveLength(57);
    expect(listed.rules.find((r) => r.name === 'aws_iam_backdoor_users_keys')).toMatchObject({
      author: 'faloker',
      source: {
        pack: 'SigmaHQ',
        file: 'aws_iam_backdoor_users_keys.yml',
        url: 'https://github.com/SigmaHQ/sigma',
        license: 'DRL-1.1',
      },
    });
    expect(listed.issues).toHaveLength(2);
  });

  test('a rejected rule is reported with its construct and makes the exit status 1', async () => {
    const bad = join(dir, 'bad-rules');
    mkdirSync(bad);
    writeFileSync(join(bad, 'good.yml'), RULE);
    writeFileSync(join(bad, 'windash.yml'), RULE.replace('sourceIPAddress|cidr', 'userAgent|windash'));
    writeFileSync(join(bad, 'binary.yaml'), Buffer.from([0xff, 0xfe, 0x00, 0x01, 0x5b]));
    const { code, out } = await cli('list', bad);
    expect(code).toBe(1);
    expect(out).toMatch(/load report: 2 rejected, 0 notes/);
    expect(out).toMatch(
      /rejected\s+bad-rules\/windash\.yml \(Console sign-in from the course network\): modifier windash/,
    );
    expect(out).toMatch(/rejected\s+bad-rules\/binary\.yaml: yaml: /);
  });
});

describe('rules test', () => {
  test('shows which rule matched which event, with the credit', async () => {
    const rules = join(dir, 'mine');
    mkdirSync(rules);
    writeFileSync(join(rules, 'course.yml'), RULE);
    const { code, out, err } = await cli('test', rules, GRYCAP_SAMPLE);
    expect(code).toBe(0);
    const lines = out.trim().split('\n');
    expect(lines[0]).toMatch(
      /^time \(UTC\)\s+level\s+rule\s+event\s+principal\s+account\/region\s+count\s+author \/ source$/,
    );
    expect(lines.slice(1)).toHaveLength(5);
    expect(lines[1]).toMatch(
      /^2017-06-01 06:44:22\s+high\s+course\s+ConsoleLogin\s+arn:aws:iam::974349055189:user\/micafer\s+974349055189\/us-east-1\s+1\s+A\. Tester \/ mine course\.yml$/,
    );
    expect(err).toBe('1 rules on 380 files, 11410 events: 5 matches\n');
  });

  test('--format jsonl writes one Trailsight Rule Match per line; builtin names the built-in pack', async () => {
    const { code, out } = await cli('test', 'builtin', FLAWS2_SAMPLE, '--format', 'jsonl');
    expect(code).toBe(0);
    const matches = out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as RuleMatch);
    // flaws2: the level1 Lambda's role was refused CloudWatch Logs writes.
    expect(matches.map((m) => [m.rule.name, m.event.eventName, m.event.errorCode])).toEqual(
      Array(5).fill(['cis-4.01-unauthorized-api-calls', 'CreateLogStream', 'AccessDenied']),
    );
    expect(matches[0]).toMatchObject({ version: 1, state: 'Start', rule: { author: 'Trailsight' } });
  });

  test('--alerts applies the configuration: levels, allow-lists and grouping', async () => {
    const config = join(dir, 'rules.json');
    writeFileSync(
      config,
      JSON.stringify({
        allow: [{ rules: ['cis-4.10-*'], principals: ['arn:aws:iam::974349055189:user/micafer'], reason: 'lecturer' }],
      }),
    );
    const { code, out, err } = await cli('test', GRYCAP_SAMPLE, '--alerts', '--config', config);
    expect(code).toBe(0);
    expect(out).not.toMatch(/cis-4\.10-security-group-changes\s+\S+\s+arn:aws:iam::974349055189:user\/micafer/);
    expect(out).toMatch(/console-login-without-mfa\s+ConsoleLogin\s+arn:aws:iam::974349055189:user\/micafer/);
    expect(err).toBe(
      '16 rules on 380 files, 11410 events: 106 matches, 64 allow-listed, the rest grouped into 24 rule-match events\n',
    );
  });

  test('--alerts groups in delivery order, as the pipeline does, whatever order the folders are given in', async () => {
    const config = join(dir, 'every-level.json');
    writeFileSync(config, JSON.stringify({ minLevel: 'informational' }));
    const run = (...logs: string[]) => cli('test', ...logs, '--alerts', '--format', 'jsonl', '--config', config);
    const a = await run(FLAWS2_SAMPLE, GRYCAP_SAMPLE);
    const b = await run(GRYCAP_SAMPLE, FLAWS2_SAMPLE);
    expect(a.code).toBe(0);
    const times = a.out
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as RuleMatch).event.eventTime);
    // grycap (2017) was delivered before flaws2 (2018), which alerts too.
    expect(times[0].startsWith('2017-')).toBe(true);
    expect(times[times.length - 1].startsWith('2018-')).toBe(true);
    expect(b.out).toBe(a.out);
  });

  test('an unreadable log file is reported and makes the exit status 1; the other files still count', async () => {
    const logs = join(dir, 'logs');
    mkdirSync(logs);
    writeFileSync(join(logs, 'broken.json.gz'), Buffer.from('not gzip at all'));
    const { code, err } = await cli('test', 'builtin', logs, FLAWS2_SAMPLE);
    expect(code).toBe(1);
    expect(err).toMatch(/warning: .*broken\.json\.gz.*not-gzip/);
    expect(err).toMatch(/5 matches; 1 files unreadable/);
  });
});

describe('usage and configuration errors exit 2 with a message', () => {
  test.each([
    [['frobnicate'], /unknown sub-command 'frobnicate'/],
    [[], /no sub-command/],
    [['test', 'builtin'], /no CloudTrail file or folder given/],
    [['test', 'builtin', '/no/such/path'], /no such file or folder: \/no\/such\/path/],
    [['list', '--format', 'jsonl'], /--format must be one of table, json \(got 'jsonl'\)/],
    [['test', 'builtin', FLAWS2_SAMPLE, '--format', 'json'], /--format must be one of table, jsonl \(got 'json'\)/],
    [['list', FLAWS2_SAMPLE], /not a rule file or folder/],
    [['list', '--alerts'], /--alerts applies to test only/],
    [['list', '--bogus'], /Unknown option '--bogus'/],
  ])('%j', async (argv, message) => {
    const { code, err } = await cli(...argv);
    expect(code).toBe(2);
    expect(err).toMatch(message);
  });

  test.each([
    ['not JSON', '{', /bad config: /],
    ['an unknown setting', '{"minLevel":"urgent"}', /bad config: minLevel: expected one of/],
  ])('a config that is %s', async (_name, text, message) => {
    const config = join(dir, `config-${text.length}.json`);
    writeFileSync(config, text);
    const { code, err } = await cli('list', '--config', config);
    expect(code).toBe(2);
    expect(err).toMatch(message);
  });

  test('a configured rule folder that does not exist', async () => {
    const config = join(dir, 'missing-folder.json');
    writeFileSync(config, JSON.stringify({ folders: ['nowhere'] }));
    const { code, err } = await cli('list', '--config', config);
    expect(code).toBe(2);
    expect(err).toMatch(/rule folder not found: .*nowhere/);
  });

  test('--help prints the usage and exits 0', async () => {
    const { code, out } = await cli('--help');
    expect(code).toBe(0);
    expect(out).toMatch(/^usage: trailsight rules list/);
  });
});
