import type { DataSource } from 'typeorm';

import { cursorTime, decodeCursor, encodeCursor, toConnection, type ConnectionShape } from '../shared/connection';
import type { LifecycleTransition } from './lifecycle-transition.entity';
import { LifecycleStage } from './lifecycle-stage.enum';
import { stageCountsSql } from './stage-at';
import { toTransition } from './transition.repository';

/** What a sweep did: customers examined, and those whose stage changed. */
export interface SweepResult {
  examined: number;
  moved: number;
  movedByStage: Map<LifecycleStage, number>;
}

/**
 * Moves every customer whose stage changes by time alone. It derives journeys too, so it lives
 * above lifecycle (modules/derivation/sweep.ts) and is handed in.
 */
export interface Sweeper {
  sweep(asOf: Date): Promise<SweepResult>;
}

/**
 * Stage questions over the whole base. Stages themselves are derived in
 * modules/derivation, from the rules of ./rules.ts.
 */
export class LifecycleService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly sweeper: Sweeper,
    /** Where aggregates over every customer run: the analytics pool, apart from reads and writes. */
    private readonly analytics: DataSource = dataSource,
  ) {}

  /** Moves every customer whose stage changes by time alone at or before `asOf`. */
  sweep(asOf: Date): Promise<SweepResult> {
    return this.sweeper.sweep(asOf);
  }

  /**
   * Live customers per stage at `asOf`, from the transitions (customers with no interaction count
   * as PROSPECT once created). Counted over whichever side of `asOf` costs less to read, as the
   * planner estimates it: the stored stages answer an `asOf` after the latest evaluation with one
   * scan of the customers, an early `asOf` reads the few transitions before it (stage-at.ts
   * `stageCountsSql` says why both equal a per-customer look-up).
   */
  async distribution(asOf: Date): Promise<Map<string, number>> {
    const rows: Array<{ stage: string; n: number }> = await this.analytics.transaction(async (m) => {
      // A few dozen groups from an index range: compiling the expressions (JIT) costs more than it saves.
      await m.query('SET LOCAL jit = off');
      // The planner's estimates (planning only: nothing is read).
      const estimated = async (query: string): Promise<number> => {
        const [row] = await m.query(`EXPLAIN (FORMAT JSON) ${query}`, query.includes('$1') ? [asOf] : []);
        const plan = row['QUERY PLAN'];
        return Number((typeof plan === 'string' ? JSON.parse(plan) : plan)[0].Plan['Plan Rows']);
      };
      const before = await estimated('SELECT 1 FROM lifecycle_transition t WHERE t.at <= $1');
      const after = await estimated('SELECT 1 FROM lifecycle_transition t WHERE t.at > $1');
      // The side after asOf also reads every live customer's stored stage, at about a transition's cost each.
      const customers = before > after ? await estimated('SELECT 1 FROM customer WHERE merged_into_id IS NULL') : 0;
      return m.query(stageCountsSql(before <= after + customers ? 'before' : 'after'), [asOf]);
    });
    return new Map(rows.map((r) => [r.stage, r.n]));
  }

  /** Transitions of live customers in [from, to), oldest first, keyset-paged on (at, id). */
  async transitions(from: Date | null, to: Date | null, first: number, after: string | null | undefined): Promise<ConnectionShape<LifecycleTransition>> {
    const cursor = decodeCursor(after, 'after');
    const rows: any[] = await this.dataSource.query(
      `SELECT t.*, ${cursorTime('t.at')} AS cursor_at
         FROM lifecycle_transition t JOIN customer c ON c.id = t.customer_id AND c.merged_into_id IS NULL
        WHERE ($1::timestamptz IS NULL OR t.at >= $1) AND ($2::timestamptz IS NULL OR t.at < $2)
          AND ($3::timestamptz IS NULL OR (t.at, t.id) > ($3::timestamptz, $4::uuid))
        ORDER BY t.at, t.id
        LIMIT $5`,
      [from, to, cursor?.at ?? null, cursor?.id ?? null, first + 1],
    );
    const cursors = new Map(rows.map((r) => [r.id as string, encodeCursor(r.cursor_at, r.id)]));
    return toConnection(rows.map(toTransition), first, (t) => cursors.get(t.id)!);
  }

  /** Transition counts per (from, to) pair in [from, to), for live customers. */
  async flow(from: Date | null, to: Date | null): Promise<Array<{ from: LifecycleStage | null; to: LifecycleStage; count: number }>> {
    const rows: Array<{ from_stage: LifecycleStage | null; to_stage: LifecycleStage; n: number }> = await this.analytics.query(
      `SELECT t.from_stage, t.to_stage, count(*)::int AS n
         FROM lifecycle_transition t JOIN customer c ON c.id = t.customer_id AND c.merged_into_id IS NULL
        WHERE ($1::timestamptz IS NULL OR t.at >= $1) AND ($2::timestamptz IS NULL OR t.at < $2)
        GROUP BY 1, 2
        ORDER BY 3 DESC, 1 NULLS FIRST, 2`,
      [from, to],
    );
    return rows.map((r) => ({ from: r.from_stage, to: r.to_stage, count: r.n }));
  }
}
