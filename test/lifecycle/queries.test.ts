import { CustomersByLifecycleDocument, LifecycleFlowDocument, LifecycleTransitionsDocument, RecordInteractionsDocument } from '../generated/graphql';
import { interaction, unique } from '../helpers/factories';
import { startTestServer, type TestServer } from '../helpers/server';

let t: TestServer;
const ids: Record<string, string> = {};

beforeAll(async () => {
  t = await startTestServer();
  // prospect: views only; single: one purchase; loyal: four purchases; refunded: two purchases and a refund.
  const who = (name: string) => [{ type: 'CUSTOMER_ID' as const, value: unique(name) }];
  const people = { prospect: who('p'), single: who('s'), loyal: who('l'), refunded: who('r') };
  const day = (d: number) => new Date(Date.UTC(2023, 0, 1 + d, 12)).toISOString();
  const res = await t.gql(RecordInteractionsDocument, {
    inputs: [
      interaction({ type: 'PAGE_VIEW', occurredAt: day(0), identifiers: people.prospect }),
      interaction({ type: 'PURCHASE', amount: '10', occurredAt: day(1), identifiers: people.single }),
      ...[2, 3, 4, 5].map((d) => interaction({ type: 'PURCHASE', amount: '100', occurredAt: day(d), identifiers: people.loyal })),
      interaction({ type: 'PURCHASE', amount: '30', occurredAt: day(6), identifiers: people.refunded }),
      interaction({ type: 'PURCHASE', amount: '30', occurredAt: day(40), identifiers: people.refunded }),
      interaction({ type: 'REFUND', amount: '25', occurredAt: day(41), identifiers: people.refunded }),
    ],
  });
  const results = res.data!.recordInteractions;
  ids.prospect = results[0].customerId!;
  ids.single = results[1].customerId!;
  ids.loyal = results[2].customerId!;
  ids.refunded = results[6].customerId!;
});
afterAll(() => t.close());

const idsOf = (res: any) => new Set(res.data!.customers.edges.map((e: any) => e.node.id));

describe('lifecycle queries', () => {
  it('filters customers by stage, net revenue and last purchase', async () => {
    expect(idsOf(await t.gql(CustomersByLifecycleDocument, { filter: { stages: ['LOYAL', 'PROSPECT'] } }))).toEqual(new Set([ids.loyal, ids.prospect]));
    expect(idsOf(await t.gql(CustomersByLifecycleDocument, { filter: { minNetRevenue: '35' } }))).toEqual(new Set([ids.loyal, ids.refunded]));
    expect(idsOf(await t.gql(CustomersByLifecycleDocument, { filter: { minNetRevenue: '35', maxNetRevenue: '35' } }))).toEqual(new Set([ids.refunded]));
    expect(idsOf(await t.gql(CustomersByLifecycleDocument, { filter: { lastPurchaseBefore: '2023-01-07T00:00:00.000Z' } }))).toEqual(new Set([ids.single, ids.loyal]));
    expect(idsOf(await t.gql(CustomersByLifecycleDocument, { filter: { stages: ['ACTIVE'], lastPurchaseAfter: '2023-02-01T00:00:00.000Z' } }))).toEqual(new Set([ids.refunded]));
  });

  it('lists every transition in a period, oldest first, page by page', async () => {
    const seen: Array<[string, string | null, string]> = [];
    let after: string | null = null;
    for (;;) {
      const res: any = await t.gql(LifecycleTransitionsDocument, { from: '2023-01-01T00:00:00.000Z', to: '2024-01-01T00:00:00.000Z', first: 2, after });
      for (const e of res.data!.lifecycleTransitions.edges) seen.push([e.node.customerId, e.node.from, e.node.to]);
      if (!res.data!.lifecycleTransitions.pageInfo.hasNextPage) break;
      after = res.data!.lifecycleTransitions.pageInfo.endCursor;
    }
    expect(seen).toEqual([
      [ids.prospect, null, 'PROSPECT'],
      [ids.single, null, 'NEW_CUSTOMER'],
      [ids.loyal, null, 'NEW_CUSTOMER'],
      [ids.loyal, 'NEW_CUSTOMER', 'ACTIVE'],
      [ids.loyal, 'ACTIVE', 'LOYAL'],
      [ids.refunded, null, 'NEW_CUSTOMER'],
      [ids.refunded, 'NEW_CUSTOMER', 'ACTIVE'],
    ]);
    const january = await t.gql(LifecycleTransitionsDocument, { from: '2023-01-03T00:00:00.000Z', to: '2023-01-06T00:00:00.000Z', first: 100 });
    expect(january.data!.lifecycleTransitions.edges.map((e) => e.node.to)).toEqual(['NEW_CUSTOMER', 'ACTIVE']);
  });

  it('counts the flow between stages in a period', async () => {
    const res = await t.gql(LifecycleFlowDocument, { from: '2023-01-01T00:00:00.000Z', to: '2024-01-01T00:00:00.000Z' });
    expect(res.data!.lifecycleFlow).toEqual([
      // Biggest arcs first.
      { from: null, to: 'NEW_CUSTOMER', count: 3 },
      { from: 'NEW_CUSTOMER', to: 'ACTIVE', count: 2 },
      { from: null, to: 'PROSPECT', count: 1 },
      { from: 'ACTIVE', to: 'LOYAL', count: 1 },
    ]);
    const bad = await t.gql(LifecycleFlowDocument, { from: '2024-01-01T00:00:00.000Z', to: '2023-01-01T00:00:00.000Z' });
    expect(bad.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'to' });
  });
});
