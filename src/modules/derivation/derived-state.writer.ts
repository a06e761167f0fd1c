import { sqlParams, type Param } from '../../db/params';
import type { Queryable } from '../../db/tx';
import { eventInsertSql, type NewEvent } from '../events/event';
import { journeyWriteSql } from '../journeys/journey.writer';
import type { LifecycleOutcome } from '../lifecycle/lifecycle-outcome';
import type { Derived } from './recompute';

/** The customer columns derived from its interactions, in the order `lifecycleColumnArrays` gives them. */
export const LIFECYCLE_COLUMNS = [
  'stage',
  'stage_since',
  'evaluated_at',
  'next_evaluation_at',
  'order_count',
  'gross_revenue',
  'refunds',
  'net_revenue',
  'first_purchase_at',
  'last_purchase_at',
  'last_interaction_at',
  'last_nps_score',
] as const;

/** The derived customer columns, one array of values and its cast per column, in the order of LIFECYCLE_COLUMNS. */
export function lifecycleColumnValues(outcomes: LifecycleOutcome[]): Array<[unknown[], string]> {
  return [
    [outcomes.map((o) => o.stage), 'varchar[]'],
    [outcomes.map((o) => o.stageSince), 'timestamptz[]'],
    [outcomes.map((o) => o.evaluatedAt), 'timestamptz[]'],
    [outcomes.map((o) => o.nextEvaluationAt), 'timestamptz[]'],
    [outcomes.map((o) => o.orderCount), 'int[]'],
    [outcomes.map((o) => o.grossRevenue), 'numeric[]'],
    [outcomes.map((o) => o.refunds), 'numeric[]'],
    [outcomes.map((o) => o.netRevenue), 'numeric[]'],
    [outcomes.map((o) => o.firstPurchaseAt), 'timestamptz[]'],
    [outcomes.map((o) => o.lastPurchaseAt), 'timestamptz[]'],
    [outcomes.map((o) => o.lastInteractionAt), 'timestamptz[]'],
    [outcomes.map((o) => o.lastNpsScore), 'smallint[]'],
  ];
}

/** The derived customer columns, as `unnest` arguments in the order of LIFECYCLE_COLUMNS. */
export function lifecycleColumnArrays(outcomes: LifecycleOutcome[], param: Param): string[] {
  return lifecycleColumnValues(outcomes).map(([values, cast]) => param(values, cast));
}

/** The transition diff of outcomes, as data-modifying CTEs. */
function transitionSql(outcomes: LifecycleOutcome[], param: Param, recordedAt: string): string[] {
  const parts: string[] = [];
  const deletes = outcomes.flatMap((o) => o.deleteTransitionIds);
  if (deletes.length) parts.push(`transition_delete AS (DELETE FROM lifecycle_transition WHERE id = ANY(${param(deletes, 'uuid[]')}))`);
  const inserts = outcomes.flatMap((o) => o.insertTransitions.map((t) => ({ customerId: o.customerId, t })));
  if (inserts.length) {
    parts.push(`transition_insert AS (
      INSERT INTO lifecycle_transition (id, customer_id, from_stage, to_stage, at, rule_number, rule_name, cause_interaction_id, facts, recorded_at)
      SELECT u.id, u.customer_id, u.from_stage, u.to_stage, u.at, u.rule, u.rule_name, u.cause, u.facts, ${recordedAt}
        FROM unnest(${param(inserts.map((i) => i.t.id), 'uuid[]')}, ${param(inserts.map((i) => i.customerId), 'uuid[]')},
                    ${param(inserts.map((i) => i.t.from), 'varchar[]')}, ${param(inserts.map((i) => i.t.to), 'varchar[]')},
                    ${param(inserts.map((i) => new Date(i.t.at)), 'timestamptz[]')}, ${param(inserts.map((i) => i.t.rule), 'smallint[]')},
                    ${param(inserts.map((i) => i.t.ruleName), 'varchar[]')}, ${param(inserts.map((i) => i.t.causeInteractionId), 'uuid[]')},
                    ${param(inserts.map((i) => JSON.stringify(i.t.facts)), 'jsonb[]')})
          AS u(id, customer_id, from_stage, to_stage, at, rule, rule_name, cause, facts))`);
  }
  return parts;
}

/**
 * Data-modifying CTEs for the derived state kept outside the customer row (transitions and
 * journeys), for a write statement's WITH list: the write path folds the customer columns into
 * its own insert and update.
 */
export function derivedStateSql(derived: Derived[], param: Param, recordedAt: string): string[] {
  return [...transitionSql(derived.map((d) => d.lifecycle), param, recordedAt), ...journeyWriteSql(derived.map((d) => d.journeys), param)];
}

/** Writes the derived state of existing customers and its events in one statement (the sweep's path). */
export async function writeDerived(db: Queryable, derived: Derived[], events: NewEvent[]): Promise<void> {
  const { params, param } = sqlParams();
  const outcomes = derived.map((d) => d.lifecycle);
  const parts = [
    `customer_update AS (
      UPDATE customer c SET ${LIFECYCLE_COLUMNS.map((col) => `${col} = u.${col}`).join(', ')}
        FROM unnest(${param(outcomes.map((o) => o.customerId), 'uuid[]')}, ${lifecycleColumnArrays(outcomes, param).join(', ')})
          AS u(id, ${LIFECYCLE_COLUMNS.join(', ')})
       WHERE c.id = u.id)`,
    ...derivedStateSql(derived, param, 'now()'),
    ...eventInsertSql(events, param),
  ];
  await db.query(`WITH ${parts.join(',\n')}\nSELECT 1`, params);
}
