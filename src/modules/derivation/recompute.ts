import type { Param } from '../../db/params';
import type { Queryable } from '../../db/tx';
import type { NewEvent } from '../events/event';
import type { PendingTouch } from '../interactions/derivation-step';
import type { JourneyOutcome, JourneyService } from '../journeys/journey.service';
import { evaluateLifecycle, lifecycleInput, stageChangedEvents, withPending, type LifecycleOutcome } from '../lifecycle/lifecycle-outcome';
import type { LifecycleThresholds } from '../lifecycle/rules';
import { emptyHistory, loadHistories, type CustomerHistory } from './customer-history';
import { derivedStateSql, LIFECYCLE_COLUMNS, lifecycleColumnArrays } from './derived-state.writer';

export type { PendingTouch };

/** A customer's derived state, recomputed: what to write for its lifecycle and its journeys. */
export interface Derived {
  lifecycle: LifecycleOutcome;
  journeys: JourneyOutcome;
}

/** The earlier of a Date and a time in ms, either possibly absent. */
export function earliest(a: Date | null, b: number | null): Date | null {
  if (b === null) return a;
  return a === null || b < a.getTime() ? new Date(b) : a;
}

/**
 * Keeps stage, metrics, transitions and purchase journeys of customers equal to what their
 * interactions say (lifecycle/rules.ts, journeys/derive.ts). The write path and the sweep both go through `recompute`, so
 * that an interaction and the passing of time can never derive different things.
 */
export class Derivation {
  constructor(
    private readonly thresholds: LifecycleThresholds,
    private readonly journeys: JourneyService,
  ) {}

  /**
   * Lifecycle as of `until` (by default what the history knows: a write never moves the clock),
   * then journeys as of that same instant, then the earliest instant either changes by time alone.
   */
  recompute(history: CustomerHistory, pending: readonly PendingTouch[] = [], until?: number): Derived {
    const input = withPending(lifecycleInput(history.customerId, history.evaluatedAt, history.touches, history.transitions), pending);
    const lifecycle = evaluateLifecycle(input, this.thresholds, until);
    const journeys = this.journeys.compute(history.customerId, { touches: history.touches, stored: history.journeys }, pending, lifecycle.evaluatedAt?.getTime() ?? -Infinity);
    lifecycle.nextEvaluationAt = earliest(lifecycle.nextEvaluationAt, journeys.nextAbandonAt);
    return { lifecycle, journeys };
  }

  /**
   * The derived state of every customer a batch touched, from what the database holds (merged
   * interactions included) plus the batch's own interactions; to be folded into the batch's
   * single write statement.
   */
  async derive(db: Queryable, customers: ReadonlyArray<{ id: string; isNew: boolean }>, pending: ReadonlyMap<string, PendingTouch[]>): Promise<DerivedBatch> {
    const histories = await loadHistories(db, customers.filter((c) => !c.isNew).map((c) => c.id));
    const derived = new Map<string, Derived>();
    for (const { id } of customers) derived.set(id, this.recompute(histories.get(id) ?? emptyHistory(id), pending.get(id) ?? []));
    return new DerivedBatch(derived, this);
  }
}

/** What a batch's derivation writes, in the shape its write statement folds in. */
export class DerivedBatch {
  readonly columns = LIFECYCLE_COLUMNS;
  readonly events: NewEvent[];

  constructor(
    private readonly derived: Map<string, Derived>,
    private readonly derivation: Derivation,
  ) {
    this.events = stageChangedEvents([...derived.values()].map((d) => d.lifecycle));
  }

  /** The derived customer columns, as `unnest` arguments in the order of `columns`. */
  columnArrays(customerIds: readonly string[], param: Param): string[] {
    // A customer created and merged away by the same batch was never derived: it stays a prospect.
    const outcomes = customerIds.map((id) => (this.derived.get(id) ?? this.derivation.recompute(emptyHistory(id))).lifecycle);
    return lifecycleColumnArrays(outcomes, param);
  }

  journeyOf(customerId: string, interactionId: string): string | null {
    return this.derived.get(customerId)?.journeys.journeyOfPending.get(interactionId) ?? null;
  }

  sql(param: Param, recordedAt: string): string[] {
    return derivedStateSql([...this.derived.values()], param, recordedAt);
  }
}
