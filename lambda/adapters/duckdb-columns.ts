/**
 * Which columns, and which fields of struct columns, a SQL statement reads from each table: the local engine
 * declares only those to DuckDB's JSON reader, because turning JSON into typed columns is most of a query's cost
 * (declaring every Glue column made a root-use query over a month of logs 2–3× slower than declaring the few it
 * needs, which is what a hand-written `read_json` does).
 *
 * The statement is parsed by DuckDB itself (`json_serialize_sql`), so strings, comments, quoting and aliases are
 * DuckDB's business. The answer errs on the side of reading more: a `*` anywhere, a table used as a whole row
 * (`to_json(t)`), or a statement DuckDB cannot serialize (not a SELECT) reads every column; a struct column
 * named without a field path (`SELECT useridentity`, `struct_extract(useridentity, 'arn')`) is read whole.
 */
import type { FieldUse } from './duckdb-hive-types';

/** Every column, or the used ones with the struct fields used. */
export type ColumnUse = 'all' | ReadonlyMap<string, FieldUse>;

export interface TableColumns {
  /** Lower-case table name. */
  readonly name: string;
  /** Lower-case column names. */
  readonly columns: ReadonlySet<string>;
}

interface AstNode {
  readonly class?: string;
  readonly type?: string;
  readonly column_names?: readonly string[];
  readonly table_name?: string;
  readonly alias?: string;
  readonly [key: string]: unknown;
}

/** The use of each table's columns in a statement serialized by DuckDB's `json_serialize_sql`. */
export function columnUse(serialized: string, tables: readonly TableColumns[]): Map<string, ColumnUse> {
  const result = new Map<string, ColumnUse>();
  let ast: unknown;
  try {
    ast = JSON.parse(serialized);
  } catch {
    ast = { error: true };
  }
  if ((ast as { error?: boolean }).error) {
    for (const t of tables) result.set(t.name, 'all');
    return result;
  }
  const refs: string[][] = [];
  const aliases = new Map<string, string>(); // alias or name → table
  let star = false;
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const n of node) walk(n);
      return;
    }
    if (node === null || typeof node !== 'object') return;
    const n = node as AstNode;
    if (n.class === 'STAR') star = true;
    if (n.class === 'COLUMN_REF' && n.column_names) refs.push(n.column_names.map((c) => c.toLowerCase()));
    if (n.type === 'BASE_TABLE' && typeof n.table_name === 'string') {
      const table = n.table_name.toLowerCase();
      aliases.set(table, table);
      if (n.alias) aliases.set(n.alias.toLowerCase(), table);
    }
    for (const v of Object.values(n)) if (typeof v === 'object') walk(v);
  };
  walk(ast);

  for (const t of tables) {
    if (star) {
      result.set(t.name, 'all');
      continue;
    }
    const used = new Map<string, FieldUse>();
    let whole = false;
    for (const ref of refs) {
      // `t` as a value (a whole row), or `alias.column…` / `column…`.
      if (ref.length === 1 && aliases.get(ref[0]) === t.name) whole = true;
      const at = t.columns.has(ref[0]) ? 0 : ref.length > 1 && t.columns.has(ref[1]) ? 1 : -1;
      if (at < 0) continue;
      used.set(ref[at], merge(used.get(ref[at]), ref.slice(at + 1)));
    }
    result.set(t.name, whole ? 'all' : used);
  }
  return result;
}

/** Adds one field path (empty: the whole value) to what is used of a column. */
function merge(current: FieldUse | undefined, path: readonly string[]): FieldUse {
  if (current === true || path.length === 0) return true;
  const fields = new Map(current ?? []);
  fields.set(path[0], merge(fields.get(path[0]), path.slice(1)));
  return fields;
}
