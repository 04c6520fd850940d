/**
 * The findings function's contract with the stack that deploys it: one definition of the environment variable,
 * the Powertools service name and the metric names, imported by both sides (lib/findings/, lambda/handlers/).
 *
 * Pure data: this module may be imported from every room (lib/, lambda/, cli/, test/).
 */
import { RULE_MATCH_DETAIL_TYPE } from './detection-contract';

/** Environment variable holding the Security Hub product ARN findings are imported with. */
export const PRODUCT_ARN_ENV = 'SECURITY_HUB_PRODUCT_ARN';

/** Powertools service name of the findings function (the `service` dimension of its metrics). */
export const FINDINGS_SERVICE_NAME = 'trailsight-findings';

/** Custom metrics of the findings function (namespace `Trailsight`). */
export const FINDINGS_METRICS = {
  /** Finding versions Security Hub accepted. */
  imported: 'FindingsImported',
  /** Finding versions Security Hub refused after every retry (FailedFindings); alarmed. */
  failed: 'FindingsFailed',
  /** Bus events that are not a finding source (unknown detail-type or a malformed detail); alarmed. */
  rejected: 'FindingEventsRejected',
} as const;

/** `source` of Trailsight's own events on the `trailsight` bus. */
export const TRAILSIGHT_EVENT_SOURCE = 'trailsight';

/** `detail-type` of insights on the bus (docs/pipeline.md, "Event format"). */
export const INSIGHT_DETAIL_TYPE = 'Trailsight Insight';

/**
 * The bus events that become findings: the findings rule matches these, and lambda/core/findings/sources.ts
 * has one mapper for each (a test keeps the two equal). A new finding kind adds its detail-type here.
 */
export const FINDING_DETAIL_TYPES: readonly string[] = [INSIGHT_DETAIL_TYPE, RULE_MATCH_DETAIL_TYPE];
