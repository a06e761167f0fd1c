/*
 * RFM: recency, frequency and monetary value scored 1–5 by quintile over the customers with a
 * purchase as of an instant, and the usual named segments.
 */

export interface RfmInput {
  customerId: string;
  /** Days from the last purchase to the instant. */
  recencyDays: number;
  /** Purchases (orders) up to the instant. */
  orders: number;
  /** Net revenue up to the instant. */
  monetary: number;
}

export interface RfmScore {
  r: number;
  f: number;
  m: number;
  cell: string;
  segment: RfmSegment;
}

/** The smallest and largest value given each score, per dimension (recency in days: score 5 is the most recent). */
export interface RfmBoundaries {
  recencyDays: Array<{ score: number; min: number; max: number } | null>;
  orders: Array<{ score: number; min: number; max: number } | null>;
  monetary: Array<{ score: number; min: number; max: number } | null>;
}

export enum RfmSegment {
  CHAMPIONS = 'CHAMPIONS',
  LOYAL = 'LOYAL',
  POTENTIAL_LOYALIST = 'POTENTIAL_LOYALIST',
  NEW = 'NEW',
  PROMISING = 'PROMISING',
  NEED_ATTENTION = 'NEED_ATTENTION',
  ABOUT_TO_SLEEP = 'ABOUT_TO_SLEEP',
  AT_RISK = 'AT_RISK',
  CANNOT_LOSE_THEM = 'CANNOT_LOSE_THEM',
  HIBERNATING = 'HIBERNATING',
  LOST = 'LOST',
}

/**
 * The segment of a cell, from its recency and frequency scores (monetary value follows frequency
 * closely and is left to the cell). Every one of the 25 (R, F) pairs has exactly one name:
 *
 * |     | F1 | F2 | F3 | F4 | F5 |
 * |-----|----|----|----|----|----|
 * | R5  | New | Potential loyalist | Potential loyalist | Champions | Champions |
 * | R4  | Promising | Potential loyalist | Potential loyalist | Loyal | Loyal |
 * | R3  | About to sleep | About to sleep | Need attention | Loyal | Loyal |
 * | R2  | Hibernating | Hibernating | At risk | At risk | Cannot lose them |
 * | R1  | Lost | Hibernating | At risk | At risk | Cannot lose them |
 */
export const RFM_SEGMENT_TABLE: Record<number, Record<number, RfmSegment>> = {
  5: { 1: RfmSegment.NEW, 2: RfmSegment.POTENTIAL_LOYALIST, 3: RfmSegment.POTENTIAL_LOYALIST, 4: RfmSegment.CHAMPIONS, 5: RfmSegment.CHAMPIONS },
  4: { 1: RfmSegment.PROMISING, 2: RfmSegment.POTENTIAL_LOYALIST, 3: RfmSegment.POTENTIAL_LOYALIST, 4: RfmSegment.LOYAL, 5: RfmSegment.LOYAL },
  3: { 1: RfmSegment.ABOUT_TO_SLEEP, 2: RfmSegment.ABOUT_TO_SLEEP, 3: RfmSegment.NEED_ATTENTION, 4: RfmSegment.LOYAL, 5: RfmSegment.LOYAL },
  2: { 1: RfmSegment.HIBERNATING, 2: RfmSegment.HIBERNATING, 3: RfmSegment.AT_RISK, 4: RfmSegment.AT_RISK, 5: RfmSegment.CANNOT_LOSE_THEM },
  1: { 1: RfmSegment.LOST, 2: RfmSegment.HIBERNATING, 3: RfmSegment.AT_RISK, 4: RfmSegment.AT_RISK, 5: RfmSegment.CANNOT_LOSE_THEM },
};

export const rfmSegment = (r: number, f: number): RfmSegment => RFM_SEGMENT_TABLE[r][f];

/**
 * Quintile scores 1–5 by rank, higher values scoring higher. Ties share the score of their lowest
 * rank, so equal values always score alike (with many one-time buyers, F1 holds more than a fifth
 * of the customers and F2 starts higher).
 */
export function quintileScores(values: readonly number[]): number[] {
  const order = values.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
  const scores = new Array<number>(values.length);
  const n = values.length;
  let rank = 0;
  for (let k = 0; k < n; k++) {
    if (k === 0 || order[k][0] !== order[k - 1][0]) rank = k;
    scores[order[k][1]] = 1 + Math.floor((5 * rank) / n);
  }
  return scores;
}

function boundaries(values: readonly number[], scores: readonly number[]): Array<{ score: number; min: number; max: number } | null> {
  const out: Array<{ score: number; min: number; max: number } | null> = [null, null, null, null, null];
  values.forEach((v, i) => {
    const s = scores[i];
    const b = out[s - 1];
    if (!b) out[s - 1] = { score: s, min: v, max: v };
    else {
      b.min = Math.min(b.min, v);
      b.max = Math.max(b.max, v);
    }
  });
  return out;
}

/** Scores, cells and segments of every customer, and the boundaries of each score. */
export function scoreRfm(customers: readonly RfmInput[]): { scores: Map<string, RfmScore>; boundaries: RfmBoundaries } {
  // Recency: fewer days is better, so it is ranked on its negation.
  const r = quintileScores(customers.map((c) => -c.recencyDays));
  const f = quintileScores(customers.map((c) => c.orders));
  const m = quintileScores(customers.map((c) => c.monetary));
  const scores = new Map<string, RfmScore>();
  customers.forEach((c, i) => scores.set(c.customerId, { r: r[i], f: f[i], m: m[i], cell: `${r[i]}${f[i]}${m[i]}`, segment: rfmSegment(r[i], f[i]) }));
  return {
    scores,
    boundaries: {
      recencyDays: boundaries(customers.map((c) => c.recencyDays), r),
      orders: boundaries(customers.map((c) => c.orders), f),
      monetary: boundaries(customers.map((c) => c.monetary), m),
    },
  };
}
