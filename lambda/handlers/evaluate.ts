/**
 * Evaluator function, invoked by EventBridge Scheduler every few minutes with `{ "time": <scheduled time> }`.
 * The scheduled time (not the invocation time) is the evaluation instant, so a retried run evaluates the
 * same moment. A partition that fails does not stop the sweep; the run then fails as a whole (error alarm;
 * Scheduler retries, then its dead-letter queue) and the next run covers it anyway.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { parse } from '@aws-lambda-powertools/parser';
import type { Context } from 'aws-lambda';
import { z } from 'zod';
import { type EvaluatePorts, type EvaluationSummary, evaluatePartitions } from '../pipeline/evaluate';
import { buildPorts, readEnvironment } from './environment';
import { logger, metrics } from './powertools';

export const scheduledEventSchema = z.object({
  time: z.iso.datetime({ offset: true }),
});

export type EvaluatorResult = Omit<EvaluationSummary, 'insights'> & { insights: number };

export function createEvaluateHandler(portsFactory: () => EvaluatePorts) {
  let ports: EvaluatePorts | undefined;
  return async (event: unknown, context: Context): Promise<EvaluatorResult> => {
    logger.addContext(context);
    ports ??= portsFactory();
    const { time } = parse(event, undefined, scheduledEventSchema);
    const summary = await evaluatePartitions(Date.parse(time), ports);
    try {
      metrics.addMetric('PartitionsEvaluated', MetricUnit.Count, summary.partitions);
      metrics.addMetric('InsightsRedelivered', MetricUnit.Count, summary.redelivered);
      for (const insight of summary.insights) {
        const single = metrics.singleMetric();
        single.addDimension('detector', insight.trailsight.detector);
        single.addMetric('InsightsEmitted', MetricUnit.Count, 1);
      }
    } finally {
      metrics.publishStoredMetrics();
    }
    const result = { ...summary, insights: summary.insights.length };
    if (summary.failures.length > 0) {
      logger.error('some partitions could not be evaluated', { failures: summary.failures });
      throw new Error(
        `${summary.failures.length} of ${summary.partitions} partitions failed: ${summary.failures
          .slice(0, 3)
          .map((f) => `${f.partition}: ${f.error}`)
          .join('; ')}`,
      );
    }
    logger.info('evaluation done', { ...result, time });
    return result;
  };
}

/** The Lambda entry point. */
export const handler = createEvaluateHandler(() => buildPorts(readEnvironment()));
