import { IdentifierType } from '../../src/modules/identity/identifier-type.enum';
import { checkBlocklist, checkIdentifierLimit, refuseMerge, typesOverLimit, WarningCode, type IdentifierLimits } from '../../src/modules/identity/guardrails';
import { identifierKey, planResolution, type KnownCustomer, type ResolutionRequest } from '../../src/modules/identity/resolution-plan';
import type { NormalizedIdentifier } from '../../src/modules/identity/validate-identifiers';

const limits = Object.fromEntries(Object.values(IdentifierType).map((t) => [t, 3])) as IdentifierLimits;
limits[IdentifierType.EMAIL] = 2;

const id = (type: IdentifierType, value: string, index = 0, blocklisted = false) => ({ type, value, raw: value, index, blocklisted }) as NormalizedIdentifier;
const email = (value: string, index = 0) => id(IdentifierType.EMAIL, value, index);
const request = (...identifiers: NormalizedIdentifier[]): ResolutionRequest => ({ identifiers, traits: null, channel: null, interactionId: null });
const known = (customerId: string, createdAtMicros: number, counts: KnownCustomer['counts']): KnownCustomer => ({ id: customerId, createdAtMicros, counts });

describe('guardrails', () => {
  it.each([
    ['a blocklisted identifier', id(IdentifierType.EMAIL, 'test@test.com', 2, true), WarningCode.BLOCKLISTED_IDENTIFIER, 'identifiers[2]'],
    ['a usable identifier', email('ann@example.com'), null, null],
  ])('checkBlocklist: %s', (_name, identifier, code, field) => {
    const warning = checkBlocklist(identifier);
    expect(warning?.code ?? null).toBe(code);
    expect(warning?.field ?? null).toBe(field);
  });

  it.each([
    [{}, null],
    [{ EMAIL: 1 }, null],
    [{ EMAIL: 2 }, WarningCode.IDENTIFIER_LIMIT_REACHED],
    [{ PHONE: 3 }, null],
  ])('checkIdentifierLimit with counts %j', (counts, code) => {
    expect(checkIdentifierLimit(email('ann@example.com', 1), counts, limits)?.code ?? null).toBe(code);
  });

  it('typesOverLimit lists each type a merge would take past its limit', () => {
    expect(typesOverLimit({ EMAIL: 3, PHONE: 3 }, limits)).toEqual([[IdentifierType.EMAIL, 3]]);
    expect(typesOverLimit({ EMAIL: 2 }, limits)).toEqual([]);
  });

  it('refuseMerge keeps the item with the owner of its most trusted identifier and warns on the others', () => {
    const phone = id(IdentifierType.PHONE, '+33612345678', 0);
    const mail = email('ann@example.com', 1);
    const refusal = refuseMerge(
      [
        { identifier: phone, customerId: 'b' },
        { identifier: mail, customerId: 'a' },
      ],
      ['a', 'b'],
      [[IdentifierType.EMAIL, 3]],
      limits,
    );
    // EMAIL outranks PHONE, whatever their order in the item.
    expect(refusal).toMatchObject({ customerId: 'a', otherCustomerIds: ['b'], conflicting: [phone] });
    expect(refusal.warnings.map((w) => [w.code, w.field])).toEqual([[WarningCode.MERGE_REFUSED, 'identifiers[0]']]);
    expect(refusal.reason).toContain('(limit 2)');
  });
});

describe('planResolution', () => {
  const now = new Date('2024-05-01T10:00:00Z');

  it('creates one customer for an unknown person and attaches its identifiers', () => {
    const plan = planResolution([request(email('ann@example.com'))], new Map(), new Map(), limits, now);
    expect(plan.newCustomers).toHaveLength(1);
    expect(plan.newIdentifiers.map((i) => i.customerId)).toEqual([plan.newCustomers[0].id]);
    expect(plan.items[0].warnings).toEqual([]);
  });

  it('merges two known customers into the older one when the limits allow it', () => {
    const owners = new Map([
      [identifierKey(email('ann@example.com')), 'old'],
      [identifierKey(id(IdentifierType.PHONE, '+33612345678')), 'young'],
    ]);
    const customers = new Map([
      ['old', known('old', 1, { EMAIL: 1 })],
      ['young', known('young', 2, { PHONE: 1 })],
    ]);
    const plan = planResolution([request(email('ann@example.com'), id(IdentifierType.PHONE, '+33612345678', 1))], owners, customers, limits, now);
    expect(plan.merges.map((m) => [m.survivorId, m.mergedId])).toEqual([['old', 'young']]);
    expect(plan.items[0]).toMatchObject({ customerId: 'old', mergedCustomerIds: ['young'] });
  });

  it('refuses a merge over a per-type limit and records the conflict', () => {
    const owners = new Map([
      [identifierKey(email('a@example.com')), 'old'],
      [identifierKey(email('b@example.com')), 'young'],
    ]);
    const customers = new Map([
      ['old', known('old', 1, { EMAIL: 2 })],
      ['young', known('young', 2, { EMAIL: 1 })],
    ]);
    const plan = planResolution([request(email('a@example.com'), email('b@example.com', 1))], owners, customers, limits, now);
    expect(plan.merges).toEqual([]);
    expect(plan.conflicts).toHaveLength(1);
    expect(plan.items[0].warnings.map((w) => [w.code, w.field])).toEqual([[WarningCode.MERGE_REFUSED, 'identifiers[1]']]);
  });

  it('does not attach an identifier past the limit, and ignores blocklisted ones', () => {
    const owners = new Map([[identifierKey(email('a@example.com')), 'c']]);
    const customers = new Map([['c', known('c', 1, { EMAIL: 2 })]]);
    const plan = planResolution(
      [request(email('a@example.com'), email('new@example.com', 1), id(IdentifierType.EMAIL, 'test@test.com', 2, true))],
      owners,
      customers,
      limits,
      now,
    );
    expect(plan.newIdentifiers).toEqual([]);
    expect(plan.items[0].warnings.map((w) => w.code).sort()).toEqual([WarningCode.BLOCKLISTED_IDENTIFIER, WarningCode.IDENTIFIER_LIMIT_REACHED]);
  });
});
