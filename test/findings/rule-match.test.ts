/**
 * Rule matches as findings: the rule-match events of the Stratus Red Team detonations (../shared/data, Apache-2.0)
 * under the built-in pack and the 57 SigmaHQ rules (DRL 1.1) map to ASFF records that pass the ASFF schema and
 * OCSF Detection Findings that pass the vendored OCSF 1.6.0 schema, with the rule's level, ATT&CK and credit.
 */
import { join } from 'node:path';
import { asffTarget, toAsff } from '../../lambda/core/findings/asff';
import { toOcsf } from '../../lambda/core/findings/ocsf';
import { findingFromEvent } from '../../lambda/core/findings/sources';
import { DEFAULT_RULES_CONFIG, groupFileHits, loadRules, RuleEngine, type RuleMatch } from '../../lambda/core/rules';
import { RULE_MATCH_DETAIL_TYPE } from '../../schema/detection-contract';
import { DATA, hitsOn, SIGMAHQ_DIR } from '../rules/helpers';
import { asffFindingSchema } from './asff-schema';
import { ocsfValidator, PRODUCT_ARN } from './helpers';

let matches: RuleMatch[];
beforeAll(async () => {
  const config = { ...DEFAULT_RULES_CONFIG, folders: [{ path: SIGMAHQ_DIR }] };
  const engine = new RuleEngine(loadRules(config).rules, config);
  const hits = await hitsOn([join(DATA, 'stratus-red-team/detonation-logs')], engine.ruleSet.rules);
  matches = engine.record('stratus', groupFileHits(hits, 60));
});

describe('rule matches as findings', () => {
  test('every match maps to an ASFF record that passes the schema, credited and typed', () => {
    expect(matches.length).toBe(17);
    // Stratus Red Team's logs replace Regions with made-up names ("apiso-centralnorth-2r") longer than any real
    // Region and than ASFF's 16-character Region: give the ASFF check a real one.
    const real = (m: RuleMatch): RuleMatch => ({ ...m, event: { ...m.event, region: 'us-east-1' } });
    for (const m of matches.map(real)) {
      const asff = toAsff(findingFromEvent(RULE_MATCH_DETAIL_TYPE, m), asffTarget(PRODUCT_ARN));
      const parsed = asffFindingSchema.safeParse(asff);
      expect(parsed.success ? [] : parsed.error.issues).toEqual([]);
      expect(asff.Id).toBe(m.id);
      expect(asff.ProductFields['trailsight/ruleAuthor']).toBe(m.rule.author);
    }
    const stop = matches.find((m) => m.rule.name === 'cloudtrail-tampering' && m.event.eventName === 'StopLogging')!;
    const asff = toAsff(findingFromEvent(RULE_MATCH_DETAIL_TYPE, real(stop)), asffTarget(PRODUCT_ARN));
    expect(asff).toMatchObject({
      GeneratorId: `trailsight/rule/${stop.rule.id}`,
      Severity: { Label: 'HIGH' },
      Types: ['TTPs/Defense Evasion'],
      Title: 'CloudTrail Tampering',
    });
    const cis = matches.find((m) => m.rule.name === 'cis-4.05-cloudtrail-configuration-changes')!;
    expect(toAsff(findingFromEvent(RULE_MATCH_DETAIL_TYPE, cis), asffTarget(PRODUCT_ARN)).Types).toContain(
      'Software and Configuration Checks/Industry and Regulatory Standards/CIS AWS Foundations Benchmark',
    );
    const sigma = matches.find((m) => m.rule.source.pack === 'SigmaHQ')!;
    expect(
      toAsff(findingFromEvent(RULE_MATCH_DETAIL_TYPE, sigma), asffTarget(PRODUCT_ARN)).ProductFields[
        'trailsight/ruleSource'
      ],
    ).toMatch(/^SigmaHQ \(DRL-1\.1\) /);
  });

  test('every match maps to an OCSF Detection Finding that passes the schema, analytic type Rule', () => {
    const validate = ocsfValidator();
    for (const m of matches) {
      const record = toOcsf(findingFromEvent(RULE_MATCH_DETAIL_TYPE, m));
      expect(validate(record)).toEqual([]);
      expect(record).toMatchObject({
        class_uid: 2004,
        finding_info: { uid: m.id, analytic: { uid: m.rule.id, name: m.rule.name, type_id: 1, type: 'Rule' } },
      });
    }
  });
});
