import type { DataSource } from 'typeorm';

import { sqlParams } from '../../db/params';
import { inTransaction, withConnection, type Tx } from '../../db/tx';
import { uuidv7 } from '../../db/uuid';
import { auditInsertSql, type AuditScope } from '../audit/audit';
import { AuditKind } from '../audit/audit.types';
import { eventInsertSql, type CommitSignal } from '../events/event';
import type { Channel } from '../shared/channel.enum';
import { NotFoundError } from '../shared/errors';
import { groupBy } from '../shared/group-by';
import { ConsentStatus, type ConsentDecision, type ConsentResult } from './consent.types';
import { consentWriteSql, planConsents, readStates, stateKey } from './consent.writer';
import type { SegmentService } from '../segments/segment.service';

type Row = Record<string, any>;

function toDecision(row: Row): ConsentDecision {
  return {
    id: row.id,
    customerId: row.customer_id,
    purpose: row.purpose,
    status: row.status,
    at: row.at,
    channel: row.channel,
    interactionId: row.interaction_id,
    recordedAt: row.recorded_at,
    inForce: row.in_force,
  };
}

/** Consents by customer id: the decisions, where each stands, and decisions recorded on a known customer. */
export class ConsentService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly segments: Pick<SegmentService, 'refresh'>,
    private readonly signal?: CommitSignal,
  ) {}

  /** Every decision of each customer, oldest first (those moved in by merges included), the ones in force flagged. */
  async decisionsOf(customerIds: readonly string[]): Promise<Map<string, ConsentDecision[]>> {
    const rows: Row[] = await this.dataSource.query(
      `SELECT d.*, s.decision_id IS NOT NULL AS in_force
         FROM consent_decision d
         LEFT JOIN consent_state s ON s.customer_id = d.customer_id AND s.purpose = d.purpose AND s.decision_id = d.id
        WHERE d.customer_id = ANY($1::uuid[])
        ORDER BY d.at, d.recorded_at, d.id`,
      [customerIds],
    );
    return groupBy(rows.map(toDecision), (d) => d.customerId);
  }

  /**
   * Where each customer stands on `purposes` now; ids of merged customers answer for their
   * survivor. A purpose without a decision is UNKNOWN. For filters on live events.
   */
  async statusesOf(customerIds: readonly string[], purposes: readonly string[]): Promise<Map<string, ConsentStatus>> {
    const rows: Array<{ asked: string; purpose: string; status: ConsentStatus }> = await this.dataSource.query(
      `SELECT asked.id AS asked, s.purpose, s.status
         FROM unnest($1::uuid[]) AS asked(id)
         JOIN customer t ON t.id = asked.id
         JOIN consent_state s ON s.customer_id = coalesce(t.merged_into_id, t.id) AND s.purpose = ANY($2::varchar[])`,
      [customerIds, purposes],
    );
    return new Map(rows.map((r) => [stateKey(r.asked, r.purpose), r.status]));
  }

  /**
   * Records a decision for a known customer (or its survivor), in a transaction holding the
   * customer's row lock, so that it cannot cross a merge of that customer.
   */
  async setForCustomer(
    customerId: string,
    decision: { purpose: string; status: ConsentStatus; at: Date; channel: Channel },
    apiKeyId: string,
    audit: AuditScope,
  ): Promise<ConsentResult> {
    const result = await withConnection(this.dataSource, (tx) => inTransaction(tx, () => this.write(tx, customerId, decision, apiKeyId, audit)));
    this.signal?.committed();
    return result;
  }

  private async write(tx: Tx, customerId: string, d: { purpose: string; status: ConsentStatus; at: Date; channel: Channel }, apiKeyId: string, audit: AuditScope): Promise<ConsentResult> {
    const [row] = await tx.query<{ id: string }>(
      `SELECT c.id FROM customer t JOIN customer c ON c.id = coalesce(t.merged_into_id, t.id) WHERE t.id = $1 AND c.merged_into_id IS NULL FOR UPDATE OF c`,
      [customerId],
    );
    if (!row) throw new NotFoundError(`No customer has the id ${customerId}.`);
    const decision = { id: uuidv7(), customerId: row.id, purpose: d.purpose, status: d.status, at: d.at, channel: d.channel, interactionId: null };
    const plan = planConsents([decision], await readStates(tx, [row.id]));
    const { params, param } = sqlParams();
    const parts = [
      ...consentWriteSql(plan, apiKeyId, param, 'now()'),
      ...eventInsertSql(plan.events, param),
      ...auditInsertSql([{ ...audit, kind: AuditKind.MUTATION, customerIds: [row.id], details: { purpose: d.purpose, status: d.status, applied: plan.applied.get(decision.id) } }], param),
    ];
    await tx.query(`WITH ${parts.join(',\n')}\nSELECT 1`, params);
    await this.segments.refresh(tx, [row.id]);
    const state = plan.after.get(stateKey(row.id, d.purpose))!;
    return { customerId: row.id, purpose: d.purpose, status: state.status, since: state.at, applied: plan.applied.get(decision.id)! };
  }
}
