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

  it('knows junk values, including all-zero phones', () => {
    const blocklist = new Set(DEFAULT_BLOCKLIST);
    expect(isBlocklisted(IdentifierType.EMAIL, 'test@test.com', blocklist)).toBe(true);
    expect(isBlocklisted(IdentifierType.CUSTOMER_ID, 'NULL', blocklist)).toBe(true);
    expect(isBlocklisted(IdentifierType.ANONYMOUS_ID, 'undefined', blocklist)).toBe(true);
    const zeros = normalizeIdentifier(IdentifierType.PHONE, '00 00 00 00 00', 'FR');
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
