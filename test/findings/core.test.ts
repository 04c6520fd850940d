import { asffTarget, defaultProductArn, partitionOf, toAsff } from '../../lambda/core/findings/asff';
import { evidenceCommand } from '../../lambda/core/findings/finding';
import { DETECTOR_PROFILES, findingFromInsight, INSIGHT_DETAIL_TYPE } from '../../lambda/core/findings/insight';
import { toOcsf } from '../../lambda/core/findings/ocsf';
import { FINDING_SOURCES, FindingInputError, findingFromEvent } from '../../lambda/core/findings/sources';
import { HIGH_SEVERITY_DETECTORS } from '../../lib/detection/insight-alerting';
import { findQuery, loadCatalog, renderQuery } from '../../queries/catalog';
import { FINDING_DETAIL_TYPES } from '../../schema/findings';
import { asffFindingSchema } from './asff-schema';
import { fixtureInsight, fixtureInsights, ocsfValidator, PRODUCT_ARN } from './helpers';

const target = asffTarget(PRODUCT_ARN);
const validateOcsf = ocsfValidator();

describe('findingFromInsight', () => {
  test('Start and End of one episode are one finding: same id, later version, resolved at the End', () => {
    // Prepare
    const start = fixtureInsight('iam-burst', 'Start');
    const end = fixtureInsights().find(
      (i) => i.sharedEventID === start.sharedEventID && i.insightDetails.state === 'End',
    );
    if (!end) throw new Error('fixture has no End for the iam-burst episode');

    // Act
    const [opened, closed] = [findingFromInsight(start), findingFromInsight(end)];

    // Assess
    expect(closed.id).toBe(opened.id);
    expect(opened.eventId).not.toBe(closed.eventId);
    expect([opened.state, closed.state]).toEqual(['active', 'resolved']);
    expect(closed.updatedAt).toBeGreaterThan(opened.updatedAt);
    expect(closed.firstSeen).toBe(opened.firstSeen);
    expect(closed.description).toMatch(/^Ended: the episode lasted \d+ min/);
  });

  test.each(['iam-burst', 'delivery-gap', 'gap'])(
    'the End of a %s episode is always a later version than its Start',
    (detector) => {
      // A delivery gap starts and ends on the same file: the same detectedAt for both.
      const start = findingFromInsight(fixtureInsight(detector, 'Start'));
      const end = findingFromInsight(fixtureInsight(detector, 'End'));
      expect(end.updatedAt).toBeGreaterThan(start.updatedAt);
    },
  );

  test('a redelivered insight (same eventID) maps to the identical finding version', () => {
    const insight = fixtureInsight('recon');
    const again = JSON.parse(JSON.stringify(insight));
    expect(findingFromInsight(again)).toEqual(findingFromInsight(insight));
    expect(toAsff(findingFromInsight(again), target)).toEqual(toAsff(findingFromInsight(insight), target));
  });

  test('the detectors that page someone are the HIGH-severity findings', () => {
    const high = Object.entries(DETECTOR_PROFILES)
      .filter(([, p]) => p.severity === 'HIGH')
      .map(([d]) => d)
      .sort();
    expect(high).toEqual([...HIGH_SEVERITY_DETECTORS].sort());
  });

  test.each(fixtureInsights().map((i) => [`${i.trailsight.detector} ${i.insightDetails.state}`, i]))(
    'the evidence query of %s exists in the catalog and renders with its parameters',
    (_name, insight) => {
      const { evidenceQuery } = findingFromInsight(insight);
      const query = findQuery(loadCatalog(), evidenceQuery.name);
      const rendered = renderQuery(query, evidenceQuery.params, { now: new Date(insight.trailsight.detectedAt) });
      expect(rendered.sql).not.toContain('{{');
      expect(Date.parse(evidenceQuery.params.start)).toBeLessThan(Date.parse(insight.eventTime));
      expect(Date.parse(evidenceQuery.params.end)).toBeGreaterThan(Date.parse(insight.eventTime));
    },
  );

  test('principal-level insights ask for the principal’s activity; a silent trail for tampering', () => {
    const recon = findingFromInsight(fixtureInsight('recon'));
    expect(recon.evidenceQuery).toMatchObject({
      name: 'principal-activity',
      params: { principal: fixtureInsight('recon').trailsight.principal },
    });
    expect(findingFromInsight(fixtureInsight('delivery-gap')).evidenceQuery.name).toBe('cloudtrail-tampering');
    expect(evidenceCommand(recon.evidenceQuery, 'logs/')).toMatch(
      /^trailsight query principal-activity --logs logs\/ --param start=\S+ --param end=\S+ --param principal=arn:aws:iam::\d{12}:user\/\S+$/,
    );
  });

  test('hostile strings are quoted in the command line, never interpreted', () => {
    const cmd = evidenceCommand({ name: 'principal-activity', params: { principal: "x'; rm -rf / #" } });
    expect(cmd).toBe(`trailsight query principal-activity --logs <logs> --param 'principal=x'\\''; rm -rf / #'`);
  });
});

