/**
 * The engine around the rules: the eventName/eventSource index, rule selection (levels, enable/disable,
 * superseded rules), allow-lists, grouping by aligned windows (order-independent), the configuration resolver,
 * and the reader hook that hands each raw record to the rules.
 */
import { Readable } from 'node:stream';
import { EventIdDeduper } from '../../lambda/core/dedupe';
import { readTrailEvents } from '../../lambda/core/reader';
import {
  type CompiledRule,
  compileRules,
  DEFAULT_RULES_CONFIG,
  GroupLedger,
  groupFileHits,
  groupId,
  planRules,
  RULE_MATCH_DETAIL_TYPE,
  RULE_MATCH_SOURCE,
  RuleEngine,
  RuleSet,
  type RulesConfig,
  RulesConfigError,
  resolveRulesConfig,
} from '../../lambda/core/rules';
import type { RuleHit } from '../../lambda/core/rules/ruleset';
import { TEST_PACK, toEvent } from './helpers';

const MIN = 60_000;
const T0 = Date.UTC(2026, 0, 5, 10, 0, 0);

function rule(name: string, detection: string, extra = ''): string {
  return `title: ${name}\nid: id-${name}\nname: ${name}\nauthor: Tester\nlevel: ${/level:/.test(extra) ? '' : 'medium'}\n${extra}logsource:\n    product: aws\n    service: cloudtrail\ndetection:\n${detection
    .trim()
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n')}\n`.replace('level: \n', '');
}

function rules(...texts: string[]): CompiledRule[] {
  const loaded = compileRules(
    texts.map((text, i) => ({ text, file: `r${i}.yml`, pack: TEST_PACK })),
    { placeholders: {} },
  );
  expect(loaded.issues.filter((i) => i.severity === 'rejected')).toEqual([]);
  return loaded.rules;
}

function record(time: number, name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    eventVersion: '1.08',
    eventTime: new Date(time).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    eventSource: 'ec2.amazonaws.com',
    eventName: name,
    awsRegion: 'us-east-1',
    eventID: `ev-${time}-${name}`,
    recipientAccountId: '111122223333',
    userIdentity: { type: 'IAMUser', arn: 'arn:aws:iam::111122223333:user/alice', accountId: '111122223333' },
    ...extra,
  };
}

const SG = rule(
  'sg',
  "selection:\n    eventName: ['CreateSecurityGroup', 'AuthorizeSecurityGroupIngress']\ncondition: selection",
);
const ROOT = rule('root', "selection:\n    userIdentity.type: 'Root'\ncondition: selection", 'level: high\n');
const IAM = rule('iam', "selection:\n    eventSource: 'iam.amazonaws.com'\ncondition: selection");

describe('RuleSet: an event is tested only against the rules that can match it', () => {
  test('eventName rules, eventSource rules and the unindexed residue', () => {
    const set = new RuleSet(rules(SG, ROOT, IAM));
    const names = (list: readonly CompiledRule[]) => list.map((r) => r.ref.name);
    expect(names(set.candidates('ec2.amazonaws.com', 'CreateSecurityGroup'))).toEqual(['sg', 'root']);
    expect(names(set.candidates('EC2.amazonaws.com', 'createsecuritygroup'))).toEqual(['sg', 'root']);
    expect(names(set.candidates('ec2.amazonaws.com', 'DescribeInstances'))).toEqual(['root']);
    expect(names(set.candidates('iam.amazonaws.com', 'CreateUser'))).toEqual(['root', 'iam']);
    expect(names(set.unindexed)).toEqual(['root']);
  });

  test('rules outside the candidates are never evaluated', () => {
    const compiled = rules(SG, IAM);
    let calls = 0;
    const counted = compiled.map((r) => ({
      ...r,
      test: (x: Record<string, unknown>) => {
        calls++;
        return r.test(x);
      },
    }));
    const set = new RuleSet(counted);
    const hits: RuleHit[] = [];
    for (let i = 0; i < 100; i++) {
      const r = record(T0 + i, 'DescribeInstances');
      set.match(toEvent(r), r, (h) => hits.push(h));
    }
    expect(calls).toBe(0);
    const r = record(T0, 'CreateSecurityGroup');
    set.match(toEvent(r), r, (h) => hits.push(h));
    expect(calls).toBe(1);
    expect(hits.map((h) => [h.rule.ref.name, h.fields])).toEqual([['sg', { eventName: 'CreateSecurityGroup' }]]);
  });

  test('matched fields are cut to 1,024 characters', () => {
    const [r] = rules(rule('long', "selection:\n    userAgent|startswith: 'x'\ncondition: selection"));
    const set = new RuleSet([r]);
    const rec = record(T0, 'X', { userAgent: 'x'.repeat(5000) });
    const hits: RuleHit[] = [];
    set.match(toEvent(rec), rec, (h) => hits.push(h));
    expect(hits[0].fields.userAgent).toHaveLength(1024);
  });
});

