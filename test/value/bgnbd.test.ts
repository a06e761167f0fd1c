import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

import { bgnbdLogLikelihood, expectedPurchases, expectedPurchasesNew, fitBgnbd, pAlive, type BgnbdParams, type RfmSummary } from '../../src/modules/value/bgnbd';
import { explainPrediction, predictClv, WEEKS_PER_MONTH } from '../../src/modules/value/clv';
import { expectedSpend, fitGammaGamma, gammaGammaLogLikelihood, type GammaGammaParams } from '../../src/modules/value/gamma-gamma';
import { countHoldoutPurchases, formatHoldoutTable, holdoutComparison } from '../../src/modules/value/holdout';
import { minimizePositive, nelderMead, nelderMeadSteps } from '../../src/modules/value/optimize';
import { gamma, hyp2f1, lnBeta, lnGamma, logAddExp, logSumExp } from '../../src/modules/value/special-functions';
import { completeInSlices } from '../../src/modules/value/steps';
import { summarizePurchases, type PurchaseEvent } from '../../src/modules/value/summary';

const DAY = 24 * 3600 * 1000;

function expectRelative(actual: number, expected: number, tolerance: number) {
  const scale = Math.max(1, Math.abs(expected));
  if (!(Math.abs(actual - expected) <= tolerance * scale)) {
    throw new Error(`expected ${expected} within ${tolerance} (relative), got ${actual}`);
  }
}

/** The parameters Fader, Hardie & Lee (2005) publish for the CDNOW sample (time in weeks). */
const PUBLISHED: BgnbdParams = { r: 0.2426, alpha: 4.4135, a: 0.7929, b: 2.4259 };
const PUBLISHED_GG: GammaGammaParams = { p: 6.25, q: 3.74, gamma: 15.45 };

// Equations (10) and (7) exactly as printed, to hold the rearranged code against.
function equation10(params: BgnbdParams, c: RfmSummary, t: number): number {
  const { r, alpha, a, b } = params;
  const z = t / (alpha + c.T + t);
  const bracket = 1 - Math.pow((alpha + c.T) / (alpha + c.T + t), r + c.x) * hyp2f1(r + c.x, b + c.x, a + b + c.x - 1, z);
  const alive = 1 + (c.x > 0 ? (a / (b + c.x - 1)) * Math.pow((alpha + c.T) / (alpha + c.tx), r + c.x) : 0);
  return (((a + b + c.x - 1) / (a - 1)) * bracket) / alive;
}

function equation7(params: BgnbdParams, t: number): number {
  const { r, alpha, a, b } = params;
  return ((a + b - 1) / (a - 1)) * (1 - Math.pow(alpha / (alpha + t), r) * hyp2f1(r, b, a + b - 1, t / (alpha + t)));
}

// Equation (6), one customer, with the Gamma and Beta functions themselves (fine for small x).
function equation6(params: BgnbdParams, c: RfmSummary): number {
  const { r, alpha, a, b } = params;
  const B = (p: number, q: number) => (gamma(p) * gamma(q)) / gamma(p + q);
  const nbd = (time: number) => (gamma(r + c.x) * Math.pow(alpha, r)) / (gamma(r) * Math.pow(alpha + time, r + c.x));
  let L = (B(a, b + c.x) / B(a, b)) * nbd(c.T);
  if (c.x > 0) L += (B(a + 1, b + c.x - 1) / B(a, b)) * nbd(c.tx);
  return Math.log(L);
}

