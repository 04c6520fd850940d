/**
 * The finding sources: one mapper per kind of event on the `trailsight` bus, keyed by its `detail-type`.
 * A second finding kind (e.g. the rule engine's `Trailsight Rule Match`) is one more entry here, with its
 * own schema and mapper to {@link Finding}; the formatters and the Security Hub path need no change.
 *
 * The schemas check what the mappers read, so a malformed or foreign event is rejected with a message that
 * names the field, never half-mapped.
 */
import { z } from 'zod';
import { DETECTOR_KINDS, type DetectorKind } from '../detect/config';
import type { InsightEvent } from '../detect/insight';
import type { Finding } from './finding';
import { findingFromInsight, INSIGHT_DETAIL_TYPE } from './insight';

/** An event that cannot become a finding: unknown detail-type or a detail of the wrong shape. */
export class FindingInputError extends Error {
  override readonly name = 'FindingInputError';
}

const isoTime = z.iso.datetime({ offset: true });
const count = z.number().finite().nonnegative();

/** The fields of an insight event (lambda/core/detect/insight.ts) the mapper reads. */
export const insightEventSchema = z.looseObject({
  eventTime: isoTime,
  awsRegion: z.string().min(1),
  eventID: z.string().min(1),
  recipientAccountId: z.string().min(1),
  sharedEventID: z.string().min(1),
  eventType: z.literal('AwsCloudTrailInsight'),
  insightDetails: z.looseObject({
    state: z.enum(['Start', 'End']),
    eventSource: z.string(),
    eventName: z.string(),
    insightType: z.enum(['ApiCallRateInsight', 'ApiErrorRateInsight']),
    errorCode: z.string().optional(),
    insightContext: z.looseObject({
      statistics: z.looseObject({
        baseline: z.looseObject({ average: count }),
        insight: z.looseObject({ average: count }),
        baselineDuration: count,
        insightDuration: count,
      }),
      attributions: z.array(z.unknown()),
    }),
  }),
  trailsight: z.looseObject({
    detector: z.enum(DETECTOR_KINDS as readonly [DetectorKind, ...DetectorKind[]]),
    detectedAt: isoTime,
    principal: z.string().min(1).optional(),
    eventNames: z.array(z.string()),
    errorCodes: z.array(z.string()),
    observed: count,
    expected: count,
    score: z.number().min(0).max(1),
    windowMinutes: count,
    expectedAt: isoTime.optional(),
    gapCause: z.enum(['job-stopped', 'delivery-stopped']).optional(),
    sourceIps: z.array(z.string()).optional(),
    explanation: z.string().min(1),
  }),
});

/** Reads an insight event, or throws {@link FindingInputError} naming what is wrong. */
export function parseInsightEvent(detail: unknown): InsightEvent {
  const parsed = insightEventSchema.safeParse(detail);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new FindingInputError(`not an insight event: ${issue?.path.join('.') || '(root)'}: ${issue?.message}`);
  }
  return parsed.data as unknown as InsightEvent;
}

/** Maps the `detail` of one bus event of its `detail-type` to a finding. */
export type FindingMapper = (detail: unknown) => Finding;

/** The mappers, by `detail-type`. */
export const FINDING_SOURCES: Readonly<Record<string, FindingMapper>> = {
  [INSIGHT_DETAIL_TYPE]: (detail) => findingFromInsight(parseInsightEvent(detail)),
};

/** The finding one bus event describes; {@link FindingInputError} for an unknown detail-type or a bad detail. */
export function findingFromEvent(detailType: string, detail: unknown): Finding {
  const mapper = FINDING_SOURCES[detailType];
  if (!mapper) {
    throw new FindingInputError(
      `no finding mapper for detail-type '${detailType}' (known: ${Object.keys(FINDING_SOURCES).join(', ')})`,
    );
  }
  return mapper(detail);
}
