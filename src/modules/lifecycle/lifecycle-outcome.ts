import { uuidv7 } from '../../db/uuid';
import { Topic, type NewEvent } from '../events/event';
import { fromUnits, toUnits } from '../shared/money';
import { byTimeThenId } from '../shared/time';
import { LifecycleStage } from './lifecycle-stage.enum';
import { computeTimeline, LIFECYCLE_TYPES, type ComputedTransition, type LifecycleEvent, type LifecycleThresholds, type Timeline } from './rules';

/** A transition as stored, compared with the computed ones to write only the difference. */
export interface StoredTransition {
  id: string;
  from: string | null;
  to: string;
  at: number;
  rule: number;
  cause: string | null;
}

/** An interaction as the lifecycle reads it (any type: only the lifecycle's own count as events). */
export interface LifecycleTouch {
  interactionId: string;
  type: string;
  at: number;
  amount: string | null;
  npsScore: number | null;
}

/** What the lifecycle of one customer is computed from. */
export interface LifecycleInput {
  customerId: string;
  evaluatedAt: number | null;
  events: LifecycleEvent[];
  first: { at: number; interactionId: string } | null;
  lastInteractionAt: number | null;
  stored: StoredTransition[];
}

/** Everything written back for one customer: its row's derived columns and the transition diff. */
export interface LifecycleOutcome {
  customerId: string;
  stage: LifecycleStage;
  stageSince: Date | null;
  evaluatedAt: Date | null;
  nextEvaluationAt: Date | null;
  orderCount: number;
  grossRevenue: string;
  refunds: string;
  netRevenue: string;
  firstPurchaseAt: Date | null;
  lastPurchaseAt: Date | null;
  lastInteractionAt: Date | null;
  lastNpsScore: number | null;
  deleteTransitionIds: string[];
  insertTransitions: Array<ComputedTransition & { id: string }>;
  /**
   * The inserted transitions a subscriber has not been told about: a late interaction that
   * rewrites the history replaces transitions, and those that come back unchanged (same stages,
   * instant and rule) are not news.
   */
  news: Array<ComputedTransition & { id: string }>;
  /** The stage before this evaluation (PROSPECT for a customer seen for the first time). */
  previousStage: LifecycleStage | null;
}

const date = (ms: number | null) => (ms === null ? null : new Date(ms));

const asEvent = (t: LifecycleTouch): LifecycleEvent => ({ interactionId: t.interactionId, type: t.type as LifecycleEvent['type'], at: t.at, amount: t.amount, npsScore: t.npsScore });

/** The lifecycle's view of a customer: `touches` sorted by time then id, as stored. */
export function lifecycleInput(customerId: string, evaluatedAt: number | null, touches: readonly LifecycleTouch[], stored: StoredTransition[]): LifecycleInput {
  let last: number | null = null;
  for (const t of touches) if (last === null || t.at > last) last = t.at;
  const first = touches[0];
  return {
    customerId,
    evaluatedAt,
    events: touches.filter((t) => LIFECYCLE_TYPES.has(t.type)).map(asEvent),
    first: first ? { at: first.at, interactionId: first.interactionId } : null,
    lastInteractionAt: last,
    stored,
  };
}

/** Adds interactions not yet in the database (the batch being written) to an input. */
export function withPending(input: LifecycleInput, pending: readonly LifecycleTouch[]): LifecycleInput {
  if (pending.length === 0) return input;
  const events = [...input.events];
  let first = input.first;
  let last = input.lastInteractionAt;
  for (const p of pending) {
    if (LIFECYCLE_TYPES.has(p.type)) events.push(asEvent(p));
    if (!first || p.at < first.at || (p.at === first.at && p.interactionId < first.interactionId)) first = { at: p.at, interactionId: p.interactionId };
    if (last === null || p.at > last) last = p.at;
  }
  events.sort(byTimeThenId);
  return { ...input, events, first, lastInteractionAt: last };
}

/** A customer's running figures; amounts in BigInt ten-thousandths (a Number would stop being exact past 2^53 of them, about 900 billion). */
interface Figures {
  orders: number;
  gross: bigint;
  refunds: bigint;
  firstPurchase: number | null;
  lastPurchase: number | null;
  lastNps: number | null;
}

const EMPTY_FIGURES: Figures = { orders: 0, gross: 0n, refunds: 0n, firstPurchase: null, lastPurchase: null, lastNps: null };

/**
 * `start` with `events` added: the whole history from nothing, or new interactions from the
 * stored figures. Sums and purchase instants in any order; the last NPS score is the last in
 * `events`, so a resume takes it by time (`latestNps`).
 */
