import { evaluateLifecycle, lifecycleInput, withPending, type LifecycleTouch } from '../../src/modules/lifecycle/lifecycle-outcome';
import { LifecycleStage } from '../../src/modules/lifecycle/lifecycle-stage.enum';
import { computeTimeline, evaluateAt, explain, LIFECYCLE_RULES, type LifecycleEvent, type LifecycleThresholds } from '../../src/modules/lifecycle/rules';

const DAY = 24 * 3600 * 1000;
const TH: LifecycleThresholds = { atRiskAfterDays: 90, churnAfterDays: 365, loyalMinOrders: 4, windowDays: 365 };
const T0 = Date.parse('2024-01-01T00:00:00.000Z');

let seq = 0;
const ev = (type: LifecycleEvent['type'], day: number, npsScore: number | null = null): LifecycleEvent => ({
  interactionId: `i${String(++seq).padStart(3, '0')}`,
  type,
  at: T0 + day * DAY,
  amount: type === 'PURCHASE' || type === 'REFUND' ? '10.00' : null,
  npsScore,
});
const purchases = (...days: number[]) => days.map((d) => ev('PURCHASE', d));
const sorted = (events: LifecycleEvent[]) => [...events].sort((a, b) => a.at - b.at);

describe('the rule table', () => {
  it('lists the eight rules in the order they are tried', () => {
    expect(LIFECYCLE_RULES.map((r) => [r.number, r.stage])).toEqual([
      [1, 'PROSPECT'],
      [2, 'CHURNED'],
      [3, 'AT_RISK'],
      [4, 'REACTIVATED'],
      [5, 'AMBASSADOR'],
      [6, 'LOYAL'],
      [7, 'ACTIVE'],
      [8, 'NEW_CUSTOMER'],
    ]);
  });
});

