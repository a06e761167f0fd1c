/*
 * The BG/NBD model of repeat buying (Fader, Hardie & Lee 2005, "Counting your customers the easy
 * way: an alternative to the Pareto/NBD model", Marketing Science 24(2), 275–284). While alive, a
 * customer buys at a Poisson rate λ ~ Gamma(r, α); after each purchase he drops out with
 * probability p ~ Beta(a, b). Everything below reads a customer through (x, tx, T) only.
 *
 * Time is in whatever unit the summaries use (weeks, by summary.ts); α carries that unit.
 */

import { minimizePositiveSteps, type MinimizeOptions } from './optimize';
import { lnGamma, softplus, sumSeries } from './special-functions';
import { complete, type Steps } from './steps';

// Module constants rather than Math.*: see special-functions.ts.
const { exp, expm1, log, log1p } = Math;

export interface BgnbdParams {
  r: number;
  alpha: number;
  a: number;
  b: number;
}

/** One customer's calibration history, as the model sees it. */
export interface RfmSummary {
  /** Repeat purchases: purchase days after the first one. */
  x: number;
  /** Time from the first purchase to the last repeat purchase (0 when x = 0). */
  tx: number;
  /** Time from the first purchase to the end of calibration. */
  T: number;
}

export interface BgnbdFit {
  params: BgnbdParams;
  logLikelihood: number;
  iterations: number;
  evaluations: number;
  converged: boolean;
  /** Customers fitted (with their weights: the sum of them). */
  customers: number;
  /** Distinct (x, tx, T) summaries the likelihood actually iterated over. */
  groups: number;
}

/**
 * The summaries folded into distinct (x, tx, T) with weights, and the distinct T and tx values
 * numbered: a likelihood evaluation then takes the logarithms of α + T and α + tx once per
 * distinct value, and the ln Γ terms once per distinct x, leaving one exp and one log1p per group.
 */
interface Compiled {
  xs: Float64Array;
  xWeight: Float64Array;
  Ts: Float64Array;
  txs: Float64Array;
  gx: Int32Array;
  gT: Int32Array;
  gtx: Int32Array;
  gw: Float64Array;
  total: number;
  // Scratch space, reused by every evaluation.
  lnAT: Float64Array;
  lnAtx: Float64Array;
  rx: Float64Array;
  c2: Float64Array;
}

function check(c: RfmSummary): void {
  if (!(Number.isInteger(c.x) && c.x >= 0 && c.tx >= 0 && c.T >= c.tx && Number.isFinite(c.T))) {
    throw new RangeError(`not a BG/NBD summary: x = ${c.x}, tx = ${c.tx}, T = ${c.T} (need integer x ≥ 0 and 0 ≤ tx ≤ T)`);
  }
}

function compile(customers: Iterable<RfmSummary & { weight?: number }>): Compiled {
  const groups = new Map<string, { x: number; tx: number; T: number; w: number }>();
  for (const c of customers) {
    check(c);
    const w = c.weight ?? 1;
    if (w === 0) continue;
    // tx is irrelevant without a repeat purchase: folding it away keeps x = 0 to one group per T.
    const tx = c.x === 0 ? 0 : c.tx;
    const key = `${c.x} ${tx} ${c.T}`;
    const g = groups.get(key);
    if (g) g.w += w;
    else groups.set(key, { x: c.x, tx, T: c.T, w });
  }
  const list = [...groups.values()].sort((p, q) => p.x - q.x);
  const index = (values: number[]) => {
    const distinct = [...new Set(values)].sort((p, q) => p - q);
    return { values: Float64Array.from(distinct), of: new Map(distinct.map((v, i) => [v, i])) };
  };
  const X = index(list.map((g) => g.x));
  const T = index(list.map((g) => g.T));
  const tx = index(list.map((g) => g.tx));
  const xWeight = new Float64Array(X.values.length);
  for (const g of list) xWeight[X.of.get(g.x)!] += g.w;
  return {
    xs: X.values,
    xWeight,
    Ts: T.values,
    txs: tx.values,
    gx: Int32Array.from(list, (g) => X.of.get(g.x)!),
    gT: Int32Array.from(list, (g) => T.of.get(g.T)!),
    gtx: Int32Array.from(list, (g) => tx.of.get(g.tx)!),
    gw: Float64Array.from(list, (g) => g.w),
    total: list.reduce((s, g) => s + g.w, 0),
    lnAT: new Float64Array(T.values.length),
    lnAtx: new Float64Array(tx.values.length),
    rx: new Float64Array(X.values.length),
    c2: new Float64Array(X.values.length),
  };
}

