/**
 * @swc/jest, plus one line at the top of every compiled module that binds the built-ins the engine leans on
 * (`Math`, `Map`, `Object`, …) to module-scope constants.
 *
 * Why: Jest runs each test file in a `vm` context, and on Node 20 every lookup of a global name there goes
 * through the context's interceptor (about 200 ns, against a few ns outside Jest), so `Math.log` or `new Map()`
 * in a hot loop ran 10–35× slower under test than in the CLI or a Lambda: `roundSum` and `logUpperTail` alone
 * took 31 s of the 356 s of CPU the whole suite took in one process (`node --cpu-prof node_modules/.bin/jest -i`). Bound once per module, the same objects are found in a closure slot. The
 * constants hold the very objects the globals hold, so spies on their methods (`jest.spyOn(Math, 'random')`)
 * still work; `Date` is left out on purpose, as fake timers replace the global.
 *
 * The line goes after swc's `"use strict"` (a directive must stay first) and on line 1, so source maps and
 * stack traces keep their line numbers.
 */
const { createTransformer } = require('@swc/jest');

const swc = createTransformer();
const PRELUDE = 'const { Math, Number, Object, Array, Map, Set, JSON, String, Buffer } = globalThis;';

/** swc's output (`{ code, map }`) with the prelude after its directive, or first when it has none. */
function withPrelude(out) {
  const directive = /^\s*(["'])use strict\1;?/.exec(out.code);
  const at = directive ? directive[0].length : 0;
  return { ...out, code: out.code.slice(0, at) + PRELUDE + out.code.slice(at) };
}

module.exports = {
  withPrelude,
  process: (src, filename, options) => withPrelude(swc.process(src, filename, options)),
  getCacheKey: (src, filename, options) => `${swc.getCacheKey(src, filename, options)}:${PRELUDE}`,
};
