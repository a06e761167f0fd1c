import type { DataSource } from 'typeorm';

import { groupBy, push } from '../shared/group-by';
import { Identifier } from './identifier.entity';
import { Merge } from './merge.entity';

type Row = Record<string, any>;

export function toIdentifier(row: Row): Identifier {
  return Object.assign(new Identifier(), {
    id: row.id,
    customerId: row.customer_id,
    type: row.type,
    value: row.value,
    rawValue: row.raw_value,
    createdAt: row.created_at,
  });
}

export function toMerge(row: Row): Merge {
  return Object.assign(new Merge(), {
    id: row.id,
    survivorId: row.survivor_id,
    mergedId: row.merged_id,
    identifierType: row.identifier_type,
    identifierValue: row.identifier_value,
    interactionId: row.interaction_id,
    at: row.at,
    moved: row.moved,
    consentConflicts: row.consent_conflicts.map((c: any) => ({ ...c, keptAt: new Date(c.keptAt), overriddenAt: new Date(c.overriddenAt) })),
  });
}

/** Reads of identifiers and of the merge ledger, for many customers at once. */
export class IdentifierRepository {
  constructor(private readonly dataSource: DataSource) {}

  async identifiersOf(customerIds: readonly string[]): Promise<Map<string, Identifier[]>> {
    const rows: Row[] = await this.dataSource.query(
      `SELECT * FROM identifier WHERE customer_id = ANY($1::uuid[]) ORDER BY created_at, type, value`,
      [customerIds],
    );
    return groupBy(rows.map(toIdentifier), (i) => i.customerId);
  }

  /** The ledger entries that formed each customer, including those of customers it absorbed. */
  async mergesOf(customerIds: readonly string[]): Promise<Map<string, Merge[]>> {
    const rows: Row[] = await this.dataSource.query(
      `SELECT coalesce(s.merged_into_id, s.id) AS owner_id, m.*
         FROM merge m JOIN customer s ON s.id = m.survivor_id
        WHERE s.id = ANY($1::uuid[]) OR s.merged_into_id = ANY($1::uuid[])
        ORDER BY m.at, m.id`,
      [customerIds],
    );
    const byOwner = new Map<string, Merge[]>();
    for (const row of rows) push(byOwner, row.owner_id, toMerge(row));
    return byOwner;
  }
}
