/*
 * From purchase events to the per-customer summaries the value models read, by the rules of Fader,
 * Hardie & Lee (2005): purchases are counted per distinct UTC day (a basket split over several
 * orders on one day is one purchase), the first purchase day starts the customer's clock and is
 * not a repeat purchase, time is in weeks.
 */

export const DAY_MS = 24 * 3600 * 1000;
export const WEEK_MS = 7 * DAY_MS;

/** One purchase: who, when (ms since the epoch), for how much (in one currency). */
export interface PurchaseEvent {
  customerId: string;
  at: number;
  amount: number;
}

export interface CustomerSummary {
  customerId: string;
  /** Repeat purchases: distinct purchase days after the first, up to the calibration end. */
  x: number;
  /** Weeks from the first purchase day to the last repeat purchase day (whole days / 7; 0 when x = 0). */
  tx: number;
  /** Weeks from the start of the first purchase day to the calibration end instant. */
  T: number;
  /** Mean spend per repeat purchase day (same-day purchases added, the first day left out); 0 when x = 0. */
  mbar: number;
  /** The first and the last purchase (ms), both at or before the calibration end. */
  firstPurchaseAt: number;
  lastPurchaseAt: number;
}

/** Start of the UTC day of an instant (ms). */
export function utcDayStart(at: number): number {
  return Math.floor(at / DAY_MS) * DAY_MS;
}

/**
 * Summaries of every customer with a purchase at or before `calibrationEnd` (ms); later
 * purchases are ignored, and a customer whose first purchase is later is absent. Customers come
 * in the order of their first appearance among the events, which need not be sorted.
 *
 * T runs to the calibration end instant itself while tx runs between day starts, so T ≥ tx even
 * for a purchase made on the last day. To reproduce a study that counts T in whole days to a
 * closing date (as the CDNOW figures do), pass the start of that date.
 */
export function summarizePurchases(events: Iterable<PurchaseEvent>, calibrationEnd: number): CustomerSummary[] {
  const people = new Map<string, { days: Map<number, number>; first: number; last: number }>();
  for (const e of events) {
    if (!(e.at <= calibrationEnd)) continue;
    let person = people.get(e.customerId);
    if (!person) people.set(e.customerId, (person = { days: new Map(), first: e.at, last: e.at }));
    const day = utcDayStart(e.at);
    person.days.set(day, (person.days.get(day) ?? 0) + e.amount);
    if (e.at < person.first) person.first = e.at;
    if (e.at > person.last) person.last = e.at;
  }
  const summaries: CustomerSummary[] = [];
  for (const [customerId, person] of people) {
    const firstDay = utcDayStart(person.first);
    const lastDay = utcDayStart(person.last);
    const x = person.days.size - 1;
    let repeatSpend = 0;
    for (const [day, amount] of person.days) if (day !== firstDay) repeatSpend += amount;
    summaries.push({
      customerId,
      x,
      tx: Math.round((lastDay - firstDay) / DAY_MS) / 7,
      T: (calibrationEnd - firstDay) / WEEK_MS,
      mbar: x > 0 ? repeatSpend / x : 0,
      firstPurchaseAt: person.first,
      lastPurchaseAt: person.last,
    });
  }
  return summaries;
}