function foldFigures(start: Figures, events: Iterable<LifecycleEvent>): Figures {
  let { orders, gross, refunds, firstPurchase, lastPurchase, lastNps } = start;
  for (const e of events) {
    if (e.type === 'PURCHASE') {
      orders++;
      gross += toUnits(e.amount);
      // Earliest and latest whatever the order: a late purchase may come before the stored ones.
      if (firstPurchase === null || e.at < firstPurchase) firstPurchase = e.at;
      if (lastPurchase === null || e.at > lastPurchase) lastPurchase = e.at;
    } else if (e.type === 'REFUND') {
      refunds += toUnits(e.amount);
    } else if (e.type === 'SURVEY_RESPONSE' && e.npsScore !== null) {
      lastNps = e.npsScore;
    }
  }
  return { orders, gross, refunds, firstPurchase, lastPurchase, lastNps };
}

/**
 * The score of the latest survey response with one among `events` (sorted by time, then id). A
 * checkpoint holds every stored event from the horizon before its resume instant on, so the
 * latest stored score is among them unless it is older than all of them, and then older than
 * every pending one too.
 */
function latestNps(events: readonly LifecycleEvent[]): number | null {
  for (let i = events.length - 1; i >= 0; i--) if (events[i].type === 'SURVEY_RESPONSE' && events[i].npsScore !== null) return events[i].npsScore;
  return null;
}

/**
 * Stage, metrics and transition diff as of `until` (default: the later of the instant the
 * customer was last evaluated at and its latest interaction — a write never moves the clock
 * past what it knows; the sweep does).
 */
export function evaluateLifecycle(input: LifecycleInput, thresholds: LifecycleThresholds, until?: number): LifecycleOutcome {
  const evaluatedAt = until ?? Math.max(input.evaluatedAt ?? -Infinity, input.lastInteractionAt ?? -Infinity);
  const timeline =
    input.first && Number.isFinite(evaluatedAt)
      ? computeTimeline(input.events, input.first, evaluatedAt, thresholds)
      : { transitions: [], stage: LifecycleStage.PROSPECT, since: null, nextChangeAt: null };

  const { orders, gross, refunds, firstPurchase, lastPurchase, lastNps } = foldFigures(EMPTY_FIGURES, input.events);
  const previous = input.stored.length ? (input.stored[input.stored.length - 1].to as LifecycleStage) : null;
  return {
    customerId: input.customerId,
    ...diff(input.stored, timeline),
    evaluatedAt: Number.isFinite(evaluatedAt) ? new Date(evaluatedAt) : null,
    orderCount: orders,
    grossRevenue: fromUnits(gross),
    refunds: fromUnits(refunds),
    netRevenue: fromUnits(gross - refunds),
    firstPurchaseAt: date(firstPurchase),
    lastPurchaseAt: date(lastPurchase),
    lastInteractionAt: date(input.lastInteractionAt),
    lastNpsScore: lastNps,
    previousStage: previous,
  };
}

/**
 * What the lifecycle of a customer is resumed from when interactions are appended after every
 * stored one: the stored figures, and only the part of the history the rules can still see.
 */
export interface LifecycleCheckpoint {
  customerId: string;
  /** The instant the stored stage reflects. */
  evaluatedAt: number;
  /** The first stored interaction. */
  first: { at: number; interactionId: string };
  lastInteractionAt: number;
  orderCount: number;
  /** NUMERIC as text. */
  grossRevenue: string;
  refunds: string;
  firstPurchaseAt: number | null;
  lastPurchaseAt: number | null;
  lastNpsScore: number | null;
  /**
   * The instant from which the timeline is computed again: the earliest appended interaction, or
   * just after `evaluatedAt` when that is earlier (what happened before it is settled).
   */
  resumeAt: number;
  /**
   * The stored lifecycle events from `resumeHorizonMs` before `resumeAt` on, with the last two
   * older purchases and the last older ACCOUNT_CLOSED; sorted by time then id. Stored purchases
   * come without their amount: the rules look only at their instants, the figures are the
   * stored ones.
   */
  events: LifecycleEvent[];
  /** The last stored transition before `resumeAt`. */
  before: StoredTransition | null;
  /** The stored transitions at `resumeAt` or later, in order. */
  after: StoredTransition[];
}

/**
 * `evaluateLifecycle` of the whole history (stored interactions plus `pending`), computed from a
 * checkpoint: valid when no pending interaction is earlier than `resumeAt` or than the first
 * stored one. (An append, every pending interaction after every stored one, is the common case; a
 * late interaction resumes from its own instant.) Nothing before `resumeAt` can change then — the
 * instants tested there and their counts are the same — so the stored transitions before it
 * stay, the timeline is computed again from it on, over the stored events the rules can still
 * see and the pending ones, and the figures are the stored ones plus the pending interactions'.
 * `until` as in `evaluateLifecycle` (the sweep's instant, later than the stored `evaluatedAt`).
 */
