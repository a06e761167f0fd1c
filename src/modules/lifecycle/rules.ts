import { DAY_MS } from '../shared/time';
import { LifecycleStage } from './lifecycle-stage.enum';

export interface LifecycleThresholds {
  atRiskAfterDays: number;
  churnAfterDays: number;
  loyalMinOrders: number;
  /** The window of LOYAL and AMBASSADOR (365 days). */
  windowDays: number;
}

/** The interactions the lifecycle looks at, in time order. */
export interface LifecycleEvent {
  interactionId: string;
  at: number;
  type: 'PURCHASE' | 'REFUND' | 'ACCOUNT_CLOSED' | 'REFERRAL' | 'SURVEY_RESPONSE';
  /** NUMERIC as text, PURCHASE and REFUND only. */
  amount: string | null;
  npsScore: number | null;
}

export const LIFECYCLE_TYPES: ReadonlySet<string> = new Set(['PURCHASE', 'REFUND', 'ACCOUNT_CLOSED', 'REFERRAL', 'SURVEY_RESPONSE']);

/** What a rule looked at, stored with the transition so that it can be explained later. */
export interface LifecycleFacts {
  purchases: number;
  purchasesInWindow: number;
  lastPurchaseAt: string | null;
  previousPurchaseAt: string | null;
  accountClosedAt: string | null;
  /** The latest REFERRAL or SURVEY_RESPONSE with npsScore >= 9 inside the window. */
  advocacy: { at: string; kind: 'REFERRAL' | 'NPS'; npsScore?: number } | null;
  thresholds: LifecycleThresholds;
}

