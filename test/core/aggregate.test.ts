import { createReadStream } from 'node:fs';
import { apiKey, parseApiKey, TrailAggregate } from '../../lambda/core/aggregate';
import type { TrailEvent } from '../../lambda/core/event';
import { normalizeRecord } from '../../lambda/core/normalize';
import { TopK } from '../../lambda/core/topk';
import { DATA_DIR, drain, record, walk } from './helpers';

function event(overrides: Record<string, unknown> = {}): TrailEvent {
  return normalizeRecord(record(overrides)) as TrailEvent;
}

function aggregateOf(events: TrailEvent[], topK?: number): TrailAggregate {
  const a = new TrailAggregate({ topK });
  for (const e of events) a.add(e);
  return a;
}

const json = (a: TrailAggregate) => JSON.stringify(a);

/** The 2017-06-01 day of grycap (11,410 events, real principals, agents and IPs). */
let day: TrailEvent[];
beforeAll(async () => {
  day = [];
  const files = walk(DATA_DIR).filter((f) => f.includes('/grycap-cloudtrail-tracker/examples/'));
  for (const file of files) day.push(...(await drain(createReadStream(file), { file })).events);
});

describe('TrailAggregate', () => {
  test('counts per minute per account/region/source/API, with failed calls in their own series', () => {
    const a = aggregateOf([
      event({ eventTime: '2025-03-01T09:15:02Z' }),
      event({ eventTime: '2025-03-01T09:15:59Z' }),
      event({ eventTime: '2025-03-01T09:16:00Z' }),
      event({ eventTime: '2025-03-01T09:16:00Z', errorCode: 'AccessDenied' }),
    ]);
    const minute = Date.UTC(2025, 2, 1, 9, 15) / 60000;
    const ok = a.apis.get(
      apiKey({ account: '111122223333', region: 'us-east-1', source: 'iam.amazonaws.com', name: 'CreateUser' }),
    );
    expect([...(ok?.minutes ?? [])]).toEqual([
      [minute, 2],
      [minute + 1, 1],
    ]);
    const denied = a.apis.get(
      apiKey({
        account: '111122223333',
        region: 'us-east-1',
        source: 'iam.amazonaws.com',
        name: 'CreateUser',
        errorCode: 'AccessDenied',
      }),
    );
    expect(denied?.total).toBe(1);
    expect(a.principals.get('111122223333\tarn:aws:iam::111122223333:user/alice')?.total).toBe(4);
    expect(a.principals.get('111122223333\tarn:aws:iam::111122223333:user/alice')?.top.errorCode?.top()).toEqual([
      ['AccessDenied', 1],
    ]);
    expect({ events: a.events, writes: a.writes, reads: a.reads, errors: a.errors }).toEqual({
      events: 4,
      writes: 4,
      reads: 0,
      errors: 1,
    });
  });

  test('round-trips through JSON', () => {
    const a = aggregateOf(day);
    const back = TrailAggregate.fromJSON(JSON.parse(json(a)));
    expect(json(back)).toBe(json(a));
    expect(back.apis.size).toBe(a.apis.size);
  });

  test('fails to load an unknown serialized version', () => {
    expect(() => TrailAggregate.fromJSON({ v: 2 } as never)).toThrow(/version/);
  });

  test('keys survive the round trip', () => {
    const key = { account: '1', region: 'r', source: 's', name: 'n', errorCode: 'E' };
    expect(parseApiKey(apiKey(key))).toEqual(key);
  });

  describe('merge', () => {
    const thirds = () => {
      const n = Math.floor(day.length / 3);
      // Interleaved, so every part sees every hour and most principals.
      return [0, 1, 2].map((r) => aggregateOf(day.filter((_e, i) => i % 3 === r).slice(0, n + 1)));
    };

    test('is commutative', () => {
      const [a, b] = thirds();
      expect(json(TrailAggregate.merge(a, b))).toBe(json(TrailAggregate.merge(b, a)));
    });

    test('is associative while the attributions fit in the sketch', () => {
      const parts = [0, 1, 2].map((r) =>
        aggregateOf(
          day.filter((_e, i) => i % 3 === r),
          1000,
        ),
      );
      const [a, b, c] = parts;
      const left = TrailAggregate.merge(TrailAggregate.merge(a, b), c);
      const right = TrailAggregate.merge(a, TrailAggregate.merge(b, c));
      expect(json(left)).toBe(json(right));
      // … and equals aggregating everything at once.
      const all = aggregateOf(
        day.filter((_e, i) => i % 3 <= 2),
        1000,
      );
      expect(json(left)).toBe(json(all));
    });

    test('keeps counts exact and attributions within the Misra–Gries bound in any merge order', () => {
      const [a, b, c] = thirds();
      const whole = aggregateOf([...day]);
      const orders = [
        TrailAggregate.merge(TrailAggregate.merge(a, b), c),
        TrailAggregate.merge(a, TrailAggregate.merge(b, c)),
        TrailAggregate.merge(TrailAggregate.merge(c, a), b),
      ];
      // Exact per-principal truth, to check the sketches against.
      const truth = new Map<string, Map<string, number>>();
      for (const e of day) {
        const k = `${e.account}\t${e.principal}`;
        const m = truth.get(k) ?? new Map<string, number>();
        m.set(e.source + ' ' + e.name, (m.get(e.source + ' ' + e.name) ?? 0) + 1);
        truth.set(k, m);
      }
      for (const merged of orders) {
        expect(merged.events).toBe(whole.events);
        for (const [k, s] of merged.apis)
          expect([...s.minutes].sort()).toEqual([...(whole.apis.get(k)?.minutes ?? [])].sort());
        for (const [k, s] of merged.principals) {
          const sketch = s.top.api as TopK;
          const exact = truth.get(k) as Map<string, number>;
          const bound = sketch.total / (sketch.capacity + 1);
          for (const [api, n] of exact) {
            const est = sketch.counts.get(api) ?? 0;
            expect(est).toBeLessThanOrEqual(n);
            expect(n - est).toBeLessThanOrEqual(bound);
            if (n > bound) expect(sketch.counts.has(api)).toBe(true);
          }
        }
      }
    });

    test('leaves its inputs unchanged', () => {
      const [a, b] = thirds();
      const before = json(a);
      TrailAggregate.merge(a, b);
      expect(json(a)).toBe(before);
    });
  });

  test('serializes to under 9 KB per thousand events on a real day (documented in docs/ingest.md)', () => {
    const bytes = Buffer.byteLength(json(aggregateOf(day)));
    const perThousand = (bytes / day.length) * 1000;
    expect(day.length).toBe(11410);
    expect(perThousand).toBeLessThan(9 * 1024);
  });
});

describe('TopK', () => {
  test('keeps the heaviest keys and counts exactly while under capacity', () => {
    const t = new TopK(3);
    for (const k of ['a', 'b', 'a', 'c', 'a', 'b']) t.add(k);
    expect(t.top()).toEqual([
      ['a', 3],
      ['b', 2],
      ['c', 1],
    ]);
    expect(t.errorBound).toBe(0);
  });

  test('drops light keys beyond capacity and bounds the error', () => {
    const t = new TopK(2);
    for (let i = 0; i < 100; i++) t.add('heavy');
    for (let i = 0; i < 30; i++) t.add(`light-${i}`);
    expect(t.counts.size).toBeLessThanOrEqual(2);
    expect(t.top(1)[0][0]).toBe('heavy');
    expect(100 - (t.counts.get('heavy') ?? 0)).toBeLessThanOrEqual(t.errorBound + 1e-9);
  });
});
