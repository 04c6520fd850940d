/**
 * Digest verifier, invoked by an EventBridge rule on the archive's "Object Created" events for digest files: verifies
 * the new digest (signature, link to the previous one, every log file it lists) and publishes the result.
 *
 * Invoked asynchronously: a failure (the archive or CloudTrail unreachable, the event not published) is retried by
 * Lambda, then sent to the on-failure destination. A run that finds tampering succeeds: the finding is the result.
 */
import { parse } from '@aws-lambda-powertools/parser';
import type { Context } from 'aws-lambda';
import { z } from 'zod';
import type { IntegrityEventDetail } from '../integrity/event';
import { verifyDigestDelivery } from '../integrity/verify-archive';
import { buildIntegrityPorts, type IntegrityPorts, readIntegrityEnvironment } from './integrity-environment';
import { reportIntegrity } from './integrity-report';
import { logger } from './powertools';

/** The fields of the S3 "Object Created" event this function uses. */
export const digestCreatedSchema = z.object({
  source: z.literal('aws.s3'),
  'detail-type': z.literal('Object Created'),
  detail: z.object({
    bucket: z.object({ name: z.string().min(1) }),
    object: z.object({ key: z.string().min(1) }),
  }),
});

export function createDigestHandler(portsFactory: () => IntegrityPorts) {
  let ports: IntegrityPorts | undefined;
  return async (event: unknown, context: Context): Promise<IntegrityEventDetail> => {
    logger.addContext(context);
    ports ??= portsFactory();
    const { detail } = parse(event, undefined, digestCreatedSchema);
    if (detail.bucket.name !== ports.settings.archiveBucket) {
      throw new Error(
        `event for bucket ${detail.bucket.name}, but this verifier reads ${ports.settings.archiveBucket}`,
      );
    }
    // S3 event keys are URL-encoded in notifications to SQS/SNS, not in EventBridge events: used as they are.
    const digest = detail.object.key;
    const report = await verifyDigestDelivery(ports.reader, ports.keys, digest);
    return reportIntegrity(report, { trigger: 'digest-delivered', digest }, ports);
  };
}

/** The Lambda entry point. */
export const handler = createDigestHandler(() => buildIntegrityPorts(readIntegrityEnvironment()));
