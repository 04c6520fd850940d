/**
 * The rule-match event: what leaves on the `trailsight` bus (and `trailsight rules test --format jsonl`) when a
 * rule matched a CloudTrail event. One definition for every producer and consumer: the CLI, the ingest Lambda,
 * the EventBridge rules that route by level, and whoever subscribes to the bus.
 *
 * Start-only: a match is a fact about one event, so there is no End. Repeated matches of the same rule by the
 * same principal are grouped (see grouping.ts): one event per rule + account + principal + aligned window.
 */

/**
 * EventBridge `source` and `detail-type` of a rule-match entry: defined once in schema/detection-contract.ts,
 * beside the insight's, for the ingest Lambda, the stack's alert rule, the CLI and the docs.
 */
export { RULE_MATCH_DETAIL_TYPE, RULE_MATCH_SOURCE } from '../../../schema/detection-contract';

/** Version of the {@link RuleMatch} shape; bumped when a field is renamed or re-typed. */
export const RULE_MATCH_VERSION = 1;

/** Sigma's levels, least to most severe (Sigma rules specification, "Level"). */
export { RULE_LEVELS, type RuleLevel } from '../../../schema/detection-contract';

import type { RuleLevel } from '../../../schema/detection-contract';

/** Where a rule comes from: what DRL 1.1 asks to be shown with every match (author is on {@link RuleRef}). */
export interface RuleSource {
  /** The rule set: `Trailsight` (built-in), `SigmaHQ`, or the name of the user's folder. */
  readonly pack: string;
  /** The rule's file, relative to its pack's folder. */
  readonly file: string;
  /** Where the rule set is published, when known. */
  readonly url?: string;
  /** SPDX-style licence of the rule, when known (`DRL-1.1` for SigmaHQ). */
  readonly license?: string;
}

/** The rule that matched, with the credit its licence asks for. */
export interface RuleRef {
  /** The rule's `id` (a UUID in Sigma rules). */
  readonly id: string;
  /** The rule's `name`, else its file name without extension: the handle used in configuration. */
  readonly name: string;
  readonly title: string;
  readonly level: RuleLevel;
  /** Sigma `status` (stable, test, experimental), when given. */
  readonly status?: string;
  /** The rule's `author` field, verbatim ("unknown" when the rule names none). */
  readonly author: string;
  readonly source: RuleSource;
  /** Every tag of the rule (`attack.persistence`, `attack.t1098`, `cis.4.3`, …). */
  readonly tags: readonly string[];
  /** MITRE ATT&CK technique ids from the `attack.tNNNN[.NNN]` tags, upper-cased (`T1098`, `T1562.008`). */
  readonly mitreTechniques: readonly string[];
  /** MITRE ATT&CK tactics from the other `attack.*` tags (`persistence`, `defense-evasion`). */
  readonly mitreTactics: readonly string[];
  readonly references: readonly string[];
  readonly falsePositives: readonly string[];
}

/** The CloudTrail event that matched (the first of its group). */
export interface MatchedEvent {
  readonly eventId?: string;
  /** ISO-8601 UTC, as CloudTrail writes it. */
  readonly eventTime: string;
  readonly eventSource: string;
  readonly eventName: string;
  readonly account: string;
  readonly region: string;
  /** The folded principal (role ARN for assumed roles), as in insights. */
  readonly principal: string;
  readonly principalKind: string;
  readonly sessionName?: string;
  readonly sourceIp?: string;
  readonly userAgent?: string;
  readonly errorCode?: string;
}

/** The group this event stands for: one event per rule + account + principal + aligned window. */
export interface MatchGroup {
  /** `ruleId|account|principal`: the same key for every window of the group. */
  readonly key: string;
  /** The aligned window (event time), ISO-8601: floor(event time / window length) × window length, and its end. */
  readonly windowStart: string;
  readonly windowEnd: string;
  /**
   * Matches of the group in the delivery file that raised this event (1 or more). Matches of the same window in
   * later files are added to the group's marker in the state table, not sent again.
   */
  readonly count: number;
}

/** One rule-match event (the EventBridge `detail`; one line of `trailsight rules test --format jsonl`). */
export interface RuleMatch {
  readonly version: typeof RULE_MATCH_VERSION;
  /**
   * Deterministic: hash(rule id, account, principal, window start), so the CLI, the ingest Lambda and a redelivery
   * name the same alert the same, and consumers can dedupe on it (`rules test` without --alerts: rule id + event id).
   */
  readonly id: string;
  readonly state: 'Start';
  readonly rule: RuleRef;
  readonly event: MatchedEvent;
  /**
   * The fields the rule's detection refers to, with their values in the matched event (objects as JSON text,
   * each value cut to 1,024 characters): what the analyst needs to see why it matched.
   */
  readonly fields: Readonly<Record<string, string>>;
  readonly group: MatchGroup;
  /** One sentence a human can act on, with the credit. */
  readonly explanation: string;
}
