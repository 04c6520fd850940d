/**
 * `trailsight detect <path...>`: replays CloudTrail delivery files through the detection engine in delivery
 * order (the file name's timestamp) and prints insight events, and, in the same pass, the rule engine's
 * rule-match events (grouped per file as the ingest Lambda groups them: docs/rules.md "Grouping"):
 * `--format jsonl` writes exactly one JSON object per line on stdout (insights in the CloudTrail Insights record
 * shape plus `trailsight`, rule matches as `Trailsight Rule Match` details), `ocsf` the same as OCSF Detection
 * Findings, `table` one line per episode or alert for people. `--state FILE` resumes and persists the engine
 * state across runs.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { inputRole, type LocalFile, sizeOf } from '../../lambda/adapters/local-files';
import {
  type FileDeltaRead,
  type FileEvents,
  readLocalDeltas,
  readLocalFileEvents,
  readLocalFiles,
} from '../../lambda/adapters/local-reader';
import { partitionAccounts, ReplayThreadsFailed, replayByPartition } from '../../lambda/adapters/local-replay';
import type { ThreadRules } from '../../lambda/adapters/thread-rules';
import { defaultThreads } from '../../lambda/adapters/threads';
import { AccountDedupers, type Deduper } from '../../lambda/core/dedupe';
import {
  type DeliveredFile,
  DetectConfigError,
  fileIdentity,
  type InsightEvent,
  parseReplayState,
  Replay,
  type ReplayState,
  resolveDetectConfig,
  StateError,
  serializeReplayState,
  settingsOf,
} from '../../lambda/core/detect';
import type { TrailEvent } from '../../lambda/core/event';
import { toOcsf } from '../../lambda/core/findings/ocsf';
import { findingFromEvent } from '../../lambda/core/findings/sources';
import { createReadReport, type ReadReport } from '../../lambda/core/reader';
import {
  type FileGroup,
  LedgerStateError,
  loadRules,
  parseLedger,
  RULE_MATCH_DETAIL_TYPE,
  RuleEngine,
  type RuleMatch,
  RulesConfigError,
  resolveRulesConfig,
  serializeLedger,
} from '../../lambda/core/rules';
import { INSIGHT_DETAIL_TYPE } from '../../schema/findings';
import { InputReport } from '../inputs';
import {
  type CliCommand,
  type CliIo,
  choice,
  EXIT,
  optionParser,
  parseOrExit,
  UsageError,
  usageError,
  wholeNumber,
} from '../io';
import { terminalSafe } from '../output';
import { Progress } from '../progress';
import { formatRuleMatchTable, withFoldersFrom } from './rules';

const HELP = `usage: trailsight detect <path...> [--format table|jsonl|ocsf] [--rules DIR]... [--no-rules]
                        [--state FILE] [--config FILE] [--until TIME] [--threads N]

Replays CloudTrail delivery files (.json.gz or .json; .jsonl one event per line) from the given files and
directories (any depth; organization or account layout) in delivery order — the timestamp in each file
name — through the detection engine, and prints insight events: call-rate and error-rate spikes per API,
IAM write bursts, read-only reconnaissance and AccessDenied storms per principal, missed runs of learned
periodic jobs, and accounts/regions that stopped delivering logs. Baselines are learned from the files
themselves (replayed history), so the first insights come as soon as a couple of days have been replayed.
Between files the deployed evaluator's ticks (every tickMinutes, default 1) are replayed too, so the
output is what the deployed pipeline emits for the same files: same insights, same eventIDs.

In the same pass every event is tested against the detection rules (the built-in pack, the configuration's
Sigma folders and --rules; see docs/rules.md): one "Trailsight Rule Match" per rule, account, principal and
window, grouped as the ingest Lambda groups them (same ids).

options:
  --format FORMAT       table: one line per insight episode with its explanation, then one per rule match
                        (default); jsonl: one insight event (CloudTrail Insights record + "trailsight") or
                        rule-match event per line; ocsf: the same as OCSF 1.6.0 Detection Findings (class 2004)
  --rules DIR           also load the Sigma rules in DIR (repeatable)
  --no-rules            insights only
  --state FILE          resume from FILE if it exists, and write the state there at the end; files the
                        state already applied are skipped and counted (a folder that keeps growing)
  --config FILE         JSON thresholds and suppressions (see docs/detection.md), and under "rules" the rule
                        configuration (levels, enable/disable, allow-lists, grouping; see docs/rules.md)
  --until TIME          after the last file, advance the clock to TIME (ISO-8601), e.g. the time of the
                        run, so missed runs and silent accounts up to then are reported
  --threads N           threads (default: one per core; 0: the main thread only): accounts are replayed
                        side by side, or, for one account, files are read ahead; the threads test the events
                        against the rules too; the same output either way
  -h, --help            this text

Files that are not CloudTrail's (a README, labels.json, AWS Config objects) are counted and named in one
warning; digest files are applied by name. A missing path or an unreadable file is named on stderr and the rest
is replayed. Progress is drawn on stderr when it is a terminal.

exit status: 0 when every path and file was read and every rule loaded, 1 when some path or file could not be
read fully or a rule was rejected (a partial result), 2 on bad usage or a bad config/state file.
`;

/** Anything that turns delivered files into insights: the engine, or a baseline detector in the evaluation. */
export interface InsightSource {
  ingestFile(file: DeliveredFile, events: Iterable<TrailEvent>): InsightEvent[];
  tick(now: number): InsightEvent[];
  /** Files an earlier run already applied are skipped (the engine's replay state remembers them). */
  isApplied?(file: DeliveredFile): boolean;
  /** A file that could not be read: delivered, but not applied. */
  unreadable?(account: string, region: string, deliveredAt: number): void;
  /** A digest file (log file validation): evidence that the trail was logging in its Region. */
  ingestDigest?(file: DeliveredFile): InsightEvent[];
}

