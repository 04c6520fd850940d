/**
 * Contracts of the evidence features (issue #10) shared by the CDK stacks (lib/) and the Lambda handlers (lambda/):
 * environment variable names, the event bus, and the integrity events. One definition, imported by both sides.
 *
 * Pure data: this module may be imported from every room (lib/, lambda/, cli/, test/).
 */

/** Name of the event bus Trailsight publishes to (insights and integrity results). */
export const TRAILSIGHT_BUS_NAME = 'trailsight';

/** `source` of every event Trailsight publishes. */
export const TRAILSIGHT_EVENT_SOURCE = 'trailsight';

/** `detail-type` of the digest-chain verification results. */
export const INTEGRITY_DETAIL_TYPE = 'Trailsight Integrity';

/** Environment variable naming the bucket the detection pipeline writes insights to (outside the locked archive). */
export const INSIGHT_BUCKET_ENV = 'INSIGHT_BUCKET_NAME';

/** Environment variables of the integrity verifier functions. */
export const INTEGRITY_ENV = {
  /** The archive bucket holding the digest and log files. */
  archiveBucket: 'ARCHIVE_BUCKET_NAME',
  /** The key prefix the sweep verifies under: `AWSLogs/`, or an existing archive's `[<prefix>/]AWSLogs/[<o-id>/]`. */
  archivePrefix: 'ARCHIVE_PREFIX',
  /** The event bus the results go to. */
  eventBus: 'EVENT_BUS_NAME',
  /** Hours of delivery a sweep re-checks. */
  lookbackHours: 'LOOKBACK_HOURS',
  /** Minutes after which a chain's newest digest is overdue. */
  overdueMinutes: 'OVERDUE_MINUTES',
} as const;

/** Powertools metrics: namespace, service and the metric the high-severity alarm watches. */
export const INTEGRITY_METRICS = {
  namespace: 'Trailsight',
  service: 'trailsight-integrity',
  /** Findings of severity `error` (tampering, missing files or digests); the alarm fires on one. */
  errorFindings: 'IntegrityErrorFindings',
  digestsVerified: 'DigestsVerified',
  logFilesVerified: 'LogFilesVerified',
} as const;
