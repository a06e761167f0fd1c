import { ChannelAttributionDocument, CustomerJourneysDocument, CustomerLifecycleDocument, RecordInteractionsDocument } from '../generated/graphql';
import { formatMoney, fromUnits, minorDigits, toUnits } from '../../src/modules/shared/money';
import { interaction, unique } from '../helpers/factories';
import { startTestServer, type TestServer } from '../helpers/server';

const MAX = '99999999999999.9999';

describe('money formatting', () => {
  it.each([
    ['89.9000', 'EUR', '89.90'],
    ['30.0000', 'EUR', '30.00'],
    ['30', 'GBP', '30.00'],
    ['0.0000', 'EUR', '0.00'],
    ['12.3456', 'EUR', '12.3456'],
    ['12.3400', 'EUR', '12.34'],
    ['1500.0000', 'JPY', '1500'],
    ['1500.5000', 'JPY', '1500.5'],
    ['12.3000', 'BHD', '12.300'],
    ['12.3456', 'BHD', '12.3456'],
    ['-5.0000', 'EUR', '-5.00'],
    ['299999999999999.9997', 'EUR', '299999999999999.9997'],
  ])('%s %s -> %s', (amount, currency, expected) => {
    expect(formatMoney(amount, currency)).toBe(expected);
  });

  it('knows the minor unit of a currency, and falls back to 2 for a code it cannot read', () => {
    expect([minorDigits('EUR'), minorDigits('GBP'), minorDigits('JPY'), minorDigits('BHD'), minorDigits('K1')]).toEqual([2, 2, 0, 3, 2]);
  });

  it('sums ten-thousandths exactly beyond 2^53', () => {
    const units = toUnits(MAX) * 1000n;
    expect(units > BigInt(Number.MAX_SAFE_INTEGER)).toBe(true);
    expect(fromUnits(units)).toBe('99999999999999999.9000');
    expect(fromUnits(toUnits(MAX) * 3n - toUnits('0.0001'))).toBe('299999999999999.9996');
    expect([toUnits('12.5'), toUnits('-0.0001'), toUnits(null)]).toEqual([125000n, -1n, 0n]);
  });
});

