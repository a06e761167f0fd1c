import type { Queryable } from '../../db/tx';
import type { PendingTouch } from '../interactions/derivation-step';
import type { StoredTransition } from '../lifecycle/lifecycle-outcome';

/** One stored interaction as the derivations (lifecycle, journeys) need it: a touch with its journey. */
export interface HistoryTouch extends PendingTouch {
  journeyId: string | null;
}

/** Everything derived state is computed from, for one customer. */
export interface CustomerHistory {
  customerId: string;
  /** The instant its stored stage reflects. */
  evaluatedAt: number | null;
  /** All its interactions, by time then id. */
  touches: HistoryTouch[];
  transitions: StoredTransition[];
  /** Stored journey id → signature. */
  journeys: Map<string, string>;
}

/**
 * The histories of customers in one statement: their interactions, stored transitions and
 * journey signatures. Lifecycle and journeys are both derived from it.
 */
export async function loadHistories(db: Queryable, customerIds: readonly string[]): Promise<Map<string, CustomerHistory>> {
  const result = new Map<string, CustomerHistory>();
  if (customerIds.length === 0) return result;
  const rows: Array<{ id: string; evaluated_at: Date | null; touches: any[] | null; transitions: any[] | null; journeys: Array<[string, string]> | null }> = await db.query(
    `SELECT c.id, c.evaluated_at,
            (SELECT json_agg(json_build_array(i.id, i.type, i.channel, (extract(epoch FROM i.occurred_at) * 1000)::bigint, i.amount::text, i.nps_score, i.journey_id)
                             ORDER BY i.occurred_at, i.id)
               FROM interaction i WHERE i.customer_id = c.id) AS touches,
            (SELECT json_agg(json_build_array(t.id, t.from_stage, t.to_stage, (extract(epoch FROM t.at) * 1000)::bigint, t.rule_number, t.cause_interaction_id)
                             ORDER BY t.at, t.id)
               FROM lifecycle_transition t WHERE t.customer_id = c.id) AS transitions,
            (SELECT json_agg(json_build_array(j.id, j.signature)) FROM journey j WHERE j.customer_id = c.id) AS journeys
       FROM customer c WHERE c.id = ANY($1::uuid[])`,
    [customerIds],
  );
  for (const row of rows) {
    result.set(row.id, {
      customerId: row.id,
      evaluatedAt: row.evaluated_at ? row.evaluated_at.getTime() : null,
      touches: (row.touches ?? []).map(([interactionId, type, channel, at, amount, npsScore, journeyId]) => ({
        interactionId,
        type,
        channel,
        at: Number(at),
        amount,
        npsScore,
        journeyId,
      })),
      transitions: (row.transitions ?? []).map(([id, from, to, at, rule, cause]) => ({ id, from, to, at: Number(at), rule, cause })),
      journeys: new Map(row.journeys ?? []),
    });
  }
  return result;
}

export function emptyHistory(customerId: string): CustomerHistory {
  return { customerId, evaluatedAt: null, touches: [], transitions: [], journeys: new Map() };
}
