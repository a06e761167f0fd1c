import { RecordInteractionDocument, RecordInteractionsDocument, type RecordInteractionInput } from '../generated/graphql';
import { interaction, unique } from '../helpers/factories';
import { startTestServer, type TestServer } from '../helpers/server';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.close());

const count = async (table: string) => (await t.sql(`SELECT count(*)::int AS n FROM ${table}`))[0].n as number;

describe('recordInteractions', () => {
  it('sending the same 200 interactions twice gives 200 CREATED, then 200 DUPLICATE, and 200 rows', async () => {
    const people = Array.from({ length: 40 }, () => `${unique('p')}@example.com`);
    const inputs = Array.from({ length: 200 }, (_, i) =>
      interaction({
        type: i % 5 === 0 ? 'PURCHASE' : 'PRODUCT_VIEW',
        amount: i % 5 === 0 ? `${i}.50` : undefined,
        identifiers: [{ type: 'EMAIL', value: people[i % people.length] }],
      }),
    );
    const before = await count('interaction');
    const first = await t.gql(RecordInteractionsDocument, { inputs });
    expect(first.errors).toBeUndefined();
    expect(first.data!.recordInteractions.map((r) => r.status)).toEqual(Array(200).fill('CREATED'));
    expect(first.data!.recordInteractions.map((r) => r.index)).toEqual(inputs.map((_, i) => i));

    const second = await t.gql(RecordInteractionsDocument, { inputs });
    const results = second.data!.recordInteractions;
    expect(results.map((r) => r.status)).toEqual(Array(200).fill('DUPLICATE'));
    // A duplicate answers with the original interaction and customer.
    expect(results.map((r) => r.interactionId)).toEqual(first.data!.recordInteractions.map((r) => r.interactionId));
    expect(results.map((r) => r.customerId)).toEqual(first.data!.recordInteractions.map((r) => r.customerId));
    expect((await count('interaction')) - before).toBe(200);
    expect(new Set(first.data!.recordInteractions.map((r) => r.customerId)).size).toBe(40);
  });

  it('the same externalId from another API key is another interaction', async () => {
    const input = interaction();
    const a = await t.gql(RecordInteractionDocument, { input }, t.keys.write);
    const b = await t.gql(RecordInteractionDocument, { input }, t.keys.readWrite);
    const again = await t.gql(RecordInteractionDocument, { input }, t.keys.write);
    expect([a, b, again].map((r) => r.data!.recordInteraction.status)).toEqual(['CREATED', 'CREATED', 'DUPLICATE']);
    expect(again.data!.recordInteraction.interactionId).toBe(a.data!.recordInteraction.interactionId);
  });

  it('a repeat inside one batch is a DUPLICATE of the first', async () => {
    const input = interaction();
    const res = await t.gql(RecordInteractionsDocument, { inputs: [input, interaction(), input] });
    const [first, , third] = res.data!.recordInteractions;
    expect([first.status, third.status]).toEqual(['CREATED', 'DUPLICATE']);
    expect(third.interactionId).toBe(first.interactionId);
  });

  it('a batch mixing valid and invalid items stores exactly the valid ones, and says why and where for the others', async () => {
    const future = new Date(Date.now() + 3 * 24 * 3600 * 1000).toISOString();
    const big = { blob: 'x'.repeat(17 * 1024) };
    const cases: Array<[RecordInteractionInput, string[]]> = [
      [interaction(), []],
      [interaction({ identifiers: [] }), ['identifiers']],
      [interaction({ identifiers: [{ type: 'EMAIL', value: '   ' }] }), ['identifiers[0].value']],
      [interaction({ identifiers: [{ type: 'EMAIL', value: 'not-an-email' }] }), ['identifiers[0].value']],
      [interaction({ identifiers: [{ type: 'ANONYMOUS_ID', value: 'ok' }, { type: 'PHONE', value: '12' }] }), ['identifiers[1].value']],
      [interaction({ occurredAt: future }), ['occurredAt']],
      [interaction({ type: 'PURCHASE', amount: '-5' }), ['amount']],
      [interaction({ type: 'PAGE_VIEW', amount: '5' }), ['amount']],
      [interaction({ type: 'SURVEY_RESPONSE', npsScore: 11 }), ['npsScore']],
      [interaction({ type: 'SURVEY_RESPONSE', npsScore: -1 }), ['npsScore']],
      [interaction({ type: 'CUSTOM' }), ['name']],
      [interaction({ properties: [1, 2] }), ['properties']],
      [interaction({ properties: 'text' }), ['properties']],
      [interaction({ properties: big }), ['properties']],
      [interaction({ traits: 42 }), ['traits']],
      [interaction({ type: 'PURCHASE', amount: '5', currency: 'euro' }), ['currency']],
      // Every problem of an item is reported, not only the first.
      [interaction({ type: 'CUSTOM', npsScore: 12, identifiers: [{ type: 'EMAIL', value: 'nope' }] }), ['name', 'npsScore', 'identifiers[0].value']],
      [interaction({ type: 'SURVEY_RESPONSE', npsScore: 10, properties: { answer: 'great' } }), []],
    ];
    const before = { interactions: await count('interaction'), customers: await count('customer'), identifiers: await count('identifier') };
    const res = await t.gql(RecordInteractionsDocument, { inputs: cases.map(([input]) => input) });
    expect(res.errors).toBeUndefined();
    const results = res.data!.recordInteractions;
    cases.forEach(([, fields], i) => {
      const result = results[i];
      expect(result.index).toBe(i);
      if (fields.length === 0) {
        expect(result.status).toBe('CREATED');
        expect(result.problems).toEqual([]);
      } else {
        expect(result.status).toBe('REJECTED');
        expect(result.interactionId).toBeNull();
        expect(result.problems.map((p) => p.field).sort()).toEqual(fields.map((f) => `inputs[${i}].${f}`).sort());
        for (const p of result.problems) {
          expect(p.code).toBe('BAD_USER_INPUT');
          expect(p.message.length).toBeGreaterThan(5);
        }
      }
    });
    const created = cases.filter(([, f]) => f.length === 0).length;
    expect((await count('interaction')) - before.interactions).toBe(created);
    expect((await count('customer')) - before.customers).toBe(created);
    expect((await count('identifier')) - before.identifiers).toBe(created);
  });

  it('refuses a batch of more than 1,000 items as a whole, writing nothing', async () => {
    const before = await count('interaction');
    const res = await t.gql(RecordInteractionsDocument, { inputs: Array.from({ length: 1001 }, () => interaction()) });
    expect(res.data).toBeNull();
    expect(res.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'inputs' });
    expect(await count('interaction')).toBe(before);
  });

  it('accepts exactly 1,000', async () => {
    const res = await t.gql(RecordInteractionsDocument, { inputs: Array.from({ length: 1000 }, () => interaction()) });
    expect(res.data!.recordInteractions.filter((r) => r.status === 'CREATED')).toHaveLength(1000);
  });
});

