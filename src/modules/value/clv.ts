/*
 * Customer lifetime value over a finite horizon: BG/NBD for how many purchases, Gamma-Gamma for how
 * much each, discounted month by month (Fader, Hardie & Lee 2005, JMR, with the horizon and the
 * discounting done in discrete months rather than the paper's continuous infinite sum, which
 * keeps the figure explainable: "the next twelve months, at 1 % a month").
 */

import { expectedPurchases, pAlive, type BgnbdParams, type RfmSummary } from './bgnbd';
import { expectedSpend, type GammaGammaParams } from './gamma-gamma';

/** A month as the models count it: a twelfth of a 52-week year (time in the models is in weeks). */
export const WEEKS_PER_MONTH = 52 / 12;

export const DEFAULT_CLV_MONTHS = 12;
export const DEFAULT_MONTHLY_DISCOUNT_RATE = 0.01;

export interface ClvOptions {
  /** Horizon H in months. Default 12. */
  months?: number;
  /** Discount rate d per month: a purchase in month m counts 1 / (1 + d)^m. Default 0.01. */
  monthlyDiscountRate?: number;
}

export interface ClvPrediction {
  /** Discounted expected spend over the horizon. */
  clv: number;
  /** Expected purchases over the horizon, undiscounted. */
  expectedPurchases: number;
  /** Expected spend per purchase (Gamma-Gamma). */
  expectedSpend: number;
  pAlive: number;
}

/**
 * CLV = Σ_{m=1..H} E[spend] · (E[Y(m·w) | x, tx, T] − E[Y((m−1)·w) | x, tx, T]) / (1 + d)^m,
 * w = 52/12 weeks: the purchases expected in each month, at the customer's expected spend, each
 * month discounted at its end. T and tx must be in weeks (as summary.ts makes them).
 */
export function predictClv(
  bgnbd: BgnbdParams,
  gammaGamma: GammaGammaParams,
  customer: RfmSummary & { mbar: number },
  options: ClvOptions = {},
): ClvPrediction {
  const months = options.months ?? DEFAULT_CLV_MONTHS;
  const d = options.monthlyDiscountRate ?? DEFAULT_MONTHLY_DISCOUNT_RATE;
  const spend = expectedSpend(gammaGamma, customer.x, customer.mbar);
  let before = 0;
  let discounted = 0;
  for (let m = 1; m <= months; m++) {
    const upTo = expectedPurchases(bgnbd, customer, m * WEEKS_PER_MONTH);
    discounted += (upTo - before) / Math.pow(1 + d, m);
    before = upTo;
  }
  return { clv: spend * discounted, expectedPurchases: before, expectedSpend: spend, pAlive: pAlive(bgnbd, customer) };
}

/** A duration in weeks, in words a person would use: days below two weeks, whole weeks above. */
function duration(weeks: number): string {
  const days = Math.round(weeks * 7);
  if (days < 14) return days === 1 ? '1 day' : `${days} days`;
  return `${Math.round(weeks)} weeks`;
}

function ago(weeks: number): string {
  const days = weeks * 7;
  if (days < 1) return 'today';
  if (days < 2) return 'yesterday';
  return `${duration(weeks)} ago`;
}

/**
 * One line saying what P(alive) rests on, e.g.
 * "P(alive) 0.31: 6 repeat purchases, the last 40 weeks ago, against one every 5 weeks before".
 * "Before" is the customer's own mean gap, tx / x, from the first purchase to the last one.
 */
export function explainPrediction(params: BgnbdParams, customer: RfmSummary): string {
  const { x, tx, T } = customer;
  const head = `P(alive) ${pAlive(params, customer).toFixed(2)}`;
  if (x === 0) {
    return `${head}: no repeat purchase yet, first purchase ${ago(T)} (the model lets a customer drop out only after a repeat purchase)`;
  }
  const since = T - tx;
  if (x === 1) return `${head}: 1 repeat purchase, ${ago(since)}, ${duration(tx)} after the first`;
  const gap = tx / x;
  return `${head}: ${x} repeat purchases, the last ${ago(since)}, against one every ${duration(gap)} before`;
}
