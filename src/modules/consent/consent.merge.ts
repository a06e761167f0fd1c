import { sqlParams } from '../../db/params';
import type { Tx } from '../../db/tx';
import { eventInsertSql, Topic, type NewEvent } from '../events/event';
import { ConsentStatus, type ConsentState } from './consent.types';
import { consentWriteSql, readStates, stateKey } from './consent.writer';

/** A consent conflict as stored in the merge ledger (`merge.consent_conflicts`). */
export interface StoredConsentConflict {
  purpose: string;
  keptStatus: ConsentStatus;
  keptAt: string;
  keptFrom: string;
  overriddenStatus: ConsentStatus;
  overriddenAt: string;
  overriddenFrom: string;
}

const newer = (a: ConsentState, b: ConsentState) => a.at.getTime() > b.at.getTime() || (a.at.getTime() === b.at.getTime() && a.decisionId > b.decisionId);

/**
 * Folds the consents of merged customers into their survivors: every decision moves, and per
 * purpose the most recent decision stays in force. Where the two had decided differently, the
 * conflict is returned for the merge ledger (by merged customer). `merges` in merge order, each
 * with its final survivor. Nothing to do, and no statement, when the merged held no consent.
 */
export async function mergeConsents(tx: Tx, merges: ReadonlyArray<{ survivorId: string; mergedId: string }>): Promise<Map<string, StoredConsentConflict[]>> {
  const conflicts = new Map<string, StoredConsentConflict[]>();
  const mergedIds = merges.map((m) => m.mergedId);
  const stored = await readStates(tx, [...new Set([...merges.map((m) => m.survivorId), ...mergedIds])]);
  if (![...stored.values()].some((s) => mergedIds.includes(s.customerId))) return conflicts;

  const current = new Map<string, ConsentState>();
  for (const s of stored.values()) if (!mergedIds.includes(s.customerId)) current.set(stateKey(s.customerId, s.purpose), s);
  for (const { survivorId, mergedId } of merges) {
    for (const m of stored.values()) {
      if (m.customerId !== mergedId) continue;
      const k = stateKey(survivorId, m.purpose);
      const cur = current.get(k);
      const moved = { ...m, customerId: survivorId };
      if (!cur) {
        current.set(k, moved);
        continue;
      }
      const [kept, lost, keptFrom, lostFrom] = newer(m, cur) ? [m, cur, mergedId, survivorId] : [cur, m, survivorId, mergedId];
      if (kept.status !== lost.status) {
        const list = conflicts.get(mergedId) ?? [];
        list.push({
          purpose: m.purpose,
          keptStatus: kept.status,
          keptAt: kept.at.toISOString(),
          keptFrom,
          overriddenStatus: lost.status,
          overriddenAt: lost.at.toISOString(),
          overriddenFrom: lostFrom,
        });
        conflicts.set(mergedId, list);
      }
      current.set(k, { ...kept, customerId: survivorId });
    }
  }

  // States of the survivors that changed, and the events of those whose status did.
  const states: ConsentState[] = [];
  const events: NewEvent[] = [];
  for (const [k, s] of current) {
    const before = stored.get(k);
    if (before && before.decisionId === s.decisionId) continue;
    states.push(s);
    const previous = before?.status ?? ConsentStatus.UNKNOWN;
    if (previous !== s.status) {
      events.push({
        topic: Topic.CONSENT_CHANGED,
        customerId: s.customerId,
        payload: { decisionId: s.decisionId, purpose: s.purpose, status: s.status, previousStatus: previous, at: s.at.toISOString(), channel: s.channel, interactionId: s.interactionId },
      });
    }
  }
  const { params, param } = sqlParams();
  const parts = [
    `consent_move AS (
      UPDATE consent_decision d SET customer_id = m.survivor
        FROM unnest(${param(mergedIds, 'uuid[]')}, ${param(merges.map((m) => m.survivorId), 'uuid[]')}) AS m(merged, survivor)
       WHERE d.customer_id = m.merged)`,
    `consent_drop AS (DELETE FROM consent_state WHERE customer_id = ANY(${param(mergedIds, 'uuid[]')}))`,
    ...consentWriteSql({ decisions: [], states, events: [], applied: new Map(), after: new Map() }, null, param, 'now()'),
    ...eventInsertSql(events, param),
  ];
  await tx.query(`WITH ${parts.join(',\n')}\nSELECT 1`, params);
  return conflicts;
}
