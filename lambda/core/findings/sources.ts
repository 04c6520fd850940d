/**
 * The finding sources: one mapper per kind of event on the `trailsight` bus, keyed by its `detail-type`
 * (insights, rule matches). A new finding kind is one more entry here, with its own schema and mapper to
 * {@link Finding}; the formatters and the Security Hub path need no change.
 *
 * The schemas check what the mappers read, so a malformed or foreign event is rejected with a message that
 * names the field, never half-mapped.
 */
import { z } from 'zod';
import { DETECTOR_KINDS, type DetectorKind } from '../detect/config';
import { GAP_CAUSES, type InsightEvent } from '../detect/insight';
import { RULE_LEVELS, RULE_MATCH_DETAIL_TYPE, RULE_MATCH_VERSION, type RuleMatch } from '../rules/contract';
import type { Finding } from './finding';
import { findingFromInsight, INSIGHT_DETAIL_TYPE } from './insight';
import { findingFromRuleMatch } from './rule-match';

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
    gapCause: z.enum(GAP_CAUSES).optional(),
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

const RULE_LEVELS_ENUM = z.enum(RULE_LEVELS);

/** The fields of a rule-match event (lambda/core/rules/contract.ts) the mapper reads. */
export const ruleMatchEventSchema = z.looseObject({
  version: z.literal(RULE_MATCH_VERSION),
  id: z.string().min(1),
  state: z.literal('Start'),
  rule: z.looseObject({
    id: z.string().min(1),
    name: z.string().min(1),
    title: z.string().min(1),
    level: RULE_LEVELS_ENUM,
    author: z.string(),
    source: z.looseObject({
      pack: z.string().min(1),
      file: z.string(),
      url: z.string().optional(),
      license: z.string().optional(),
    }),
    tags: z.array(z.string()),
    mitreTechniques: z.array(z.string()),
    mitreTactics: z.array(z.string()),
    falsePositives: z.array(z.string()),
  }),
  event: z.looseObject({
    eventId: z.string().optional(),
    eventTime: isoTime,
    eventSource: z.string().min(1),
    eventName: z.string().min(1),
    account: z.string().min(1),
    region: z.string().min(1),
    principal: z.string().min(1),
    errorCode: z.string().optional(),
  }),
  fields: z.record(z.string(), z.string()),
  group: z.looseObject({ windowStart: isoTime, windowEnd: isoTime, count: count }),
  explanation: z.string().min(1),
});

/** Reads a rule-match event, or throws {@link FindingInputError} naming what is wrong. */
export function parseRuleMatchEvent(detail: unknown): RuleMatch {
  const parsed = ruleMatchEventSchema.safeParse(detail);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new FindingInputError(`not a rule-match event: ${issue?.path.join('.') || '(root)'}: ${issue?.message}`);
  }
  return parsed.data as unknown as RuleMatch;
}

/** Maps the `detail` of one bus event of its `detail-type` to a finding. */
export type FindingMapper = (detail: unknown) => Finding;

/** The mappers, by `detail-type`. */
export const FINDING_SOURCES: Readonly<Record<string, FindingMapper>> = {
  [INSIGHT_DETAIL_TYPE]: (detail) => findingFromInsight(parseInsightEvent(detail)),
  [RULE_MATCH_DETAIL_TYPE]: (detail) => findingFromRuleMatch(parseRuleMatchEvent(detail)),
};

/**
 * The detail-type of one line of `trailsight detect --format jsonl`, which holds insights and rule matches
 * without their bus envelope: a rule match is the object with a `rule`, anything else is read as an insight
 * (whose errors then name what an insight lacks).
 */
export function detectLineDetailType(detail: unknown): string {
  return typeof detail === 'object' && detail !== null && 'rule' in detail && !('insightDetails' in detail)
    ? RULE_MATCH_DETAIL_TYPE
    : INSIGHT_DETAIL_TYPE;
}

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
