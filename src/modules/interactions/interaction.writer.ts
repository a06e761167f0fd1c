import { sqlParams } from '../../db/params';
import type { Tx } from '../../db/tx';
import { uuidv7 } from '../../db/uuid';
import { eventInsertSql, Topic, type NewEvent } from '../events/event';
import { auditInsertSql, type AuditEntry } from '../audit/audit';
import { consentWriteSql, type ConsentPlan } from '../consent/consent.writer';
import type { ResolutionPlan } from '../identity/resolution-plan';
import type { DerivedBatch } from './derivation-step';
import { rowSource } from './row-source';
import type { InteractionData } from './validate-interaction';

/** What one batch stores, once planned and derived. */
export interface BatchWrite {
  apiKeyId: string;
  now: Date;
  plan: ResolutionPlan;
  /** The interactions stored, with their pre-generated ids and final customers. */
  interactions: Array<{ id: string; customerId: string; data: InteractionData }>;
  derived: DerivedBatch;
  consents: ConsentPlan | null;
  /** Suppression hashes a fresh sign-up takes off the list. */
  liftedSuppressions: string[];
  /** Its audit rows: one per call it stores (several single calls may be written together). */
  audit: AuditEntry[];
}

/**
 * All the rows of a batch in one statement of data-modifying CTEs: new customers, identifiers,
 * interactions, conflicts, the update of the customers it touched, their derived state, consents,
 * the events and the audit rows, so that the log and the trail hold exactly what committed.
 * (Merges, which are rare, run before.)
 */
