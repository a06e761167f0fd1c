import { Derivation, type Derived } from '../../src/modules/derivation/recompute';
import type { CustomerHistory, HistoryTouch } from '../../src/modules/derivation/customer-history';
import type { DerivedJourney } from '../../src/modules/journeys/derive';
import { JourneyStatus } from '../../src/modules/journeys/journey-step.enum';
import { JourneyService } from '../../src/modules/journeys/journey.service';
import type { LifecycleCheckpoint, StoredTransition } from '../../src/modules/lifecycle/lifecycle-outcome';
import { LIFECYCLE_TYPES, resumeHorizonMs, type LifecycleEvent, type LifecycleThresholds } from '../../src/modules/lifecycle/rules';
import { DAY, generateHistory, random } from './histories';

/*
 * An append resumes derivation from a checkpoint (the stored figures and the bounded part of the
 * history the rules and the open journey still need); it must give exactly what deriving the
 * whole history again gives. Here both run on generated histories, the stored state being what
 * the full derivation wrote before, and the checkpoint taken from it the way
 * derivation/customer-history.ts reads it from the database.
 */

const TH: LifecycleThresholds = { atRiskAfterDays: 90, churnAfterDays: 365, loyalMinOrders: 4, windowDays: 365 };
const derivation = new Derivation(TH, new JourneyService(30));
const START = Date.UTC(2021, 0, 1);

const byTime = (a: { at: number; interactionId: string }, b: { at: number; interactionId: string }) => a.at - b.at || (a.interactionId < b.interactionId ? -1 : 1);

/** The stored state after a full derivation: what the database holds. */
interface Stored {
  history: CustomerHistory;
  derived: Derived;
  journeys: DerivedJourney[];
}

function store(customerId: string, touches: HistoryTouch[], previous: Stored | null, pending: HistoryTouch[], until?: number): Stored {
  const base: CustomerHistory = previous?.history ?? { customerId, evaluatedAt: null, touches: [], transitions: [], journeys: new Map() };
  const derived = derivation.recompute({ ...base, touches }, pending, until);
  const o = derived.lifecycle;
  // Apply the diff as the writer does.
  const deleted = new Set(o.deleteTransitionIds);
  const transitions: StoredTransition[] = [
    ...base.transitions.filter((t) => !deleted.has(t.id)),
    ...o.insertTransitions.map((t) => ({ id: t.id, from: t.from, to: t.to, at: t.at, rule: t.rule, cause: t.causeInteractionId })),
  ].sort((a, b) => a.at - b.at);
  const journeyRows = new Map((previous?.journeys ?? []).map((j) => [j.id, j]));
  for (const id of derived.journeys.deleteIds) journeyRows.delete(id);
  for (const j of derived.journeys.upsert) journeyRows.set(j.id, j);
  const journeyOf = new Map([...touches.map((t) => [t.interactionId, t.journeyId] as const), ...derived.journeys.reassign.map((r) => [r.interactionId, r.journeyId] as const)]);
  for (const [id, j] of derived.journeys.journeyOfPending) journeyOf.set(id, j);
  const all = [...touches, ...pending].sort(byTime).map((t) => ({ ...t, journeyId: journeyOf.get(t.interactionId) ?? null }));
  return {
    history: { customerId, evaluatedAt: o.evaluatedAt!.getTime(), touches: all, transitions, journeys: new Map([...journeyRows.values()].map((j) => [j.id, j.signature])) },
    derived,
    journeys: [...journeyRows.values()],
  };
}

/** The checkpoint derivation/customer-history.ts reads, taken from the stored state. */
function checkpointOf(s: Stored, firstPending: { at: number; interactionId: string } | null) {
  const { history, derived } = s;
  const o = derived.lifecycle;
  const evaluatedAt = history.evaluatedAt!;
  const resumeAt = Math.min(firstPending?.at ?? Infinity, evaluatedAt + 1);
  const lo = resumeAt - resumeHorizonMs(TH);
  const lifecycleTouches = history.touches.filter((t) => LIFECYCLE_TYPES.has(t.type));
  const older = lifecycleTouches.filter((t) => t.at < lo);
  const events = [
    ...lifecycleTouches.filter((t) => t.at >= lo),
    ...older.filter((t) => t.type === 'PURCHASE').slice(-2),
    ...older.filter((t) => t.type === 'ACCOUNT_CLOSED').slice(-1),
  ]
    .sort(byTime)
    .map((t): LifecycleEvent => ({ interactionId: t.interactionId, type: t.type as LifecycleEvent['type'], at: t.at, amount: t.amount, npsScore: t.npsScore }));
  const before = history.transitions.filter((t) => t.at < resumeAt);
  const last = history.touches[history.touches.length - 1];
  const lifecycle: LifecycleCheckpoint = {
    customerId: history.customerId,
    evaluatedAt,
    first: { at: history.touches[0].at, interactionId: history.touches[0].interactionId },
    lastInteractionAt: last.at,
    orderCount: o.orderCount,
    grossRevenue: o.grossRevenue,
    refunds: o.refunds,
    firstPurchaseAt: o.firstPurchaseAt?.getTime() ?? null,
    lastPurchaseAt: o.lastPurchaseAt?.getTime() ?? null,
    lastNpsScore: o.lastNpsScore,
    resumeAt,
    events,
    before: before.length ? before[before.length - 1] : null,
    after: history.transitions.filter((t) => t.at >= resumeAt),
  };
  const journeys = [...s.journeys].sort((a, b) => a.startedAt - b.startedAt || (a.id < b.id ? -1 : 1));
  const lastPurchase = [...history.touches].reverse().find((t) => t.type === 'PURCHASE');
  return {
    lifecycle,
    journeys: {
      latest: journeys[journeys.length - 1] ?? null,
      lastConverted: lastPurchase ? journeys.find((j) => j.id === lastPurchase.journeyId)! : null,
      lastInteractionAt: last.at,
    },
  };
}

