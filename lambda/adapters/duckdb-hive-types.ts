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