describe('evaluateAt: the first rule that holds, at its boundary', () => {
  // [case, events, instant (days after T0), stage, rule, rule name]
  const cases: Array<[string, LifecycleEvent[], number, LifecycleStage, number, string]> = [
    ['no event at all', [], 0, LifecycleStage.PROSPECT, 1, 'no purchase yet'],
    ['a referral but no purchase', [ev('REFERRAL', 0)], 1, LifecycleStage.PROSPECT, 1, 'no purchase yet'],
    ['a purchase later than the instant', purchases(5), 4, LifecycleStage.PROSPECT, 1, 'no purchase yet'],
    ['one purchase', purchases(0), 0, LifecycleStage.NEW_CUSTOMER, 8, 'exactly 1 purchase'],
    ['two purchases', purchases(0, 10), 10, LifecycleStage.ACTIVE, 7, 'at least 2 purchases'],
    ['three purchases in the window', purchases(0, 10, 20), 20, LifecycleStage.ACTIVE, 7, 'at least 2 purchases'],

    ['exactly 90 days since the last purchase', purchases(0), 90, LifecycleStage.NEW_CUSTOMER, 8, 'exactly 1 purchase'],
    ['90 days and 1 ms', purchases(0), 90 + 1 / DAY, LifecycleStage.AT_RISK, 3, 'no purchase for more than 90 days'],
    ['91 days', purchases(0), 91, LifecycleStage.AT_RISK, 3, 'no purchase for more than 90 days'],
    ['AT_RISK before LOYAL', purchases(0, 10, 20, 30), 121, LifecycleStage.AT_RISK, 3, 'no purchase for more than 90 days'],

    ['exactly 365 days since the last purchase', purchases(0), 365, LifecycleStage.AT_RISK, 3, 'no purchase for more than 90 days'],
    ['365 days and 1 ms', purchases(0), 365 + 1 / DAY, LifecycleStage.CHURNED, 2, 'no purchase for more than 365 days'],
    ['366 days', purchases(0), 366, LifecycleStage.CHURNED, 2, 'no purchase for more than 365 days'],
    ['account closed after the last purchase', [...purchases(0, 10), ev('ACCOUNT_CLOSED', 11)], 11, LifecycleStage.CHURNED, 2, 'account closed after the last purchase'],
    ['account closed long after: the closure names the rule', [...purchases(0), ev('ACCOUNT_CLOSED', 10)], 400, LifecycleStage.CHURNED, 2, 'account closed after the last purchase'],
    ['account closed then a purchase', [ev('ACCOUNT_CLOSED', 0), ...purchases(1)], 1, LifecycleStage.NEW_CUSTOMER, 8, 'exactly 1 purchase'],
    ['account closed at the instant of the last purchase', [...purchases(0), ev('ACCOUNT_CLOSED', 0)], 0, LifecycleStage.NEW_CUSTOMER, 8, 'exactly 1 purchase'],

    ['a gap of 91 days between the last two purchases', purchases(0, 91), 91, LifecycleStage.REACTIVATED, 4, 'purchase after a gap of more than 90 days'],
    ['a gap of exactly 90 days', purchases(0, 90), 90, LifecycleStage.ACTIVE, 7, 'at least 2 purchases'],
    ['only the last gap counts', purchases(0, 200, 210), 210, LifecycleStage.ACTIVE, 7, 'at least 2 purchases'],
    ['REACTIVATED before LOYAL', purchases(0, 10, 20, 111), 111, LifecycleStage.REACTIVATED, 4, 'purchase after a gap of more than 90 days'],

    ['4 purchases in 365 days', purchases(0, 30, 60, 89), 89, LifecycleStage.LOYAL, 6, 'at least 4 purchases in 365 days'],
    ['4 purchases, an NPS of 8', [...purchases(0, 30, 60, 89), ev('SURVEY_RESPONSE', 50, 8)], 89, LifecycleStage.LOYAL, 6, 'at least 4 purchases in 365 days'],
    ['4 purchases, a survey without a score', [...purchases(0, 30, 60, 89), ev('SURVEY_RESPONSE', 50)], 89, LifecycleStage.LOYAL, 6, 'at least 4 purchases in 365 days'],
    ['4 purchases and a referral', [...purchases(0, 30, 60, 89), ev('REFERRAL', 50)], 89, LifecycleStage.AMBASSADOR, 5, 'loyal and recommends the brand'],
    ['4 purchases and an NPS of 9', [...purchases(0, 30, 60, 89), ev('SURVEY_RESPONSE', 50, 9)], 89, LifecycleStage.AMBASSADOR, 5, 'loyal and recommends the brand'],
    ['a referral before the purchases', [ev('REFERRAL', 0), ...purchases(10, 20, 30, 40)], 40, LifecycleStage.AMBASSADOR, 5, 'loyal and recommends the brand'],
    ['a referral 364 days before', [ev('REFERRAL', 0), ...purchases(300, 320, 340, 360)], 364, LifecycleStage.AMBASSADOR, 5, 'loyal and recommends the brand'],
    ['a referral exactly 365 days before has left the window', [ev('REFERRAL', 0), ...purchases(300, 320, 340, 360)], 365, LifecycleStage.LOYAL, 6, 'at least 4 purchases in 365 days'],
    ['a referral without LOYAL', [ev('REFERRAL', 0), ...purchases(1, 2)], 2, LifecycleStage.ACTIVE, 7, 'at least 2 purchases'],
    ['a referral after the instant', [...purchases(0, 30, 60, 89), ev('REFERRAL', 95)], 89, LifecycleStage.LOYAL, 6, 'at least 4 purchases in 365 days'],
  ];

  it.each(cases)('%s', (_, events, day, stage, rule, ruleName) => {
    const result = evaluateAt(sorted(events), T0 + day * DAY, TH);
    expect({ stage: result.stage, rule: result.rule, ruleName: result.ruleName }).toEqual({ stage, rule, ruleName });
  });

  it("LOYAL's window: a purchase exactly windowDays before no longer counts", () => {
    // With the default thresholds rules 3 and 4 decide before the window can (3 gaps of at most
    // 90 days plus at most 90 idle days is 360): wider thresholds show it.
    const wide: LifecycleThresholds = { atRiskAfterDays: 200, churnAfterDays: 400, loyalMinOrders: 4, windowDays: 365 };
    const events = purchases(0, 100, 200, 300);
    expect(evaluateAt(events, T0 + 364 * DAY, wide)).toMatchObject({ stage: 'LOYAL', rule: 6, ruleName: 'at least 4 purchases in 365 days' });
    expect(evaluateAt(events, T0 + 365 * DAY, wide)).toMatchObject({ stage: 'ACTIVE', rule: 7 });
  });

  it('names its rules with the thresholds it was given', () => {
    const th: LifecycleThresholds = { atRiskAfterDays: 30, churnAfterDays: 60, loyalMinOrders: 2, windowDays: 365 };
    expect(evaluateAt(purchases(0), T0 + 31 * DAY, th).ruleName).toBe('no purchase for more than 30 days');
    expect(evaluateAt(purchases(0), T0 + 61 * DAY, th).ruleName).toBe('no purchase for more than 60 days');
    expect(evaluateAt(purchases(0, 1), T0 + DAY, th)).toMatchObject({ stage: 'LOYAL', ruleName: 'at least 2 purchases in 365 days' });
  });
});