/** A derivation's outcome without what is new on every run (transition ids) or only known to the full pass (member lists). */
function comparable(d: Derived) {
  const strip = <T extends { id: string }>(t: T) => ({ ...t, id: undefined });
  return {
    lifecycle: { ...d.lifecycle, insertTransitions: d.lifecycle.insertTransitions.map(strip), news: d.lifecycle.news.map(strip) },
    journeys: { ...d.journeys, upsert: d.journeys.upsert.map((j) => ({ ...j, interactionIds: undefined })) },
  };
}

describe('an append resumed from the stored state equals the whole history derived again', () => {
  const seeds = Array.from({ length: 150 }, (_, i) => i + 1);
  it.each(seeds)('history %i', (seed) => {
    const rnd = random(seed);
    const generated = generateHistory(rnd, 10 + Math.floor(rnd() * 50), START);
    const touches: HistoryTouch[] = generated.map((g, i) => ({ ...g, interactionId: `i${String(i).padStart(4, '0')}`, journeyId: null }));
    let stored: Stored | null = null;
    let next = 0;
    let resumed = 0;
    while (next < touches.length) {
      const size = 1 + Math.floor(rnd() * 3);
      const pending = touches.slice(next, next + size);
      next += size;
      if (!stored) {
        stored = store('c', [], null, pending);
        continue;
      }
      const checkpoint = checkpointOf(stored, pending[0]);
      const resumedOutcome = derivation.resume(checkpoint.lifecycle, checkpoint.journeys, pending);
      const full = derivation.recompute(stored.history, pending);
      expect(comparable(resumedOutcome)).toEqual(comparable(full));
      resumed++;
      stored = store('c', stored.history.touches, stored, pending);
      // Now and then time passes (a sweep) before the next interaction, which may come before the instant swept to.
      if (rnd() < 0.25) {
        const asOf = stored.history.evaluatedAt! + 1 + Math.floor(rnd() * 120 * DAY);
        // The sweep resumes too: time passing is an append without interactions.
        const checkpoint = checkpointOf(stored, null);
        expect(comparable(derivation.resume(checkpoint.lifecycle, checkpoint.journeys, [], asOf))).toEqual(comparable(derivation.recompute(stored.history, [], asOf)));
        stored = store('c', stored.history.touches, stored, [], asOf);
      }
    }
    expect(resumed).toBeGreaterThan(0);
  });

  it('covers what it is about: time-driven and replaced transitions, reopened and abandoned journeys, follow-ups', () => {
    // The generator's gaps straddle every threshold; a sample of the outcomes shows they are reached.
    const seen = new Set<string>();
    for (const seed of seeds) {
      const rnd = random(seed);
      const generated = generateHistory(rnd, 40, START);
      const touches: HistoryTouch[] = generated.map((g, i) => ({ ...g, interactionId: `i${String(i).padStart(4, '0')}`, journeyId: null }));
      const s = store('c', [], null, touches);
      for (const t of s.derived.lifecycle.insertTransitions) seen.add(`${t.to}${t.causeInteractionId === null ? ' by time' : ''}`);
      for (const j of s.journeys) seen.add(j.status);
      if (s.journeys.some((j) => j.status === JourneyStatus.CONVERTED && j.touchpoints > 1)) seen.add('follow-ups');
    }
    expect([...seen].sort()).toEqual(
      expect.arrayContaining(['ABANDONED', 'ACTIVE', 'AMBASSADOR', 'AT_RISK by time', 'CHURNED', 'CHURNED by time', 'CONVERTED', 'LOYAL', 'NEW_CUSTOMER', 'OPEN', 'REACTIVATED', 'follow-ups']),
    );
  });
});
