import { aws_s3 as s3 } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { build, EXAMPLE_ORG_CONFIG_INPUT, withDefaults } from './helpers';

/** Findings of a pack as `rule @ construct path` lines, so a failure reads as a list of what to fix. */
function findings(pack: AwsSolutionsChecks | ServerlessChecks, scope: IConstruct): string[] {
  return pack
    .validateScope(scope)
    .violations.flatMap((v) =>
      v.violatingResources.map((r) => `${v.ruleName} (${v.severity}) @ ${r.constructPath ?? r.resourceLogicalId}`),
    );
}

describe.each([
  ['the default configuration', () => withDefaults({})],
  ['the example organization configuration', () => EXAMPLE_ORG_CONFIG_INPUT],
  [
    'every optional feature on, in one account',
    () =>
      withDefaults({
        regions: ['us-east-1', 'eu-west-1'],
        cloudWatchLogs: { retentionDays: 30 },
        nativeInsights: ['ApiCallRateInsight'],
        dataEvents: { s3: { resources: 'all' }, lambda: { functions: 'all' } },
        detection: { alarmEmails: ['secops@example.com'], publishToDefaultBus: true },
      }),
  ],
])('cdk-nag over the whole app with %s', (_name, input) => {
  let app: ReturnType<typeof build>['app'];
  beforeAll(() => {
    app = build(input()).app;
    app.synth();
  });

  test('has zero unacknowledged AwsSolutions findings', () => {
    expect(findings(new AwsSolutionsChecks(), app)).toEqual([]);
  });

  test('has zero unacknowledged Serverless findings', () => {
    expect(findings(new ServerlessChecks(), app)).toEqual([]);
  });
});

describe('cdk-nag registration', () => {
  test('synth fails on an unacknowledged finding: the packs run as policy-validation plugins', () => {
    const { app, logArchive } = build(withDefaults({}), { compliance: true });
    // A bucket without TLS enforcement or access logs: AwsSolutions-S1 and S10.
    new s3.Bucket(logArchive, 'Careless', { blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL });
    expect(() => app.synth()).toThrow(/AwsSolutions-S10/);
  });

  test('synth passes with the packs registered on the real app', () => {
    const { app } = build(EXAMPLE_ORG_CONFIG_INPUT, { compliance: true });
    expect(() => app.synth()).not.toThrow();
  });

  test('acknowledgements sit on single resources, never on a stack', () => {
    const { app } = build(EXAMPLE_ORG_CONFIG_INPUT);
    const acknowledged = app.node
      .findAll()
      .filter((c) => c.node.metadata.some((m) => JSON.stringify(m).includes('AwsSolutions-')))
      .map((c) => c.node.path);
    expect(acknowledged.length).toBeGreaterThan(0);
    for (const path of acknowledged) expect(path.split('/').length).toBeGreaterThan(2);
  });
});