describe('planRules: levels, enable, disable and superseded rules', () => {
  const low = rule('noisy', "selection:\n    eventName: 'X'\ncondition: selection", 'level: low\n');
  const old = rule('old', "selection:\n    eventName: 'X'\ncondition: selection");
  const replacement = rule(
    'new',
    "selection:\n    eventName: 'X'\ncondition: selection",
    'related:\n    - id: id-old\n      type: obsolete\n',
  );
  const plan = (config: Partial<RulesConfig>) =>
    planRules(rules(low, old, replacement), { ...DEFAULT_RULES_CONFIG, ...config }).map((p) => [
      p.rule.ref.name,
      p.status,
    ]);

  test('defaults: medium and above run; a rule made obsolete by a running rule does not', () => {
    expect(plan({})).toEqual([
      ['noisy', { state: 'below-min-level' }],
      ['old', { state: 'superseded', by: 'new' }],
      ['new', { state: 'active' }],
    ]);
  });

  test('enable runs a rule whatever its level or supersession; disable wins; a disabled rule supersedes nothing', () => {
    expect(plan({ enable: ['noisy', 'old'] }).map(([n, s]) => [n, (s as { state: string }).state])).toEqual([
      ['noisy', 'active'],
      ['old', 'active'],
      ['new', 'active'],
    ]);
    expect(plan({ disable: ['new'], enable: ['new'] })).toEqual([
      ['noisy', { state: 'below-min-level' }],
      ['old', { state: 'active' }],
      ['new', { state: 'disabled' }],
    ]);
    expect(
      plan({ minLevel: 'informational', disable: ['id-*'] }).every(
        ([, s]) => (s as { state: string }).state === 'disabled',
      ),
    ).toBe(true);
  });
});

