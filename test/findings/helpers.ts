/** Shared fixtures of the findings tests: real insight events and the vendored schemas. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import type { InsightEvent } from '../../lambda/core/detect';

export const FIXTURES = path.join(__dirname, 'fixtures');
export const INSIGHTS_JSONL = path.join(FIXTURES, 'insights.jsonl');

/** The 14 fixture insights (Start and End of one episode per detector), in emission order. */
export function fixtureInsights(): InsightEvent[] {
  return readFileSync(INSIGHTS_JSONL, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as InsightEvent);
}

/** An insight of `detector` in `state` from the fixtures. */
export function fixtureInsight(detector: string, state: 'Start' | 'End' = 'Start'): InsightEvent {
  const hit = fixtureInsights().find((i) => i.trailsight.detector === detector && i.insightDetails.state === state);
  if (!hit) throw new Error(`no ${detector} ${state} in the fixtures`);
  return hit;
}

/** Validates a record against the vendored OCSF 1.6.0 Detection Finding schema (test/findings/ocsf/SOURCE.md). */
export function ocsfValidator(): (record: unknown) => string[] {
  const schema = JSON.parse(readFileSync(path.join(__dirname, 'ocsf', 'detection_finding-1.6.0.schema.json'), 'utf8'));
  const validate = new Ajv2020({ allErrors: true, strict: false }).compile(schema);
  return (record) =>
    validate(record) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}`);
}

export const PRODUCT_ARN = 'arn:aws:securityhub:us-east-1:999988887777:product/999988887777/default';
