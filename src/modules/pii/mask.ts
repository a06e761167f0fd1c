import { parsePhoneNumberFromString } from 'libphonenumber-js';

import { IdentifierType } from '../shared/identifier-type.enum';
import { looseKey, type PiiPolicy } from './pii-policy';

/*
 * What a key without the pii scope sees instead of personal data. Masks keep the shape (an
 * e-mail still reads as one, a phone keeps its country and last two digits) so that a call-centre
 * screen can confirm "the address ending in e@example.com" without learning it.
 */

export const MASK = '***';

/** `alice@example.com` → `a***e@example.com`: first and last letter of the local part, the domain. */
export function maskEmail(email: string): string {
  const at = email.lastIndexOf('@');
  if (at < 1) return maskText(email);
  const local = [...email.slice(0, at)];
  const shown = local.length > 2 ? `${local[0]}${MASK}${local[local.length - 1]}` : `${local[0]}${MASK}`;
  return `${shown}${email.slice(at)}`;
}

/** `+33612345678` → `+33 6 ** ** ** 78`: country code, first and last two digits, the grouping of the international format. */
export function maskPhone(phone: string): string {
  const parsed = parsePhoneNumberFromString(phone);
  const formatted = parsed?.formatInternational() ?? phone;
  const code = parsed ? `+${parsed.countryCallingCode}` : '';
  const rest = formatted.slice(code.length);
  const digits = [...rest].filter((c) => /\d/.test(c)).length;
  let seen = 0;
  const masked = [...rest]
    .map((c) => {
      if (!/\d/.test(c)) return c;
      seen++;
      return seen === 1 || seen > digits - 2 ? c : '*';
    })
    .join('');
  return code + masked;
}

/** Any other text: its first two and last two characters when long enough to keep it unguessable, else its first. */
export function maskText(text: string): string {
  const chars = [...text];
  if (chars.length === 0) return text;
  if (chars.length >= 8) return `${chars.slice(0, 2).join('')}${MASK}${chars.slice(-2).join('')}`;
  return `${chars[0]}${MASK}`;
}

/** `Ada Lovelace` → `A. L.` */
export function initials(name: string): string {
  const parts = name.trim().split(/\s+/).filter(Boolean);
  return parts.length ? parts.map((p) => `${[...p][0].toUpperCase()}.`).join(' ') : name;
}

/** An identifier's value (or raw value, as sent: trimmed first, so that a leading space hides nothing). */
export function maskIdentifier(type: string, value: string): string {
  const text = value.trim();
  if (type === IdentifierType.EMAIL) return maskEmail(text);
  if (type === IdentifierType.PHONE) return maskPhone(text);
  return maskText(text);
}

/** Every text and number inside a value masked; structure, booleans and nulls kept. */
function maskDeep(value: unknown, text: (s: string) => string): unknown {
  if (typeof value === 'string') return text(value);
  if (typeof value === 'number') return MASK;
  if (Array.isArray(value)) return value.map((v) => maskDeep(v, text));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskDeep(v, text)]));
  return value;
}

/** Traits with the personal ones masked (names to initials, the rest to `***`); the others as they are. */
export function maskTraits(traits: Record<string, unknown>, policy: PiiPolicy): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(traits)) {
    const k = looseKey(key);
    if (!policy.personalTraits.has(k)) out[key] = value;
    else if (policy.nameTraits.has(k)) out[key] = maskDeep(value, initials);
    else out[key] = maskDeep(value, () => MASK);
  }
  return out;
}

/**
 * Properties with their free text masked: every string, at any depth, unless its top-level key is
 * public (a SKU, a campaign…). Numbers and booleans are figures, not text, and stay.
 */
export function maskProperties(properties: Record<string, unknown>, policy: PiiPolicy): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(properties)) {
    out[key] = policy.publicProperties.has(looseKey(key)) ? value : maskStrings(value);
  }
  return out;
}

function maskStrings(value: unknown): unknown {
  if (typeof value === 'string') return maskText(value);
  if (Array.isArray(value)) return value.map(maskStrings);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskStrings(v)]));
  return value;
}
