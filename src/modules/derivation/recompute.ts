import type { Param } from '../../db/params';
import type { Queryable } from '../../db/tx';
import type { NewEvent } from '../events/event';
import type { PendingTouch } from '../interactions/derivation-step';
import type { JourneyOutcome, JourneyService } from '../journeys/journey.service';
import type { JourneyCheckpoint, JourneyReplay } from '../journeys/journey.service';
import { evaluateLifecycle, lifecycleInput, resumeLifecycle, stageChangedEvents, withPending, type LifecycleCheckpoint, type LifecycleOutcome } from '../lifecycle/lifecycle-outcome';
import { resumeHorizonMs, type LifecycleThresholds } from '../lifecycle/rules';
import { emptyHistory, loadDerivationInputs, type CustomerHistory } from './customer-history';
import { derivedStateSql, LIFECYCLE_COLUMNS, lifecycleColumnValues } from './derived-state.writer';

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
  /** How far before the resume instant a checkpoint's lifecycle events reach. */
  readonly horizonMs: number;

  constructor(
    private readonly thresholds: LifecycleThresholds,
    private readonly journeys: JourneyService,
  ) {
    this.horizonMs = resumeHorizonMs(thresholds);
  }

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
   * `recompute` of the whole history, from a checkpoint: valid when every pending interaction
   * sorts after every stored one, and `until` (if given) is later than the stored evaluation
   * instant (lifecycle-outcome.ts `resumeLifecycle`, JourneyService `resume`).
   */
  resume(lifecycleCheckpoint: LifecycleCheckpoint, journeyCheckpoint: JourneyCheckpoint, pending: readonly PendingTouch[], until?: number): Derived {
    const lifecycle = resumeLifecycle(lifecycleCheckpoint, pending, this.thresholds, until);
    const journeys = this.journeys.resume(lifecycleCheckpoint.customerId, journeyCheckpoint, pending, lifecycle.evaluatedAt!.getTime());
    lifecycle.nextEvaluationAt = earliest(lifecycle.nextEvaluationAt, journeys.nextAbandonAt);
    return { lifecycle, journeys };
  }

  /**
   * `recompute` of the whole history, from a checkpoint at the first of the pending interactions
   * when some sort before stored ones (a late interaction): the lifecycle resumes from its instant,
   * the journeys are passed over again from it (JourneyService `replay`).
   */
  resumeLate(lifecycleCheckpoint: LifecycleCheckpoint, replay: JourneyReplay, pending: readonly PendingTouch[]): Derived {
    const lifecycle = resumeLifecycle(lifecycleCheckpoint, pending, this.thresholds);
    const journeys = this.journeys.replay(lifecycleCheckpoint.customerId, replay, pending, lifecycle.evaluatedAt!.getTime());
    lifecycle.nextEvaluationAt = earliest(lifecycle.nextEvaluationAt, journeys.nextAbandonAt);
    return { lifecycle, journeys };
  }

  /**
   * The derived state of every customer a batch touched, from what the database holds (merged
   * interactions included) plus the batch's own interactions; to be folded into the batch's
   * single write statement. Appends (every new interaction of a customer after its stored ones)
   * resume from a checkpoint whose size does not grow with the history; a late interaction from a
   * checkpoint at its own instant (what it reads grows with what came after it); a merge
   * survivor, a customer without stored interactions, or one whose new interactions come before
   * all its stored ones is derived from its whole history.
   */
  async derive(db: Queryable, customers: ReadonlyArray<{ id: string; isNew: boolean; merged?: boolean }>, pending: ReadonlyMap<string, PendingTouch[]>): Promise<DerivedBatch> {
    const touched = customers.filter((c) => !c.isNew).map((c) => ({ id: c.id, firstPending: earliestTouch(pending.get(c.id)), full: c.merged === true }));
    const inputs = await loadDerivationInputs(db, touched, this.horizonMs);
    const derived = new Map<string, Derived>();
    for (const { id } of customers) {
      const input = inputs.get(id);
      const own = pending.get(id) ?? [];
      if (input?.kind === 'resume') derived.set(id, this.resume(input.lifecycle, input.journeys, own));
      else if (input?.kind === 'late') derived.set(id, this.resumeLate(input.lifecycle, input.journeys, own));
      else derived.set(id, this.recompute(input?.history ?? emptyHistory(id), own));
    }
    return new DerivedBatch(derived, this);
  }
}

/** The first of touches by time, then id. */
function earliestTouch(touches: readonly PendingTouch[] | undefined): { at: number; interactionId: string } | null {
  let first: PendingTouch | null = null;
  for (const t of touches ?? []) if (!first || t.at < first.at || (t.at === first.at && t.interactionId < first.interactionId)) first = t;
  return first && { at: first.at, interactionId: first.interactionId };
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

  /** The derived customer columns, one array of values and its cast per column, in the order of `columns`. */
  columnValues(customerIds: readonly string[]): Array<[unknown[], string]> {
    // A customer created and merged away by the same batch was never derived: it stays a prospect.
    const outcomes = customerIds.map((id) => (this.derived.get(id) ?? this.derivation.recompute(emptyHistory(id))).lifecycle);
    return lifecycleColumnValues(outcomes);
  }

  journeyOf(customerId: string, interactionId: string): string | null {
    return this.derived.get(customerId)?.journeys.journeyOfPending.get(interactionId) ?? null;
  }

  sql(param: Param, recordedAt: string): string[] {
    return derivedStateSql([...this.derived.values()], param, recordedAt);
  }
}