/*
 * Equation (6) of the paper, in logs: ln L = A1 + A2 + ln(e^A3 + δ_{x>0} e^A4) with
 *   A1 = ln Γ(r + x) − ln Γ(r) + r ln α
 *   A2 = ln Γ(a + b) + ln Γ(b + x) − ln Γ(b) − ln Γ(a + b + x)
 *   A3 = −(r + x) ln(α + T)
 *   A4 = ln a − ln(b + x − 1) − (r + x) ln(α + tx)
 * The products of Gamma functions overflow long before the likelihood does; the logs do not.
 */
function logLikelihoodOf(params: BgnbdParams, d: Compiled): number {
  const { r, alpha, a, b } = params;
  if (!(r > 0 && alpha > 0 && a > 0 && b > 0)) return NaN;
  const { xs, xWeight, Ts, txs, gx, gT, gtx, gw, lnAT, lnAtx, rx, c2 } = d;
  for (let k = 0; k < Ts.length; k++) lnAT[k] = log(alpha + Ts[k]);
  for (let k = 0; k < txs.length; k++) lnAtx[k] = log(alpha + txs[k]);
  const shared = -lnGamma(r) + r * log(alpha) + lnGamma(a + b) - lnGamma(b);
  const lnA = log(a);
  let sum = 0;
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i];
    rx[i] = r + x;
    c2[i] = x > 0 ? lnA - log(b + x - 1) : 0;
    sum += xWeight[i] * (shared + lnGamma(r + x) + lnGamma(b + x) - lnGamma(a + b + x));
  }
  for (let g = 0; g < gw.length; g++) {
    const i = gx[g];
    const lt = lnAT[gT[g]];
    let v = -rx[i] * lt;
    if (xs[i] > 0) v += softplus(c2[i] + rx[i] * (lt - lnAtx[gtx[g]]));
    sum += gw[g] * v;
  }
  return sum;
}

/**
 * The BG/NBD log-likelihood of the customers (equation (6) of the paper, summed). A customer may
 * carry a `weight` (how many customers share the summary); identical summaries are grouped anyway.
 */
export function bgnbdLogLikelihood(params: BgnbdParams, customers: Iterable<RfmSummary & { weight?: number }>): number {
  return logLikelihoodOf(params, compile(customers));
}

/**
 * Maximum-likelihood BG/NBD parameters, by Nelder–Mead over their logarithms. The starting point
 * is a rough reading of the data (purchase rate from the mean x and T) unless `start` is given.
 */
export function fitBgnbd(customers: Iterable<RfmSummary & { weight?: number }>, options: MinimizeOptions & { start?: BgnbdParams } = {}): BgnbdFit {
  return complete(fitBgnbdSteps(customers, options));
}

/** fitBgnbd as steps (see completeInSlices). */
export function* fitBgnbdSteps(
  customers: Iterable<RfmSummary & { weight?: number }>,
  options: MinimizeOptions & { start?: BgnbdParams } = {},
): Steps<BgnbdFit> {
  const d = compile(customers);
  if (d.total === 0) throw new RangeError('fitBgnbd: no customers');
  let meanX = 0;
  let meanT = 0;
  for (let g = 0; g < d.gw.length; g++) {
    meanX += (d.gw[g] * d.xs[d.gx[g]]) / d.total;
    meanT += (d.gw[g] * d.Ts[d.gT[g]]) / d.total;
  }
  // r = 1 with α = T̄ / x̄ makes the mean rate x̄ / T̄; a = 1, b = 3 a dropout chance of 1/4 per purchase.
  const start = options.start ?? { r: 1, alpha: Math.max(meanT, 1e-3) / Math.max(meanX, 0.1), a: 1, b: 3 };
  const toParams = (v: number[]): BgnbdParams => ({ r: v[0], alpha: v[1], a: v[2], b: v[3] });
  const result = yield* minimizePositiveSteps((v) => -logLikelihoodOf(toParams(v), d), [start.r, start.alpha, start.a, start.b], options);
  return {
    params: toParams(result.x),
    logLikelihood: -result.value,
    iterations: result.iterations,
    evaluations: result.evaluations,
    converged: result.converged,
    customers: d.total,
    groups: d.gw.length,
  };
}

/**
 * P(alive | x, tx, T) = 1 / (1 + δ_{x>0} · a / (b + x − 1) · ((α + T) / (α + tx))^(r + x)).
 * 1 for x = 0: in this model a customer can only drop out right after a purchase, and the first
 * one does not count, so a customer without a repeat purchase is alive by construction.
 */
