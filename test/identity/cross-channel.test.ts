import {
  CustomerByIdentifierDocument,
  CustomerDocument,
  RecordInteractionDocument,
  RecordInteractionsDocument,
} from '../generated/graphql';
import { interaction, unique } from '../helpers/factories';
import { startTestServer, type TestServer } from '../helpers/server';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.close());


describe('one person across channels', () => {
  /** The five touchpoints of one shopper, Alice, across web, app, store, phone and e-mail, in the order they are sent. */
  function alice(phone = '06 12 34 56 78') {
    const ids = { phone, anon: unique('cookie'), device: unique('device'), card: unique('card'), email: `${unique('alice')}@Example.com` };
    const touchpoints = {
      view1: interaction({ channel: 'WEB', type: 'PRODUCT_VIEW', occurredAt: '2024-05-01T09:00:00Z', identifiers: [{ type: 'ANONYMOUS_ID', value: ids.anon }] }),
      view2: interaction({ channel: 'WEB', type: 'PRODUCT_VIEW', occurredAt: '2024-05-01T09:05:00Z', identifiers: [{ type: 'ANONYMOUS_ID', value: ids.anon }] }),
      // The app login carries the web cookie it was handed, the e-mail typed and the device.
      login: interaction({
        channel: 'APP',
        type: 'CUSTOM',
        name: 'login',
        occurredAt: '2024-05-02T18:00:00Z',
        identifiers: [{ type: 'EMAIL', value: `${ids.email} ` }, { type: 'DEVICE_ID', value: ids.device }, { type: 'ANONYMOUS_ID', value: ids.anon }],
      }),
      purchase: interaction({
        channel: 'STORE',
        type: 'PURCHASE',
        amount: '89.90',
        currency: 'EUR',
        occurredAt: '2024-05-10T11:00:00Z',
        identifiers: [{ type: 'LOYALTY_CARD', value: ids.card }, { type: 'EMAIL', value: ids.email.toLowerCase() }],
      }),
      call: interaction({ channel: 'PHONE', type: 'CALL', occurredAt: '2024-05-12T15:30:00Z', identifiers: [{ type: 'PHONE', value: ids.phone }, { type: 'LOYALTY_CARD', value: ids.card }] }),
    };
    return { ids, touchpoints };
  }

  async function expectOneAlice(customerId: string, ids: ReturnType<typeof alice>['ids']) {
    const res = await t.gql(CustomerDocument, { id: customerId });
    const customer = res.data!.customer!;
    expect(customer.id).toBe(customerId);
    expect(customer.identifiers.map((i) => `${i.type}=${i.value}`).sort()).toEqual(
      [`ANONYMOUS_ID=${ids.anon}`, `DEVICE_ID=${ids.device}`, `EMAIL=${ids.email.toLowerCase()}`, `LOYALTY_CARD=${ids.card}`, `PHONE=+33${ids.phone.replace(/\D/g, '').slice(1)}`].sort(),
    );
    const interactions = customer.interactions.edges.map((e) => e.node);
    // Five interactions, newest first, across four channels.
    expect(interactions.map((i) => i.type)).toEqual(['CALL', 'PURCHASE', 'CUSTOM', 'PRODUCT_VIEW', 'PRODUCT_VIEW']);
    expect(interactions.map((i) => i.occurredAt)).toEqual([...interactions.map((i) => i.occurredAt)].sort().reverse());
    expect(new Set(interactions.map((i) => i.channel))).toEqual(new Set(['WEB', 'APP', 'STORE', 'PHONE']));
    expect([...customer.channels].sort()).toEqual(['APP', 'PHONE', 'STORE', 'WEB']);
    expect(interactions[1]).toMatchObject({ amount: '89.90', currency: 'EUR' });

    // Reachable from each identifier, whatever its spelling.
    for (const [type, value] of [
      ['ANONYMOUS_ID', ids.anon],
      ['DEVICE_ID', ids.device],
      ['EMAIL', `  ${ids.email.toUpperCase()}`],
      ['LOYALTY_CARD', ids.card],
      ['PHONE', `+33 ${ids.phone.slice(1)}`],
      ['PHONE', ids.phone.replace(/\D/g, '')],
    ] as const) {
      const found = await t.gql(CustomerByIdentifierDocument, { type, value });
      expect(found.errors).toBeUndefined();
      expect(found.data!.customerByIdentifier!.id).toBe(customerId);
    }
    return customer;
  }

  it('web visit, app login, store purchase and phone call end in one customer reachable from each identifier', async () => {
    const { ids, touchpoints } = alice();
    const results = [];
    for (const input of Object.values(touchpoints)) results.push(await t.record(input));
    expect(new Set(results.map((r) => r.customerId)).size).toBe(1);
    const customer = await expectOneAlice(results[0].customerId!, ids);
    expect(customer.identifiers.find((i) => i.type === 'EMAIL')!.rawValue).toBe(`${ids.email} `);
    expect(customer.merges).toEqual([]);
  });

  it('when two profiles formed first (store before app), the login merges them and the ledger says so', async () => {
    // Another Alice: her own phone number.
    const { ids, touchpoints } = alice(`06 12 ${String(Math.floor(Math.random() * 1e6)).padStart(6, '0')}`);
    const view1 = await t.record(touchpoints.view1);
    await t.record(touchpoints.view2);
    const store = await t.record(touchpoints.purchase);
    expect(store.customerId).not.toBe(view1.customerId);
    const login = await t.record(touchpoints.login);
    expect(login.customerId).toBe(view1.customerId);
    expect(login.mergedCustomerIds).toEqual([store.customerId]);
    await t.record(touchpoints.call);

    const customer = await expectOneAlice(view1.customerId!, ids);
    expect(customer.merges).toHaveLength(1);
    expect(customer.merges[0]).toMatchObject({
      survivorId: view1.customerId,
      mergedId: store.customerId,
      identifierType: 'EMAIL',
      identifierValue: ids.email.toLowerCase(),
      interactionId: login.interactionId,
      moved: { identifiers: 2, interactions: 1 },
    });
    // The merged profile's id still resolves, to the survivor.
    const old = await t.gql(CustomerDocument, { id: store.customerId! });
    expect(old.data!.customer!.id).toBe(view1.customerId);
  });

  it('creates one profile at once when the first interaction already carries everything', async () => {
    const email = `${unique('bob')}@example.com`;
    const res = await t.gql(RecordInteractionsDocument, {
      inputs: [
        interaction({ identifiers: [{ type: 'EMAIL', value: email }] }),
        interaction({ channel: 'APP', identifiers: [{ type: 'EMAIL', value: email.toUpperCase() }, { type: 'DEVICE_ID', value: unique('d') }] }),
      ],
    });
    const [a, b] = res.data!.recordInteractions;
    expect(a.customerId).toBe(b.customerId);
    expect(b.mergedCustomerIds).toEqual([]);
    const rows = await t.sql(`SELECT count(*)::int AS n FROM merge WHERE survivor_id = $1`, [a.customerId]);
    expect(rows[0].n).toBe(0);
  });
});

