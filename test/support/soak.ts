/**
 * The fault soak (test/pipeline/soak.test.ts, and `npm run soak` with more seeds, days and accounts):
 * a multi-day scenario of several accounts (bench/scenarios/generate.ts, in us-east-1) plus a busy
 * Region (bench/scenarios/busy.ts, eu-west-1) of the first account, so that one partition (an account) holds
 * two Regions, and an hourly digest file for each account's Regions (recorded by name), replayed through the
 * deployed handlers (the pipeline harness) while faults are injected at random points from a seed
 * (test/support/faults.ts), then compared with `trailsight detect` on the same files.
 *
 * What happens to the files, from the seed:
 * - each file reaches the queue 5 s to 7 min after its delivery time (the soak's reorder window is 10 minutes;
 *   files of a partition are 5 minutes apart, so some arrive before the one delivered before them), in
 *   batches of 10 spread over three ingest invocations at once, so files of one partition are processed
 *   concurrently (in one batch and in parallel invocations);
 * - some files are notified twice (EventBridge delivers at least once): within a minute of the first, racing
 *   it, or hours later;
 * - a failed record comes back 15 s later (the SQS retry, shortened so that a retried file still lands
 *   within the reorder window: a file recorded after it is a *late* file, applied out of canonical order,
 *   which the equality with the CLI does not cover; advance.test.ts tests late files), and goes to the
 *   dead-letter queue after 5 receives; one truncated file is planted to get there;
 * - each evaluation's segments go to separate evaluator invocations (batch size 1), some received twice at
 *   once, some received again while the next evaluation runs (a stale message of an earlier time);
 * - the state store, the bus and S3 get the faults of {@link FaultRates}.
 *
 * What must hold at the end (each violation is one line of `problems`):
 * - **insights**: the eventIDs published (plus those dead-lettered by the outbox, each with its reason) are
 *   exactly `trailsight detect`'s on the files recorded, and every copy published equals the CLI's field for
 *   field (duplicates are allowed: delivery is at least once);
 * - **every file applied exactly once**: the final head of every partition equals the head of the CLI's
 *   replay state (`--state`), and so do its pages. The head holds effects of each file that are not
 *   idempotent (the delivery-lag histogram counts every file applied, the series and job runs count
 *   calls, the cursor names the last file), so a file skipped or applied twice shows; a file applied out of
 *   order (a late file) shows in the late index, which must stay empty;
 * - **no file lost**: every file has its delta stored, except files dead-lettered (each with the reason
 *   the ingest logged); nothing is waiting (outboxes, late hints, work left at the last evaluation);
 * - **nothing failed silently**: every failure the handlers reported is an injected fault or the planted
 *   file's; the evaluator reported no unrecorded files except in the planted file's partition; every fault
 *   kind with a rate above zero was injected at least once (a soak that injected nothing proves nothing).
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, type S3Client } from '@aws-sdk/client-s3';
import { busyDay } from '../../bench/scenarios/busy';
import { generateScenario, loadBackground, type RawRecord } from '../../bench/scenarios/generate';
import { Rng } from '../../bench/scenarios/random';
import { command as detectCommand } from '../../cli/commands/detect';
import { encodeJson } from '../../lambda/adapters/dynamodb-state-store';
import {
  emptyPage,
  headToJson,
  type InsightEvent,
  type Page,
  pageIds,
  parseReplayState,
  type ReplayState,
} from '../../lambda/core/detect';
import { classifyKey } from '../../lambda/core/keys';
import { LATE_MARGIN_MS } from '../../lambda/pipeline/ingest';
import { type PartitionStore, partitionKey, type SegmentMessage } from '../../lambda/pipeline/ports';
import { GRYCAP_DAY } from '../pipeline/helpers';
import { FaultInjector, type FaultRates, isInjected } from './faults';
import { createStateTables, type HarnessFile, PipelineHarness } from './pipeline-harness';

const MINUTE = 60_000;
const DAY = 86_400_000;
export const SOAK_START = Date.UTC(2026, 2, 2);

/** The soak's fault rates, per call: the state store throttled or crashing after a write, the bus and S3 failing. */
export const SOAK_RATES: FaultRates = {
  throttle: 0.03,
  crashAfterWrite: 0.03,
  crashBeforePublish: 0.08,
  crashAfterPublish: 0.08,
  refuseEntries: 0.08,
  s3SlowDown: 0.02,
  s3Reset: 0.02,
};

