/*
 * Derivative-free minimisation for the customer value models: their likelihoods have only three or
 * four parameters, and Nelder–Mead needs nothing but function values, so no gradient has to be
 * derived (or kept in step with the likelihood when it changes).
 */

import { complete, type Steps } from './steps';

export interface MinimizeOptions {
  /** Size of the first simplex along each coordinate, and again at every restart. Default 0.5. */
  initialStep?: number;
  /** A run ends when the simplex's values differ by at most this × (1 + |best|). Default 1e-10. */
  fTolerance?: number;
  /** … and its vertices by at most this in every coordinate. Default 1e-7. */
  xTolerance?: number;
  /** Iterations allowed to one run. Default 5,000. */
  maxIterations?: number;
  /** Runs after the first, each from the best point so far. Default 20. */
  maxRestarts?: number;
}

export interface MinimizeResult {
  /** The best point found (for minimizePositive: the parameters themselves, not their logs). */
  x: number[];
  value: number;
  /** Nelder–Mead iterations over all runs. */
  iterations: number;
  evaluations: number;
  restarts: number;
  /** The last run met both tolerances and did not improve on the one before. */
  converged: boolean;
}

/** Nelder–Mead iterations between pauses: a few hundred microseconds on a small base. */
const PAUSE_EVERY = 64;

const REFLECT = 1;
const EXPAND = 2;
const CONTRACT = 0.5;
const SHRINK = 0.5;

interface Run {
  x: number[];
  value: number;
  iterations: number;
  converged: boolean;
}

/**
 * One Nelder–Mead run (Lagarias et al. 1998 variant: outside and inside contractions, shrink
 * towards the best vertex). A NaN value counts as +Infinity, so an objective can refuse a point.
 */
function* run(f: (y: number[]) => number, start: number[], startValue: number, step: number, fTol: number, xTol: number, maxIterations: number): Steps<Run> {
  const n = start.length;
  const points: number[][] = [start.slice()];
  const values: number[] = [startValue];
  for (let i = 0; i < n; i++) {
    const p = start.slice();
    p[i] += step;
    points.push(p);
    values.push(f(p));
  }
  const order = points.map((_, i) => i);
  const centroid = new Array<number>(n);
  const along = (t: number, worst: number[]) => centroid.map((c, j) => c + t * (c - worst[j]));
  const replace = (k: number, point: number[], value: number) => {
    points[k] = point;
    values[k] = value;
  };

  for (let iteration = 0; iteration < maxIterations; iteration++) {
    if ((iteration & (PAUSE_EVERY - 1)) === 0 && iteration > 0) yield;
    order.sort((i, j) => values[i] - values[j]);
    const best = order[0];
    const worst = order[n];
    const secondWorst = order[n - 1];

    let spread = 0;
    for (let i = 1; i <= n; i++) {
      const p = points[order[i]];
      for (let j = 0; j < n; j++) spread = Math.max(spread, Math.abs(p[j] - points[best][j]));
    }
    if (values[worst] - values[best] <= fTol * (1 + Math.abs(values[best])) && spread <= xTol) {
      return { x: points[best], value: values[best], iterations: iteration, converged: true };
    }

    centroid.fill(0);
    for (let i = 0; i < n; i++) {
      const p = points[order[i]];
      for (let j = 0; j < n; j++) centroid[j] += p[j] / n;
    }
    const reflected = along(REFLECT, points[worst]);
    const fr = f(reflected);
    if (fr < values[best]) {
      const expanded = along(EXPAND, points[worst]);
      const fe = f(expanded);
      if (fe < fr) replace(worst, expanded, fe);
      else replace(worst, reflected, fr);
      continue;
    }
    if (fr < values[secondWorst]) {
      replace(worst, reflected, fr);
      continue;
    }
    if (fr < values[worst]) {
      const outside = along(REFLECT * CONTRACT, points[worst]);
      const fo = f(outside);
      if (fo <= fr) {
        replace(worst, outside, fo);
        continue;
      }
    } else {
      const inside = along(-CONTRACT, points[worst]);
      const fi = f(inside);
      if (fi < values[worst]) {
        replace(worst, inside, fi);
        continue;
      }
    }
    for (let i = 1; i <= n; i++) {
      const k = order[i];
      points[k] = points[k].map((v, j) => points[best][j] + SHRINK * (v - points[best][j]));
      values[k] = f(points[k]);
    }
  }
  order.sort((i, j) => values[i] - values[j]);
  return { x: points[order[0]], value: values[order[0]], iterations: maxIterations, converged: false };
}

/**
 * Minimises f over ℝⁿ from y0 by Nelder–Mead, restarted from the best point with a fresh simplex
 * until a restart no longer improves the value: a collapsed simplex can stall away from the
 * minimum, and a restart is the cheap cure. Deterministic: the same input gives the same answer.
 */
export function nelderMead(f: (y: number[]) => number, y0: readonly number[], options: MinimizeOptions = {}): MinimizeResult {
  return complete(nelderMeadSteps(f, y0, options));
}

/** nelderMead as steps: it pauses every few iterations (see completeInSlices). */
export function* nelderMeadSteps(f: (y: number[]) => number, y0: readonly number[], options: MinimizeOptions = {}): Steps<MinimizeResult> {
  const step = options.initialStep ?? 0.5;
  const fTol = options.fTolerance ?? 1e-10;
  const xTol = options.xTolerance ?? 1e-7;
  const maxIterations = options.maxIterations ?? 5000;
  const maxRestarts = options.maxRestarts ?? 20;

  let evaluations = 0;
  const objective = (y: number[]) => {
    evaluations++;
    const v = f(y);
    return Number.isNaN(v) ? Infinity : v;
  };

  let best = y0.slice();
  let bestValue = objective(best);
  let iterations = 0;
  let restarts = 0;
  let converged = false;
  for (;;) {
    const r = yield* run(objective, best, bestValue, step, fTol, xTol, maxIterations);
    iterations += r.iterations;
    const improvement = bestValue - r.value;
    const improved = r.value < bestValue;
    if (improved) {
      best = r.x;
      bestValue = r.value;
    }
    // The first run always gets a second opinion: one converged run proves little.
    if (restarts > 0 && r.converged && !(improvement > fTol * (1 + Math.abs(bestValue)))) {
      converged = true;
      break;
    }
    if (restarts >= maxRestarts) break;
    restarts++;
  }
  return { x: best, value: bestValue, iterations, evaluations, restarts, converged };
}

/**
 * Minimises f over positive parameters by searching their logarithms, so every point tried is
 * valid and a parameter can range over orders of magnitude at the same cost. x0 must be positive;
 * steps and tolerances are in log units (a step of 0.5 multiplies a parameter by e^0.5 ≈ 1.65).
 */
export function minimizePositive(f: (x: number[]) => number, x0: readonly number[], options: MinimizeOptions = {}): MinimizeResult {
  return complete(minimizePositiveSteps(f, x0, options));
}

/** minimizePositive as steps. */
export function* minimizePositiveSteps(f: (x: number[]) => number, x0: readonly number[], options: MinimizeOptions = {}): Steps<MinimizeResult> {
  if (x0.some((v) => !(v > 0) || !Number.isFinite(v))) throw new RangeError('minimizePositive: the starting point must be positive and finite');
  const result = yield* nelderMeadSteps((y) => f(y.map(Math.exp)), x0.map(Math.log), options);
  return { ...result, x: result.x.map(Math.exp) };
}
