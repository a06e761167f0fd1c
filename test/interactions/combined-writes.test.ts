import { parse } from 'graphql';

import { interaction, unique } from '../helpers/factories';
import { startTestServer, type TestServer } from '../helpers/server';

/**
 * Single recordInteraction calls of one key that arrive while others are being stored are
 * written together (src/modules/interactions/write-combiner.ts). Each must still behave as if it
 * were alone: its own outcome, its own audit row, and a failure that is its own. Rows written in
 * one transaction share their `xmin`: that is how these tests see that calls were combined.
 *
 * As in fallback.test.ts, this file's database refuses (CHECK constraint, SQLSTATE 23514) an
 * interaction whose properties carry `refusedByTheDatabase`: a value PostgreSQL cannot store.
 */
const RECORD = parse('mutation Record($input: RecordInteractionInput!) { recordInteraction(input: $input) { status interactionId customerId } }');
type Result = { data?: { recordInteraction: { status: string; interactionId: string; customerId: string } } | null; errors?: Array<{ message: string; extensions?: { code?: string } }> };

let t: TestServer;
let errors: jest.SpyInstance;
beforeAll(async () => {
  t = await startTestServer({ writeCombine: { maxItems: 16, maxInFlight: 1 } });
  await t.sql(`ALTER TABLE interaction ADD CONSTRAINT test_refused CHECK (NOT (properties ? 'refusedByTheDatabase'))`);
  errors = jest.spyOn(console, 'error').mockImplementation(() => undefined);
});
afterAll(async () => {
  errors.mockRestore();
  await t.close();
});

const send = (inputs: ReturnType<typeof interaction>[]) => Promise.all(inputs.map((input) => t.gql(RECORD, { input }, t.keys.write) as Promise<Result>));
const transactionsOf = async (ids: string[]) => (await t.sql(`SELECT count(DISTINCT xmin::text)::int AS n FROM interaction WHERE id = ANY($1::uuid[])`, [ids]))[0].n as number;