export interface SoakOptions {
  readonly seed: number;
  /** Accounts of the generated scenario (0: only the busy partition), over `days` days, the first to learn. */
  readonly accounts: number;
  readonly days: number;
  /**
   * The busy Region (eu-west-1) of the first account (its own account when `accounts` is 0): principals × 30
   * APIs, a file every 5 minutes, over the last `days` days (0.5: the last 12 hours).
   */
  readonly busy?: { readonly principals: number; readonly days: number };
  /** An hourly digest file for each Region of each account, from its first log file to its last. @default true */
  readonly digests?: boolean;
  readonly rates: FaultRates;
  /** Probability that a file is notified a second time. @default 0 */
  readonly duplicates?: number;
  /** Probability that an evaluation's segment messages are each received twice at once. @default 0 */
  readonly evaluatorDuplicates?: number;
  /** Probability that the previous evaluation's messages are received again during an evaluation. @default 0 */
  readonly staleEvaluations?: number;
  /**
   * Seconds between a file's delivery and its notification, drawn uniformly. With a duplicate up to a minute
   * later and four retries 15 s apart, all must land within the reorder window less the ingest's late
   * margin (checked). @default [5, 420]
   */
  readonly arrivalSeconds?: readonly [number, number];
  /** Plant a truncated log file (it must reach the dead-letter queue with its reason). @default true */
  readonly poison?: boolean;
  /** Engine settings of both sides (the CLI gets the same). */
  readonly detector: Record<string, unknown>;
  /** Stand-ins for S3 and DynamoDB. @default - objects in memory, the in-memory state store */
  readonly s3?: S3Client;
  readonly dynamo?: DynamoDBClient;
  /** A fresh directory for the generated files and the CLI's state (removed at the end). */
  readonly dir: string;
  readonly log?: (line: string) => void;
}

export interface SoakReport {
  readonly seed: number;
  readonly partitions: number;
  /** Files (digest files included), and the Regions of every partition. */
  readonly files: number;
  readonly digests: number;
  readonly regions: number;
  readonly events: number;
  /** Notifications sent (duplicates included), and the receives they took (retries included). */
  readonly notifications: number;
  readonly duplicates: number;
  readonly receives: number;
  readonly deadLettered: { key: string; reason: string }[];
  /** Insights the bus kept refusing, dead-lettered by the outbox. */
  readonly insightsDeadLettered: number;
  readonly evaluations: number;
  readonly evaluatorDuplicates: number;
  readonly staleEvaluations: number;
  readonly settleRuns: number;
  readonly conflicts: number;
  /** Failures the handlers reported: files, partitions (and coordinator runs), segment messages. */
  readonly ingestFailures: number;
  readonly evaluationFailures: number;
  readonly messageFailures: number;
  /** Files that reached the queue before a file of their partition delivered earlier. */
  readonly reordered: number;
  /** Calls of each state-store method (through the fault injector). */
  readonly storeCalls: Record<string, number>;
  readonly injected: Record<string, number>;
  /** Distinct insights, and copies published. */
  readonly insights: number;
  readonly published: number;
  readonly state: PartitionState[];
  readonly seconds: { generate: number; replay: number; cli: number };
  readonly problems: string[];
}

interface PlannedFile extends HarnessFile {
  readonly path: string;
  readonly deliveredAt: number;
}

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)],
  );
}

/** A compact UTC time as CloudTrail names files with it: `YYYYMMDDTHHMMSSZ`. */
const compactUtc = (t: number) => new Date(t).toISOString().replace(/[-:]|\.\d{3}/g, '');

/**
 * Hourly digest files, five minutes past each hour, for each account and Region of `logs`, from the hour of
 * its first log file to the hour after its last. The ingest and the CLI record a digest by its key alone;
 * the body is a small placeholder.
 */
