import type { DataSource } from 'typeorm';

import { cursorTime, decodeCursor, encodeCursor, toConnection, type ConnectionShape } from '../shared/connection';
import { ConsentStatus } from '../shared/consent-status.enum';
import type { IdentifierType } from '../shared/identifier-type.enum';
import { Customer } from './customer.entity';
import type { CustomerFilter } from './customer-filter.input';
import { sqlParams } from '../../db/params';

type Row = Record<string, any>;

export function toCustomer(row: Row): Customer {
  return Object.assign(new Customer(), {
    id: row.id,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    traits: row.traits,
    channels: row.channels,
    mergedIntoId: row.merged_into_id,
    stage: row.stage,
    stageSince: row.stage_since,
    evaluatedAt: row.evaluated_at,
    nextEvaluationAt: row.next_evaluation_at,
    orderCount: row.order_count,
    grossRevenue: row.gross_revenue,
    refunds: row.refunds,
    netRevenue: row.net_revenue,
    firstPurchaseAt: row.first_purchase_at,
    lastPurchaseAt: row.last_purchase_at,
    lastInteractionAt: row.last_interaction_at,
    lastNpsScore: row.last_nps_score,
    erasedAt: row.erased_at,
    cursor: row.cursor_at ? encodeCursor(row.cursor_at, row.id) : undefined,
  });
}

/**
 * Reads of customer profiles. What other domains hang on a customer (identifiers, interactions,
 * journeys, stage history) is read by each domain's repository.
 */
export class CustomerService {
  constructor(private readonly dataSource: DataSource) {}

  /** Customers by id, a merged id answering with its survivor; unknown ids are absent. */
  async byIds(ids: readonly string[]): Promise<Map<string, Customer>> {
    const rows: Row[] = await this.dataSource.query(
      `SELECT asked.id AS asked_id, c.*
         FROM unnest($1::uuid[]) AS asked(id)
         JOIN customer t ON t.id = asked.id
         JOIN customer c ON c.id = coalesce(t.merged_into_id, t.id)`,
      [ids],
    );
    return new Map(rows.map((row) => [row.asked_id, toCustomer(row)]));
  }

  /** The customer an id stands for now (itself, or its survivor), and every id merged into it. */
  survivorAndMerged(id: string): Promise<Array<{ survivor: string; merged: string[] }>> {
    return this.dataSource.query(
      `WITH s AS (SELECT coalesce(merged_into_id, id) AS id FROM customer WHERE id = $1)
       SELECT s.id AS survivor, ARRAY(SELECT c.id::text FROM customer c WHERE c.merged_into_id = s.id) AS merged FROM s`,
      [id],
    );
  }

  async byIdentifier(type: IdentifierType, value: string): Promise<Customer | null> {
    const rows: Row[] = await this.dataSource.query(
      `SELECT c.* FROM identifier i JOIN customer c ON c.id = i.customer_id WHERE i.type = $1 AND i.value = $2`,
      [type, value],
    );
    return rows[0] ? toCustomer(rows[0]) : null;
  }

  /** Newest first, keyset-paged on (created_at, id). */
  async page(first: number, after: string | null | undefined, filter: CustomerFilter | null | undefined): Promise<ConnectionShape<Customer>> {
    const where = ['c.merged_into_id IS NULL'];
    const { params, param } = sqlParams();
    const cursor = decodeCursor(after, 'after');
    if (cursor) where.push(`(c.created_at, c.id) < (${param(cursor.at)}::timestamptz, ${param(cursor.id)}::uuid)`);
    if (filter?.identifierType) {
      where.push(`EXISTS (SELECT 1 FROM identifier i WHERE i.customer_id = c.id AND i.type = ${param(filter.identifierType)})`);
    }
    if (filter?.channel) where.push(`c.channels @> ARRAY[${param(filter.channel)}]::varchar[]`);
    if (filter?.createdAfter) where.push(`c.created_at >= ${param(filter.createdAfter)}`);
    if (filter?.createdBefore) where.push(`c.created_at < ${param(filter.createdBefore)}`);
    if (filter?.updatedAfter) where.push(`c.updated_at >= ${param(filter.updatedAfter)}`);
    if (filter?.updatedBefore) where.push(`c.updated_at < ${param(filter.updatedBefore)}`);
    if (filter?.stages?.length) where.push(`c.stage = ANY(${param(filter.stages)}::varchar[])`);
    if (filter?.minNetRevenue) where.push(`c.net_revenue >= ${param(filter.minNetRevenue)}::numeric`);
    if (filter?.maxNetRevenue) where.push(`c.net_revenue <= ${param(filter.maxNetRevenue)}::numeric`);
    if (filter?.lastPurchaseBefore) where.push(`c.last_purchase_at < ${param(filter.lastPurchaseBefore)}`);
    if (filter?.lastPurchaseAfter) where.push(`c.last_purchase_at >= ${param(filter.lastPurchaseAfter)}`);
    if (filter?.segment) where.push(`EXISTS (SELECT 1 FROM segment_member m WHERE m.segment_id = ${param(filter.segment)}::uuid AND m.customer_id = c.id)`);
    if (filter?.consent) {
      const { purpose, status } = filter.consent;
      where.push(
        status === ConsentStatus.UNKNOWN
          ? `NOT EXISTS (SELECT 1 FROM consent_state s WHERE s.customer_id = c.id AND s.purpose = ${param(purpose)} AND s.status <> 'UNKNOWN')`
          : `EXISTS (SELECT 1 FROM consent_state s WHERE s.customer_id = c.id AND s.purpose = ${param(purpose)} AND s.status = ${param(status)})`,
      );
    }
    const rows: Row[] = await this.dataSource.query(
      `SELECT c.*, ${cursorTime('c.created_at')} AS cursor_at FROM customer c
        WHERE ${where.join(' AND ')}
        ORDER BY c.created_at DESC, c.id DESC
        LIMIT ${param(first + 1)}`,
      params,
    );
    return toConnection(rows.map(toCustomer), first, (c) => (c as Customer & { cursor: string }).cursor);
  }
}
