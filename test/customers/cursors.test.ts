import { randomBytes, randomUUID } from 'node:crypto';

import {
  AbandonedJourneysAfterDocument,
  CustomerInteractionsDocument,
  CustomerJourneysAfterDocument,
  CustomersPageDocument,
  LifecycleTransitionsDocument,
} from '../generated/graphql';
import { interaction, unique } from '../helpers/factories';
import { startTestServer, type GraphQLResponse, type TestServer } from '../helpers/server';

let t: TestServer;
let customerId: string;
beforeAll(async () => {
  t = await startTestServer();
  // Two journeys (one abandoned, one converted), a few interactions, lifecycle transitions.
  const who = [{ type: 'EMAIL' as const, value: `${unique('pager')}@example.com` }];
  const r = await t.record(interaction({ type: 'PRODUCT_VIEW', occurredAt: '2020-01-01T10:00:00.000Z', identifiers: who }));
  customerId = r.customerId!;
  await t.record(interaction({ type: 'ADD_TO_CART', occurredAt: '2020-01-02T10:00:00.000Z', identifiers: who }));
  await t.record(interaction({ type: 'PRODUCT_VIEW', occurredAt: '2020-03-01T10:00:00.000Z', identifiers: who }));
  await t.record(interaction({ type: 'PURCHASE', amount: '10', occurredAt: '2020-03-02T10:00:00.000Z', identifiers: who }));
  await t.record(interaction({ type: 'PURCHASE', amount: '10', occurredAt: '2020-03-05T10:00:00.000Z', identifiers: who }));
  await t.record(interaction());
});
afterAll(() => t.close());

const cursorOf = (pair: unknown) => Buffer.from(JSON.stringify(pair)).toString('base64url');

const FORGED: Array<[string, string]> = [
  ['random base64url', randomBytes(48).toString('base64url')],
  ['a pair whose id is not a UUID', cursorOf(['2024-01-01T00:00:00.000000Z', 'not-a-uuid'])],
  ['a pair whose id is SQL', cursorOf(['2024-01-01T00:00:00.000000Z', "' OR 1=1 --"])],
  ['the year 99999', cursorOf(['99999-01-01T00:00:00.000000Z', randomUUID()])],
  ['a date JavaScript reads but PostgreSQL refuses', cursorOf(['+275760-09-13T00:00:00.000Z', randomUUID()])],
  ['30 February', cursorOf(['2024-02-30T00:00:00.000000Z', randomUUID()])],
  ['a date in another format', cursorOf(['Mon, 01 Jan 2024 00:00:00 GMT', randomUUID()])],
  ['the year 0', cursorOf(['0000-01-01T00:00:00.000000Z', randomUUID()])],
  ['a triple', cursorOf(['2024-01-01T00:00:00.000000Z', randomUUID(), 'x'])],
  ['an object', cursorOf({ at: '2024-01-01T00:00:00.000000Z', id: randomUUID() })],
  ['padded base64', `${cursorOf(['2024-01-01T00:00:00.000000Z', randomUUID()])}==`],
  ['plain garbage', '!!! not a cursor !!!'],
  ['a very long one', 'A'.repeat(100_000)],
];

function expectBadAfter(res: GraphQLResponse<unknown>, what: string): void {
  expect({ what, status: res.status < 500, error: res.errors?.[0]?.extensions }).toEqual({
    what,
    status: true,
    error: expect.objectContaining({ code: 'BAD_USER_INPUT', field: 'after' }),
  });
}

describe('forged cursors are input errors on `after`, on every paged field', () => {
  const fields: Array<[string, (after: string | null) => Promise<GraphQLResponse<any>>, (data: any) => { endCursor?: string | null; count: number }]> = [
    ['customers', (after) => t.gql(CustomersPageDocument, { first: 1, after }), (d) => ({ endCursor: d.customers.pageInfo.endCursor, count: d.customers.edges.length })],
    [
      'Customer.interactions',
      (after) => t.gql(CustomerInteractionsDocument, { id: customerId, first: 1, after }),
      (d) => ({ endCursor: d.customer.interactions.pageInfo.endCursor, count: d.customer.interactions.edges.length }),
    ],
    [
      'Customer.journeys',
      (after) => t.gql(CustomerJourneysAfterDocument, { id: customerId, first: 1, after }),
      (d) => ({ endCursor: d.customer.journeys.pageInfo.endCursor, count: d.customer.journeys.edges.length }),
    ],
    [
      'abandonedJourneys',
      (after) => t.gql(AbandonedJourneysAfterDocument, { since: '2019-01-01T00:00:00.000Z', first: 1, after }),
      (d) => ({ endCursor: d.abandonedJourneys.pageInfo.endCursor, count: d.abandonedJourneys.edges.length }),
    ],
    [
      'lifecycleTransitions',
      (after) => t.gql(LifecycleTransitionsDocument, { first: 1, after }),
      (d) => ({ endCursor: d.lifecycleTransitions.pageInfo.endCursor, count: d.lifecycleTransitions.edges.length }),
    ],
  ];

  it.each(fields)('%s', async (_name, page, read) => {
    // The cursors the API writes still work.
    const first = await page(null);
    expect(first.errors).toBeUndefined();
    const { endCursor, count } = read(first.data);
    expect(count).toBe(1);
    const next = await page(endCursor!);
    expect(next.errors).toBeUndefined();

    for (const [what, cursor] of FORGED) expectBadAfter(await page(cursor), what);
  });
});