function digestFiles(logs: readonly PlannedFile[], root: string): PlannedFile[] {
  const spans = new Map<string, [number, number]>();
  for (const f of logs) {
    const info = classifyKey(f.key);
    const at = `${info.account}|${info.region}`;
    const span = spans.get(at) ?? [f.deliveredAt, f.deliveredAt];
    spans.set(at, [Math.min(span[0], f.deliveredAt), Math.max(span[1], f.deliveredAt)]);
  }
  const out: PlannedFile[] = [];
  for (const [at, [first, last]] of spans) {
    const [account, region] = at.split('|');
    for (let t = Math.floor(first / 3_600_000) * 3_600_000 + 5 * MINUTE; t <= last + 3_600_000; t += 3_600_000) {
      const day = new Date(t).toISOString().slice(0, 10).replace(/-/g, '/');
      const name = `${account}_CloudTrail-Digest_${region}_trailsight_us-east-1_${compactUtc(t)}.json.gz`;
      const key = `AWSLogs/${account}/CloudTrail-Digest/${region}/${day}/${name}`;
      const body = gzipSync(JSON.stringify({ awsAccountId: account, digestEndTime: new Date(t).toISOString() }));
      const file = path.join(root, key);
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, body);
      out.push({ key, body, path: file, deliveredAt: t });
    }
  }
  return out;
}

/** Writes the scenario, the busy Region, the digests and the planted file under `dir`; returns them in delivery order. */
function generate(options: SoakOptions, background: RawRecord[]): { files: PlannedFile[]; poison?: PlannedFile } {
  const files: PlannedFile[] = [];
  const add = (root: string, file: string) => {
    const key = path.relative(root, file).split(path.sep).join('/');
    const info = classifyKey(key);
    if (info.kind !== 'log' || info.deliveredAt === undefined) return;
    files.push({ key, body: readFileSync(file), path: file, deliveredAt: info.deliveredAt });
  };
  if (options.accounts > 0) {
    const root = path.join(options.dir, 'scenario');
    generateScenario(
      background,
      {
        seed: options.seed,
        accounts: options.accounts,
        days: options.days,
        warmupDays: 1,
        startDay: SOAK_START,
        region: 'us-east-1',
      },
      root,
    );
    for (const f of walk(root)) add(root, f);
  }
  if (options.busy) {
    const root = path.join(options.dir, 'busy');
    // The first account (in the order of account ids), or its own when there is no scenario.
    const from = SOAK_START + (options.days - options.busy.days) * DAY;
    for (let day = Math.floor(options.days - options.busy.days); day < options.days; day++) {
      for (const f of busyDay(
        background,
        {
          principals: options.busy.principals,
          seed: options.seed,
          start: SOAK_START,
          region: 'eu-west-1',
          ...(files.length > 0 ? { account: files.map((f) => classifyKey(f.key).account ?? '').sort()[0] } : {}),
        },
        day,
      )) {
        if (f.deliveredAt <= from) continue;
        const file = path.join(root, f.key);
        mkdirSync(path.dirname(file), { recursive: true });
        writeFileSync(file, f.body);
        files.push({ key: f.key, body: f.body, path: file, deliveredAt: f.deliveredAt });
      }
    }
  }
  if (options.digests !== false) files.push(...digestFiles(files, path.join(options.dir, 'digests')));
  files.sort((a, b) => a.deliveredAt - b.deliveredAt || (a.key < b.key ? -1 : 1));
  if (options.poison === false || files.length === 0) return { files };
  // A truncated copy of a log file from the middle of the run, under a name of its own in the same partition.
  const logs = files.filter((f) => classifyKey(f.key).kind === 'log');
  const model = logs[Math.floor(logs.length / 2)];
  const key = model.key.replace(/_[A-Za-z0-9]+\.json\.gz$/, '_TruncatedPoison1.json.gz');
  const file = path.join(options.dir, 'poison', key);
  mkdirSync(path.dirname(file), { recursive: true });
  const body = model.body.subarray(0, Math.floor(model.body.length / 2));
  writeFileSync(file, body);
  const poison = { key, body, path: file, deliveredAt: model.deliveredAt };
  return { files: [...files, poison], poison };
}

