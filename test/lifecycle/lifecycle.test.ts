import {
  CustomerLifecycleDocument,
  EvaluateLifecycleDocument,
  IdentifyDocument,
  RecordInteractionsDocument,
  type RecordInteractionInput,
} from '../generated/graphql';
import { interaction, unique } from '../helpers/factories';
import { startTestServer, type TestServer } from '../helpers/server';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.close());

const DAY = 24 * 3600 * 1000;
const plus = (iso: string, days: number) => new Date(Date.parse(iso) + days * DAY).toISOString();


async function lifecycleOf(id: string) {
  const res = await t.gql(CustomerLifecycleDocument, { id });
  expect(res.errors).toBeUndefined();
  return res.data!.customer!;
}

async function sweep(asOf: string) {
  const res = await t.gql(EvaluateLifecycleDocument, { asOf }, t.keys.admin);
  expect(res.errors).toBeUndefined();
  return res.data!.evaluateLifecycle;
}

describe('the lifecycle of one customer', () => {
  it('walks through every stage, one transition each, with the right rule, cause and explanation', async () => {
    const who = [{ type: 'CUSTOMER_ID' as const, value: unique('crm') }];
    const at = (iso: string) => ({ occurredAt: iso, identifiers: who });
    const view = await t.record(interaction({ type: 'PAGE_VIEW', ...at('2020-01-01T10:00:00.000Z') }));
    const id = view.customerId!;
    const p1 = await t.record(interaction({ type: 'PURCHASE', amount: '100.00', currency: 'EUR', ...at('2020-01-10T10:00:00.000Z') }));
    const p2 = await t.record(interaction({ type: 'PURCHASE', amount: '50.00', currency: 'EUR', ...at('2020-02-10T10:00:00.000Z') }));
    await t.record(interaction({ type: 'PURCHASE', amount: '30.00', currency: 'EUR', ...at('2020-03-10T10:00:00.000Z') }));
    const p4 = await t.record(interaction({ type: 'PURCHASE', amount: '20.00', currency: 'EUR', ...at('2020-04-10T10:00:00.000Z') }));
    const nps = await t.record(interaction({ type: 'SURVEY_RESPONSE', npsScore: 10, ...at('2020-04-20T10:00:00.000Z') }));
    expect((await lifecycleOf(id)).lifecycle).toMatchObject({ stage: 'AMBASSADOR', nextChangeAt: '2020-07-09T10:00:00.001Z' });

    const first = await sweep(plus('2020-04-10T10:00:00.000Z', 100));
    expect(first.examined).toBeGreaterThanOrEqual(1);
    expect(first.movedByStage.find((s) => s.stage === 'AT_RISK')!.count).toBeGreaterThanOrEqual(1);
    expect((await lifecycleOf(id)).lifecycle.stage).toBe('AT_RISK');
    await sweep(plus('2020-04-10T10:00:00.000Z', 400));
    expect((await lifecycleOf(id)).lifecycle.stage).toBe('CHURNED');
    const comeback = await t.record(interaction({ type: 'PURCHASE', amount: '80.00', currency: 'EUR', ...at('2021-06-01T10:00:00.000Z') }));
    const closed = await t.record(interaction({ type: 'ACCOUNT_CLOSED', ...at('2021-06-05T10:00:00.000Z') }));

    const customer = await lifecycleOf(id);
    const history = customer.lifecycle.history;
    expect(history.map((h) => [h.from, h.to, h.rule, h.at, h.causeInteractionId])).toEqual([
      [null, 'PROSPECT', 1, '2020-01-01T10:00:00.000Z', view.interactionId],
      ['PROSPECT', 'NEW_CUSTOMER', 8, '2020-01-10T10:00:00.000Z', p1.interactionId],
      ['NEW_CUSTOMER', 'ACTIVE', 7, '2020-02-10T10:00:00.000Z', p2.interactionId],
      ['ACTIVE', 'LOYAL', 6, '2020-04-10T10:00:00.000Z', p4.interactionId],
      ['LOYAL', 'AMBASSADOR', 5, '2020-04-20T10:00:00.000Z', nps.interactionId],
      ['AMBASSADOR', 'AT_RISK', 3, '2020-07-09T10:00:00.001Z', null],
      ['AT_RISK', 'CHURNED', 2, '2021-04-10T10:00:00.001Z', null],
      ['CHURNED', 'REACTIVATED', 4, '2021-06-01T10:00:00.000Z', comeback.interactionId],
      ['REACTIVATED', 'CHURNED', 2, '2021-06-05T10:00:00.000Z', closed.interactionId],
    ]);
    expect(history.map((h) => h.explanation)).toEqual([
      'PROSPECT since 2020-01-01: no purchase yet',
      'NEW_CUSTOMER since 2020-01-10: first purchase on 2020-01-10',
      'ACTIVE since 2020-02-10: 2 purchases, the last on 2020-02-10',
      'LOYAL since 2020-04-10: 4 purchases in the 365 days up to then (at least 4)',
      'AMBASSADOR since 2020-04-20: 4 purchases in the 365 days up to then (at least 4) and an NPS of 10 on 2020-04-20',
      'AT_RISK since 2020-07-09: last purchase 2020-04-10, more than 90 days before',
      'CHURNED since 2021-04-10: last purchase 2020-04-10, more than 365 days before',
      'REACTIVATED since 2021-06-01: purchase on 2021-06-01 after 417 days without one (more than 90)',
      'CHURNED since 2021-06-05: account closed on 2021-06-05, after the last purchase (2021-06-01)',
    ]);
    expect(history[5].facts).toMatchObject({ lastPurchaseAt: '2020-04-10T10:00:00.000Z', purchases: 4, thresholds: { atRiskAfterDays: 90 } });
    expect(customer.lifecycle).toMatchObject({ stage: 'CHURNED', since: '2021-06-05T10:00:00.000Z', nextChangeAt: null });
    expect(customer.lifecycle.explanation).toBe(history[8].explanation);
    expect(customer.metrics).toMatchObject({
      orderCount: 5,
      grossRevenue: '280.00',
      refunds: '0.00',
      netRevenue: '280.00',
      averageOrderValue: '56.00',
      firstPurchaseAt: '2020-01-10T10:00:00.000Z',
      lastPurchaseAt: '2021-06-01T10:00:00.000Z',
      lastInteractionAt: '2021-06-05T10:00:00.000Z',
      lastNpsScore: 10,
    });
  });
});

