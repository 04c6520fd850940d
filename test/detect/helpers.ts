/** Small synthetic CloudTrail streams for the detection tests: a steady account plus scripted bursts. */
import type { DeliveredFile, DetectConfigInput, InsightEvent } from '../../lambda/core/detect';
import { Replay } from '../../lambda/core/detect';
import type { TrailEvent } from '../../lambda/core/event';

export const ACCOUNT = '111122223333';
export const REGION = 'us-east-1';
export const MIN = 60_000;
export const HOUR = 3_600_000;
export const DAY = 86_400_000;
/** A Monday, 00:00 UTC. */
export const T0 = Date.UTC(2026, 2, 2);

export const arn = (name: string, account = ACCOUNT): string =>
  name.startsWith('role/') || name.startsWith('user/') ? `arn:aws:iam::${account}:${name}` : name;

export function ev(
  time: number,
  name: string,
  opts: Partial<Omit<TrailEvent, 'time' | 'name'>> & { who?: string } = {},
): TrailEvent {
  const { who, ...rest } = opts;
  const readOnly = rest.readOnly ?? /^(Describe|List|Get)/.test(name);
  return {
    time,
    account: rest.account ?? ACCOUNT,
    region: REGION,
    source:
      rest.source ??
      (name.startsWith('Create') && /User|AccessKey|Policy/.test(name) ? 'iam.amazonaws.com' : 'ec2.amazonaws.com'),
    name,
    readOnly,
    readOnlyInferred: false,
    principal: arn(who ?? 'role/app', rest.account ?? ACCOUNT),
    principalKind: (who ?? 'role/app').startsWith('user/') ? 'IAMUser' : 'AssumedRole',
    userAgent: 'aws-cli/2.15',
    management: true,
    ...rest,
  };
}

/** A tiny deterministic PRNG so the background is reproducible. */
export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Background of an ordinary account from `from` to `to`: a web role reading steadily, a person working
 * office hours, and an hourly job (three APIs at :07), unless `skipJob(runTime)` says otherwise.
 */
export function background(
  from: number,
  to: number,
  opts: { seed?: number; skipJob?: (t: number) => boolean; account?: string } = {},
): TrailEvent[] {
  const r = rng(opts.seed ?? 1);
  const account = opts.account ?? ACCOUNT;
  const out: TrailEvent[] = [];
  for (let t = from; t < to; t += 5 * MIN) {
    const n = Math.floor(r() * 4) + 2;
    for (let i = 0; i < n; i++) out.push(ev(t + r() * 5 * MIN, 'DescribeInstances', { who: 'role/web', account }));
    const hour = new Date(t).getUTCHours();
    if (hour >= 8 && hour < 18 && r() < 0.5) {
      out.push(ev(t + r() * 5 * MIN, r() < 0.8 ? 'DescribeVolumes' : 'CreateTags', { who: 'user/alice', account }));
    }
  }
  for (let t = from - (from % HOUR) + 7 * MIN; t < to; t += HOUR) {
    if (t < from || opts.skipJob?.(t)) continue;
    for (const name of ['DescribeSnapshots', 'CreateSnapshot', 'DeleteSnapshot']) {
      out.push(ev(t + r() * 20_000, name, { who: 'role/backup', account }));
    }
  }
  return out.sort((a, b) => a.time - b.time);
}

/** Cuts a stream into 5-minute delivery files, each delivered 3 minutes after its last possible event. */
export function deliveries(events: readonly TrailEvent[], account = ACCOUNT): [DeliveredFile, TrailEvent[]][] {
  const byFile = new Map<number, TrailEvent[]>();
  for (const e of events) {
    const at = Math.floor(e.time / (5 * MIN)) * 5 * MIN + 8 * MIN;
    const list = byFile.get(at) ?? [];
    list.push(e);
    byFile.set(at, list);
  }
  return [...byFile.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([deliveredAt, list]) => [{ account, region: REGION, deliveredAt, file: `${account}-${deliveredAt}` }, list]);
}

/** Runs files through a replay and returns every insight. */
export function run(files: [DeliveredFile, TrailEvent[]][], replay = new Replay()): InsightEvent[] {
  const out: InsightEvent[] = [];
  for (const [f, events] of files) out.push(...replay.ingestFile(f, events));
  return out;
}

export function starts(insights: readonly InsightEvent[], detector?: string): InsightEvent[] {
  return insights.filter(
    (i) => i.insightDetails.state === 'Start' && (!detector || i.trailsight.detector === detector),
  );
}

/** Three days of background, then `day4` events mixed into a fourth day of background. */
export function scenario(
  day4: TrailEvent[],
  opts: { skipJob?: (t: number) => boolean; config?: DetectConfigInput; seed?: number } = {},
): { insights: InsightEvent[]; replay: Replay } {
  const replay = new Replay(opts.config ?? {});
  const events = [...background(T0, T0 + 4 * DAY, opts), ...day4].sort((a, b) => a.time - b.time);
  return { insights: run(deliveries(events), replay), replay };
}

/** `n` events spread over `minutes` from `at`. */
export function burst(
  at: number,
  n: number,
  minutes: number,
  make: (t: number, i: number) => TrailEvent,
): TrailEvent[] {
  return Array.from({ length: n }, (_, i) => make(at + (i * minutes * MIN) / n, i));
}
