/*
 * The few special functions the customer value models need, in plain double precision: no
 * dependency, nothing allocated in the hot paths (the likelihoods call lnGamma thousands of times
 * per fit).
 */

// Math's functions as module constants: under a vm context (jest's test environment) every
// lookup of a global goes through the context's global object, which made a fit ten times slower.
const { abs, exp, log, log1p, sin } = Math;

// Lanczos approximation, g = 7, nine coefficients: relative error below 2e-15 for x > 0.5.
const LANCZOS_G = 7;
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];
const HALF_LN_2PI = 0.5 * log(2 * Math.PI);

/**
 * ln |Γ(x)|. Lanczos for x ≥ 0.5, the reflection formula below; +Infinity at the poles
 * (0, −1, −2, …). Works in logs throughout, so large arguments (Γ(200) overflows) are fine.
 */
export function lnGamma(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x < 0.5) {
    if (Number.isInteger(x)) return Infinity;
    // Γ(x) Γ(1 − x) = π / sin(πx)
    return log(Math.PI / abs(sin(Math.PI * x))) - lnGamma(1 - x);
  }
  const y = x - 1;
  let series = LANCZOS[0];
  for (let k = 1; k < LANCZOS.length; k++) series += LANCZOS[k] / (y + k);
  const t = y + LANCZOS_G + 0.5;
  return HALF_LN_2PI + (y + 0.5) * log(t) - t + log(series);
}

/** Γ(x), with its sign for negative non-integer x; ±Infinity past about 171.6 and NaN at the poles. */
export function gamma(x: number): number {
  if (x <= 0 && Number.isInteger(x)) return NaN;
  if (x < 0.5) return Math.PI / (sin(Math.PI * x) * gamma(1 - x));
  return exp(lnGamma(x));
}

/** ln B(a, b) = ln Γ(a) + ln Γ(b) − ln Γ(a + b), for a, b > 0. */
export function lnBeta(a: number, b: number): number {
  return lnGamma(a) + lnGamma(b) - lnGamma(a + b);
}

/** ln (e^a + e^b) without overflow or underflow; −Infinity when both are. */
export function logAddExp(a: number, b: number): number {
  if (a === -Infinity) return b;
  if (b === -Infinity) return a;
  return a > b ? a + log1p(exp(b - a)) : b + log1p(exp(a - b));
}

/** ln Σ e^{v_i} without overflow or underflow; −Infinity for an empty list. */
export function logSumExp(values: readonly number[]): number {
  let max = -Infinity;
  for (const v of values) if (v > max) max = v;
  if (max === -Infinity || max === Infinity) return max;
  let sum = 0;
  for (const v of values) sum += exp(v - max);
  return max + log(sum);
}

/** ln (1 + e^v): the form in which the BG/NBD likelihood adds its "still alive" and "dropped out" terms. */
export function softplus(v: number): number {
  return v > 0 ? v + log1p(exp(-v)) : log1p(exp(v));
}

export interface SeriesOptions {
  /** Stop once the estimated rest of the series is below this fraction of the sum. Default 1e-15. */
  tolerance?: number;
  /** Give up (RangeError) after this many terms. Default 1,000,000. */
  maxTerms?: number;
  /**
   * Index from which the term ratios may be trusted to stay below 1: before it, a factor such as
   * (a + n) can pass near zero and make one term tiny with larger ones still to come.
   */
  settledFrom?: number;
}

/**
 * Σ_{n ≥ 0} t_n with t_0 = first and t_{n+1} = t_n · ratio(n): the shape of every hypergeometric
 * series. Once past `settledFrom` with |ratio| < 1, the rest is bounded as if geometric,
 * |t_{n+1}| / (1 − |ratio|), which is what the tolerance is held against. A term of exactly 0
 * ends a terminating series.
 */
export function sumSeries(first: number, ratio: (n: number) => number, options: SeriesOptions = {}): number {
  const tolerance = options.tolerance ?? 1e-15;
  const maxTerms = options.maxTerms ?? 1_000_000;
  const settledFrom = options.settledFrom ?? 0;
  let term = first;
  let sum = first;
  for (let n = 0; n < maxTerms; n++) {
    if (term === 0) return sum;
    const rho = ratio(n);
    term *= rho;
    sum += term;
    if (!Number.isFinite(sum)) return sum;
    const r = abs(rho);
    if (n >= settledFrom && r < 1 && abs(term) <= tolerance * abs(sum) * (1 - r)) return sum;
  }
  throw new RangeError(`series did not converge in ${maxTerms} terms`);
}

/**
 * Gauss's hypergeometric function ₂F₁(a, b; c; z) = Σ (a)_n (b)_n / ((c)_n n!) zⁿ, by its
 * series, for |z| < 1 (RangeError outside, or when c is a non-positive integer). Terms shrink
 * like zⁿ, so z close to 1 costs many terms; the BG/NBD formulas keep z = t / (α + T + t),
 * which stays clear of 1 for horizons of the order of the calibration period.
 */
export function hyp2f1(a: number, b: number, c: number, z: number, options: SeriesOptions = {}): number {
  if (!(abs(z) < 1)) throw new RangeError(`hyp2f1: |z| must be below 1 (z = ${z})`);
  if (c <= 0 && Number.isInteger(c)) throw new RangeError(`hyp2f1: c must not be a non-positive integer (c = ${c})`);
  const settledFrom = Math.max(0, Math.ceil(-Math.min(a, b, c)) + 1);
  return sumSeries(1, (n) => (((a + n) * (b + n)) / ((c + n) * (n + 1))) * z, {
    ...options,
    settledFrom: Math.max(settledFrom, options.settledFrom ?? 0),
  });
}
