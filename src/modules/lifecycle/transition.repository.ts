import type { DataSource } from 'typeorm';

import { groupBy } from '../shared/group-by';
import { LifecycleTransition } from './lifecycle-transition.entity';

type Row = Record<string, any>;

export function toTransition(row: Row): LifecycleTransition {
  return Object.assign(new LifecycleTransition(), {
    id: row.id,
    customerId: row.customer_id,
    from: row.from_stage,
    to: row.to_stage,
    at: row.at,
    rule: row.rule_number,
    ruleName: row.rule_name,
    causeInteractionId: row.cause_interaction_id,
    facts: row.facts,
    recordedAt: row.recorded_at,
  });
}

/** Reads of the stored stage history, for many customers at once. */
export class TransitionRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** Stage history of each customer, oldest first. */
  async transitionsOf(customerIds: readonly string[]): Promise<Map<string, LifecycleTransition[]>> {
    const rows: Row[] = await this.dataSource.query(
      `SELECT * FROM lifecycle_transition WHERE customer_id = ANY($1::uuid[]) ORDER BY at, id`,
      [customerIds],
    );
    return groupBy(rows.map(toTransition), (t) => t.customerId);
  }
}
