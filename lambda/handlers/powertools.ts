/**
 * Powertools singletons shared by the handlers (created once per execution environment, outside the
 * handler, as the Powertools docs require). Service name and namespace come from the function's
 * environment (POWERTOOLS_SERVICE_NAME, POWERTOOLS_METRICS_NAMESPACE), set by the CDK construct.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';

export const logger = new Logger();
export const metrics = new Metrics();
export const tracer = new Tracer();

/**
 * Flushes the invocation's metrics, and clears them for the next invocation as `publishStoredMetrics` does. An
 * invocation that recorded none (an evaluation with no partition due) publishes nothing: `publishStoredMetrics`
 * would log a warning about it every time.
 */
export function publishMetrics(): void {
  if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
  else {
    metrics.clearDimensions();
    metrics.clearMetadata();
  }
}
