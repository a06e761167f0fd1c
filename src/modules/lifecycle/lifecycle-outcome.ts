import { uuidv7 } from '../../db/uuid';
import { Topic, type NewEvent } from '../events/event';
import { fromUnits, toUnits } from '../shared/money';
import { LifecycleStage } from './lifecycle-stage.enum';
import { computeTimeline, LIFECYCLE_TYPES, type ComputedTransition, type LifecycleEvent, type LifecycleThresholds } from './rules';

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
  events.sort((a, b) => a.at - b.at || (a.interactionId < b.interactionId ? -1 : 1));
  return { ...input, events, first, lastInteractionAt: last };
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

  // Keep the stored transitions that still hold; replace the rest.
  let keep = 0;
  while (keep < input.stored.length && keep < timeline.transitions.length && sameTransition(input.stored[keep], timeline.transitions[keep])) keep++;

  // BigInt ten-thousandths: a Number would stop being exact past 2^53 of them (about 900 billion).
  let orders = 0;
  let gross = 0n;
  let refunds = 0n;
  let firstPurchase: number | null = null;
  let lastPurchase: number | null = null;
  let lastNps: number | null = null;
  for (const e of input.events) {
    if (e.type === 'PURCHASE') {
      orders++;
      gross += toUnits(e.amount);
      firstPurchase ??= e.at;
      lastPurchase = e.at;
    } else if (e.type === 'REFUND') {
      refunds += toUnits(e.amount);
    } else if (e.type === 'SURVEY_RESPONSE' && e.npsScore !== null) {
      lastNps = e.npsScore;
    }
  }
  const previous = input.stored.length ? (input.stored[input.stored.length - 1].to as LifecycleStage) : null;
  const insert = timeline.transitions.slice(keep).map((t) => ({ ...t, id: uuidv7() }));
  const replaced = new Set(input.stored.slice(keep).map((t) => `${t.from}>${t.to}@${t.at}#${t.rule}`));
  return {
    customerId: input.customerId,
    stage: timeline.stage,
    stageSince: date(timeline.since),
    evaluatedAt: Number.isFinite(evaluatedAt) ? new Date(evaluatedAt) : null,
    nextEvaluationAt: date(timeline.nextChangeAt),
    orderCount: orders,
    grossRevenue: fromUnits(gross),
    refunds: fromUnits(refunds),
    netRevenue: fromUnits(gross - refunds),
    firstPurchaseAt: date(firstPurchase),
    lastPurchaseAt: date(lastPurchase),
    lastInteractionAt: date(input.lastInteractionAt),
    lastNpsScore: lastNps,
    deleteTransitionIds: input.stored.slice(keep).map((t) => t.id),
    insertTransitions: insert,
    news: insert.filter((t) => !replaced.has(`${t.from}>${t.to}@${t.at}#${t.rule}`)),
    previousStage: previous,
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
