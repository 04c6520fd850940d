import { INSIGHT_BUCKET_ENV, TRAILSIGHT_BUS_NAME, TRAILSIGHT_EVENT_SOURCE } from './evidence-contract';

/**
 * The contract between the detection stack (lib/) and its functions (lambda/handlers/), defined once and
 * imported by both sides: environment variable names, metric names, the event bus and its event shape.
 * A test checks that every variable the stack sets is one the functions read, and the other way round.
 */

/** Environment variables of the detection functions. */
export const ENV = {
  /** Table of partition heads (one item per account + Region). */
  headsTable: 'HEADS_TABLE_NAME',
  /** Table of per-file deltas, the late index and state pages. */
  dataTable: 'DATA_TABLE_NAME',
  /** The insight bus's name. */
  eventBus: 'EVENT_BUS_NAME',
  /** "true": every insight also goes to the account's default bus. */
  publishToDefaultBus: 'PUBLISH_TO_DEFAULT_BUS',
  /** The archive bucket (log files are read from it; the delivery check lists it). */
  archiveBucket: 'ARCHIVE_BUCKET_NAME',
  /** The key prefix the functions may read under: `AWSLogs/`, or an existing archive's (the backfill's default). */
  archivePrefix: 'ARCHIVE_PREFIX',
  /** Bucket and key prefix insights are written to, for Athena. */
  insightBucket: INSIGHT_BUCKET_ENV,
  insightPrefix: 'INSIGHT_PREFIX',
  /** Days a file's delta is kept (the dedupe window). */
  dedupeRetentionDays: 'DEDUPE_RETENTION_DAYS',
  /** The engine configuration, JSON (detection.detector, with tickMinutes from scheduleMinutes). */
  detectorConfig: 'DETECTOR_CONFIG',
  /** Queue of evaluation segments (the coordinator sends to it). */
  evaluationQueueUrl: 'EVALUATION_QUEUE_URL',
  /** Queue of insights the bus refused for good. */
  insightDeadLetterQueueUrl: 'INSIGHT_DEAD_LETTER_QUEUE_URL',
  /**
   * The ingest's rule configuration, JSON (detection.rules without `enabled` and `alertLevel`, folders rewritten
   * to their place in the bundle); unset when the rules are off.
   */
  rulesConfig: 'RULES_CONFIG',
} as const;

/** Powertools metrics namespace of every Trailsight function (the dashboard and alarms read it). */
export const METRICS_NAMESPACE = 'Trailsight';

/** Metric names the functions emit and the dashboard and alarms read. */
export const METRIC = {
  filesProcessed: 'FilesProcessed',
  filesSkipped: 'FilesSkipped',
  filesSkippedByReason: 'FilesSkippedByReason',
  filesFailed: 'FilesFailed',
  lateFiles: 'LateFiles',
  eventsProcessed: 'EventsProcessed',
  recordsSkipped: 'RecordsSkipped',
  deltaBytes: 'DeltaBytes',
  deliveryLagSeconds: 'DeliveryLagSeconds',
  segmentsPlanned: 'SegmentsPlanned',
  partitionsEvaluated: 'PartitionsEvaluated',
  partitionsAdvanced: 'PartitionsAdvanced',
  partitionFailures: 'PartitionFailures',
  filesApplied: 'FilesApplied',
  compactions: 'Compactions',
  stateConflicts: 'StateConflicts',
  unrecordedFiles: 'UnrecordedFiles',
  insightsEmitted: 'InsightsEmitted',
  insightsDeadLettered: 'InsightsDeadLettered',
  /** Rule matches in the files read (allow-listed ones included). */
  ruleHits: 'RuleHits',
  /** Rule-match events put on the bus (one per rule + account + principal + window). */
  ruleMatchesSent: 'RuleMatchesSent',
} as const;

/** The bus insights are published to, and the event that carries each one. */
export const INSIGHT_BUS_NAME = TRAILSIGHT_BUS_NAME;
export const INSIGHT_SOURCE = TRAILSIGHT_EVENT_SOURCE;
export const INSIGHT_DETAIL_TYPE = 'Trailsight Insight';

/**
 * The event that carries a rule match (lambda/core/rules/contract.ts `RuleMatch`): the ingest puts it on the
 * bus, the stack's alert rule routes it by `detail.rule.level`, the CLI prints it, docs/rules.md shows it.
 */
export const RULE_MATCH_SOURCE = TRAILSIGHT_EVENT_SOURCE;
export const RULE_MATCH_DETAIL_TYPE = 'Trailsight Rule Match';

/** Sigma's levels, least to most severe: a rule's `level`, and the routing of rule matches by level. */
export const RULE_LEVELS = ['informational', 'low', 'medium', 'high', 'critical'] as const;
export type RuleLevel = (typeof RULE_LEVELS)[number];