export function pAlive(params: BgnbdParams, c: RfmSummary): number {
  if (c.x === 0) return 1;
  const { r, alpha, a, b } = params;
  const odds = exp(log(a / (b + c.x - 1)) + (r + c.x) * (log(alpha + c.T) - log(alpha + c.tx)));
  return 1 / (1 + odds);
}

/*
 * Equations (7) and (10) share the factor
 *   K = C · [1 − (1 − z)^(r+x) ₂F₁(r + x, b + x; C; z)] / (a − 1),   C = a + b + x − 1,
 *   z = t / (α + T + t),
 * which as written is 0/0 at a = 1 and sums a series whose terms grow with x. Euler's
 * transformation ₂F₁(A, B; C; z) = (1 − z)^(C−A−B) ₂F₁(C − A, C − B; C; z) turns the product into
 *   (1 − z)^(a−1) ₂F₁(a + b − 1 − r, a − 1; C; z),
 * with parameters that no longer grow with x; and since (a − 1)_n = (a − 1)(a)_{n−1}, the factor
 * a − 1 divides out of every term of the series:
 *   K = C · [1 − (1 − z)^(a−1)] / (a − 1) − (1 − z)^(a−1) · Σ_{n≥1} h_n,
 *   h_1 = (a + b − 1 − r) z,   h_{n+1} = h_n (a + b − 1 − r + n)(a + n − 1) / ((C + n)(n + 1)) · z,
 * where the first part is −C·expm1((a − 1) ln(1 − z)) / (a − 1), equal to −C·ln(1 − z) at a = 1.
 */
function expectationFactor(params: BgnbdParams, x: number, T: number, t: number): number {
  const { r, alpha, a, b } = params;
  if (t <= 0) return 0;
  const z = t / (alpha + T + t);
  const lnOneMinusZ = -log1p(t / (alpha + T));
  const C = a + b + x - 1;
  const u = (a - 1) * lnOneMinusZ;
  const first = u === 0 ? -C * lnOneMinusZ : (-C * expm1(u)) / (a - 1);
  const ap = a + b - 1 - r;
  const settledFrom = Math.max(0, Math.ceil(-Math.min(ap, a, C)) + 1);
  const series = sumSeries(ap * z, (n) => (((ap + n + 1) * (a + n)) / ((C + n + 1) * (n + 2))) * z, { settledFrom });
  const product = exp(u) * series;
  if (Number.isFinite(product) || !(ap > 0)) return first - product;
  // Large a (hardly any dropout): the series overflows while (1 − z)^(a−1) underflows. Their
  // product is summed in logs instead, each term scaled by the largest so far.
  return first - scaledSeries(u, ap, a, C, z);
}

/** exp(u) · Σ h_n of expectationFactor, summed as logarithms (all factors positive). */
function scaledSeries(u: number, ap: number, a: number, C: number, z: number): number {
  const lz = log(z);
  let l = log(ap) + lz;
  let max = l;
  let sum = 1;
  for (let n = 0; n < 10_000_000; n++) {
    const step = log(ap + n + 1) + log(a + n) - log(C + n + 1) - log(n + 2) + lz;
    l += step;
    if (l > max) {
      sum = sum * exp(max - l) + 1;
      max = l;
    } else {
      sum += exp(l - max);
    }
    // Past the peak, the rest is below 1e-16 of the sum once a term is 40 logs down.
    if (step < 0 && l < max - 40) break;
  }
  return exp(u + max + log(sum));
}

/**
 * E[Y(t) | x, tx, T]: the expected number of purchases in the next t (same unit as T) of a
 * customer with this history — equation (10) of the paper:
 *   (a + b + x − 1)/(a − 1) · [1 − ((α + T)/(α + T + t))^(r+x) ₂F₁(r + x, b + x; a + b + x − 1; t/(α + T + t))]
 *   / (1 + δ_{x>0} · a/(b + x − 1) · ((α + T)/(α + tx))^(r+x)),
 * evaluated in the stable form described above (no 0/0 at a = 1, no overflow for large x).
 */
export function expectedPurchases(params: BgnbdParams, c: RfmSummary, t: number): number {
  return expectationFactor(params, c.x, c.T, t) * pAlive(params, c);
}

/**
 * E[X(t)]: the expected number of repeat purchases of a customer in the first t after his first
 * purchase, before anything is known of him — equation (7) of the paper:
 *   (a + b − 1)/(a − 1) · [1 − (α/(α + t))^r ₂F₁(r, b; a + b − 1; t/(α + t))].
 */
export function expectedPurchasesNew(params: BgnbdParams, t: number): number {
  return expectationFactor(params, 0, 0, t);
}
