/**
 * Findings function: an SQS batch of `trailsight` bus events (EventBridge puts each event, whole, in the message
 * body) → one finding version each (lambda/core/findings) → AWS Security Hub CSPM in ASFF with
 * `BatchImportFindings`.
 *
 * The batch is imported together (one request per 100 findings). A message whose finding Security Hub still
 * refuses after the adapter's retries, or whose event is not a finding source, is reported back as a batch
 * item failure: it is retried by SQS and, after `maxReceiveCount` receives, dead-lettered (alarmed), never
 * dropped. Counted as `FindingsImported`, `FindingsFailed`, `FindingEventsRejected` (schema/findings.ts).
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { SecurityHubClient } from '@aws-sdk/client-securityhub';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { z } from 'zod';
import { FINDINGS_METRICS, PRODUCT_ARN_ENV } from '../../schema/findings';
import { type FindingImporter, SecurityHubImporter } from '../adapters/securityhub-importer';
import { type AsffFinding, type AsffTarget, asffTarget, toAsff } from '../core/findings/asff';
import { findingFromEvent } from '../core/findings/sources';
import { logger, metrics, publishMetrics, tracer } from './powertools';

/** What the function needs: where findings go and how they get there. */
export interface FindingsPorts {
  readonly target: AsffTarget;
  readonly importer: FindingImporter;
}

/** The bus event as EventBridge writes it into the message body (only the fields used are checked). */
export const busEventSchema = z.object({
  source: z.string(),
  'detail-type': z.string().min(1),
  detail: z.unknown(),
});

/** Reads the product ARN from the environment the stack sets; fails the cold start naming the variable. */
export function readFindingsTarget(env: NodeJS.ProcessEnv = process.env): AsffTarget {
  const productArn = env[PRODUCT_ARN_ENV];
  if (!productArn) throw new Error(`environment variable ${PRODUCT_ARN_ENV} is not set; the FindingsStack sets it`);
  return asffTarget(productArn);
}

/** Builds the handler on the given ports (tests pass a stand-in endpoint; Lambda uses the environment). */
export function createFindingsHandler(portsFactory: () => FindingsPorts) {
  let ports: FindingsPorts | undefined;
  return async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
    logger.addContext(context);
    ports ??= portsFactory();
    const failures = new Set<string>();
    // Latest version per finding id: a Start and its End in one batch import as the End alone, and a
    // redelivered event imports once. Every message that fed a version shares its outcome.
    const latest = new Map<string, { finding: AsffFinding; messageIds: string[] }>();
    let rejected = 0;
    try {
      for (const record of event.Records) {
        let finding: AsffFinding;
        try {
          const bus = busEventSchema.parse(JSON.parse(record.body));
          finding = toAsff(findingFromEvent(bus['detail-type'], bus.detail), ports.target);
        } catch (error) {
          rejected++;
          failures.add(record.messageId);
          logger.error('event is not a finding; it will be retried, then dead-lettered', {
            messageId: record.messageId,
            error: error as Error,
          });
          continue;
        }
        const seen = latest.get(finding.Id);
        if (!seen) latest.set(finding.Id, { finding, messageIds: [record.messageId] });
        else {
          seen.messageIds.push(record.messageId);
          if (Date.parse(finding.UpdatedAt) > Date.parse(seen.finding.UpdatedAt)) seen.finding = finding;
        }
      }
      const result = await ports.importer.import([...latest.values()].map((v) => v.finding));
      for (const failure of result.failed) {
        const messageIds = latest.get(failure.finding.Id)?.messageIds ?? [];
        for (const id of messageIds) failures.add(id);
        logger.error('Security Hub refused a finding; its messages will be retried, then dead-lettered', {
          findingId: failure.finding.Id,
          errorCode: failure.errorCode,
          errorMessage: failure.errorMessage,
          messageIds,
        });
      }
      metrics.addMetric(FINDINGS_METRICS.imported, MetricUnit.Count, result.imported);
      metrics.addMetric(FINDINGS_METRICS.failed, MetricUnit.Count, result.failed.length);
      metrics.addMetric(FINDINGS_METRICS.rejected, MetricUnit.Count, rejected);
      logger.info('findings imported', {
        messages: event.Records.length,
        findings: latest.size,
        imported: result.imported,
        failed: result.failed.length,
        rejected,
        requests: result.requests,
      });
    } finally {
      publishMetrics();
    }
    return { batchItemFailures: [...failures].map((itemIdentifier) => ({ itemIdentifier })) };
  };
}

/** The Lambda entry point. */
export const handler = createFindingsHandler(() => ({
  target: readFindingsTarget(),
  importer: new SecurityHubImporter(tracer.captureAWSv3Client(new SecurityHubClient({}))),
}));