export interface RuleMatch {
  stage: LifecycleStage;
  rule: number;
  ruleName: string;
  /** The figures, built on demand: most evaluations change nothing and need none. */
  facts(): LifecycleFacts;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/**
 * The stage at instant `t` from the events up to `t` (BRIEF §3): the first rule that matches
 * wins. `events` must be sorted by time.
 */
export function evaluateAt(events: readonly LifecycleEvent[], t: number, th: LifecycleThresholds): RuleMatch {
  let purchases = 0;
  let inWindow = 0;
  let last: number | null = null;
  let previous: number | null = null;
  let closed: number | null = null;
  let advocacy: LifecycleEvent | null = null;
  const windowStart = t - th.windowDays * DAY_MS;
  for (const e of events) {
    if (e.at > t) break;
    if (e.type === 'PURCHASE') {
      purchases++;
      previous = last;
      last = e.at;
      if (e.at > windowStart) inWindow++;
    } else if (e.type === 'ACCOUNT_CLOSED') {
      closed = e.at;
    } else if (e.at > windowStart && (e.type === 'REFERRAL' || (e.type === 'SURVEY_RESPONSE' && (e.npsScore ?? -1) >= 9))) {
      advocacy = e;
    }
  }
  const facts = (): LifecycleFacts => ({
    purchases,
    purchasesInWindow: inWindow,
    lastPurchaseAt: iso(last),
    previousPurchaseAt: iso(previous),
    accountClosedAt: iso(closed),
    advocacy: advocacy
      ? advocacy.type === 'REFERRAL'
        ? { at: iso(advocacy.at)!, kind: 'REFERRAL' }
        : { at: iso(advocacy.at)!, kind: 'NPS', npsScore: advocacy.npsScore! }
      : null,
    thresholds: th,
  });
  const match = (stage: LifecycleStage, rule: number, ruleName: string): RuleMatch => ({ stage, rule, ruleName, facts });

  if (last === null) return match(LifecycleStage.PROSPECT, 1, 'no purchase yet');
  if (closed !== null && closed > last) return match(LifecycleStage.CHURNED, 2, 'account closed after the last purchase');
  if (t - last > th.churnAfterDays * DAY_MS) return match(LifecycleStage.CHURNED, 2, `no purchase for more than ${th.churnAfterDays} days`);
  if (t - last > th.atRiskAfterDays * DAY_MS) return match(LifecycleStage.AT_RISK, 3, `no purchase for more than ${th.atRiskAfterDays} days`);
  if (previous !== null && last - previous > th.atRiskAfterDays * DAY_MS) {
    return match(LifecycleStage.REACTIVATED, 4, `purchase after a gap of more than ${th.atRiskAfterDays} days`);
  }
  if (inWindow >= th.loyalMinOrders && advocacy) return match(LifecycleStage.AMBASSADOR, 5, 'loyal and recommends the brand');
  if (inWindow >= th.loyalMinOrders) return match(LifecycleStage.LOYAL, 6, `at least ${th.loyalMinOrders} purchases in ${th.windowDays} days`);
  if (purchases >= 2) return match(LifecycleStage.ACTIVE, 7, 'at least 2 purchases');
  return match(LifecycleStage.NEW_CUSTOMER, 8, 'exactly 1 purchase');
}

export interface ComputedTransition {
  from: LifecycleStage | null;
  to: LifecycleStage;
  at: number;
  rule: number;
  ruleName: string;
  /** The interaction that caused it; null when time passed. */
  causeInteractionId: string | null;
  facts: LifecycleFacts;
}

export interface Timeline {
  transitions: ComputedTransition[];
  stage: LifecycleStage;
  since: number | null;
  /** The next instant at which the stage changes by time alone, if no interaction arrives. */
  nextChangeAt: number | null;
}

/** Instants at which the stage can change by time alone: thresholds passed, windows left. */
function timeCandidates(events: readonly LifecycleEvent[], th: LifecycleThresholds): number[] {
  const out: number[] = [];
  for (const e of events) {
    if (e.type === 'PURCHASE') {
      // "more than N days": true from one millisecond after the N days.
      out.push(e.at + th.atRiskAfterDays * DAY_MS + 1, e.at + th.churnAfterDays * DAY_MS + 1, e.at + th.windowDays * DAY_MS);
    } else if (e.type === 'REFERRAL' || e.type === 'SURVEY_RESPONSE') {
      out.push(e.at + th.windowDays * DAY_MS);
    }
  }
  return out;
}

/**
 * Every stage change from the first interaction (`start`) up to `until`, as a pure function of
 * the events: the same events in any arrival order give the same timeline.
 */
export function computeTimeline(
  events: readonly LifecycleEvent[],
  start: { at: number; interactionId: string },
  until: number,
  th: LifecycleThresholds,
): Timeline {
  const byEvent = new Map<number, string>();
  for (const e of events) byEvent.set(e.at, e.interactionId);
  const candidates = [...new Set([start.at, ...events.map((e) => e.at), ...timeCandidates(events, th)])]
    .filter((t) => t >= start.at)
    .sort((a, b) => a - b);

  const transitions: ComputedTransition[] = [];
  let stage: LifecycleStage | null = null;
  let since: number | null = null;
  let nextChangeAt: number | null = null;
  for (const t of candidates) {
    const result = evaluateAt(events, t, th);
    if (t > until) {
      if (result.stage !== stage && !byEvent.has(t)) {
        nextChangeAt = t;
        break;
      }
      continue;
    }
    if (result.stage !== stage) {
      transitions.push({
        from: stage,
        to: result.stage,
        at: t,
        rule: result.rule,
        ruleName: result.ruleName,
        causeInteractionId: byEvent.get(t) ?? (t === start.at ? start.interactionId : null),
        facts: result.facts(),
      });
      stage = result.stage;
      since = t;
    }
  }
  return { transitions, stage: stage ?? LifecycleStage.PROSPECT, since, nextChangeAt };
}

const day = (value: string | number | Date) => new Date(value).toISOString().slice(0, 10);

/** A sentence for people, built only from what the transition stored. */
export function explain(t: { to: LifecycleStage; at: Date | string | number; rule: number; facts: LifecycleFacts }): string {
  const f = t.facts;
  const th = f.thresholds;
  const head = `${t.to} since ${day(t.at)}`;
  switch (t.rule) {
    case 1:
      return `${head}: no purchase yet`;
    case 2:
      return f.accountClosedAt && f.lastPurchaseAt && f.accountClosedAt > f.lastPurchaseAt
        ? `${head}: account closed on ${day(f.accountClosedAt)}, after the last purchase (${day(f.lastPurchaseAt)})`
        : `${head}: last purchase ${day(f.lastPurchaseAt!)}, more than ${th.churnAfterDays} days before`;
    case 3:
      return `${head}: last purchase ${day(f.lastPurchaseAt!)}, more than ${th.atRiskAfterDays} days before`;
    case 4: {
      const gap = Math.round((Date.parse(f.lastPurchaseAt!) - Date.parse(f.previousPurchaseAt!)) / DAY_MS);
      return `${head}: purchase on ${day(f.lastPurchaseAt!)} after ${gap} days without one (more than ${th.atRiskAfterDays})`;
    }
    case 5: {
      const why = f.advocacy!.kind === 'REFERRAL' ? `a referral on ${day(f.advocacy!.at)}` : `an NPS of ${f.advocacy!.npsScore} on ${day(f.advocacy!.at)}`;
      return `${head}: ${f.purchasesInWindow} purchases in the ${th.windowDays} days up to then (at least ${th.loyalMinOrders}) and ${why}`;
    }
    case 6:
      return `${head}: ${f.purchasesInWindow} purchases in the ${th.windowDays} days up to then (at least ${th.loyalMinOrders})`;
    case 7:
      return `${head}: ${f.purchases} purchases, the last on ${day(f.lastPurchaseAt!)}`;
    default:
      return `${head}: first purchase on ${day(f.lastPurchaseAt!)}`;
  }
}