describe('recordInteraction', () => {
  it('answers bad input with BAD_USER_INPUT, the field path and every problem, and writes nothing', async () => {
    const before = await count('interaction');
    const res = await t.gql(RecordInteractionDocument, { input: interaction({ type: 'REFUND', amount: '-3', identifiers: [{ type: 'PHONE', value: 'call me' }] }) });
    expect(res.data).toBeNull();
    expect(res.errors).toHaveLength(1);
    expect(res.errors![0].extensions!.code).toBe('BAD_USER_INPUT');
    expect(res.errors![0].extensions!.field).toBe('input.amount');
    expect(res.errors![0].extensions!.problems.map((p: { field: string }) => p.field).sort()).toEqual(['input.amount', 'input.identifiers[0].value']);
    expect(await count('interaction')).toBe(before);
  });

  it('reports a value of the wrong GraphQL type as BAD_USER_INPUT naming the variable path', async () => {
    const res = await t.gql(RecordInteractionDocument, { input: { ...interaction(), channel: 'FAX' as never } });
    expect(res.errors![0].extensions!.code).toBe('BAD_USER_INPUT');
    expect(res.errors![0].message).toContain('input.channel');
  });

  it('stores the normalised interaction with its properties, traits and defaults', async () => {
    const email = `${unique('Carol')}@Example.COM`;
    const res = await t.gql(RecordInteractionDocument, {
      input: interaction({
        channel: 'STORE',
        type: 'PURCHASE',
        amount: 12.5 as unknown as string,
        identifiers: [{ type: 'EMAIL', value: email }],
        traits: { firstName: 'Carol', city: 'Lyon' },
        properties: { basket: [{ sku: 'A1', qty: 2 }] },
        occurredAt: null,
      }),
    });
    const r = res.data!.recordInteraction;
    expect(r.status).toBe('CREATED');
    expect(r.interaction).toMatchObject({ type: 'PURCHASE', channel: 'STORE', amount: '12.50', currency: 'EUR', properties: { basket: [{ sku: 'A1', qty: 2 }] } });
    expect(r.interaction!.identifiers).toEqual([{ type: 'EMAIL', value: email.toLowerCase(), raw: email }]);
    expect(Math.abs(Date.parse(r.interaction!.occurredAt) - Date.now())).toBeLessThan(60_000);
    const [row] = await t.sql(`SELECT traits FROM customer WHERE id = $1`, [r.customerId]);
    expect(row.traits).toEqual({ firstName: 'Carol', city: 'Lyon' });
  });
});
