/**
 * Evaluator function: consumes the evaluation queue (one message per scan segment, batch size 1) and
 * advances every partition of the segment that has something to do (pipeline/evaluate.ts). A partition that
 * fails does not stop the others: it is logged and counted (alarmed), and the next evaluation retries it.
 * A message whose segment could not even be scanned fails and is retried by SQS, then dead-lettered.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { parse } from '@aws-lambda-powertools/parser';
import { JSONStringified } from '@aws-lambda-powertools/parser/helpers';
import { SqsRecordSchema } from '@aws-lambda-powertools/parser/schemas/sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { z } from 'zod';
import { METRIC } from '../../schema/detection-contract';
import { type EvaluatePorts, evaluateSegment, type SegmentSummary } from '../pipeline/evaluate';
import { buildPorts, readEnvironment } from './environment';
import { logger, metrics, publishMetrics } from './powertools';

export const segmentMessageSchema = z.object({
  scheduled: z.number().int().nonnegative(),
  segment: z.number().int().nonnegative(),
  totalSegments: z.number().int().positive(),
});

const recordSchema = SqsRecordSchema.extend({ body: JSONStringified(segmentMessageSchema) });

function recordMetrics(summary: SegmentSummary): void {
  metrics.addMetric(METRIC.partitionsEvaluated, MetricUnit.Count, summary.partitions);
  metrics.addMetric(METRIC.partitionsAdvanced, MetricUnit.Count, summary.advanced);
  metrics.addMetric(METRIC.filesApplied, MetricUnit.Count, summary.files);
  metrics.addMetric(METRIC.compactions, MetricUnit.Count, summary.compactions);
  metrics.addMetric(METRIC.stateConflicts, MetricUnit.Count, summary.conflicts);
  metrics.addMetric(METRIC.partitionFailures, MetricUnit.Count, summary.failures.length);
  metrics.addMetric(
    METRIC.unrecordedFiles,
    MetricUnit.Count,
    summary.unrecorded.reduce((n, u) => n + u.files, 0),
  );
  metrics.addMetric(METRIC.insightsDeadLettered, MetricUnit.Count, summary.deadLettered);
  for (const insight of summary.insights) {
    const single = metrics.singleMetric();
    single.addDimension('detector', insight.trailsight.detector);
    single.addMetric(METRIC.insightsEmitted, MetricUnit.Count, 1);
  }
}

/** `onSegment` sees every segment's summary (tests read the partition failures from it). */
export function createEvaluateHandler(
  portsFactory: () => EvaluatePorts,
  onSegment: (summary: SegmentSummary) => void = () => undefined,
) {
  let ports: EvaluatePorts | undefined;
  const processor = new BatchProcessor(EventType.SQS);
  const recordHandler = async (record: SQSRecord): Promise<SegmentSummary> => {
    ports ??= portsFactory();
    const message = parse(record, undefined, recordSchema).body;
    const summary = await evaluateSegment(message, ports);
    recordMetrics(summary);
    onSegment(summary);
    if (summary.failures.length > 0) {
      logger.error('some partitions could not be evaluated; the next evaluation retries them', {
        segment: message.segment,
        failures: summary.failures.slice(0, 20),
      });
    }
    if (summary.unrecorded.length > 0) {
      logger.error('log files delivered during a silence were never recorded: check the dead-letter queue', {
        partitions: summary.unrecorded.slice(0, 20),
      });
    }
    logger.info('segment evaluated', {
      ...message,
      partitions: summary.partitions,
      advanced: summary.advanced,
      idle: summary.idle,
      files: summary.files,
      insights: summary.insights.length,
    });
    return summary;
  };
  return async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
    logger.addContext(context);
    try {
      return await processPartialResponse(event, recordHandler, processor, { context, throwOnFullBatchFailure: false });
    } finally {
      publishMetrics();
    }
  };
}

/** The Lambda entry point. */
export const handler = createEvaluateHandler(() => buildPorts(readEnvironment()));
