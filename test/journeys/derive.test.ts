import { deriveJourneys, type JourneyTouch } from '../../src/modules/journeys/derive';
import { JourneyService } from '../../src/modules/journeys/journey.service';

const HOUR = 3600 * 1000;
const DAY = 24 * HOUR;
const ABANDON = 30 * DAY;
const T0 = Date.parse('2024-03-01T09:00:00.000Z');

/** A touch `hours` after T0; ids follow the order of the story so that ties sort as written. */
const touch = (id: string, type: string, channel: string, hours: number, amount: string | null = null): JourneyTouch => ({
  interactionId: id,
  type,
  channel,
  at: T0 + hours * HOUR,
  amount,
});

/** Ad click on social, product views on web and app, store visit, cart and checkout on the app, purchase in store, review on the web. */
const omnichannel: JourneyTouch[] = [
  touch('a1', 'CAMPAIGN_RESPONSE', 'SOCIAL', 0),
  touch('a2', 'PRODUCT_VIEW', 'WEB', 2),
  touch('a3', 'PRODUCT_VIEW', 'APP', 30),
  touch('a4', 'STORE_VISIT', 'STORE', 72),
  touch('a5', 'ADD_TO_CART', 'APP', 80),
  touch('a6', 'CHECKOUT_STARTED', 'APP', 81),
  touch('a7', 'PURCHASE', 'STORE', 96, '249.90'),
  touch('a8', 'REVIEW', 'WEB', 240),
];

const shape = (touches: JourneyTouch[], until: number) =>
  deriveJourneys(touches, ABANDON, until).journeys.map((j) => ({
    id: j.id,
    status: j.status,
    startedAt: j.startedAt,
    endedAt: j.endedAt,
    ids: j.interactionIds,
  }));

