/**
 * Compiles a Sigma `detection` block into predicates over raw CloudTrail records.
 *
 * Semantics (Sigma rules specification 2.0 and modifiers appendix 2.1):
 * - A search identifier is a map (its fields ANDed) or a list of maps (ORed). A field's value list is ORed,
 *   or ANDed with `|all`. `null` means the field is absent or null; `''` means the empty string.
 * - Strings compare case-insensitively, with `*` and `?` wildcards and `\` escapes; `|cased` makes them
 *   case-sensitive. `|re` is a case-sensitive regular expression searched anywhere in the value (`|re|i`,
 *   `|re|m`, `|re|s` set flags).
 * - Supported modifiers: contains, startswith, endswith, all, cased, exists, neq, re (+ i, m, s), cidr,
 *   gt/gte/lt/lte, base64, expand (placeholders from configuration), fieldref.
 * - Everything else (keyword search, windash, base64offset, utf16*, wide, time modifiers, unknown modifiers,
 *   nested maps) is a {@link DetectionError}: the rule is rejected and the load report says why. Nothing is
 *   silently ignored.
 *
 * Hand-written (see condition.ts for why); the YAML itself is parsed by the `yaml` package.
 */
import { BlockList, isIPv4, isIPv6 } from 'node:net';
import { anyValue, fieldAccessor, fieldPath, hasField, isAbsent, type RawRecord } from './fields';

/** A construct the engine cannot evaluate; `construct` is a short name for the load report. */
export class DetectionError extends Error {
  constructor(
    readonly construct: string,
    message: string,
  ) {
    super(message);
    this.name = 'DetectionError';
  }
}

export type Predicate = (record: RawRecord) => boolean;

/**
 * AND and OR of predicates as plain loops: they run for every event and every candidate rule, and a closure
 * passed to `every`/`some` would be allocated on each call.
 */
export function allOf(parts: readonly Predicate[]): Predicate {
  if (parts.length === 1) return parts[0];
  if (parts.length === 2) {
    const [a, b] = parts;
    return (r) => a(r) && b(r);
  }
  return (r) => {
    for (let i = 0; i < parts.length; i++) if (!parts[i](r)) return false;
    return true;
  };
}

export function anyOf(parts: readonly Predicate[]): Predicate {
  if (parts.length === 1) return parts[0];
  if (parts.length === 2) {
    const [a, b] = parts;
    return (r) => a(r) || b(r);
  }
  return (r) => {
    for (let i = 0; i < parts.length; i++) if (parts[i](r)) return true;
    return false;
  };
}

/** What the index may use: the field can only match one of these lower-cased exact values. */
export type ExactValues = ReadonlySet<string>;

/** A compiled search identifier. */
export interface CompiledSearch {
  readonly test: Predicate;
  /** Per field name: the exact values the identifier requires, when it requires them (for the index). */
  readonly requires: ReadonlyMap<string, ExactValues>;
  /** Every field the identifier reads (for the match's `fields`). */
  readonly fields: readonly string[];
  /** Things worth knowing that do not stop the rule from loading. */
  readonly notes: readonly string[];
}

export interface CompileOptions {
  /** Values of `%name%` placeholders used with `|expand`. */
  readonly placeholders: Readonly<Record<string, readonly string[]>>;
}

const UNSUPPORTED_MODIFIERS: Record<string, string> = {
  windash: 'Windows command-line dash permutations do not apply to CloudTrail',
  base64offset: 'base64 at an unknown offset is not implemented',
  utf16le: 'UTF-16 encodings do not apply to CloudTrail JSON',
  utf16be: 'UTF-16 encodings do not apply to CloudTrail JSON',
  utf16: 'UTF-16 encodings do not apply to CloudTrail JSON',
  wide: 'UTF-16 encodings do not apply to CloudTrail JSON',
  minute: 'time-part modifiers are not implemented',
  hour: 'time-part modifiers are not implemented',
  day: 'time-part modifiers are not implemented',
  week: 'time-part modifiers are not implemented',
  month: 'time-part modifiers are not implemented',
  year: 'time-part modifiers are not implemented',
};

