import { CreateSegmentDocument, CustomerValueDocument, RefitValueModelDocument, SegmentDocument, ValueModelsDocument } from '../generated/graphql';
import { interaction, unique } from '../helpers/factories';
import { startTestServer, type TestServer } from '../helpers/server';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.close());

const DAY = 86_400_000;
const AS_OF = '2024-06-01T00:00:00.000Z';
const before = (days: number) => new Date(Date.parse(AS_OF) - days * DAY).toISOString();

describe('the value model through the API', () => {
  it('refuses to fit fewer than 3 buyers (CONFLICT), an asOf in the future (BAD_USER_INPUT), a key without admin (FORBIDDEN)', async () => {
    const few = await t.gql(RefitValueModelDocument, { asOf: AS_OF }, t.keys.admin);
    expect(few.errors![0].extensions!.code).toBe('CONFLICT');
    const future = await t.gql(RefitValueModelDocument, { asOf: new Date(Date.now() + 3 * DAY).toISOString() }, t.keys.admin);
    expect(future.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'asOf' });
    expect((await t.gql(RefitValueModelDocument, { asOf: AS_OF })).errors![0].extensions!.code).toBe('FORBIDDEN');
  });

  it('a late interaction changes nothing: RFM, predictions and stage as if it had come in order; versions are kept; value segments follow a refit', async () => {
    const days = [200, 150, 120, 90, 40, 12];
    const people = [];
    for (let i = 0; i < 12; i++) people.push({ type: 'EMAIL' as const, value: `${unique('v')}@example.com` });
    // Everyone buys on some of those days; the last two people are the same history, one of them sent out of order.
    for (const [k, person] of people.entries()) {
      const mine = days.filter((_, j) => (j + k) % 3 !== 0 || k >= 10);
      const order = k === 11 ? [...mine.slice(0, 2), ...mine.slice(3), mine[2]] : mine;
      for (const d of order) await t.record(interaction({ type: 'PURCHASE', amount: String(20 + Math.min(k, 10) + d / 10), occurredAt: before(d), identifiers: [person] }));
    }
    const segment = await t.gql(CreateSegmentDocument, { name: 'likely to buy again', definition: { minPAlive: 0.5 } }, t.keys.admin);
    await t.server.services.segments.idle();
    expect((await t.gql(SegmentDocument, { id: segment.data!.createSegment.id })).data!.segment!.size).toBe(0);

    const first = await t.gql(RefitValueModelDocument, { asOf: AS_OF }, t.keys.admin);
    expect(first.errors).toBeUndefined();
    const model = first.data!.refitValueModel;
    expect(model).toMatchObject({ asOf: AS_OF, customersFitted: 12, converged: true });
    expect(model.spendCustomersFitted).toBe(12);
    for (const v of Object.values(model.parameters).filter((x) => typeof x === 'number')) expect(v).toBeGreaterThan(0);

    const ids = await Promise.all(people.slice(10).map(async (p) => (await t.sql(`SELECT customer_id FROM identifier WHERE value = $1`, [p.value]))[0].customer_id));
    const [inOrder, late] = await Promise.all(ids.map(async (id) => (await t.gql(CustomerValueDocument, { id, days: 90, months: 12 })).data!.customer!));
    const { id: _a, segments: _s1, ...a } = inOrder;
    const { id: _b, segments: _s2, ...b } = late;
    expect(b).toEqual(a);
    const p = inOrder.predictions!;
    expect(p.pAlive).toBeGreaterThan(0);
    expect(p.pAlive).toBeLessThanOrEqual(1);
    expect(p.repeatPurchases).toBe(5);
    expect(p.explanation).toMatch(/^P\(alive\) \d\.\d\d: 5 repeat purchases, the last/);
    expect(p.predictedClv!).toBeGreaterThan(0);
    const year = (await t.gql(CustomerValueDocument, { id: ids[0], days: 365 })).data!.customer!.predictions!.expectedPurchases;
    expect(year).toBeGreaterThan(p.expectedPurchases);
    expect(inOrder.rfm).toMatchObject({ asOf: AS_OF, orderCount: 6, cell: expect.stringMatching(/^[1-5]{3}$/) });
    const bad = await t.gql(CustomerValueDocument, { id: ids[0], days: 0 });
    expect(bad.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'days' });

    await t.server.services.segments.idle();
    const [{ n }] = await t.sql(`SELECT count(*)::int AS n FROM customer_value WHERE p_alive >= 0.5`);
    expect(n).toBeGreaterThan(0);
    expect((await t.gql(SegmentDocument, { id: segment.data!.createSegment.id })).data!.segment).toMatchObject({ size: n, status: 'READY' });

    const second = await t.gql(RefitValueModelDocument, { asOf: AS_OF }, t.keys.admin);
    const versions = (await t.gql(ValueModelsDocument, {})).data!;
    expect(versions.valueModel!.id).toBe(second.data!.refitValueModel.id);
    expect(versions.valueModels.map((m) => m.id)).toEqual([second.data!.refitValueModel.id, model.id]);
  });
});
