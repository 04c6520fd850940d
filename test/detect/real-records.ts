/**
 * Real CloudTrail records for the detection tests: the grycap day (../shared/data/grycap-cloudtrail-tracker, one
 * university account, us-east-1, 11,410 events) replayed on consecutive days as the background, and single real
 * records (Stratus Red Team detonations, Panther's rule tests, OTRF; SOURCE.md in each folder: licenses and
 * commits) re-timed and re-attributed as the attacks and look-alikes.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { DeliveredFile, DetectConfigInput, InsightEvent } from '../../lambda/core/detect';
import { Replay } from '../../lambda/core/detect';
import type { TrailEvent } from '../../lambda/core/event';
import { isSkip, normalizeRecord } from '../../lambda/core/normalize';
import { DAY, MIN } from './helpers';

export type Raw = Record<string, unknown>;

export const DATA = path.resolve(__dirname, '../../../shared/data');
export const STRATUS = 'stratus-red-team/detonation-logs';
export const ACCOUNT = '974349055189';
/** A Monday, 00:00 UTC: the first day the grycap day (a Thursday) is replayed on. */
export const T0 = Date.UTC(2026, 2, 2);

export function readJson(file: string): unknown {
  return JSON.parse(readFileSync(path.join(DATA, file), 'utf8'));
}

/** The grycap day's raw records with their offset from midnight. */
export const GRYCAP: { offset: number; raw: Raw }[] = (() => {
  const dir = path.join(DATA, 'grycap-cloudtrail-tracker/examples');
  const out: { offset: number; raw: Raw }[] = [];
  for (const name of readdirSync(dir).sort()) {
    if (!name.endsWith('.json.gz')) continue;
    const doc = JSON.parse(gunzipSync(readFileSync(path.join(dir, name))).toString('utf8')) as { Records: Raw[] };
    for (const raw of doc.Records) {
      const time = String(raw.eventTime);
      if (time.startsWith('2017-06-01')) out.push({ offset: Date.parse(time) - Date.UTC(2017, 5, 1), raw });
    }
  }
  return out;
})();

/** Who a re-attributed record names. */
export type Who = { user: string } | { role: string };

function identity(who: Who): Raw {
  if ('user' in who) {
    return {
      type: 'IAMUser',
      accountId: ACCOUNT,
      arn: `arn:aws:iam::${ACCOUNT}:user/${who.user}`,
      userName: who.user,
      principalId: 'AIDAEXAMPLE',
    };
  }
  return {
    type: 'AssumedRole',
    accountId: ACCOUNT,
    arn: `arn:aws:sts::${ACCOUNT}:assumed-role/${who.role}/session`,
    sessionContext: {
      sessionIssuer: {
        type: 'Role',
        accountId: ACCOUNT,
        arn: `arn:aws:iam::${ACCOUNT}:role/${who.role}`,
        userName: who.role,
      },
      attributes: { mfaAuthenticated: 'false' },
    },
  };
}

/** A real record shape at `time`, in `region`, by `who` (its identity and account replaced), normalized. */
export function shape(
  raw: Raw,
  time: number,
  opts: { region?: string; who?: Who; ip?: string; name?: string; errorCode?: string | null } = {},
): TrailEvent {
  const r: Raw = structuredClone(raw);
  delete r['@timestamp'];
  r.eventTime = new Date(time).toISOString().replace(/\.\d{3}Z$/, 'Z');
  r.recipientAccountId = ACCOUNT;
  if (opts.region !== undefined) r.awsRegion = opts.region;
  if (opts.who !== undefined) r.userIdentity = identity(opts.who);
  if (opts.ip !== undefined) r.sourceIPAddress = opts.ip;
  if (opts.name !== undefined) r.eventName = opts.name;
  if (opts.errorCode === null) {
    delete r.errorCode;
    delete r.errorMessage;
  } else if (opts.errorCode !== undefined) r.errorCode = opts.errorCode;
  const ev = normalizeRecord(r);
  if (isSkip(ev)) throw new Error(ev.message);
  return ev;
}

/** The grycap day, normalized once. */
const GRYCAP_EVENTS: { offset: number; ev: TrailEvent }[] = GRYCAP.flatMap(({ offset, raw }) => {
  const ev = normalizeRecord(raw);
  return isSkip(ev) ? [] : [{ offset, ev }];
});

/** The grycap day on `days` consecutive days from T0, plus `extra(day)` records on each day (Region from each record). */
export function grycapDays(days: number, extra: (dayStart: number) => TrailEvent[] = () => []): TrailEvent[] {
  const out: TrailEvent[] = [];
  for (let d = 0; d < days; d++) {
    const start = T0 + d * DAY;
    for (const { offset, ev } of GRYCAP_EVENTS) out.push({ ...ev, time: start + offset });
    out.push(...extra(start));
  }
  return out;
}

/** Cuts events into one file per Region and 5 minutes, delivered 8 minutes after the file's first bin. */
export function deliveries(events: readonly TrailEvent[]): [DeliveredFile, TrailEvent[]][] {
  const files = new Map<string, { file: DeliveredFile; events: TrailEvent[] }>();
  for (const e of [...events].sort((a, b) => a.time - b.time)) {
    const deliveredAt = Math.floor(e.time / (5 * MIN)) * 5 * MIN + 8 * MIN;
    const key = `${deliveredAt}|${e.region}`;
    let f = files.get(key);
    if (!f) {
      f = {
        file: { account: ACCOUNT, region: e.region, deliveredAt, file: `${ACCOUNT}_${e.region}_${deliveredAt}` },
        events: [],
      };
      files.set(key, f);
    }
    f.events.push(e);
  }
  return [...files.values()]
    .sort((a, b) => a.file.deliveredAt - b.file.deliveredAt || (a.file.file < b.file.file ? -1 : 1))
    .map((f) => [f.file, f.events]);
}

export function replay(events: TrailEvent[], config: DetectConfigInput = {}): InsightEvent[] {
  const r = new Replay(config);
  const out: InsightEvent[] = [];
  for (const [file, list] of deliveries(events)) out.push(...r.ingestFile(file, list));
  return out;
}

/** `n` records made by `make(t, i)`, spread evenly over `minutes` from `at`. */
export function spread(
  at: number,
  n: number,
  minutes: number,
  make: (t: number, i: number) => TrailEvent,
): TrailEvent[] {
  return Array.from({ length: n }, (_, i) => make(at + Math.floor((i * minutes * MIN) / n), i));
}

/** Distinct read-only APIs of the real grycap day, with a record of each. */
export const READ_APIS = [
  ...new Map(
    GRYCAP.map(({ raw }) => raw)
      .filter((r) => /^(Describe|List|Get)/.test(String(r.eventName)) && !r.errorCode)
      .map((r) => [String(r.eventName), r]),
  ).values(),
];
