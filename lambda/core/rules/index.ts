/** The rule engine's public surface (see docs/rules.md). */
export type { AllowEntry, RuleFolder, RulesConfig } from './config';
export { DEFAULT_RULES_CONFIG, RulesConfigError, resolveRulesConfig } from './config';
export type { MatchedEvent, MatchGroup, RuleLevel, RuleMatch, RuleRef, RuleSource } from './contract';
export { RULE_LEVELS, RULE_MATCH_DETAIL_TYPE, RULE_MATCH_SOURCE, RULE_MATCH_VERSION } from './contract';
export type { ObservedCounts, PortableGroup, RuleEngineStats, RuleStatus } from './engine';
export { addObservedCounts, planRules, RuleEngine, selectRules } from './engine';
export type { FileGroup, LedgerOutcome, LedgerState } from './grouping';
export {
  GroupLedger,
  groupFileHits,
  groupId,
  LedgerStateError,
  parseLedger,
  serializeLedger,
  toRuleMatch,
  windowStartOf,
} from './grouping';
export type { LoadedRules } from './load';
export { BUILTIN_PACK, BUILTIN_RULES_DIR, compileRules, loadRules, SIGMAHQ_PACK } from './load';
export type { RuleHit } from './ruleset';
export { RuleSet } from './ruleset';
export type { CompiledRule, RuleIssue, RulePack, RuleText } from './sigma';
