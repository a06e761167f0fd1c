import { ChannelAttributionDocument, JourneyFunnelDocument, MultichannelImpactDocument, RecordInteractionsDocument, type RecordInteractionInput } from '../generated/graphql';
import { interaction, unique } from '../helpers/factories';
import { startTestServer, type TestServer } from '../helpers/server';

let t: TestServer;
const CHANNELS = ['WEB', 'APP', 'STORE', 'PHONE', 'EMAIL', 'SOCIAL'] as const;
const STEPS = [
  ['PAGE_VIEW', 'SEARCH', 'EMAIL_CLICK', 'CAMPAIGN_RESPONSE'],
  ['PRODUCT_VIEW', 'STORE_VISIT', 'CALL', 'CHAT'],
  ['ADD_TO_CART', 'CHECKOUT_STARTED'],
] as const;
const BASE = Date.parse('2024-06-01T00:00:00.000Z');

/** Deterministic pseudo-random numbers, so that a failure can be replayed. */
function rng(seed: number) {
  let s = seed;
  return () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
}

interface Person {
  channels: Set<string>;
  furthest: number; // 0..3 (3 = purchase)
  first: string;
  last: string;
  amountCents: number | null;
}

const people: Person[] = [];

beforeAll(async () => {
  t = await startTestServer();
  const random = rng(42);
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)];
  const inputs: RecordInteractionInput[] = [];
  for (let c = 0; c < 240; c++) {
    const who = [{ type: 'CUSTOMER_ID' as const, value: unique(`gen${c}`) }];
    const touches = 1 + Math.floor(random() * 5);
    const person: Person = { channels: new Set(), furthest: 0, first: '', last: '', amountCents: null };
    let time = BASE + c * 60_000;
    for (let i = 0; i < touches; i++) {
      const level = Math.floor(random() * 3);
      const channel = pick(CHANNELS);
      if (i === 0) person.first = channel;
      person.last = channel;
      person.channels.add(channel);
      person.furthest = Math.max(person.furthest, level);
      inputs.push(interaction({ type: pick(STEPS[level]), channel, occurredAt: new Date((time += 600_000)).toISOString(), identifiers: who }));
    }
    if (random() < 0.45) {
      const channel = pick(CHANNELS);
      person.channels.add(channel);
      person.last = channel;
      person.furthest = 3;
      person.amountCents = 100 + Math.floor(random() * 20000);
      inputs.push(
        interaction({ type: 'PURCHASE', channel, amount: (person.amountCents / 100).toFixed(2), occurredAt: new Date((time += 600_000)).toISOString(), identifiers: who }),
      );
    }
    people.push(person);
  }
  for (let i = 0; i < inputs.length; i += 500) {
    const res = await t.gql(RecordInteractionsDocument, { inputs: inputs.slice(i, i + 500) });
    expect(res.data!.recordInteractions.every((r) => r.status === 'CREATED')).toBe(true);
  }
});
afterAll(() => t.close());

const period = { from: new Date(BASE).toISOString(), to: new Date(BASE + 10 * 24 * 3600 * 1000).toISOString() };
// Amounts come back with the currency's two decimals (EUR).
const money = (cents: number) => (cents / 100).toFixed(2);

describe('journey analytics on 240 generated customers', () => {
  it('journeyFunnel counts the journeys reaching each step, and converts', async () => {
    const res = await t.gql(JourneyFunnelDocument, period);
    const funnel = res.data!.journeyFunnel;
    const reached = [0, 1, 2, 3].map((level) => people.filter((p) => p.furthest >= level).length);
    expect(funnel.started).toBe(240);
    expect(funnel.steps.map((s) => [s.step, s.reached])).toEqual([
      ['DISCOVERY', reached[0]],
      ['CONSIDERATION', reached[1]],
      ['EVALUATION', reached[2]],
      ['DECISION', reached[3]],
    ]);
    expect(funnel.steps[2].fromPrevious).toBeCloseTo(reached[2] / reached[1], 10);
    expect(funnel.steps[3].fromStart).toBeCloseTo(reached[3] / 240, 10);
    expect(funnel.converted).toBe(reached[3]);
    expect(funnel.conversionRate).toBeCloseTo(reached[3] / 240, 10);

    const web = await t.gql(JourneyFunnelDocument, { ...period, channel: 'WEB' });
    expect(web.data!.journeyFunnel.started).toBe(people.filter((p) => p.channels.has('WEB')).length);
    expect(web.data!.journeyFunnel.converted).toBe(people.filter((p) => p.channels.has('WEB') && p.furthest === 3).length);
  });

  it('channelAttribution gives conversions and revenue to the first or the last touch', async () => {
    for (const model of ['FIRST_TOUCH', 'LAST_TOUCH'] as const) {
      const expected = new Map<string, { conversions: number; cents: number }>();
      for (const p of people.filter((x) => x.amountCents !== null)) {
        const channel = model === 'FIRST_TOUCH' ? p.first : p.last;
        const e = expected.get(channel) ?? { conversions: 0, cents: 0 };
        e.conversions++;
        e.cents += p.amountCents!;
        expected.set(channel, e);
      }
      const res = await t.gql(ChannelAttributionDocument, { ...period, model });
      const actual = Object.fromEntries(res.data!.channelAttribution.map((a) => [a.channel, { conversions: a.conversions, revenue: a.revenue }]));
      expect(actual).toEqual(Object.fromEntries([...expected].map(([channel, e]) => [channel, { conversions: e.conversions, revenue: money(e.cents) }])));
    }
  });

  it('multichannelImpact groups customers by channels used, with the share of each stage', async () => {
    const expected = ['1', '2', '3', '4+'].map((bucket) => {
      const group = people.filter((p) => (p.channels.size >= 4 ? '4+' : String(p.channels.size)) === bucket);
      const buyers = group.filter((p) => p.amountCents !== null).length;
      return { channels: bucket, customers: group.length, buyers };
    });
    for (const asOf of [null, new Date(BASE + 10 * 24 * 3600 * 1000).toISOString()]) {
      const res = await t.gql(MultichannelImpactDocument, { asOf });
      const groups = res.data!.multichannelImpact;
      expect(groups.map((g) => [g.channels, g.customers])).toEqual(expected.map((e) => [e.channels, e.customers]));
      for (const [i, g] of groups.entries()) {
        const count = (stage: string) => g.stages.find((s) => s.stage === stage)!.customers;
        expect(count('NEW_CUSTOMER')).toBe(expected[i].buyers);
        expect(count('PROSPECT')).toBe(expected[i].customers - expected[i].buyers);
        if (g.customers) expect(g.stages.reduce((a, s) => a + s.share, 0)).toBeCloseTo(1, 10);
      }
    }
  });
});
