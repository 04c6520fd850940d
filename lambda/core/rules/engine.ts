/**
 * The rule engine as the CLI and the ingest Lambda run it: select the rules the configuration turns on, test
 * every event as the reader produces it (the reader's `onEvent` hands over the parsed record, which is where
 * Sigma's field paths point), drop allow-listed matches, and group the rest per file (grouping.ts).
 *
 *     const engine = new RuleEngine(loaded.rules, config);
 *     for await (const batch of readTrailEventBatches(source, { file, onEvent: engine.observe })) { … }
 *     const groups = engine.takeGroups();      // the file's groups: the ingest records them in DynamoDB,
 *     const matches = engine.flush(file);      // or, in memory (the CLI), the RuleMatch[] to send
 *
 * Pure: no I/O, no clock. Matches are grouped by event time.
 */
import { wildcardMatcher } from '../detect/config';
import type { TrailEvent } from '../event';
import type { AllowEntry, RulesConfig } from './config';
import { RULE_LEVELS, type RuleMatch } from './contract';
import type { RawRecord } from './fields';
import { type FileGroup, GroupLedger, groupFileHits, hitToRuleMatch, toRuleMatch } from './grouping';
import { type RuleHit, RuleSet } from './ruleset';
import type { CompiledRule } from './sigma';

/**
 * A file's groups as they cross threads: the first hit names its rule by position in the engine's rule set (a
 * compiled rule holds functions, which cannot be sent). See {@link RuleEngine.portable}.
 */
export type PortableGroup = Omit<FileGroup, 'first'> & {
  readonly first: Omit<RuleHit, 'rule'> & { readonly rule: number };
};

/** What an engine that tested events for another counted: its events tested, hits and allow-listed hits. */
export type ObservedCounts = Pick<RuleEngineStats, 'events' | 'hits' | 'suppressed'>;

/** Adds `counts` into `into` (the counts of engines that tested events for another, summed). */
export function addObservedCounts(into: ObservedCounts, counts: ObservedCounts): void {
  into.events += counts.events;
  into.hits += counts.hits;
  into.suppressed += counts.suppressed;
}

/** Counts since the engine was created. */
export interface RuleEngineStats {
  /** Events tested. */
  events: number;
  /** Rule matches, suppressed ones included. */
  hits: number;
  /** Matches dropped by an allow-list entry. */
  suppressed: number;
  /** Matches counted on a group whose event another file (or an earlier match of the file) raised. */
  grouped: number;
  /** Rule-match events produced. */
  matches: number;
}

/** Why a loaded rule does or does not run under a configuration. */
export type RuleStatus =
  | { readonly state: 'active' }
  | { readonly state: 'disabled' }
  | { readonly state: 'below-min-level' }
  /** An active rule makes it obsolete (Sigma `related: obsolete`); naming it in `enable` runs it anyway. */
  | { readonly state: 'superseded'; readonly by: string };

/**
 * Decides which rules run: at or above `minLevel` or named in `enable`, not named in `disable`, and not made
 * obsolete by a rule that runs (unless named in `enable`).
 */
export function planRules(
  rules: readonly CompiledRule[],
  config: Pick<RulesConfig, 'minLevel' | 'enable' | 'disable'>,
): { rule: CompiledRule; status: RuleStatus }[] {
  const enabled = wildcardMatcher(config.enable);
  const disabled = wildcardMatcher(config.disable);
  const floor = RULE_LEVELS.indexOf(config.minLevel);
  const named = (r: CompiledRule, test: (v: string) => boolean) => test(r.ref.id) || test(r.ref.name);
  const first = rules.map((rule) => {
    const status: RuleStatus = named(rule, disabled)
      ? { state: 'disabled' }
      : RULE_LEVELS.indexOf(rule.ref.level) >= floor || named(rule, enabled)
        ? { state: 'active' }
        : { state: 'below-min-level' };
    return { rule, status };
  });
  const supersededBy = new Map<string, string>();
  for (const { rule, status } of first) {
    if (status.state !== 'active') continue;
    for (const id of rule.obsoletes) if (!supersededBy.has(id)) supersededBy.set(id, rule.ref.name);
  }
  return first.map(({ rule, status }) => {
    const by = supersededBy.get(rule.ref.id);
    return status.state === 'active' && by !== undefined && !named(rule, enabled)
      ? { rule, status: { state: 'superseded', by } }
      : { rule, status };
  });
}

/** The rules that run under a configuration (see {@link planRules}). */
export function selectRules(
  rules: readonly CompiledRule[],
  config: Pick<RulesConfig, 'minLevel' | 'enable' | 'disable'>,
): CompiledRule[] {
  return planRules(rules, config)
    .filter((p) => p.status.state === 'active')
    .map((p) => p.rule);
}

type AllowTest = (hit: RuleHit) => boolean;

/**
 * Compiled allow-lists by configuration: an engine is forked per file (the ingest, the reader threads) with its
 * parent's configuration, and compiling every entry's patterns again per file cost more than testing the file.
 */
const allowTests = new WeakMap<readonly AllowEntry[], AllowTest>();

function allowTest(entries: readonly AllowEntry[]): AllowTest {
  let test = allowTests.get(entries);
  if (!test) {
    test = compileAllowTest(entries);
    allowTests.set(entries, test);
  }
  return test;
}

