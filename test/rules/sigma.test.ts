/**
 * Sigma semantics on small records: every value modifier, wildcard and escape rule, null and exists, field paths
 * through arrays and objects, and every condition form; then every unsupported construct, which must be reported
 * per rule (never silently ignored).
 */
import { compileSigmaRule } from '../../lambda/core/rules/sigma';
import { compile, predicate, ruleYaml, TEST_PACK } from './helpers';

const record = {
  eventSource: 'iam.amazonaws.com',
  eventName: 'CreateAccessKey',
  sourceIPAddress: '10.1.2.3',
  userAgent: 'aws-cli/2.15 Python/3.11',
  userIdentity: { type: 'IAMUser', arn: 'arn:aws:iam::111122223333:user/alice', userName: 'alice' },
  requestParameters: {
    userName: 'bob',
    layers: ['arn:aws:lambda:us-east-1:111122223333:layer:x:1', 'arn:aws:lambda:us-east-1:111122223333:layer:y:2'],
    containerDefinitions: [{ command: ['sh', '-c', 'curl $AWS_CONTAINER_CREDENTIALS_RELATIVE_URI'] }, { command: [] }],
    versioningConfiguration: { status: 'Suspended' },
    count: 42,
    enable: false,
  },
  responseElements: null,
  additionalEventData: { MFAUsed: 'No' },
  path: 'C:\\Windows\\*star',
};

const matches = (detection: string, r: Record<string, unknown> = record, placeholders = {}) =>
  predicate(detection, placeholders)(r);

