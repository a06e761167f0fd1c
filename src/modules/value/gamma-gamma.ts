/*
 * The Gamma-Gamma model of spend per transaction (Fader, Hardie & Lee 2005, "RFM and CLV: using
 * iso-value curves for customer base analysis", Journal of Marketing Research 42(4); Fader &
 * Hardie 2013, "The Gamma-Gamma model of monetary value"). Each transaction of a customer is worth
 * z ~ Gamma(p, ν), and ν ~ Gamma(q, γ) across customers; a customer is read through x (his
 * number of transactions with a known value — repeat purchases here) and mbar, their mean.
 * The model assumes spend independent of the purchase process, which is what lets it be fitted
 * apart from BG/NBD and multiplied with it.
 */

import { minimizePositiveSteps, type MinimizeOptions } from './optimize';
import { lnGamma } from './special-functions';
import { complete, type Steps } from './steps';

// Module constants rather than Math.*: see special-functions.ts.
const { log } = Math;

export interface GammaGammaParams {
  p: number;
  q: number;
  gamma: number;
}

export interface SpendSummary {
  /** Repeat purchases (the transactions that mbar averages). */
  x: number;
  /** Mean spend per repeat purchase. */
  mbar: number;
}

export interface GammaGammaFit {
  params: GammaGammaParams;
  logLikelihood: number;
  iterations: number;
  evaluations: number;
  converged: boolean;
  /** Customers the fit used: those with x ≥ 1 and mbar > 0. */
  customers: number;
}

interface Compiled {
  xs: Float64Array;
  /** Per distinct x: customers, Σ ln mbar, over those customers. */
  count: Float64Array;
  sumLnM: Float64Array;
  gx: Int32Array;
  gm: Float64Array;
  gw: Float64Array;
  total: number;
}

// A customer without a repeat purchase says nothing about spend per repeat purchase, and
// mbar = 0 (only free orders) has zero density under any Gamma: both are left out of the fit.
const usable = (c: SpendSummary) => Number.isInteger(c.x) && c.x >= 1 && c.mbar > 0 && Number.isFinite(c.mbar);

function compile(customers: Iterable<SpendSummary & { weight?: number }>): Compiled {
  const groups = new Map<string, { x: number; m: number; w: number }>();
  for (const c of customers) {
    if (!usable(c)) continue;
    const w = c.weight ?? 1;
    const key = `${c.x} ${c.mbar}`;
    const g = groups.get(key);
    if (g) g.w += w;
    else groups.set(key, { x: c.x, m: c.mbar, w });
  }
  const list = [...groups.values()].sort((p, q) => p.x - q.x);
  const distinct = [...new Set(list.map((g) => g.x))];
  const of = new Map(distinct.map((x, i) => [x, i]));
  const count = new Float64Array(distinct.length);
  const sumLnM = new Float64Array(distinct.length);
  for (const g of list) {
    count[of.get(g.x)!] += g.w;
    sumLnM[of.get(g.x)!] += g.w * log(g.m);
  }
  return {
    xs: Float64Array.from(distinct),
    count,
    sumLnM,
    gx: Int32Array.from(list, (g) => of.get(g.x)!),
    gm: Float64Array.from(list, (g) => g.m),
    gw: Float64Array.from(list, (g) => g.w),
    total: list.reduce((s, g) => s + g.w, 0),
  };
}

/*
 * The density of mbar given x (Fader & Hardie 2013, equation (3)):
 *   f(mbar | p, q, γ; x) = Γ(px + q) / (Γ(px) Γ(q)) · γ^q · mbar^(px−1) · x^(px) / (γ + x·mbar)^(px+q)
 * Only the last factor needs each customer; the rest is summed per distinct x.
 */
function logLikelihoodOf(params: GammaGammaParams, d: Compiled): number {
  const { p, q, gamma } = params;
  if (!(p > 0 && q > 0 && gamma > 0)) return NaN;
  const shared = -lnGamma(q) + q * log(gamma);
  let sum = 0;
  for (let i = 0; i < d.xs.length; i++) {
    const x = d.xs[i];
    const px = p * x;
    sum += d.count[i] * (shared + lnGamma(px + q) - lnGamma(px) + px * log(x)) + (px - 1) * d.sumLnM[i];
  }
  for (let g = 0; g < d.gw.length; g++) {
    const x = d.xs[d.gx[g]];
    sum -= d.gw[g] * (p * x + q) * log(gamma + x * d.gm[g]);
  }
  return sum;
}

/** The Gamma-Gamma log-likelihood of the customers with x ≥ 1 and mbar > 0 (others are skipped). */
export function gammaGammaLogLikelihood(params: GammaGammaParams, customers: Iterable<SpendSummary & { weight?: number }>): number {
  return logLikelihoodOf(params, compile(customers));
}

/**
 * Maximum-likelihood Gamma-Gamma parameters, over the customers with x ≥ 1 and mbar > 0. Starts
 * from p = 1, q = 2 and γ = the mean of mbar, which puts the population mean pγ/(q − 1) there.
 */
export function fitGammaGamma(customers: Iterable<SpendSummary & { weight?: number }>, options: MinimizeOptions & { start?: GammaGammaParams } = {}): GammaGammaFit {
  return complete(fitGammaGammaSteps(customers, options));
}

/** fitGammaGamma as steps (see completeInSlices). */
export function* fitGammaGammaSteps(
  customers: Iterable<SpendSummary & { weight?: number }>,
  options: MinimizeOptions & { start?: GammaGammaParams } = {},
): Steps<GammaGammaFit> {
  const d = compile(customers);
  if (d.total === 0) throw new RangeError('fitGammaGamma: no customer with a repeat purchase of positive value');
  let meanM = 0;
  for (let g = 0; g < d.gw.length; g++) meanM += (d.gw[g] * d.gm[g]) / d.total;
  const start = options.start ?? { p: 1, q: 2, gamma: meanM };
  const toParams = (v: number[]): GammaGammaParams => ({ p: v[0], q: v[1], gamma: v[2] });
  const result = yield* minimizePositiveSteps((v) => -logLikelihoodOf(toParams(v), d), [start.p, start.q, start.gamma], options);
  return {
    params: toParams(result.x),
    logLikelihood: -result.value,
    iterations: result.iterations,
    evaluations: result.evaluations,
    converged: result.converged,
    customers: d.total,
  };
}

/**
 * E[Z | x, mbar]: the expected spend per future transaction, p(γ + x·mbar) / (px + q − 1) — a
 * weighted mean of the population mean pγ/(q − 1) and the customer's own mbar, leaning to mbar
 * as x grows. For x = 0 it is the population mean (mbar is then ignored). Needs q > 1 for the
 * population mean to exist: Infinity otherwise, for x = 0.
 */
export function expectedSpend(params: GammaGammaParams, x: number, mbar: number): number {
  const { p, q, gamma } = params;
  if (x <= 0) return q > 1 ? (p * gamma) / (q - 1) : Infinity;
  return (p * (gamma + x * mbar)) / (p * x + q - 1);
}
