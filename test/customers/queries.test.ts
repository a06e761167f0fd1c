import { CustomerByIdentifierDocument, CustomerDocument, CustomerInteractionsDocument, CustomersPageDocument, RecordInteractionsDocument } from '../generated/graphql';
import { interaction, unique } from '../helpers/factories';
import { startTestServer, type TestServer } from '../helpers/server';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.close());

/** Creates `n` customers with `perCustomer` interactions each, and one merge each. */
async function seed(n: number, perCustomer: number) {
  const inputs = [];
  for (let c = 0; c < n; c++) {
    const email = `${unique('seed')}@example.com`;
    const anon = unique('anon');
    inputs.push(interaction({ identifiers: [{ type: 'ANONYMOUS_ID', value: anon }] }));
    inputs.push(interaction({ channel: 'APP', identifiers: [{ type: 'EMAIL', value: email }] }));
    for (let i = 2; i < perCustomer; i++) {
      inputs.push(interaction({ channel: i % 2 ? 'STORE' : 'APP', occurredAt: new Date(Date.UTC(2024, 1, i)).toISOString(), identifiers: [{ type: 'EMAIL', value: email }, { type: 'ANONYMOUS_ID', value: anon }] }));
    }
  }
  for (let i = 0; i < inputs.length; i += 1000) {
    const res = await t.gql(RecordInteractionsDocument, { inputs: inputs.slice(i, i + 1000) });
    expect(res.data!.recordInteractions.every((r) => r.status === 'CREATED')).toBe(true);
  }
}

describe('customers connection', () => {
  it('a page of customers with identifiers, interactions, merges and lifecycle history costs the same number of statements for 5 or 50', async () => {
    await seed(60, 12);
    const small = await t.countStatements(async () => {
      const res = await t.gql(CustomersPageDocument, { first: 5 });
      expect(res.data!.customers.edges).toHaveLength(5);
    });
    let page: Awaited<ReturnType<typeof t.gql<any, any>>> | undefined;
    const large = await t.countStatements(async () => {
      page = await t.gql(CustomersPageDocument, { first: 50 });
    });
    const edges = page!.data!.customers.edges;
    expect(edges).toHaveLength(50);
    for (const edge of edges) {
      expect(edge.node.identifiers).toHaveLength(2);
      expect(edge.node.interactions.edges).toHaveLength(10);
      expect(edge.node.merges).toHaveLength(1);
      expect(edge.node.lifecycle.history.map((h: { to: string }) => h.to)).toEqual(['PROSPECT']);
    }
    expect(large).toBe(small);
    // customers + identifiers + interactions + merges + transitions, the API key (not cached in tests),
    // and the audit row of the unmasked read (the default test key has the pii scope).
    expect(large).toBeLessThanOrEqual(7);
  });

  it('pages with cursors, newest first, without overlap, and filters', async () => {
    const seen = new Set<string>();
    let after: string | null = null;
    let previous = Infinity;
    for (let i = 0; i < 100; i++) {
      const res: any = await t.gql(CustomersPageDocument, { first: 7, after });
      for (const edge of res.data!.customers.edges) {
        expect(seen.has(edge.node.id)).toBe(false);
        seen.add(edge.node.id);
        const created = Date.parse(edge.node.createdAt);
        expect(created).toBeLessThanOrEqual(previous);
        previous = created;
      }
      if (!res.data!.customers.pageInfo.hasNextPage) break;
      after = res.data!.customers.pageInfo.endCursor;
    }
    const [{ n }] = await t.sql(`SELECT count(*)::int AS n FROM customer WHERE merged_into_id IS NULL`);
    expect(seen.size).toBe(n);

    const store = await t.gql(CustomersPageDocument, { first: 100, filter: { channel: 'STORE' } });
    expect(store.data!.customers.edges.length).toBe(60);
    const phone = await t.gql(CustomersPageDocument, { first: 100, filter: { identifierType: 'PHONE' } });
    expect(phone.data!.customers.edges).toHaveLength(0);
    const future = await t.gql(CustomersPageDocument, { first: 100, filter: { createdAfter: new Date(Date.now() + 60_000).toISOString() } });
    expect(future.data!.customers.edges).toHaveLength(0);
    const recent = await t.gql(CustomersPageDocument, { first: 100, filter: { updatedAfter: new Date(Date.now() - 3600_000).toISOString(), createdBefore: new Date(Date.now() + 60_000).toISOString() } });
    expect(recent.data!.customers.edges.length).toBe(Math.min(100, n));
  });

  it('rejects a bad cursor or page size with BAD_USER_INPUT', async () => {
    const bad = await t.gql(CustomersPageDocument, { first: 5, after: 'nonsense' });
    expect(bad.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'after' });
    const big = await t.gql(CustomersPageDocument, { first: 1000 });
    expect(big.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'first' });
  });
});

