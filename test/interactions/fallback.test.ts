import { CustomerLifecycleDocument, RecordInteractionDocument, RecordInteractionsDocument } from '../generated/graphql';
import { interaction, unique } from '../helpers/factories';
import { startTestServer, type TestServer } from '../helpers/server';

/**
 * Validation leaves nothing PostgreSQL is known to refuse, so this file's own database is given a
 * rule the API does not know: an interaction whose properties carry `refusedByTheDatabase` breaks
 * a CHECK constraint (SQLSTATE 23514), as a value PostgreSQL cannot store would. Real database,
 * real failure, inside the batch's statement.
 */
let t: TestServer;
let errors: jest.SpyInstance;
beforeAll(async () => {
  t = await startTestServer();
  await t.sql(`ALTER TABLE interaction ADD CONSTRAINT test_refused CHECK (NOT (properties ? 'refusedByTheDatabase'))`);
  // The server logs each failure; keep the test output readable.
  errors = jest.spyOn(console, 'error').mockImplementation(() => undefined);
});
afterAll(async () => {
  errors.mockRestore();
  await t.close();
});

const refused = { refusedByTheDatabase: true };
const count = async (query: string, params: unknown[] = []) => (await t.sql(query, params))[0].n as number;

describe('a batch with an item the database refuses', () => {
  it('stores the other items, each whole, and rejects that one as INTERNAL_SERVER_ERROR with nothing of it written', async () => {
    // Two existing people that the refused item would merge.
    const email = { type: 'EMAIL' as const, value: `${unique('ann')}@example.com` };
    const phone = { type: 'PHONE' as const, value: `+336${String(Math.floor(Math.random() * 1e8)).padStart(8, '0')}` };
    const a = await t.record(interaction({ type: 'PURCHASE', amount: '10', occurredAt: '2024-01-01T10:00:00.000Z', identifiers: [email] }));
    const b = await t.record(interaction({ occurredAt: '2024-01-02T10:00:00.000Z', identifiers: [phone] }));
    const stranger = { type: 'DEVICE_ID' as const, value: unique('device') };
    const before = { interactions: await count(`SELECT count(*)::int AS n FROM interaction`), merges: await count(`SELECT count(*)::int AS n FROM merge`) };
    errors.mockClear();

    const res = await t.gql(RecordInteractionsDocument, {
      inputs: [
        interaction({ identifiers: [stranger] }),
        interaction({ type: 'PURCHASE', amount: '99', occurredAt: '2024-01-03T10:00:00.000Z', identifiers: [email, phone], properties: refused }),
        interaction({ type: 'PURCHASE', amount: '20', occurredAt: '2024-01-04T10:00:00.000Z', identifiers: [email] }),
        interaction({ identifiers: [] }),
      ],
    });
    expect(res.errors).toBeUndefined();
    const results = res.data!.recordInteractions;
    expect(results.map((r) => r.status)).toEqual(['CREATED', 'REJECTED', 'CREATED', 'REJECTED']);
    expect(results[1]).toMatchObject({ interactionId: null, customerId: null, problems: [{ code: 'INTERNAL_SERVER_ERROR', field: 'inputs[1]' }] });
    expect(results[1].problems[0].message).toMatch(/nothing was written/);
    expect(results[3].problems).toEqual([expect.objectContaining({ code: 'BAD_USER_INPUT', field: 'inputs[3].identifiers' })]);
    expect(results[2].customerId).toBe(a.customerId);
    // The failure was logged for the operators.
    expect(errors).toHaveBeenCalled();

    // Nothing of the refused item: no interaction, no merge, no identifier moved, its purchase in no metric.
    expect(await count(`SELECT count(*)::int AS n FROM interaction`)).toBe(before.interactions + 2);
    expect(await count(`SELECT count(*)::int AS n FROM interaction WHERE properties ? 'refusedByTheDatabase'`)).toBe(0);
    expect(await count(`SELECT count(*)::int AS n FROM merge`)).toBe(before.merges);
    expect(await t.sql(`SELECT merged_into_id FROM customer WHERE id = $1`, [b.customerId])).toEqual([{ merged_into_id: null }]);
    expect(await t.sql(`SELECT customer_id FROM identifier WHERE type = 'PHONE' AND value = $1`, [phone.value])).toEqual([{ customer_id: b.customerId }]);
    const metrics = (await t.gql(CustomerLifecycleDocument, { id: a.customerId! })).data!.customer!.metrics;
    expect(metrics).toMatchObject({ orderCount: 2, grossRevenue: '30.00' });
    // The others, whole: the stranger got a customer with its identifier.
    expect(await t.sql(`SELECT customer_id FROM identifier WHERE type = 'DEVICE_ID' AND value = $1`, [stranger.value])).toEqual([{ customer_id: results[0].customerId }]);
  });

  it('a batch whose only valid item is refused still answers item by item', async () => {
    const alone = await t.gql(RecordInteractionsDocument, { inputs: [interaction({ properties: refused }), interaction({ type: 'CUSTOM' })] });
    expect(alone.data!.recordInteractions.map((r) => [r.status, r.problems.map((p) => p.code)])).toEqual([
      ['REJECTED', ['INTERNAL_SERVER_ERROR']],
      ['REJECTED', ['BAD_USER_INPUT']],
    ]);
  });

  it('a single recordInteraction the database refuses fails as a whole, writing nothing', async () => {
    const before = await count(`SELECT count(*)::int AS n FROM customer`);
    const res = await t.gql(RecordInteractionDocument, { input: interaction({ properties: refused }) });
    expect(res.data).toBeNull();
    expect(res.errors![0].extensions!.code).toBe('INTERNAL_SERVER_ERROR');
    expect(await count(`SELECT count(*)::int AS n FROM customer`)).toBe(before);
  });
});