const KNOWN_MODIFIERS = new Set([
  'contains',
  'startswith',
  'endswith',
  'all',
  'cased',
  'exists',
  'neq',
  're',
  'i',
  'm',
  's',
  'cidr',
  'gt',
  'gte',
  'lt',
  'lte',
  'base64',
  'expand',
  'fieldref',
]);

type Scalar = string | number | boolean | null;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

// ---------------------------------------------------------------------------------------------------------------
// Sigma strings: wildcards and escapes

type Part = string | typeof STAR | typeof ONE;
const STAR = Symbol('*');
const ONE = Symbol('?');

/**
 * Splits a Sigma string into literal text and wildcards. A backslash escapes `*`, `?` and itself; before any
 * other character it is a plain backslash (so `C:\Windows` needs no doubling), as the specification's
 * "Escaping" section and pySigma define it.
 */
export function parseSigmaString(value: string): Part[] {
  const parts: Part[] = [];
  let text = '';
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (c === '\\' && i + 1 < value.length && (value[i + 1] === '*' || value[i + 1] === '?' || value[i + 1] === '\\')) {
      text += value[i + 1];
      i++;
    } else if (c === '*' || c === '?') {
      if (text) parts.push(text);
      text = '';
      parts.push(c === '*' ? STAR : ONE);
    } else {
      text += c;
    }
  }
  if (text) parts.push(text);
  return parts;
}

type TextTest = (text: string) => boolean;

/** A compiled string pattern; `exact` is set (lower-cased unless cased) when it has no wildcard. */
interface StringPattern {
  readonly test: TextTest;
  readonly exact?: string;
}

