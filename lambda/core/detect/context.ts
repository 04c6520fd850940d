/**
 * What every part of the engine shares while it works on one partition: the resolved configuration and the
 * quantities derived from it, the suppression matchers, the partition's head and its cold data.
 */
import type { DetectConfig, DetectorKind } from './config';
import { wildcardMatcher } from './config';
import type { FileDelta } from './delta';
import type { FilePosition, Page, PartitionHead } from './state';

export const MINUTE = 60_000;
export const HOUR = 3_600_000;
export const DAY = 86_400_000;
/** Hour-of-week slots: 24 hours × (weekday, weekend). */
export const SLOTS = 48;

/**
 * The partition's cold data, as the caller holds it: the CLI keeps it in memory; the pipeline reads it from
 * DynamoDB before an advance, answers what it did not read with an empty value while recording the miss,
 * then loads what was missed and runs the advance again (lambda/pipeline/advance.ts).
 */
export interface PartitionData {
  /** A page of the cold state by id. */
  page(id: string): Page;
  /** Writes a page (compaction only). */
  putPage(id: string, page: Page): void;
  /**
   * The applied deltas a compaction folds: every file applied so far whose delivery time is at least `from`,
   * in canonical order, and the listed late files.
   */
  deltas(from: number, late: readonly FilePosition[]): FileDelta[];
  /**
   * Whether the archive holds files of this partition delivered in (from, to] in the given Regions (log
   * files, or digest files) that were not applied: a silence the pipeline itself caused (a backlog, failing
   * files) is not a delivery gap.
   */
  unappliedFiles(from: number, to: number, scope: ArchiveScope): boolean;
}

/** Where an archive check looks: the account's log files (or digest files) of these Regions. */
export interface ArchiveScope {
  readonly regions: readonly string[];
  readonly digests?: boolean;
}

/** Derived settings of one configuration (computed once per engine). */
export interface Settings {
  readonly config: DetectConfig;
  readonly binMs: number;
  readonly windowMs: number;
  /** Bins of the long window (`longWindow.minutes`). */
  readonly longBins: number;
  readonly halfLifeMs: number;
  readonly settleMs: number;
  readonly maxLateMs: number;
  readonly isSuppressed: (
    part: { account: string; region: string },
    detector: DetectorKind,
    principal: string | undefined,
    eventSource: string,
    eventNames: readonly string[],
  ) => boolean;
}

/** Short, human form of a principal ARN: `user/alice`, `role/deploy`, `root`. */
export function shortPrincipal(principal: string): string {
  const m = /^arn:[^:]+:(?:iam|sts)::\d*:(.+)$/.exec(principal);
  return m ? m[1] : principal;
}

export function settingsOf(config: DetectConfig): Settings {
  const s = config.suppress;
  const principal = wildcardMatcher(s.principals);
  const name = wildcardMatcher(s.eventNames);
  const account = wildcardMatcher(s.accounts);
  const region = wildcardMatcher(s.regions);
  const binMs = config.binMinutes * MINUTE;
  return {
    config,
    binMs,
    windowMs: binMs * config.windowBins,
    longBins: config.longWindow.minutes / config.binMinutes,
    halfLifeMs: config.halfLifeDays * DAY,
    settleMs: config.settleMinutes * MINUTE,
    maxLateMs: config.maxLateHours * HOUR,
    isSuppressed(part, detector, who, eventSource, eventNames) {
      if (s.detectors.includes(detector)) return true;
      if (account(part.account) || region(part.region)) return true;
      if (who && (principal(who) || principal(shortPrincipal(who)))) return true;
      // A cross-API insight is suppressed only when every API in it is.
      return eventNames.length > 0 && eventNames.every((n) => name(n) || name(`${eventSource}:${n}`));
    },
  };
}

/** The engine's working context for one partition. */
export interface Context {
  readonly settings: Settings;
  readonly head: PartitionHead;
  readonly data: PartitionData;
}

/** Minutes of history behind the partition's baselines. */
export function historyMinutes(head: PartitionHead): number {
  return Math.max(0, Math.round((head.clock - head.first) / MINUTE));
}

/** Hour-of-week slot of a time: the local hour, plus 24 on weekends. */
export function slotOf(time: number, utcOffsetMinutes: number): number {
  const local = time + utcOffsetMinutes * MINUTE;
  const hour = Math.floor(local / HOUR) % 24;
  // The UTC weekday (0 = Sunday) without a Date: 1 January 1970 was a Thursday.
  const day = (((Math.floor(local / DAY) + 4) % 7) + 7) % 7;
  return (day === 0 || day === 6 ? 24 : 0) + hour;
}

/** `value` decayed from `from` to `to` with the baselines' half-life. */
export function decay(value: number, from: number, to: number, halfLifeMs: number): number {
  return to <= from ? value : value * 2 ** (-(to - from) / halfLifeMs);
}
