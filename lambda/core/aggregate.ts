/**
 * Folds events into per-minute count series, the input of baselines and detectors:
 *
 * - **API series**, keyed by account, region, eventSource, eventName and, for failed calls, errorCode
 *   (a failing call is its own series, so an error burst is visible even when the API's volume is normal),
 *   with top-k attributions: principal, user agent, source IP.
 * - **Principal series**, keyed by account and folded principal, with top-k attributions: API
 *   (`source name`), user agent, error code, source IP.
 *
 * Attributions cover the whole aggregate (one delivery file in the Lambda, a whole run in the CLI), not each minute.
 * An aggregate is mergeable (`merge` is commutative and, for the counts, associative; see {@link TopK} for the
 * attributions), so one invocation per file can add its partial counts to stored state; it serializes to a compact
 * canonical JSON (`toJSON`/`fromJSON`). Size: see docs/ingest.md (measured by test/core/aggregate.test.ts).
 */
import type { TrailEvent } from './event';
import { TopK } from './topk';

export const API_ATTRIBUTIONS = ['principal', 'userAgent', 'sourceIp'] as const;
export const PRINCIPAL_ATTRIBUTIONS = ['api', 'userAgent', 'errorCode', 'sourceIp'] as const;
export type Attribution = (typeof API_ATTRIBUTIONS)[number] | (typeof PRINCIPAL_ATTRIBUTIONS)[number];

/** One series: events per minute plus its attributions. */
export interface Series {
  /** epoch minute (`Math.floor(ms / 60000)`) → events. */
  readonly minutes: Map<number, number>;
  total: number;
  readonly top: Partial<Record<Attribution, TopK>>;
}

export interface ApiSeriesKey {
  readonly account: string;
  readonly region: string;
  readonly source: string;
  readonly name: string;
  readonly errorCode?: string;
}

export interface PrincipalSeriesKey {
  readonly account: string;
  readonly principal: string;
}

const SEP = '\t';

export function apiKey(e: ApiSeriesKey): string {
  return e.account + SEP + e.region + SEP + e.source + SEP + e.name + SEP + (e.errorCode ?? '');
}

export function parseApiKey(key: string): ApiSeriesKey {
  const [account, region, source, name, errorCode] = key.split(SEP);
  return errorCode ? { account, region, source, name, errorCode } : { account, region, source, name };
}

export function principalKey(e: PrincipalSeriesKey): string {
  return e.account + SEP + e.principal;
}

export function parsePrincipalKey(key: string): PrincipalSeriesKey {
  const i = key.indexOf(SEP);
  return { account: key.slice(0, i), principal: key.slice(i + 1) };
}

/** The serialized form (version 1). Keys are sorted, so equal aggregates serialize to equal strings. */
export interface AggregateJson {
  readonly v: 1;
  /** Top-k capacity. */
  readonly k: number;
  readonly events: number;
  readonly reads: number;
  readonly writes: number;
  readonly errors: number;
  readonly first: number | null;
  readonly last: number | null;
  /** Every attribution value (principal, user agent, IP, …) once, sorted; sketches refer to them by index. */
  readonly strings: string[];
  /** `[key, firstMinute, [Δminute, count, Δminute, count, …], {attribution: [total, stringIndex, count, …]}]` */
  readonly apis: SeriesJson[];
  readonly principals: SeriesJson[];
}

type SeriesJson = [string, number, number[], Record<string, Array<string | number>>];

export interface AggregateOptions {
  /** Keys kept per attribution sketch. @default 8 */
  readonly topK?: number;
}

function newSeries(names: ReadonlyArray<Attribution>, k: number): Series {
  const top: Partial<Record<Attribution, TopK>> = {};
  for (const n of names) top[n] = new TopK(k);
  return { minutes: new Map(), total: 0, top };
}

export class TrailAggregate {
  readonly apis = new Map<string, Series>();
  readonly principals = new Map<string, Series>();
  events = 0;
  reads = 0;
  writes = 0;
  errors = 0;
  /** Earliest and latest eventTime, epoch ms. */
  first: number | undefined;
  last: number | undefined;
  readonly topK: number;

  constructor(options: AggregateOptions = {}) {
    this.topK = options.topK ?? 8;
  }

  add(e: TrailEvent): void {
    this.events++;
    if (e.readOnly) this.reads++;
    else this.writes++;
    if (e.errorCode !== undefined) this.errors++;
    if (this.first === undefined || e.time < this.first) this.first = e.time;
    if (this.last === undefined || e.time > this.last) this.last = e.time;
    const minute = Math.floor(e.time / 60000);

    const api = e.source + ' ' + e.name;
    // Inline apiKey()/principalKey(): this runs once per event.
    const ak = e.account + SEP + e.region + SEP + e.source + SEP + e.name + SEP + (e.errorCode ?? '');
    let series = this.apis.get(ak);
    if (!series) {
      series = newSeries(API_ATTRIBUTIONS, this.topK);
      this.apis.set(ak, series);
    }
    series.total++;
    series.minutes.set(minute, (series.minutes.get(minute) ?? 0) + 1);
    const at = series.top;
    at.principal?.add(e.principal);
    if (e.userAgent !== undefined) at.userAgent?.add(e.userAgent);
    if (e.sourceIp !== undefined) at.sourceIp?.add(e.sourceIp);

    const pk = e.account + SEP + e.principal;
    let p = this.principals.get(pk);
    if (!p) {
      p = newSeries(PRINCIPAL_ATTRIBUTIONS, this.topK);
      this.principals.set(pk, p);
    }
    p.total++;
    p.minutes.set(minute, (p.minutes.get(minute) ?? 0) + 1);
    const pt = p.top;
    pt.api?.add(api);
    if (e.userAgent !== undefined) pt.userAgent?.add(e.userAgent);
    if (e.errorCode !== undefined) pt.errorCode?.add(e.errorCode);
    if (e.sourceIp !== undefined) pt.sourceIp?.add(e.sourceIp);
  }