export interface DetectRunStats {
  files: number;
  /** Digest files applied (by name). */
  digests: number;
  ignored: number;
  failed: number;
  events: number;
  /** Files skipped because the state says an earlier run applied them. */
  alreadyApplied: number;
  /** Rule-match events emitted. */
  ruleMatches: number;
}

/** The rule engine on detect's path: every event read is tested; each applied file's groups are recorded. */
export interface DetectRules {
  readonly engine: RuleEngine;
  readonly emit: (match: RuleMatch) => void;
  /** How threads load the same rules (thread-rules.ts); without it the rules run in this thread, and so the replay. */
  readonly threads?: ThreadRules;
}

interface PlannedFile {
  readonly file: LocalFile;
  /** Delivery time: the file name's timestamp, else the latest event time in the file. */
  readonly deliveredAt: number;
  /** The file's identity in the canonical order (its CloudTrail file name, or its path in the tree). */
  readonly identity: string;
  readonly events?: TrailEvent[];
  /** The rule groups of a file read ahead (with `events`). */
  readonly groups?: FileGroup[];
  /** A digest file: applied by its name, never read. */
  readonly digest?: true;
}

function deliveredFile(p: PlannedFile, account: string, region: string, mixed = false): DeliveredFile {
  // An export mixing partitions contributes one input per partition: each needs its own identity.
  return {
    account,
    region,
    deliveredAt: p.deliveredAt,
    file: mixed ? `${p.identity}#${account}|${region}` : p.identity,
  };
}

/** A file read here (with the rules watching, when there are rules): its events and its report. */
async function readHere(
  f: LocalFile,
  dedupe: Deduper,
  rules: RuleEngine | undefined,
): Promise<FileEvents & { groups: FileGroup[] }> {
  const report = createReadReport(f.path);
  const events = await readLocalFileEvents(f, {
    file: f.path,
    report,
    dedupe,
    fallbackAccount: f.info.account,
    onEvent: rules?.observe,
  });
  return { file: f, events, report, groups: rules?.takeGroups() ?? [] };
}