describe('deriveJourneys', () => {
  it('one CONVERTED journey, DISCOVERY to DECISION, with its channels, first and last touch and the review after the purchase', () => {
    const { journeys, journeyOf, nextAbandonAt } = deriveJourneys(omnichannel, ABANDON, T0 + 300 * HOUR);
    expect(journeys).toHaveLength(1);
    expect(journeys[0]).toMatchObject({
      id: 'a1',
      status: 'CONVERTED',
      startedAt: T0,
      endedAt: T0 + 96 * HOUR,
      lastTouchAt: T0 + 96 * HOUR,
      steps: ['DISCOVERY', 'CONSIDERATION', 'EVALUATION', 'DECISION'],
      furthestStep: 'DECISION',
      channels: ['APP', 'SOCIAL', 'STORE', 'WEB'],
      firstChannel: 'SOCIAL',
      lastChannel: 'STORE',
      touchpoints: 8,
      purchaseInteractionId: 'a7',
      amount: '249.90',
      interactionIds: ['a1', 'a2', 'a3', 'a4', 'a5', 'a6', 'a7', 'a8'],
    });
    expect([...journeyOf.values()]).toEqual(Array(8).fill('a1'));
    expect(nextAbandonAt).toBeNull();
  });

  it('a journey is OPEN until 30 days after its last touch, then ABANDONED at that instant', () => {
    const touches = [touch('b1', 'PAGE_VIEW', 'WEB', 0), touch('b2', 'ADD_TO_CART', 'WEB', 1)];
    const abandonAt = T0 + HOUR + ABANDON;

    const open = deriveJourneys(touches, ABANDON, abandonAt - 1);
    expect(open.journeys.map((j) => [j.status, j.endedAt, j.furthestStep])).toEqual([['OPEN', null, 'EVALUATION']]);
    expect(open.nextAbandonAt).toBe(abandonAt);

    const abandoned = deriveJourneys(touches, ABANDON, abandonAt);
    expect(abandoned.journeys.map((j) => [j.status, j.endedAt, j.furthestStep, j.lastChannel, j.lastTouchAt])).toEqual([
      ['ABANDONED', abandonAt, 'EVALUATION', 'WEB', T0 + HOUR],
    ]);
    expect(abandoned.nextAbandonAt).toBeNull();
  });

  it('a step exactly 30 days after the last touch continues the journey; one millisecond later opens a new one', () => {
    const until = T0 + 100 * DAY;
    expect(shape([touch('c1', 'PAGE_VIEW', 'WEB', 0), touch('c2', 'PURCHASE', 'WEB', 30 * 24, '5')], until)).toEqual([
      { id: 'c1', status: 'CONVERTED', startedAt: T0, endedAt: T0 + ABANDON, ids: ['c1', 'c2'] },
    ]);
    expect(shape([touch('c1', 'PAGE_VIEW', 'WEB', 0), { ...touch('c2', 'PURCHASE', 'WEB', 30 * 24, '5'), at: T0 + ABANDON + 1 }], until)).toEqual([
      { id: 'c1', status: 'ABANDONED', startedAt: T0, endedAt: T0 + ABANDON, ids: ['c1'] },
      { id: 'c2', status: 'CONVERTED', startedAt: T0 + ABANDON + 1, endedAt: T0 + ABANDON + 1, ids: ['c2'] },
    ]);
  });

  it('a PURCHASE alone is a journey of one DECISION step', () => {
    const { journeys } = deriveJourneys([touch('d1', 'PURCHASE', 'STORE', 0, '12.00')], ABANDON, T0);
    expect(journeys[0]).toMatchObject({ id: 'd1', status: 'CONVERTED', steps: ['DECISION'], furthestStep: 'DECISION', touchpoints: 1, amount: '12.00' });
  });

  it('the furthest step is the latest in step order, not the last touched; steps are listed in step order', () => {
    const { journeys } = deriveJourneys([touch('e1', 'ADD_TO_CART', 'APP', 0), touch('e2', 'PRODUCT_VIEW', 'WEB', 1), touch('e3', 'SEARCH', 'WEB', 2)], ABANDON, T0 + 3 * HOUR);
    expect(journeys[0]).toMatchObject({ furthestStep: 'EVALUATION', steps: ['DISCOVERY', 'CONSIDERATION', 'EVALUATION'], firstChannel: 'APP', lastChannel: 'WEB', channels: ['APP', 'WEB'] });
  });

  it('SURVEY_RESPONSE, REVIEW, SUPPORT_TICKET and REFUND after a purchase belong to the converted journey they follow, without moving it', () => {
    const touches = [
      touch('f1', 'PRODUCT_VIEW', 'WEB', 0),
      touch('f2', 'PURCHASE', 'WEB', 1, '40'),
      touch('f3', 'SURVEY_RESPONSE', 'EMAIL', 24),
      touch('f4', 'REVIEW', 'WEB', 48),
      // A new journey opens; a refund of the first purchase still goes to the first journey.
      touch('f5', 'SEARCH', 'APP', 72),
      touch('f6', 'REFUND', 'STORE', 80),
      touch('f7', 'SUPPORT_TICKET', 'PHONE', 24 * 60),
    ];
    const { journeys, journeyOf } = deriveJourneys(touches, ABANDON, T0 + 100 * DAY);
    expect(journeys.map((j) => [j.id, j.status, j.interactionIds, j.touchpoints, j.lastTouchAt, j.endedAt, j.channels, j.lastChannel])).toEqual([
      ['f1', 'CONVERTED', ['f1', 'f2', 'f3', 'f4', 'f6', 'f7'], 6, T0 + HOUR, T0 + HOUR, ['WEB'], 'WEB'],
      ['f5', 'ABANDONED', ['f5'], 1, T0 + 72 * HOUR, T0 + 72 * HOUR + ABANDON, ['APP'], 'APP'],
    ]);
    expect(Object.fromEntries(journeyOf)).toEqual({ f1: 'f1', f2: 'f1', f3: 'f1', f4: 'f1', f5: 'f5', f6: 'f1', f7: 'f1' });
  });

  it('follow-ups belong to the latest converted journey', () => {
    const touches = [
      touch('g1', 'PURCHASE', 'WEB', 0, '1'),
      touch('g2', 'PURCHASE', 'APP', 10, '2'),
      touch('g3', 'REVIEW', 'WEB', 20),
    ];
    expect(shape(touches, T0 + DAY).map((j) => [j.id, j.ids])).toEqual([
      ['g1', ['g1']],
      ['g2', ['g2', 'g3']],
    ]);
  });

  it('interactions without a step, and follow-ups before any purchase, go to the open journey without keeping it alive, or to none', () => {
    const touches = [
      touch('h1', 'REFERRAL', 'WEB', 0),
      touch('h2', 'SURVEY_RESPONSE', 'EMAIL', 1),
      touch('h3', 'PAGE_VIEW', 'WEB', 2),
      touch('h4', 'REFERRAL', 'WEB', 3),
      touch('h5', 'REVIEW', 'WEB', 4),
      touch('h6', 'CUSTOM', 'APP', 24 * 20),
    ];
    const { journeys, journeyOf } = deriveJourneys(touches, ABANDON, T0 + 40 * DAY);
    expect(journeys.map((j) => [j.id, j.status, j.interactionIds, j.touchpoints, j.lastTouchAt, j.endedAt, j.channels])).toEqual([
      ['h3', 'ABANDONED', ['h3', 'h4', 'h5', 'h6'], 4, T0 + 2 * HOUR, T0 + 2 * HOUR + ABANDON, ['WEB']],
    ]);
    expect(journeyOf.has('h1')).toBe(false);
    expect(journeyOf.has('h2')).toBe(false);
  });

  it('no step interaction, no journey', () => {
    expect(deriveJourneys([touch('k1', 'REFERRAL', 'WEB', 0), touch('k2', 'SUPPORT_TICKET', 'PHONE', 1)], ABANDON, T0 + DAY)).toEqual({
      journeys: [],
      journeyOf: new Map(),
      nextAbandonAt: null,
    });
  });

  it('three journeys: converted, abandoned after 30 quiet days, converted again', () => {
    const touches = [
      ...omnichannel,
      touch('m1', 'SEARCH', 'WEB', 24 * 20),
      touch('m2', 'ADD_TO_CART', 'WEB', 24 * 21),
      touch('m3', 'EMAIL_CLICK', 'EMAIL', 24 * 60),
      touch('m4', 'PURCHASE', 'WEB', 24 * 61, '12'),
      touch('m5', 'SUPPORT_TICKET', 'PHONE', 24 * 62),
    ];
    expect(shape(touches, T0 + 100 * DAY)).toEqual([
      { id: 'a1', status: 'CONVERTED', startedAt: T0, endedAt: T0 + 96 * HOUR, ids: ['a1', 'a2', 'a3', 'a4', 'a5', 'a6', 'a7', 'a8'] },
      { id: 'm1', status: 'ABANDONED', startedAt: T0 + 20 * DAY, endedAt: T0 + 21 * DAY + ABANDON, ids: ['m1', 'm2'] },
      { id: 'm3', status: 'CONVERTED', startedAt: T0 + 60 * DAY, endedAt: T0 + 61 * DAY, ids: ['m3', 'm4', 'm5'] },
    ]);
  });

  it('the signature changes with the journey and only with it', () => {
    const until = T0 + 300 * HOUR;
    const [a] = deriveJourneys(omnichannel, ABANDON, until).journeys;
    const [b] = deriveJourneys(omnichannel, ABANDON, until + DAY).journeys;
    const [c] = deriveJourneys(omnichannel.slice(0, 7), ABANDON, until).journeys;
    expect(b.signature).toBe(a.signature);
    expect(c.signature).not.toBe(a.signature);
  });
});

