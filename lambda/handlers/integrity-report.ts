/**
 * What both integrity handlers do with a report: metrics (the error-findings alarm watches one), a log line per
 * finding, and the `Trailsight Integrity` event. An event that cannot be published fails the invocation, so it is
 * retried and, in the end, dead-lettered rather than lost.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { INTEGRITY_METRICS } from '../../schema/evidence-contract';
import type { IntegrityReport } from '../core/digest';
import { type IntegrityEventDetail, integrityEventDetail } from '../integrity/event';
import type { IntegrityPorts } from './integrity-environment';
import { logger, metrics, publishMetrics } from './powertools';

export async function reportIntegrity(
  report: IntegrityReport,
  context: Pick<IntegrityEventDetail, 'trigger' | 'digest' | 'window'>,
  ports: IntegrityPorts,
): Promise<IntegrityEventDetail> {
  const detail = integrityEventDetail(report, { ...context, bucket: ports.settings.archiveBucket });
  try {
    metrics.addMetric(INTEGRITY_METRICS.errorFindings, MetricUnit.Count, report.counts.errors);
    metrics.addMetric(INTEGRITY_METRICS.digestsVerified, MetricUnit.Count, report.counts.digestsVerified);
    metrics.addMetric(INTEGRITY_METRICS.logFilesVerified, MetricUnit.Count, report.counts.logFilesVerified);
  } finally {
    publishMetrics();
  }
  for (const finding of report.findings) logger.warn('integrity finding', { ...finding });
  const published = await ports.publisher.publish([detail]);
  if (published.failed.length > 0) {
    const [failure] = published.failed;
    throw new Error(`the Trailsight Integrity event was not published: ${failure.errorCode} ${failure.errorMessage}`);
  }
  logger.info('integrity verified', { ...context, status: report.status, counts: report.counts });
  return detail;
}
