import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js';

import { IdentifierType } from './identifier-type.enum';

export const MAX_IDENTIFIER_LENGTH = 256;

export type Normalized = { ok: true; value: string } | { ok: false; message: string };

// Deliberately simple: one @, no spaces, a dot in the domain. Deliverability is not our business.
const EMAIL = /^[^\s@]+@[^\s@.]+(\.[^\s@.]+)+$/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/**
 * Canonical form of an identifier value, the one that is matched and stored (BRIEF §2):
 * EMAIL trimmed and lower-cased, PHONE in E.164 using `region` for national numbers,
 * everything else trimmed.
 */
export function normalizeIdentifier(type: IdentifierType, raw: string, region: CountryCode): Normalized {
  const trimmed = raw.trim();
  if (trimmed === '') return { ok: false, message: 'must not be empty' };
  if (trimmed.length > MAX_IDENTIFIER_LENGTH) {
    return { ok: false, message: `must be at most ${MAX_IDENTIFIER_LENGTH} characters` };
  }
  if (CONTROL.test(trimmed)) return { ok: false, message: 'must not contain control characters' };
  switch (type) {
    case IdentifierType.EMAIL: {
      const value = trimmed.toLowerCase();
      if (!EMAIL.test(value)) return { ok: false, message: `"${trimmed}" is not an e-mail address` };
      return { ok: true, value };
    }
    case IdentifierType.PHONE: {
      const digits = trimmed.replace(/\D/g, '');
      // All-zero numbers are placeholders: keep them recognisable so the blocklist catches them.
      if (digits !== '' && /^0+$/.test(digits)) return { ok: true, value: digits };
      const phone = parsePhoneNumberFromString(trimmed, region);
      if (!phone || !phone.isValid()) {
        return { ok: false, message: `"${trimmed}" is not a valid phone number (default region ${region})` };
      }
      return { ok: true, value: phone.number };
    }
    default:
      return { ok: true, value: trimmed };
  }
}

/** Junk values are kept on the interaction but never used to link people. */
export function isBlocklisted(type: IdentifierType, value: string, blocklist: ReadonlySet<string>): boolean {
  const lower = value.toLowerCase();
  if (blocklist.has(lower)) return true;
  if (type === IdentifierType.PHONE && /^\+?0+$/.test(lower)) return true;
  return false;
}
