import type { DataSource } from 'typeorm';

import { inTransaction, withConnection, type Queryable } from '../../db/tx';
import type { CommitSignal } from '../events/event';
import type { LifecycleStage } from '../lifecycle/lifecycle-stage.enum';
import { stageChangedEvents } from '../lifecycle/lifecycle-outcome';
import type { SweepResult } from '../lifecycle/lifecycle.service';
import { loadDerivationInputs, loadHistories } from './customer-history';
import type { Derivation, Derived } from './recompute';
import { writeDerived } from './derived-state.writer';
import type { SegmentService } from '../segments/segment.service';

/** Told the result and duration of every sweep (metrics). */
export interface SweepObserver {
  swept(result: SweepResult, durationMs: number): void;
}

/**
 * Moves every customer whose stage changes (or whose journey is abandoned) by time alone at or
 * before `asOf`, in batches (FOR UPDATE SKIP LOCKED, so several servers can sweep at once). Only
 * due customers are read.
 */
export class Sweep {
  constructor(
    private readonly dataSource: DataSource,
    private readonly derivation: Derivation,
    private readonly batchSize = 500,
    private readonly signal?: CommitSignal,
    private readonly segments?: Pick<SegmentService, 'refresh'>,
    private readonly observer?: SweepObserver,
  ) {}

  async sweep(asOf: Date): Promise<SweepResult> {
    const started = performance.now();
    const result = await this.sweepBatches(asOf);
    this.observer?.swept(result, performance.now() - started);
    return result;
  }

  private async sweepBatches(asOf: Date): Promise<SweepResult> {
    let examined = 0;
    let moved = 0;
    const movedByStage = new Map<LifecycleStage, number>();
    for (;;) {
      const { count, wroteEvents } = await withConnection(this.dataSource, (tx) =>
        inTransaction(tx, async () => {
          const due: Array<{ id: string }> = await tx.query(
            `SELECT id FROM customer
              WHERE next_evaluation_at <= $1 AND merged_into_id IS NULL
              ORDER BY next_evaluation_at
              LIMIT $2
                FOR UPDATE SKIP LOCKED`,
            [asOf, this.batchSize],
          );
          if (due.length === 0) return { count: 0, wroteEvents: false };
          const derived = await this.deriveAsOf(tx, due.map((d) => d.id), asOf.getTime());
          for (const { lifecycle: o } of derived) {
            if (o.stage !== o.previousStage) {
              moved++;
              movedByStage.set(o.stage, (movedByStage.get(o.stage) ?? 0) + 1);
            }
          }
          const events = stageChangedEvents(derived.map((d) => d.lifecycle));
          await writeDerived(tx, derived, events);
          // The due customers only: what a sweep costs follows them, not the segments' sizes.
          await this.segments?.refresh(tx, due.map((d) => d.id));
          return { count: due.length, wroteEvents: true };
        }),
      );
      if (wroteEvents) this.signal?.committed();
      examined += count;
      if (count < this.batchSize) break;
    }
    return { examined, moved, movedByStage };
  }

  /**
   * Time passing is an append without interactions: each due customer resumes from its stored
   * evaluation instant, from a checkpoint; one evaluated at or after `asOf` already (or without
   * stored interactions) is derived from its whole history.
   */
  private async deriveAsOf(tx: Queryable, ids: string[], asOf: number): Promise<Derived[]> {
    const inputs = await loadDerivationInputs(tx, ids.map((id) => ({ id, firstPending: null, full: false })), this.derivation.horizonMs);
    const derived: Derived[] = [];
    const rest: string[] = [];
    for (const [id, input] of inputs) {
      if (input.kind === 'resume' && asOf > input.lifecycle.evaluatedAt) derived.push(this.derivation.resume(input.lifecycle, input.journeys, [], asOf));
      else if (input.kind === 'full') derived.push(this.derivation.recompute(input.history, [], asOf));
      else rest.push(id);
    }
    if (rest.length) for (const h of (await loadHistories(tx, rest)).values()) derived.push(this.derivation.recompute(h, [], asOf));
    return derived;
  }
}
