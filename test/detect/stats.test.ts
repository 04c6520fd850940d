import { logGamma, logNegBinomPmf, logUpperTail, roundSum, zeroProbability } from '../../lambda/core/detect/stats';

/** Brute-force upper tail by summing the pmf far enough. */
function bruteTail(x: number, mu: number, c: number): number {
  let p = 0;
  for (let k = x; k < x + 20000; k++) p += Math.exp(logNegBinomPmf(k, mu, c));
  return p;
}

describe('count-model tails', () => {
  test('logGamma matches factorials', () => {
    expect(Math.exp(logGamma(6))).toBeCloseTo(120, 8);
    expect(logGamma(0.5)).toBeCloseTo(Math.log(Math.sqrt(Math.PI)), 10);
  });

  test.each([
    [5, 1, 0],
    [12, 2.5, 0],
    [5, 1, 0.5],
    [30, 3, 2],
    [200, 20, 0.3],
  ])('upper tail P(X ≥ %d) with mean %d and dispersion %d matches brute force', (x, mu, c) => {
    expect(Math.exp(logUpperTail(x, mu, c))).toBeCloseTo(bruteTail(x, mu, c), 10);
  });

  test('stays meaningful far in the tail instead of rounding to zero', () => {
    const lp = logUpperTail(60, 0.05, 0);
    expect(Number.isFinite(lp)).toBe(true);
    expect(lp).toBeLessThan(Math.log(1e-100));
  });

  test('overdispersion makes the same count less surprising', () => {
    expect(logUpperTail(15, 2, 1)).toBeGreaterThan(logUpperTail(15, 2, 0));
  });

  test('at or below the mean nothing is surprising', () => {
    expect(logUpperTail(2, 5, 0.1)).toBe(0);
    expect(logUpperTail(0, 5, 0.1)).toBe(0);
  });

  test('zeroProbability is e^-μ for Poisson and (1 + cμ)^(-1/c) for NB', () => {
    expect(zeroProbability(3, 0)).toBeCloseTo(Math.exp(-3), 12);
    expect(zeroProbability(3, 0.5)).toBeCloseTo(2.5 ** -2, 12);
    expect(zeroProbability(0, 1)).toBe(1);
  });
});

describe('roundSum: 6 significant digits, exactly as Number(x.toPrecision(6))', () => {
  const reference = (x: number) => (x === 0 ? 0 : Number(x.toPrecision(6)));
  const same = (x: number) => Object.is(roundSum(x), reference(x)) || (Number.isNaN(x) && Number.isNaN(roundSum(x)));

  test('on random values over 60 orders of magnitude, both signs (a deterministic sequence)', () => {
    let seed = 12345;
    const next = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    const differ: number[] = [];
    for (let i = 0; i < 200_000; i++) {
      const x = (next() - 0.3) * 10 * 10 ** (Math.floor(next() * 60) - 30);
      if (!same(x)) differ.push(x);
    }
    expect(differ).toEqual([]);
  });

  test('on ties, near-ties, powers of ten and the edges', () => {
    const xs = [1, 10, 0.1, 0.01, 999999.5, 9999995, 123456.5, 1234565, 0.1234565, 0.0000099999995, 2 ** 53, 1e21];
    for (const base of [100000, 123456, 999999]) {
      for (const mag of [-12, -3, 0, 3, 12]) {
        for (const d of [0.5, 0.4999999, 0.5000001, 0]) xs.push((base + d) * 10 ** (mag - 5));
      }
    }
    xs.push(1e-300, 5e-324, 1e300, Number.MAX_VALUE, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.NaN);
    expect(xs.filter((x) => !same(x))).toEqual([]);
  });
});