describe('values', () => {
  test('plain strings compare case-insensitively and whole; |cased compares exactly', () => {
    expect(matches("selection:\n    eventName: 'createaccesskey'\ncondition: selection")).toBe(true);
    expect(matches("selection:\n    eventName: 'CreateAccess'\ncondition: selection")).toBe(false);
    expect(matches("selection:\n    eventName|cased: 'createaccesskey'\ncondition: selection")).toBe(false);
    expect(matches("selection:\n    eventName|cased: 'CreateAccessKey'\ncondition: selection")).toBe(true);
    expect(matches("selection:\n    additionalEventData.MFAUsed: 'NO'\ncondition: selection")).toBe(true);
  });

  test('* and ? wildcards; contains, startswith and endswith', () => {
    expect(matches("selection:\n    eventName: 'Create*Key'\ncondition: selection")).toBe(true);
    expect(matches("selection:\n    eventName: 'Create?ccessKey'\ncondition: selection")).toBe(true);
    expect(matches("selection:\n    eventName: 'Create?Key'\ncondition: selection")).toBe(false);
    expect(matches("selection:\n    userAgent|contains: 'PYTHON/3'\ncondition: selection")).toBe(true);
    expect(matches("selection:\n    userAgent|startswith: 'aws-cli/'\ncondition: selection")).toBe(true);
    expect(matches("selection:\n    userAgent|endswith: 'python/3.11'\ncondition: selection")).toBe(true);
    expect(matches("selection:\n    userAgent|endswith: 'aws-cli'\ncondition: selection")).toBe(false);
    expect(matches("selection:\n    userAgent|contains: 'cli*Python'\ncondition: selection")).toBe(true);
  });

  test('backslash escapes * and ? and itself; before other characters it is a plain backslash', () => {
    expect(matches("selection:\n    path: 'C:\\Windows\\\\\\*star'\ncondition: selection")).toBe(true);
    expect(matches("selection:\n    path: 'C:\\Windows\\\\*'\ncondition: selection")).toBe(true);
    expect(matches("selection:\n    path: 'C:\\Windows\\\\\\*'\ncondition: selection")).toBe(false);
  });

  test('a list of values is an OR; |all makes it an AND', () => {
    expect(
      matches("selection:\n    eventName:\n        - 'DeleteUser'\n        - 'CreateAccessKey'\ncondition: selection"),
    ).toBe(true);
    expect(
      matches("selection:\n    userAgent|contains|all:\n        - 'aws-cli'\n        - 'python'\ncondition: selection"),
    ).toBe(true);
    expect(
      matches("selection:\n    userAgent|contains|all:\n        - 'aws-cli'\n        - 'boto'\ncondition: selection"),
    ).toBe(false);
  });

  test('numbers and booleans compare as text', () => {
    expect(matches('selection:\n    requestParameters.count: 42\ncondition: selection')).toBe(true);
    expect(matches("selection:\n    requestParameters.enable: 'false'\ncondition: selection")).toBe(true);
    expect(matches('selection:\n    requestParameters.enable: false\ncondition: selection')).toBe(true);
  });

  test('null matches absent and null fields; exists tests presence', () => {
    expect(matches('selection:\n    errorCode: null\ncondition: selection')).toBe(true);
    expect(matches('selection:\n    responseElements: null\ncondition: selection')).toBe(true);
    expect(matches('selection:\n    eventName: null\ncondition: selection')).toBe(false);
    expect(matches('selection:\n    responseElements|exists: true\ncondition: selection')).toBe(true);
    expect(matches('selection:\n    errorCode|exists: false\ncondition: selection')).toBe(true);
    expect(matches('selection:\n    requestParameters.userName|exists: true\ncondition: selection')).toBe(true);
  });

  test('"" matches only the empty string', () => {
    expect(matches("selection:\n    errorCode: ''\ncondition: selection", { ...record, errorCode: '' })).toBe(true);
    expect(matches("selection:\n    errorCode: ''\ncondition: selection")).toBe(false);
  });

  test('|re searches a case-sensitive regular expression; i, m and s set flags', () => {
    expect(matches("selection:\n    userIdentity.arn|re: ':user/al'\ncondition: selection")).toBe(true);
    expect(matches("selection:\n    userIdentity.arn|re: ':USER/'\ncondition: selection")).toBe(false);
    expect(matches("selection:\n    userIdentity.arn|re|i: ':USER/'\ncondition: selection")).toBe(true);
    expect(matches("selection:\n    note|re|s: '^a.b$'\ncondition: selection", { note: 'a\nb' })).toBe(true);
    expect(matches("selection:\n    note|re|m: '^b$'\ncondition: selection", { note: 'a\nb' })).toBe(true);
  });

  test('|cidr matches IPv4 and IPv6 blocks and never service names', () => {
    expect(matches("selection:\n    sourceIPAddress|cidr: '10.0.0.0/8'\ncondition: selection")).toBe(true);
    expect(matches("selection:\n    sourceIPAddress|cidr: '192.168.0.0/16'\ncondition: selection")).toBe(false);
    expect(
      matches("selection:\n    sourceIPAddress|cidr: '2001:db8::/32'\ncondition: selection", {
        sourceIPAddress: '2001:db8::1',
      }),
    ).toBe(true);
    expect(
      matches("selection:\n    sourceIPAddress|cidr: '0.0.0.0/0'\ncondition: selection", {
        sourceIPAddress: 'ec2.amazonaws.com',
      }),
    ).toBe(false);
  });

  test('gt, gte, lt, lte and neq', () => {
    expect(matches('selection:\n    requestParameters.count|gt: 41\ncondition: selection')).toBe(true);
    expect(matches('selection:\n    requestParameters.count|lt: 42\ncondition: selection')).toBe(false);
    expect(matches('selection:\n    requestParameters.count|lte: 42\ncondition: selection')).toBe(true);
    expect(matches("selection:\n    eventName|neq: 'DeleteUser'\ncondition: selection")).toBe(true);
    expect(
      matches(
        "selection:\n    eventName|neq:\n        - 'DeleteUser'\n        - 'CreateAccessKey'\ncondition: selection",
      ),
    ).toBe(false);
    expect(matches("selection:\n    errorCode|neq: 'AccessDenied'\ncondition: selection")).toBe(false);
  });

  test('|base64 matches the encoded value', () => {
    const encoded = Buffer.from('curl http://x').toString('base64');
    expect(
      matches("selection:\n    userData|base64|contains: 'curl http://x'\ncondition: selection", {
        userData: `zz${encoded}`,
      }),
    ).toBe(true);
  });

  test('|expand replaces %placeholders% with configured values; none configured matches nothing (with a note)', () => {
    const d = "selection:\n    requestParameters.userName|expand: '%users%'\ncondition: selection";
    expect(matches(d, record, { users: ['carol', 'bob'] })).toBe(true);
    expect(matches(d, record, { users: ['carol'] })).toBe(false);
    expect(matches(d)).toBe(false);
    expect(compile(d).issues).toEqual([
      expect.objectContaining({ severity: 'note', message: expect.stringMatching(/%users% has no value/) }),
    ]);
    expect(matches("selection:\n    x|expand: '\\%literal'\ncondition: selection", { x: '%literal' })).toBe(true);
  });

  test('|fieldref compares two fields of the same event', () => {
    expect(
      matches('selection:\n    userIdentity.userName|fieldref: requestParameters.userName\ncondition: selection'),
    ).toBe(false);
    expect(
      matches('selection:\n    userIdentity.arn|fieldref|endswith: userIdentity.userName\ncondition: selection'),
    ).toBe(true);
    expect(matches('selection:\n    userIdentity.arn|fieldref: nothing.here\ncondition: selection')).toBe(false);
  });
});

