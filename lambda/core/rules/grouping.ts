/**
 * Grouping of repeated matches: one rule-match event per rule + account + principal + window, with a count.
 *
 * Time is event time, never the wall clock, so a replay groups exactly as the live pipeline did. A group's window
 * opens at the event time of its first match and lasts `windowMinutes`; the event is emitted at once (alerts must
 * not wait for the window to close), carrying every match of the window seen in the same batch. Matches that
 * arrive in later batches of the same window are counted in the state, and that count is reported with the
 * group's next event (`countedSincePreviousEvent`): Start-only, yet no match is lost from the counts.
 *
 * The state is plain JSON (persist it beside the detection state). Groups are forgotten `retainHours` after
 * their window ended, measured on the latest event time seen, so the state stays bounded by the number of
 * (rule, account, principal) triples active in that span.
 */
import { deterministicUuid } from '../detect';
import type { MatchedEvent, RuleMatch } from './contract';
import { RULE_MATCH_VERSION } from './contract';
import type { RuleHit } from './ruleset';

export interface GroupState {
  /** Window start (event time, epoch ms). */
  start: number;
  /** Matches counted in the window. */
  count: number;
  /** Of those, how many were reported by the window's event. */
  sent: number;
}

export interface GroupingState {
  version: 1;
  /** Latest event time seen (epoch ms); 0 before any match. */
  clock: number;
  groups: Record<string, GroupState>;
}

export interface GroupingOptions {
  readonly windowMinutes: number;
  readonly retainHours: number;
}

export interface GroupingResult {
  /** The events to send, in event-time order. */
  readonly matches: RuleMatch[];
  readonly state: GroupingState;
  /** Matches folded into an event already sent (reported with the group's next event). */
  readonly grouped: number;
}

export function emptyGroupingState(): GroupingState {
  return { version: 1, clock: 0, groups: {} };
}

/** Thrown by {@link parseGroupingState} for a state that is not one this version wrote. */
export class GroupingStateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GroupingStateError';
  }
}

export function serializeGroupingState(state: GroupingState): string {
  return JSON.stringify(state);
}

/** Parses a persisted state, checking its shape (a state file is input like any other). */
export function parseGroupingState(text: string): GroupingState {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new GroupingStateError(`not JSON: ${(e as Error).message}`);
  }
  const v = value as Partial<GroupingState> | null;
  if (!v || typeof v !== 'object' || v.version !== 1 || typeof v.clock !== 'number' || typeof v.groups !== 'object') {
    throw new GroupingStateError('not a rule grouping state (version 1)');
  }
  for (const [key, g] of Object.entries(v.groups ?? {})) {
    const ok = g && [g.start, g.count, g.sent].every((n) => typeof n === 'number' && Number.isFinite(n));
    if (!ok) throw new GroupingStateError(`group ${key.slice(0, 80)} is malformed`);
  }
  return v as GroupingState;
}

const iso = (ms: number) => `${new Date(Math.floor(ms / 1000) * 1000).toISOString().slice(0, 19)}Z`;

/** The key of a hit's group. */
export function groupKey(hit: RuleHit): string {
  return `${hit.rule.ref.id}|${hit.event.account}|${hit.event.principal}`;
}

/** Groups one batch of (unsuppressed) hits into rule-match events; returns the new state, `state` is not changed. */
export function groupHits(hits: readonly RuleHit[], state: GroupingState, options: GroupingOptions): GroupingResult {
  const windowMs = options.windowMinutes * 60_000;
  const groups: Record<string, GroupState> = { ...state.groups };
  const copied = new Set<string>();
  let clock = state.clock;
  let grouped = 0;
  const matches: RuleMatch[] = [];
  /** Windows opened in this batch, whose event goes out with every match of the batch that falls in them. */
  const open = new Map<string, { hit: RuleHit; previous: number }>();
  const emit = (key: string) => {
    const pending = open.get(key);
    if (!pending) return;
    const g = groups[key];
    g.sent = g.count;
    matches.push(toRuleMatch(pending.hit, key, g.start, g.start + windowMs, g.count, pending.previous));
    open.delete(key);
  };
  // Stable sort: a file is mostly in time order already, and equal times keep the file's order.
  const ordered = [...hits].sort((a, b) => a.event.time - b.event.time);
  for (const hit of ordered) {
    const key = groupKey(hit);
    const time = hit.event.time;
    if (time > clock) clock = time;
    const current = groups[key];
    // A match before the window's start (a late event) joins the open window rather than alerting again.
    if (current && time < current.start + windowMs) {
      if (!copied.has(key)) {
        groups[key] = { ...current };
        copied.add(key);
      }
      groups[key].count++;
      if (!open.has(key)) grouped++;
      continue;
    }
    emit(key);
    groups[key] = { start: time, count: 1, sent: 0 };
    copied.add(key);
    open.set(key, { hit, previous: current ? current.count - current.sent : 0 });
  }
  for (const key of [...open.keys()]) emit(key);
  const horizon = clock - options.retainHours * 3_600_000;
  for (const [key, g] of Object.entries(groups)) if (g.start + windowMs < horizon) delete groups[key];
  matches.sort((a, b) => (a.event.eventTime < b.event.eventTime ? -1 : a.event.eventTime > b.event.eventTime ? 1 : 0));
  return { matches, state: { version: 1, clock, groups }, grouped };
}

/** The bus event for the first hit of a group. */
export function toRuleMatch(
  hit: RuleHit,
  key: string,
  windowStart: number,
  windowEnd: number,
  count: number,
  countedSincePreviousEvent: number,
): RuleMatch {
  const { rule, event } = hit;
  const matched: MatchedEvent = {
    eventId: event.eventId,
    eventTime: iso(event.time),
    eventSource: event.source,
    eventName: event.name,
    account: event.account,
    region: event.region,
    principal: event.principal,
    principalKind: event.principalKind,
    sessionName: event.sessionName,
    sourceIp: event.sourceIp,
    userAgent: event.userAgent,
    errorCode: event.errorCode,
  };
  const ref = rule.ref;
  const times = count > 1 ? `, ${count} matches in the window from ${iso(windowStart)}` : '';
  const before = countedSincePreviousEvent > 0 ? ` (${countedSincePreviousEvent} more in the previous window)` : '';
  const credit = `rule by ${ref.author}, ${ref.source.pack}${ref.source.license ? ` (${ref.source.license})` : ''}`;
  return {
    version: RULE_MATCH_VERSION,
    id: deterministicUuid('rule-match', ref.id, event.eventId ?? `${event.time}|${event.principal}|${event.name}`),
    state: 'Start',
    rule: ref,
    event: withoutUndefined(matched),
    fields: hit.fields,
    group: {
      key,
      windowStart: iso(windowStart),
      windowEnd: iso(windowEnd),
      count,
      countedSincePreviousEvent,
    },
    explanation:
      `${ref.title} [${ref.level}]: ${event.name} by ${event.principal} in ${event.account}/${event.region}` +
      `${event.errorCode ? ` (failed: ${event.errorCode})` : ''}${times}${before}; ${credit}.`,
  };
}

/** Drops absent optional fields, so the JSON and `toEqual` show only what the event had. */
function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
