/**
 * Result formats shared by every command (`--format table|json|jsonl|csv`, where they apply), and the rules
 * that keep attacker-controlled text inert: log fields (user agents, request parameters, names, file names)
 * are written by whoever made the API call, so they may hold terminal escape sequences or spreadsheet formulas.
 *
 * - `table` (for people): control characters, DEL, C1 controls and bidirectional overrides are shown escaped
 *   (`\x1b`, `\u202e`), so nothing can move the cursor, recolour the terminal or reorder what is shown.
 * - `json`, `jsonl`: JSON escapes C0 controls already; C1 controls, line/paragraph separators and bidi
 *   overrides are escaped too (`\u009b`), which keeps the JSON identical once parsed.
 * - `csv`: written by csv-stringify (RFC 4180 quoting); a cell that starts with `=`, `+`, `-`, `@`, a tab or a
 *   carriage return gets a leading `'` so a spreadsheet shows it as text instead of running it (OWASP "CSV
 *   injection"), and control characters other than tab and newline are escaped as in tables.
 */
import { stringify } from 'csv-stringify/sync';

export type RowFormat = 'table' | 'json' | 'jsonl' | 'csv';

/** Characters a terminal may act on: C0 controls, DEL, C1 controls, zero-width and bidi controls, BOM. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point.
const TERMINAL_UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]/g;
/** The same for CSV cells, where tab and newline are data (quoted by the CSV writer). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point.
const CSV_UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]/g;
/** What JSON.stringify leaves raw but a terminal could still act on. */
const JSON_UNSAFE = /[\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]/g;
const FORMULA_START = /^[=+\-@\t\r]/;

function escapeChar(c: string): string {
  const code = c.charCodeAt(0);
  return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** Text safe to print on a terminal: every control or bidi character shown as an escape. */
export function terminalSafe(text: string): string {
  return text.replace(TERMINAL_UNSAFE, escapeChar);
}

/** JSON text with the characters JSON.stringify leaves raw but terminals act on escaped as `\uXXXX`. */
export function jsonSafe(json: string): string {
  return json.replace(JSON_UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A CSV cell that a spreadsheet shows as text: formula starts neutralized, control characters escaped. */
export function csvCell(value: string): string {
  const escaped = value.replace(CSV_UNSAFE, escapeChar);
  return FORMULA_START.test(escaped) ? `'${escaped}` : escaped;
}

/** A value as text for a table or CSV cell: objects and arrays as JSON, null and undefined as empty. */
export function cellText(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** Rows arrive in batches and are written as they come; `end` finishes the document. */
export interface RowWriter {
  write(rows: readonly Record<string, unknown>[]): void;
  end(): void;
}

/** Table rows held to size the columns; later rows use the same widths (cells are cut at 80 characters). */
const TABLE_SIZING_ROWS = 10_000;
const TABLE_CELL_MAX = 80;

/**
 * Writes rows in `format` through `out`, streaming: memory holds one batch (tables: the first
 * {@link TABLE_SIZING_ROWS} rows, to size the columns).
 */
export function rowWriter(format: RowFormat, columns: readonly string[], out: (text: string) => void): RowWriter {
  switch (format) {
    case 'json': {
      let first = true;
      return {
        write(rows) {
          if (rows.length === 0) return;
          const body = rows.map((r) => jsonSafe(JSON.stringify(pick(r, columns), null, 2)).replace(/^/gm, '  '));
          out(`${first ? '[\n' : ',\n'}${body.join(',\n')}`);
          first = false;
        },
        end() {
          out(first ? '[]\n' : '\n]\n');
        },
      };
    }
    case 'jsonl':
      return {
        write(rows) {
          if (rows.length > 0) out(rows.map((r) => `${jsonSafe(JSON.stringify(pick(r, columns)))}\n`).join(''));
        },
        end() {},
      };
    case 'csv': {
      const csv = (records: unknown[][], header: boolean) =>
        stringify(records, {
          header,
          columns: columns.map((c) => ({ key: String(columns.indexOf(c)), header: csvCell(c) })),
          cast: {
            string: csvCell,
            boolean: (b) => String(b),
            object: (o) => csvCell(JSON.stringify(o)),
            bigint: (b) => String(b),
          },
        });
      let headerDone = false;
      return {
        write(rows) {
          if (rows.length === 0) return;
          out(
            csv(
              rows.map((r) => columns.map((c) => r[c] ?? null)),
              !headerDone,
            ),
          );
          headerDone = true;
        },
        end() {
          if (!headerDone) out(csv([], true));
        },
      };
    }
    case 'table':
      return tableWriter(columns, out);
  }
}

function pick(row: Record<string, unknown>, columns: readonly string[]): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const c of columns) o[c] = row[c] ?? null;
  return o;
}

function tableWriter(columns: readonly string[], out: (text: string) => void): RowWriter {
  const cut = (s: string) => (s.length > TABLE_CELL_MAX ? `${s.slice(0, TABLE_CELL_MAX - 1)}…` : s);
  const cells = (r: Record<string, unknown>) => columns.map((c) => cut(terminalSafe(cellText(r[c]))));
  const header = columns.map((c) => cut(terminalSafe(c)));
  let held: string[][] | undefined = [];
  let widths: number[] = [];
  let any = false;
  const line = (vals: readonly string[]) =>
    vals
      .map((v, i) => v.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  const release = () => {
    if (!held) return;
    widths = header.map((h, i) => Math.max(h.length, ...(held ?? []).map((row) => row[i].length)));
    out(`${[line(header), line(widths.map((w) => '-'.repeat(w))), ...held.map(line)].join('\n')}\n`);
    held = undefined;
  };
  return {
    write(rows) {
      if (rows.length === 0) return;
      any = true;
      const batch = rows.map(cells);
      if (held && held.length + batch.length <= TABLE_SIZING_ROWS) {
        held.push(...batch);
        return;
      }
      if (held) {
        held.push(...batch);
        release();
        return;
      }
      out(`${batch.map(line).join('\n')}\n`);
    },
    end() {
      if (!any) {
        out('(no rows)\n');
        return;
      }
      release();
    },
  };
}

/** Writes a whole result at once (small results, listings). */
export function renderRows(
  format: RowFormat,
  columns: readonly string[],
  rows: readonly Record<string, unknown>[],
): string {
  let text = '';
  const writer = rowWriter(format, columns, (t) => {
    text += t;
  });
  writer.write(rows);
  writer.end();
  return text;
}