/** `trailsight detect` on files: its insights and its replay state (heads and pages), from `--state`. */
export async function detectReference(
  paths: readonly string[],
  detector: Record<string, unknown>,
  until: number,
  dir: string,
): Promise<{ insights: InsightEvent[]; state: ReplayState; problems: string[] }> {
  const config = path.join(dir, 'detector.json');
  const state = path.join(dir, 'cli-state.json');
  writeFileSync(config, JSON.stringify(detector));
  const out: string[] = [];
  const err: string[] = [];
  const code = await detectCommand.run(
    // Without the rules: the harness's ingest runs none (rule-matches.test.ts compares those).
    [
      ...paths,
      '--format',
      'jsonl',
      '--no-rules',
      '--until',
      new Date(until).toISOString(),
      '--config',
      config,
      '--state',
      state,
    ],
    { stdout: (t) => out.push(t), stderr: (t) => err.push(t), stderrIsTty: false },
  );
  const problems = code === 0 ? [] : [`trailsight detect exited ${code}: ${err.join('').slice(0, 500)}`];
  const insights = out
    .join('')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as InsightEvent);
  return { insights, state: parseReplayState(readFileSync(state, 'utf8')), problems };
}

/** JSON with sorted keys (pages compared whatever order their maps were filled in). */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

/** The paths (down to `depth` levels) at which two JSON values differ. */
function differingKeys(a: unknown, b: unknown, depth = 3, prefix = ''): string[] {
  if (canonical(a) === canonical(b)) return [];
  const objects = a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b);
  if (!objects || depth === 0) return [prefix || '(value)'];
  const at = (o: unknown, k: string) => (o as Record<string, unknown>)[k];
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
  return keys.flatMap((k) => differingKeys(at(a, k), at(b, k), depth - 1, prefix ? `${prefix}.${k}` : k));
}

const sample = (list: readonly string[], n = 5) =>
  `${list.slice(0, n).join(', ')}${list.length > n ? ` … (${list.length})` : ''}`;

/**
 * What differs between the insights the pipeline published (copies allowed: delivery is at least once; and
 * those dead-lettered after the bus kept refusing them) and the CLI's: missing, extra, or not field for field
 * the same.
 */
export function insightProblems(
  published: readonly InsightEvent[],
  expected: readonly InsightEvent[],
  deadLettered: readonly { reason: string; insight: InsightEvent }[] = [],
): string[] {
  const problems: string[] = [];
  const byId = new Map(expected.map((i) => [i.eventID, i]));
  const seen = new Set<string>();
  const mismatched: string[] = [];
  for (const i of published) {
    seen.add(i.eventID);
    const e = byId.get(i.eventID);
    if (e && canonical(e) !== canonical(i)) {
      const paths = differingKeys(e, i);
      const at = (o: unknown, p: string) => p.split('.').reduce((v, k) => (v as Record<string, unknown>)?.[k], o);
      const detail = paths.map((p) => `${p}: CLI ${JSON.stringify(at(e, p))}, pipeline ${JSON.stringify(at(i, p))}`);
      mismatched.push(`${i.eventID} (${detail.join('; ').slice(0, 600)})`);
    }
  }
  for (const d of deadLettered) {
    if (!d.reason) problems.push(`insight ${d.insight.eventID} dead-lettered without a reason`);
    seen.add(d.insight.eventID);
  }
  const missing = [...byId.keys()].filter((id) => !seen.has(id));
  const extra = [...seen].filter((id) => !byId.has(id));
  if (missing.length > 0) problems.push(`insights of the CLI never published: ${sample(missing)}`);
  if (extra.length > 0) problems.push(`insights published that the CLI does not emit: ${sample(extra)}`);
  if (mismatched.length > 0) problems.push(`insights published unlike the CLI's: ${sample(mismatched)}`);
  return problems;
}

export interface PartitionState {
  readonly partition: string;
  /** The head and the pages, gzip JSON bytes as stored, and the largest page. */
  readonly headBytes: number;
  readonly pagesBytes: number;
  readonly pages: number;
  readonly largestPageBytes: number;
}

/** DynamoDB's item size limit: a head or a page above it could not be written. */
export const ITEM_LIMIT_BYTES = 400 * 1024;

/**
 * What differs between the pipeline's state and the CLI's replay state: the partitions, and each one's head
 * and pages; what still waits in the pipeline (an outbox, a late hint, a late file); an item over DynamoDB's
 * limit (the in-memory store does not refuse one). Also the size of each partition's state.
 */
