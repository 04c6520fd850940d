/**
 * A compiled set of rules, indexed so that an event is tested only against the rules that can match it:
 * rules that require eventName values are filed under those names, rules that only require eventSource values
 * under those sources, and the rest are tested on every event. The candidate list of each (eventSource,
 * eventName) pair is built once and cached, so the per-event cost is two Map lookups plus the candidates' tests.
 */
import type { TrailEvent } from '../event';
import { type RawRecord, resolveField, valueText } from './fields';
import type { CompiledRule } from './sigma';

/** One rule matching one event, before suppression and grouping. */
export interface RuleHit {
  readonly rule: CompiledRule;
  readonly event: TrailEvent;
  /** The rule's fields with their values in the record (see {@link RuleMatch.fields}). */
  readonly fields: Readonly<Record<string, string>>;
}

/** Values shown with a match are cut to this many characters (an EventBridge entry holds at most 256 KB). */
export const MAX_FIELD_CHARS = 1024;

const NONE: readonly CompiledRule[] = [];
/** Distinct (source, name) pairs cached; beyond this the cache is dropped and rebuilt (hostile or odd data). */
const MAX_CACHED_PAIRS = 20_000;

export class RuleSet {
  readonly rules: readonly CompiledRule[];
  private readonly byName = new Map<string, CompiledRule[]>();
  private readonly bySource = new Map<string, CompiledRule[]>();
  private readonly always: CompiledRule[] = [];
  private cache = new Map<string, Map<string, readonly CompiledRule[]>>();
  private cached = 0;

  constructor(rules: readonly CompiledRule[]) {
    this.rules = rules;
    for (const rule of rules) {
      if (rule.eventNames) for (const n of rule.eventNames) push(this.byName, n, rule);
      else if (rule.eventSources) for (const s of rule.eventSources) push(this.bySource, s, rule);
      else this.always.push(rule);
    }
  }

  /** The rules tested on every event (no eventName or eventSource requirement): the index's residue. */
  get unindexed(): readonly CompiledRule[] {
    return this.always;
  }

  /** The rules that can match an event with this eventSource and eventName, in load order. */
  candidates(source: string, name: string): readonly CompiledRule[] {
    let names = this.cache.get(source);
    let list = names?.get(name);
    if (list !== undefined) return list;
    if (this.cached >= MAX_CACHED_PAIRS) {
      this.cache.clear();
      this.cached = 0;
      names = undefined;
    }
    if (!names) {
      names = new Map();
      this.cache.set(source, names);
    }
    const found = new Set([
      ...(this.byName.get(name.toLowerCase()) ?? NONE),
      ...(this.bySource.get(source.toLowerCase()) ?? NONE),
      ...this.always,
    ]);
    list = found.size === 0 ? NONE : this.rules.filter((r) => found.has(r));
    names.set(name, list);
    this.cached++;
    return list;
  }

  /** Tests one event; `record` is the parsed CloudTrail record it was normalized from. */
  match(event: TrailEvent, record: RawRecord, onHit: (hit: RuleHit) => void): void {
    const candidates = this.candidates(event.source, event.name);
    for (let i = 0; i < candidates.length; i++) {
      const rule = candidates[i];
      if (rule.test(record)) onHit({ rule, event, fields: matchedFields(rule, record) });
    }
  }
}

function push(map: Map<string, CompiledRule[]>, key: string, rule: CompiledRule): void {
  const list = map.get(key);
  if (list) list.push(rule);
  else map.set(key, [rule]);
}

function matchedFields(rule: CompiledRule, record: RawRecord): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < rule.paths.length; i++) {
    const value = resolveField(record, rule.paths[i]);
    if (value === undefined) continue;
    const text = valueText(value);
    out[rule.fields[i]] = text.length > MAX_FIELD_CHARS ? `${text.slice(0, MAX_FIELD_CHARS - 1)}…` : text;
  }
  return out;
}
