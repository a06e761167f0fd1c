/** Generated customer histories for the derivation tests: every rule boundary and journey deadline gets crossed. */

export const DAY = 86_400_000;

export interface GeneratedTouch {
  type: string;
  channel: string;
  at: number;
  amount: string | null;
  npsScore: number | null;
}

/** A small seeded generator (mulberry32): the same histories on every run. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), a | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = <T>(rnd: () => number, weighted: Array<[T, number]>): T => {
  const total = weighted.reduce((sum, [, w]) => sum + w, 0);
  let x = rnd() * total;
  for (const [value, w] of weighted) if ((x -= w) < 0) return value;
  return weighted[weighted.length - 1][0];
};

const TYPES: Array<[string, number]> = [
  ['PAGE_VIEW', 6],
  ['PRODUCT_VIEW', 4],
  ['ADD_TO_CART', 3],
  ['PURCHASE', 6],
  ['REFUND', 1],
  ['SURVEY_RESPONSE', 2],
  ['REVIEW', 1],
  ['SUPPORT_TICKET', 1],
  ['REFERRAL', 1],
  ['ACCOUNT_CLOSED', 0.3],
  ['CUSTOM', 1],
  ['EMAIL_CLICK', 2],
];

/** Gaps between touches around the thresholds (90, 365 days), the window and the journeys' 30 days; 0 is a tie. */
function gap(rnd: () => number): number {
  const range = pick<[number, number]>(rnd, [
    [[0, 0], 1],
    [[1, 1], 0.5],
    [[60_000, 3_600_000], 4],
    [[3_600_000, 5 * DAY], 5],
    [[25 * DAY, 35 * DAY], 3],
    [[85 * DAY, 95 * DAY], 1.5],
    [[270 * DAY, 370 * DAY], 0.7],
  ]);
  return range[0] + Math.floor(rnd() * (range[1] - range[0] + 1));
}

/** `n` touches in time order starting at `start`. */
export function generateHistory(rnd: () => number, n: number, start: number): GeneratedTouch[] {
  const out: GeneratedTouch[] = [];
  let at = start;
  for (let i = 0; i < n; i++) {
    at += i === 0 ? 0 : gap(rnd);
    const type = pick(rnd, TYPES);
    const amount = type === 'PURCHASE' || type === 'REFUND' ? `${1 + Math.floor(rnd() * 200)}.${Math.floor(rnd() * 100)}` : null;
    const npsScore = type === 'SURVEY_RESPONSE' && rnd() < 0.9 ? Math.floor(rnd() * 11) : null;
    out.push({ type, channel: pick(rnd, [['WEB', 3], ['APP', 2], ['STORE', 1], ['EMAIL', 1]]), at, amount, npsScore });
  }
  return out;
}