export async function stateProblems(
  store: PartitionStore,
  reference: ReplayState,
): Promise<{ problems: string[]; state: PartitionState[] }> {
  const problems: string[] = [];
  const state: PartitionState[] = [];
  const expected = Object.keys(reference.partitions).sort();
  const heads: string[] = [];
  for await (const s of store.scanHeads(0, 1)) {
    heads.push(s.key);
    if (s.outbox) problems.push(`${s.key}: insights left in the outbox`);
    if (s.lateHint) problems.push(`${s.key}: a late file still waits`);
  }
  if (canonical(heads.sort()) !== canonical(expected)) {
    problems.push(`partitions: pipeline ${heads.join(', ')}; CLI ${expected.join(', ')}`);
  }
  for (const key of expected) {
    const mine = await store.getHead(key);
    const theirs = reference.partitions[key];
    if (!mine?.head) {
      problems.push(`${key}: no head in the pipeline`);
      continue;
    }
    if (headToJson(mine.head) !== headToJson(theirs.head)) {
      const a = JSON.parse(headToJson(mine.head));
      const b = JSON.parse(headToJson(theirs.head));
      problems.push(`${key}: head differs from the CLI's in ${differingKeys(a, b, 1).join(', ')}`);
    }
    const ids = pageIds(mine.head);
    const pages = await store.getPages(key, ids);
    let pagesBytes = 0;
    let largestPageBytes = 0;
    for (const id of ids) {
      const page: Page = pages.get(id) ?? emptyPage();
      const bytes = encodeJson(page).length;
      pagesBytes += bytes;
      largestPageBytes = Math.max(largestPageBytes, bytes);
      const reference = theirs.pages[id] ?? emptyPage();
      if (canonical(page) !== canonical(reference)) {
        problems.push(`${key}: page ${id} differs from the CLI's in ${sample(differingKeys(page, reference, 3), 10)}`);
      }
    }
    if (mine.bytes > ITEM_LIMIT_BYTES || largestPageBytes > ITEM_LIMIT_BYTES) {
      problems.push(`${key}: an item over DynamoDB's limit (head ${mine.bytes} B, largest page ${largestPageBytes} B)`);
    }
    state.push({
      partition: key,
      headBytes: encodeJson(mine.head).length,
      pagesBytes,
      pages: ids.length,
      largestPageBytes,
    });
    const late = await store.queryLate(key);
    if (late.length > 0) problems.push(`${key}: files applied out of order (late): ${sample(late.map((l) => l.file))}`);
  }
  return { problems, state };
}

/** The files of `files` whose delta the store holds (read a day at a time), and their events. */
async function recordedFiles<F extends HarnessFile & { deliveredAt: number }>(
  store: PartitionStore,
  files: readonly F[],
): Promise<{ recorded: F[]; events: number }> {
  const partitionOf = (f: HarnessFile) => partitionKey(classifyKey(f.key).account ?? '');
  const stored = new Set<string>();
  let events = 0;
  const first = Math.min(...files.map((f) => f.deliveredAt));
  const last = Math.max(...files.map((f) => f.deliveredAt));
  for (const key of new Set(files.map(partitionOf))) {
    for (let from = first; from <= last; from += DAY) {
      for (const d of await store.queryDeltas(key, from, Math.min(from + DAY - 1, last))) {
        stored.add(`${key}|${d.file}`);
        events += d.events;
      }
    }
  }
  const name = (f: HarnessFile) => f.key.slice(f.key.lastIndexOf('/') + 1);
  return { recorded: files.filter((f) => stored.has(`${partitionOf(f)}|${name(f)}`)), events };
}