function compilePattern(parts: Part[], cased: boolean): StringPattern {
  const norm = (s: string) => (cased ? s : s.toLowerCase());
  const lower = (t: string) => (cased ? t : t.toLowerCase());
  const literal = (p: Part): p is string => typeof p === 'string';
  if (parts.every(literal)) {
    const needle = norm(parts.join(''));
    // Compare lengths first: most values differ in length, and then nothing is lower-cased.
    return { exact: needle, test: (t) => t.length === needle.length && lower(t) === needle };
  }
  const inner = parts.slice(1, -1);
  const first = parts[0];
  const last = parts[parts.length - 1];
  if (inner.every(literal) && !parts.includes(ONE)) {
    const middle = norm(inner.join(''));
    if (first === STAR && last === STAR) return { test: (t) => lower(t).includes(middle) };
    if (first === STAR && literal(last)) {
      const suffix = norm(parts.slice(1).join(''));
      return { test: (t) => lower(t).endsWith(suffix) };
    }
    if (literal(first) && last === STAR) {
      const prefix = norm(parts.slice(0, -1).join(''));
      return { test: (t) => lower(t).startsWith(prefix) };
    }
  }
  const source = parts
    .map((p) => (p === STAR ? '[\\s\\S]*' : p === ONE ? '[\\s\\S]' : p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('');
  const re = new RegExp(`^${source}$`, cased ? '' : 'i');
  return { test: (t) => re.test(t) };
}

/**
 * The longest run of literal text every match of `pattern` must contain, or undefined when that is not certain.
 * A cheap `includes` on it spares the regular expression most values: `.+:assumed-role/aws:.+` (a SigmaHQ rule
 * tested on every event) costs a backtracking scan of every ARN, the literal check almost nothing. Conservative on
 * purpose: patterns with alternation or groups get no prefilter.
 */
export function requiredLiteral(pattern: string): string | undefined {
  if (/[|()]/.test(pattern)) return undefined;
  let best = '';
  let run = '';
  const end = () => {
    if (run.length > best.length) best = run;
    run = '';
  };
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    let literal: string | undefined;
    if (c === '\\') {
      const next = pattern[i + 1];
      i++;
      if (next !== undefined && /[.^$*+?()[\]{}|/\\-]/.test(next)) literal = next;
    } else if (c === '[') {
      // Skip the character class (a `]` right after `[` or `[^` is part of it).
      let j = i + 1;
      if (pattern[j] === '^') j++;
      if (pattern[j] === ']') j++;
      while (j < pattern.length && pattern[j] !== ']') j += pattern[j] === '\\' ? 2 : 1;
      i = j;
    } else if (!'.^$*+?{}'.includes(c)) {
      literal = c;
    }
    if (literal === undefined) {
      end();
      continue;
    }
    const quantifier = pattern[i + 1];
    if (quantifier === '*' || quantifier === '?' || quantifier === '{') {
      end(); // the character may be absent
    } else if (quantifier === '+') {
      run += literal;
      end(); // present at least once, but what follows it is not adjacent
    } else {
      run += literal;
    }
  }
  end();
  return best.length >= 3 ? best : undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// Field items

interface FieldItem {
  readonly field: string;
  readonly modifiers: readonly string[];
  readonly values: readonly Scalar[];
}

/** `%name%` placeholders expanded with configured values (every combination when there are several). */
function expandPlaceholders(value: string, options: CompileOptions, notes: string[]): string[] {
  let results = [''];
  const re = /\\%|%([A-Za-z0-9_.-]+)%|[^%\\]+|[%\\]/g;
  for (const m of value.matchAll(re)) {
    if (m[0] === '\\%') results = results.map((r) => `${r}%`);
    else if (m[1] !== undefined) {
      const replacements = options.placeholders[m[1]] ?? [];
      if (replacements.length === 0) {
        notes.push(`placeholder %${m[1]}% has no value in the configuration: the selection using it matches nothing`);
      }
      results = results.flatMap((r) => replacements.map((x) => r + x));
    } else results = results.map((r) => r + m[0]);
  }
  return results;
}

function numeric(text: string): number {
  return text.trim() === '' ? Number.NaN : Number(text);
}

function compileField(item: FieldItem, options: CompileOptions, notes: string[]): CompiledSearch {
  const { field, modifiers } = item;
  if (field === '') throw new DetectionError('keywords', "keyword search ('|all' without a field) is not supported");
  for (const m of modifiers) {
    if (UNSUPPORTED_MODIFIERS[m]) throw new DetectionError(`modifier ${m}`, `|${m}: ${UNSUPPORTED_MODIFIERS[m]}`);
    if (!KNOWN_MODIFIERS.has(m)) throw new DetectionError(`modifier ${m}`, `unknown modifier |${m} on ${field}`);
  }
  const has = (m: string) => modifiers.includes(m);
  const path = fieldPath(field);
  const get = fieldAccessor(field);
  const all = has('all');
  const cased = has('cased');
  const position = modifiers.filter((m) => m === 'contains' || m === 'startswith' || m === 'endswith');
  const numericOp = modifiers.find((m) => m === 'gt' || m === 'gte' || m === 'lt' || m === 'lte');
  const kinds = [has('re'), has('cidr'), has('exists'), numericOp !== undefined].filter(Boolean).length;
  const fail = (why: string): never => {
    throw new DetectionError(`modifiers ${modifiers.join('|')}`, `${field}|${modifiers.join('|')}: ${why}`);
  };
  if (kinds > 1 || position.length > 1) fail('these modifiers cannot be combined');
  if ((has('i') || has('m') || has('s')) && !has('re')) fail('i, m and s are sub-modifiers of re');
  if ((has('re') || has('cidr') || has('exists') || numericOp) && (position.length > 0 || has('base64')))
    fail('re, cidr, exists and gt/gte/lt/lte take the value as it is');
  if (has('fieldref') && (has('re') || has('cidr') || has('exists') || numericOp || has('base64') || has('expand')))
    fail('fieldref compares with another field as text');
  if (all && item.values.length < 2) notes.push(`${field}|all has a single value (|all needs a list to mean AND)`);
  if (item.values.length === 0) fail('an empty list of values matches nothing');
  const fields = [field];

  if (has('exists')) {
    const want = item.values[0];
    if (item.values.length !== 1 || typeof want !== 'boolean') fail('exists takes true or false');
    return { test: (r) => hasField(r, path) === want, requires: new Map(), fields, notes };
  }

  // One test per value, on the value's text (or on the record for fieldref and null).
  const textTests: TextTest[] = [];
  const recordTests: Predicate[] = [];
  const exact: string[] = [];
  let hasNull = false;

  for (const raw of item.values) {
    if (raw === null) {
      if (modifiers.some((m) => m !== 'all')) fail('null cannot take modifiers');
      hasNull = true;
      recordTests.push((r) => isAbsent(get(r)));
      continue;
    }
    if (isRecord(raw) || Array.isArray(raw)) fail('a value must be a string, number, boolean or null');
    const value = String(raw);
    if (has('re')) {
      const flags = (has('i') ? 'i' : '') + (has('m') ? 'm' : '') + (has('s') ? 's' : '');
      let re: RegExp;
      try {
        re = new RegExp(value, flags);
      } catch (e) {
        return fail(`the regular expression does not compile in JavaScript: ${(e as Error).message}`);
      }
      const literal = requiredLiteral(value);
      if (literal && !has('i')) textTests.push((t) => t.includes(literal) && re.test(t));
      else if (literal) {
        const lower = literal.toLowerCase();
        textTests.push((t) => t.toLowerCase().includes(lower) && re.test(t));
      } else textTests.push((t) => re.test(t));
      continue;
    }
    if (has('cidr')) {
      const [address, bits, extra] = value.split('/');
      const prefix = Number(bits);
      const family = isIPv4(address) ? 'ipv4' : isIPv6(address) ? 'ipv6' : undefined;
      if (
        !family ||
        extra !== undefined ||
        !Number.isInteger(prefix) ||
        prefix < 0 ||
        prefix > (family === 'ipv4' ? 32 : 128)
      )
        fail(`'${value}' is not a CIDR block`);
      const block = new BlockList();
      block.addSubnet(address, prefix, family);
      // sourceIPAddress also holds service names ("ec2.amazonaws.com") and "AWS Internal": those never match.
      textTests.push((t) => (isIPv4(t) ? block.check(t, 'ipv4') : isIPv6(t) ? block.check(t, 'ipv6') : false));
      continue;
    }
    if (numericOp) {
      const bound = numeric(value);
      if (Number.isNaN(bound)) fail(`'${value}' is not a number`);
      const cmp: Record<string, (x: number) => boolean> = {
        gt: (x) => x > bound,
        gte: (x) => x >= bound,
        lt: (x) => x < bound,
        lte: (x) => x <= bound,
      };
      const op = cmp[numericOp as string];
      textTests.push((t) => op(numeric(t)));
      continue;
    }
    if (has('fieldref')) {
      const other = fieldAccessor(value);
      fields.push(value);
      const kind = position[0] ?? 'equals';
      const norm = (s: string) => (cased ? s : s.toLowerCase());
      recordTests.push((r) => {
        const refs: string[] = [];
        anyValue(other(r), (t) => {
          refs.push(norm(t));
          return false;
        });
        if (refs.length === 0) return false;
        return anyValue(get(r), (t) => {
          const own = norm(t);
          return refs.some((ref) =>
            kind === 'contains'
              ? own.includes(ref)
              : kind === 'startswith'
                ? own.startsWith(ref)
                : kind === 'endswith'
                  ? own.endsWith(ref)
                  : own === ref,
          );
        });
      });
      continue;
    }
    const texts = has('expand') ? expandPlaceholders(value, options, notes) : [value];
    for (const text of texts) {
      let parts: Part[] = has('base64') ? [Buffer.from(text, 'utf8').toString('base64')] : parseSigmaString(text);
      if (position[0] === 'contains' || position[0] === 'endswith') {
        if (parts[0] !== STAR) parts = [STAR, ...parts];
      }
      if (position[0] === 'contains' || position[0] === 'startswith') {
        if (parts[parts.length - 1] !== STAR) parts = [...parts, STAR];
      }
      const pattern = compilePattern(parts, cased);
      if (pattern.exact !== undefined) exact.push(pattern.exact);
      textTests.push(pattern.test);
    }
    if (
      typeof raw === 'string' &&
      !has('fieldref') &&
      /^(?:requestParameters|responseElements|userIdentity|additionalEventData)\.[A-Za-z.]+$/.test(raw)
    ) {
      notes.push(
        `${field} is compared with the text '${raw}', which looks like a field name: write ${field}|fieldref to compare with that field`,
      );
    }
  }

  const neq = has('neq');
  let test: Predicate;
  if (textTests.length === 0 && recordTests.length === 0) {
    // Only placeholders without values: nothing can match (noted above).
    test = () => false;
  } else if (all) {
    const tests: Predicate[] = [
      ...textTests.map(
        (t): Predicate =>
          (r) =>
            anyValue(get(r), t),
      ),
      ...recordTests,
    ];
    test = allOf(tests);
  } else if (recordTests.length === 0 && textTests.length === exact.length && exact.length > 1) {
    // A list of plain values (the usual eventName list): one Set lookup instead of a test per value.
    const set = new Set(exact);
    test = (r) => anyValue(get(r), (t) => set.has(cased ? t : t.toLowerCase()));
  } else if (recordTests.length === 0 && textTests.length === 1) {
    const only = textTests[0];
    test = (r) => anyValue(get(r), only);
  } else {
    test = (r) => anyValue(get(r), (t) => textTests.some((f) => f(t))) || recordTests.some((f) => f(r));
  }
  if (neq) {
    if (hasNull) fail('neq cannot take null (use a filter with null and not)');
    const positive = test;
    test = (r) => !isAbsent(get(r)) && !positive(r);
  }
  const requires = new Map<string, ExactValues>();
  const plain = modifiers.every((m) => m === 'cased' || m === 'expand');
  if (plain && !hasNull && !all && exact.length === textTests.length && recordTests.length === 0) {
    // `cased` values are exact too; the index compares lower-cased, which only widens the candidates.
    requires.set(field, new Set(exact.map((e) => e.toLowerCase())));
  }
  return { test, requires, fields, notes };
}

/** Splits `field|mod1|mod2` into the field and its modifiers. */
function splitKey(key: string): { field: string; modifiers: string[] } {
  const [field, ...modifiers] = key.split('|');
  return { field, modifiers };
}

function compileMap(map: Record<string, unknown>, options: CompileOptions, notes: string[]): CompiledSearch {
  const entries = Object.entries(map);
  if (entries.length === 0) throw new DetectionError('empty selection', 'a selection with no field matches nothing');
  const parts = entries.map(([key, raw]) => {
    const { field, modifiers } = splitKey(key);
    if (isRecord(raw)) {
      throw new DetectionError(
        'nested map',
        `${key}: a map as a value is not Sigma (name the field with a dotted path)`,
      );
    }
    const values = (Array.isArray(raw) ? raw : [raw]) as Scalar[];
    if (values.some((v) => isRecord(v) || Array.isArray(v))) {
      throw new DetectionError('nested list', `${key}: values must be strings, numbers, booleans or null`);
    }
    return compileField({ field, modifiers, values }, options, notes);
  });
  const requires = new Map<string, ExactValues>();
  for (const p of parts) for (const [f, v] of p.requires) requires.set(f, intersect(requires.get(f), v));
  return { test: allOf(parts.map((p) => p.test)), requires, fields: parts.flatMap((p) => p.fields), notes };
}

function intersect(a: ExactValues | undefined, b: ExactValues): ExactValues {
  if (!a) return b;
  return new Set([...a].filter((x) => b.has(x)));
}

/** Compiles one search identifier's definition (a map, or a list of maps). */
export function compileSearch(definition: unknown, options: CompileOptions): CompiledSearch {
  const notes: string[] = [];
  if (isRecord(definition)) return compileMap(definition, options, notes);
  if (Array.isArray(definition)) {
    if (definition.length === 0) throw new DetectionError('empty selection', 'an empty list matches nothing');
    if (!definition.every(isRecord)) {
      throw new DetectionError(
        'keywords',
        'keyword search (a list of values without a field) is not supported on CloudTrail records: name the field',
      );
    }
    const alternatives = definition.map((m) => compileMap(m, options, notes));
    const requires = new Map<string, ExactValues>();
    // A list of maps is an OR: a field constrains it only if every alternative constrains that field.
    for (const field of alternatives[0].requires.keys()) {
      if (alternatives.every((a) => a.requires.has(field))) {
        requires.set(field, new Set(alternatives.flatMap((a) => [...(a.requires.get(field) as ExactValues)])));
      }
    }
    return {
      test: anyOf(alternatives.map((a) => a.test)),
      requires,
      fields: alternatives.flatMap((a) => a.fields),
      notes,
    };
  }
  throw new DetectionError(
    'keywords',
    'keyword search (a value without a field) is not supported on CloudTrail records: name the field',
  );
}
