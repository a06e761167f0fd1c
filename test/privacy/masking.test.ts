import { parse } from 'graphql';

import { Scope } from '../../src/modules/access/scope.enum';
import { initials, maskEmail, maskIdentifier, maskPhone, maskProperties, maskTraits } from '../../src/modules/pii/mask';
import { DEFAULT_PERSONAL_TRAITS, DEFAULT_PUBLIC_PROPERTIES, piiPolicy } from '../../src/modules/pii/pii-policy';
import { ExportCustomerDocument, PersonalByIdentifierDocument, PersonalProfileDocument } from '../generated/graphql';
import { interaction, unique } from '../helpers/factories';
import { eventually, useLiveServer } from '../helpers/live';

const policy = piiPolicy(DEFAULT_PERSONAL_TRAITS, DEFAULT_PUBLIC_PROPERTIES);

describe('masks', () => {
  it.each([
    ['alice@example.com', 'a***e@example.com'],
    ['al@example.com', 'a***@example.com'],
    ['a@example.com', 'a***@example.com'],
  ])('e-mail %s → %s', (value, masked) => expect(maskEmail(value)).toBe(masked));

  it.each([
    ['+33612345678', '+33 6 ** ** ** 78'],
    ['+447911123456', '+44 7*** ****56'],
  ])('phone %s → %s', (value, masked) => expect(maskPhone(value)).toBe(masked));

  it.each([
    ['CUSTOMER_ID', 'OR-17850', 'OR***50'],
    ['DEVICE_ID', 'abc', 'a***'],
    ['EMAIL', 'ada@example.com', 'a***a@example.com'],
  ])('%s %s → %s', (type, value, masked) => expect(maskIdentifier(type, value)).toBe(masked));

  it('names become initials, other personal traits ***, the rest stays', () => {
    expect(initials('Ada  lovelace')).toBe('A. L.');
    expect(
      maskTraits({ firstName: 'Ada', last_name: 'Lovelace', 'Birth Date': '1815-12-10', address: { street: '12 St James Sq', city: 'London' }, plan: 'pro', country: 'GB', age: 36 }, policy),
    ).toEqual({ firstName: 'A.', last_name: 'L.', 'Birth Date': '***', address: { street: '***', city: '***' }, plan: 'pro', country: 'GB', age: 36 });
  });

  it('properties keep figures and public keys, their free text is masked', () => {
    expect(maskProperties({ sku: 'A1-RED', note: 'call Ada on 06 12 34 56 78', quantity: 2, gift: true, nested: { message: 'Happy birthday' } }, policy)).toEqual({
      sku: 'A1-RED',
      note: 'ca***78',
      quantity: 2,
      gift: true,
      nested: { message: 'Ha***ay' },
    });
  });
});

const live = useLiveServer();