/** Runs one soak; never throws for a violated property (see `problems`), only for a broken setup. */
export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const log = options.log ?? (() => undefined);
  const problems: string[] = [];
  const started = Date.now();
  rmSync(options.dir, { recursive: true, force: true });
  mkdirSync(options.dir, { recursive: true });
  try {
    const { files, poison } = generate(options, loadBackground(GRYCAP_DAY));
    const generated = Date.now();
    const rng = new Rng(options.seed);
    const evaluationRng = new Rng(options.seed + 1);
    const detector = options.detector;
    const injector = new FaultInjector(options.seed, options.rates);
    const bucket = `soak-${options.seed}-${started.toString(36)}`;
    if (options.s3) await options.s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const tablePrefix = `${bucket}-`;
    if (options.dynamo) await createStateTables(options.dynamo, tablePrefix);

    // Insights the bus kept refusing (the insight dead-letter queue).
    const insightDeadLetters: { reason: string; partition: string; insight: InsightEvent }[] = [];
    // Evaluations: each segment in its own invocation, some twice at once, some with an earlier time's again.
    let previous: SegmentMessage[] = [];
    let evaluatorDuplicates = 0;
    let staleEvaluations = 0;
    let loggedDay = -1;
    const evaluatorInvocations = (messages: readonly SegmentMessage[], scheduled: number): SegmentMessage[][] => {
      const day = Math.floor((scheduled - SOAK_START) / DAY);
      if (day > loggedDay) {
        loggedDay = day;
        log(
          `seed ${options.seed}: evaluating day ${day + 1}, ${((Date.now() - generated) / 1000).toFixed(0)} s into the replay`,
        );
      }
      const out = messages.map((m) => [m]);
      if (evaluationRng.chance(options.evaluatorDuplicates ?? 0)) {
        evaluatorDuplicates++;
        out.push(...messages.map((m) => [m]));
      }
      const stale = evaluationRng.chance(options.staleEvaluations ?? 0);
      if (stale && previous.length > 0 && previous[0].scheduled < scheduled) {
        staleEvaluations++;
        out.push(previous);
      }
      previous = [...messages];
      return out;
    };
    const h = new PipelineHarness({
      bucket,
      detector,
      tablePrefix,
      ...(options.s3 ? { s3: options.s3 } : {}),
      ...(options.dynamo ? { dynamo: options.dynamo } : {}),
      ingestConcurrency: 3,
      batchSize: 10,
      maxReceiveCount: 5,
      retrySeconds: 15,
      evaluatorInvocations,
      wrap: (ports) => ({
        ...injector.ports(ports),
        deadLetters: { send: async (item) => void insightDeadLetters.push(item) },
      }),
    });
    const store: PartitionStore = h.state;
    // More scan segments than the partitions need: segments are evaluated by separate invocations at once.
    await store.raiseSegmentsNeeded(2);

    // Notifications: each file some minutes after its delivery; some a second time, soon or hours later.
    const arrivals = new Map<HarnessFile, number>();
    const notifications: HarnessFile[] = [];
    let duplicates = 0;
    const last = Math.max(...files.map((f) => f.deliveredAt));
    const tickMs = ((detector.tickMinutes as number | undefined) ?? 1) * MINUTE;
    const reorderMs = ((detector.reorderMinutes as number | undefined) ?? 2) * MINUTE;
    const [lo, hi] = options.arrivalSeconds ?? [5, 420];
    const faulty = Object.values(options.rates).some((r) => r > 0);
    const latest = hi + (options.duplicates ? 60 : 0) + (faulty ? 4 * 15 : 0);
    if (latest * 1000 >= reorderMs - LATE_MARGIN_MS) {
      throw new Error(
        `notifications up to ${latest} s after delivery would make files late (reorder window ${reorderMs / MINUTE} min)`,
      );
    }
    // The last evaluation is at a scheduled time of the grid; `until` is what it applies up to.
    const finalTick = Math.ceil((last + 3 * 3_600_000) / tickMs) * tickMs;
    const until = finalTick - reorderMs;
    for (const f of files) {
      const first = f.deliveredAt + rng.uniform(lo * 1000, hi * 1000);
      notifications.push(f);
      arrivals.set(f, first);
      if (!rng.chance(options.duplicates ?? 0)) continue;
      duplicates++;
      const again: HarnessFile = { key: f.key, body: f.body };
      const later = rng.chance(0.5)
        ? first + rng.uniform(0, 60_000)
        : Math.min(f.deliveredAt + rng.uniform(20 * MINUTE, 6 * 3_600_000), until);
      notifications.push(again);
      arrivals.set(again, later);
    }
    // Files of one partition that reach the queue in another order than their delivery.
    let reordered = 0;
    const lastArrival = new Map<string, number>();
    for (const f of files) {
      const partition = partitionKey(classifyKey(f.key).account ?? '');
      const at = arrivals.get(f) ?? 0;
      if (at < (lastArrival.get(partition) ?? 0)) reordered++;
      lastArrival.set(partition, Math.max(at, lastArrival.get(partition) ?? 0));
    }
    log(`seed ${options.seed}: ${files.length} files, ${notifications.length} notifications; replaying`);

    await h.replay(notifications, until, (f) => arrivals.get(f) ?? 0);
    let settleRuns = 0;
    try {
      settleRuns = await h.settle(finalTick);
    } catch (error) {
      problems.push(`the last evaluation never settled: ${(error as Error).message}`);
    }
    const replayed = Date.now();

    // The CLI on every file the pipeline recorded; every other file dead-lettered with its reason.
    const { recorded, events } = await recordedFiles(store, files);
    const lost = files.filter((f) => !recorded.includes(f));
    const deadLettered = new Map(h.deadLettered.map((d) => [d.key, d.reason]));
    for (const f of lost) {
      const reason = deadLettered.get(f.key);
      if (reason === undefined) problems.push(`${f.key} was never recorded, and not dead-lettered`);
      else if (!/receives; last: [a-z-]+: \S/.test(reason)) {
        problems.push(`${f.key} dead-lettered without a reason: ${reason}`);
      }
    }
    if (poison && !lost.includes(poison)) problems.push(`the truncated file ${poison.key} was recorded`);
    const reference = await detectReference(
      recorded.map((f) => f.path),
      detector,
      until,
      options.dir,
    );
    problems.push(...reference.problems);
    const cliDone = Date.now();

    problems.push(...insightProblems(h.sink.published, reference.insights, insightDeadLetters));
    const compared = await stateProblems(store, reference.state);
    problems.push(...compared.problems);

    // Failures: each injected, or the planted file's.
    const poisonKey = poison?.key;
    const unexplained = h.ingestFailures.filter(
      (f) =>
        !isInjected(`${f.error.message} ${String((f.error as { cause?: Error }).cause?.message ?? '')}`) &&
        f.key !== poisonKey,
    );
    if (unexplained.length > 0) {
      problems.push(
        `ingest failures not injected: ${sample(unexplained.map((f) => `${f.key}: ${f.kind}: ${f.error.message}`))}`,
      );
    }
    let evaluationFailures = 0;
    let messageFailures = 0;
    for (const f of h.failures as Record<string, string>[]) {
      if ('itemIdentifier' in f) messageFailures++;
      else {
        evaluationFailures++;
        const message = f.error ?? f.coordinator ?? JSON.stringify(f);
        if (!isInjected(message)) problems.push(`evaluation failure not injected: ${JSON.stringify(f).slice(0, 300)}`);
      }
    }
    const scanFaults =
      (injector.injected['throttle:scanHeads'] ?? 0) +
      (injector.injected['throttle:raiseSegmentsNeeded'] ?? 0) +
      (injector.injected['crashAfterWrite:raiseSegmentsNeeded'] ?? 0);
    if (messageFailures > scanFaults) {
      problems.push(`${messageFailures} segment messages failed, more than the ${scanFaults} faults injected in scans`);
    }
    const strays = h.unrecorded.filter(
      (u) => !lost.some((f) => partitionKey(classifyKey(f.key).account ?? '') === u.partition),
    );
    if (strays.length > 0) problems.push(`unrecorded files reported: ${JSON.stringify(strays.slice(0, 5))}`);
    for (const [kind, rate] of Object.entries(options.rates)) {
      if (rate > 0 && !injector.injected[kind]) problems.push(`no ${kind} fault was injected`);
    }

    return {
      seed: options.seed,
      partitions: compared.state.length,
      files: files.length,
      digests: files.filter((f) => classifyKey(f.key).kind === 'digest').length,
      regions: new Set(files.map((f) => `${classifyKey(f.key).account}|${classifyKey(f.key).region}`)).size,
      events,
      notifications: notifications.length,
      duplicates,
      receives: h.ingestFailures.length + notifications.length - h.deadLettered.length,
      deadLettered: h.deadLettered,
      insightsDeadLettered: insightDeadLetters.length,
      evaluations: h.evaluations,
      evaluatorDuplicates,
      staleEvaluations,
      settleRuns,
      conflicts: h.conflicts,
      ingestFailures: h.ingestFailures.length,
      evaluationFailures,
      messageFailures,
      reordered,
      storeCalls: injector.calls,
      injected: injector.injected,
      insights: new Set(h.sink.published.map((i) => i.eventID)).size,
      published: h.sink.published.length,
      state: compared.state,
      seconds: {
        generate: (generated - started) / 1000,
        replay: (replayed - generated) / 1000,
        cli: (cliDone - replayed) / 1000,
      },
      problems,
    };
  } finally {
    rmSync(options.dir, { recursive: true, force: true });
  }
}
