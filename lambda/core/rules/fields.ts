/**
 * Field access on a raw CloudTrail record, the way Sigma rules name fields: dotted paths into the record
 * (`userIdentity.sessionContext.sessionIssuer.type`, `requestParameters.layers`).
 *
 * - A path through an array fans out over its elements (`requestParameters.containerDefinitions.command`
 *   reads `command` of every container definition), and a value that is an array stands for its elements:
 *   the field matches when any element matches, as in Sigma backends for JSON logs.
 * - Only own properties are read, so a rule naming `constructor` or `__proto__` sees nothing, not a prototype.
 * - A value that is an object is compared as its JSON text: CloudTrail's Athena table and most SIEMs hold
 *   `requestParameters`/`responseElements` as JSON strings, and rules such as `requestParameters|contains:
 *   'Suspended'` are written for that.
 */

/** A parsed CloudTrail record. */
export type RawRecord = Readonly<Record<string, unknown>>;

const hasOwn = Object.prototype.hasOwnProperty;

/** Splits a Sigma field name into the keys of its path. */
export function fieldPath(name: string): readonly string[] {
  return name.split('.');
}

/**
 * The value at `path`: `undefined` when absent or null; an array when the path crossed an array or ends on
 * one (the values to try, nested arrays flattened).
 */
export function resolveField(record: unknown, path: readonly string[], from = 0): unknown {
  let node = record;
  for (let i = from; i < path.length; i++) {
    if (node === null || typeof node !== 'object') return undefined;
    if (Array.isArray(node)) {
      const out: unknown[] = [];
      for (const element of node) pushValues(out, resolveField(element, path, i));
      return out;
    }
    const key = path[i];
    node = hasOwn.call(node, key) ? (node as Record<string, unknown>)[key] : undefined;
  }
  return node === null ? undefined : node;
}

function pushValues(out: unknown[], value: unknown): void {
  if (value === undefined || value === null) return;
  if (Array.isArray(value)) for (const v of value) pushValues(out, v);
  else out.push(value);
}

type Record_ = Record<string, unknown>;

/**
 * A fast reader for one field, same results as {@link resolveField}. Field reads run for every event and every
 * rule that is tested on every event, so the common shapes (one or two plain keys, no array on the way) skip the
 * generic walk; a path naming a property of Object.prototype (`constructor`, `toString`) keeps the own-property
 * check.
 */
export function fieldAccessor(name: string): (record: unknown) => unknown {
  const path = fieldPath(name);
  const generic = (r: unknown) => resolveField(r, path);
  if (path.some((key) => key in Object.prototype) || path.length > 2) return generic;
  const [a, b] = path;
  if (b === undefined) {
    return (r) => {
      const v = (r as Record_)[a];
      return v === null ? undefined : v;
    };
  }
  return (r) => {
    const o = (r as Record_)[a];
    if (o === null || typeof o !== 'object') return undefined;
    if (Array.isArray(o)) return generic(r);
    const v = (o as Record_)[b];
    return v === null ? undefined : v;
  };
}

/** A scalar or object value as the text rules compare against. */
export function valueText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** Calls `test` on the text of every value `resolved` stands for; true as soon as one passes. */
export function anyValue(resolved: unknown, test: (text: string) => boolean): boolean {
  if (resolved === undefined) return false;
  if (Array.isArray(resolved)) {
    for (const v of resolved) {
      if (v === null || v === undefined) continue;
      if (Array.isArray(v) ? anyValue(v, test) : test(valueText(v))) return true;
    }
    return false;
  }
  return test(valueText(resolved));
}

/** True when the field holds no value: absent, null, or an array with no non-null element. */
export function isAbsent(resolved: unknown): boolean {
  if (resolved === undefined) return true;
  if (Array.isArray(resolved)) return !resolved.some((v) => v !== null && v !== undefined);
  return false;
}

/** True when the field is present in the record, even with a null or empty value (Sigma's `exists`). */
export function hasField(record: unknown, path: readonly string[], from = 0): boolean {
  let node = record;
  for (let i = from; i < path.length; i++) {
    if (node === null || typeof node !== 'object') return false;
    if (Array.isArray(node)) return node.some((element) => hasField(element, path, i));
    if (!hasOwn.call(node, path[i])) return false;
    node = (node as Record<string, unknown>)[path[i]];
  }
  return true;
}
