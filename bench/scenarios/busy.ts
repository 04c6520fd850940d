/**
 * A busy account + Region built from real record shapes: N assumed roles, each calling its own set of APIs
 * (real eventName/eventSource/readOnly/requestParameters shapes from the grycap day), at random times, in
 * delivery files of a fixed size, a file every few minutes. The state issue's profile (issue 9): "5,000
 * active principals × 30 APIs each, for 30 days of 5-minute files".
 *
 * Files have the same size whatever N is (`eventsPerFile`): a busier partition spreads the same calls over
 * more principals, so measurements per file compare the same work on partitions of different sizes.
 * Generated day by day, at bench or test time, never committed.
 */
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { RawRecord } from './generate';
import { loadBackground } from './generate';
import { Rng } from './random';

export interface BusyOptions {
  readonly principals: number;
  /** APIs per principal (drawn from the real day's APIs). @default 30 */
  readonly apisPerPrincipal?: number;
  /** Events per delivery file. @default 100 */
  readonly eventsPerFile?: number;
  /** Minutes between files. @default 5 */
  readonly fileMinutes?: number;
  readonly account?: string;
  readonly region?: string;
  /** First day, UTC midnight (epoch ms). @default 2026-03-02 */
  readonly start?: number;
  readonly seed?: number;
}

export interface BusyFile {
  readonly key: string;
  readonly body: Buffer;
  readonly deliveredAt: number;
  readonly events: number;
}

const DAY = 86_400_000;
const MINUTE = 60_000;

interface Api {
  readonly template: RawRecord;
}

/** One template record per API of the real day (the first seen), error-free calls only. */
function apiTemplates(background: readonly RawRecord[]): Api[] {
  const byName = new Map<string, RawRecord>();
  for (const r of background) {
    const key = `${r.eventSource}|${r.eventName}`;
    if (!r.errorCode && !byName.has(key)) byName.set(key, r);
  }
  return [...byName.values()].map((template) => ({ template }));
}

function stamp(t: number): string {
  const d = new Date(t).toISOString();
  return `${d.slice(0, 4)}${d.slice(5, 7)}${d.slice(8, 10)}T${d.slice(11, 13)}${d.slice(14, 16)}Z`;
}

/**
 * The files of day `dayIndex` (0-based) of a busy partition: one file every `fileMinutes` holding the calls
 * of that interval, `eventsPerFile` of them, each by a random principal calling one of its own APIs.
 */
export function* busyDay(
  background: readonly RawRecord[],
  options: BusyOptions,
  dayIndex: number,
): Generator<BusyFile> {
  const account = options.account ?? '123456789012';
  const region = options.region ?? 'us-east-1';
  const start = options.start ?? Date.UTC(2026, 2, 2);
  const perFile = options.eventsPerFile ?? 100;
  const fileMs = (options.fileMinutes ?? 5) * MINUTE;
  const apisPer = options.apisPerPrincipal ?? 30;
  const apis = apiTemplates(background);
  // Each principal's APIs and agent are fixed for the whole run (seeded by the principal's index alone).
  const principalApis = (i: number): number[] => {
    const r = new Rng((options.seed ?? 1) * 1_000_003 + i);
    return Array.from({ length: apisPer }, () => r.int(0, apis.length - 1));
  };
  const cache = new Map<number, number[]>();
  const rng = new Rng((options.seed ?? 1) * 7919 + dayIndex);
  const dayStart = start + dayIndex * DAY;
  for (let t = dayStart; t < dayStart + DAY; t += fileMs) {
    const deliveredAt = t + fileMs;
    const records: RawRecord[] = [];
    for (let e = 0; e < perFile; e++) {
      const p = rng.int(0, options.principals - 1);
      let mine = cache.get(p);
      if (!mine) {
        mine = principalApis(p);
        if (cache.size > 20_000) cache.clear();
        cache.set(p, mine);
      }
      const api = apis[mine[rng.int(0, mine.length - 1)]];
      const time = t + Math.floor(rng.next() * fileMs);
      const role = `app-${String(p).padStart(5, '0')}`;
      const id = createHash('sha1')
        .update(`${options.seed ?? 1}|${dayIndex}|${t}|${e}`)
        .digest('hex');
      records.push({
        ...api.template,
        eventTime: new Date(time).toISOString().replace(/\.\d{3}Z$/, 'Z'),
        eventID: `${id.slice(0, 8)}-${id.slice(8, 12)}-4${id.slice(13, 16)}-8${id.slice(17, 20)}-${id.slice(20, 32)}`,
        awsRegion: region,
        recipientAccountId: account,
        sourceIPAddress: `10.${(p >> 8) & 255}.${p & 255}.7`,
        userAgent: 'aws-sdk-go-v2/1.30.3 os/linux lang/go#1.22.5 md/GOOS#linux',
        userIdentity: {
          type: 'AssumedRole',
          principalId: `AROAEXAMPLE${p}:session`,
          arn: `arn:aws:sts::${account}:assumed-role/${role}/session`,
          accountId: account,
          sessionContext: {
            sessionIssuer: {
              type: 'Role',
              principalId: `AROAEXAMPLE${p}`,
              arn: `arn:aws:iam::${account}:role/${role}`,
              accountId: account,
              userName: role,
            },
          },
        },
      });
    }
    records.sort((a, b) => (String(a.eventTime) < String(b.eventTime) ? -1 : 1));
    const day = new Date(deliveredAt).toISOString().slice(0, 10).replace(/-/g, '/');
    const suffix = createHash('sha1').update(`${deliveredAt}`).digest('hex').slice(0, 16);
    const name = `${account}_CloudTrail_${region}_${stamp(deliveredAt)}_${suffix}.json.gz`;
    yield {
      key: `AWSLogs/${account}/CloudTrail/${region}/${day}/${name}`,
      body: gzipSync(JSON.stringify({ Records: records }), { level: 1 }),
      deliveredAt,
      events: records.length,
    };
  }
}

/** The real day's records (the templates' source), loaded once. */
export function busyBackground(grycapDay: string): RawRecord[] {
  return loadBackground(grycapDay);
}
