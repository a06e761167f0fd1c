/*
 * The validation of Fader, Hardie & Lee (2005, figure 5): fit on a calibration period, then
 * compare, per calibration frequency, the mean number of repeat purchases each group actually made
 * in a hold-out period with the model's conditional expectation for it.
 */

import { expectedPurchases, type BgnbdParams, type RfmSummary } from './bgnbd';
import { utcDayStart, type PurchaseEvent } from './summary';

/**
 * Repeat purchase days per customer in the hold-out period (calibrationEnd, holdoutEnd] (ms).
 * A day already counted in calibration (the calibration end may fall inside a day) is not
 * counted again. Customers without a hold-out purchase are absent: read them as 0.
 */
export function countHoldoutPurchases(events: Iterable<PurchaseEvent>, calibrationEnd: number, holdoutEnd: number): Map<string, number> {
  const calibrationDays = new Map<string, Set<number>>();
  const holdoutDays = new Map<string, Set<number>>();
  for (const e of events) {
    if (!(e.at <= holdoutEnd)) continue;
    const into = e.at <= calibrationEnd ? calibrationDays : holdoutDays;
    let days = into.get(e.customerId);
    if (!days) into.set(e.customerId, (days = new Set()));
    days.add(utcDayStart(e.at));
  }
  const counts = new Map<string, number>();
  for (const [customerId, days] of holdoutDays) {
    const before = calibrationDays.get(customerId);
    let n = 0;
    for (const day of days) if (!before?.has(day)) n++;
    if (n > 0) counts.set(customerId, n);
  }
  return counts;
}

export interface HoldoutRow {
  /** Calibration repeat purchases of the group: '0' … '6', then '7+'. */
  frequency: string;
  customers: number;
  /** Mean repeat purchases in the hold-out period. */
  actual: number;
  /** Mean conditional expectation E[Y(t) | x, tx, T] for the hold-out length. */
  predicted: number;
}

export interface HoldoutComparison {
  /** Hold-out length, in the unit of T (weeks, by summary.ts). */
  weeks: number;
  rows: HoldoutRow[];
  /** The whole cohort: customers, and the summed actual and predicted hold-out purchases. */
  total: { customers: number; actual: number; predicted: number };
}

/** Groups by calibration frequency, as in the paper: 0 to 6 each, then all of 7 and more. */
export const HOLDOUT_GROUPS = ['0', '1', '2', '3', '4', '5', '6', '7+'] as const;

/**
 * The paper's hold-out table for the calibration cohort `customers`; `actual` holds their hold-out
 * repeat purchases by customer id (see countHoldoutPurchases). Groups without a customer are
 * left out.
 */
export function holdoutComparison(
  params: BgnbdParams,
  customers: Iterable<RfmSummary & { customerId: string }>,
  actual: ReadonlyMap<string, number>,
  weeks: number,
): HoldoutComparison {
  const sums = HOLDOUT_GROUPS.map(() => ({ customers: 0, actual: 0, predicted: 0 }));
  const total = { customers: 0, actual: 0, predicted: 0 };
  for (const c of customers) {
    const s = sums[Math.min(c.x, HOLDOUT_GROUPS.length - 1)];
    const a = actual.get(c.customerId) ?? 0;
    const p = expectedPurchases(params, c, weeks);
    for (const into of [s, total]) {
      into.customers++;
      into.actual += a;
      into.predicted += p;
    }
  }
  const rows = HOLDOUT_GROUPS.flatMap((frequency, i) => {
    const s = sums[i];
    return s.customers ? [{ frequency, customers: s.customers, actual: s.actual / s.customers, predicted: s.predicted / s.customers }] : [];
  });
  return { weeks, rows, total };
}

/** The comparison as a plain-text table, for benchmarks and logs. */
export function formatHoldoutTable(comparison: HoldoutComparison): string {
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(9) : c.padStart(10))).join('');
  const { rows, total, weeks } = comparison;
  return [
    `Repeat purchases in a ${+weeks.toFixed(2)}-week hold-out, by calibration frequency`,
    line(['x', 'customers', 'actual', 'predicted']),
    ...rows.map((r) => line([r.frequency, String(r.customers), r.actual.toFixed(3), r.predicted.toFixed(3)])),
    line(['all (sum)', String(total.customers), total.actual.toFixed(0), total.predicted.toFixed(1)]),
  ].join('\n');
}
