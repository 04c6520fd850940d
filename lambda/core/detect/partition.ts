/**
 * One partition (an account, all its Regions) as a deterministic state machine over its inputs: delivered
 * files (log files and digest files, as {@link FileDelta}s) and evaluator ticks, applied in canonical order
 * (time; files before ticks at the same instant; files by identity). The CLI and the pipeline feed the same inputs in the same order and get the
 * same insights, field for field.
 *
 * A tick at which nothing is due changes nothing (not even what a later input sees), so a replay only
 * needs the ticks at or after {@link PartitionMachine.nextDue}; the pipeline's evaluator applies every tick
 * of its schedule and reaches the same state.
 */
import { compact, compactionDue, nextCompaction } from './compaction';
import { type Context, MINUTE, type PartitionData, type Settings } from './context';
import { checkDelivery, nextDeliveryCheck, recordDigest, recordLogFile } from './delivery';
import { type FileDelta, jobObservations, latestByPrincipal } from './delta';
import { endQuietEpisodes, nextQuietEnd } from './episodes';
import { testExfiltration } from './exfiltration';
import type { InsightEvent } from './insight';
import { checkJobs, jobRan, nextJobDue, observeRun } from './jobs';
import { recordProvisioning, testUnusedRegion } from './provisioning';
import { testRate } from './rate';
import { own, put } from './records';
import { hasLongTest, parseJobId } from './series';
import { testSignInAfterFailures, testSignInFailures, testSignInSpray } from './signin';
import { emptyHead, type FilePosition, lagBucket, type PartitionHead } from './state';
import type { WindowIndex } from './windows';

/**
 * Tests window `w` (of `bins` bins) of series `id` with the detector of its kind, after a file delivered in
 * `region` added counts to it. Provisioning per Region and sign-ins without MFA are tested over the long
 * window only.
 */
function testWindow(
  ctx: Context,
  index: WindowIndex,
  id: string,
  w: number,
  bins: number,
  now: number,
  region: string,
  out: InsightEvent[],
): void {
  const long = bins !== ctx.settings.config.windowBins;
  switch (id[0]) {
    case 'g':
      if (long) testUnusedRegion(ctx, index, id, w, bins, now, out);
      return;
    case 'm':
      if (long) testSignInAfterFailures(ctx, index, id, w, bins, now, region, out);
      return;
    case 'o':
      testExfiltration(ctx, index, id, w, now, region, out);
      return;
    case 'l':
      testSignInFailures(ctx, index, id, w, now, region, out);
      return;
    case 'f':
      testSignInSpray(ctx, index, id, w, now, region, out);
      return;
    default:
      testRate(ctx, index, id, w, bins, now, region, out);
  }
}

/** One input of a partition. `late`: a file applied after files that come after it in canonical order. */
export type PartitionInput =
  | { readonly kind: 'file'; readonly delta: FileDelta; readonly late?: boolean }
  | { readonly kind: 'tick'; readonly time: number };

/** The time of an input (delivery or tick). */
export function inputTime(input: PartitionInput): number {
  return input.kind === 'file' ? input.delta.deliveredAt : input.time;
}

/** Canonical order of inputs: time, files before ticks, files by identity. */
export function compareInputs(a: PartitionInput, b: PartitionInput): number {
  const dt = inputTime(a) - inputTime(b);
  if (dt !== 0) return dt;
  if (a.kind !== b.kind) return a.kind === 'file' ? -1 : 1;
  if (a.kind === 'file' && b.kind === 'file')
    return a.delta.file < b.delta.file ? -1 : a.delta.file > b.delta.file ? 1 : 0;
  return 0;
}

/** A new partition's (account's) head, starting at its first input. */
export function newHead(settings: Settings, account: string, first: number): PartitionHead {
  return emptyHead(account, first, settings.binMs, settings.settleMs);
}

/**
 * The earliest delivery time of the applied deltas whose bins the windows tested for `delta` can read (the
 * pipeline reads them back before an advance): a short window before its oldest bin, a long window before the
 * oldest bin of a series tested over it. `oldest`: the oldest bin still tested (clock − maxLateHours).
 */