describe('findingFromEvent', () => {
  test('has a mapper for exactly the detail-types the deployed rule sends', () => {
    expect(Object.keys(FINDING_SOURCES).sort()).toEqual([...FINDING_DETAIL_TYPES].sort());
  });

  test('maps a Trailsight Insight detail', () => {
    const insight = fixtureInsight('call-rate');
    expect(findingFromEvent(INSIGHT_DETAIL_TYPE, insight).generatorId).toBe('trailsight/insight/call-rate');
  });

  test('fails on an unknown detail-type, naming the ones it knows', () => {
    expect(() => findingFromEvent('Trailsight Verdict', {})).toThrow(
      new FindingInputError(
        "no finding mapper for detail-type 'Trailsight Verdict' (known: Trailsight Insight, Trailsight Rule Match)",
      ),
    );
  });

  test('fails on a rule-match detail of the wrong shape, naming the field', () => {
    expect(() => findingFromEvent('Trailsight Rule Match', { version: 1 })).toThrow(
      new FindingInputError('not a rule-match event: id: Invalid input: expected string, received undefined'),
    );
  });

  test.each([
    [
      'a missing field',
      (i: Record<string, unknown>) => delete (i.trailsight as Record<string, unknown>).detectedAt,
      /trailsight\.detectedAt/,
    ],
    [
      'an unknown detector',
      (i: Record<string, unknown>) => Object.assign(i.trailsight as object, { detector: 'nope' }),
      /trailsight\.detector/,
    ],
    ['a non-ISO time', (i: Record<string, unknown>) => Object.assign(i, { eventTime: 'yesterday' }), /eventTime/],
    [
      'a negative count',
      (i: Record<string, unknown>) => Object.assign(i.trailsight as object, { observed: -1 }),
      /observed/,
    ],
  ])('fails on %s, naming the field', (_what, corrupt, message) => {
    const detail = JSON.parse(JSON.stringify(fixtureInsight('recon')));
    corrupt(detail);
    expect(() => findingFromEvent(INSIGHT_DETAIL_TYPE, detail)).toThrow(message);
    expect(() => findingFromEvent(INSIGHT_DETAIL_TYPE, detail)).toThrow(FindingInputError);
  });

  test('fails on a detail that is not an object', () => {
    expect(() => findingFromEvent(INSIGHT_DETAIL_TYPE, 'not json')).toThrow(/not an insight event: \(root\)/);
  });
});

describe('toAsff', () => {
  test.each(fixtureInsights().map((i) => [`${i.trailsight.detector} ${i.insightDetails.state}`, i]))(
    '%s is a valid ASFF finding',
    (_name, insight) => {
      const asff = toAsff(findingFromInsight(insight), target);
      const parsed = asffFindingSchema.safeParse(asff);
      expect(parsed.success ? [] : parsed.error.issues).toEqual([]);
    },
  );

  test('the importing account is AwsAccountId; the account of the activity is a resource', () => {
    const insight = fixtureInsight('iam-burst');
    const asff = toAsff(findingFromInsight(insight), target);
    expect(asff.AwsAccountId).toBe('999988887777');
    expect(asff.Resources[0]).toEqual({
      Type: 'AwsAccount',
      Id: `AWS::::Account:${insight.recipientAccountId}`,
      Partition: 'aws',
      Region: insight.awsRegion,
    });
    expect(asff.ProductFields['trailsight/account']).toBe(insight.recipientAccountId);
  });

  test('Start opens (ACTIVE, NEW), End archives and resolves, with Severity and Types also as provider fields', () => {
    const [start, end] = ['Start', 'End'].map((s) =>
      toAsff(findingFromInsight(fixtureInsight('access-denied', s as 'Start' | 'End')), target),
    );
    expect([start.RecordState, start.Workflow.Status]).toEqual(['ACTIVE', 'NEW']);
    expect([end.RecordState, end.Workflow.Status]).toEqual(['ARCHIVED', 'RESOLVED']);
    expect(end.Id).toBe(start.Id);
    expect(Date.parse(end.UpdatedAt)).toBeGreaterThan(Date.parse(start.UpdatedAt));
    expect(start.FindingProviderFields).toEqual({ Severity: start.Severity, Types: start.Types });
    expect(start.Severity.Label).toBe('HIGH');
    expect(start.Remediation.Recommendation.Text).toMatch(/^Run the named query 'principal-activity'/);
  });

  test('an assumed-role session is reported as its role; an IAM user as itself', () => {
    const finding = findingFromInsight(fixtureInsight('recon'));
    const session = {
      ...finding,
      principal: { arn: 'arn:aws:sts::111122223333:assumed-role/deploy/ci-run-42', name: 'role/deploy' },
    };
    expect(toAsff(session, target).Resources[1]).toEqual({
      Type: 'AwsIamRole',
      Id: 'arn:aws:iam::111122223333:role/deploy',
      Partition: 'aws',
      Region: finding.region,
    });
    expect(toAsff(finding, target).Resources[1]?.Type).toBe('AwsIamUser');
  });

  test('over-long and multi-byte text is cut to the ASFF limits and stays valid', () => {
    const finding = findingFromInsight(fixtureInsight('error-rate'));
    const hostile = { ...finding, title: '💥'.repeat(400), description: `<script>${'é'.repeat(5000)}` };
    const asff = toAsff(hostile, target);
    expect([...asff.Title]).toHaveLength(256);
    expect([...asff.Description]).toHaveLength(1024);
    expect(asffFindingSchema.safeParse(asff).success).toBe(true);
  });

  test('the schema check catches a misspelt attribute and a missing required one', () => {
    const asff = toAsff(findingFromInsight(fixtureInsight('gap')), target) as unknown as Record<string, unknown>;
    expect(asffFindingSchema.safeParse({ ...asff, Titel: 'x' }).success).toBe(false);
    const { Resources: _dropped, ...noResources } = asff;
    expect(asffFindingSchema.safeParse(noResources).success).toBe(false);
  });
});

