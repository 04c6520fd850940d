/**
 * Grouping of repeated matches: one rule-match event per rule + account + principal + window, with a count,
 * the same whatever order files are processed in and however often one is redelivered (docs/rules.md,
 * "Grouping").
 *
 * - **Aligned tumbling windows** of event time: a match at time t belongs to the window starting at
 *   floor(t / window) × window (epoch-aligned, so 60-minute windows are the UTC hours). The window depends on the
 *   match alone, never on which match came first.
 * - **The group's id** is a hash of (rule id, account, principal, window start): every producer that sees a
 *   match of the group names it the same, the CLI and the ingest Lambda alike.
 * - **Per file**, the matches of each group are counted ({@link groupFileHits}); the file's group is then
 *   recorded in a ledger (a marker per group id: the deployed DynamoDB item, or {@link GroupLedger} in memory).
 *   The first file recorded for a group *owns* it and sends its event, counting that file's matches; a later
 *   file only adds its count to the marker; a file already recorded (a redelivery) changes nothing, except
 *   that the owner re-sends an event it could not confirm as sent (same id: consumers dedupe on it).
 *
 * Time is event time, never the wall clock.
 */
import { deterministicUuid, isoSeconds } from '../detect/insight';
import type { MatchedEvent, RuleMatch } from './contract';
import { RULE_MATCH_VERSION } from './contract';
import type { RuleHit } from './ruleset';

/** The matches of one group in one file. */
export interface FileGroup {
  /** hash(rule id, account, principal, window start): the rule-match event's id. */
  readonly id: string;
  /** `ruleId|account|principal`. */
  readonly key: string;
  /** Window start and end (event time, epoch ms). */
  readonly windowStart: number;
  readonly windowEnd: number;
  /** The group's earliest match in the file (ties: the smaller event id), shown in the event. */
  readonly first: RuleHit;
  /** Matches of the group in the file. */
  readonly count: number;
}

/** What recording a file's group in the ledger means for it. */
export type LedgerOutcome =
  /** The file owns the group and its event is not known to be sent: send it, then mark it sent. */
  | 'alert'
  /** Another file owns the group: the file's matches were added to the group's count. */
  | 'counted'
  /** The file was recorded for this group before (a redelivery): nothing changes. */
  | 'duplicate';

/** Start of the aligned window holding `time` (epoch ms). */
export function windowStartOf(time: number, windowMinutes: number): number {
  const windowMs = windowMinutes * 60_000;
  return Math.floor(time / windowMs) * windowMs;
}

/** The key of a hit's group (without the window). */
export function groupKey(hit: RuleHit): string {
  return `${hit.rule.ref.id}|${hit.event.account}|${hit.event.principal}`;
}

/** The id of a group's window: what every producer names the rule-match event of that window. */
export function groupId(ruleId: string, account: string, principal: string, windowStart: number): string {
  return deterministicUuid('rule-match', ruleId, account, principal, isoSeconds(windowStart));
}

function earlier(a: RuleHit, b: RuleHit): boolean {
  if (a.event.time !== b.event.time) return a.event.time < b.event.time;
  return (a.event.eventId ?? '') < (b.event.eventId ?? '');
}

/**
 * Groups one file's (unsuppressed) hits by rule + account + principal + aligned window. The result does not
 * depend on the order of `hits`; it is sorted by window, then key.
 */
