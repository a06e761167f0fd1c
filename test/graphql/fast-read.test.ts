import { parse } from 'graphql';

import { interaction, unique } from '../helpers/factories';
import { Scope } from '../../src/modules/access/scope.enum';
import { rawPost } from '../helpers/http';
import { startTestServer, type TestServer } from '../helpers/server';

/*
 * The compiled reads (src/graphql/fast-read/) must answer exactly what the schema's resolvers
 * answer. The general path is reached with the same document and `@include(if: true)` on its
 * root field: a directive is never compiled, and changes nothing in the answer.
 */

let t: TestServer;
const ids: Record<string, string> = {};
const phone = '+33 6 12 34 56 78';

beforeAll(async () => {
  t = await startTestServer();
  const ann = [{ type: 'EMAIL' as const, value: `${unique('ann')}@example.com` }, { type: 'PHONE' as const, value: phone }];
  const bob = { type: 'CUSTOMER_ID' as const, value: unique('bob') };
  const device = { type: 'DEVICE_ID' as const, value: unique('dev') };
  const day = (d: number, extra = 0) => new Date(Date.UTC(2024, 2, d, 10, 0, 0) + extra).toISOString();
  await t.record(interaction({ type: 'PURCHASE', amount: '89.9', currency: 'EUR', occurredAt: day(1), identifiers: ann }));
  await t.record(interaction({ type: 'PURCHASE', amount: '1500', currency: 'JPY', occurredAt: day(2, 123), identifiers: [ann[0]] }));
  await t.record(interaction({ type: 'PURCHASE', amount: '12.345', currency: 'BHD', occurredAt: day(3, 7), identifiers: [ann[0]] }));
  await t.record(interaction({ type: 'REFUND', amount: '10.1234', occurredAt: day(4), identifiers: [ann[0]] }));
  await t.record(interaction({ type: 'PAGE_VIEW', channel: 'APP', occurredAt: day(5), identifiers: [ann[0]] }));
  for (let i = 0; i < 14; i++) await t.record(interaction({ type: 'PRODUCT_VIEW', occurredAt: day(6), identifiers: [bob] }));
  await t.record(interaction({ type: 'PURCHASE', amount: '0.5', occurredAt: day(7), identifiers: [bob] }));
  // A merged customer: the device's profile is absorbed into Bob's.
  const merged = await t.record(interaction({ type: 'PAGE_VIEW', occurredAt: day(8), identifiers: [device] }));
  await t.record(interaction({ type: 'PAGE_VIEW', occurredAt: day(9), identifiers: [device, bob] }));
  ids.merged = merged.customerId!;
  const [a] = await t.sql(`SELECT customer_id FROM identifier WHERE value = $1`, [ann[0].value]);
  const [b] = await t.sql(`SELECT customer_id FROM identifier WHERE value = $1`, [bob.value]);
  ids.ann = a.customer_id;
  ids.bob = b.customer_id;
  ids.bobValue = bob.value;
  // A customer with no interaction and no purchase.
  await t.gql(parse('mutation { identify(identifiers: [{ type: ANONYMOUS_ID, value: "lonely-visitor" }]) { customerId } }'), {}, t.keys.admin);
});
afterAll(() => t.close());

const INTERACTION = 'id type channel occurredAt receivedAt amount currency externalId name npsScore journeyId __typename';
const METRICS = 'orderCount grossRevenue refunds netRevenue averageOrderValue firstPurchaseAt lastPurchaseAt lastInteractionAt channelsUsed lastNpsScore';
const CUSTOMER = `id __typename createdAt updatedAt identifiers { type value rawValue createdAt __typename } metrics { ${METRICS} } lifecycle { stage since }
  interactions(first: $n) { __typename edges { __typename node { ${INTERACTION} } } } last: interactions(first: 2) { edges { node { id amount } } }`;

const DOCUMENTS: Array<[string, string, () => Record<string, unknown>]> = [
  ['W1', `query W1($id: ID!) { customer(id: $id) ROOT { id identifiers { type value } interactions(first: 10) { edges { node { id type channel occurredAt amount } } } metrics { orderCount netRevenue } } }`, () => ({ id: ids.ann })],
  ['everything by id', `query All($id: ID!, $n: Int!) { person: customer(id: $id) ROOT { ${CUSTOMER} } }`, () => ({ id: ids.ann, n: 3 })],
  ['a merged id', `query Merged($id: ID!, $n: Int!) { customer(id: $id) ROOT { ${CUSTOMER} } }`, () => ({ id: ids.merged, n: 20 })],
  ['W2', `query W2 { customers(first: 50) ROOT { edges { node { id identifiers { type value } interactions(first: 10) { edges { node { id type channel occurredAt amount } } } } } } }`, () => ({})],
  ['a page of everything', `query Page($n: Int!) { customers(first: 2) ROOT { __typename edges { __typename node { ${CUSTOMER} } } } }`, () => ({ n: 1 })],
  ['no interactions asked', `query Zero { customers(first: 0) ROOT { edges { node { id } } } }`, () => ({})],
  ['W3, a phone in national format', `query W3($value: String!) { customerByIdentifier(type: PHONE, value: $value) ROOT { id identifiers { type value } metrics { ${METRICS} } } }`, () => ({ value: '06 12 34 56 78' })],
  ['by customer id, inline arguments', `query { customerByIdentifier(type: CUSTOMER_ID, value: "BOBVALUE") ROOT { id identifiers { kind: type v: value raw: rawValue } lifecycle { stage } } }`, () => ({})],
];

