/** Dates as the date inputs hold them (YYYY-MM-DD, the user's local calendar). */

const pad = (n: number) => String(n).padStart(2, '0');

export const toDateInput = (d: Date): string => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;

/** Local midnight at the start of the day, or null for an empty or malformed input. */
export function startOfDay(value: string): Date | null {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!match) return null;
  const d = new Date(Number(match[1]), Number(match[2]) - 1, Number(match[3]));
  return Number.isNaN(d.getTime()) ? null : d;
}

/** Local midnight at the end of the day: the API's periods are [from, to), the inputs inclusive. */
export function endOfDay(value: string): Date | null {
  const d = startOfDay(value);
  if (!d) return null;
  d.setDate(d.getDate() + 1);
  return d;
}

export function daysAgo(days: number, from = new Date()): Date {
  const d = new Date(from.getFullYear(), from.getMonth(), from.getDate());
  d.setDate(d.getDate() - days);
  return d;
}