describe('special functions', () => {
  // Reference values from mpmath at 30 digits.
  it.each([
    [1e-5, 11.5129196928958257],
    [0.1, 2.25271265173420596],
    [0.5, 0.572364942924700087],
    [1, 0],
    [1.5, -0.120782237635245222],
    [2, 0],
    [3.5, 1.20097360234707422],
    [10, 12.8018274800814696],
    [100, 359.134205369575399],
    [1000, 5905.22042320918121],
    [-0.5, 1.2655121234846454],
    [-2.5, -0.0562437164976740507],
  ])('lnGamma(%p) = %p', (x, expected) => {
    expectRelative(lnGamma(x), expected, 1e-13);
  });

  it('lnGamma is infinite at the poles; gamma and lnBeta agree with factorials', () => {
    expect(lnGamma(0)).toBe(Infinity);
    expect(lnGamma(-3)).toBe(Infinity);
    expectRelative(gamma(5), 24, 1e-14);
    expectRelative(gamma(0.5), Math.sqrt(Math.PI), 1e-14);
    expectRelative(gamma(-0.5), -2 * Math.sqrt(Math.PI), 1e-14);
    expectRelative(lnBeta(2, 3), Math.log(1 / 12), 1e-14);
  });

  it('adds in log space without overflow', () => {
    expectRelative(logAddExp(1000, 1000), 1000 + Math.LN2, 1e-15);
    expect(logAddExp(-Infinity, 3)).toBe(3);
    expectRelative(logSumExp([-1000, -1000, -1000]), -1000 + Math.log(3), 1e-15);
    expect(logSumExp([])).toBe(-Infinity);
  });

  it.each([0.1, 0.5, 0.9, 0.99, -0.5])('2F1(1, 1; 2; %p) = −ln(1 − z) / z', (z) => {
    expectRelative(hyp2f1(1, 1, 2, z), -Math.log1p(-z) / z, 1e-13);
  });

  it.each([
    // Closed forms.
    [2.5, 0.7, 0.7, 0.6, Math.pow(0.4, -2.5)],
    [0.5, 0.5, 1.5, 0.36, Math.asin(0.6) / 0.6],
    [0.5, 1, 1.5, -0.81, Math.atan(0.9) / 0.9],
    // A terminating series: a polynomial of degree 3.
    [-3, 2, 5, 0.7, 0.4148],
    // mpmath at 30 digits, parameters of the size BG/NBD passes (r + x, b + x; a + b + x − 1).
    [2.2426, 4.4259, 4.2188, 0.47, 4.49202739292570428],
    [10.2426, 12.4259, 12.2188, 0.3, 41.1309251601343068],
    [0.5, 1.5, 2.5, -0.9, 0.81349928021922135],
    [1.5, 2, 0.5, 0.6, 43.75],
    [0.3, 0.7, 1.9, 0.95, 1.20525089300517547],
  ])('2F1(%p, %p; %p; %p) = %p', (a, b, c, z, expected) => {
    expectRelative(hyp2f1(a, b, c, z), expected, 1e-12);
  });

  it('refuses arguments its series cannot sum', () => {
    expect(() => hyp2f1(1, 1, 2, 1)).toThrow(RangeError);
    expect(() => hyp2f1(1, 1, 2, -1.5)).toThrow(RangeError);
    expect(() => hyp2f1(1, 1, -2, 0.5)).toThrow(RangeError);
    expect(() => hyp2f1(1, 1, 2, 0.999999, { maxTerms: 1000 })).toThrow(/did not converge/);
  });
});

