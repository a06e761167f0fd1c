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