/** A year of a customer's life: purchases, a refund, a survey, page views. */
function story(who: { type: 'EMAIL'; value: string }): RecordInteractionInput[] {
  const base = '2022-01-03T09:00:00.000Z';
  return [
    interaction({ type: 'PAGE_VIEW', occurredAt: base, identifiers: [who] }),
    interaction({ type: 'PURCHASE', amount: '19.99', occurredAt: plus(base, 1), identifiers: [who] }),
    interaction({ type: 'PURCHASE', amount: '5.01', occurredAt: plus(base, 30), identifiers: [who] }),
    interaction({ type: 'REFUND', amount: '5.01', occurredAt: plus(base, 35), identifiers: [who] }),
    interaction({ type: 'PURCHASE', amount: '100.10', occurredAt: plus(base, 200), identifiers: [who] }),
    interaction({ type: 'SURVEY_RESPONSE', npsScore: 6, occurredAt: plus(base, 210), identifiers: [who] }),
    interaction({ type: 'PURCHASE', amount: '0.30', occurredAt: plus(base, 220), identifiers: [who] }),
    interaction({ type: 'PURCHASE', amount: '7.77', occurredAt: plus(base, 230), identifiers: [who] }),
    interaction({ type: 'REFERRAL', occurredAt: plus(base, 240), identifiers: [who] }),
  ];
}

