import type { DataSource } from 'typeorm';

import { auditInsertSql, type AuditScope } from '../audit/audit';
import { AuditKind } from '../audit/audit.types';
import { sqlParams } from '../../db/params';
import { NotFoundError } from '../shared/errors';

type Row = Record<string, any>;

/** The document `exportCustomer` answers with and `npm run export-customer` writes. */
export interface CustomerExport {
  format: 'customer-graph.export/1';
  exportedAt: string;
  customer: Row;
  /** Customers merged into this one: their histories are part of it now. */
  mergedCustomers: Row[];
  identifiers: Row[];
  interactions: Row[];
  journeys: Row[];
  lifecycleHistory: Row[];
  consents: { inForce: Row[]; decisions: Row[] };
  merges: Row[];
  identityConflicts: Row[];
  erasures: Row[];
}

/**
 * Everything held about a person, in one JSON document, read in one snapshot: the profile, its
 * identifiers, every interaction (with what it carried), journeys, lifecycle history, metrics,
 * consents, the merges that formed it and the conflicts it was part of — what came from merged
 * customers included, since merges move it to the survivor. Column names as stored.
 */
export class ExportService {
  constructor(private readonly dataSource: DataSource) {}

  async export(customerId: string, audit: AuditScope): Promise<CustomerExport> {
    return this.dataSource.transaction('REPEATABLE READ', async (m) => {
      const q = (sql: string, params: unknown[]) => m.query(sql, params) as Promise<Row[]>;
      const [customer] = await q(
        `SELECT c.* FROM customer t JOIN customer c ON c.id = coalesce(t.merged_into_id, t.id) WHERE t.id = $1`,
        [customerId],
      );
      if (!customer) throw new NotFoundError(`No customer has the id ${customerId}.`);
      const id = customer.id;
      const mergedCustomers = await q(`SELECT id, created_at, updated_at, erased_at FROM customer WHERE merged_into_id = $1 ORDER BY created_at, id`, [id]);
      const ids = [id, ...mergedCustomers.map((c) => c.id)];
      const doc: CustomerExport = {
        format: 'customer-graph.export/1',
        exportedAt: new Date().toISOString(),
        customer,
        mergedCustomers,
        identifiers: await q(`SELECT type, value, raw_value, created_at FROM identifier WHERE customer_id = ANY($1::uuid[]) ORDER BY created_at, type, value`, [ids]),
        interactions: await q(
          `SELECT id, external_id, channel, type, name, occurred_at, received_at, amount, currency, nps_score, properties, identifiers, journey_id
             FROM interaction WHERE customer_id = ANY($1::uuid[]) ORDER BY occurred_at, id`,
          [ids],
        ),
        journeys: await q(`SELECT * FROM journey WHERE customer_id = ANY($1::uuid[]) ORDER BY started_at, id`, [ids]),
        lifecycleHistory: await q(`SELECT * FROM lifecycle_transition WHERE customer_id = ANY($1::uuid[]) ORDER BY at, id`, [ids]),
        consents: {
          inForce: await q(`SELECT purpose, status, at, channel, interaction_id FROM consent_state WHERE customer_id = ANY($1::uuid[]) ORDER BY purpose`, [ids]),
          decisions: await q(`SELECT id, purpose, status, at, channel, interaction_id, recorded_at FROM consent_decision WHERE customer_id = ANY($1::uuid[]) ORDER BY at, id`, [ids]),
        },
        merges: await q(`SELECT * FROM merge WHERE survivor_id = ANY($1::uuid[]) OR merged_id = ANY($1::uuid[]) ORDER BY at, id`, [ids]),
        identityConflicts: await q(`SELECT * FROM identity_conflict WHERE customer_id = ANY($1::uuid[]) OR other_customer_ids && $1::uuid[] ORDER BY at, id`, [ids]),
        erasures: await q(`SELECT id, at, reason, removed, suppressed FROM erasure WHERE customer_id = ANY($1::uuid[]) ORDER BY at`, [ids]),
      };
      const { params, param } = sqlParams();
      await m.query(
        `WITH ${auditInsertSql([{ ...audit, kind: AuditKind.EXPORT, customerIds: ids, details: { interactions: doc.interactions.length, identifiers: doc.identifiers.length } }], param).join(',')} SELECT 1`,
        params,
      );
      return doc;
    });
  }
}