function compileAllowTest(entries: readonly AllowEntry[]): AllowTest {
  const compiled = entries.map((e) => {
    const rules = wildcardMatcher(e.rules);
    const principals = e.principals.length > 0 ? wildcardMatcher(e.principals) : undefined;
    const accounts = e.accounts.length > 0 ? wildcardMatcher(e.accounts) : undefined;
    return (hit: RuleHit) =>
      (rules(hit.rule.ref.id) || rules(hit.rule.ref.name)) &&
      (principals === undefined || principals(hit.event.principal)) &&
      (accounts === undefined || accounts(hit.event.account));
  });
  return (hit) => compiled.some((test) => test(hit));
}

export class RuleEngine {
  readonly ruleSet: RuleSet;
  readonly stats: RuleEngineStats = { events: 0, hits: 0, suppressed: 0, grouped: 0, matches: 0 };
  /** The group markers {@link record} writes (the CLI's stand-in for the ingest's DynamoDB markers). */
  readonly ledger: GroupLedger;
  private readonly allowed: AllowTest;
  private pending: RuleHit[] = [];

  /**
   * @param rules every loaded rule (the configuration selects which run), or the set of an engine forked
   * @param ledger the markers of an earlier run (`detect --state`)
   */
  constructor(
    rules: readonly CompiledRule[] | RuleSet,
    readonly config: RulesConfig,
    ledger: GroupLedger = new GroupLedger(),
  ) {
    this.ruleSet = rules instanceof RuleSet ? rules : new RuleSet(selectRules(rules, config));
    this.allowed = allowTest(config.allow);
    this.ledger = ledger;
  }

  /**
   * An engine on the same compiled, indexed rules with nothing observed yet: one per file when files are read
   * in parallel (the ingest), so their hits never mix.
   */
  fork(): RuleEngine {
    return new RuleEngine(this.ruleSet, this.config);
  }

  /** `groups` (of this engine's hits) as they can cross threads, to an engine on the same rules. */
  portable(groups: readonly FileGroup[]): PortableGroup[] {
    return groups.map((g) => {
      const rule = this.ruleSet.rules.indexOf(g.first.rule);
      if (rule < 0) throw new Error(`rule ${g.first.rule.ref.id} is not in this engine's rule set`);
      return { ...g, first: { ...g.first, rule } };
    });
  }

  /** Groups another engine on the same rules (the same rule set, in order) made portable, as this engine's own. */
  fromPortable(groups: readonly PortableGroup[]): FileGroup[] {
    return groups.map((g) => ({ ...g, first: { ...g.first, rule: this.ruleSet.rules[g.first.rule] } }));
  }

  /** Adds another engine's counts of events tested, hits and allow-listed hits (one that observed for this one). */
  addObserved(stats: ObservedCounts): void {
    addObservedCounts(this.stats, stats);
  }

  /** Tests one event against the rules; pass it as the reader's `onEvent`. */
  readonly observe = (event: TrailEvent, record: RawRecord): void => {
    this.stats.events++;
    this.ruleSet.match(event, record, this.onHit);
  };

  /** Tests events that carry their record (`keepRaw`); events without one are skipped and counted as not tested. */
  observeEvents(events: Iterable<TrailEvent>): number {
    let untested = 0;
    for (const event of events) {
      if (event.raw) this.observe(event, event.raw);
      else untested++;
    }
    return untested;
  }

  private readonly onHit = (hit: RuleHit): void => {
    this.stats.hits++;
    if (this.allowed(hit)) this.stats.suppressed++;
    else this.pending.push(hit);
  };

  /** The groups of everything observed since the last take (one file's matches), by aligned window. */
  takeGroups(): FileGroup[] {
    const hits = this.pending;
    this.pending = [];
    return groupFileHits(hits, this.config.grouping.windowMinutes);
  }

  /**
   * Records one file's groups in the in-memory ledger, as the ingest does in DynamoDB, and returns the events
   * the file raises (its groups no earlier file owns), marked sent.
   */
  record(file: string, groups: readonly FileGroup[]): RuleMatch[] {
    const out: RuleMatch[] = [];
    for (const group of groups) {
      const outcome = this.ledger.record(group, file);
      if (outcome === 'alert') {
        out.push(toRuleMatch(group));
        this.ledger.markSent(group.id);
        this.stats.grouped += group.count - 1;
      } else if (outcome === 'counted') this.stats.grouped += group.count;
    }
    this.stats.matches += out.length;
    return out;
  }

  /** {@link takeGroups} then {@link record}: the events one file raises. */
  flush(file: string): RuleMatch[] {
    return this.record(file, this.takeGroups());
  }

  /**
   * Every hit observed since the last flush as its own event, ungrouped and unrecorded (`trailsight rules test`:
   * testing a rule means seeing each match).
   */
  flushEach(): RuleMatch[] {
    const hits = this.pending;
    this.pending = [];
    this.stats.matches += hits.length;
    return hits
      .map(hitToRuleMatch)
      .sort((a, b) => (a.event.eventTime < b.event.eventTime ? -1 : a.event.eventTime > b.event.eventTime ? 1 : 0));
  }
}
