/**
 * Backfill function, invoked by an operator (docs/pipeline.md, "Backfill"):
 *
 *   { "action": "replay", "prefix": "AWSLogs/", "from": "2026-01-01T00:00:00Z", "to": "2026-03-01T00:00:00Z",
 *     "maxFiles": 20000, "startAfter": "<next of the previous call>" }
 *   { "action": "merge" }
 *
 * A replay slice stops a minute before the function's timeout (or after `maxFiles`) and returns `next`; call
 * again with `startAfter: next` until `next` is absent, then merge.
 */

import { parse } from '@aws-lambda-powertools/parser';
import { S3Client } from '@aws-sdk/client-s3';
import type { Context } from 'aws-lambda';
import { z } from 'zod';
import { S3KeyLister } from '../adapters/s3-key-lister';
import { mergeBackfill, type ReplayPorts, type ReplayProgress, replaySlice } from '../pipeline/backfill';
import { buildPorts, type PipelineEnvironment, readEnvironment } from './environment';
import { logger, tracer } from './powertools';

const isoTime = z.iso.datetime({ offset: true }).transform((t) => Date.parse(t));

export const backfillEventSchema = z.discriminatedUnion('action', [
  z.object({
    action: z.literal('replay'),
    /** @default - the archive's read prefix (ARCHIVE_PREFIX: `AWSLogs/`, or an existing archive's) */
    prefix: z.string().includes('AWSLogs/').optional(),
    from: isoTime.optional(),
    to: isoTime.optional(),
    startAfter: z.string().optional(),
    maxFiles: z.number().int().positive().max(1_000_000).default(20_000),
  }),
  z.object({ action: z.literal('merge') }),
]);

export type BackfillResult = ({ action: 'replay' } & ReplayProgress) | { action: 'merge'; merged: string[] };

/** Stop a replay slice when less than this is left. */
const SAFETY_MS = 60_000;

export function createBackfillHandler(portsFactory: () => { ports: ReplayPorts; settings: PipelineEnvironment }) {
  let built: { ports: ReplayPorts; settings: PipelineEnvironment } | undefined;
  return async (event: unknown, context: Context): Promise<BackfillResult> => {
    logger.addContext(context);
    built ??= portsFactory();
    const request = parse(event, undefined, backfillEventSchema);
    if (request.action === 'merge') {
      const merged = await mergeBackfill(built.ports);
      logger.info('backfill merged', { merged });
      return { action: 'merge', merged };
    }
    // The archive's read prefix is both the default and the bound: the function may read nothing else.
    const root = built.settings.archivePrefix ?? 'AWSLogs/';
    const prefix = request.prefix ?? root;
    if (!prefix.startsWith(root)) throw new Error(`prefix "${prefix}" is outside the archive's prefix "${root}"`);
    const progress = await replaySlice(
      { ...request, prefix, bucket: built.settings.archiveBucketName },
      built.ports,
      () => context.getRemainingTimeInMillis() < SAFETY_MS,
    );
    logger.info('backfill slice done', { ...progress, failed: progress.failed.slice(0, 20) });
    return { action: 'replay', ...progress };
  };
}

/** The Lambda entry point. */
export const handler = createBackfillHandler(() => {
  const settings = readEnvironment();
  const ports = buildPorts(settings);
  return { settings, ports: { ...ports, lister: new S3KeyLister(tracer.captureAWSv3Client(new S3Client({}))) } };
});
