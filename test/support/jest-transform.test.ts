/**
 * The suite's transform (jest-transform.js): modules keep their line numbers and see the very built-ins the
 * globals hold, so stack traces, `instanceof` and spies behave as without it.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { roundSum } from '../../lambda/core/detect/stats';

const transform = createRequire(__filename)('./jest-transform.js') as {
  process(src: string, filename: string, options: unknown): { code: string };
  withPrelude(out: { code: string; map?: string }): { code: string; map?: string };
};

function thrower(): Error {
  return new Error('made here');
}

describe('the jest transform', () => {
  test('binds the built-ins after the "use strict" directive, on the first line', () => {
    const { code } = transform.process('export const x = Math.max(1, 2);\n', join(__dirname, 'x.ts'), {
      config: {},
      cacheFS: new Map(),
      transformerConfig: {},
    });
    const first = code.split('\n')[0];
    expect(first).toMatch(
      /^"use strict";const \{ Math, Number, Object, Array, Map, Set, JSON, String, Buffer \} = globalThis;/,
    );
  });

  test('keeps line numbers: an error says the line it was made on', () => {
    const line = readFileSync(__filename, 'utf8').split('\n').indexOf("  return new Error('made here');") + 1;
    expect(line).toBeGreaterThan(1);
    expect(thrower().stack?.split('\n')[1]).toContain(`jest-transform.test.ts:${line}:`);
  });

  test('puts the line first in code without a directive, and keeps the source map', () => {
    expect(transform.withPrelude({ code: 'const a = 1;\n', map: '{}' })).toEqual({
      code: 'const { Math, Number, Object, Array, Map, Set, JSON, String, Buffer } = globalThis;const a = 1;\n',
      map: '{}',
    });
  });

  test('module code sees the globals themselves: spies reach it, instanceof holds', () => {
    const spy = jest.spyOn(Math, 'log10');
    try {
      roundSum(1234.5678);
      expect(spy).toHaveBeenCalled();
    } finally {
      spy.mockRestore();
    }
    expect(new Map()).toBeInstanceOf(globalThis.Map);
    expect(Object.getPrototypeOf([])).toBe(globalThis.Array.prototype);
  });
});