export function windowHistoryFrom(settings: Settings, delta: FileDelta, oldest: number): number {
  if (delta.minBin === undefined) return Number.POSITIVE_INFINITY;
  let from = Math.max(delta.minBin, oldest) - settings.config.windowBins + 1;
  for (const [id, bins] of Object.entries(delta.series)) {
    if (!hasLongTest(id)) continue;
    for (const bin of Object.keys(bins)) from = Math.min(from, Math.max(Number(bin), oldest) - settings.longBins + 1);
  }
  // A delta holds bins up to a minute after its delivery (see DeltaBuilder).
  return from * settings.binMs - MINUTE;
}

/**
 * Sizes of deltas already serialized: by {@link serializeDelta} or {@link parseDelta}, or by a first
 * {@link deltaChars}. A delta is not changed once built (it is the stored record of its file).
 */
const deltaSizes = new WeakMap<FileDelta, number>();

/**
 * The serialized size of a delta, the unit of the compaction trigger (the same number on every side). Serializes
 * it only if its size is not known yet: the pipeline reports the size of the delta it applies, and `trailsight
 * detect` receives its reader threads' deltas as JSON; serializing each again cost the replaying thread a fifth of
 * its own work on a busy account.
 */
export function deltaChars(delta: FileDelta): number {
  let size = deltaSizes.get(delta);
  if (size === undefined) {
    size = JSON.stringify(delta).length;
    deltaSizes.set(delta, size);
  }
  return size;
}

/** A delta as JSON, its size remembered for {@link deltaChars}. */
export function serializeDelta(delta: FileDelta): string {
  const json = JSON.stringify(delta);
  deltaSizes.set(delta, json.length);
  return json;
}

/** A delta from its JSON ({@link serializeDelta}), its size known to {@link deltaChars}. */
export function parseDelta(json: string): FileDelta {
  const delta = JSON.parse(json) as FileDelta;
  deltaSizes.set(delta, json.length);
  return delta;
}

export class PartitionMachine {
  private readonly ctx: Context;

  constructor(
    settings: Settings,
    readonly head: PartitionHead,
    data: PartitionData,
    private readonly index: WindowIndex,
  ) {
    this.ctx = { settings, head, data };
  }

  /**
   * Applies one input; returns the insights it emitted in a deterministic order. The pipeline runs it on a
   * copy of the head and discards the copy when the data port recorded a miss (advance.ts).
   */
  apply(input: PartitionInput): InsightEvent[] {
    const out: InsightEvent[] = [];
    const { head } = this.ctx;
    if (head.compaction.due) compact(this.ctx);
    if (input.kind === 'tick') {
      this.timePasses(input.time, out);
      head.lastTick = Math.max(head.lastTick ?? input.time, input.time);
    } else {
      this.applyFile(input.delta, input.late === true, out);
    }
    head.compaction.due = compactionDue(this.ctx, head.clock);
    return out;
  }

  /**
   * The earliest time at which a tick can change anything: an episode going quiet, a trusted job overdue,
   * a silence long enough to report, a compaction due by time. +∞ when idle.
   */
  nextDue(): number {
    const { head, settings } = this.ctx;
    if (head.compaction.due) return head.clock;
    const cfg = settings.config;
    return Math.min(
      nextQuietEnd(this.ctx),
      cfg.gap.enabled ? nextJobDue(this.ctx) : Number.POSITIVE_INFINITY,
      nextDeliveryCheck(this.ctx),
      nextCompaction(this.ctx),
    );
  }

  /** What needs time to pass rather than files to arrive: quiet episodes end, missed runs, silences. */
  private timePasses(now: number, out: InsightEvent[]): void {
    const { head, settings } = this.ctx;
    if (now > head.clock) head.clock = now;
    endQuietEpisodes(this.ctx, now, out);
    if (settings.config.gap.enabled) checkJobs(this.ctx, now, out);
    checkDelivery(this.ctx, now, out);
  }

