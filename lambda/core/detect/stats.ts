/**
 * Count-model tail probabilities: Poisson and negative binomial (NB) upper tails, computed in log space
 * so p-values down to 1e-300 stay meaningful. NB is parameterised by mean μ and dispersion c = 1/r, so
 * var = μ + c·μ²; c → 0 is Poisson.
 */

const LANCZOS = [
  676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905,
  -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

/** ln Γ(x) for x > 0 (Lanczos, g = 7; ~15 significant digits). */
export function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const z = x - 1;
  let a = 0.99999999999980993;
  const t = z + 7.5;
  for (let i = 0; i < LANCZOS.length; i++) a += LANCZOS[i] / (z + i + 1);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/** ln P(X = k) for X ~ NB(μ, c); c ≤ 1e-9 falls back to Poisson(μ). */
export function logNegBinomPmf(k: number, mu: number, c: number): number {
  if (mu <= 0) return k === 0 ? 0 : Number.NEGATIVE_INFINITY;
  if (c <= 1e-9) return k * Math.log(mu) - mu - logGamma(k + 1);
  const r = 1 / c;
  // p = probability of "success" in the r-failures parameterisation: mean μ = r(1-p)/p.
  const logP = Math.log(r / (r + mu));
  const log1mP = Math.log(mu / (r + mu));
  return logGamma(k + r) - logGamma(r) - logGamma(k + 1) + r * logP + k * log1mP;
}

/**
 * ln P(X ≥ x) for X ~ NB(μ, c), for x above the mean (the only case a spike test needs; at or below the
 * mean it returns 0, i.e. "not surprising"). One log-gamma evaluation for the first term, then the pmf
 * recurrence P(k+1)/P(k) = (k + r)/(k + 1) · μ/(r + μ); the sum stops when a geometric bound on the rest
 * is negligible, so heavy tails (small r) cost no more than light ones.
 */
export function logUpperTail(x: number, mu: number, c: number): number {
  if (x <= 0) return 0;
  if (mu <= 0) return Number.NEGATIVE_INFINITY;
  if (x <= mu) return 0;
  const logFirst = logNegBinomPmf(x, mu, c);
  if (logFirst === Number.NEGATIVE_INFINITY) return logFirst;
  const poisson = c <= 1e-9;
  const r = poisson ? 0 : 1 / c;
  const q = poisson ? 0 : mu / (r + mu);
  let term = 1;
  let sum = 1;
  for (let k = x; k < x + 1_000_000; k++) {
    const ratio = poisson ? mu / (k + 1) : ((k + r) / (k + 1)) * q;
    term *= ratio;
    sum += term;
    // The ratios move monotonically toward q (NB) or 0 (Poisson): bound the rest geometrically.
    const bound = Math.max(ratio, q);
    if (bound < 1 && (term * bound) / (1 - bound) < 1e-12 * sum) break;
  }
  return Math.min(0, logFirst + Math.log(sum));
}

/** P(X = 0) for X ~ NB(μ, c): the probability of seeing nothing when μ was expected. */
export function zeroProbability(mu: number, c: number): number {
  if (mu <= 0) return 1;
  if (c <= 1e-9) return Math.exp(-mu);
  return (1 + c * mu) ** (-1 / c);
}

/**
 * Decayed sums keep 6 significant digits. Full doubles (17 digits in JSON) made the baselines most of the
 * serialized state, which the pipeline rewrites on every file (docs/pipeline.md, cost); 6 digits change an
 * expected count by less than one part in 100,000. Rounding happens here, on every decay, so the CLI, the
 * Lambdas and a resumed state all compute with the same numbers and replays stay exact.
 */
export function roundSum(x: number): number {
  if (x === 0) return 0;
  // Number(x.toPrecision(6)) exactly, without the string: the 6-digit integer n nearest |x| / 10^(e−5) (ties
  // up), times or divided by an exact power of ten, is the double nearest that decimal, as parsing it gives.
  // Where the scaled value lands within a hair of a tie, or the exponent guess is off, the string decides.
  const a = Math.abs(x);
  const e = Math.floor(Math.log10(a));
  const shift = 5 - e;
  if (shift >= -22 && shift <= 22) {
    const scaled = shift >= 0 ? a * POW10[shift] : a / POW10[-shift];
    const n = Math.round(scaled);
    if (n >= 100_000 && n < 1_000_000 && Math.abs(scaled - Math.floor(scaled) - 0.5) > 1e-6) {
      const r = shift >= 0 ? n / POW10[shift] : n * POW10[-shift];
      return x < 0 ? -r : r;
    }
  }
  return Number(x.toPrecision(6));
}

/** 10^0 … 10^22: the powers of ten a double holds exactly. */
const POW10 = Array.from({ length: 23 }, (_, i) => Number(`1e${i}`));