describe('Nelder–Mead', () => {
  const rosenbrock = ([x, y]: number[]) => 100 * (y - x * x) ** 2 + (1 - x) ** 2;

  it('finds the minimum of the Rosenbrock valley, the same way every time', () => {
    const first = nelderMead(rosenbrock, [-1.2, 1]);
    expect(first.converged).toBe(true);
    expect(first.x[0]).toBeCloseTo(1, 5);
    expect(first.x[1]).toBeCloseTo(1, 5);
    expect(nelderMead(rosenbrock, [-1.2, 1])).toEqual(first);
  });

  it('keeps parameters positive by searching their logarithms', () => {
    const tried: number[][] = [];
    const result = minimizePositive((v) => (tried.push(v), (Math.log(v[0] / 3) ** 2) + (v[1] - 0.002) ** 2 * 1e6), [1, 1]);
    expect(result.converged).toBe(true);
    expect(result.x[0]).toBeCloseTo(3, 5);
    expect(result.x[1]).toBeCloseTo(0.002, 6);
    expect(tried.every((v) => v[0] > 0 && v[1] > 0)).toBe(true);
    expect(() => minimizePositive(() => 0, [0, 1])).toThrow(RangeError);
  });

  it('runs in slices, with the same answer, letting the event loop run between them', async () => {
    // Tolerances no simplex can meet: every run spends its whole budget, as on a degenerate base.
    const options = { maxIterations: 2000, maxRestarts: 20, fTolerance: -1 };
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const sliced = await completeInSlices(nelderMeadSteps(rosenbrock, [-1.2, 1], options), 1);
    clearInterval(timer);
    expect(sliced).toEqual(nelderMead(rosenbrock, [-1.2, 1], options));
    expect(sliced.converged).toBe(false);
    expect(sliced.iterations).toBe(21 * 2000);
    // Without the pauses the timer could not fire until the search was over.
    expect(ticks).toBeGreaterThan(0);
  });

  it('stops at maxIterations and says it did not converge', () => {
    const result = nelderMead(rosenbrock, [-1.2, 1], { maxIterations: 10, maxRestarts: 0 });
    expect(result.converged).toBe(false);
    expect(result.iterations).toBe(10);
  });
});

describe('BG/NBD formulas', () => {
  const customers: RfmSummary[] = [
    { x: 0, tx: 0, T: 38.86 },
    { x: 0, tx: 0, T: 3 },
    { x: 1, tx: 1.71, T: 38.86 },
    { x: 2, tx: 30.43, T: 38.86 },
    { x: 5, tx: 10, T: 30 },
    { x: 20, tx: 35, T: 36 },
    { x: 40, tx: 20, T: 60 },
  ];

  it('P(alive) is 1 without a repeat purchase, whatever the time since', () => {
    for (const T of [0, 1, 39, 500]) expect(pAlive(PUBLISHED, { x: 0, tx: 0, T })).toBe(1);
  });

  it('P(alive) falls as the silence since the last purchase grows', () => {
    const values = [38, 30, 20, 10, 0].map((tx) => pAlive(PUBLISHED, { x: 4, tx, T: 38 }));
    for (let i = 1; i < values.length; i++) expect(values[i]).toBeLessThan(values[i - 1]);
    expect(values[0]).toBeLessThan(1);
    expect(values[values.length - 1]).toBeGreaterThan(0);
  });

  it.each(customers)('E[Y(t)] for %p is 0 at t = 0 and increases with t', (c) => {
    expect(expectedPurchases(PUBLISHED, c, 0)).toBe(0);
    const ts = [0.5, 1, 4, 13, 26, 39, 52, 78, 104, 260];
    const values = ts.map((t) => expectedPurchases(PUBLISHED, c, t));
    for (let i = 1; i < values.length; i++) expect(values[i]).toBeGreaterThan(values[i - 1]);
  });

  it.each(customers)('E[Y(t)] for %p agrees with equation (10) as printed', (c) => {
    for (const t of [1, 39, 78, 260]) expectRelative(expectedPurchases(PUBLISHED, c, t), equation10(PUBLISHED, c, t), 1e-10);
  });

  it('E[Y(t)] stays finite and continuous through a = 1, where equation (10) reads 0/0', () => {
    const c = { x: 3, tx: 20, T: 30 };
    const at = (a: number) => expectedPurchases({ ...PUBLISHED, a }, c, 39);
    expect(Number.isFinite(at(1))).toBe(true);
    expectRelative(at(1), at(1 - 1e-7), 1e-6);
    expectRelative(at(1), at(1 + 1e-7), 1e-6);
    expectRelative(at(1.2), equation10({ ...PUBLISHED, a: 1.2 }, c, 39), 1e-10);
  });

  it('E[X(t)] for a new customer agrees with equation (7)', () => {
    for (const t of [1, 39, 78, 520]) expectRelative(expectedPurchasesNew(PUBLISHED, t), equation7(PUBLISHED, t), 1e-10);
  });

  it('the log-likelihood is equation (6), summed, and grouping does not change it', () => {
    const small = customers.filter((c) => c.x <= 5);
    const direct = small.reduce((sum, c) => sum + equation6(PUBLISHED, c), 0);
    expectRelative(bgnbdLogLikelihood(PUBLISHED, small), direct, 1e-12);
    const repeated = [...small, ...small, ...small];
    const weighted = small.map((c) => ({ ...c, weight: 3 }));
    expectRelative(bgnbdLogLikelihood(PUBLISHED, repeated), 3 * direct, 1e-12);
    expectRelative(bgnbdLogLikelihood(PUBLISHED, weighted), 3 * direct, 1e-12);
  });

  it('refuses summaries that cannot be', () => {
    expect(() => bgnbdLogLikelihood(PUBLISHED, [{ x: 1, tx: 5, T: 4 }])).toThrow(RangeError);
    expect(() => bgnbdLogLikelihood(PUBLISHED, [{ x: -1, tx: 0, T: 4 }])).toThrow(RangeError);
    expect(() => bgnbdLogLikelihood(PUBLISHED, [{ x: 1.5, tx: 1, T: 4 }])).toThrow(RangeError);
  });
});

