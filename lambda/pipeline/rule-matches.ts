/**
 * The ingest's rule step: a file's rule groups (lambda/core/rules/grouping.ts) are recorded on their markers in
 * the state table, and the groups the file owns are put on the `trailsight` bus as `Trailsight Rule Match`
 * events (docs/rules.md, "Grouping"). Called by ingest.ts after the file was read whole and before its delta is
 * stored, so a file whose delta is recorded had its rules done, and a failure here retries the whole file.
 */
// Modules, not the index: the backfill and the evaluator bundle this file too, and need no rule compiler.
import type { RuleEngine } from '../core/rules/engine';
import { type FileGroup, type LedgerOutcome, toRuleMatch } from '../core/rules/grouping';
import { PipelineError } from './errors';
import type { InsightSink } from './ports';

/** The group markers (DynamoDbRuleGroups; GroupLedger has the same semantics in memory). */
export interface RuleGroupStore {
  /**
   * Adds `file`'s count to the group's marker unless the file was recorded for it before; the first file
   * recorded owns the group. 'alert' when `file` owns it and its event is not marked sent.
   * @param expiresAt epoch seconds: the marker lives as long as the file's delta (the dedupe window)
   */
  record(group: FileGroup, file: string, expiresAt: number): Promise<LedgerOutcome>;
  /** The owner's event was accepted by the bus. */
  markSent(groupId: string): Promise<void>;
}

export interface RuleMatchPorts {
  /** The compiled rules and the configuration, built once at cold start; each file reads with a fork. */
  readonly engine: RuleEngine;
  readonly groups: RuleGroupStore;
  /** The `trailsight` bus, with detail-type `Trailsight Rule Match`. */
  readonly sink: InsightSink;
}

export interface RuleMatchOutcome {
  /** Rule matches in the file, allow-listed ones included. */
  readonly hits: number;
  /** Matches dropped by an allow-list entry. */
  readonly suppressed: number;
  /** Rule-match events put on the bus. */
  readonly sent: number;
}

/**
 * Records the groups of a file read by `engine` (a fork of the ports' engine) and publishes the events the file
 * owns. Throws PipelineError('publish-failed') when the bus refused one for good: the record is retried, and the
 * owner, whose marker is not yet marked sent, publishes it again with the same id.
 */
export async function recordRuleMatches(
  file: string,
  engine: RuleEngine,
  ports: RuleMatchPorts,
  expiresAt: number,
): Promise<RuleMatchOutcome> {
  const groups = engine.takeGroups();
  const owned: FileGroup[] = [];
  for (const group of groups) {
    if ((await ports.groups.record(group, file, expiresAt)) === 'alert') owned.push(group);
  }
  const { hits, suppressed } = engine.stats;
  if (owned.length === 0) return { hits, suppressed, sent: 0 };
  const matches = owned.map(toRuleMatch);
  const result = await ports.sink.publish(matches);
  const refused = new Set(result.failed.map((f) => (f.detail as { id: string }).id));
  for (const match of matches) if (!refused.has(match.id)) await ports.groups.markSent(match.id);
  if (refused.size > 0) {
    const first = result.failed[0];
    throw new PipelineError(
      'publish-failed',
      `${refused.size} of ${matches.length} rule-match events of ${file} were refused by the bus (${first.errorCode}: ${first.errorMessage}); the file is retried`,
    );
  }
  return { hits, suppressed, sent: matches.length };
}