describe('asffTarget', () => {
  test('the default product of a Region is in its partition', () => {
    expect(['us-east-1', 'cn-north-1', 'us-gov-west-1'].map(partitionOf)).toEqual(['aws', 'aws-cn', 'aws-us-gov']);
  });

  test('reads an account default product ARN in any partition', () => {
    expect(asffTarget(defaultProductArn('aws-us-gov', 'us-gov-west-1', '111122223333'))).toEqual({
      productArn: 'arn:aws-us-gov:securityhub:us-gov-west-1:111122223333:product/111122223333/default',
      partition: 'aws-us-gov',
      account: '111122223333',
    });
  });

  test.each([
    'arn:aws:securityhub:us-east-1::product/aws/guardduty',
    'arn:aws:securityhub:us-east-1:111122223333:product/444455556666/default',
    'not an arn',
  ])('fails on %s, saying which form it expects', (arn) => {
    expect(() => asffTarget(arn)).toThrow(
      /expected arn:<partition>:securityhub:<region>:<account>:product\/<account>\/default/,
    );
  });
});

describe('toOcsf', () => {
  test.each(fixtureInsights().map((i) => [`${i.trailsight.detector} ${i.insightDetails.state}`, i]))(
    '%s is a valid OCSF 1.6.0 Detection Finding',
    (_name, insight) => {
      expect(validateOcsf(toOcsf(findingFromInsight(insight), { productVersion: '0.1.0' }))).toEqual([]);
    },
  );

  test('Start creates, End closes the same finding; the baseline is an anomaly analysis', () => {
    const start = toOcsf(findingFromInsight(fixtureInsight('call-rate', 'Start')));
    const end = toOcsf(findingFromInsight(fixtureInsight('call-rate', 'End')));
    expect(start).toMatchObject({ class_uid: 2004, activity_id: 1, type_uid: 200401, status_id: 1, is_alert: true });
    expect(end).toMatchObject({ activity_id: 3, type_uid: 200403, status_id: 4, is_alert: false });
    expect((end.finding_info as { uid: string }).uid).toBe((start.finding_info as { uid: string }).uid);
    const insight = fixtureInsight('call-rate');
    expect(start.anomaly_analyses).toMatchObject([
      {
        baselines: [{ observations: [{ value: String(insight.trailsight.expected) }] }],
        anomalies: [{ observations: [{ count: insight.trailsight.observed }] }],
      },
    ]);
  });

  test('the schema check catches a misspelt attribute, a wrong class and a missing required one', () => {
    const record = toOcsf(findingFromInsight(fixtureInsight('recon')));
    expect(validateOcsf({ ...record, finding_inf: {} })).not.toEqual([]);
    expect(validateOcsf({ ...record, class_uid: 2001 })).not.toEqual([]);
    const { finding_info: _dropped, ...noInfo } = record;
    expect(validateOcsf(noInfo).join('\n')).toMatch(/finding_info/);
    const badUser = JSON.parse(JSON.stringify(record));
    badUser.evidences[0].actor.user.arn = 'x';
    expect(validateOcsf(badUser).join('\n')).toMatch(/additional properties/);
  });
});
