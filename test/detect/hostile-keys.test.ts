/**
 * Text from the logs keys the engine's records (user agents, principals, API names, source IPs), and whoever calls
 * an API chooses some of it. `constructor`, `toString` and `__proto__` must count like any other key: not read as
 * Object's own members, not dropped as a prototype, and the state must survive JSON as it was.
 */
import {
  buildDelta,
  deltaChars,
  parseDelta,
  parseReplayState,
  Replay,
  serializeDelta,
  serializeReplayState,
} from '../../lambda/core/detect';
import { OTHER_ATTRIBUTION } from '../../lambda/core/detect/delta';
import { ACCOUNT, ev, MIN, REGION, T0 } from './helpers';

const HOSTILE = ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf'];

const file = (deliveredAt: number, name: string) => ({ account: ACCOUNT, region: REGION, deliveredAt, file: name });

describe('keys that are names of Object members', () => {
  test('count exactly in a delta: user agents, principals, API names and source IPs', () => {
    const events = HOSTILE.flatMap((text, i) =>
      Array.from({ length: i + 1 }, () =>
        ev(T0 + MIN, text, { userAgent: text, who: text, sourceIp: text, readOnly: true }),
      ),
    );
    const delta = buildDelta(file(T0 + 5 * MIN, 'f1'), events, 5 * MIN);
    // The largest count of each key in any series' bin (Maps: a plain object here would have the same problem).
    const agents = new Map<string, number>();
    const names = new Map<string, number>();
    for (const bins of Object.values(delta.series)) {
      for (const counts of Object.values(bins)) {
        for (const [k, v] of Object.entries(counts.a ?? {})) agents.set(k, Math.max(agents.get(k) ?? 0, v));
        for (const [k, v] of Object.entries(counts.n ?? {})) names.set(k, Math.max(names.get(k) ?? 0, v));
      }
    }
    const expected = new Map(HOSTILE.map((text, i) => [text, i + 1]));
    expect(agents).toEqual(expected);
    expect(names).toEqual(expected);
    expect(JSON.stringify(delta)).not.toMatch(/native code|NaN|null/);
  });

  test('survive a delta crossing threads as JSON, whose size is then the JSON length', () => {
    const events = HOSTILE.map((text) => ev(T0 + MIN, text, { userAgent: text, who: text, sourceIp: text }));
    const delta = buildDelta(file(T0 + 5 * MIN, 'f1'), events, 5 * MIN);
    const json = serializeDelta(delta);
    expect(json).toBe(JSON.stringify(delta));
    expect(deltaChars(delta)).toBe(json.length);
    const back = parseDelta(json);
    expect(back).toEqual(delta);
    expect(Object.keys(Object.values(back.series)[0])).toEqual(Object.keys(Object.values(delta.series)[0]));
    expect(JSON.stringify(back)).toBe(json);
    expect(deltaChars(back)).toBe(json.length);
  });

  test('count exactly in a capped attribution map: the top entries by count (ties by name), the rest summed', () => {
    // 20 callers of one API in one bin: the five hostile names 30 down to 26 calls, fifteen roles two calls each.
    const roles = Array.from({ length: 15 }, (_, k) => `role/r${String(k).padStart(2, '0')}`);
    const callers = [...HOSTILE.map((text, i) => [text, 30 - i] as const), ...roles.map((r) => [r, 2] as const)];
    const events = callers.flatMap(([principal, calls]) =>
      Array.from({ length: calls }, () => ev(T0 + MIN, 'TerminateInstances', { principal, readOnly: false })),
    );
    const delta = buildDelta(file(T0 + 5 * MIN, 'f1'), events, 5 * MIN);
    const [bin] = Object.values(delta.series['c|us-east-1|ec2.amazonaws.com|TerminateInstances']);
    const expected = [...callers.slice(0, 16), [OTHER_ATTRIBUTION, 4 * 2]];
    expect(Object.entries(bin.p ?? {})).toEqual(expected);
    expect(Object.entries(JSON.parse(JSON.stringify(bin)).p)).toEqual(expected);
  });

  test('a replay over them keeps numbers in its state, and the state reads back the same', () => {
    const engine = new Replay({ learningHours: 1 });
    for (let h = 0; h < 48; h++) {
      const t = T0 + h * 60 * MIN;
      const events = HOSTILE.map((text) =>
        ev(t + MIN, text, { userAgent: text, who: text, sourceIp: text, readOnly: true }),
      );
      engine.ingestFile(file(t + 5 * MIN, `f${h}`), events);
    }
    const text = serializeReplayState(engine.snapshot());
    expect(text).not.toMatch(/native code|NaN/);
    const partition = engine.snapshot().partitions[ACCOUNT];
    const seen = Object.assign({}, ...Object.values(partition.pages).map((p) => p.seen), partition.head.seen);
    for (const text of HOSTILE)
      expect(Object.hasOwn(seen, text) || Object.hasOwn(partition.head.seen, text)).toBe(true);
    expect(serializeReplayState(parseReplayState(text))).toBe(text);
  });
});