describe('the pii scope', () => {
  let readPii: string;
  let subscribeRead: string;
  let subscribeReadPii: string;
  beforeAll(async () => {
    const keys = live.t.server.services.apiKeys;
    readPii = (await keys.create('reader with pii', [Scope.READ, Scope.PII])).key;
    subscribeRead = (await keys.create('screen', [Scope.SUBSCRIBE, Scope.READ])).key;
    subscribeReadPii = (await keys.create('screen with pii', [Scope.SUBSCRIBE, Scope.READ, Scope.PII])).key;
  });

  it('the same query: masked for read, as stored for read,pii — identifiers, raw values, traits, properties, carried identifiers, the merge ledger', async () => {
    const t = live.t;
    const email = `${unique('ada')}@example.com`;
    const device = unique('device');
    await t.record(interaction({ channel: 'APP', identifiers: [{ type: 'DEVICE_ID', value: device }] }));
    const { customerId } = await t.record(
      interaction({
        channel: 'WEB',
        identifiers: [{ type: 'EMAIL', value: ` ${email.toUpperCase()}` }, { type: 'PHONE', value: '06 12 34 56 78' }, { type: 'DEVICE_ID', value: device }],
        traits: { firstName: 'Ada', lastName: 'Lovelace', birthDate: '1815-12-10', tier: 'gold' },
        properties: { sku: 'A1', note: 'leave at the door' },
      }),
    );
    const asRead = await t.gql(PersonalProfileDocument, { id: customerId! }, t.keys.read);
    const asPii = await t.gql(PersonalProfileDocument, { id: customerId! }, readPii);
    expect(asRead.errors).toBeUndefined();
    expect(asPii.errors).toBeUndefined();
    const masked = asRead.data!.customer!;
    const clear = asPii.data!.customer!;

    expect(clear.identifiers.map((i) => [i.type, i.value, i.rawValue]).sort()).toEqual(
      [
        ['DEVICE_ID', device, device],
        ['EMAIL', email, ` ${email.toUpperCase()}`],
        ['PHONE', '+33612345678', '06 12 34 56 78'],
      ].sort(),
    );
    const maskedByType = Object.fromEntries(masked.identifiers.map((i) => [i.type, [i.value, i.rawValue]]));
    expect(maskedByType.EMAIL[0]).toBe(maskEmail(email));
    expect(maskedByType.PHONE[0]).toBe('+33 6 ** ** ** 78');
    expect(maskedByType.DEVICE_ID[0]).toBe(maskIdentifier('DEVICE_ID', device));
    const maskedText = JSON.stringify(masked);
    for (const secret of [email, 'Ada', 'Lovelace', '1815-12-10', '+33612345678', '06 12 34 56 78', device, 'leave at the door']) expect(maskedText).not.toContain(secret);

    expect(clear.traits).toEqual({ firstName: 'Ada', lastName: 'Lovelace', birthDate: '1815-12-10', tier: 'gold' });
    expect(masked.traits).toEqual({ firstName: 'A.', lastName: 'L.', birthDate: '***', tier: 'gold' });
    const web = (c: typeof clear) => c.interactions.edges.find((e) => e.node.channel === 'WEB')!.node;
    expect(web(clear).properties).toEqual({ sku: 'A1', note: 'leave at the door' });
    expect(web(masked).properties).toEqual({ sku: 'A1', note: 'le***or' });
    expect(web(masked).identifiers.find((i) => i.type === 'EMAIL')).toEqual({ type: 'EMAIL', value: maskEmail(email), raw: maskEmail(email.toUpperCase().trim()) });
    expect(clear.merges).toHaveLength(0);
    // Everything else is the same: masking changes values, never the shape or the figures.
    expect(masked.interactions.edges.map((e) => [e.node.id, e.node.type, e.node.amount])).toEqual(clear.interactions.edges.map((e) => [e.node.id, e.node.type, e.node.amount]));
  });

  it('a read key still finds a person by the identifier it sends, and gets the others masked', async () => {
    const t = live.t;
    const email = `${unique('bob')}@example.com`;
    const { customerId } = await t.record(interaction({ identifiers: [{ type: 'EMAIL', value: email }, { type: 'PHONE', value: '+33 7 11 22 33 44' }] }));
    const found = await t.gql(PersonalByIdentifierDocument, { type: 'PHONE', value: '07 11 22 33 44' }, t.keys.read);
    expect(found.errors).toBeUndefined();
    expect(found.data!.customerByIdentifier!.id).toBe(customerId);
    expect(found.data!.customerByIdentifier!.identifiers.map((i) => i.value).sort()).toEqual([maskEmail(email), '+33 7 ** ** ** 44'].sort());
  });

  it('a merge ledger value is masked without pii', async () => {
    const t = live.t;
    const email = `${unique('eve')}@example.com`;
    const device = unique('device');
    await t.record(interaction({ identifiers: [{ type: 'EMAIL', value: email }] }));
    await t.record(interaction({ identifiers: [{ type: 'DEVICE_ID', value: device }] }));
    const { customerId } = await t.record(interaction({ identifiers: [{ type: 'DEVICE_ID', value: device }, { type: 'EMAIL', value: email }] }));
    const masked = (await t.gql(PersonalProfileDocument, { id: customerId! }, t.keys.read)).data!.customer!;
    const clear = (await t.gql(PersonalProfileDocument, { id: customerId! }, readPii)).data!.customer!;
    expect(clear.merges.map((m) => m.identifierValue)).toEqual([device]);
    expect(masked.merges.map((m) => m.identifierValue)).toEqual([maskIdentifier('DEVICE_ID', device)]);
  });

  it('a live subscription payload: masked for subscribe,read, as stored for subscribe,read,pii', async () => {
    const t = live.t;
    const email = `${unique('sub')}@example.com`;
    const query = 'subscription { interactionRecorded { customer { identifiers { type value } traits } interaction { properties identifiers { value } } } }';
    const masked = live.client(subscribeRead).subscribe(query);
    const clear = live.client(subscribeReadPii).subscribe(query);
    await live.subscribed(2);
    await t.record(interaction({ identifiers: [{ type: 'EMAIL', value: email }], traits: { firstName: 'Zoe', plan: 'free' }, properties: { sku: 'Z9', note: 'fragile parcel' } }));
    await eventually(() => masked.events.length >= 1 && clear.events.length >= 1, 3000, 'the event on both');
    expect(clear.events[0]).toEqual({
      customer: { identifiers: [{ type: 'EMAIL', value: email }], traits: { firstName: 'Zoe', plan: 'free' } },
      interaction: { properties: { sku: 'Z9', note: 'fragile parcel' }, identifiers: [{ value: email }] },
    });
    expect(masked.events[0]).toEqual({
      customer: { identifiers: [{ type: 'EMAIL', value: maskEmail(email) }], traits: { firstName: 'Z.', plan: 'free' } },
      interaction: { properties: { sku: 'Z9', note: 'fr***el' }, identifiers: [{ value: maskEmail(email) }] },
    });
    expect(masked.errors).toEqual([]);
  });

  it('exportCustomer needs pii (or admin): refused to read, answered to read,pii and admin', async () => {
    const t = live.t;
    const email = `${unique('exp')}@example.com`;
    const { customerId } = await t.record(interaction({ identifiers: [{ type: 'EMAIL', value: email }] }));
    const refused = await t.gql(ExportCustomerDocument, { id: customerId! }, t.keys.read);
    expect(refused.errors![0].extensions!.code).toBe('FORBIDDEN');
    expect(refused.data?.exportCustomer ?? null).toBeNull();
    for (const key of [readPii, t.keys.admin]) {
      const res = await t.gql(ExportCustomerDocument, { id: customerId! }, key);
      expect(res.errors).toBeUndefined();
      expect(res.data!.exportCustomer.identifiers).toEqual([expect.objectContaining({ type: 'EMAIL', value: email })]);
    }
    const bad = await t.gql(ExportCustomerDocument, { id: 'nope' }, readPii);
    expect(bad.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'id' });
    const unknown = await t.gql(parse('query { exportCustomer(id: "00000000-0000-7000-8000-000000000000") }'), {}, readPii);
    expect(unknown.errors![0].extensions!.code).toBe('NOT_FOUND');
  });
});