  private applyFile(delta: FileDelta, late: boolean, out: InsightEvent[]): void {
    const { head } = this.ctx;
    const at = delta.deliveredAt;
    // A head from a version without the Regions' provisioning memory starts keeping it now.
    head.provSince ??= at;
    // A late file is applied at the partition's current time: the time checks already ran past it.
    const now = late ? Math.max(head.clock, at) : at;
    this.timePasses(now, out);
    head.regions[delta.region] ??= { last: Number.NEGATIVE_INFINITY };
    const region = head.regions[delta.region];
    if (delta.digest) {
      // A digest file only says that the trail is still logging in its Region.
      recordDigest(this.ctx, delta.region, at, now, out);
    } else {
      this.countFile(delta, now, out);
      region.last = Math.max(region.last, at);
    }
    // Bookkeeping of the input order and of what the next compaction folds.
    const position: FilePosition = { deliveredAt: at, file: delta.file };
    if (late) head.compaction.late.push(position);
    else head.cursor = position;
    head.compaction.deltaChars += deltaChars(delta);
  }

  private countFile(delta: FileDelta, now: number, out: InsightEvent[]): void {
    const { head, settings } = this.ctx;
    const { config, binMs } = settings;
    // Delivery: what the file says of logging, and the account's silence it ends.
    recordLogFile(this.ctx, delta, now, out);
    head.lag[lagBucket(delta.lag)] += 1;
    // Halve now and then: the lag of the last weeks' files is what counts.
    if (head.lag.reduce((x, y) => x + y, 0) > 20_000) head.lag = head.lag.map((v) => Math.floor(v / 2));

    // Trusted jobs follow every run as it arrives (candidates learn at compactions), knowing when each principal
    // was last seen before this file (a run passed over is one the principal did nothing at).
    const seenBefore = new Map<string, number>();
    for (const [id, first, last, calls] of jobObservations(delta)) {
      const job = head.jobs[id];
      if (!job) continue;
      const principal = parseJobId(id).principal;
      if (!seenBefore.has(principal)) seenBefore.set(principal, own(head.seen, principal) ?? Number.NEGATIVE_INFINITY);
      if (last > (own(head.seen, principal) ?? Number.NEGATIVE_INFINITY)) put(head.seen, principal, last);
      if (observeRun(config, job, first, last, calls, seenBefore.get(principal))) jobRan(this.ctx, id, now, out);
    }
    for (const [principal, t] of latestByPrincipal(delta)) {
      const seen = own(head.seen, principal);
      if (seen !== undefined && t > seen) put(head.seen, principal, t);
    }

    // Counts, then the windows they touched: every short window, and the long window ending at the latest
    // bin with counts that holds each touched bin (in order, the bin itself).
    this.index.add(delta);
    const oldest = Math.floor((head.clock - settings.maxLateMs) / binMs);
    const { longBins } = settings;
    for (const id in delta.series) {
      const ep = head.episodes[id];
      if (!ep) continue;
      const bins = delta.series[id];
      for (const bin in bins) ep.total += bins[bin].c;
    }
    for (const id in delta.series) {
      const longTest = hasLongTest(id);
      let lastLong = Number.NEGATIVE_INFINITY;
      for (const key in delta.series[id]) {
        const bin = Number(key);
        if (bin < oldest) continue;
        for (let w = bin; w < bin + config.windowBins; w++) {
          if (w !== bin && !this.index.has(id, w)) break;
          testWindow(this.ctx, this.index, id, w, config.windowBins, now, delta.region, out);
        }
        if (!longTest) continue;
        const w = this.index.latest(id, bin, bin + longBins - 1) ?? bin;
        if (w === lastLong) continue;
        lastLong = w;
        testWindow(this.ctx, this.index, id, w, longBins, now, delta.region, out);
      }
    }
    recordProvisioning(this.ctx, delta);

    this.index.prune(oldest - Math.max(config.windowBins, longBins));
  }
}