describe('one customer', () => {
  it('pages its interactions newest first and filters them by channel and type', async () => {
    const anon = unique('anon');
    const inputs = Array.from({ length: 25 }, (_, i) =>
      interaction({
        channel: i % 2 ? 'APP' : 'WEB',
        type: i % 5 === 0 ? 'SEARCH' : 'PAGE_VIEW',
        occurredAt: new Date(Date.UTC(2024, 5, 1, 0, i)).toISOString(),
        identifiers: [{ type: 'ANONYMOUS_ID', value: anon }],
      }),
    );
    const recorded = await t.gql(RecordInteractionsDocument, { inputs: [...inputs].reverse() });
    const id = recorded.data!.recordInteractions[0].customerId!;
    const times: string[] = [];
    let after: string | null = null;
    for (;;) {
      const res: any = await t.gql(CustomerInteractionsDocument, { id, first: 10, after });
      times.push(...res.data!.customer!.interactions.edges.map((e: any) => e.node.occurredAt));
      if (!res.data!.customer!.interactions.pageInfo.hasNextPage) break;
      after = res.data!.customer!.interactions.pageInfo.endCursor;
    }
    expect(times).toEqual(inputs.map((i) => i.occurredAt).reverse());

    const app = await t.gql(CustomerInteractionsDocument, { id, first: 100, channel: 'APP' });
    expect(app.data!.customer!.interactions.edges).toHaveLength(12);
    const searches = await t.gql(CustomerInteractionsDocument, { id, first: 100, type: 'SEARCH', channel: 'WEB' });
    expect(searches.data!.customer!.interactions.edges.map((e) => e.node.type)).toEqual(['SEARCH', 'SEARCH', 'SEARCH']);
  });

  it('NOT_FOUND for an unknown id or identifier, BAD_USER_INPUT for a malformed one', async () => {
    const missing = await t.gql(CustomerDocument, { id: '00000000-0000-7000-8000-000000000000' });
    expect(missing.data!.customer).toBeNull();
    expect(missing.errors![0].extensions!.code).toBe('NOT_FOUND');
    const malformed = await t.gql(CustomerDocument, { id: 'abc' });
    expect(malformed.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'id' });
    const nobody = await t.gql(CustomerByIdentifierDocument, { type: 'EMAIL', value: 'nobody@example.com' });
    expect(nobody.errors![0].extensions!.code).toBe('NOT_FOUND');
    const notEmail = await t.gql(CustomerByIdentifierDocument, { type: 'EMAIL', value: 'nobody' });
    expect(notEmail.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'value' });
  });
});

describe('query shape', () => {
  it('refuses documents nested too deep (customer ↔ interaction cycles) with BAD_USER_INPUT', async () => {
    const deep = `{ customers(first: 1) { edges { node { interactions(first: 1) { edges { node { customer { interactions(first: 1) { edges { node { customer { id } } } } } } } } } } } }`;
    const res = await fetch(t.url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${t.keys.read}` }, body: JSON.stringify({ query: deep }) });
    const body = (await res.json()) as any;
    expect(body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
    expect(body.errors[0].message).toMatch(/depth limit of 10 exceeded, found 12/);
    const ok = `{ customers(first: 1) { edges { node { interactions(first: 1) { edges { node { customer { id } } } } } } } }`;
    const fine = await fetch(t.url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${t.keys.read}` }, body: JSON.stringify({ query: ok }) });
    expect(((await fine.json()) as any).errors).toBeUndefined();
  });
});
