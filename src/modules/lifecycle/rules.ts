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

/** The events up to the instant `t` a rule is tested at, counted once for every rule. */
export interface RuleInput {
  t: number;
  purchases: number;
  /** Purchases in the `windowDays` up to `t`. */
  purchasesInWindow: number;
  lastPurchaseAt: number | null;
  previousPurchaseAt: number | null;
  accountClosedAt: number | null;
  /** The latest REFERRAL or SURVEY_RESPONSE with npsScore >= 9 in the window. */
  advocacy: LifecycleEvent | null;
}

export interface LifecycleRule {
  stage: LifecycleStage;
  number: number;
  /** Stored with the transition and sent to subscribers: changing one rewrites nothing already stored. */
  name(x: RuleInput, th: LifecycleThresholds): string;
  test(x: RuleInput, th: LifecycleThresholds): boolean;
  /** The sentence after "STAGE since DAY: ", from the stored facts alone (a transition outlives the thresholds it was computed with). */
  explanation(f: LifecycleFacts, th: LifecycleThresholds): string;
}

const day = (value: string | number | Date) => new Date(value).toISOString().slice(0, 10);

const closedAfterLastPurchase = (x: RuleInput) => x.accountClosedAt !== null && x.accountClosedAt > x.lastPurchaseAt!;
const loyal = (x: RuleInput, th: LifecycleThresholds) => x.purchasesInWindow >= th.loyalMinOrders;
const inWindowText = (f: LifecycleFacts, th: LifecycleThresholds) =>
  `${f.purchasesInWindow} purchases in the ${th.windowDays} days up to then (at least ${th.loyalMinOrders})`;

/**
 * The lifecycle model: the stage at an instant is that of the first row whose test holds. Rows
 * after the first may assume a purchase (`lastPurchaseAt!`): the first row takes everyone else.
 * "More than N days" is strict: exactly N days is not yet past the threshold.
 */
export const LIFECYCLE_RULES: readonly LifecycleRule[] = [
  {
    stage: LifecycleStage.PROSPECT,
    number: 1,
    name: () => 'no purchase yet',
    test: (x) => x.lastPurchaseAt === null,
    explanation: () => 'no purchase yet',
  },
  {
    stage: LifecycleStage.CHURNED,
    number: 2,
    name: (x, th) => (closedAfterLastPurchase(x) ? 'account closed after the last purchase' : `no purchase for more than ${th.churnAfterDays} days`),
    test: (x, th) => closedAfterLastPurchase(x) || x.t - x.lastPurchaseAt! > th.churnAfterDays * DAY_MS,
    explanation: (f, th) =>
      f.accountClosedAt && f.lastPurchaseAt && f.accountClosedAt > f.lastPurchaseAt
        ? `account closed on ${day(f.accountClosedAt)}, after the last purchase (${day(f.lastPurchaseAt)})`
        : `last purchase ${day(f.lastPurchaseAt!)}, more than ${th.churnAfterDays} days before`,
  },
  {
    stage: LifecycleStage.AT_RISK,
    number: 3,
    name: (_, th) => `no purchase for more than ${th.atRiskAfterDays} days`,
    test: (x, th) => x.t - x.lastPurchaseAt! > th.atRiskAfterDays * DAY_MS,
    explanation: (f, th) => `last purchase ${day(f.lastPurchaseAt!)}, more than ${th.atRiskAfterDays} days before`,
  },
  {
    stage: LifecycleStage.REACTIVATED,
    number: 4,
    name: (_, th) => `purchase after a gap of more than ${th.atRiskAfterDays} days`,
    test: (x, th) => x.previousPurchaseAt !== null && x.lastPurchaseAt! - x.previousPurchaseAt > th.atRiskAfterDays * DAY_MS,
    explanation: (f, th) => {
      const gap = Math.round((Date.parse(f.lastPurchaseAt!) - Date.parse(f.previousPurchaseAt!)) / DAY_MS);
      return `purchase on ${day(f.lastPurchaseAt!)} after ${gap} days without one (more than ${th.atRiskAfterDays})`;
    },
  },
  {
    stage: LifecycleStage.AMBASSADOR,
    number: 5,
    name: () => 'loyal and recommends the brand',
    test: (x, th) => loyal(x, th) && x.advocacy !== null,
    explanation: (f, th) => {
      const a = f.advocacy!;
      const why = a.kind === 'REFERRAL' ? `a referral on ${day(a.at)}` : `an NPS of ${a.npsScore} on ${day(a.at)}`;
      return `${inWindowText(f, th)} and ${why}`;
    },
  },
  {
    stage: LifecycleStage.LOYAL,
    number: 6,
    name: (_, th) => `at least ${th.loyalMinOrders} purchases in ${th.windowDays} days`,
    test: loyal,
    explanation: inWindowText,
  },
  {
    stage: LifecycleStage.ACTIVE,
    number: 7,
    name: () => 'at least 2 purchases',
    test: (x) => x.purchases >= 2,
    explanation: (f) => `${f.purchases} purchases, the last on ${day(f.lastPurchaseAt!)}`,
  },
  {
    stage: LifecycleStage.NEW_CUSTOMER,
    number: 8,
    name: () => 'exactly 1 purchase',
    test: () => true,
    explanation: (f) => `first purchase on ${day(f.lastPurchaseAt!)}`,
  },
];

