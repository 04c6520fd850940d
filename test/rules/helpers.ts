/** Builders for the rule tests: a Sigma rule from its detection block, and a normalized event from a record. */

import type { TrailEvent } from '../../lambda/core/event';
import { isSkip, normalizeRecord } from '../../lambda/core/normalize';
import { type CompileResult, compileSigmaRule, type RulePack } from '../../lambda/core/rules/sigma';

export const TEST_PACK: RulePack = { name: 'test' };

/** A whole rule file around a detection block (YAML, indented by 4 like SigmaHQ's). */
export function ruleYaml(detection: string, extra = ''): string {
  const indented = detection
    .trim()
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
  return `title: Test rule
id: 00000000-0000-4000-8000-000000000001
author: Tester
level: high
logsource:
    product: aws
    service: cloudtrail
detection:
${indented}
${extra}`;
}

export function compile(detection: string, placeholders: Record<string, string[]> = {}): CompileResult {
  return compileSigmaRule({ text: ruleYaml(detection), file: 'test.yml', pack: TEST_PACK }, { placeholders });
}

/** Compiles and returns the rule's predicate; fails the test with the load report if the rule was rejected. */
export function predicate(detection: string, placeholders: Record<string, string[]> = {}) {
  const result = compile(detection, placeholders);
  if (!result.rule) throw new Error(`rejected: ${JSON.stringify(result.issues)}`);
  return result.rule.test;
}

export function toEvent(record: Record<string, unknown>): TrailEvent {
  const event = normalizeRecord(record);
  if (isSkip(event)) throw new Error(`not an event: ${event.message}`);
  return event;
}