const fast = (doc: string) => doc.replace(' ROOT', '').replace('BOBVALUE', ids.bobValue);
const general = (doc: string) => doc.replace(' ROOT', ' @include(if: true)').replace('BOBVALUE', ids.bobValue);
const general_ = general;

async function post(query: string, variables: Record<string, unknown>, key: string): Promise<{ status: number; body: any }> {
  const res = await fetch(t.url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: JSON.stringify({ query, variables }) });
  return { status: res.status, body: await res.json() };
}

describe('compiled reads', () => {
  it.each(DOCUMENTS)('%s: the same answer as the resolvers, masked for read and unmasked for pii, in one statement', async (_name, doc, vars) => {
    for (const key of [t.keys.read, t.keys.readWrite]) {
      // First the general path (which also records the key's use for the minute).
      const generalAnswer = await post(general(doc), vars(), key);
      let fastAnswer: any;
      const statements = await t.countStatements(async () => {
        fastAnswer = await post(fast(doc), vars(), key);
      });
      expect(fastAnswer.body.errors).toBeUndefined();
      expect(fastAnswer).toEqual(generalAnswer);
      // The key's look-up (the tests cache no key) and one statement, which appends the audit row of an unmasked read.
      expect(statements).toBe(2);
    }
  });

  it('masks without pii exactly as the resolvers do', async () => {
    const { body } = await post(fast(DOCUMENTS[0][1]), { id: ids.ann }, t.keys.read);
    const values = body.data.customer.identifiers.map((i: any) => i.value);
    expect(values.some((v: string) => v.includes('***'))).toBe(true);
    expect(values).toContain('+33 6 ** ** ** 78');
  });

  it('audits an unmasked read as the resolvers do: one row, the same operation and customers', async () => {
    const rows = async () => t.sql(`SELECT operation, operation_name, customer_ids::text[] AS ids FROM audit WHERE kind = 'PII_READ' ORDER BY at DESC, id DESC LIMIT 1`);
    await post(fast(DOCUMENTS[3][1]), {}, t.keys.readWrite);
    const [fastRow] = await rows();
    await post(general(DOCUMENTS[3][1]), {}, t.keys.readWrite);
    const [generalRow] = await rows();
    expect({ ...fastRow, ids: [...fastRow.ids].sort() }).toEqual({ ...generalRow, ids: [...generalRow.ids].sort() });
    expect(fastRow.ids.length).toBeGreaterThan(2);
  });

  it('audits concurrent unmasked reads too: the reads of one key and operation share a row that names every customer and counts the reads', async () => {
    const [{ since }] = await t.sql(`SELECT clock_timestamp() AS since`);
    const query = fast(DOCUMENTS[0][1]);
    const people = [ids.ann, ids.bob, ids.merged];
    const answers = await Promise.all(Array.from({ length: 24 }, (_, i) => post(query, { id: people[i % 3] }, t.keys.readWrite)));
    for (const a of answers) expect(a.body.errors).toBeUndefined();
    const rows = await t.sql(
      `SELECT customer_ids::text[] AS ids, customer_count, details FROM audit WHERE kind = 'PII_READ' AND operation = 'Query.customer' AND operation_name = 'W1' AND at >= $1`,
      [since],
    );
    const reads = rows.reduce((n: number, r: any) => n + (r.details.reads ?? 1), 0);
    expect(reads).toBe(24);
    // The merged id answers with Bob's profile: two customers in all.
    expect(new Set(rows.flatMap((r: any) => r.ids))).toEqual(new Set([ids.ann, ids.bob]));
    for (const r of rows) expect(r.customer_count).toBe(r.ids.length);
  });

  it('leaves every error to the general path: unknown or malformed id, a page too large, a value that does not normalise, a key without read', async () => {
    const cases: Array<[string, Record<string, unknown>, string]> = [
      ['query Q($id: ID!) { customer(id: $id) { id } }', { id: '00000000-0000-4000-8000-000000000000' }, t.keys.read],
      ['query Q($id: ID!) { customer(id: $id) { id } }', { id: 'nope' }, t.keys.read],
      ['query Q($id: ID!) { customer(id: $id) { id interactions(first: 500) { edges { node { id } } } } }', { id: ids.ann }, t.keys.read],
      ['query Q($n: Int!) { customers(first: $n) { edges { node { id } } } }', { n: -1 }, t.keys.read],
      ['query Q($v: String!) { customerByIdentifier(type: EMAIL, value: $v) { id } }', { v: 'not an address' }, t.keys.read],
      ['query Q($id: ID!) { customer(id: $id) { id } }', { id: ids.ann }, t.keys.write],
      ['query Q($id: ID!) { customer(id: $id) { id } }', { id: 42 }, t.keys.read],
    ];
    for (const [query, variables, key] of cases) {
      const a = await post(query, variables, key);
      const b = await post(query.replace(/\) \{ id/, ') @include(if: true) { id'), variables, key);
      expect(a.body.errors?.[0]?.extensions?.code).toBeDefined();
      // The directive moves the columns of the error's location, nothing else.
      const strip = (r: typeof a) => JSON.parse(JSON.stringify(r, (k, v) => (k === 'locations' ? undefined : v)));
      expect(strip(a)).toEqual(strip(b));
    }
  });

  describe('the front lane (before Express)', () => {
    const W1 = () => fast(DOCUMENTS[0][1]);

    const raw = (body: string, headers: Record<string, string>, chunked = false) => rawPost(t.url, body, headers, chunked);

    it('answers as the general path does: status, body, content type, and the caller\'s request id sent back', async () => {
      const body = JSON.stringify({ query: W1(), variables: { id: ids.ann } });
      const headers = { 'content-type': 'application/json', authorization: `Bearer ${t.keys.readWrite}`, 'x-request-id': 'lane-check-1' };
      const lane = await raw(body, headers);
      const express = await raw(body, headers, true);
      expect(lane.status).toBe(200);
      expect(lane.body).toEqual(express.body);
      expect(lane.headers['content-type']).toBe(express.headers['content-type']);
      expect([lane.headers['x-request-id'], express.headers['x-request-id']]).toEqual(['lane-check-1', 'lane-check-1']);
      // Without one, a new id for each answer.
      const { 'x-request-id': _, ...anonymous } = headers;
      const [a, b] = [await raw(body, anonymous), await raw(body, anonymous)];
      expect(a.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
      expect(a.headers['x-request-id']).not.toBe(b.headers['x-request-id']);
    });

    it('leaves every refusal to Express, with the same words: no key, an unknown key, a body that is not JSON, nesting too deep', async () => {
      const body = JSON.stringify({ query: W1(), variables: { id: ids.ann } });
      const cases: Array<[string, Record<string, string>, number]> = [
        [body, { 'content-type': 'application/json' }, 401],
        [body, { 'content-type': 'application/json', authorization: 'Bearer cg_nobody_knows_this_key' }, 401],
        ['{"query": "{ customers', { 'content-type': 'application/json', authorization: `Bearer ${t.keys.read}` }, 400],
        [JSON.stringify({ query: `{ ${'a { '.repeat(70)} }` }), { 'content-type': 'application/json', authorization: `Bearer ${t.keys.read}` }, 400],
      ];
      for (const [text, headers, status] of cases) {
        const lane = await raw(text, headers);
        const express = await raw(text, headers, true);
        expect(lane.status).toBe(status);
        expect(lane.body).toEqual(express.body);
        expect(lane.body.errors[0].extensions.code).toBeDefined();
      }
    });

    it('takes a key\'s rate once per request, whether the lane answers it or hands it on', async () => {
      // A burst of 4, then one more each second: a request charged twice would leave the fourth refused.
      const { key } = await t.server.services.apiKeys.create('lane rate', [Scope.READ], { rateLimitPerSecond: 1, rateLimitBurst: 4 });
      const headers = { 'content-type': 'application/json', authorization: `Bearer ${key}` };
      const compiled = JSON.stringify({ query: W1(), variables: { id: ids.ann } });
      const general = JSON.stringify({ query: general_(DOCUMENTS[0][1]), variables: { id: ids.ann } });
      const started = Date.now();
      const statuses = [];
      for (const text of [compiled, general, compiled, general, compiled]) statuses.push((await raw(text, headers)).status);
      expect(statuses.slice(0, 4)).toEqual([200, 200, 200, 200]);
      if (Date.now() - started < 1000) expect(statuses[4]).toBe(429);
    });
  });
});