describe('Gamma-Gamma formulas', () => {
  it('expects the population mean for a customer without repeat purchases', () => {
    expectRelative(expectedSpend(PUBLISHED_GG, 0, 123), (6.25 * 15.45) / 2.74, 1e-14);
  });

  it('leans from the population mean towards the customer mean as x grows', () => {
    const population = expectedSpend(PUBLISHED_GG, 0, 0);
    const spends = [1, 2, 5, 20, 200].map((x) => expectedSpend(PUBLISHED_GG, x, 80));
    for (let i = 1; i < spends.length; i++) {
      expect(spends[i]).toBeGreaterThan(spends[i - 1]);
      expect(spends[i]).toBeGreaterThan(population);
      expect(spends[i]).toBeLessThan(80);
    }
  });

  it('the log-likelihood is the density of mbar, and ignores customers without repeat spend', () => {
    const { p, q, gamma: g } = PUBLISHED_GG;
    const density = (x: number, m: number) =>
      Math.log((gamma(p * x + q) / (gamma(p * x) * gamma(q))) * Math.pow(g, q) * Math.pow(m, p * x - 1) * Math.pow(x, p * x) / Math.pow(g + x * m, p * x + q));
    const customers = [
      { x: 1, mbar: 20 },
      { x: 3, mbar: 35.5 },
      { x: 3, mbar: 35.5 },
      { x: 0, mbar: 0 },
      { x: 2, mbar: 0 },
    ];
    expectRelative(gammaGammaLogLikelihood(PUBLISHED_GG, customers), density(1, 20) + 2 * density(3, 35.5), 1e-12);
  });
});

