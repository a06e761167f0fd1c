import {
  AbandonedJourneysDocument,
  CustomerJourneysDocument,
  EvaluateLifecycleDocument,
  JourneyDocument,
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
const at = (base: string, hours: number) => new Date(Date.parse(base) + hours * 3600 * 1000).toISOString();

/** Ad click on social, product views on web and app, store visit, cart on the app, checkout, purchase in store, review. */
function omnichannel(who: { type: 'EMAIL'; value: string }, base: string): RecordInteractionInput[] {
  const ids = [who];
  return [
    interaction({ channel: 'SOCIAL', type: 'CAMPAIGN_RESPONSE', occurredAt: at(base, 0), identifiers: ids }),
    interaction({ channel: 'WEB', type: 'PRODUCT_VIEW', occurredAt: at(base, 2), identifiers: ids }),
    interaction({ channel: 'APP', type: 'PRODUCT_VIEW', occurredAt: at(base, 30), identifiers: ids }),
    interaction({ channel: 'STORE', type: 'STORE_VISIT', occurredAt: at(base, 72), identifiers: ids }),
    interaction({ channel: 'APP', type: 'ADD_TO_CART', occurredAt: at(base, 80), identifiers: ids }),
    interaction({ channel: 'APP', type: 'CHECKOUT_STARTED', occurredAt: at(base, 81), identifiers: ids }),
    interaction({ channel: 'STORE', type: 'PURCHASE', amount: '249.90', occurredAt: at(base, 96), identifiers: ids }),
    interaction({ channel: 'WEB', type: 'REVIEW', occurredAt: at(base, 240), identifiers: ids }),
  ];
}

async function send(inputs: RecordInteractionInput[]) {
  const res = await t.gql(RecordInteractionsDocument, { inputs });
  expect(res.data!.recordInteractions.every((r) => r.status === 'CREATED')).toBe(true);
  return res.data!.recordInteractions;
}

async function journeysOf(id: string) {
  const res = await t.gql(CustomerJourneysDocument, { id });
  expect(res.errors).toBeUndefined();
  return res.data!.customer!.journeys.edges.map((e) => e.node);
}

function shuffle<T>(items: T[]): T[] {
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

describe('purchase journeys', () => {
  it('an omnichannel path is one CONVERTED journey, DISCOVERY to DECISION, with its channels, first and last touch, and the review after the purchase', async () => {
    const inputs = omnichannel({ type: 'EMAIL', value: `${unique('j')}@example.com` }, '2024-03-01T09:00:00.000Z');
    const results = [];
    for (const input of inputs) results.push(...(await send([input])));
    const journeys = await journeysOf(results[0].customerId!);
    expect(journeys).toHaveLength(1);
    const [j] = journeys;
    expect(j).toMatchObject({
      id: results[0].interactionId,
      status: 'CONVERTED',
      steps: ['DISCOVERY', 'CONSIDERATION', 'EVALUATION', 'DECISION'],
      furthestStep: 'DECISION',
      channels: ['APP', 'SOCIAL', 'STORE', 'WEB'],
      firstTouchChannel: 'SOCIAL',
      lastTouchChannel: 'STORE',
      touchpoints: 8,
      startedAt: '2024-03-01T09:00:00.000Z',
      endedAt: at('2024-03-01T09:00:00.000Z', 96),
      durationSeconds: 96 * 3600,
      purchaseInteractionId: results[6].interactionId,
      amount: '249.90',
    });
    expect(j.interactions.map((i) => [i.type, i.step])).toEqual([
      ['CAMPAIGN_RESPONSE', 'DISCOVERY'],
      ['PRODUCT_VIEW', 'CONSIDERATION'],
      ['PRODUCT_VIEW', 'CONSIDERATION'],
      ['STORE_VISIT', 'CONSIDERATION'],
      ['ADD_TO_CART', 'EVALUATION'],
      ['CHECKOUT_STARTED', 'EVALUATION'],
      ['PURCHASE', 'DECISION'],
      ['REVIEW', null],
    ]);
    const byId = await t.gql(JourneyDocument, { id: j.id });
    expect(byId.data!.journey).toEqual(j);
  });

  it('a path that reaches EVALUATION and goes quiet is ABANDONED once the sweep passes 30 days, and listed as such', async () => {
    const who = [{ type: 'EMAIL' as const, value: `${unique('cart')}@example.com` }];
    const base = new Date(Date.now() - 40 * DAY).toISOString();
    const results = await send([
      interaction({ channel: 'WEB', type: 'PAGE_VIEW', occurredAt: at(base, 0), identifiers: who }),
      interaction({ channel: 'WEB', type: 'ADD_TO_CART', occurredAt: at(base, 1), identifiers: who }),
    ]);
    const id = results[0].customerId!;
    expect((await journeysOf(id)).map((j) => j.status)).toEqual(['OPEN']);

    const sweep = await t.gql(EvaluateLifecycleDocument, { asOf: new Date().toISOString() }, t.keys.admin);
    expect(sweep.data!.evaluateLifecycle.examined).toBeGreaterThanOrEqual(1);
    const [j] = await journeysOf(id);
    expect(j).toMatchObject({ status: 'ABANDONED', furthestStep: 'EVALUATION', endedAt: new Date(Date.parse(at(base, 1)) + 30 * DAY).toISOString() });

    const listed = await t.gql(AbandonedJourneysDocument, { since: base });
    expect(listed.data!.abandonedJourneys.edges.map((e) => e.node)).toContainEqual(
      expect.objectContaining({ id: j.id, customerId: id, furthestStep: 'EVALUATION', lastTouchChannel: 'WEB', lastTouchAt: at(base, 1) }),
    );
    const considered = await t.gql(AbandonedJourneysDocument, { since: base, minStep: 'DECISION' });
    expect(considered.data!.abandonedJourneys.edges.map((e) => e.node.id)).not.toContain(j.id);
  });

  it('the same interactions in random order give identical journeys', async () => {
    const base = '2024-05-01T08:00:00.000Z';
    const story = (who: { type: 'EMAIL'; value: string }) => [
      ...omnichannel(who, base),
      // A second journey, abandoned, then a third one converted on the web.
      interaction({ channel: 'WEB', type: 'SEARCH', occurredAt: at(base, 24 * 20), identifiers: [who] }),
      interaction({ channel: 'WEB', type: 'ADD_TO_CART', occurredAt: at(base, 24 * 21), identifiers: [who] }),
      interaction({ channel: 'EMAIL', type: 'EMAIL_CLICK', occurredAt: at(base, 24 * 60), identifiers: [who] }),
      interaction({ channel: 'WEB', type: 'PURCHASE', amount: '12', occurredAt: at(base, 24 * 61), identifiers: [who] }),
      interaction({ channel: 'PHONE', type: 'SUPPORT_TICKET', occurredAt: at(base, 24 * 62), identifiers: [who] }),
    ];
    const inOrder = await send(story({ type: 'EMAIL', value: `${unique('order')}@example.com` }));
    const shuffledInputs = shuffle(story({ type: 'EMAIL', value: `${unique('shuffled')}@example.com` }));
    let shuffledCustomer = '';
    for (let i = 0; i < shuffledInputs.length; i += 3) shuffledCustomer = (await send(shuffledInputs.slice(i, i + 3)))[0].customerId!;

    const shape = (journeys: Awaited<ReturnType<typeof journeysOf>>) =>
      journeys.map(({ id: _id, customerId: _c, purchaseInteractionId: _p, interactions, ...rest }) => ({
        ...rest,
        interactions: interactions.map((i) => [i.type, i.channel, i.occurredAt, i.step]),
      }));
    const a = shape(await journeysOf(inOrder[0].customerId!));
    const b = shape(await journeysOf(shuffledCustomer));
    expect(a.map((j) => j.status)).toEqual(['CONVERTED', 'ABANDONED', 'CONVERTED']);
    expect(b).toEqual(a);
  });
});