describe('guardrails', () => {
  it('never merges two customers that each hold a CUSTOMER_ID; the interaction goes to the CUSTOMER_ID and says why', async () => {
    const email = `${unique('shared')}@example.com`;
    const a = await t.record(interaction({ identifiers: [{ type: 'CUSTOMER_ID', value: unique('crm') }] }));
    const bId = unique('crm');
    const b = await t.record(interaction({ identifiers: [{ type: 'CUSTOMER_ID', value: bId }, { type: 'EMAIL', value: email }] }));
    expect(a.customerId).not.toBe(b.customerId);

    const aCustomer = await t.sql(`SELECT value FROM identifier WHERE customer_id = $1 AND type = 'CUSTOMER_ID'`, [a.customerId]);
    // An interaction claims A's CUSTOMER_ID and B's e-mail.
    const linking = await t.record(
      interaction({ type: 'PURCHASE', amount: '10', identifiers: [{ type: 'EMAIL', value: email }, { type: 'CUSTOMER_ID', value: aCustomer[0].value }] }),
    );
    expect(linking.status).toBe('CREATED');
    expect(linking.customerId).toBe(a.customerId);
    expect(linking.mergedCustomerIds).toEqual([]);
    expect(linking.warnings).toEqual([expect.objectContaining({ code: 'MERGE_REFUSED', field: 'input.identifiers[0]' })]);
    expect(linking.warnings[0].message).toContain('CUSTOMER_ID');

    const [counts] = await t.sql(
      `SELECT (SELECT count(*)::int FROM customer WHERE id IN ($1, $2) AND merged_into_id IS NULL) AS live,
              (SELECT count(*)::int FROM merge WHERE merged_id IN ($1, $2)) AS merges,
              (SELECT count(*)::int FROM identity_conflict WHERE customer_id = $1) AS conflicts,
              (SELECT customer_id FROM identifier WHERE type = 'EMAIL' AND value = $3) AS email_owner`,
      [a.customerId, b.customerId, email],
    );
    expect(counts).toEqual({ live: 2, merges: 0, conflicts: 1, email_owner: b.customerId });
  });

  it('blocklisted values never link two people, and say so', async () => {
    const first = await t.record(interaction({ identifiers: [{ type: 'ANONYMOUS_ID', value: unique('a') }, { type: 'EMAIL', value: 'test@test.com' }] }));
    const second = await t.record(interaction({ identifiers: [{ type: 'ANONYMOUS_ID', value: unique('a') }, { type: 'EMAIL', value: ' TEST@test.com' }] }));
    const third = await t.record(interaction({ identifiers: [{ type: 'DEVICE_ID', value: unique('d') }, { type: 'CUSTOMER_ID', value: 'null' }] }));
    const fourth = await t.record(interaction({ identifiers: [{ type: 'DEVICE_ID', value: unique('d') }, { type: 'CUSTOMER_ID', value: 'NULL' }, { type: 'PHONE', value: '00 00 00 00 00' }] }));
    expect(new Set([first, second, third, fourth].map((r) => r.customerId)).size).toBe(4);
    expect(second.warnings).toEqual([expect.objectContaining({ code: 'BLOCKLISTED_IDENTIFIER', field: 'input.identifiers[1]' })]);
    expect(fourth.warnings.map((w) => w.field)).toEqual(['input.identifiers[1]', 'input.identifiers[2]']);
    const rows = await t.sql(`SELECT count(*)::int AS n FROM identifier WHERE value IN ('test@test.com', 'null', 'NULL', '0000000000')`);
    expect(rows[0].n).toBe(0);
    // The junk value is still kept on the interaction itself.
    const kept = await t.sql(`SELECT identifiers FROM interaction WHERE id = $1`, [second.interactionId]);
    expect(kept[0].identifiers).toContainEqual({ type: 'EMAIL', value: 'test@test.com', raw: ' TEST@test.com' });
  });

  it('rejects an interaction whose only identifiers are junk', async () => {
    const res = await t.gql(RecordInteractionDocument, { input: interaction({ identifiers: [{ type: 'EMAIL', value: 'test@test.com' }] }) });
    expect(res.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.identifiers' });
  });

  it('stops attaching identifiers of a type at its limit and warns', async () => {
    const crm = unique('crm');
    const first = await t.record(interaction({ identifiers: [{ type: 'CUSTOMER_ID', value: crm }] }));
    const emails = Array.from({ length: 6 }, () => ({ type: 'EMAIL' as const, value: `${unique('e')}@example.com` }));
    const res = await t.record(interaction({ identifiers: [{ type: 'CUSTOMER_ID', value: crm }, ...emails] }));
    expect(res.customerId).toBe(first.customerId);
    expect(res.warnings).toEqual([expect.objectContaining({ code: 'IDENTIFIER_LIMIT_REACHED', field: 'input.identifiers[6]' })]);
    const rows = await t.sql(`SELECT count(*)::int AS n FROM identifier WHERE customer_id = $1 AND type = 'EMAIL'`, [first.customerId]);
    expect(rows[0].n).toBe(5);
  });
});