export interface DetectFilesOptions {
  /** After the last file, advance every partition's clock to this time (epoch ms). */
  readonly until?: number;
  /** Test every event against the rules too. */
  readonly rules?: DetectRules;
  /**
   * Threads; 0 replays in this thread only. With the engine, every file named and two accounts or more, the
   * accounts are replayed side by side, one engine per thread (`replayByPartition`); otherwise reader threads read
   * ahead and build the files' deltas (`readLocalDeltas`, or `readLocalFiles` for another source). With rules, the
   * threads also test the events and send each file's groups (thread-rules.ts), except for another source, whose
   * files are then read here. Either way the result is what one thread gives.
   * @default 0
   */
  readonly workers?: number;
  /** Accounts for every file read and warns about the unreadable ones; by default a fresh one on `io`. */
  readonly inputs?: InputReport;
  /** Called after each file read, with the bytes read and its events (for a progress bar). */
  readonly onFileRead?: (file: LocalFile, bytes: number, events: number) => void;
  /** Called once if the threads fail (the replay then goes on in this thread, to the same result). */
  readonly onThreadFailure?: (error: Error) => void;
}

/**
 * Replays files through `source` in delivery order and hands every insight to `emit` as it is produced.
 * Shared by the CLI, the demo and the evaluation harness, so all three exercise the same code path.
 * Files without a delivery timestamp in their name (local exports) are placed at their latest event time.
 */