export function groupFileHits(hits: readonly RuleHit[], windowMinutes: number): FileGroup[] {
  const windowMs = windowMinutes * 60_000;
  const groups = new Map<string, { key: string; windowStart: number; first: RuleHit; count: number }>();
  for (const hit of hits) {
    const key = groupKey(hit);
    const windowStart = windowStartOf(hit.event.time, windowMinutes);
    const slot = `${windowStart}|${key}`;
    const g = groups.get(slot);
    if (!g) groups.set(slot, { key, windowStart, first: hit, count: 1 });
    else {
      g.count++;
      if (earlier(hit, g.first)) g.first = hit;
    }
  }
  return [...groups.values()]
    .map((g) => ({
      id: groupId(g.first.rule.ref.id, g.first.event.account, g.first.event.principal, g.windowStart),
      key: g.key,
      windowStart: g.windowStart,
      windowEnd: g.windowStart + windowMs,
      first: g.first,
      count: g.count,
    }))
    .sort((a, b) => a.windowStart - b.windowStart || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

interface Marker {
  readonly owner: string;
  readonly files: Set<string>;
  /** End of the group's window (epoch ms): markers are forgotten {@link LEDGER_RETENTION_MS} after it. */
  readonly windowEnd: number;
  count: number;
  sent: boolean;
}

/**
 * How long a marker is kept after its window ended, measured on the latest window seen: as long as the deployed
 * markers, which expire with their file's delta (`detection.dedupeRetentionDays`, 35 days by default).
 */
export const LEDGER_RETENTION_MS = 35 * 86_400_000;

/** Thrown by {@link parseLedger} for a saved ledger that is not one this version wrote. */
export class LedgerStateError extends Error {
  override readonly name = 'LedgerStateError';
}

/**
 * The group markers in memory, with the semantics of the deployed DynamoDB markers
 * (lambda/adapters/dynamodb-rule-groups.ts): the CLI's backtest of the ingest. The same scenarios run on both
 * (test/rules/grouping-ledger.test.ts).
 */
export class GroupLedger {
  private readonly markers = new Map<string, Marker>();

  /** Records `file`'s matches of `group`. */
  record(group: Pick<FileGroup, 'id' | 'count' | 'windowEnd'>, file: string): LedgerOutcome {
    const m = this.markers.get(group.id);
    if (!m) {
      this.markers.set(group.id, {
        owner: file,
        files: new Set([file]),
        windowEnd: group.windowEnd,
        count: group.count,
        sent: false,
      });
      return 'alert';
    }
    if (m.files.has(file)) return m.owner === file && !m.sent ? 'alert' : 'duplicate';
    m.files.add(file);
    m.count += group.count;
    return 'counted';
  }

  /** The owner's event was published. */
  markSent(id: string): void {
    const m = this.markers.get(id);
    if (m) m.sent = true;
  }

  /** Matches recorded for a group so far (every file's), or 0 when it has none. */
  total(id: string): number {
    return this.markers.get(id)?.count ?? 0;
  }

  /** Plain JSON, without the markers older than {@link LEDGER_RETENTION_MS} before the latest window. */
  toJSON(): LedgerState {
    let latest = Number.NEGATIVE_INFINITY;
    for (const m of this.markers.values()) if (m.windowEnd > latest) latest = m.windowEnd;
    const markers: LedgerState['markers'] = {};
    for (const [id, m] of this.markers) {
      if (m.windowEnd < latest - LEDGER_RETENTION_MS) continue;
      markers[id] = { owner: m.owner, files: [...m.files], windowEnd: m.windowEnd, count: m.count, sent: m.sent };
    }
    return { version: 1, markers };
  }

  static fromJSON(state: LedgerState): GroupLedger {
    const ledger = new GroupLedger();
    for (const [id, m] of Object.entries(state.markers)) {
      ledger.markers.set(id, { ...m, files: new Set(m.files) });
    }
    return ledger;
  }
}

/** A saved {@link GroupLedger} (`trailsight detect --state`). */
export interface LedgerState {
  readonly version: 1;
  readonly markers: Record<string, { owner: string; files: string[]; windowEnd: number; count: number; sent: boolean }>;
}

export function serializeLedger(ledger: GroupLedger): string {
  return JSON.stringify(ledger.toJSON());
}

/** Reads a saved ledger, checking its shape (a state file is input like any other). */
export function parseLedger(text: string): GroupLedger {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new LedgerStateError(`not JSON: ${(e as Error).message}`);
  }
  const v = value as Partial<LedgerState> | null;
  if (!v || typeof v !== 'object' || v.version !== 1 || typeof v.markers !== 'object' || v.markers === null) {
    throw new LedgerStateError('not a rule group ledger (version 1)');
  }
  for (const [id, m] of Object.entries(v.markers)) {
    const ok =
      m &&
      typeof m.owner === 'string' &&
      Array.isArray(m.files) &&
      m.files.every((f) => typeof f === 'string') &&
      [m.windowEnd, m.count].every((n) => typeof n === 'number' && Number.isFinite(n)) &&
      typeof m.sent === 'boolean';
    if (!ok) throw new LedgerStateError(`marker ${id.slice(0, 80)} is malformed`);
  }
  return GroupLedger.fromJSON(v as LedgerState);
}

/** The rule-match event of a group, as sent by the file that owns it. */
export function toRuleMatch(group: FileGroup): RuleMatch {
  return buildMatch(group.first, group.id, {
    key: group.key,
    windowStart: isoSeconds(group.windowStart),
    windowEnd: isoSeconds(group.windowEnd),
    count: group.count,
  });
}

/** One hit as its own event (`trailsight rules test` without --alerts): the id is rule id + event id. */
export function hitToRuleMatch(hit: RuleHit): RuleMatch {
  const { rule, event } = hit;
  const id = deterministicUuid(
    'rule-hit',
    rule.ref.id,
    event.eventId ?? `${event.time}|${event.principal}|${event.name}`,
  );
  const at = isoSeconds(event.time);
  return buildMatch(hit, id, { key: groupKey(hit), windowStart: at, windowEnd: at, count: 1 });
}

function buildMatch(hit: RuleHit, id: string, group: RuleMatch['group']): RuleMatch {
  const { rule, event } = hit;
  const matched: MatchedEvent = {
    eventId: event.eventId,
    eventTime: isoSeconds(event.time),
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
  const times = group.count > 1 ? `, ${group.count} matches from ${group.windowStart}` : '';
  const credit = `rule by ${ref.author}, ${ref.source.pack}${ref.source.license ? ` (${ref.source.license})` : ''}`;
  return {
    version: RULE_MATCH_VERSION,
    id,
    state: 'Start',
    rule: ref,
    event: withoutUndefined(matched),
    fields: hit.fields,
    group,
    explanation:
      `${ref.title} [${ref.level}]: ${event.name} by ${event.principal} in ${event.account}/${event.region}` +
      `${event.errorCode ? ` (failed: ${event.errorCode})` : ''}${times}; ${credit}.`,
  };
}

/** Drops absent optional fields, so the JSON and `toEqual` show only what the event had. */
function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
