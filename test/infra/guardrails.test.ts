/** The service control policy protecting the evidence (TrailsightGuardrails). */
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { EvidenceGuardrail, SCP_MAX_CHARACTERS } from '../../lib/guardrails/evidence-guardrail';
import {
  BUCKET_CONFIGURATION_ACTIONS,
  BUCKET_DESTRUCTION_ACTIONS,
  KEY_DESTRUCTION_ACTIONS,
  TRAIL_TAMPERING_ACTIONS,
} from '../../lib/log-archive/protected-actions';
import { build, EXAMPLE_ORG_CONFIG_INPUT, withDefaults } from './helpers';

type Statement = { Sid: string; Effect: string; Action: string[]; Resource: unknown; Condition?: unknown };

const BREAK_GLASS = 'arn:aws:iam::222222222222:role/TrailsightBreakGlass';
const DEPLOYMENT = {
  'Fn::Join': [
    '',
    ['arn:', { Ref: 'AWS::Partition' }, ':iam::222222222222:role/cdk-hnb659fds-cfn-exec-role-222222222222-eu-west-1'],
  ],
};
const arn = (tail: string) => `arn:aws${tail}`;

describe('TrailsightGuardrails (example organization configuration)', () => {
  let app: ReturnType<typeof build>;
  let template: Template;
  let statements: Statement[];
  beforeAll(() => {
    app = build(EXAMPLE_ORG_CONFIG_INPUT);
    template = Template.fromStack(app.guardrails!);
    const policy = Object.values(template.findResources('AWS::Organizations::Policy'))[0];
    statements = policy.Properties.Content.Statement;
  });
  const bySid = (sid: string) => statements.find((s) => s.Sid === sid)!;

  test('is deployed in the management account, home Region', () => {
    expect(app.guardrails?.account).toBe('111111111111');
    expect(app.guardrails?.region).toBe('eu-west-1');
  });

  test('creates one service control policy attached to the configured targets', () => {
    template.resourceCountIs('AWS::Organizations::Policy', 1);
    template.hasResourceProperties('AWS::Organizations::Policy', {
      Name: 'trailsight-evidence-protection',
      Type: 'SERVICE_CONTROL_POLICY',
      TargetIds: ['r-a1b2'],
    });
  });

  test('denies stopping, deleting or reshaping the Trailsight trails, break glass excepted', () => {
    expect(bySid('ProtectTrailsightTrails')).toEqual({
      Sid: 'ProtectTrailsightTrails',
      Effect: 'Deny',
      Action: [...TRAIL_TAMPERING_ACTIONS].sort(),
      Resource: arn(':cloudtrail:*:111111111111:trail/trailsight-org'),
      Condition: { ArnNotLike: { 'aws:PrincipalArn': [BREAK_GLASS] } },
    });
  });

  test("denies changing the archive's configuration, the archive's deployment role and break glass excepted", () => {
    expect(bySid('ProtectArchiveConfiguration')).toEqual({
      Sid: 'ProtectArchiveConfiguration',
      Effect: 'Deny',
      Action: [...BUCKET_CONFIGURATION_ACTIONS].sort(),
      Resource: arn(':s3:::trailsight-archive-222222222222-eu-west-1'),
      Condition: { ArnNotLike: { 'aws:PrincipalArn': [DEPLOYMENT, BREAK_GLASS] } },
    });
  });

  test('denies destroying or unlocking evidence, break glass excepted', () => {
    expect(bySid('ProtectArchiveEvidence')).toEqual({
      Sid: 'ProtectArchiveEvidence',
      Effect: 'Deny',
      Action: [...BUCKET_DESTRUCTION_ACTIONS].sort(),
      Resource: [
        arn(':s3:::trailsight-archive-222222222222-eu-west-1'),
        arn(':s3:::trailsight-archive-222222222222-eu-west-1/*'),
      ],
      Condition: { ArnNotLike: { 'aws:PrincipalArn': [BREAK_GLASS] } },
    });
  });

  test('denies disabling or deleting the archive key, found by its alias, break glass excepted', () => {
    expect(bySid('ProtectArchiveKey')).toEqual({
      Sid: 'ProtectArchiveKey',
      Effect: 'Deny',
      Action: [...KEY_DESTRUCTION_ACTIONS].sort(),
      Resource: arn(':kms:eu-west-1:222222222222:key/*'),
      Condition: {
        'ForAnyValue:StringEquals': { 'kms:ResourceAliases': 'alias/trailsight/archive' },
        ArnNotLike: { 'aws:PrincipalArn': [BREAK_GLASS] },
      },
    });
  });

  test('denies changing the key policy or its alias, the deployment role and break glass excepted', () => {
    expect(bySid('ProtectArchiveKeyPolicy')).toMatchObject({
      Action: 'kms:PutKeyPolicy',
      Resource: arn(':kms:eu-west-1:222222222222:key/*'),
      Condition: {
        'ForAnyValue:StringEquals': { 'kms:ResourceAliases': 'alias/trailsight/archive' },
        ArnNotLike: { 'aws:PrincipalArn': [DEPLOYMENT, BREAK_GLASS] },
      },
    });
    expect(bySid('ProtectArchiveKeyAlias')).toMatchObject({
      Action: ['kms:DeleteAlias', 'kms:UpdateAlias'],
      Resource: arn(':kms:eu-west-1:222222222222:alias/trailsight/archive'),
      Condition: { ArnNotLike: { 'aws:PrincipalArn': [DEPLOYMENT, BREAK_GLASS] } },
    });
  });

  test('fits the AWS Organizations size limit', () => {
    const length = JSON.stringify(statements).replace(/\{"Ref":"AWS::Partition"\}/g, '"aws-us-gov"').length;
    expect(length).toBeLessThan(SCP_MAX_CHARACTERS);
  });
});

describe('EvidenceGuardrail', () => {
  const base = {
    targetIds: ['r-a1b2'],
    trailName: 'trailsight',
    trailAccount: '111111111111',
    archiveBucketName: 'trailsight-archive-222222222222-eu-west-1',
    archiveAccount: '222222222222',
    archiveRegion: 'eu-west-1',
    archiveKeyAlias: 'alias/trailsight/archive',
    archiveDeploymentRoleArn: 'arn:aws:iam::222222222222:role/cdk-hnb659fds-cfn-exec-role-222222222222-eu-west-1',
  };
  const stack = () => new Stack(new App(), 'S', { env: { account: '111111111111', region: 'eu-west-1' } });

  test('without a break-glass role, denies destruction to everyone', () => {
    const s = stack();
    new EvidenceGuardrail(s, 'G', base);
    const content = Object.values(Template.fromStack(s).findResources('AWS::Organizations::Policy'))[0].Properties
      .Content;
    const evidence = content.Statement.find((x: Statement) => x.Sid === 'ProtectArchiveEvidence');
    expect(evidence.Condition).toBeUndefined();
  });

  test('fails when the policy would exceed the AWS Organizations size limit', () => {
    expect(() => new EvidenceGuardrail(stack(), 'G', { ...base, trailName: 'x'.repeat(5000) })).toThrow(
      /EvidenceGuardrail: the policy has \d+ characters, over the 5120 AWS Organizations accepts/,
    );
  });

  test('fails without targets', () => {
    expect(() => new EvidenceGuardrail(stack(), 'G', { ...base, targetIds: [] })).toThrow(/targetIds is empty/);
  });
});

describe('TrailsightGuardrails placement', () => {
  test('is left out when scp is not configured', () => {
    expect(build(withDefaults({})).guardrails).toBeUndefined();
  });
});