describe('facts and explanations', () => {
  const explained = (events: LifecycleEvent[], day: number) => {
    const t = T0 + day * DAY;
    const r = evaluateAt(sorted(events), t, TH);
    return explain({ to: r.stage, at: t, rule: r.rule, facts: r.facts() });
  };

  it('stores what the rule looked at', () => {
    const events = sorted([...purchases(0, 30, 60, 89), ev('SURVEY_RESPONSE', 50, 10), ev('REFERRAL', 20), ev('ACCOUNT_CLOSED', -5)]);
    expect(evaluateAt(events, T0 + 89 * DAY, TH).facts()).toEqual({
      purchases: 4,
      purchasesInWindow: 4,
      lastPurchaseAt: '2024-03-30T00:00:00.000Z',
      previousPurchaseAt: '2024-03-01T00:00:00.000Z',
      accountClosedAt: '2023-12-27T00:00:00.000Z',
      advocacy: { at: '2024-02-20T00:00:00.000Z', kind: 'NPS', npsScore: 10 },
      thresholds: TH,
    });
    expect(evaluateAt([], T0, TH).facts()).toEqual({
      purchases: 0,
      purchasesInWindow: 0,
      lastPurchaseAt: null,
      previousPurchaseAt: null,
      accountClosedAt: null,
      advocacy: null,
      thresholds: TH,
    });
  });

  it.each([
    ['PROSPECT', [], 0, 'PROSPECT since 2024-01-01: no purchase yet'],
    ['NEW_CUSTOMER', purchases(0), 3, 'NEW_CUSTOMER since 2024-01-04: first purchase on 2024-01-01'],
    ['ACTIVE', purchases(0, 10), 10, 'ACTIVE since 2024-01-11: 2 purchases, the last on 2024-01-11'],
    ['AT_RISK', purchases(0), 91, 'AT_RISK since 2024-04-01: last purchase 2024-01-01, more than 90 days before'],
    ['CHURNED by time', purchases(0), 366, 'CHURNED since 2025-01-01: last purchase 2024-01-01, more than 365 days before'],
    ['CHURNED by closure', [...purchases(0), ev('ACCOUNT_CLOSED', 4)], 4, 'CHURNED since 2024-01-05: account closed on 2024-01-05, after the last purchase (2024-01-01)'],
    ['REACTIVATED', purchases(0, 100), 100, 'REACTIVATED since 2024-04-10: purchase on 2024-04-10 after 100 days without one (more than 90)'],
    ['LOYAL', purchases(0, 30, 60, 89), 89, 'LOYAL since 2024-03-30: 4 purchases in the 365 days up to then (at least 4)'],
    [
      'AMBASSADOR by referral',
      [...purchases(0, 30, 60, 89), ev('REFERRAL', 50)],
      89,
      'AMBASSADOR since 2024-03-30: 4 purchases in the 365 days up to then (at least 4) and a referral on 2024-02-20',
    ],
    [
      'AMBASSADOR by NPS',
      [...purchases(0, 30, 60, 89), ev('SURVEY_RESPONSE', 50, 9)],
      89,
      'AMBASSADOR since 2024-03-30: 4 purchases in the 365 days up to then (at least 4) and an NPS of 9 on 2024-02-20',
    ],
  ] as Array<[string, LifecycleEvent[], number, string]>)('%s', (_, events, day, text) => {
    expect(explained(events, day)).toBe(text);
  });

  it('reads the thresholds stored with the facts, not the current ones', () => {
    const r = evaluateAt(purchases(0), T0 + 31 * DAY, { ...TH, atRiskAfterDays: 30 });
    expect(explain({ to: r.stage, at: T0 + 31 * DAY, rule: r.rule, facts: r.facts() })).toBe('AT_RISK since 2024-02-01: last purchase 2024-01-01, more than 30 days before');
  });
});

