/** Builders for the rule tests: a Sigma rule from its detection block, and a normalized event from a record. */
import { join, resolve } from 'node:path';
import { listLocalFiles, openLocalRecords } from '../../lambda/adapters/local-files';
import type { TrailEvent } from '../../lambda/core/event';
import { isSkip, normalizeRecord } from '../../lambda/core/normalize';
import { createReadReport, readTrailEvents } from '../../lambda/core/reader';
import { type RuleHit, RuleSet } from '../../lambda/core/rules/ruleset';
import { type CompiledRule, type CompileResult, compileSigmaRule, type RulePack } from '../../lambda/core/rules/sigma';

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

export const DATA = resolve(__dirname, '../../../shared/data');
export const SIGMAHQ_DIR = join(DATA, 'sigmahq-cloudtrail-rules/rules');

/** Every hit of `rules` on the files under `paths`, read as the CLI reads them (reader + onEvent). */
export async function hitsOn(paths: readonly string[], rules: readonly CompiledRule[]): Promise<RuleHit[]> {
  const set = new RuleSet(rules);
  const hits: RuleHit[] = [];
  for (const f of await listLocalFiles(paths)) {
    if (f.format === 'other' || f.info.kind === 'digest') continue;
    const report = createReadReport(f.path);
    for await (const _ of readTrailEvents(openLocalRecords(f), {
      file: f.path,
      report,
      fallbackAccount: f.info.account,
      onEvent: (event, record) => set.match(event, record, (h) => hits.push(h)),
    })) {
      // tested in onEvent
    }
  }
  return hits;
}
