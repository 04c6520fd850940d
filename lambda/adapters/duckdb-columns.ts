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

/** The values of a partition column a part of a statement can read, both ends included. */
export interface PartitionRange {
  readonly from?: string;
  readonly to?: string;
}

/**
 * The ranges of `column` (a VARCHAR partition column such as `dt`) that a statement can read from `table`, or
 * undefined when it may read any value. Files outside every range need not be read: the local engine drops them
 * from the statement's file list, as Athena's partition projection skips days outside `dt BETWEEN … AND …`.
 *
 * Conservative by construction, since a wrong answer would lose rows: every reference to the table must be the
 * only table of its SELECT (no join, no comma join) and that SELECT's WHERE must bound the column with string
 * constants in its top-level AND (`=`, `<`, `<=`, `>`, `>=`, `BETWEEN`, either side). An OR, a cast, a function,
 * a join, a CTE named like the table, or a statement DuckDB cannot serialize: undefined, every file is read.
 * Strict bounds are taken as inclusive (a file more, never one less).
 */
export function partitionRanges(serialized: string, table: string, column: string): PartitionRange[] | undefined {
  let ast: unknown;
  try {
    ast = JSON.parse(serialized);
  } catch {
    return undefined;
  }
  if ((ast as { error?: boolean }).error !== false) return undefined;
  const name = table.toLowerCase();
  let references = 0;
  let shadowed = false;
  const ranges: PartitionRange[] = [];
  let unbounded = false;

  const isTable = (n: unknown): n is AstNode =>
    n !== null &&
    typeof n === 'object' &&
    (n as AstNode).type === 'BASE_TABLE' &&
    typeof (n as AstNode).table_name === 'string' &&
    ((n as AstNode).table_name as string).toLowerCase() === name;

  const walk = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const n of node) walk(n);
      return;
    }
    if (node === null || typeof node !== 'object') return;
    const n = node as AstNode;
    if (isTable(n)) references++;
    const ctes = (n.cte_map as { map?: { key?: string }[] } | undefined)?.map;
    if (ctes?.some((c) => typeof c.key === 'string' && c.key.toLowerCase() === name)) shadowed = true;
    if (n.type === 'SELECT_NODE' && isTable(n.from_table)) {
      const from = n.from_table as AstNode;
      const qualifier = (from.alias || (from.table_name as string)).toLowerCase();
      const range = bounds(n.where_clause, column.toLowerCase(), qualifier);
      if (range) ranges.push(range);
      else unbounded = true;
      // Counted here; the walk below counts it again, so one reference is taken back.
      references--;
    }
    for (const v of Object.values(n)) if (typeof v === 'object') walk(v);
  };
  walk(ast);
  // Every reference was the single table of a SELECT (each counted +1 −1): none is left uncovered.
  if (shadowed || unbounded || references !== 0) return undefined;
  return ranges;
}

/** The bounds the top-level AND of `where` puts on `column`, or undefined when it puts none. */
function bounds(where: unknown, column: string, qualifier: string): PartitionRange | undefined {
  const conjuncts: AstNode[] = [];
  const flatten = (e: unknown): void => {
    if (e === null || typeof e !== 'object') return;
    const n = e as AstNode;
    if (n.type === 'CONJUNCTION_AND' && Array.isArray(n.children)) for (const c of n.children) flatten(c);
    else conjuncts.push(n);
  };
  flatten(where);
  const isColumn = (e: unknown): boolean => {
    const n = e as AstNode | null;
    if (n?.class !== 'COLUMN_REF' || !n.column_names) return false;
    const parts = n.column_names.map((c) => c.toLowerCase());
    return parts.length === 1
      ? parts[0] === column
      : parts.length === 2 && parts[0] === qualifier && parts[1] === column;
  };
  const constant = (e: unknown): string | undefined => {
    const n = e as { class?: string; value?: { type?: { id?: string }; is_null?: boolean; value?: unknown } } | null;
    if (n?.class !== 'CONSTANT' || n.value?.type?.id !== 'VARCHAR' || n.value.is_null) return undefined;
    return typeof n.value.value === 'string' ? n.value.value : undefined;
  };
  let from: string | undefined;
  let to: string | undefined;
  const atLeast = (v: string) => {
    if (from === undefined || v > from) from = v;
  };
  const atMost = (v: string) => {
    if (to === undefined || v < to) to = v;
  };
  // The comparison as read from the column's side: `'x' < dt` is `dt > 'x'`.
  const MIRROR: Record<string, string> = {
    COMPARE_EQUAL: 'COMPARE_EQUAL',
    COMPARE_LESSTHAN: 'COMPARE_GREATERTHAN',
    COMPARE_LESSTHANOREQUALTO: 'COMPARE_GREATERTHANOREQUALTO',
    COMPARE_GREATERTHAN: 'COMPARE_LESSTHAN',
    COMPARE_GREATERTHANOREQUALTO: 'COMPARE_LESSTHANOREQUALTO',
  };
  for (const c of conjuncts) {
    if (c.type === 'COMPARE_BETWEEN' && isColumn(c.input)) {
      const lower = constant(c.lower);
      const upper = constant(c.upper);
      if (lower !== undefined) atLeast(lower);
      if (upper !== undefined) atMost(upper);
      continue;
    }
    if (c.class !== 'COMPARISON' || typeof c.type !== 'string' || !(c.type in MIRROR)) continue;
    let op = c.type;
    let value: string | undefined;
    if (isColumn(c.left)) value = constant(c.right);
    else if (isColumn(c.right)) {
      value = constant(c.left);
      op = MIRROR[op];
    }
    if (value === undefined) continue;
    if (op === 'COMPARE_EQUAL' || op.startsWith('COMPARE_GREATERTHAN')) atLeast(value);
    if (op === 'COMPARE_EQUAL' || op.startsWith('COMPARE_LESSTHAN')) atMost(value);
  }
  if (from === undefined && to === undefined) return undefined;
  return { ...(from !== undefined ? { from } : {}), ...(to !== undefined ? { to } : {}) };
}
