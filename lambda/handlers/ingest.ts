/**
 * Ingest function: an SQS batch of "Object Created" events (EventBridge, from the archive bucket), one log
 * file each. Every record is recorded through {@link ingestObject} (read, reduce to a delta, store once); a
 * record that throws is reported back as a batch item failure (ReportBatchItemFailures) so only it is
 * retried, and after `maxReceiveCount` receives it moves to the dead-letter queue with its reason in the
 * logs. Records share no state (the evaluator applies the deltas in order), so they are processed in
 * parallel.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { parse } from '@aws-lambda-powertools/parser';
import { JSONStringified } from '@aws-lambda-powertools/parser/helpers';
import { SqsRecordSchema } from '@aws-lambda-powertools/parser/schemas/sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { z } from 'zod';
import { METRIC } from '../../schema/detection-contract';
import type { LoadedRules } from '../core/rules';
import { PipelineError } from '../pipeline/errors';
import { type IngestOutcome, type IngestPorts, ingestObject, type NotifiedObject } from '../pipeline/ingest';
import { readEnvironment } from './environment';
import { buildIngestPorts } from './ingest-rules';
import { logger, metrics, publishMetrics } from './powertools';

/**
 * The S3 "Object Created" event as EventBridge delivers it into the SQS body. Our own schema, looser than
 * Powertools' S3EventNotificationEventBridgeSchema, which requires an IPv4 `source-ip-address` and would
 * reject a file written over IPv6: only the fields the pipeline uses are checked.
 */
export const objectCreatedSchema = z.object({
  source: z.literal('aws.s3'),
  'detail-type': z.literal('Object Created'),
  time: z.string(),
  detail: z.object({
    bucket: z.object({ name: z.string().min(1) }),
    object: z.object({
      key: z.string().min(1),
      size: z.number().optional(),
      etag: z.string().optional(),
      'version-id': z.string().optional(),
      sequencer: z.string().optional(),
    }),
  }),
});

const recordSchema = SqsRecordSchema.extend({ body: JSONStringified(objectCreatedSchema) });

/** The object a record names and when it was created; PipelineError('bad-notification') otherwise. */
export function parseRecord(record: SQSRecord): { object: NotifiedObject; createdAt: number } {
  let parsed: z.infer<typeof recordSchema>;
  try {
    parsed = parse(record, undefined, recordSchema);
  } catch (error) {
    throw new PipelineError(
      'bad-notification',
      `message ${record.messageId} is not an S3 Object Created event: ${(error as Error).message.slice(0, 500)}`,
    );
  }
  const { bucket, object } = parsed.body.detail;
  return {
    object: {
      bucket: bucket.name,
      key: object.key,
      size: object.size,
      etag: object.etag,
      versionId: object['version-id'],
    },
    createdAt: Date.parse(parsed.body.time),
  };
}

function recordMetrics(outcome: IngestOutcome, createdAt: number, now: number): void {
  if (outcome.status === 'skipped') {
    metrics.addMetric(METRIC.filesSkipped, MetricUnit.Count, 1);
    const single = metrics.singleMetric();
    single.addDimension('reason', outcome.reason);
    single.addMetric(METRIC.filesSkippedByReason, MetricUnit.Count, 1);
    return;
  }
  metrics.addMetric(METRIC.filesProcessed, MetricUnit.Count, 1);
  metrics.addMetric(METRIC.eventsProcessed, MetricUnit.Count, outcome.events);
  metrics.addMetric(METRIC.deltaBytes, MetricUnit.Bytes, outcome.deltaChars);
  if (outcome.late) metrics.addMetric(METRIC.lateFiles, MetricUnit.Count, 1);
  if (Number.isFinite(createdAt)) {
    metrics.addMetric(METRIC.deliveryLagSeconds, MetricUnit.Seconds, Math.max(0, (now - createdAt) / 1000));
  }
  const skippedRecords = Object.values(outcome.report.skipped).reduce((a, b) => a + (b ?? 0), 0);
  if (skippedRecords > 0) metrics.addMetric(METRIC.recordsSkipped, MetricUnit.Count, skippedRecords);
  if (outcome.rules) {
    metrics.addMetric(METRIC.ruleHits, MetricUnit.Count, outcome.rules.hits);
    metrics.addMetric(METRIC.ruleMatchesSent, MetricUnit.Count, outcome.rules.sent);
  }
}

/** The load report of the rules at cold start: every rejected rule and note, by file. */
function logRuleIssues(loaded: LoadedRules): void {
  const rejected = loaded.issues.filter((i) => i.severity === 'rejected');
  logger.info('rules loaded', { rules: loaded.rules.length, files: loaded.files, rejected: rejected.length });
  for (const issue of loaded.issues) {
    if (issue.severity === 'rejected') logger.error('rule rejected', { ...issue });
    else logger.warn('rule loaded with a note', { ...issue });
  }
}

/** A record that failed, with the reason the handler logs for it (what an operator reads before a redrive). */
export interface IngestFailure {
  readonly key: string;
  readonly kind: string;
  readonly messageId: string;
  readonly error: Error;
}

/**
 * Builds the handler on the given ports (tests pass ports on local stand-ins; Lambda uses the environment).
 * `onFailure` sees every failed record with its reason (tests check that a dead-lettered file has one).
 */
export function createIngestHandler(
  portsFactory: () => IngestPorts,
  onFailure: (failure: IngestFailure) => void = () => undefined,
) {
  let ports: IngestPorts | undefined;
  const processor = new BatchProcessor(EventType.SQS);

  const recordHandler = async (record: SQSRecord): Promise<IngestOutcome> => {
    ports ??= portsFactory();
    let key = '(unparsed)';
    try {
      const { object, createdAt } = parseRecord(record);
      key = object.key;
      const outcome = await ingestObject(object, ports);
      recordMetrics(outcome, createdAt, Date.now());
      if (outcome.status === 'skipped') {
        logger.info('file skipped', { key, reason: outcome.reason, detail: outcome.detail });
      } else {
        logger.debug('file recorded', {
          key,
          partition: outcome.partition,
          events: outcome.events,
          late: outcome.late,
          skippedRecords: outcome.report.skipped,
          ...(outcome.rules ? { rules: outcome.rules } : {}),
        });
      }
      return outcome;
    } catch (error) {
      const kind = error instanceof PipelineError ? error.kind : 'unexpected';
      metrics.addMetric(METRIC.filesFailed, MetricUnit.Count, 1);
      // The reason an operator needs before redriving the dead-letter queue.
      logger.error('file failed; the record will be retried, then dead-lettered', {
        key,
        kind,
        messageId: record.messageId,
        receiveCount: record.attributes?.ApproximateReceiveCount,
        error: error as Error,
      });
      onFailure({ key, kind, messageId: record.messageId, error: error as Error });
      throw error;
    }
  };

  return async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
    logger.addContext(context);
    try {
      // A batch whose every file failed is reported like any other (not thrown): the files retry and reach
      // the DLQ (alarmed) on their own, and the function's Errors metric stays for crashes and timeouts.
      return await processPartialResponse(event, recordHandler, processor, {
        context,
        processInParallel: true,
        throwOnFullBatchFailure: false,
      });
    } finally {
      publishMetrics();
    }
  };
}

/** The Lambda entry point. */
export const handler = createIngestHandler(() => buildIngestPorts(readEnvironment(), undefined, logRuleIssues));
