import { CustomerDocument, IdentifyDocument, RecordInteractionDocument, RecordInteractionsDocument } from '../generated/graphql';
import { interaction, unique } from '../helpers/factories';
import { startTestServer, type TestServer } from '../helpers/server';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.close());

async function newCustomer(identifiers: Array<{ type: 'EMAIL' | 'DEVICE_ID' | 'ANONYMOUS_ID' | 'PHONE'; value: string }>, traits?: object) {
  const res = await t.gql(RecordInteractionDocument, { input: interaction({ identifiers, traits }) });
  expect(res.errors).toBeUndefined();
  return res.data!.recordInteraction.customerId!;
}

describe('merging', () => {
  it('identify links two profiles: the older survives, traits merge with the survivor winning, the ledger has no interaction', async () => {
    const email = `${unique('m')}@example.com`;
    const device = unique('device');
    const older = await newCustomer([{ type: 'EMAIL', value: email }], { firstName: 'Ana', tier: 'gold' });
    const newer = await newCustomer([{ type: 'DEVICE_ID', value: device }], { firstName: 'Anna', city: 'Nantes' });

    const res = await t.gql(IdentifyDocument, { identifiers: [{ type: 'DEVICE_ID', value: device }, { type: 'EMAIL', value: email.toUpperCase() }], traits: { plan: 'pro' } });
    expect(res.errors).toBeUndefined();
    expect(res.data!.identify).toMatchObject({ customerId: older, mergedCustomerIds: [newer], warnings: [] });
    expect(res.data!.identify.customer!.traits).toEqual({ firstName: 'Ana', tier: 'gold', city: 'Nantes', plan: 'pro' });

    const profile = (await t.gql(CustomerDocument, { id: newer })).data!.customer!;
    expect(profile.id).toBe(older);
    expect(profile.interactions.edges).toHaveLength(2);
    expect(profile.merges).toEqual([
      expect.objectContaining({ survivorId: older, mergedId: newer, identifierType: 'DEVICE_ID', identifierValue: device, interactionId: null, moved: { identifiers: 1, interactions: 1 } }),
    ]);
  });

  it('one item linking three profiles merges both into the oldest; ids of earlier tombstones follow', async () => {
    const [a, b, c] = [unique('a'), unique('b'), unique('c')];
    const first = await newCustomer([{ type: 'ANONYMOUS_ID', value: a }]);
    const second = await newCustomer([{ type: 'ANONYMOUS_ID', value: b }]);
    // Merge the second into the first: the second becomes a tombstone.
    const link = await t.gql(RecordInteractionDocument, { input: interaction({ identifiers: [{ type: 'ANONYMOUS_ID', value: b }, { type: 'ANONYMOUS_ID', value: a }] }) });
    expect(link.data!.recordInteraction.mergedCustomerIds).toEqual([second]);
    const third = await newCustomer([{ type: 'ANONYMOUS_ID', value: c }]);
    const fourth = await newCustomer([{ type: 'DEVICE_ID', value: unique('d') + c }]);
    const deviceOfFourth = (await t.sql(`SELECT value FROM identifier WHERE customer_id = $1`, [fourth]))[0].value;

    const res = await t.gql(RecordInteractionDocument, {
      input: interaction({ identifiers: [{ type: 'DEVICE_ID', value: deviceOfFourth }, { type: 'ANONYMOUS_ID', value: c }, { type: 'ANONYMOUS_ID', value: b }] }),
    });
    const result = res.data!.recordInteraction;
    expect(result.customerId).toBe(first);
    expect([...result.mergedCustomerIds].sort()).toEqual([third, fourth].sort());

    for (const id of [first, second, third, fourth]) {
      const found = await t.gql(CustomerDocument, { id });
      expect(found.data!.customer!.id).toBe(first);
    }
    const profile = (await t.gql(CustomerDocument, { id: first })).data!.customer!;
    expect(profile.identifiers).toHaveLength(4);
    expect(profile.interactions.edges).toHaveLength(6);
    expect(profile.merges.map((m) => m.mergedId).sort()).toEqual([second, third, fourth].sort());
    const [{ n }] = await t.sql(`SELECT count(*)::int AS n FROM customer WHERE id = ANY($1) AND merged_into_id = $2`, [[second, third, fourth], first]);
    expect(n).toBe(3);
  });

  it('inside one batch, items apply in order: a later item merges the customers earlier items created', async () => {
    const [x, y] = [unique('x'), unique('y')];
    const res = await t.gql(RecordInteractionsDocument, {
      inputs: [
        interaction({ identifiers: [{ type: 'ANONYMOUS_ID', value: x }], traits: { step: 1 } }),
        interaction({ identifiers: [{ type: 'ANONYMOUS_ID', value: y }], traits: { step: 2, other: true } }),
        interaction({ identifiers: [{ type: 'ANONYMOUS_ID', value: x }, { type: 'ANONYMOUS_ID', value: y }], traits: { step: 3 } }),
      ],
    });
    const results = res.data!.recordInteractions;
    expect(new Set(results.map((r) => r.customerId)).size).toBe(1);
    expect(results[2].mergedCustomerIds).toHaveLength(1);
    const profile = (await t.gql(CustomerDocument, { id: results[0].customerId! })).data!.customer!;
    expect(profile.traits).toEqual({ step: 3, other: true });
    expect(profile.merges).toEqual([expect.objectContaining({ interactionId: results[2].interactionId, moved: { identifiers: 1, interactions: 1 } })]);
    // The profile created and merged within the batch still resolves.
    const [{ id: tombstone }] = await t.sql(`SELECT merged_id AS id FROM merge WHERE interaction_id = $1`, [results[2].interactionId]);
    expect((await t.gql(CustomerDocument, { id: tombstone })).data!.customer!.id).toBe(profile.id);
  });
});