describe('per-customer summaries', () => {
  const end = Date.UTC(2024, 2, 31); // start of 31 March
  const at = (iso: string) => Date.parse(iso);
  const events: PurchaseEvent[] = [
    { customerId: 'a', at: at('2024-01-01T09:00:00Z'), amount: 10 },
    { customerId: 'a', at: at('2024-01-01T18:00:00Z'), amount: 5 }, // same day as the first: not a repeat purchase
    { customerId: 'a', at: at('2024-01-15T23:59:00Z'), amount: 20 },
    { customerId: 'a', at: at('2024-01-15T08:00:00Z'), amount: 4 }, // same day: one purchase of 24
    { customerId: 'a', at: at('2024-02-26T12:00:00Z'), amount: 36 },
    { customerId: 'a', at: at('2024-04-02T12:00:00Z'), amount: 1000 }, // after the calibration end
    { customerId: 'b', at: at('2024-03-03T12:00:00Z'), amount: 7 },
    { customerId: 'c', at: at('2024-04-01T00:00:00Z'), amount: 9 }, // first purchase after the end: absent
  ];

  it('counts purchase days after the first, in weeks from the first purchase day', () => {
    expect(summarizePurchases(events, end)).toEqual([
      {
        customerId: 'a',
        x: 2,
        tx: 8, // 1 January to 26 February: 56 days
        T: 90 / 7, // 1 January to 31 March 00:00
        mbar: (24 + 36) / 2,
        firstPurchaseAt: at('2024-01-01T09:00:00Z'),
        lastPurchaseAt: at('2024-02-26T12:00:00Z'),
      },
      { customerId: 'b', x: 0, tx: 0, T: 4, mbar: 0, firstPurchaseAt: at('2024-03-03T12:00:00Z'), lastPurchaseAt: at('2024-03-03T12:00:00Z') },
    ]);
  });

  it('counts the calibration end instant in, and a day already counted only once in the hold-out', () => {
    const noon = at('2024-03-31T12:00:00Z');
    const split = [
      { customerId: 'd', at: at('2024-03-01T10:00:00Z'), amount: 1 },
      { customerId: 'd', at: noon, amount: 2 },
      { customerId: 'd', at: noon + 3600_000, amount: 3 }, // hold-out, but on a day counted in calibration
      { customerId: 'd', at: at('2024-04-10T10:00:00Z'), amount: 4 },
      { customerId: 'd', at: at('2024-04-10T11:00:00Z'), amount: 5 },
      { customerId: 'd', at: at('2024-05-01T10:00:00Z'), amount: 6 }, // after the hold-out
    ];
    const [d] = summarizePurchases(split, noon);
    expect(d).toMatchObject({ x: 1, tx: 30 / 7, T: (30 + 0.5) / 7, mbar: 2 });
    expect(countHoldoutPurchases(split, noon, at('2024-04-30T00:00:00Z'))).toEqual(new Map([['d', 1]]));
  });
});

describe('customer lifetime value', () => {
  const c = { x: 4, tx: 20, T: 30, mbar: 25 };

  it('without discounting is expected spend × expected purchases over the horizon', () => {
    const clv = predictClv(PUBLISHED, PUBLISHED_GG, c, { months: 12, monthlyDiscountRate: 0 });
    const purchases = expectedPurchases(PUBLISHED, c, 12 * WEEKS_PER_MONTH);
    expectRelative(clv.expectedPurchases, purchases, 1e-12);
    expectRelative(clv.clv, expectedSpend(PUBLISHED_GG, 4, 25) * purchases, 1e-12);
    expect(WEEKS_PER_MONTH * 12).toBe(52);
  });

  it('discounts month by month, 12 months at 1 % by default', () => {
    const byDefault = predictClv(PUBLISHED, PUBLISHED_GG, c);
    const undiscounted = predictClv(PUBLISHED, PUBLISHED_GG, c, { monthlyDiscountRate: 0 });
    expect(byDefault).toEqual(predictClv(PUBLISHED, PUBLISHED_GG, c, { months: 12, monthlyDiscountRate: 0.01 }));
    expect(byDefault.clv).toBeLessThan(undiscounted.clv);
    expect(byDefault.clv).toBeGreaterThan(undiscounted.clv / 1.01 ** 12);
    expect(predictClv(PUBLISHED, PUBLISHED_GG, c, { months: 0 }).clv).toBe(0);
    expect(predictClv(PUBLISHED, PUBLISHED_GG, c, { months: 24 }).clv).toBeGreaterThan(byDefault.clv);
  });

  it.each([
    [{ x: 6, tx: 30, T: 70 }, 'P(alive) 0.07: 6 repeat purchases, the last 40 weeks ago, against one every 5 weeks before'],
    [{ x: 6, tx: 30, T: 31 }, 'P(alive) 0.89: 6 repeat purchases, the last 7 days ago, against one every 5 weeks before'],
    [{ x: 3, tx: 1, T: 1.1 }, 'P(alive) 0.84: 3 repeat purchases, the last today, against one every 2 days before'],
    [{ x: 1, tx: 5, T: 45 }, 'P(alive) 0.28: 1 repeat purchase, 40 weeks ago, 5 weeks after the first'],
    [{ x: 0, tx: 0, T: 12 }, 'P(alive) 1.00: no repeat purchase yet, first purchase 12 weeks ago (the model lets a customer drop out only after a repeat purchase)'],
  ])('explains %p in one line', (customer, line) => {
    expect(explainPrediction(PUBLISHED, customer)).toBe(line);
  });
});