describe('order independence and merges', () => {
  it('the same interactions sent in reverse order end in the same stage, history and metrics', async () => {
    const a = { type: 'EMAIL' as const, value: `${unique('fwd')}@example.com` };
    const b = { type: 'EMAIL' as const, value: `${unique('rev')}@example.com` };
    const forward: string[] = [];
    for (const input of story(a)) forward.push((await t.record(input)).customerId!);
    const backward: string[] = [];
    for (const input of story(b).reverse()) backward.push((await t.record(input)).customerId!);
    const [x, y] = [await lifecycleOf(forward[0]), await lifecycleOf(backward[0])];
    const shape = (c: typeof x) => ({
      metrics: c.metrics,
      stage: c.lifecycle.stage,
      since: c.lifecycle.since,
      next: c.lifecycle.nextChangeAt,
      history: c.lifecycle.history.map((h) => [h.from, h.to, h.at, h.rule]),
    });
    expect(shape(y)).toEqual(shape(x));
    expect(x.lifecycle.stage).toBe('AMBASSADOR');
    expect(x.metrics).toMatchObject({ orderCount: 5, grossRevenue: '133.17', refunds: '5.01', netRevenue: '128.16', lastNpsScore: 6 });
  });

  it('a merge recomputes metrics and stage from the union of interactions and records the transition', async () => {
    const [ea, eb] = [`${unique('ma')}@example.com`, `${unique('mb')}@example.com`];
    const base = '2023-03-01T12:00:00.000Z';
    const res = await t.gql(RecordInteractionsDocument, {
      inputs: [
        interaction({ type: 'PURCHASE', amount: '10', occurredAt: base, identifiers: [{ type: 'EMAIL', value: ea }] }),
        interaction({ type: 'PURCHASE', amount: '20', occurredAt: plus(base, 10), identifiers: [{ type: 'EMAIL', value: ea }] }),
        interaction({ type: 'PURCHASE', amount: '30', occurredAt: plus(base, 20), identifiers: [{ type: 'EMAIL', value: eb }] }),
        interaction({ type: 'PURCHASE', amount: '40', occurredAt: plus(base, 30), identifiers: [{ type: 'EMAIL', value: eb }] }),
      ],
    });
    const [a, , b] = res.data!.recordInteractions;
    expect((await lifecycleOf(a.customerId!)).lifecycle.stage).toBe('ACTIVE');
    expect((await lifecycleOf(b.customerId!)).lifecycle.stage).toBe('ACTIVE');

    const merged = await t.gql(IdentifyDocument, { identifiers: [{ type: 'EMAIL', value: ea }, { type: 'EMAIL', value: eb }] });
    expect(merged.data!.identify.mergedCustomerIds).toEqual([b.customerId]);
    const survivor = await lifecycleOf(a.customerId!);
    expect(survivor.metrics).toMatchObject({ orderCount: 4, grossRevenue: '100.00', netRevenue: '100.00', averageOrderValue: '25.00' });
    expect(survivor.lifecycle.stage).toBe('LOYAL');
    expect(survivor.lifecycle.history.map((h) => [h.to, h.at])).toEqual([
      ['NEW_CUSTOMER', base],
      ['ACTIVE', plus(base, 10)],
      ['LOYAL', plus(base, 30)],
    ]);
    expect(survivor.lifecycle.explanation).toBe(`LOYAL since ${plus(base, 30).slice(0, 10)}: 4 purchases in the 365 days up to then (at least 4)`);
  });
});

describe('the sweep', () => {
  it('re-evaluating customers whose stage does not change keeps their history as it is', async () => {
    // The customers of the tests above are dated years back: made due now, they would move.
    await t.sql(`TRUNCATE customer, identifier, interaction, merge, identity_conflict, lifecycle_transition`);
    const recent = new Date(Date.now() - 5 * DAY).toISOString();
    await t.gql(RecordInteractionsDocument, {
      inputs: Array.from({ length: 20 }, () => interaction({ type: 'PURCHASE', amount: '1', occurredAt: recent, identifiers: [{ type: 'CUSTOMER_ID', value: unique('same') }] })),
    });
    const before = await t.sql(`SELECT id, to_stage, at FROM lifecycle_transition ORDER BY id`);
    const [{ due }] = await t.sql(
      `WITH u AS (UPDATE customer SET next_evaluation_at = '-infinity' WHERE stage = 'NEW_CUSTOMER' RETURNING id) SELECT count(*)::int AS due FROM u`,
    );
    expect(due).toBeGreaterThanOrEqual(20);
    const result = await sweep(new Date().toISOString());
    expect(result).toMatchObject({ examined: due, moved: 0 });
    expect(await t.sql(`SELECT id, to_stage, at FROM lifecycle_transition ORDER BY id`)).toEqual(before);
    const [{ n }] = await t.sql(`SELECT count(*)::int AS n FROM customer WHERE next_evaluation_at = '-infinity'`);
    expect(n).toBe(0);
  });

  it('needs the admin scope, refuses a date far in the future, and does nothing as of a date before the data', async () => {
    for (const key of [t.keys.readWrite, t.keys.write]) {
      const res = await t.gql(EvaluateLifecycleDocument, {}, key);
      expect(res.errors![0].extensions!.code).toBe('FORBIDDEN');
    }
    const future = await t.gql(EvaluateLifecycleDocument, { asOf: '2999-01-01T00:00:00.000Z' }, t.keys.admin);
    expect(future.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'asOf' });
    const before = await t.sql(`SELECT stage, count(*)::int AS n FROM customer GROUP BY stage ORDER BY stage`);
    const past = await sweep('1999-01-01T00:00:00.000Z');
    expect(past).toMatchObject({ examined: 0, moved: 0 });
    expect(await t.sql(`SELECT stage, count(*)::int AS n FROM customer GROUP BY stage ORDER BY stage`)).toEqual(before);
  });
});
