/**
 * Rule match → {@link Finding}: the mapper for `detail-type: Trailsight Rule Match` events.
 *
 * A rule match is Start-only: one finding per group (rule + account + principal + window), whose id is the
 * match's id, so a re-sent match (same id) updates the same finding. Severity is the rule's Sigma level; the
 * rule's author and source travel with the finding (DRL 1.1 asks for both wherever a SigmaHQ match is shown).
 */
import { RULE_MATCH_DETAIL_TYPE } from '../../../schema/detection-contract';
import { shortPrincipal } from '../detect';
import type { RuleLevel, RuleMatch } from '../rules/contract';
import type { Finding, FindingSeverity } from './finding';

const HOUR = 3_600_000;

const SEVERITY: Record<RuleLevel, FindingSeverity> = {
  informational: 'INFORMATIONAL',
  low: 'LOW',
  medium: 'MEDIUM',
  high: 'HIGH',
  critical: 'CRITICAL',
};

/** ATT&CK tactics (Sigma tag spelling) → the ASFF types taxonomy's TTPs and Effects classifiers. */
const TACTIC_TYPES: Readonly<Record<string, string>> = {
  'initial-access': 'TTPs/Initial Access',
  execution: 'TTPs/Execution',
  persistence: 'TTPs/Persistence',
  'privilege-escalation': 'TTPs/Privilege Escalation',
  'defense-evasion': 'TTPs/Defense Evasion',
  'credential-access': 'TTPs/Credential Access',
  discovery: 'TTPs/Discovery',
  'lateral-movement': 'TTPs/Lateral Movement',
  collection: 'TTPs/Collection',
  'command-and-control': 'TTPs/Command and Control',
  exfiltration: 'Effects/Data Exfiltration',
  impact: 'Effects/Resource Consumption',
};

const CIS_TYPE = 'Software and Configuration Checks/Industry and Regulatory Standards/CIS AWS Foundations Benchmark';

function typesOf(match: RuleMatch): string[] {
  const types = new Set<string>();
  if (match.rule.tags.some((t) => /^cis\./i.test(t))) types.add(CIS_TYPE);
  for (const tactic of match.rule.mitreTactics) {
    const type = TACTIC_TYPES[tactic.toLowerCase()];
    if (type) types.add(type);
  }
  if (types.size === 0) types.add('Unusual Behaviors/User');
  return [...types];
}

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** The finding of one rule-match event. */
export function findingFromRuleMatch(match: RuleMatch): Finding {
  const { rule, event, group } = match;
  const seen = Date.parse(event.eventTime);
  const windowStart = Date.parse(group.windowStart);
  const windowEnd = Date.parse(group.windowEnd);
  const source = rule.source;
  const falsePositives =
    rule.falsePositives.length > 0 ? ` Known false positives: ${rule.falsePositives.join('; ')}.` : '';
  const matchedFields = Object.fromEntries(Object.entries(match.fields).map(([k, v]) => [`trailsight/field/${k}`, v]));
  return {
    sourceType: RULE_MATCH_DETAIL_TYPE,
    id: match.id,
    eventId: match.id,
    generatorId: `trailsight/rule/${rule.id}`,
    title: rule.title,
    description: `${match.explanation}${falsePositives}`,
    severity: SEVERITY[rule.level],
    state: 'active',
    firstSeen: seen,
    lastSeen: seen,
    updatedAt: seen,
    account: event.account,
    region: event.region,
    principal: { arn: event.principal, name: shortPrincipal(event.principal) },
    api: { service: event.eventSource, operation: event.eventName },
    operations: [event.eventName],
    errorCodes: event.errorCode ? [event.errorCode] : [],
    types: typesOf(match),
    analytic: { uid: rule.id, name: rule.name, type: 'rule' },
    attackTechniques: rule.mitreTechniques,
    evidenceQuery: {
      name: 'principal-activity',
      params: { start: iso(windowStart - HOUR), end: iso(windowEnd + HOUR), principal: event.principal },
    },
    sourceFields: {
      'trailsight/rule': rule.name,
      'trailsight/ruleAuthor': rule.author,
      'trailsight/ruleSource': `${source.pack}${source.license ? ` (${source.license})` : ''} ${source.file}`,
      ...(source.url ? { 'trailsight/ruleSourceUrl': source.url } : {}),
      'trailsight/groupCount': String(group.count),
      'trailsight/windowStart': group.windowStart,
      'trailsight/windowEnd': group.windowEnd,
      ...(event.eventId ? { 'trailsight/eventId': event.eventId } : {}),
      ...matchedFields,
    },
  };
}
