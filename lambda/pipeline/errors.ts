/**
 * Failures of the pipeline that must fail the SQS record (retry with backoff, then the dead-letter queue)
 * and be logged with a reason an operator can act on. Skips are not errors: they are outcomes.
 */

export type PipelineErrorKind =
  /** The object is not readable CloudTrail (corrupt gzip, not JSON, no Records): retries will not help; DLQ. */
  | 'corrupt-file'
  /** The byte stream failed mid-read: usually transient. */
  | 'read-failed'
  /** S3 or KMS refused the read: a grant is missing (fix the policy, then redrive the DLQ). */
  | 'access-denied'
  /** The object is larger than the configured limit. */
  | 'too-large'
  /** Some insights were not accepted by EventBridge after every retry; they stay in the outbox. */
  | 'publish-failed'
  /** Other writers kept winning the conditional write to the same partition. */
  | 'state-conflict'
  /** The partition's compressed state no longer fits a DynamoDB item. */
  | 'state-too-large'
  /** The SQS message is not an S3 Object Created event. */
  | 'bad-notification';

export class PipelineError extends Error {
  constructor(
    readonly kind: PipelineErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${kind}: ${message}`, options);
    this.name = 'PipelineError';
  }
}