describe('fields', () => {
  test('a path through an array reads every element; an array value matches when any element does', () => {
    expect(
      matches(
        "selection:\n    requestParameters.containerDefinitions.command|contains: '$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI'\ncondition: selection",
      ),
    ).toBe(true);
    expect(matches("selection:\n    requestParameters.layers|endswith: 'layer:y:2'\ncondition: selection")).toBe(true);
    expect(matches("selection:\n    requestParameters.layers|contains: '*'\ncondition: selection")).toBe(true);
  });

  test('an object is compared as its JSON text', () => {
    expect(matches("selection:\n    requestParameters|contains: 'Suspended'\ncondition: selection")).toBe(true);
    expect(matches('selection:\n    requestParameters|contains: \'"status":"Suspended"\'\ncondition: selection')).toBe(
      true,
    );
  });

  test('prototype properties are not fields', () => {
    expect(matches("selection:\n    constructor|contains: 'Function'\ncondition: selection")).toBe(false);
    expect(matches('selection:\n    __proto__|exists: true\ncondition: selection')).toBe(false);
    expect(matches('selection:\n    toString: null\ncondition: selection')).toBe(true);
  });
});

describe('conditions', () => {
  const sel = (cond: string) =>
    `sel_name:\n    eventName: 'CreateAccessKey'\nsel_ua:\n    userAgent|contains: 'boto'\nfilter_user:\n    userIdentity.type: 'IAMUser'\n_private:\n    eventSource: 'iam.amazonaws.com'\ncondition: ${cond}`;

  test.each([
    ['sel_name', true],
    ['sel_ua', false],
    ['sel_name and sel_ua', false],
    ['sel_name or sel_ua', true],
    ['not sel_ua', true],
    ['sel_name and not filter_user', false],
    ['1 of sel_*', true],
    ['any of sel_*', true],
    ['all of sel_*', false],
    ['1 of them', true],
    ['all of them', false],
    ['not 1 of filter*', false],
    ['sel_ua or sel_name and filter_user', true],
    ['(sel_ua or sel_name) and not filter_user', false],
    ['sel_name AND NOT sel_ua', true],
    ['_private', true],
  ])('%s → %s', (cond, expected) => {
    expect(matches(sel(cond))).toBe(expected);
  });

  test('`all of them` skips identifiers starting with _', () => {
    const d = "a:\n    eventName: 'CreateAccessKey'\n_b:\n    eventName: 'Other'\ncondition: all of them";
    expect(matches(d)).toBe(true);
  });

  test('a list of maps is an OR of maps; a list of conditions is an OR', () => {
    expect(
      matches("selection:\n    - eventName: 'X'\n    - userAgent|startswith: 'aws-cli'\ncondition: selection"),
    ).toBe(true);
    expect(matches("a:\n    eventName: 'X'\nb:\n    eventName: 'CreateAccessKey'\ncondition:\n    - a\n    - b")).toBe(
      true,
    );
  });
});