export function resumeLifecycle(checkpoint: LifecycleCheckpoint, pending: readonly LifecycleTouch[], thresholds: LifecycleThresholds, until?: number): LifecycleOutcome {
  const fresh = pending.filter((p) => LIFECYCLE_TYPES.has(p.type)).map(asEvent);
  fresh.sort(byTimeThenId);
  let last = checkpoint.lastInteractionAt;
  for (const p of pending) if (p.at > last) last = p.at;
  const evaluatedAt = until ?? Math.max(checkpoint.evaluatedAt, last);
  const events = [...checkpoint.events, ...fresh];
  // Stored events come sorted; a late pending one goes among them.
  if (fresh.length && checkpoint.events.length && byTimeThenId(fresh[0], checkpoint.events[checkpoint.events.length - 1]) < 0) events.sort(byTimeThenId);
  const storedPurchases = checkpoint.events.filter((e) => e.type === 'PURCHASE').length;
  const before = checkpoint.before;
  const timeline = computeTimeline(events, checkpoint.first, evaluatedAt, thresholds, {
    from: checkpoint.resumeAt,
    stage: before ? (before.to as LifecycleStage) : null,
    since: before ? before.at : null,
    purchasesBefore: checkpoint.orderCount - storedPurchases,
  });

  const { orders, gross, refunds, firstPurchase, lastPurchase } = foldFigures(
    {
      orders: checkpoint.orderCount,
      gross: toUnits(checkpoint.grossRevenue),
      refunds: toUnits(checkpoint.refunds),
      firstPurchase: checkpoint.firstPurchaseAt,
      lastPurchase: checkpoint.lastPurchaseAt,
      lastNps: checkpoint.lastNpsScore,
    },
    fresh,
  );
  const stored = checkpoint.after;
  const previous = stored.length ? stored[stored.length - 1] : before;
  return {
    customerId: checkpoint.customerId,
    ...diff(stored, timeline),
    evaluatedAt: new Date(evaluatedAt),
    orderCount: orders,
    grossRevenue: fromUnits(gross),
    refunds: fromUnits(refunds),
    netRevenue: fromUnits(gross - refunds),
    firstPurchaseAt: date(firstPurchase),
    lastPurchaseAt: date(lastPurchase),
    lastInteractionAt: new Date(last),
    lastNpsScore: latestNps(events) ?? checkpoint.lastNpsScore,
    previousStage: previous ? (previous.to as LifecycleStage) : null,
  };
}

/** The stage of a timeline and the transitions to write against those stored for the same span. */
function diff(stored: StoredTransition[], timeline: Timeline) {
  // Keep the stored transitions that still hold; replace the rest.
  let keep = 0;
  while (keep < stored.length && keep < timeline.transitions.length && sameTransition(stored[keep], timeline.transitions[keep])) keep++;
  const insert = timeline.transitions.slice(keep).map((t) => ({ ...t, id: uuidv7() }));
  const replaced = new Set(stored.slice(keep).map((t) => `${t.from}>${t.to}@${t.at}#${t.rule}`));
  return {
    stage: timeline.stage,
    stageSince: date(timeline.since),
    nextEvaluationAt: date(timeline.nextChangeAt),
    deleteTransitionIds: stored.slice(keep).map((t) => t.id),
    insertTransitions: insert,
    news: insert.filter((t) => !replaced.has(`${t.from}>${t.to}@${t.at}#${t.rule}`)),
  };
}

/** The live events of outcomes: one per transition that is news. */
export function stageChangedEvents(outcomes: Iterable<LifecycleOutcome>): NewEvent[] {
  const events: NewEvent[] = [];
  for (const o of outcomes) {
    for (const t of o.news) {
      events.push({
        topic: Topic.LIFECYCLE_STAGE_CHANGED,
        customerId: o.customerId,
        payload: {
          transitionId: t.id,
          from: t.from,
          to: t.to,
          at: new Date(t.at).toISOString(),
          rule: t.rule,
          ruleName: t.ruleName,
          causeInteractionId: t.causeInteractionId,
          facts: t.facts as unknown as Record<string, unknown>,
        },
      });
    }
  }
  return events;
}

function sameTransition(stored: StoredTransition, computed: ComputedTransition): boolean {
  return stored.from === computed.from && stored.to === computed.to && stored.at === computed.at && stored.rule === computed.rule && stored.cause === computed.causeInteractionId;
}