export async function detectFiles(
  files: readonly LocalFile[],
  source: InsightSource,
  emit: (insight: InsightEvent) => void,
  io: CliIo,
  options: DetectFilesOptions = {},
): Promise<DetectRunStats> {
  const stats: DetectRunStats = {
    files: 0,
    digests: 0,
    ignored: 0,
    failed: 0,
    events: 0,
    alreadyApplied: 0,
    ruleMatches: 0,
  };
  const { rules, onFileRead } = options;
  const inputs = options.inputs ?? new InputReport('detect', io);
  // Per account: an event belongs to one account, and so the replay dedupes alike on one thread or many.
  const dedupers = new AccountDedupers();
  /** Accounts for a file read: false when it turned out not to be CloudTrail's (then it is only counted). */
  const accountFor = ({ file, report, events }: { file: LocalFile; report: ReadReport; events: number }): boolean => {
    onFileRead?.(file, report.bytesRead, events);
    if (inputs.fileRead(file, report) !== 'not-cloudtrail') return true;
    stats.ignored++;
    return false;
  };
  const planned: PlannedFile[] = [];
  for (const f of files) {
    if (f.info.kind === 'digest' && f.info.account && f.info.region && f.info.deliveredAt !== undefined) {
      if (source.ingestDigest)
        planned.push({ file: f, deliveredAt: f.info.deliveredAt, identity: fileIdentity(f.key), digest: true });
      continue;
    }
    if (inputRole(f) !== 'events') {
      stats.ignored++;
      continue;
    }
    if (f.info.deliveredAt !== undefined) {
      planned.push({ file: f, deliveredAt: f.info.deliveredAt, identity: fileIdentity(f.key) });
      continue;
    }
    // No timestamp in the name: read it now to place it by its own data.
    const read = await readHere(f, dedupers, rules?.engine);
    if (!accountFor({ ...read, events: read.events.length })) continue;
    const failed = !read.report.complete;
    if (failed) stats.failed++;
    const { events } = read;
    const latest = events.reduce((m, e) => Math.max(m, e.time), Number.NEGATIVE_INFINITY);
    if (events.length === 0) {
      stats.files++;
      continue;
    }
    // A file that could not be read whole raises no rule match (the ingest would retry it, then dead-letter it).
    planned.push({
      file: f,
      deliveredAt: latest,
      identity: fileIdentity(f.key),
      events,
      groups: failed ? [] : read.groups,
    });
  }
  planned.sort(
    (a, b) => a.deliveredAt - b.deliveredAt || (a.identity < b.identity ? -1 : a.identity > b.identity ? 1 : 0),
  );
  const engine = source instanceof Replay ? source : undefined;
  const workers = rules && !rules.threads ? 0 : (options.workers ?? 0);
  let quietBefore = 0;
  let threadsFailed = false;
  // Every file named and two accounts or more: the accounts are replayed side by side, one engine per thread (and,
  // with rules, one rule engine per thread; this thread records their groups in file order).
  if (engine && workers > 1 && !planned.some((p) => p.events) && partitionAccounts(planned)) {
    const run = replayByPartition(planned, {
      config: engine.config,
      state: engine.currentState,
      workers,
      ...(options.until === undefined ? {} : { until: options.until }),
      ...(rules?.threads ? { rules: rules.threads } : {}),
    });
    try {
      let next = await run.next();
      for (; !next.done; next = await run.next()) {
        const outcome = next.value;
        const p = planned[outcome.index];
        if (outcome.kind === 'applied') stats.alreadyApplied++;
        else if (outcome.kind === 'digest') stats.digests++;
        else {
          accountFor({ file: p.file, report: outcome.report, events: outcome.events });
          if (!outcome.report.complete) {
            stats.failed++;
            continue;
          }
          stats.files++;
          stats.events += outcome.events;
          // As below: a file's rule matches come before its insights.
          if (rules) recordMatches(rules, p.identity, rules.engine.fromPortable(outcome.groups ?? []), stats);
        }
        if (outcome.kind !== 'applied') for (const insight of outcome.insights) emit(insight);
      }
      for (const insight of next.value.ticks) emit(insight);
      engine.replaceState(next.value.state);
      if (rules && next.value.observed) rules.engine.addObserved(next.value.observed);
      return stats;
    } catch (e) {
      if (!(e instanceof ReplayThreadsFailed)) throw e;
      // Replay everything again here (the engine still holds the state it started from), quietly up to where the
      // threads stopped: the replay is deterministic, so what follows is what the threads would have produced.
      options.onThreadFailure?.(e);
      quietBefore = e.resumeAt;
      // In one thread, as said: reader threads would likely fail alike (a rule file that changed, say).
      threadsFailed = true;
    } finally {
      // Stops the threads if this side stopped early.
      await run.return(undefined as never);
    }
  }
  const applied = (p: PlannedFile): boolean =>
    Boolean(
      p.file.info.account &&
        p.file.info.region &&
        source.isApplied?.(deliveredFile(p, p.file.info.account, p.file.info.region)),
    );
  // The files still to read, in the order they are applied: with reader threads, read ahead while this thread
  // replays (the threads return them in this order, deduped in this order, so the replay is the same). For the
  // engine itself the threads also build each file's delta, which it applies as `ingestFile` would.
  // With rules, files are read ahead only for the engine (the reader threads test them and send their groups).
  const readAhead = threadsFailed || (rules && !engine) ? 0 : workers;
  const toRead = planned.filter((p) => !p.digest && !p.events && !applied(p)).map((p) => p.file);
  const threads = {
    workers: readAhead,
    dedupe: (f: LocalFile) => dedupers.of(f.info.account as string),
    ...(options.onThreadFailure ? { onThreadFailure: options.onThreadFailure } : {}),
    ...(rules?.threads ? { rules: { engine: rules.engine, threads: rules.threads } } : {}),
  };
  const ahead: AsyncGenerator<FileEvents | FileDeltaRead> | undefined =
    readAhead === 0
      ? undefined
      : engine
        ? readLocalDeltas(toRead, settingsOf(engine.config).binMs, threads)
        : readLocalFiles(toRead, threads);
  try {
    for (let i = 0; i < planned.length; i++) {
      const p = planned[i];
      // Before `quietBefore` the files are applied again only to rebuild the state: nothing is counted or printed.
      const loud = i >= quietBefore;
      const say = loud ? emit : () => {};
      const located = p.file.info.account && p.file.info.region;
      if (applied(p)) {
        if (loud) stats.alreadyApplied++;
        continue;
      }
      if (p.digest) {
        if (loud) stats.digests++;
        for (const insight of source.ingestDigest?.(deliveredFile(p, p.file.info.account!, p.file.info.region!)) ?? [])
          say(insight);
        continue;
      }
      let events = p.events;
      let ruleGroups = p.groups ?? [];
      if (!events) {
        const read = ahead
          ? await nextRead(ahead, p.file)
          : await readHere(p.file, dedupers.of(p.file.info.account as string), rules?.engine);
        const count = typeof read.events === 'number' ? read.events : read.events.length;
        if (loud && !accountFor({ ...read, events: count })) continue;
        if (!read.report.complete) {
          if (loud) stats.failed++;
          // Delivered but not applied: the pipeline would dead-letter it, and no silence is blamed on the trail.
          if (located) source.unreadable?.(p.file.info.account!, p.file.info.region!, p.deliveredAt);
          continue;
        }
        if ('delta' in read && engine) {
          if (loud) {
            stats.files++;
            stats.events += count;
          }
          if (rules) recordMatches(rules, p.identity, read.groups ?? [], stats);
          for (const insight of engine.applyDelta(read.delta)) say(insight);
          continue;
        }
        events = read.events as TrailEvent[];
        ruleGroups = 'groups' in read ? (read.groups as FileGroup[]) : [];
      }
      if (loud) {
        stats.files++;
        stats.events += events.length;
      }
      // The ingest records a file's rule matches before its delta, so they come before its insights.
      if (rules) recordMatches(rules, p.identity, ruleGroups, stats);
      // One delivery file normally holds one account and region; exports may mix them.
      const groups = new Map<string, TrailEvent[]>();
      for (const ev of events) {
        const account = p.file.info.account ?? ev.account;
        const region = p.file.info.region ?? ev.region;
        const key = `${account}|${region}`;
        let list = groups.get(key);
        if (!list) {
          list = [];
          groups.set(key, list);
        }
        list.push(ev);
      }
      if (groups.size === 0 && located) groups.set(`${p.file.info.account}|${p.file.info.region}`, []);
      for (const [key, list] of groups) {
        const [account, region] = key.split('|');
        for (const insight of source.ingestFile(deliveredFile(p, account, region, groups.size > 1), list)) say(insight);
      }
    }
  } finally {
    // Stops the reader threads if the replay ended early.
    await ahead?.return(undefined);
  }
  if (options.until !== undefined) for (const insight of source.tick(options.until)) emit(insight);
  return stats;
}