describe('metadata and credit', () => {
  test('author, source, tags and MITRE ids are kept for every match', () => {
    const text = ruleYaml(
      "selection:\n    eventName: 'X'\ncondition: selection",
      'tags:\n    - attack.persistence\n    - attack.t1098.001\n    - attack.g0016\n    - cis.4.4\nreferences:\n    - https://example.com\n',
    );
    const { rule } = compileSigmaRule(
      { text, file: 'dir/x.yml', pack: { name: 'SigmaHQ', license: 'DRL-1.1' } },
      {
        placeholders: {},
      },
    );
    expect(rule?.ref).toEqual({
      id: '00000000-0000-4000-8000-000000000001',
      name: 'x',
      title: 'Test rule',
      level: 'high',
      author: 'Tester',
      source: { pack: 'SigmaHQ', file: 'dir/x.yml', license: 'DRL-1.1' },
      tags: ['attack.persistence', 'attack.t1098.001', 'attack.g0016', 'cis.4.4'],
      mitreTechniques: ['T1098.001'],
      mitreTactics: ['persistence'],
      references: ['https://example.com'],
      falsePositives: [],
    });
  });

  test('the index: eventName values the condition requires, else eventSource, else every event', () => {
    const names = compile("a:\n    eventName: ['X', 'y']\nb:\n    eventName: 'Z'\ncondition: a or b").rule;
    expect([...(names?.eventNames ?? [])]).toEqual(['x', 'y', 'z']);
    const narrowed = compile("a:\n    eventName: ['X', 'Y']\nb:\n    eventName: 'y'\ncondition: a and b").rule;
    expect([...(narrowed?.eventNames ?? [])]).toEqual(['y']);
    const source = compile(
      "a:\n    eventSource: 'iam.amazonaws.com'\n    eventName|startswith: 'Create'\ncondition: a",
    ).rule;
    expect(source?.eventNames).toBeUndefined();
    expect([...(source?.eventSources ?? [])]).toEqual(['iam.amazonaws.com']);
    const open = compile("a:\n    eventName: 'X'\nb:\n    userAgent: 'y'\ncondition: a or b").rule;
    expect(open?.eventNames).toBeUndefined();
    expect(open?.eventSources).toBeUndefined();
    const negated = compile("a:\n    eventName: 'X'\ncondition: not a").rule;
    expect(negated?.eventNames).toBeUndefined();
  });
});

describe('unsupported constructs are reported per rule, never ignored', () => {
  test.each([
    ['keywords', "keywords:\n    - 'evil'\ncondition: keywords", 'keywords'],
    ['keyword map', "keywords:\n    '|all':\n        - 'a'\n        - 'b'\ncondition: keywords", 'keywords'],
    ['windash', "a:\n    x|windash: '-y'\ncondition: a", 'modifier windash'],
    ['base64offset', "a:\n    x|base64offset|contains: 'y'\ncondition: a", 'modifier base64offset'],
    ['utf16le', "a:\n    x|utf16le: 'y'\ncondition: a", 'modifier utf16le'],
    ['wide', "a:\n    x|wide: 'y'\ncondition: a", 'modifier wide'],
    ['time part', 'a:\n    eventTime|hour: 3\ncondition: a', 'modifier hour'],
    ['unknown modifier', "a:\n    x|sparkle: 'y'\ncondition: a", 'modifier sparkle'],
    ['two positions', "a:\n    x|contains|startswith: 'y'\ncondition: a", 'modifiers contains|startswith'],
    ['re with contains', "a:\n    x|re|contains: 'y'\ncondition: a", 'modifiers re|contains'],
    ['flag without re', "a:\n    x|i: 'y'\ncondition: a", 'modifiers i'],
    ['bad regex', "a:\n    x|re: '(unclosed'\ncondition: a", 'modifiers re'],
    ['bad cidr', "a:\n    x|cidr: '10.0.0.0/33'\ncondition: a", 'modifiers cidr'],
    ['exists value', "a:\n    x|exists: 'maybe'\ncondition: a", 'modifiers exists'],
    ['nested map', 'a:\n    x:\n        y: 1\ncondition: a', 'nested map'],
    ['empty list', 'a:\n    x: []\ncondition: a', 'modifiers '],
    ['empty selection', 'a: {}\ncondition: a', 'empty selection'],
    ['aggregation', "a:\n    x: 'y'\ncondition: a | count() by userIdentity.arn > 5", 'condition'],
    ['timeframe', "a:\n    x: 'y'\ntimeframe: 5m\ncondition: a", 'timeframe'],
    ['unknown identifier', "a:\n    x: 'y'\ncondition: a and b", 'condition'],
    ['pattern matching nothing', "a:\n    x: 'y'\ncondition: 1 of filter_*", 'condition'],
    ['dangling operator', "a:\n    x: 'y'\ncondition: a and", 'condition'],
    ['unbalanced parenthesis', "a:\n    x: 'y'\ncondition: (a", 'condition'],
    ['no condition', "a:\n    x: 'y'", 'condition'],
  ])('%s', (_name, detection, construct) => {
    const result = compile(detection);
    expect(result.rule).toBeUndefined();
    expect(result.issues).toEqual([
      expect.objectContaining({ severity: 'rejected', construct, pack: 'test', file: 'test.yml', rule: 'Test rule' }),
    ]);
  });

  test.each([
    ['not YAML', 'title: [unclosed', 'yaml'],
    ['not a map', '- a\n- b', 'yaml'],
    ['empty file', '', 'yaml'],
    ['two documents', `${ruleYaml("a:\n    x: 'y'\ncondition: a")}\n---\naction: global\n`, 'multi-document'],
    ['correlation rule', 'title: c\ncorrelation:\n    type: event_count\n', 'correlation'],
    ['no title', ruleYaml("a:\n    x: 'y'\ncondition: a").replace('title: Test rule\n', ''), 'title'],
    [
      'not CloudTrail',
      ruleYaml("a:\n    x: 'y'\ncondition: a").replace('service: cloudtrail', 'service: sysmon'),
      'logsource',
    ],
    ['deprecated', `${ruleYaml("a:\n    x: 'y'\ncondition: a")}status: deprecated\n`, 'status deprecated'],
    ['unknown level', ruleYaml("a:\n    x: 'y'\ncondition: a").replace('level: high', 'level: urgent'), 'level'],
    ['duplicate key', `${ruleYaml("a:\n    x: 'y'\ncondition: a")}title: again\n`, 'yaml'],
  ])('%s', (_name, text, construct) => {
    const result = compileSigmaRule({ text, file: 'f.yml', pack: TEST_PACK }, { placeholders: {} });
    expect(result.rule).toBeUndefined();
    expect(result.issues).toEqual([expect.objectContaining({ severity: 'rejected', construct })]);
  });

  test('notes: a field CloudTrail does not have, a value that looks like a field, an unused identifier, no id', () => {
    const text = ruleYaml(
      "a:\n    status: 'success'\nb:\n    userIdentity.arn|contains: responseElements.accessKey.userName\nunused:\n    eventName: 'x'\ncondition: a or b",
    ).replace('id: 00000000-0000-4000-8000-000000000001\n', '');
    const result = compileSigmaRule({ text, file: 'my_rule.yml', pack: TEST_PACK }, { placeholders: {} });
    expect(result.rule?.ref.id).toBe('my_rule');
    expect(result.issues.map((i) => [i.severity, i.construct])).toEqual([
      ['note', 'id'],
      ['note', 'value'],
      ['note', 'unused'],
      ['note', 'field'],
    ]);
  });

  test('a YAML alias bomb is rejected, not expanded', () => {
    const bomb = ruleYaml(
      "a:\n    eventName: 'x'\ncondition: a",
      'x1: &a ["x","x","x","x","x","x","x","x","x","x"]\nx2: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nx3: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nx4: [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n',
    );
    const result = compileSigmaRule({ text: bomb, file: 'bomb.yml', pack: TEST_PACK }, { placeholders: {} });
    expect(result.rule).toBeUndefined();
    expect(result.issues).toEqual([
      expect.objectContaining({ severity: 'rejected', construct: 'yaml', message: expect.stringMatching(/alias/) }),
    ]);
  });
});