describe('amounts on the API', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(() => t.close());

  const metrics = async (id: string) => {
    const res = await t.gql(CustomerLifecycleDocument, { id });
    expect(res.errors).toBeUndefined();
    return res.data!.customer!.metrics;
  };

  it('no accepted amount can break a customer: purchases at the limit keep exact sums, and later writes work', async () => {
    const who = [{ type: 'EMAIL' as const, value: `${unique('whale')}@example.com` }];
    const at = (day: number) => new Date(Date.UTC(2016, 0, day, 12)).toISOString();
    const ids: string[] = [];
    for (const day of [1, 2, 3]) {
      const r = await t.record(interaction({ type: 'PURCHASE', amount: MAX, occurredAt: at(day), identifiers: who }));
      expect(r.status).toBe('CREATED');
      ids.push(r.customerId!);
    }
    expect(new Set(ids).size).toBe(1);
    expect(await metrics(ids[0])).toMatchObject({
      orderCount: 3,
      grossRevenue: '299999999999999.9997',
      refunds: '0.00',
      netRevenue: '299999999999999.9997',
      averageOrderValue: '100000000000000.00',
    });

    const refund = await t.record(interaction({ type: 'REFUND', amount: MAX, occurredAt: at(4), identifiers: who }));
    expect(refund.status).toBe('CREATED');
    const fourth = await t.record(interaction({ type: 'PURCHASE', amount: MAX, occurredAt: at(5), identifiers: who }));
    expect(fourth.status).toBe('CREATED');
    expect(await metrics(ids[0])).toMatchObject({
      orderCount: 4,
      grossRevenue: '399999999999999.9996',
      refunds: '99999999999999.9999',
      netRevenue: '299999999999999.9997',
    });

    // A batch of them for one person, in one statement.
    const batch = await t.gql(RecordInteractionsDocument, {
      inputs: Array.from({ length: 20 }, (_, i) => interaction({ type: 'PURCHASE', amount: MAX, occurredAt: at(10 + i), identifiers: who })),
    });
    expect(batch.data!.recordInteractions.every((r) => r.status === 'CREATED')).toBe(true);
    expect((await metrics(ids[0])).grossRevenue).toBe('2399999999999999.9976');
  });

  it('amounts come back with the decimals of their currency, never fewer, never rounded', async () => {
    const cases: Array<[string, string, string]> = [
      ['89.9', 'EUR', '89.90'],
      ['30', 'EUR', '30.00'],
      ['12.3456', 'EUR', '12.3456'],
      ['19.99', 'GBP', '19.99'],
      ['1500', 'JPY', '1500'],
      ['1500.5', 'JPY', '1500.5'],
      ['12.3', 'BHD', '12.300'],
    ];
    for (const [amount, currency, expected] of cases) {
      const r = await t.record(interaction({ type: 'PURCHASE', amount, currency }));
      expect({ amount, currency, returned: r.interaction!.amount }).toEqual({ amount, currency, returned: expected });
    }
  });

  it('metrics, journeys and channel attribution use the currency of the deployment (EUR by default)', async () => {
    const who = [{ type: 'LOYALTY_CARD' as const, value: unique('card') }];
    const at = (day: number) => new Date(Date.UTC(2015, 2, day, 12)).toISOString();
    const first = await t.record(interaction({ channel: 'STORE', type: 'PURCHASE', amount: '89.9', occurredAt: at(1), identifiers: who }));
    await t.record(interaction({ channel: 'STORE', type: 'PURCHASE', amount: '30', occurredAt: at(3), identifiers: who }));
    await t.record(interaction({ channel: 'STORE', type: 'REFUND', amount: '10', occurredAt: at(4), identifiers: who }));
    expect(await metrics(first.customerId!)).toMatchObject({
      orderCount: 2,
      grossRevenue: '119.90',
      refunds: '10.00',
      netRevenue: '109.90',
      averageOrderValue: '59.95',
    });
    const journeys = await t.gql(CustomerJourneysDocument, { id: first.customerId! });
    expect(journeys.data!.customer!.journeys.edges.map((e) => e.node.amount).sort()).toEqual(['30.00', '89.90']);
    const attribution = await t.gql(ChannelAttributionDocument, { from: at(1), to: at(10), model: 'LAST_TOUCH' });
    expect(attribution.data!.channelAttribution).toEqual([{ channel: 'STORE', conversions: 2, revenue: '119.90' }]);
  });
});

describe('a deployment in yen', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ defaultCurrency: 'JPY' });
  });
  afterAll(() => t.close());

  it('shows amounts, metrics and journeys without decimals unless they have some', async () => {
    const who = [{ type: 'EMAIL' as const, value: `${unique('taro')}@example.jp` }];
    const first = await t.record(interaction({ type: 'PURCHASE', amount: '1000', occurredAt: '2016-05-01T00:00:00.000Z', identifiers: who }));
    expect(first.interaction).toMatchObject({ amount: '1000', currency: 'JPY' });
    await t.record(interaction({ type: 'PURCHASE', amount: '500', occurredAt: '2016-05-02T00:00:00.000Z', identifiers: who }));
    const res = await t.gql(CustomerLifecycleDocument, { id: first.customerId! });
    expect(res.data!.customer!.metrics).toMatchObject({ grossRevenue: '1500', refunds: '0', netRevenue: '1500', averageOrderValue: '750' });
    const journeys = await t.gql(CustomerJourneysDocument, { id: first.customerId! });
    expect(journeys.data!.customer!.journeys.edges.map((e) => e.node.amount).sort()).toEqual(['1000', '500']);
  });
});
