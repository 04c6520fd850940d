/**
 * The ingest's rule ports, built once per cold start: the configured rules loaded from the bundle (the built-in
 * pack beside the handler, the configured folders copied by the stack) and compiled, the group markers in the data
 * table, and the `trailsight` bus with detail-type `Trailsight Rule Match`. Only the ingest imports this module,
 * so only its bundle carries the rule engine and its YAML parser.
 */
import { RULE_MATCH_DETAIL_TYPE, RULE_MATCH_SOURCE } from '../../schema/detection-contract';
import { DynamoDbRuleGroups } from '../adapters/dynamodb-rule-groups';
import { EventBridgeInsightPublisher } from '../adapters/eventbridge-publisher';
import { type LoadedRules, loadRules, RuleEngine, type RuleMatch, type RulesConfig } from '../core/rules';
import type { IngestPorts } from '../pipeline/ingest';
import type { RuleMatchPorts } from '../pipeline/rule-matches';
import { buildPorts, defaultClients, type PipelineClients, type PipelineEnvironment } from './environment';

/**
 * Loads and compiles the rules; the load report goes to `onIssues` (the cold start logs it), never silently
 * dropped. A missing folder fails the cold start.
 */
export function loadRuleEngine(rules: RulesConfig, onIssues: (loaded: LoadedRules) => void = () => {}): RuleEngine {
  const loaded = loadRules(rules);
  onIssues(loaded);
  return new RuleEngine(loaded.rules, rules);
}

/** The ingest's ports: the pipeline's, plus the rules when the environment configures them. */
export function buildIngestPorts(
  settings: PipelineEnvironment,
  clients: PipelineClients = defaultClients(),
  onRuleIssues?: (loaded: LoadedRules) => void,
): IngestPorts {
  const ports = buildPorts(settings, clients);
  if (!settings.rules) return ports;
  const rules: RuleMatchPorts = {
    engine: loadRuleEngine(settings.rules, onRuleIssues),
    groups: new DynamoDbRuleGroups(clients.dynamodb, settings.dataTableName),
    sink: new EventBridgeInsightPublisher(clients.eventBridge, {
      eventBusName: settings.eventBusName,
      source: RULE_MATCH_SOURCE,
      detailType: RULE_MATCH_DETAIL_TYPE,
      timeOf: (detail) => new Date((detail as RuleMatch).event.eventTime),
    }),
  };
  return { ...ports, rules };
}
