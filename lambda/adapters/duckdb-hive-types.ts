/**
 * Hive type strings (as in the Glue table, `schema/cloudtrail-table.ts`) turned into DuckDB types, plus the
 * conversion that makes a raw CloudTrail JSON value look the way the Glue table's JsonSerDe shows it.
 *
 * What the SerDe does, and what {@link conform} reproduces for the local view:
 *  - struct field names match JSON keys case-insensitively (columns and fields are lower-case);
 *  - a `string` column holding a JSON object or array shows its JSON text (`requestparameters`);
 *  - booleans and numbers in a `string` column show as text (`readonly` is `'true'`/`'false'`);
 *  - keys the type does not name are dropped, missing ones are NULL.
 */

export type HiveType =
  | { readonly kind: 'primitive'; readonly name: string }
  | { readonly kind: 'struct'; readonly fields: readonly { readonly name: string; readonly type: HiveType }[] }
  | { readonly kind: 'array'; readonly element: HiveType }
  | { readonly kind: 'map'; readonly key: HiveType; readonly value: HiveType };

/** Parses `struct<a:string,b:array<struct<c:int>>>` and friends. Throws on malformed input. */
export function parseHiveType(text: string): HiveType {
  let i = 0;
  const s = text.replace(/\s+/g, '');
  const ident = (): string => {
    const m = /^[A-Za-z_][\w]*/.exec(s.slice(i));
    if (!m) throw new Error(`bad Hive type at ${i}: ${text}`);
    i += m[0].length;
    return m[0];
  };
  const expect = (c: string) => {
    if (s[i] !== c) throw new Error(`expected '${c}' at ${i} in Hive type: ${text}`);
    i++;
  };
  const type = (): HiveType => {
    const name = ident().toLowerCase();
    if (name === 'struct') {
      expect('<');
      const fields: { name: string; type: HiveType }[] = [];
      for (;;) {
        const f = ident().toLowerCase();
        expect(':');
        fields.push({ name: f, type: type() });
        if (s[i] === ',') i++;
        else break;
      }
      expect('>');
      return { kind: 'struct', fields };
    }
    if (name === 'array') {
      expect('<');
      const element = type();
      expect('>');
      return { kind: 'array', element };
    }
    if (name === 'map') {
      expect('<');
      const key = type();
      expect(',');
      const value = type();
      expect('>');
      return { kind: 'map', key, value };
    }
    return { kind: 'primitive', name };
  };
  const t = type();
  if (i !== s.length) throw new Error(`trailing text in Hive type: ${text}`);
  return t;
}

const PRIMITIVES: Record<string, string> = {
  string: 'VARCHAR',
  int: 'INTEGER',
  bigint: 'BIGINT',
  double: 'DOUBLE',
  boolean: 'BOOLEAN',
  timestamp: 'TIMESTAMP',
};

/** The DuckDB spelling of a Hive type, e.g. `STRUCT("type" VARCHAR, ...)[]`. */
export function duckdbType(t: HiveType): string {
  switch (t.kind) {
    case 'primitive': {
      const d = PRIMITIVES[t.name];
      if (!d) throw new Error(`no DuckDB mapping for Hive type '${t.name}'`);
      return d;
    }
    case 'struct':
      return `STRUCT(${t.fields.map((f) => `"${f.name}" ${duckdbType(f.type)}`).join(', ')})`;
    case 'array':
      return `${duckdbType(t.element)}[]`;
    case 'map':
      return `MAP(${duckdbType(t.key)}, ${duckdbType(t.value)})`;
  }
}

/** Which parts of a value a query reads: all of it, or some fields of a struct (each again all or some). */
export type FieldUse = true | ReadonlyMap<string, FieldUse>;

/**
 * The DuckDB type of `t` keeping only the struct fields `use` names, spelled by `key(path)` (the lower-case
 * field path, e.g. `useridentity.sessioncontext`) or lower-case when `key` is not given. A struct none of
 * whose fields `use` names is kept whole.
 */
export function prunedDuckdbType(t: HiveType, use: FieldUse, path: string, key?: (path: string) => string): string {
  const quote = (name: string) => `"${name.replaceAll('"', '""')}"`;
  switch (t.kind) {
    case 'struct': {
      const fields = use === true ? t.fields : t.fields.filter((f) => use.has(f.name));
      const kept = fields.length > 0 ? fields : t.fields;
      const parts = kept.map((f) => {
        const sub = use === true || fields.length === 0 ? true : (use.get(f.name) ?? true);
        const fieldPath = `${path}.${f.name}`;
        return `${quote(key ? key(fieldPath) : f.name)} ${prunedDuckdbType(f.type, sub, fieldPath, key)}`;
      });
      return `STRUCT(${parts.join(', ')})`;
    }
    case 'array':
      // Fields of array elements are read through UNNEST, where the column itself is named: keep elements whole.
      return `${prunedDuckdbType(t.element, true, path, key)}[]`;
    case 'map':
      return `MAP(${duckdbType(t.key)}, ${duckdbType(t.value)})`;
    case 'primitive':
      return duckdbType(t);
  }
}

/** Shapes a raw JSON value like the JsonSerDe shows it for a column of type `t` (see the module comment). */
export function conform(value: unknown, t: HiveType): unknown {
  if (value === null || value === undefined) return null;
  switch (t.kind) {
    case 'primitive':
      if (t.name === 'string') {
        if (typeof value === 'string') return value;
        if (typeof value === 'object') return JSON.stringify(value);
        return String(value);
      }
      return value;
    case 'struct': {
      if (typeof value !== 'object' || Array.isArray(value)) return null;
      const byLower = new Map<string, unknown>();
      for (const [k, v] of Object.entries(value)) byLower.set(k.toLowerCase(), v);
      const out: Record<string, unknown> = {};
      for (const f of t.fields) out[f.name] = conform(byLower.get(f.name), f.type);
      return out;
    }
    case 'array':
      return Array.isArray(value) ? value.map((v) => conform(v, t.element)) : null;
    case 'map': {
      if (typeof value !== 'object' || Array.isArray(value)) return null;
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) out[k] = conform(v, t.value);
      return out;
    }
  }
}
