/** Money as integer ten-thousandths (NUMERIC(_, 4)): sums are exact whatever their size. */
const SCALE = 10000n;

/** "12.5", "12.5000", "-3" → ten-thousandths; null or "" → 0. */
export function toUnits(amount: string | null): bigint {
  if (!amount) return 0n;
  const negative = amount.startsWith('-');
  const [whole, fraction = ''] = amount.replace(/^[-+]/, '').split('.');
  const units = BigInt(whole || '0') * SCALE + BigInt((fraction + '0000').slice(0, 4));
  return negative ? -units : units;
}

/** Ten-thousandths → NUMERIC text with 4 decimals ("12.5000"). */
export function fromUnits(units: bigint): string {
  const negative = units < 0n;
  const abs = negative ? -units : units;
  return `${negative ? '-' : ''}${abs / SCALE}.${(abs % SCALE).toString().padStart(4, '0')}`;
}

const minorDigitsCache = new Map<string, number>();

/** Decimals of a currency's minor unit: EUR 2, JPY 0, BHD 3 (ISO 4217, as the ICU data has them). */
export function minorDigits(currency: string): number {
  let digits = minorDigitsCache.get(currency);
  if (digits === undefined) {
    try {
      digits = new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
    } catch {
      // Not a well-formed code (the column is only char(3)): the most common minor unit.
      digits = 2;
    }
    minorDigitsCache.set(currency, digits);
  }
  return digits;
}

/**
 * The one way an amount leaves the API: at least the currency's minor-unit decimals, more only
 * when the stored value has more that are not zero — "89.9000" EUR is "89.90", "1500.0000" JPY
 * is "1500", "12.3456" stays. Never rounded: what was sent is what comes back.
 */
export function formatMoney(amount: string, currency: string): string {
  const match = /^(-?\d+)(?:\.(\d*))?$/.exec(amount);
  if (!match) return amount;
  const [, whole, fraction = ''] = match;
  const decimals = fraction.replace(/0+$/, '').padEnd(minorDigits(currency), '0');
  return decimals ? `${whole}.${decimals}` : whole;
}
