import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js';

import { IdentifierType } from './identifier-type.enum';

export const MAX_IDENTIFIER_LENGTH = 256;

export type Normalized = { ok: true; value: string } | { ok: false; message: string };

// Deliberately simple: one @, no spaces, a dot in the domain. Deliverability is not our business.
const EMAIL = /^[^\s@]+@[^\s@.]+(\.[^\s@.]+)+$/;
const CONTROL = /\p{Cc}/u;
// Zero-width spaces and joiners, bidi overrides, soft hyphens, BOMs…: invisible, so two values
// that look identical would otherwise point at two people.
const FORMAT = /\p{Cf}/gu;
// A lone surrogate cannot be stored: the driver would turn it into U+FFFD, jsonb refuses it.
const LONE_SURROGATE = /\p{Cs}/u;
// Scripts whose letters pass for one another (а/a, ο/o, р/p): one word mixing them is a look-alike.
const CONFUSABLE_SCRIPTS = [
  ['Latin', /\p{Script=Latin}/u],
  ['Cyrillic', /\p{Script=Cyrillic}/u],
  ['Greek', /\p{Script=Greek}/u],
] as const;

/**
 * The text every type is matched on: format characters (Unicode category Cf) removed, then NFKC
 * (full-width `ａｌｉｃｅ` is `alice`, `０６` is `06`), then trimmed. Removing them, rather than
 * refusing the value, is deliberate: they reach us from copy-paste and CRM exports far more often
 * than from anyone trying to pass for someone else, and either way they are not part of the value.
 */
function cleanIdentifierText(raw: string): string {
  return raw.replace(FORMAT, '').normalize('NFKC').trim();
}

/** The scripts mixed inside one part of an e-mail (the local part, or one label of the domain), if any. */
function mixedScripts(part: string): string[] | null {
  const found = CONFUSABLE_SCRIPTS.filter(([, letters]) => letters.test(part)).map(([name]) => name);
  return found.length > 1 ? found : null;
}

/**
 * Canonical form of an identifier value, the one that is matched and stored: for every
 * type, format characters removed and NFKC (`cleanIdentifierText`); then EMAIL lower-cased (and
 * refused when a part of it mixes Latin, Cyrillic or Greek letters), PHONE in E.164 using `region`
 * for national numbers, everything else as is.
 */
export function normalizeIdentifier(type: IdentifierType, raw: string, region: CountryCode): Normalized {
  // Bounded before any work: the limit is on the value as sent.
  if (raw.trim().length > MAX_IDENTIFIER_LENGTH) {
    return { ok: false, message: `must be at most ${MAX_IDENTIFIER_LENGTH} characters` };
  }
  if (LONE_SURROGATE.test(raw)) return { ok: false, message: 'must be valid Unicode text (it contains a lone surrogate)' };
  const trimmed = cleanIdentifierText(raw);
  if (trimmed === '') {
    return { ok: false, message: raw.trim() === '' ? 'must not be empty' : 'must not be empty: it holds only invisible formatting characters' };
  }
  // NFKC can lengthen a value (one ligature is up to 18 characters): the stored form must fit too.
  if (trimmed.length > MAX_IDENTIFIER_LENGTH) {
    return { ok: false, message: `must be at most ${MAX_IDENTIFIER_LENGTH} characters once normalised (NFKC)` };
  }
  if (CONTROL.test(trimmed)) return { ok: false, message: 'must not contain control characters' };
  switch (type) {
    case IdentifierType.EMAIL: {
      const value = trimmed.toLowerCase();
      if (!EMAIL.test(value)) return { ok: false, message: `"${trimmed}" is not an e-mail address` };
      // Per part, as browsers judge domain labels: `info@пример.рф` is a real address, `аlice@…`
      // with a Cyrillic а is a look-alike of `alice@…` and would split or hijack a person.
      for (const part of value.replace('@', '.').split('.')) {
        const scripts = mixedScripts(part);
        if (scripts) {
          return { ok: false, message: `"${trimmed}" mixes ${scripts.join(' and ')} letters in "${part}": a look-alike address is refused` };
        }
      }
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