describe('computeTimeline: every stage change, by event and by time', () => {
  const at = (iso: string) => Date.parse(iso);
  // The walk of test/lifecycle/lifecycle.test.ts, without a database.
  const walk: LifecycleEvent[] = [
    { interactionId: 'p1', type: 'PURCHASE', at: at('2020-01-10T10:00:00.000Z'), amount: '100.00', npsScore: null },
    { interactionId: 'p2', type: 'PURCHASE', at: at('2020-02-10T10:00:00.000Z'), amount: '50.00', npsScore: null },
    { interactionId: 'p3', type: 'PURCHASE', at: at('2020-03-10T10:00:00.000Z'), amount: '30.00', npsScore: null },
    { interactionId: 'p4', type: 'PURCHASE', at: at('2020-04-10T10:00:00.000Z'), amount: '20.00', npsScore: null },
    { interactionId: 'nps', type: 'SURVEY_RESPONSE', at: at('2020-04-20T10:00:00.000Z'), amount: null, npsScore: 10 },
    { interactionId: 'back', type: 'PURCHASE', at: at('2021-06-01T10:00:00.000Z'), amount: '80.00', npsScore: null },
    { interactionId: 'closed', type: 'ACCOUNT_CLOSED', at: at('2021-06-05T10:00:00.000Z'), amount: null, npsScore: null },
  ];
  const start = { at: at('2020-01-01T10:00:00.000Z'), interactionId: 'view' };

  it('walks through every stage with the rule, instant, cause and explanation of each change', () => {
    const timeline = computeTimeline(walk, start, at('2021-06-05T10:00:00.000Z'), TH);
    expect(timeline.transitions.map((t) => [t.from, t.to, t.rule, new Date(t.at).toISOString(), t.causeInteractionId])).toEqual([
      [null, 'PROSPECT', 1, '2020-01-01T10:00:00.000Z', 'view'],
      ['PROSPECT', 'NEW_CUSTOMER', 8, '2020-01-10T10:00:00.000Z', 'p1'],
      ['NEW_CUSTOMER', 'ACTIVE', 7, '2020-02-10T10:00:00.000Z', 'p2'],
      ['ACTIVE', 'LOYAL', 6, '2020-04-10T10:00:00.000Z', 'p4'],
      ['LOYAL', 'AMBASSADOR', 5, '2020-04-20T10:00:00.000Z', 'nps'],
      ['AMBASSADOR', 'AT_RISK', 3, '2020-07-09T10:00:00.001Z', null],
      ['AT_RISK', 'CHURNED', 2, '2021-04-10T10:00:00.001Z', null],
      ['CHURNED', 'REACTIVATED', 4, '2021-06-01T10:00:00.000Z', 'back'],
      ['REACTIVATED', 'CHURNED', 2, '2021-06-05T10:00:00.000Z', 'closed'],
    ]);
    expect(timeline.transitions.map((t) => explain(t))).toEqual([
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
    expect(timeline.transitions.map((t) => t.ruleName)).toEqual([
      'no purchase yet',
      'exactly 1 purchase',
      'at least 2 purchases',
      'at least 4 purchases in 365 days',
      'loyal and recommends the brand',
      'no purchase for more than 90 days',
      'no purchase for more than 365 days',
      'purchase after a gap of more than 90 days',
      'account closed after the last purchase',
    ]);
    expect(timeline).toMatchObject({ stage: 'CHURNED', since: at('2021-06-05T10:00:00.000Z'), nextChangeAt: null });
  });

  it('stops at `until` and tells when time alone changes the stage next', () => {
    const untilNps = computeTimeline(walk, start, at('2020-04-20T10:00:00.000Z'), TH);
    expect(untilNps).toMatchObject({ stage: 'AMBASSADOR', since: at('2020-04-20T10:00:00.000Z'), nextChangeAt: at('2020-07-09T10:00:00.001Z') });
    expect(untilNps.transitions).toHaveLength(5);
    // An instant before the threshold is not a change: the next one is the threshold itself.
    const atRisk = computeTimeline(walk, start, at('2020-07-09T10:00:00.000Z'), TH);
    expect(atRisk).toMatchObject({ stage: 'AMBASSADOR', nextChangeAt: at('2020-07-09T10:00:00.001Z') });
    expect(computeTimeline(walk, start, at('2020-07-09T10:00:00.001Z'), TH)).toMatchObject({ stage: 'AT_RISK', nextChangeAt: at('2021-04-10T10:00:00.001Z') });
  });

  it('a customer who leaves the window without a new event changes by time (AMBASSADOR → LOYAL when the referral is 365 days old)', () => {
    const events = sorted([ev('REFERRAL', 0), ...purchases(300, 320, 340, 360)]);
    const timeline = computeTimeline(events, { at: events[0].at, interactionId: events[0].interactionId }, T0 + 365 * DAY, TH);
    expect(timeline.transitions.map((t) => [t.to, t.rule, (t.at - T0) / DAY, t.causeInteractionId === null])).toEqual([
      ['PROSPECT', 1, 0, false],
      ['NEW_CUSTOMER', 8, 300, false],
      ['ACTIVE', 7, 320, false],
      ['AMBASSADOR', 5, 360, false],
      ['LOYAL', 6, 365, true],
    ]);
  });
});

describe('evaluateLifecycle: metrics, and order independence of the input', () => {
  const touches: LifecycleTouch[] = [
    { interactionId: 'a', type: 'PAGE_VIEW', at: T0, amount: null, npsScore: null },
    { interactionId: 'b', type: 'PURCHASE', at: T0 + DAY, amount: '19.99', npsScore: null },
    { interactionId: 'c', type: 'PURCHASE', at: T0 + 30 * DAY, amount: '5.01', npsScore: null },
    { interactionId: 'd', type: 'REFUND', at: T0 + 35 * DAY, amount: '5.01', npsScore: null },
    { interactionId: 'e', type: 'PURCHASE', at: T0 + 100 * DAY, amount: '100.10', npsScore: null },
    { interactionId: 'f', type: 'SURVEY_RESPONSE', at: T0 + 110 * DAY, amount: null, npsScore: 6 },
    { interactionId: 'g', type: 'PURCHASE', at: T0 + 120 * DAY, amount: '0.30', npsScore: null },
    { interactionId: 'h', type: 'REFERRAL', at: T0 + 130 * DAY, amount: null, npsScore: null },
  ];
  const evaluate = (pending: LifecycleTouch[]) => {
    const o = evaluateLifecycle(withPending(lifecycleInput('c1', null, [], []), pending), TH);
    return { ...o, insertTransitions: o.insertTransitions.map(({ id: _, ...t }) => t), news: o.news.length };
  };

  // Money stays in the database's NUMERIC scale of 4 here; the API formats it.
  it('computes the metrics and the stage as of the latest interaction', () => {
    expect(evaluate(touches)).toMatchObject({
      stage: 'AMBASSADOR',
      stageSince: new Date(T0 + 130 * DAY),
      evaluatedAt: new Date(T0 + 130 * DAY),
      orderCount: 4,
      grossRevenue: '125.4000',
      refunds: '5.0100',
      netRevenue: '120.3900',
      firstPurchaseAt: new Date(T0 + DAY),
      lastPurchaseAt: new Date(T0 + 120 * DAY),
      lastInteractionAt: new Date(T0 + 130 * DAY),
      lastNpsScore: 6,
      previousStage: null,
      deleteTransitionIds: [],
    });
  });

  it.each([
    ['reversed', [...touches].reverse()],
    ['interleaved', [...touches.filter((_, i) => i % 2), ...touches.filter((_, i) => i % 2 === 0)]],
  ])('gives the same outcome for the same interactions %s', (_, shuffled) => {
    expect(evaluate(shuffled)).toEqual(evaluate(touches));
  });
});