/** Records a file's rule groups in the ledger (in file order) and emits the matches the file raises. */
function recordMatches(rules: DetectRules, file: string, groups: readonly FileGroup[], stats: DetectRunStats): void {
  for (const match of rules.engine.record(file, groups)) {
    stats.ruleMatches++;
    rules.emit(match);
  }
}

/** The next file of a read-ahead, which must be `file` (the replay and the readers walk the same list). */
async function nextRead<T extends { readonly file: LocalFile }>(ahead: AsyncGenerator<T>, file: LocalFile): Promise<T> {
  const next = await ahead.next();
  if (next.done || next.value.file !== file)
    throw new Error(`detect: the reader threads lost their place at ${file.path}`);
  return next.value;
}

/** One line per episode: its Start, completed by its End when there is one. */
export function formatInsightTable(insights: readonly InsightEvent[]): string {
  const episodes = new Map<string, { start?: InsightEvent; end?: InsightEvent }>();
  for (const i of insights) {
    const e = episodes.get(i.sharedEventID) ?? {};
    if (i.insightDetails.state === 'Start') e.start = i;
    else e.end = i;
    episodes.set(i.sharedEventID, e);
  }
  const rows = [...episodes.values()]
    .filter((e) => e.start)
    .map((e) => e as { start: InsightEvent; end?: InsightEvent });
  if (rows.length === 0) return 'no insights\n';
  const lines = rows.map(({ start, end }) => {
    const t = start.trailsight;
    const minutes = end ? `${end.insightDetails.insightContext.statistics.insightDuration} min` : 'open';
    return [
      start.eventTime.replace('T', ' ').slice(0, 16),
      t.detector.padEnd(13),
      `${start.recipientAccountId}/${start.awsRegion}`,
      minutes.padStart(8),
      t.explanation,
    ].join('  ');
  });
  return `${['start (UTC)     ', 'detector     ', 'account/region', 'duration', 'explanation'].join('  ')}\n${lines.join('\n')}\n`;
}