// The data set lives beside the repository (../shared/datasets), as in CI.
const CDNOW = path.join(__dirname, '..', '..', '..', 'shared', 'datasets', 'cdnow-sample.txt.gz');
const haveCdnow = fs.existsSync(CDNOW);
if (!haveCdnow) console.warn(`${CDNOW} is missing: the CDNOW tests are skipped`);

/*
 * Calibration ends at the start of 1997-09-30 (00:00 UTC), not its end: the published figures
 * measure T in whole days to 30 September (T = 272/7 = 38.86 weeks for a customer who first bought
 * on 1 January, as in the authors' own summary of the data), and only that reproduces them —
 * measuring to the end of the day (T = 39) gives a log-likelihood of −9,602.9. The file has dates
 * only, read as midnight, so purchases of 30 September still fall in calibration. The hold-out
 * then runs from 1 October to 30 June 1998 inclusive: 273 days, 39 weeks.
 */
const CALIBRATION_END = Date.UTC(1997, 8, 30);
const HOLDOUT_END = Date.UTC(1998, 5, 30);
const HOLDOUT_WEEKS = (HOLDOUT_END - CALIBRATION_END) / (7 * DAY);

function readCdnow(): PurchaseEvent[] {
  const text = zlib.gunzipSync(fs.readFileSync(CDNOW)).toString('utf8');
  return text
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => {
      const [, sampleId, date, , dollars] = line.trim().split(/\s+/);
      return { customerId: sampleId, at: Date.UTC(+date.slice(0, 4), +date.slice(4, 6) - 1, +date.slice(6, 8)), amount: Number(dollars) };
    });
}

