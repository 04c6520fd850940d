/**
 * The detection rules in the stack: the ingest's rule configuration and grants, the EventBridge rule that sends
 * rule matches to the alert topic by level, `detection.rules` validation, and the ingest bundle carrying the
 * built-in pack and a configured Sigma folder (one real esbuild bundling of the detection stack).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template as T, type Template } from 'aws-cdk-lib/assertions';
import { DEFAULT_RULES_CONFIG, loadRules, resolveRulesConfig } from '../../lambda/core/rules';
import { parseConfig, RULES_DEFAULTS } from '../../lib/config';
import { DetectionFunction } from '../../lib/detection/detection-function';
import { levelsFrom } from '../../lib/detection/rule-match-alerting';
import { bundledRules, RULES_DEFINE } from '../../lib/stacks/detection-stack';
import { ENV, RULE_MATCH_DETAIL_TYPE } from '../../schema/detection-contract';
import { SIGMAHQ_DIR } from '../rules/helpers';
import { build, withDefaults } from './helpers';

type Fn = { Properties: { Environment: { Variables: Record<string, string> }; Description: string } };

function functions(template: Template): Record<string, Fn> {
  return template.findResources('AWS::Lambda::Function') as Record<string, Fn>;
}

function ingestOf(template: Template): Fn {
  const found = Object.values(functions(template)).filter((f) => f.Properties.Description.includes('reads new'));
  expect(found).toHaveLength(1);
  return found[0];
}

function putEventsRoles(template: Template): string[] {
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((p) => JSON.stringify(p.Properties.PolicyDocument.Statement).includes('"events:PutEvents"'))
    .flatMap((p) => (p.Properties.Roles as { Ref: string }[]).map((r) => r.Ref.replace(/[0-9A-F]{8}$/, '')))
    .sort();
}

describe('detection rules (default configuration)', () => {
  let template: Template;
  beforeAll(() => {
    template = T.fromStack(build(withDefaults({})).detection!);
  });

  test('the ingest, and only the ingest, gets the rule configuration: the engine defaults', () => {
    const ingest = ingestOf(template);
    const config = JSON.parse(ingest.Properties.Environment.Variables[ENV.rulesConfig]);
    expect(resolveRulesConfig(config)).toEqual(DEFAULT_RULES_CONFIG);
    const others = Object.values(functions(template)).filter((f) => f !== ingest);
    expect(others.length).toBe(3);
    for (const f of others) expect(f.Properties.Environment.Variables[ENV.rulesConfig]).toBeUndefined();
  });

  test('the ingest may put events on the trailsight bus (rule matches), as the evaluator (insights)', () => {
    expect(putEventsRoles(template)).toEqual(['EvaluatorRole', 'IngestRole']);
  });

  test('rule matches of level high and critical go to the alert topic, with a dead-letter queue', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventBusName: Match.anyValue(),
      EventPattern: {
        source: ['trailsight'],
        'detail-type': [RULE_MATCH_DETAIL_TYPE],
        detail: { rule: { level: ['high', 'critical'] } },
      },
      Targets: [
        Match.objectLike({
          Arn: { Ref: Match.stringLikeRegexp('^AlertingTopic') },
          DeadLetterConfig: {
            Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^AlertingNotificationDeadLetterQueue'), 'Arn'] },
          },
          RetryPolicy: { MaximumRetryAttempts: 20, MaximumEventAgeInSeconds: 21600 },
          InputTransformer: Match.objectLike({ InputPathsMap: Match.objectLike({ 'detail-id': '$.detail.id' }) }),
        }),
      ],
    });
  });
});

describe('detection.rules configuration', () => {
  test('alertLevel chooses the levels that page; an engine block reaches the ingest as configured', () => {
    const rules = {
      alertLevel: 'medium',
      minLevel: 'low',
      disable: ['aws_sts_*'],
      placeholders: { archive_bucket: 'trailsight-archive-123456789012-us-east-1' },
      allow: [{ rules: ['cis-4.1*'], principals: ['arn:aws:iam::*:role/ci'], reason: 'CI deploys' }],
      grouping: { windowMinutes: 15 },
    };
    const template = T.fromStack(build(withDefaults({ detection: { rules } })).detection!);
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: Match.objectLike({ detail: { rule: { level: ['medium', 'high', 'critical'] } } }),
    });
    const config = JSON.parse(ingestOf(template).Properties.Environment.Variables[ENV.rulesConfig]);
    const { alertLevel: _alertLevel, ...engine } = rules;
    expect(resolveRulesConfig(config)).toEqual(resolveRulesConfig(engine));
  });

  test('enabled false: no rule configuration, no alert rule, no PutEvents for the ingest', () => {
    const template = T.fromStack(build(withDefaults({ detection: { rules: { enabled: false } } })).detection!);
    expect(ingestOf(template).Properties.Environment.Variables[ENV.rulesConfig]).toBeUndefined();
    template.resourcePropertiesCountIs(
      'AWS::Events::Rule',
      { EventPattern: Match.objectLike({ 'detail-type': [RULE_MATCH_DETAIL_TYPE] }) },
      0,
    );
    expect(putEventsRoles(template)).toEqual(['EvaluatorRole']);
  });

  test('the defaults agree with the engine defaults', () => {
    const { enabled, alertLevel, ...engine } = parseConfig({}).detection.rules;
    expect([enabled, alertLevel]).toEqual([true, 'high']);
    expect(resolveRulesConfig(engine)).toEqual(DEFAULT_RULES_CONFIG);
    expect(RULES_DEFAULTS.grouping).toEqual(DEFAULT_RULES_CONFIG.grouping);
    expect(levelsFrom('critical')).toEqual(['critical']);
  });

  test.each([
    [{ alertLevel: 'urgent' }, /detection\.rules\.alertLevel = "urgent": must be one of informational, low/],
    [{ allow: [{ rules: ['x'], reason: 'r' }] }, /detection\.rules\.allow\.0.*name principals or accounts/],
    [{ allow: [{ principals: ['x'], reason: ' ' }] }, /detection\.rules\.allow\.0\.reason.*say why/],
    [{ grouping: { windowMinutes: 0 } }, /detection\.rules\.grouping\.windowMinutes = 0: must be at least 1 minutes/],
    [{ folders: [{ path: 'x', colour: 'red' }] }, /detection\.rules\.folders\.0/],
    [{ enable: 'x' }, /detection\.rules\.enable/],
  ])('fails on %j, naming the key', (rules, message) => {
    expect(() => parseConfig({ detection: { rules } })).toThrow(message);
  });

  test('fails at synth on a rule configuration too long for the ingest environment, saying what to shorten', () => {
    const allow = Array.from({ length: 40 }, (_, i) => ({
      principals: [`arn:aws:iam::111122223333:role/deployer-${i}`],
      reason: 'deployments',
    }));
    expect(() => build(withDefaults({ detection: { rules: { allow } } }))).toThrow(
      /detection\.rules is \d+ characters as JSON, more than the 2048 .*shorten allow/,
    );
  });

  test('fails at synth on a folder that does not exist, naming it', () => {
    expect(() => build(withDefaults({ detection: { rules: { folders: ['no/such/rules'] } } }))).toThrow(
      /detection\.rules\.folders\[0\] = "no\/such\/rules": no such folder/,
    );
  });
});

describe('the ingest bundle (esbuild, locally)', () => {
  let outdir: string;
  afterAll(() => fs.rmSync(outdir, { recursive: true, force: true }));

  test('carries the built-in pack and the configured SigmaHQ folder, credited, and loads them from itself', () => {
    // The ingest function alone, bundled with what the detection stack gives it (one bundling, not four).
    outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'trailsight-bundle-'));
    const settings = parseConfig(withDefaults({ detection: { rules: { folders: [SIGMAHQ_DIR] } } })).detection;
    const rules = bundledRules(settings.rules);
    const app = new App({ outdir });
    const stack = new Stack(app, 'Bundle');
    new DetectionFunction(stack, 'Ingest', {
      entry: path.join(__dirname, '../../lambda/handlers/ingest.ts'),
      description: 'bundle test',
      memorySize: 1024,
      timeout: Duration.seconds(60),
      logRetention: 30,
      environment: { [ENV.rulesConfig]: JSON.stringify(rules.config) },
      bundledFiles: rules.files,
      define: RULES_DEFINE,
    });
    app.synth();
    const code = Object.values(T.fromStack(stack).findResources('AWS::Lambda::Function'))[0].Properties.Code;
    const bundle = path.join(outdir, `asset.${String(code.S3Key).replace(/\.zip$/, '')}`);
    expect(fs.readdirSync(path.join(bundle, 'rules')).sort()).toEqual(['changes', 'cis', 'identity']);
    expect(fs.existsSync(path.join(bundle, 'user-rules/0/rules/LICENSE-SigmaHQ.md'))).toBe(true);
    // The configuration the ingest reads, resolved as the handler does (against its own folder).
    const config = resolveRulesConfig(rules.config);
    const loaded = loadRules(
      { ...config, folders: config.folders.map((f) => ({ ...f, path: path.resolve(bundle, f.path) })) },
      path.join(bundle, 'rules'),
    );
    expect(loaded.issues.filter((i) => i.severity === 'rejected')).toEqual([]);
    expect(loaded.rules.length).toBe(76);
    expect(new Set(loaded.rules.map((r) => `${r.ref.source.pack} ${r.ref.source.license}`))).toEqual(
      new Set(['Trailsight Apache-2.0', 'SigmaHQ DRL-1.1']),
    );
    // The bundle finds the built-in pack beside itself (TRAILSIGHT_RULES_DIR = ./rules).
    expect(fs.readFileSync(path.join(bundle, 'index.js'), 'utf8')).toContain('"./rules"');
  }, 60_000);
});
