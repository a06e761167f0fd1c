/**
 * `LEFT JOIN LATERAL … t` giving `t.to_stage`, the stage of customer `customerId` at `instant`
 * (SQL expressions), from its stored transitions; NULL before its first one.
 */
export function stageAtJoin(customerId: string, instant: string): string {
  return `LEFT JOIN LATERAL (
           SELECT to_stage FROM lifecycle_transition t
            WHERE t.customer_id = ${customerId} AND t.at <= ${instant}
            ORDER BY t.at DESC, t.id DESC LIMIT 1) t ON true`;
}

/** Which transitions `stageCountsSql` reads: those at or before the instant, or those after it. */
export type CountedSide = 'before' | 'after';

/**
 * Live customers per stage at `$1`, as rows (stage, n), without looking customers up one by one:
 * the same answer as `stageAtJoin` over every live customer (see LifecycleService.distribution).
 *
 * It rests on what derivation stores for each customer: its transitions form one chain in time
 * order (the first from NULL, each next one from the previous one's stage, at most one per
 * instant), and its row's `stage` is the last one's `to_stage` (PROSPECT without transitions,
 * which are exactly the customers without interactions). So:
 *
 * - over the transitions at or before `$1`, counting +1 for each `to_stage` and −1 for each
 *   non-null `from_stage` leaves, per customer, +1 on its stage at `$1` and nothing elsewhere;
 * - the same count over the transitions after `$1`, taken away from the stored stages, leaves the
 *   same thing (a customer whose chain starts after `$1` cancels out: it had no stage yet), once
 *   the customers without interactions that did not exist yet at `$1` are taken away from PROSPECT.
 *
 * Both read (at, from_stage, to_stage) only, from the (at, id) INCLUDE index, and aggregate into a
 * handful of (from, to) groups: the cost is that of the side read, not of a look-up per customer.
 * Merged customers keep their transitions; theirs are counted on their own (few rows, from the
 * (customer_id, at) INCLUDE index) and taken away. Customers without interactions count as PROSPECT once created.
 */
export function stageCountsSql(side: CountedSide): string {
  const at = side === 'before' ? 't.at <= $1' : 't.at > $1';
  // Each counted transition adds its sign to its to_stage and takes it from its from_stage.
  const sign = side === 'before' ? 1 : -1;
  const pairs = `SELECT t.from_stage, t.to_stage, count(*) AS n FROM lifecycle_transition t WHERE ${at} GROUP BY 1, 2`;
  const mergedPairs = `SELECT t.from_stage, t.to_stage, count(*) AS n
                         FROM customer m JOIN lifecycle_transition t ON t.customer_id = m.id
                        WHERE m.merged_into_id IS NOT NULL AND ${at} GROUP BY 1, 2`;
  const stored =
    side === 'before'
      ? `SELECT 'PROSPECT' AS stage, count(*) AS n FROM customer
          WHERE merged_into_id IS NULL AND last_interaction_at IS NULL AND created_at <= $1`
      : // Stored stages (of every live customer: an index-only scan of customer_stage_idx where the
        // visibility map allows), less the customers without interactions created after $1.
        `SELECT stage, count(*) AS n FROM customer WHERE merged_into_id IS NULL GROUP BY stage
         UNION ALL
         SELECT 'PROSPECT', -count(*) FROM customer
          WHERE merged_into_id IS NULL AND last_interaction_at IS NULL AND created_at > $1`;
  return `WITH pairs AS (${pairs}), merged_pairs AS (${mergedPairs})
    SELECT stage, sum(n)::int AS n FROM (
      ${stored}
      UNION ALL SELECT to_stage, ${sign} * n FROM pairs
      UNION ALL SELECT from_stage, ${-sign} * n FROM pairs
      UNION ALL SELECT to_stage, ${-sign} * n FROM merged_pairs
      UNION ALL SELECT from_stage, ${sign} * n FROM merged_pairs) x
    WHERE stage IS NOT NULL
    GROUP BY stage
    HAVING sum(n) > 0`;
}