export async function writeBatch(tx: Tx, { apiKeyId, now, plan, interactions, derived, consents, liftedSuppressions, audit }: BatchWrite): Promise<void> {
  const { params, param: $ } = sqlParams();
  const parts: string[] = [];
  const at = $(now, 'timestamptz');
  const columns = derived.columns.join(', ');

  if (plan.newCustomers.length) {
    const cs = plan.newCustomers;
    parts.push(`new_customer AS (
      INSERT INTO customer (id, created_at, updated_at, traits, channels, merged_into_id, ${columns})
      SELECT u.id, u.created_at, ${at}, u.traits, ARRAY(SELECT jsonb_array_elements_text(u.channels))::varchar[], u.merged_into_id,
             ${derived.columns.map((col) => `u.${col}`).join(', ')}
        FROM unnest(${$(cs.map((c) => c.id), 'uuid[]')}, ${$(cs.map((c) => c.createdAt), 'timestamptz[]')},
                    ${$(cs.map((c) => JSON.stringify(plan.touched.get(c.id)?.traits ?? {})), 'jsonb[]')},
                    ${$(cs.map((c) => JSON.stringify([...(plan.touched.get(c.id)?.channels ?? [])].sort())), 'jsonb[]')},
                    ${$(cs.map((c) => c.mergedIntoId), 'uuid[]')}, ${derived.columnValues(cs.map((c) => c.id)).map(([values, cast]) => $(values, cast)).join(', ')})
          AS u(id, created_at, traits, channels, merged_into_id, ${columns}))`);
  }

  if (plan.newIdentifiers.length) {
    const ids = plan.newIdentifiers;
    parts.push(`new_identifier AS (
      INSERT INTO identifier (id, customer_id, type, value, raw_value, created_at)
      SELECT u.id, u.customer_id, u.type, u.value, u.raw_value, ${at}
        FROM unnest(${$(ids.map(() => uuidv7(now.getTime())), 'uuid[]')}, ${$(ids.map((i) => i.customerId), 'uuid[]')},
                    ${$(ids.map((i) => i.type), 'varchar[]')}, ${$(ids.map((i) => i.value), 'varchar[]')},
                    ${$(ids.map((i) => rawValue(i.raw)), 'varchar[]')}) AS u(id, customer_id, type, value, raw_value))`);
  }

  if (interactions.length) {
    const column = <T>(pick: (data: InteractionData) => T) => interactions.map((s) => pick(s.data));
    parts.push(`new_interaction AS (
      INSERT INTO interaction (id, customer_id, api_key_id, external_id, channel, type, name, occurred_at, received_at,
                               amount, currency, nps_score, properties, identifiers, journey_id)
      SELECT u.id, u.customer_id, ${$(apiKeyId, 'uuid')}, u.external_id, u.channel, u.type, u.name, u.occurred_at, ${at},
             u.amount, u.currency, u.nps_score, u.properties, u.identifiers, u.journey_id
        FROM unnest(${$(interactions.map((s) => s.id), 'uuid[]')}, ${$(interactions.map((s) => s.customerId), 'uuid[]')},
                    ${$(column((d) => d.externalId), 'varchar[]')}, ${$(column((d) => d.channel), 'varchar[]')},
                    ${$(column((d) => d.type), 'varchar[]')}, ${$(column((d) => d.name), 'varchar[]')},
                    ${$(column((d) => d.occurredAt), 'timestamptz[]')}, ${$(column((d) => d.amount), 'numeric[]')},
                    ${$(column((d) => d.currency), 'char(3)[]')}, ${$(column((d) => d.npsScore), 'smallint[]')},
                    ${$(column((d) => JSON.stringify(d.properties)), 'jsonb[]')},
                    ${$(column((d) => JSON.stringify(d.identifiers.map(({ type, value, raw }) => ({ type, value, raw })))), 'jsonb[]')},
                    ${$(interactions.map((s) => derived.journeyOf(s.customerId, s.id)), 'uuid[]')})
          AS u(id, customer_id, external_id, channel, type, name, occurred_at, amount, currency, nps_score, properties, identifiers, journey_id))`);
  }

  const existing = [...plan.touched.entries()].filter(([, t]) => !t.isNew);
  if (existing.length) {
    parts.push(`touched AS (
      UPDATE customer c
         SET updated_at = ${at},
             traits = c.traits || u.traits,
             channels = ARRAY(SELECT DISTINCT x FROM unnest(c.channels || ARRAY(SELECT jsonb_array_elements_text(u.channels))::varchar[]) AS x ORDER BY 1),
             ${derived.columns.map((col) => `${col} = u.${col}`).join(', ')}
        FROM ${rowSource($, [
          [existing.map(([id]) => id), 'uuid[]'],
          [existing.map(([, t]) => JSON.stringify(t.traits)), 'jsonb[]'],
          [existing.map(([, t]) => JSON.stringify([...t.channels])), 'jsonb[]'],
          ...derived.columnValues(existing.map(([id]) => id)),
        ])} AS u(id, traits, channels, ${columns})
       WHERE c.id = u.id)`);
  }

  if (plan.conflicts.length) {
    const cs = plan.conflicts;
    parts.push(`conflict AS (
      INSERT INTO identity_conflict (id, customer_id, other_customer_ids, identifier_type, identifier_value, interaction_id, reason, at)
      SELECT u.id, u.customer_id, ARRAY(SELECT jsonb_array_elements_text(u.others))::uuid[], u.type, u.value, u.interaction_id, u.reason, ${at}
        FROM unnest(${$(cs.map(() => uuidv7(now.getTime())), 'uuid[]')}, ${$(cs.map((c) => c.customerId), 'uuid[]')},
                    ${$(cs.map((c) => JSON.stringify(c.otherCustomerIds)), 'jsonb[]')}, ${$(cs.map((c) => c.identifier.type), 'varchar[]')},
                    ${$(cs.map((c) => c.identifier.value), 'varchar[]')}, ${$(cs.map((c) => c.interactionId), 'uuid[]')},
                    ${$(cs.map((c) => c.reason), 'text[]')}) AS u(id, customer_id, others, type, value, interaction_id, reason))`);
  }

  parts.push(...derived.sql($, at));
  if (consents) parts.push(...consentWriteSql(consents, apiKeyId, $, at));
  if (liftedSuppressions.length) parts.push(`suppression_lift AS (DELETE FROM suppressed_identifier WHERE hash = ANY(${$(liftedSuppressions, 'bpchar[]')}))`);
  parts.push(...auditInsertSql(audit, $, at));
  const events: NewEvent[] = interactions.map((s) => ({
    topic: Topic.INTERACTION_RECORDED,
    customerId: s.customerId,
    payload: { interactionId: s.id, type: s.data.type, channel: s.data.channel, occurredAt: s.data.occurredAt.toISOString() },
  }));
  parts.push(...eventInsertSql([...events, ...derived.events, ...(consents?.events ?? [])], $));
  if (parts.length) await tx.query(`WITH ${parts.join(',\n')}\nSELECT 1`, params);
}

/** The raw value as sent, cut to its column (256) without splitting a surrogate pair. */
function rawValue(raw: string): string {
  const cut = raw.slice(0, 256);
  return /[\ud800-\udbff]$/.test(cut) ? cut.slice(0, -1) : cut;
}