describe('out-of-order input', () => {
  const story = [
    ...omnichannel,
    touch('m1', 'SEARCH', 'WEB', 24 * 20),
    touch('m2', 'ADD_TO_CART', 'WEB', 24 * 21),
    touch('m3', 'EMAIL_CLICK', 'EMAIL', 24 * 60),
    touch('m4', 'PURCHASE', 'WEB', 24 * 61, '12'),
    touch('m5', 'SUPPORT_TICKET', 'PHONE', 24 * 62),
    // Same instant as m5: ties are broken by id.
    touch('m6', 'REVIEW', 'WEB', 24 * 62),
  ];
  const until = T0 + 100 * DAY;
  const service = new JourneyService(30);
  const computed = (touches: JourneyTouch[]) => service.compute('c1', { touches: [], stored: new Map() }, touches, until);

  it.each([
    ['reversed', [...story].reverse()],
    ['interleaved', [...story.filter((_, i) => i % 2), ...story.filter((_, i) => i % 2 === 0)]],
    ['rotated', [...story.slice(5), ...story.slice(0, 5)]],
  ])('%s gives the same journeys, ids and signatures as the time order', (_, shuffled) => {
    const expected = deriveJourneys(story, ABANDON, until);
    const outcome = computed(shuffled);
    expect(outcome.upsert).toEqual(expected.journeys);
    expect(outcome.journeyOfPending).toEqual(expected.journeyOf);
    expect(outcome.nextAbandonAt).toBe(expected.nextAbandonAt);
    expect(outcome.upsert.map((j) => j.status)).toEqual(['CONVERTED', 'ABANDONED', 'CONVERTED']);
  });

  it('with the same journeys stored, nothing is written', () => {
    const stored = new Map(deriveJourneys(story, ABANDON, until).journeys.map((j) => [j.id, j.signature]));
    const { journeyOf } = deriveJourneys(story, ABANDON, until);
    const touches = story.map((t) => ({ ...t, journeyId: journeyOf.get(t.interactionId) ?? null }));
    expect(service.compute('c1', { touches: [...touches].reverse(), stored }, [], until)).toMatchObject({ upsert: [], deleteIds: [], reassign: [] });
  });
});