const FORMATS = ['table', 'jsonl', 'ocsf'] as const;

/** The rule configuration under `rules` in the detect configuration, the rest is the detector's. */
function splitConfig(json: unknown): { detector: unknown; rules: unknown } {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) return { detector: json, rules: undefined };
  const { rules, ...detector } = json as Record<string, unknown>;
  return { detector, rules };
}

/** Where `--state FILE` keeps the rule groups' markers, beside the engine state. */
const ledgerFile = (state: string) => `${state}.rules.json`;

async function readOptional(path: string): Promise<string | undefined> {
  return readFile(path, 'utf8').catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return undefined;
    throw e;
  });
}

/** Write then rename: an interrupted run never leaves a truncated file behind. */
async function writeAtomically(path: string, text: string): Promise<void> {
  const tmp = `${path}.tmp`;
  await mkdir(dirname(path), { recursive: true });
  await writeFile(tmp, text);
  await rename(tmp, path);
}

export const command: CliCommand = {
  summary: 'replay CloudTrail files through the detector and the rules; print insights and rule matches',
  async run(argv, io) {
    const parsed = parseOrExit('detect', HELP, argv, parse, io);
    if (typeof parsed === 'number') return parsed;
    const { values, positionals } = parsed;
    let format: (typeof FORMATS)[number];
    let until: number | undefined;
    let threads: number;
    try {
      format = choice('--format', values.format, FORMATS, 'table');
      if (positionals.length === 0) throw new UsageError('no path given');
      if (values['no-rules'] && values.rules) throw new UsageError('--rules and --no-rules contradict each other');
      if (values.until !== undefined) {
        until = Date.parse(values.until);
        if (Number.isNaN(until)) throw new UsageError(`--until must be an ISO-8601 time (got '${values.until}')`);
      }
      threads = wholeNumber('--threads', values.threads, defaultThreads(), 0);
    } catch (e) {
      if (e instanceof UsageError) return usageError('detect', io, e.message);
      throw e;
    }
    let config: ReturnType<typeof resolveDetectConfig>;
    let state: ReplayState | undefined;
    let engineRules: RuleEngine | undefined;
    let ruleThreads: ThreadRules | undefined;
    let rejectedRules = 0;
    try {
      const split = splitConfig(values.config ? JSON.parse(await readFile(values.config, 'utf8')) : {});
      config = resolveDetectConfig(split.detector);
      if (!values['no-rules']) {
        let rulesConfig = resolveRulesConfig(split.rules ?? {});
        if (values.config) rulesConfig = withFoldersFrom(rulesConfig, dirname(values.config));
        const extra = (values.rules ?? []).map((path) => ({ path }));
        rulesConfig = { ...rulesConfig, folders: [...rulesConfig.folders, ...extra] };
        const loaded = loadRules(rulesConfig);
        for (const i of loaded.issues.filter((x) => x.severity === 'rejected')) {
          rejectedRules++;
          io.stderr(`warning: rule rejected: ${i.pack}/${i.file}: ${i.construct}: ${i.message}\n`);
        }
        const saved = values.state ? await readOptional(ledgerFile(values.state)) : undefined;
        engineRules = new RuleEngine(loaded.rules, rulesConfig, saved === undefined ? undefined : parseLedger(saved));
        ruleThreads = { config: rulesConfig, digest: loaded.digest };
      }
      if (values.state) {
        const text = await readOptional(values.state);
        if (text !== undefined) state = parseReplayState(text);
      }
    } catch (e) {
      const what =
        e instanceof DetectConfigError || e instanceof SyntaxError || e instanceof RulesConfigError
          ? 'config'
          : e instanceof StateError || e instanceof LedgerStateError
            ? 'state'
            : 'input';
      io.stderr(`trailsight detect: bad ${what}: ${(e as Error).message}\n`);
      return 2;
    }
    const inputs = new InputReport('detect', io);
    const files = inputs.list(positionals, { keepDigests: true });
    const progress = new Progress(io, () => files.reduce((n, f) => n + sizeOf(f), 0));
    const engine = new Replay(config, state);
    const insights: InsightEvent[] = [];
    const matches: RuleMatch[] = [];
    const print = (detailType: string, detail: InsightEvent | RuleMatch) => {
      if (format === 'jsonl') io.stdout(`${JSON.stringify(detail)}\n`);
      else if (format === 'ocsf') io.stdout(`${JSON.stringify(toOcsf(findingFromEvent(detailType, detail)))}\n`);
    };
    const stats = await detectFiles(
      files,
      engine,
      (insight) => {
        if (format === 'table') insights.push(insight);
        else print(INSIGHT_DETAIL_TYPE, insight);
      },
      io,
      {
        until,
        workers: threads,
        inputs,
        onFileRead: (_file, bytes, events) => progress.advance(bytes, events),
        // Slower, the same result: said, not an error.
        onThreadFailure: (e) =>
          progress.warn(
            `warning: threads failed (${terminalSafe(e.message)}); going on in one thread: the same result, slower`,
          ),
        ...(engineRules
          ? {
              rules: {
                engine: engineRules,
                ...(ruleThreads ? { threads: ruleThreads } : {}),
                emit: (match: RuleMatch) => {
                  if (format === 'table') matches.push(match);
                  else print(RULE_MATCH_DETAIL_TYPE, match);
                },
              },
            }
          : {}),
      },
    );
    progress.end();
    if (format === 'table') {
      io.stdout(formatInsightTable(insights));
      if (engineRules) {
        const ledger = engineRules.ledger;
        io.stdout(`\nrule matches (count: every match of the rule by the principal in the window)\n`);
        io.stdout(formatRuleMatchTable(matches, (m) => ledger.total(m.id)));
      }
    }
    if (values.state) {
      await writeAtomically(values.state, serializeReplayState(engine.snapshot()));
      if (engineRules) await writeAtomically(ledgerFile(values.state), serializeLedger(engineRules.ledger));
    }
    const ruleStats = engineRules
      ? `; ${engineRules.ruleSet.rules.length} rules: ${engineRules.stats.hits} matches, ${engineRules.stats.suppressed} allow-listed, ${stats.ruleMatches} rule-match events`
      : '';
    io.stderr(
      `${stats.files} files, ${stats.events} events, ${stats.digests} digest files, ${inputs.notCloudTrail.length} not CloudTrail, ${stats.failed} unreadable${stats.alreadyApplied > 0 ? `, ${stats.alreadyApplied} already applied by an earlier run` : ''}${ruleStats}; ${progress.seconds} s\n`,
    );
    inputs.alreadyApplied = stats.alreadyApplied;
    const code = inputs.finish();
    return rejectedRules > 0 ? Math.max(code, EXIT.partial) : code;
  },
};

const parse = optionParser({
  format: { type: 'string' },
  state: { type: 'string' },
  config: { type: 'string' },
  until: { type: 'string' },
  rules: { type: 'string', multiple: true },
  'no-rules': { type: 'boolean' },
  threads: { type: 'string' },
});
