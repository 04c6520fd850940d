/**
 * The naive baseline of the evaluation: per account/region and per API (and per API + error code), the mean
 * and standard deviation of 10-minute call counts over all history, alerting when a window exceeds
 * mean + k·σ. No seasonality, no per-principal series, no count model — what a first attempt looks like.
 * Same output shape as the engine so it is scored by the same code.
 */
import type { DeliveredFile } from '../../lambda/core/detect';
import { deterministicUuid, type InsightEvent } from '../../lambda/core/detect';
import type { TrailEvent } from '../../lambda/core/event';

const WINDOW = 10 * 60_000;
const SETTLE = 30 * 60_000;

interface Series {
  s1: number;
  s2: number;
}

interface Part {
  account: string;
  region: string;
  first: number;
  /** Windows folded so far (zero windows included). */
  n: number;
  folded: number;
  series: Map<string, Series>;
  recent: Map<string, Map<number, { c: number; t0: number; p: Map<string, number> }>>;
  open: Map<string, { id: string; last: number }>;
}

function iso(ms: number): string {
  return `${new Date(Math.floor(ms / 1000) * 1000).toISOString().slice(0, 19)}Z`;
}

export class NaiveMeanSigma {
  private clock = 0;
  private readonly parts = new Map<string, Part>();

  constructor(
    private readonly k = 3,
    private readonly learningHours = 48,
  ) {}

  ingestFile(file: DeliveredFile, events: Iterable<TrailEvent>): InsightEvent[] {
    const out = this.tick(file.deliveredAt);
    const key = `${file.account}|${file.region}`;
    let part = this.parts.get(key);
    if (!part) {
      part = {
        account: file.account,
        region: file.region,
        first: file.deliveredAt,
        n: 0,
        folded: Math.floor((file.deliveredAt - SETTLE) / WINDOW) - 1,
        series: new Map(),
        recent: new Map(),
        open: new Map(),
      };
      this.parts.set(key, part);
    }
    const touched = new Set<string>();
    for (const ev of events) {
      const w = Math.floor(ev.time / WINDOW);
      const keys = [`${ev.source}|${ev.name}`];
      if (ev.errorCode) keys.push(`${ev.source}|${ev.name}|${ev.errorCode}`);
      for (const s of keys) {
        let bins = part.recent.get(s);
        if (!bins) {
          bins = new Map();
          part.recent.set(s, bins);
        }
        let b = bins.get(w);
        if (!b) {
          b = { c: 0, t0: ev.time, p: new Map() };
          bins.set(w, b);
        }
        b.c++;
        b.t0 = Math.min(b.t0, ev.time);
        b.p.set(ev.principal, (b.p.get(ev.principal) ?? 0) + 1);
        touched.add(`${s}\u0000${w}`);
      }
    }
    for (const t of touched) {
      const [s, wText] = t.split('\u0000');
      const w = Number(wText);
      const b = part.recent.get(s)?.get(w);
      if (!b || part.open.has(s) || part.n === 0) continue;
      if (this.clock - part.first < this.learningHours * 3_600_000) continue;
      const st = part.series.get(s) ?? { s1: 0, s2: 0 };
      const mean = st.s1 / part.n;
      const sd = Math.sqrt(Math.max(0, st.s2 / part.n - mean * mean));
      if (b.c <= mean + this.k * sd) continue;
      const id = deterministicUuid('naive', part.account, part.region, s, w);
      part.open.set(s, { id, last: w });
      const [source, name, code] = s.split('|');
      const top = [...b.p.entries()].sort((x, y) => y[1] - x[1])[0];
      out.push({
        eventVersion: '1.08',
        eventTime: iso(b.t0),
        awsRegion: part.region,
        eventID: deterministicUuid(id, 'Start'),
        eventType: 'AwsCloudTrailInsight',
        recipientAccountId: part.account,
        sharedEventID: id,
        insightDetails: {
          state: 'Start',
          eventSource: source,
          eventName: name,
          insightType: code ? 'ApiErrorRateInsight' : 'ApiCallRateInsight',
          ...(code ? { errorCode: code } : {}),
          insightContext: {
            statistics: {
              baseline: { average: mean / 10 },
              insight: { average: b.c / 10 },
              baselineDuration: 0,
              insightDuration: 10,
            },
            attributions: [],
          },
        },
        eventCategory: 'Insight',
        trailsight: {
          detector: code ? 'error-rate' : 'call-rate',
          detectedAt: iso(this.clock),
          ...(top && top[1] * 2 >= b.c ? { principal: top[0] } : {}),
          eventNames: [name],
          errorCodes: code ? [code] : [],
          observed: b.c,
          expected: mean,
          score: sd > 0 ? (b.c - mean) / sd : Number.POSITIVE_INFINITY,
          windowMinutes: 10,
          explanation: `${name}: ${b.c} calls in 10 min, mean ${mean.toFixed(2)} + ${this.k}σ exceeded`,
        },
      });
    }
    return out;
  }

  tick(now: number): InsightEvent[] {
    if (now > this.clock) this.clock = now;
    const horizon = Math.floor((this.clock - SETTLE) / WINDOW) - 1;
    for (const part of this.parts.values()) {
      if (horizon <= part.folded) continue;
      part.n += horizon - part.folded;
      part.folded = horizon;
      for (const [s, bins] of part.recent) {
        for (const [w, b] of bins) {
          if (w > horizon) continue;
          const st = part.series.get(s) ?? { s1: 0, s2: 0 };
          st.s1 += b.c;
          st.s2 += b.c * b.c;
          part.series.set(s, st);
          bins.delete(w);
          const ep = part.open.get(s);
          if (ep && w > ep.last) ep.last = w;
        }
        if (bins.size === 0) part.recent.delete(s);
      }
      // Episodes end after two quiet windows (End records are not scored, so none are emitted).
      for (const [s, ep] of part.open) if (horizon - ep.last >= 2 && !part.recent.has(s)) part.open.delete(s);
    }
    return [];
  }
}