describe('single writes that arrive together', () => {
  it('are stored in fewer transactions than calls, each with its own outcome and its own audit row', async () => {
    const emails = Array.from({ length: 40 }, () => `${unique('c')}@example.com`);
    const results = await send(emails.map((value) => interaction({ identifiers: [{ type: 'EMAIL', value }] })));
    expect(results.map((r) => r.errors)).toEqual(emails.map(() => undefined));
    const outcomes = results.map((r) => r.data!.recordInteraction);
    expect(outcomes.map((o) => o.status)).toEqual(emails.map(() => 'CREATED'));
    expect(new Set(outcomes.map((o) => o.customerId)).size).toBe(40);
    expect(await transactionsOf(outcomes.map((o) => o.interactionId))).toBeLessThan(40);

    // Each call's customer is the one its identifier belongs to, with its interaction.
    const owners = await t.sql(
      `SELECT i.value, i.customer_id::text AS customer, n.id::text AS interaction FROM identifier i JOIN interaction n ON n.customer_id = i.customer_id WHERE i.type = 'EMAIL' AND i.value = ANY($1)`,
      [emails],
    );
    const byEmail = new Map(owners.map((o) => [o.value, o]));
    emails.forEach((email, i) => expect(byEmail.get(email)).toEqual({ value: email, customer: outcomes[i].customerId, interaction: outcomes[i].interactionId }));

    // One audit row per call, naming that call's customer only.
    const audit = await t.sql(`SELECT customer_ids::text[] AS ids, details FROM audit WHERE operation = 'Mutation.recordInteraction' AND customer_ids && $1::uuid[]`, [outcomes.map((o) => o.customerId)]);
    expect(audit).toHaveLength(40);
    for (const row of audit) {
      expect(row.ids).toHaveLength(1);
      expect(row.details).toEqual({ created: 1, duplicates: 0, rejected: 0, merges: 0, consents: 0, liftedSuppressions: 0 });
    }
    expect(new Set(audit.map((r) => r.ids[0]))).toEqual(new Set(outcomes.map((o) => o.customerId)));
  });

  it('a call the database refuses fails alone, writing nothing; the others are stored', async () => {
    const inputs = Array.from({ length: 30 }, (_, i) => interaction({ properties: i === 12 ? { refusedByTheDatabase: true } : {} }));
    const before = (await t.sql(`SELECT count(*)::int AS n FROM customer`))[0].n as number;
    errors.mockClear();
    const results = await send(inputs);
    expect(results[12].data).toBeNull();
    expect(results[12].errors![0].extensions!.code).toBe('INTERNAL_SERVER_ERROR');
    const others = results.filter((_, i) => i !== 12).map((r) => r.data!.recordInteraction);
    expect(others.map((o) => o.status)).toEqual(others.map(() => 'CREATED'));
    expect((await t.sql(`SELECT count(*)::int AS n FROM customer`))[0].n).toBe(before + 29);
    expect(await t.sql(`SELECT id FROM interaction WHERE external_id = $1`, [inputs[12].externalId])).toEqual([]);
    expect(await t.sql(`SELECT id FROM identifier WHERE value = $1`, [inputs[12].identifiers![0].value])).toEqual([]);
    // Calls were combined, and the failure was logged for the operators.
    expect(await transactionsOf(others.map((o) => o.interactionId))).toBeLessThan(29);
    expect(errors).toHaveBeenCalled();
  });

  it('the same external id sent by several calls at once is stored once; the rest are DUPLICATE of it', async () => {
    const input = interaction();
    const results = await send(Array.from({ length: 12 }, () => input));
    const outcomes = results.map((r) => r.data!.recordInteraction);
    expect(outcomes.filter((o) => o.status === 'CREATED')).toHaveLength(1);
    expect(outcomes.filter((o) => o.status === 'DUPLICATE')).toHaveLength(11);
    expect(new Set(outcomes.map((o) => o.interactionId)).size).toBe(1);
    expect(new Set(outcomes.map((o) => o.customerId)).size).toBe(1);
  });

  it('calls naming the same person at once all land on one customer', async () => {
    const email = { type: 'EMAIL' as const, value: `${unique('same')}@example.com` };
    const results = await send(Array.from({ length: 20 }, (_, i) => interaction({ identifiers: [email, { type: 'ANONYMOUS_ID', value: unique(`dev${i}`) }] })));
    const outcomes = results.map((r) => r.data!.recordInteraction);
    expect(outcomes.map((o) => o.status)).toEqual(outcomes.map(() => 'CREATED'));
    expect(new Set(outcomes.map((o) => o.customerId)).size).toBe(1);
    expect((await t.sql(`SELECT count(*)::int AS n FROM interaction WHERE customer_id = $1`, [outcomes[0].customerId]))[0].n).toBe(20);
    expect((await t.sql(`SELECT count(*)::int AS n FROM customer WHERE merged_into_id IS NULL AND id IN (SELECT customer_id FROM identifier WHERE value = $1)`, [email.value]))[0].n).toBe(1);
  });
});

describe('WRITE_COMBINE_MAX=1', () => {
  let alone: TestServer;
  beforeAll(async () => {
    alone = await startTestServer({ writeCombine: { maxItems: 1, maxInFlight: 500 } });
  });
  afterAll(() => alone.close());

  it('stores every call in a transaction of its own', async () => {
    const results = await Promise.all(Array.from({ length: 20 }, () => alone.gql(RECORD, { input: interaction() }, alone.keys.write) as Promise<Result>));
    const ids = results.map((r) => r.data!.recordInteraction.interactionId);
    expect((await alone.sql(`SELECT count(DISTINCT xmin::text)::int AS n FROM interaction WHERE id = ANY($1::uuid[])`, [ids]))[0].n).toBe(20);
  });
});
