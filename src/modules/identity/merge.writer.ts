import { sqlParams } from '../../db/params';
import type { Tx } from '../../db/tx';
import { uuidv7 } from '../../db/uuid';
import { mergeConsents, type StoredConsentConflict } from '../consent/consent.merge';
import { customerMergedEvent, eventInsertSql } from '../events/event';
import type { ResolutionPlan } from './resolution-plan';

/**
 * Folds merged customers into their survivors: profile first (in merge order, the survivor's
 * values win), then identifiers and interactions move, the losers become tombstones (older
 * tombstones re-pointed), and the ledger records what moved. Merges are rare: statement by
 * statement, before the batch's own write.
 */
export async function applyMerges(tx: Tx, now: Date, plan: ResolutionPlan): Promise<void> {
  const finalOf = new Map<string, string>();
  for (const m of plan.merges) finalOf.set(m.mergedId, m.survivorId);
  const resolve = (id: string) => {
    let current = id;
    while (finalOf.has(current)) current = finalOf.get(current)!;
    return current;
  };
  for (const m of plan.merges) {
    if (!m.mergedExists) continue;
    await tx.query(
      `UPDATE customer s
          SET traits = m.traits || s.traits,
              channels = ARRAY(SELECT DISTINCT x FROM unnest(s.channels || m.channels) AS x ORDER BY 1)
         FROM customer m
        WHERE s.id = $1 AND m.id = $2`,
      [m.survivorId, m.mergedId],
    );
  }
  const existingMerged = plan.merges.filter((m) => m.mergedExists);
  const movedInteractions = new Map<string, number>();
  let consentConflicts = new Map<string, StoredConsentConflict[]>();
  if (existingMerged.length) {
    const from = existingMerged.map((m) => m.mergedId);
    const to = existingMerged.map((m) => resolve(m.mergedId));
    await tx.query(
      `UPDATE identifier i SET customer_id = m.survivor FROM unnest($1::uuid[], $2::uuid[]) AS m(merged, survivor) WHERE i.customer_id = m.merged`,
      [from, to],
    );
    const moved: Array<{ merged: string; n: number }> = await tx.query(
      `WITH moved AS (
         UPDATE interaction i SET customer_id = m.survivor FROM unnest($1::uuid[], $2::uuid[]) AS m(merged, survivor)
          WHERE i.customer_id = m.merged RETURNING m.merged)
       SELECT merged, count(*)::int AS n FROM moved GROUP BY merged`,
      [from, to],
    );
    for (const row of moved) movedInteractions.set(row.merged, row.n);
    // The survivor's journeys are derived again from the union; the merged ones' go.
    await tx.query(`DELETE FROM journey WHERE customer_id = ANY($1::uuid[])`, [from]);
    await tx.query(
      `UPDATE customer c SET merged_into_id = m.survivor, updated_at = $3
         FROM unnest($1::uuid[], $2::uuid[]) AS m(merged, survivor)
        WHERE c.id = m.merged OR c.merged_into_id = m.merged`,
      [from, to, now],
    );
    // Per purpose the most recent decision stays in force; a disagreement goes in the ledger.
    consentConflicts = await mergeConsents(tx, existingMerged.map((m, i) => ({ survivorId: to[i], mergedId: m.mergedId })));
  }
  await writeLedger(tx, now, plan, movedInteractions, consentConflicts);
}

/** The ledger rows and their live events (customer: the survivor), in one statement. */
async function writeLedger(tx: Tx, now: Date, plan: ResolutionPlan, movedInteractions: Map<string, number>, consentConflicts: Map<string, StoredConsentConflict[]>): Promise<void> {
  const ms = plan.merges.map((m) => ({ ...m, id: uuidv7(now.getTime()) }));
  const { params, param } = sqlParams();
  const ledger = `ledger AS (
    INSERT INTO merge (id, survivor_id, merged_id, identifier_type, identifier_value, interaction_id, at, moved, consent_conflicts)
    SELECT u.id, u.survivor_id, u.merged_id, u.type, u.value, u.interaction_id, ${param(now, 'timestamptz')}, u.moved, u.consent_conflicts
      FROM unnest(${param(ms.map((m) => m.id), 'uuid[]')}, ${param(ms.map((m) => m.survivorId), 'uuid[]')}, ${param(ms.map((m) => m.mergedId), 'uuid[]')},
                  ${param(ms.map((m) => m.link.type), 'varchar[]')}, ${param(ms.map((m) => m.link.value), 'varchar[]')},
                  ${param(ms.map((m) => m.interactionId), 'uuid[]')},
                  ${param(ms.map((m) => JSON.stringify({ identifiers: m.movedIdentifiers, interactions: (movedInteractions.get(m.mergedId) ?? 0) + m.movedBatchInteractions })), 'jsonb[]')},
                  ${param(ms.map((m) => JSON.stringify(consentConflicts.get(m.mergedId) ?? [])), 'jsonb[]')})
        AS u(id, survivor_id, merged_id, type, value, interaction_id, moved, consent_conflicts))`;
  const events = ms.map((m) =>
    customerMergedEvent({
      mergeId: m.id,
      survivorId: m.survivorId,
      mergedId: m.mergedId,
      identifierType: m.link.type,
      identifierValue: m.link.value,
      interactionId: m.interactionId,
      at: now.toISOString(),
    }),
  );
  await tx.query(`WITH ${[ledger, ...eventInsertSql(events, param)].join(',\n')}\nSELECT 1`, params);
}
