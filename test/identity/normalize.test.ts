import { IdentifierType } from '../../src/modules/identity/identifier-type.enum';
import { isBlocklisted, normalizeIdentifier } from '../../src/modules/identity/normalize';
import { DEFAULT_BLOCKLIST, loadConfig, ConfigError } from '../../src/config';

describe('identifier normalisation', () => {
  it.each([
    [IdentifierType.EMAIL, '  Alice@Example.COM ', 'alice@example.com'],
    [IdentifierType.PHONE, '06 12 34 56 78', '+33612345678'],
    [IdentifierType.PHONE, '+33 (0)6 12 34 56 78', '+33612345678'],
    [IdentifierType.PHONE, '0033612345678', '+33612345678'],
    [IdentifierType.PHONE, '+44 20 7946 0958', '+442079460958'],
    [IdentifierType.LOYALTY_CARD, '  LC-0042 ', 'LC-0042'],
    [IdentifierType.CUSTOMER_ID, 'OR-17850', 'OR-17850'],
  ])('%s %j -> %s', (type, raw, expected) => {
    expect(normalizeIdentifier(type, raw, 'FR')).toEqual({ ok: true, value: expected });
  });

  it('uses the configured default region for national numbers', () => {
    expect(normalizeIdentifier(IdentifierType.PHONE, '020 7946 0958', 'GB')).toEqual({ ok: true, value: '+442079460958' });
  });

  it.each([
    [IdentifierType.EMAIL, 'alice'],
    [IdentifierType.EMAIL, 'a b@example.com'],
    [IdentifierType.PHONE, '12'],
    [IdentifierType.PHONE, 'call me'],
    [IdentifierType.DEVICE_ID, '   '],
    [IdentifierType.ANONYMOUS_ID, 'x'.repeat(300)],
    [IdentifierType.ANONYMOUS_ID, 'a\u0000b'],
  ])('rejects %s %j', (type, raw) => {
    expect(normalizeIdentifier(type, raw, 'FR').ok).toBe(false);
  });

  // Format characters (Unicode Cf) are removed and NFKC applied, for every type, before matching.
  it.each([
    [IdentifierType.EMAIL, 'alice\u200b@example.com', 'alice@example.com'],
    [IdentifierType.EMAIL, '\u200balice@example.com', 'alice@example.com'],
    [IdentifierType.EMAIL, 'al\u200dice@example.com', 'alice@example.com'],
    [IdentifierType.EMAIL, '\u202ealice@example.com\u202c', 'alice@example.com'],
    [IdentifierType.EMAIL, 'al\u00adice@example.com', 'alice@example.com'],
    [IdentifierType.EMAIL, '\ufeffalice@example.com', 'alice@example.com'],
    [IdentifierType.EMAIL, 'alice@exam\u2060ple.com\u200e', 'alice@example.com'],
    [IdentifierType.EMAIL, '\uff41\uff4c\uff49\uff43\uff45@example.com', 'alice@example.com'],
    [IdentifierType.EMAIL, '\uff21\uff2c\uff29\uff23\uff25\uff20\uff25\uff38\uff21\uff2d\uff30\uff2c\uff25\uff0e\uff43\uff4f\uff4d', 'alice@example.com'],
    [IdentifierType.EMAIL, '\u0430\u043b\u0438\u0441\u0430@\u043f\u0440\u0438\u043c\u0435\u0440.\u0440\u0444', '\u0430\u043b\u0438\u0441\u0430@\u043f\u0440\u0438\u043c\u0435\u0440.\u0440\u0444'],
    [IdentifierType.EMAIL, 'info@\u043f\u0440\u0438\u043c\u0435\u0440.\u0440\u0444', 'info@\u043f\u0440\u0438\u043c\u0435\u0440.\u0440\u0444'],
    [IdentifierType.EMAIL, '\u03b1\u03bb\u03b9\u03ba\u03b7@example.com', '\u03b1\u03bb\u03b9\u03ba\u03b7@example.com'],
    [IdentifierType.PHONE, '\uff10\uff16 \uff11\uff12 \uff13\uff14 \uff15\uff16 \uff17\uff18', '+33612345678'],
    [IdentifierType.PHONE, '06\u200b12\u00a034 56 78', '+33612345678'],
    [IdentifierType.CUSTOMER_ID, 'OR-\u200b17850', 'OR-17850'],
    [IdentifierType.CUSTOMER_ID, '\uff2f\uff32-17850', 'OR-17850'],
    [IdentifierType.LOYALTY_CARD, '\u2060LC-0042\u2060', 'LC-0042'],
    [IdentifierType.DEVICE_ID, 'dev\ufeff-1', 'dev-1'],
    [IdentifierType.ANONYMOUS_ID, 'anon\u{e0041}-1', 'anon-1'],
  ])('%s %j -> %j', (type, raw, expected) => {
    expect(normalizeIdentifier(type, raw, 'FR')).toEqual({ ok: true, value: expected });
    // Idempotent: the stored value normalises to itself.
    expect(normalizeIdentifier(type, expected, 'FR')).toEqual({ ok: true, value: expected });
  });

  it.each([
    ['a Cyrillic а among Latin letters', IdentifierType.EMAIL, '\u0430lice@example.com', /Latin and Cyrillic/],
    ['a Cyrillic е in the domain', IdentifierType.EMAIL, 'alice@\u0435xample.com', /Latin and Cyrillic/],
    ['a Greek ο among Latin letters', IdentifierType.EMAIL, 'b\u03bfb@example.com', /Latin and Greek/],
    ['Cyrillic and Greek in one part', IdentifierType.EMAIL, '\u0430\u03b1@example.com', /Cyrillic and Greek/],
    ['only format characters', IdentifierType.EMAIL, '\u200b\u200d', /empty/],
    ['only format characters', IdentifierType.CUSTOMER_ID, '\u00ad\u202e', /empty/],
    ['a lone surrogate', IdentifierType.ANONYMOUS_ID, 'a\ud800b', /Unicode/],
    ['a C1 control character', IdentifierType.DEVICE_ID, 'a\u0085b', /control/],
    ['a value that NFKC makes too long', IdentifierType.ANONYMOUS_ID, '\ufdfa'.repeat(20), /normalised/],
  ])('refuses %s (%s)', (_what, type, raw, message) => {
    const result = normalizeIdentifier(type, raw, 'FR');
    expect(result.ok).toBe(false);
    expect(!result.ok && result.message).toMatch(message);
  });

  it('knows junk values, including all-zero phones', () => {
    const blocklist = new Set(DEFAULT_BLOCKLIST);
    expect(isBlocklisted(IdentifierType.EMAIL, 'test@test.com', blocklist)).toBe(true);
    expect(isBlocklisted(IdentifierType.CUSTOMER_ID, 'NULL', blocklist)).toBe(true);
    expect(isBlocklisted(IdentifierType.ANONYMOUS_ID, 'undefined', blocklist)).toBe(true);
    const zeros = normalizeIdentifier(IdentifierType.PHONE, '00 00 00 00 00', 'FR');
    const hidden = normalizeIdentifier(IdentifierType.CUSTOMER_ID, 'nu\u200bll', 'FR');
    expect(hidden.ok && isBlocklisted(IdentifierType.CUSTOMER_ID, hidden.value, blocklist)).toBe(true);
    expect(zeros.ok && isBlocklisted(IdentifierType.PHONE, zeros.value, blocklist)).toBe(true);
    expect(isBlocklisted(IdentifierType.EMAIL, 'alice@example.com', blocklist)).toBe(false);
  });
});

describe('configuration', () => {
  it('fails fast with a message naming the variable', () => {
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(ConfigError);
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(/PORT/);
    expect(() => loadConfig({ DEFAULT_PHONE_REGION: 'XX' })).toThrow(/DEFAULT_PHONE_REGION/);
    expect(() => loadConfig({ IDENTIFIER_LIMITS: 'EMAIL=0' })).toThrow(/IDENTIFIER_LIMITS/);
    expect(() => loadConfig({ DATABASE_URL: 'mysql://x' })).toThrow(/DATABASE_URL/);
  });

  it('reads limits and an extra blocklist', () => {
    const config = loadConfig({ IDENTIFIER_LIMITS: 'EMAIL=2, DEVICE_ID=7', IDENTIFIER_BLOCKLIST: 'Nobody@Nowhere.com' });
    expect(config.identifierLimits.EMAIL).toBe(2);
    expect(config.identifierLimits.DEVICE_ID).toBe(7);
    expect(config.identifierLimits.CUSTOMER_ID).toBe(1);
    expect(config.identifierBlocklist).toContain('nobody@nowhere.com');
  });
});