describe('RuleEngine: allow-lists and grouping', () => {
  /** Every record in one file; the file's rule-match events. */
  function run(
    config: RulesConfig,
    records: Record<string, unknown>[],
    engine = new RuleEngine(rules(SG, ROOT), config),
  ) {
    for (const r of records) engine.observe(toEvent(r), r);
    return { engine, matches: engine.flush('file-1') };
  }
  const root = { type: 'Root', arn: 'arn:aws:iam::111122223333:root', accountId: '111122223333' };

  test("one event per rule + account + principal + aligned window, counting the file's matches of the window", () => {
    const records = [
      ...Array.from({ length: 30 }, (_, i) => record(T0 + i * MIN, 'AuthorizeSecurityGroupIngress')),
      record(T0 + 5 * MIN, 'CreateSecurityGroup', {
        userIdentity: { type: 'IAMUser', arn: 'arn:aws:iam::111122223333:user/bob', accountId: '111122223333' },
      }),
      record(T0 + 61 * MIN, 'CreateSecurityGroup'),
    ];
    const { matches, engine } = run(DEFAULT_RULES_CONFIG, records);
    expect(matches.map((m) => [m.rule.name, m.event.principal, m.event.eventTime, m.group.count])).toEqual([
      ['sg', 'arn:aws:iam::111122223333:user/alice', '2026-01-05T10:00:00Z', 30],
      ['sg', 'arn:aws:iam::111122223333:user/bob', '2026-01-05T10:05:00Z', 1],
      ['sg', 'arn:aws:iam::111122223333:user/alice', '2026-01-05T11:01:00Z', 1],
    ]);
    expect(matches[0].group).toMatchObject({ windowStart: '2026-01-05T10:00:00Z', windowEnd: '2026-01-05T11:00:00Z' });
    // The 11:01 match is in the next UTC hour, whatever the first match's minute.
    expect(matches[2].group).toMatchObject({ windowStart: '2026-01-05T11:00:00Z', windowEnd: '2026-01-05T12:00:00Z' });
    expect(matches[0].id).toBe(groupId('id-sg', '111122223333', 'arn:aws:iam::111122223333:user/alice', T0));
    expect(engine.stats).toEqual({ events: 32, hits: 32, suppressed: 0, grouped: 29, matches: 3 });
  });

  test('groups cross threads by rule position: another engine on the same rules records them as its own', () => {
    const records = [record(T0, 'CreateSecurityGroup'), record(T0 + MIN, 'CreateUser', { userIdentity: root })];
    // The observing engine and the recording one compiled the same rules separately (as a replay thread does).
    const observer = new RuleEngine(rules(SG, ROOT), DEFAULT_RULES_CONFIG);
    for (const r of records) observer.observe(toEvent(r), r);
    const groups = observer.takeGroups();
    const recorder = new RuleEngine(rules(SG, ROOT), DEFAULT_RULES_CONFIG);
    const wire = structuredClone(observer.portable(groups));
    expect(wire.map((g) => g.first.rule)).toEqual(groups.map((g) => observer.ruleSet.rules.indexOf(g.first.rule)));
    const back = recorder.fromPortable(wire);
    // The recorder's own compiled rules, the same ones by id.
    expect(back.every((g) => recorder.ruleSet.rules.includes(g.first.rule))).toBe(true);
    expect(back.map((g) => g.first.rule.ref.id)).toEqual(['id-root', 'id-sg']);
    expect(recorder.record('file-1', back)).toEqual(run(DEFAULT_RULES_CONFIG, records).matches);
    recorder.addObserved(observer.stats);
    expect(recorder.stats).toMatchObject({ events: 2, hits: 2, suppressed: 0, matches: 2 });
    // A hit of a rule the engine does not run cannot be made portable.
    const other = new RuleEngine(rules(IAM), DEFAULT_RULES_CONFIG);
    expect(() => other.portable(groups)).toThrow(/rule id-root is not in this engine's rule set/);
  });

  test('a later file of the same window is counted on the group, not sent again; a redelivered file changes nothing', () => {
    const engine = new RuleEngine(rules(SG), DEFAULT_RULES_CONFIG);
    const file = (name: string, minutes: number[]) => {
      for (const t of minutes) {
        const r = record(T0 + t * MIN, 'CreateSecurityGroup');
        engine.observe(toEvent(r), r);
      }
      return engine.flush(name);
    };
    const [first] = file('a', [10, 20]);
    expect(file('b', [30, 40, 50])).toEqual([]);
    expect(file('a', [10, 20])).toEqual([]);
    expect(engine.ledger.total(first.id)).toBe(5);
    expect(engine.stats.grouped).toBe(4);
    const [next] = file('c', [70]);
    expect(next.group).toMatchObject({ windowStart: '2026-01-05T11:00:00Z', count: 1 });
  });

  test('order does not matter: shuffled hits and shuffled files give the same groups and the same ids', () => {
    const [sg, rootRule] = rules(SG, ROOT);
    const principals = ['alice', 'bob', 'carol'].map((u) => ({
      type: 'IAMUser',
      arn: `arn:aws:iam::111122223333:user/${u}`,
      accountId: '111122223333',
    }));
    const hits: RuleHit[] = [];
    for (let i = 0; i < 120; i++) {
      const r = record(T0 + i * 7 * MIN, 'CreateSecurityGroup', { userIdentity: principals[i % 3] });
      hits.push({ rule: sg, event: toEvent(r), fields: {} });
      if (i % 10 === 0) {
        const x = record(T0 + i * 7 * MIN, 'X', { userIdentity: root });
        hits.push({ rule: rootRule, event: toEvent(x), fields: {} });
      }
    }
    const summary = (gs: ReturnType<typeof groupFileHits>) =>
      gs.map((g) => [g.id, g.key, g.windowStart, g.count, g.first.event.eventId]);
    const inOrder = groupFileHits(hits, 60);
    const random = seeded(13);
    for (let round = 0; round < 5; round++) {
      expect(summary(groupFileHits(shuffle(hits, random), 60))).toEqual(summary(inOrder));
    }
    // Files in any order: the same set of events (ids), and every match counted once per group.
    const files = Array.from({ length: 8 }, (_, i) => hits.filter((_, n) => n % 8 === i));
    const replay = (order: number[]) => {
      const ledger = new GroupLedger();
      const ids: string[] = [];
      for (const i of order) {
        for (const g of groupFileHits(files[i], 60)) if (ledger.record(g, `f${i}`) === 'alert') ids.push(g.id);
        // A redelivery of the same file, at once: nothing new.
        for (const g of groupFileHits(files[i], 60)) expect(ledger.record(g, `f${i}`)).not.toBe('counted');
      }
      return { ids: ids.sort(), totals: inOrder.map((g) => ledger.total(g.id)) };
    };
    const forward = replay([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(forward.ids).toEqual(inOrder.map((g) => g.id).sort());
    expect(forward.totals).toEqual(inOrder.map((g) => g.count));
    expect(replay([7, 3, 5, 0, 6, 2, 4, 1])).toEqual(forward);
  });

  test('the ledger: the owner re-sends an event it could not mark sent; other files never alert', () => {
    const ledger = new GroupLedger();
    const g = { id: 'g', count: 2, windowEnd: T0 };
    expect(ledger.record(g, 'a')).toBe('alert');
    // The publish failed, the record is retried: the owner alerts again (same id).
    expect(ledger.record(g, 'a')).toBe('alert');
    expect(ledger.record(g, 'b')).toBe('counted');
    ledger.markSent('g');
    expect(ledger.record(g, 'a')).toBe('duplicate');
    expect(ledger.record(g, 'b')).toBe('duplicate');
    expect(ledger.total('g')).toBe(4);
  });

  test('allow-list entries suppress by rule, principal and account (wildcards), and are counted', () => {
    const config = resolveRulesConfig({
      allow: [
        { rules: ['sg'], principals: ['arn:aws:iam::*:user/alice'], reason: 'alice deploys the network' },
        { accounts: ['999*'], reason: 'sandbox accounts' },
      ],
    });
    const records = [
      record(T0, 'CreateSecurityGroup'),
      record(T0, 'CreateSecurityGroup', { recipientAccountId: '999988887777' }),
      record(T0, 'X', { userIdentity: root }),
      record(T0, 'CreateSecurityGroup', {
        userIdentity: { type: 'IAMUser', arn: 'arn:aws:iam::111122223333:user/bob', accountId: '111122223333' },
      }),
    ];
    const { matches, engine } = run(config, records);
    expect(matches.map((m) => [m.rule.name, m.event.principal])).toEqual([
      ['root', 'arn:aws:iam::111122223333:root'],
      ['sg', 'arn:aws:iam::111122223333:user/bob'],
    ]);
    expect(engine.stats.suppressed).toBe(2);
    // A fork (one per file: the ingest, the reader threads) keeps its parent's allow-list.
    const forked = run(config, records, engine.fork());
    expect(forked.matches.map((m) => m.id)).toEqual(matches.map((m) => m.id));
    expect(forked.engine.stats.suppressed).toBe(2);
  });

  test('the rule-match event: contract constants, credit, deterministic id', () => {
    expect([RULE_MATCH_SOURCE, RULE_MATCH_DETAIL_TYPE]).toEqual(['trailsight', 'Trailsight Rule Match']);
    const r = record(T0, 'X', { userIdentity: root, sourceIPAddress: '198.51.100.7' });
    const once = run(DEFAULT_RULES_CONFIG, [r]).matches;
    const again = run(DEFAULT_RULES_CONFIG, [r]).matches;
    expect(once).toEqual(again);
    expect(once[0]).toMatchObject({
      version: 1,
      state: 'Start',
      rule: { name: 'root', author: 'Tester', source: { pack: 'test', file: 'r1.yml' }, level: 'high' },
      event: {
        eventId: `ev-${T0}-X`,
        eventTime: '2026-01-05T10:00:00Z',
        principal: 'arn:aws:iam::111122223333:root',
        principalKind: 'Root',
        sourceIp: '198.51.100.7',
      },
      fields: { 'userIdentity.type': 'Root' },
    });
    expect(once[0].explanation).toBe(
      'root [high]: X by arn:aws:iam::111122223333:root in 111122223333/us-east-1; rule by Tester, test.',
    );
    expect(JSON.stringify(once[0])).not.toMatch(/undefined/);
  });

  test('observeEvents uses the records kept on events (keepRaw) and counts events without one', () => {
    const engine = new RuleEngine(rules(SG), DEFAULT_RULES_CONFIG);
    const r = record(T0, 'CreateSecurityGroup');
    const withRaw = { ...toEvent(r), raw: r };
    expect(engine.observeEvents([withRaw, toEvent(r)])).toBe(1);
    expect(engine.flush('f')).toHaveLength(1);
  });
});

/** A small deterministic generator (mulberry32), so a shuffle that finds a bug finds it again. */
function seeded(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffle<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

describe('resolveRulesConfig', () => {
  test('defaults, shorthand folders and placeholders', () => {
    expect(resolveRulesConfig({})).toEqual(DEFAULT_RULES_CONFIG);
    const c = resolveRulesConfig({
      folders: ['sigma', { path: 'mine', pack: 'Mine' }],
      placeholders: { a: 'x', b: ['y', 'z'] },
    });
    expect(c.folders).toEqual([{ path: 'sigma' }, { path: 'mine', pack: 'Mine' }]);
    expect(c.placeholders).toEqual({ a: ['x'], b: ['y', 'z'] });
    expect(c.allow).toEqual([]);
  });

  test.each([
    [[], /rules: expected an object/],
    [{ minLevel: 'urgent' }, /minLevel: expected one of informational, low, medium, high, critical/],
    [{ nope: 1 }, /nope: unknown setting/],
    [{ builtin: 'yes' }, /builtin: expected true or false/],
    [{ folders: [{ pack: 'x' }] }, /folders\[0\].path: the folder has no path/],
    [{ folders: [{ path: 'x', colour: 'red' }] }, /folders\[0\].colour: unknown setting/],
    [{ disable: 'x' }, /disable: expected a list of non-empty strings/],
    [{ allow: [{ principals: ['x'] }] }, /allow\[0\].reason: say why/],
    [{ allow: [{ reason: 'r' }] }, /allow\[0\]: name principals or accounts/],
    [{ grouping: { windowMinutes: 0 } }, /grouping.windowMinutes: expected a whole number of minutes/],
    [{ grouping: { windowMinutes: 7.5 } }, /grouping.windowMinutes: expected a whole number of minutes/],
    [{ grouping: { every: 1 } }, /grouping.every: unknown setting/],
    [{ placeholders: { a: [1] } }, /placeholders.a: expected a list of non-empty strings/],
  ])('fails on %j', (input, message) => {
    expect(() => resolveRulesConfig(input)).toThrow(RulesConfigError);
    expect(() => resolveRulesConfig(input)).toThrow(message);
  });
});

describe('reader onEvent: the rules see each raw record once, after dedupe', () => {
  test('duplicates and skipped records never reach the rules', async () => {
    const r = record(T0, 'CreateSecurityGroup');
    const doc = JSON.stringify({ Records: [r, r, { eventName: 'NoTime' }, record(T0 + MIN, 'X')] });
    const seen: string[] = [];
    const events: string[] = [];
    for await (const e of readTrailEvents(Readable.from([Buffer.from(doc)]), {
      file: 'f.json',
      dedupe: new EventIdDeduper(),
      onEvent: (event, raw) => seen.push(`${event.name}:${raw.eventID}`),
    })) {
      events.push(e.name);
      expect(e.raw).toBeUndefined();
    }
    expect(seen).toEqual([`CreateSecurityGroup:ev-${T0}-CreateSecurityGroup`, `X:ev-${T0 + MIN}-X`]);
    expect(events).toEqual(['CreateSecurityGroup', 'X']);
  });
});
