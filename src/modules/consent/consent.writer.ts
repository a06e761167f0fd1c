import type { Param } from '../../db/params';
import type { Queryable } from '../../db/tx';
import { Topic, type NewEvent } from '../events/event';
import type { Channel } from '../shared/channel.enum';
import { ConsentStatus, type ConsentState, type NewDecision } from './consent.types';

const key = (customerId: string, purpose: string) => `${customerId}\u0001${purpose}`;

/** What a set of new decisions does: the states to write, their events, and which decisions took effect. */
export interface ConsentPlan {
  decisions: NewDecision[];
  states: ConsentState[];
  events: NewEvent[];
  /** Decision id → it is now the one in force (false: an older decision, kept in the history only). */
  applied: Map<string, boolean>;
  /** The state in force after the plan, per (customer, purpose) touched. */
  after: Map<string, ConsentState>;
}

/**
 * The decision in force is the most recent by when the person made it; a tie goes to the one
 * recorded last. So a late (older) decision joins the history without overriding a newer one.
 * Pure: `current` holds the stored states of the customers concerned.
 */
export function planConsents(decisions: NewDecision[], current: ReadonlyMap<string, ConsentState>): ConsentPlan {
  const after = new Map(current);
  const changed = new Map<string, ConsentState>();
  const events: NewEvent[] = [];
  const applied = new Map<string, boolean>();
  for (const d of decisions) {
    const k = key(d.customerId, d.purpose);
    const before = after.get(k);
    if (before && d.at.getTime() < before.at.getTime()) {
      applied.set(d.id, false);
      continue;
    }
    const state: ConsentState = { customerId: d.customerId, purpose: d.purpose, status: d.status, at: d.at, decisionId: d.id, channel: d.channel, interactionId: d.interactionId };
    after.set(k, state);
    changed.set(k, state);
    applied.set(d.id, true);
    const previous = before?.status ?? ConsentStatus.UNKNOWN;
    if (previous !== d.status) {
      events.push({
        topic: Topic.CONSENT_CHANGED,
        customerId: d.customerId,
        payload: { decisionId: d.id, purpose: d.purpose, status: d.status, previousStatus: previous, at: d.at.toISOString(), channel: d.channel, interactionId: d.interactionId },
      });
    }
  }
  return { decisions, states: [...changed.values()], events, applied, after };
}

export const stateKey = key;

/** The stored states of these customers, keyed by (customer, purpose). */
export async function readStates(db: Queryable, customerIds: readonly string[]): Promise<Map<string, ConsentState>> {
  if (customerIds.length === 0) return new Map();
  const rows: Array<{ customer_id: string; purpose: string; status: ConsentStatus; at: Date; decision_id: string; channel: Channel; interaction_id: string | null }> = await db.query(
    `SELECT customer_id, purpose, status, at, decision_id, channel, interaction_id FROM consent_state WHERE customer_id = ANY($1::uuid[])`,
    [customerIds],
  );
  return new Map(
    rows.map((r) => [
      key(r.customer_id, r.purpose),
      { customerId: r.customer_id, purpose: r.purpose, status: r.status, at: r.at, decisionId: r.decision_id, channel: r.channel, interactionId: r.interaction_id },
    ]),
  );
}

/** Data-modifying CTEs storing a plan (decisions, states), for a write statement's WITH list. Its events go with the statement's others. */
export function consentWriteSql(plan: ConsentPlan, apiKeyId: string | null, param: Param, recordedAt: string): string[] {
  const parts: string[] = [];
  const ds = plan.decisions;
  if (ds.length) {
    parts.push(`consent_decision_insert AS (
      INSERT INTO consent_decision (id, customer_id, purpose, status, at, channel, interaction_id, api_key_id, recorded_at)
      SELECT u.id, u.customer_id, u.purpose, u.status, u.at, u.channel, u.interaction_id, ${param(apiKeyId, 'uuid')}, ${recordedAt}
        FROM unnest(${param(ds.map((d) => d.id), 'uuid[]')}, ${param(ds.map((d) => d.customerId), 'uuid[]')}, ${param(ds.map((d) => d.purpose), 'varchar[]')},
                    ${param(ds.map((d) => d.status), 'varchar[]')}, ${param(ds.map((d) => d.at), 'timestamptz[]')}, ${param(ds.map((d) => d.channel), 'varchar[]')},
                    ${param(ds.map((d) => d.interactionId), 'uuid[]')}) AS u(id, customer_id, purpose, status, at, channel, interaction_id))`);
  }
  const ss = plan.states;
  if (ss.length) {
    parts.push(`consent_state_upsert AS (
      INSERT INTO consent_state (customer_id, purpose, status, at, decision_id, channel, interaction_id)
      SELECT * FROM unnest(${param(ss.map((s) => s.customerId), 'uuid[]')}, ${param(ss.map((s) => s.purpose), 'varchar[]')}, ${param(ss.map((s) => s.status), 'varchar[]')},
                           ${param(ss.map((s) => s.at), 'timestamptz[]')}, ${param(ss.map((s) => s.decisionId), 'uuid[]')},
                           ${param(ss.map((s) => s.channel), 'varchar[]')}, ${param(ss.map((s) => s.interactionId), 'uuid[]')})
      ON CONFLICT (customer_id, purpose) DO UPDATE
        SET status = excluded.status, at = excluded.at, decision_id = excluded.decision_id, channel = excluded.channel, interaction_id = excluded.interaction_id)`);
  }
  return parts;
}