describe('the literal prefilter of |re', () => {
  test.each([
    ['.+:assumed-role/aws:.+', ':assumed-role/aws:'],
    ['^arn:aws:iam::\\d{12}:root$', 'arn:aws:iam::'],
    ['acs\\.amazonaws\\.com/groups', 'acs.amazonaws.com/groups'],
    ['abcd?ef', 'abc'],
    ['xy+zzz', 'zzz'],
    ['[abc]defg[^]x]hij', 'defg'],
    ['a(b|c)d', undefined],
    ['one|two', undefined],
    ['a.b.c', undefined],
  ])('%s → %s', async (pattern, literal) => {
    const { requiredLiteral } = await import('../../lambda/core/rules/detection');
    expect(requiredLiteral(pattern)).toBe(literal);
    if (literal) expect(new RegExp(pattern).source.length).toBeGreaterThan(0);
  });

  test('a prefiltered expression matches exactly as the expression alone', () => {
    const arns = [
      'arn:aws:sts::1:assumed-role/aws:ec2-instance/i-1',
      'arn:aws:sts::1:assumed-role/app/s',
      ':assumed-role/aws:',
    ];
    const test = predicate("a:\n    userIdentity.arn|re: '.+:assumed-role/aws:.+'\ncondition: a");
    expect(arns.map((arn) => test({ userIdentity: { arn } }))).toEqual([true, false, false]);
    const insensitive = predicate("a:\n    userIdentity.arn|re|i: 'ASSUMED-ROLE/AWS:'\ncondition: a");
    expect(arns.map((arn) => insensitive({ userIdentity: { arn } }))).toEqual([true, false, true]);
  });
});
