import { logGamma, logNegBinomPmf, logUpperTail, zeroProbability } from '../../lambda/core/detect/stats';

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
