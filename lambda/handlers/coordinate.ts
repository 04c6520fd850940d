/**
 * Coordinator function, invoked by EventBridge Scheduler every `scheduleMinutes` with
 * `{ "time": <scheduled time> }`: splits the partitions into scan segments and queues one evaluation message
 * per segment (pipeline/evaluate.ts). The scheduled time (not the invocation time) is the evaluation instant,
 * so a retried run evaluates the same moment.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { parse } from '@aws-lambda-powertools/parser';
import type { Context } from 'aws-lambda';
import { z } from 'zod';
import { METRIC } from '../../schema/detection-contract';
import { planSegments } from '../pipeline/evaluate';
import type { PartitionStore, SegmentQueue } from '../pipeline/ports';
import { buildPorts, readEnvironment } from './environment';
import { logger, metrics, publishMetrics } from './powertools';

export const scheduledEventSchema = z.object({ time: z.iso.datetime({ offset: true }) });

export function createCoordinateHandler(portsFactory: () => { store: PartitionStore; segments?: SegmentQueue }) {
  let ports: { store: PartitionStore; segments?: SegmentQueue } | undefined;
  return async (event: unknown, context: Context): Promise<{ segments: number; partitions: number }> => {
    logger.addContext(context);
    ports ??= portsFactory();
    if (!ports.segments) throw new Error('the evaluation queue is not configured (EVALUATION_QUEUE_URL)');
    const { time } = parse(event, undefined, scheduledEventSchema);
    const count = await ports.store.countHeads();
    const messages = planSegments(Date.parse(time), count);
    const partitions = count.items;
    await ports.segments.send(messages);
    try {
      metrics.addMetric(METRIC.segmentsPlanned, MetricUnit.Count, messages.length);
    } finally {
      publishMetrics();
    }
    logger.info('evaluation planned', { time, partitions, segments: messages.length });
    return { segments: messages.length, partitions };
  };
}

/** The Lambda entry point. */
export const handler = createCoordinateHandler(() => buildPorts(readEnvironment()));