  /** A new aggregate holding both (inputs unchanged). */
  static merge(a: TrailAggregate, b: TrailAggregate): TrailAggregate {
    const out = new TrailAggregate({ topK: Math.min(a.topK, b.topK) });
    out.events = a.events + b.events;
    out.reads = a.reads + b.reads;
    out.writes = a.writes + b.writes;
    out.errors = a.errors + b.errors;
    out.first = minDefined(a.first, b.first);
    out.last = maxDefined(a.last, b.last);
    mergeSeriesMaps(out.apis, a.apis, b.apis);
    mergeSeriesMaps(out.principals, a.principals, b.principals);
    return out;
  }

  toJSON(): AggregateJson {
    const all = new Set<string>();
    for (const map of [this.apis, this.principals]) {
      for (const s of map.values())
        for (const t of Object.values(s.top)) for (const k of (t as TopK).counts.keys()) all.add(k);
    }
    const strings = [...all].sort();
    const index = new Map(strings.map((k, i) => [k, i]));
    return {
      v: 1,
      k: this.topK,
      events: this.events,
      reads: this.reads,
      writes: this.writes,
      errors: this.errors,
      first: this.first ?? null,
      last: this.last ?? null,
      strings,
      apis: seriesToJson(this.apis, index),
      principals: seriesToJson(this.principals, index),
    };
  }

  static fromJSON(json: AggregateJson): TrailAggregate {
    if (json?.v !== 1) throw new Error(`unsupported aggregate version ${String(json?.v)}`);
    const out = new TrailAggregate({ topK: json.k });
    out.events = json.events;
    out.reads = json.reads;
    out.writes = json.writes;
    out.errors = json.errors;
    out.first = json.first ?? undefined;
    out.last = json.last ?? undefined;
    seriesFromJson(out.apis, json.apis, json.k, json.strings);
    seriesFromJson(out.principals, json.principals, json.k, json.strings);
    return out;
  }
}

function minDefined(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined ? b : b === undefined ? a : Math.min(a, b);
}

function maxDefined(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined ? b : b === undefined ? a : Math.max(a, b);
}

function cloneSeries(s: Series): Series {
  const top: Partial<Record<Attribution, TopK>> = {};
  for (const [n, t] of Object.entries(s.top) as Array<[Attribution, TopK]>)
    top[n] = TopK.merge(t, new TopK(t.capacity));
  return { minutes: new Map(s.minutes), total: s.total, top };
}

function mergeSeriesMaps(out: Map<string, Series>, a: Map<string, Series>, b: Map<string, Series>): void {
  for (const [k, s] of a) out.set(k, cloneSeries(s));
  for (const [k, s] of b) {
    const have = out.get(k);
    if (!have) {
      out.set(k, cloneSeries(s));
      continue;
    }
    have.total += s.total;
    for (const [m, c] of s.minutes) have.minutes.set(m, (have.minutes.get(m) ?? 0) + c);
    for (const [n, t] of Object.entries(s.top) as Array<[Attribution, TopK]>) {
      const mine = have.top[n];
      have.top[n] = mine ? TopK.merge(mine, t) : t;
    }
  }
}

function seriesToJson(map: Map<string, Series>, strings: Map<string, number>): SeriesJson[] {
  const out: SeriesJson[] = [];
  for (const key of [...map.keys()].sort()) {
    const s = map.get(key) as Series;
    const minutes = [...s.minutes.keys()].sort((x, y) => x - y);
    const first = minutes[0];
    const deltas: number[] = [];
    let prev = first;
    for (const m of minutes) {
      deltas.push(m - prev, s.minutes.get(m) as number);
      prev = m;
    }
    const top: Record<string, Array<string | number>> = {};
    for (const n of Object.keys(s.top).sort()) top[n] = (s.top[n as Attribution] as TopK).toJSON(strings);
    out.push([key, first, deltas, top]);
  }
  return out;
}

function seriesFromJson(out: Map<string, Series>, json: SeriesJson[], k: number, strings: readonly string[]): void {
  for (const [key, first, deltas, top] of json) {
    const minutes = new Map<number, number>();
    let m = first;
    let total = 0;
    for (let i = 0; i + 1 < deltas.length; i += 2) {
      m += deltas[i];
      minutes.set(m, deltas[i + 1]);
      total += deltas[i + 1];
    }
    const tops: Partial<Record<Attribution, TopK>> = {};
    for (const [n, t] of Object.entries(top)) tops[n as Attribution] = TopK.fromJSON(k, t, strings);
    out.set(key, { minutes, total, top: tops });
  }
}