(haveCdnow ? describe : describe.skip)('CDNOW sample (Fader, Hardie & Lee 2005)', () => {
  const events = haveCdnow ? readCdnow() : [];
  const customers = summarizePurchases(events, CALIBRATION_END);

  it('has 6,919 purchase lines and 2,357 customers, 2,457 repeat purchase days in calibration', () => {
    expect(events).toHaveLength(6919);
    expect(customers).toHaveLength(2357);
    expect(customers.reduce((s, c) => s + c.x, 0)).toBe(2457);
    expect(HOLDOUT_WEEKS).toBe(39);
    expect(customers.find((c) => c.customerId === '0001')).toMatchObject({ x: 2, tx: 213 / 7, T: 272 / 7 });
  });

  it('fits the published BG/NBD parameters and log-likelihood', () => {
    const fit = fitBgnbd(customers);
    expect(fit.converged).toBe(true);
    expect(fit.customers).toBe(2357);
    expect(fit.groups).toBeLessThan(2357);
    for (const key of ['r', 'alpha', 'a', 'b'] as const) expectRelative(fit.params[key], PUBLISHED[key], 0.01);
    expect(Math.abs(fit.logLikelihood - -9582.4)).toBeLessThan(0.1);
    expect(fit.logLikelihood).toBeGreaterThanOrEqual(bgnbdLogLikelihood(PUBLISHED, customers));
  });

  it('reaches the same maximum from a poor start', () => {
    const fit = fitBgnbd(customers, { start: { r: 5, alpha: 0.5, a: 5, b: 0.2 } });
    for (const key of ['r', 'alpha', 'a', 'b'] as const) expectRelative(fit.params[key], PUBLISHED[key], 0.01);
    expect(Math.abs(fit.logLikelihood - -9582.4)).toBeLessThan(0.1);
  });

  it('fits the published Gamma-Gamma parameters on the 946 customers with a repeat purchase', () => {
    const fit = fitGammaGamma(customers);
    expect(fit.converged).toBe(true);
    expect(fit.customers).toBe(946);
    for (const key of ['p', 'q', 'gamma'] as const) expectRelative(fit.params[key], PUBLISHED_GG[key], 0.01);
  });

  it('predicts the 39-week hold-out of the example customer 0001 (x = 2, tx = 30.43, T = 38.86)', () => {
    // Equation (10) at the published parameters, evaluated independently (scipy's hyp2f1): 1.2259.
    expect(expectedPurchases(PUBLISHED, { x: 2, tx: 30.43, T: 38.86 }, 39)).toBeCloseTo(1.2259, 4);
    expect(pAlive(PUBLISHED, { x: 2, tx: 30.43, T: 38.86 })).toBeCloseTo(0.7266, 4);
    expect(expectedPurchasesNew(PUBLISHED, 39)).toBeCloseTo(1.1951, 4);
    expect(expectedPurchasesNew(PUBLISHED, 78)).toBeCloseTo(1.858, 3);
  });

  it('builds the hold-out table by calibration frequency', () => {
    const fit = fitBgnbd(customers);
    const actual = countHoldoutPurchases(events, CALIBRATION_END, HOLDOUT_END);
    const table = holdoutComparison(fit.params, customers, actual, HOLDOUT_WEEKS);
    console.log(formatHoldoutTable(table));

    expect(table.rows.map((r) => r.frequency)).toEqual(['0', '1', '2', '3', '4', '5', '6', '7+']);
    expect(table.rows.map((r) => r.customers)).toEqual([1411, 439, 214, 100, 62, 38, 29, 64]);
    expect(table.total.customers).toBe(2357);
    expect(table.total.actual).toBe(1882);
    // Both rise with calibration frequency, as in the paper's figure of conditional expectations.
    for (let i = 1; i < table.rows.length; i++) {
      expect(table.rows[i].actual).toBeGreaterThan(table.rows[i - 1].actual);
      expect(table.rows[i].predicted).toBeGreaterThan(table.rows[i - 1].predicted);
    }
    // The model under-predicts this hold-out, most for x = 1 and 2 (0.70 actual against 0.52
    // predicted, 1.39 against 1.04), as the paper's figure shows: summed, 1,653 against 1,882,
    // 12 % short. The 15 % bound says "no worse than the model is"; the sum itself is pinned
    // closely, since it is a regression check of equation (10) over the whole cohort.
    expect(table.total.predicted).toBeLessThan(table.total.actual);
    expect(Math.abs(table.total.predicted - table.total.actual) / table.total.actual).toBeLessThan(0.15);
    expect(table.total.predicted).toBeCloseTo(1653.4, 0);
  });
});

describe('expectedPurchases with hardly any dropout', () => {
  it('stays finite and continuous when a and b are huge (the series and its factor are summed in logs)', () => {
    const base = { r: 0.133, alpha: 0.8375, a: 37299.87, b: 1051071.5 };
    const customer = { x: 1, tx: 0.2857, T: 0.76 };
    const huge = expectedPurchases(base, customer, 90 / 7);
    const large = expectedPurchases({ ...base, a: base.a / 10, b: base.b / 10 }, customer, 90 / 7);
    expect(Number.isFinite(huge)).toBe(true);
    expect(huge).toBeGreaterThan(0);
    expect(Math.abs(huge - large) / large).toBeLessThan(1e-3);
  });
});