const NEW_CUSTOMER_RULE = LIFECYCLE_RULES[LIFECYCLE_RULES.length - 1];
const RULE_BY_NUMBER = new Map(LIFECYCLE_RULES.map((r) => [r.number, r]));

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** Elements of the sorted `values` that are <= `t`. */
function countUpTo(values: readonly number[], t: number): number {
  let lo = 0;
  let hi = values.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (values[mid] <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The events of one customer, indexed so that the rule input at any instant costs a few binary
 * searches instead of a pass over every event: a timeline tests the rules at every candidate
 * instant. `purchasesBefore` counts purchases older than every event given (a timeline resumed
 * from a point in time is handed only the events the rules can still see, see `resumeHorizonMs`).
 */
class RuleInputs {
  private readonly purchases: number[] = [];
  private readonly closes: number[] = [];
  private readonly advocacy: LifecycleEvent[] = [];
  private readonly advocacyAt: number[] = [];

  /** `events` must be sorted by time, then id. */
  constructor(
    events: readonly LifecycleEvent[],
    private readonly th: LifecycleThresholds,
    private readonly purchasesBefore = 0,
  ) {
    for (const e of events) {
      if (e.type === 'PURCHASE') this.purchases.push(e.at);
      else if (e.type === 'ACCOUNT_CLOSED') this.closes.push(e.at);
      else if (e.type === 'REFERRAL' || (e.type === 'SURVEY_RESPONSE' && (e.npsScore ?? -1) >= 9)) {
        this.advocacy.push(e);
        this.advocacyAt.push(e.at);
      }
    }
  }

  /** Counts the events up to `t` (those at `t` included). */
  at(t: number): RuleInput {
    // The window is open at its start: an event exactly windowDays before `t` has left it.
    const windowStart = t - this.th.windowDays * DAY_MS;
    const bought = countUpTo(this.purchases, t);
    const closed = countUpTo(this.closes, t);
    const advocates = countUpTo(this.advocacyAt, t);
    // The latest advocacy up to `t` is the one in the window, if any is.
    const latestAdvocacy = advocates > 0 ? this.advocacy[advocates - 1] : null;
    return {
      t,
      purchases: this.purchasesBefore + bought,
      purchasesInWindow: bought - countUpTo(this.purchases, windowStart),
      lastPurchaseAt: bought > 0 ? this.purchases[bought - 1] : null,
      previousPurchaseAt: bought > 1 ? this.purchases[bought - 2] : null,
      accountClosedAt: closed > 0 ? this.closes[closed - 1] : null,
      advocacy: latestAdvocacy && latestAdvocacy.at > windowStart ? latestAdvocacy : null,
    };
  }
}

/** What a transition stores of a rule input, so that `explain` needs nothing else. */
function factsOf(x: RuleInput, th: LifecycleThresholds): LifecycleFacts {
  const a = x.advocacy;
  return {
    purchases: x.purchases,
    purchasesInWindow: x.purchasesInWindow,
    lastPurchaseAt: iso(x.lastPurchaseAt),
    previousPurchaseAt: iso(x.previousPurchaseAt),
    accountClosedAt: iso(x.accountClosedAt),
    advocacy: a ? (a.type === 'REFERRAL' ? { at: iso(a.at)!, kind: 'REFERRAL' } : { at: iso(a.at)!, kind: 'NPS', npsScore: a.npsScore! }) : null,
    thresholds: th,
  };
}

/** The stage at instant `t` from the events up to `t`. `events` must be sorted by time. */
export function evaluateAt(events: readonly LifecycleEvent[], t: number, th: LifecycleThresholds): RuleMatch {
  return match(new RuleInputs(events, th).at(t), th);
}

function match(x: RuleInput, th: LifecycleThresholds): RuleMatch {
  const rule = LIFECYCLE_RULES.find((r) => r.test(x, th)) ?? NEW_CUSTOMER_RULE;
  return { stage: rule.stage, rule: rule.number, ruleName: rule.name(x, th), facts: () => factsOf(x, th) };
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

/**
 * How far back of an instant R the events the rules can still use at R or later go: the
 * thresholds and the window all look back at most this far, and the time candidates of older
 * events all fall before R.
 */
export function resumeHorizonMs(th: LifecycleThresholds): number {
  return Math.max(th.atRiskAfterDays * DAY_MS + 1, th.churnAfterDays * DAY_MS + 1, th.windowDays * DAY_MS);
}

/**
 * Where a timeline starts again when what happened before `from` is settled: the stage then and
 * since when (the last stored transition before `from`, or nothing when `from` is the start),
 * and how many purchases older than the events given the customer made.
 */
export interface TimelineResume {
  from: number;
  stage: LifecycleStage | null;
  since: number | null;
  purchasesBefore: number;
}

/**
 * Every stage change from the first interaction (`start`) up to `until`, as a pure function of
 * the events: the same events in any arrival order give the same timeline.
 *
 * With `resume`, only the changes at `from` or later: the instants before `from` are not tested
 * again, and `events` may leave out everything more than `resumeHorizonMs` before `from` except
 * the last two purchases and the last ACCOUNT_CLOSED (the rules never look further back). The
 * changes at `from` or later are exactly those of the whole timeline: every instant is tested on
 * the same counts, and the candidates at or after `from` come from events the rules still see.
 */
export function computeTimeline(
  events: readonly LifecycleEvent[],
  start: { at: number; interactionId: string },
  until: number,
  th: LifecycleThresholds,
  resume?: TimelineResume,
): Timeline {
  const byEvent = new Map<number, string>();
  for (const e of events) byEvent.set(e.at, e.interactionId);
  const from = Math.max(start.at, resume?.from ?? -Infinity);
  const instants = new Set<number>();
  if (start.at >= from) instants.add(start.at);
  for (const e of events) {
    if (e.at >= from) instants.add(e.at);
    if (e.type === 'PURCHASE') {
      // "more than N days": true from one millisecond after the N days.
      for (const t of [e.at + th.atRiskAfterDays * DAY_MS + 1, e.at + th.churnAfterDays * DAY_MS + 1, e.at + th.windowDays * DAY_MS]) if (t >= from) instants.add(t);
    } else if (e.type === 'REFERRAL' || e.type === 'SURVEY_RESPONSE') {
      const t = e.at + th.windowDays * DAY_MS;
      if (t >= from) instants.add(t);
    }
  }
  const candidates = [...instants].sort((a, b) => a - b);
  const inputs = new RuleInputs(events, th, resume?.purchasesBefore ?? 0);

  const transitions: ComputedTransition[] = [];
  let stage: LifecycleStage | null = resume?.stage ?? null;
  let since: number | null = resume?.since ?? null;
  let nextChangeAt: number | null = null;
  for (const t of candidates) {
    const result = match(inputs.at(t), th);
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

/** A sentence for people, built only from what the transition stored. */
export function explain(t: { to: LifecycleStage; at: Date | string | number; rule: number; facts: LifecycleFacts }): string {
  // Rule numbers outside the table read as the last rule, as they always have.
  const rule = RULE_BY_NUMBER.get(t.rule) ?? NEW_CUSTOMER_RULE;
  return `${t.to} since ${day(t.at)}: ${rule.explanation(t.facts, t.facts.thresholds)}`;
}
