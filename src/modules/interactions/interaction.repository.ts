import type { DataSource } from 'typeorm';

import { cursorTime, decodeCursor, encodeCursor, toConnection, type ConnectionShape } from '../shared/connection';
import { groupBy } from '../shared/group-by';
import { formatMoney } from '../shared/money';
import { Interaction } from './interaction.entity';

type Row = Record<string, any>;

export const INTERACTION_COLUMNS = `i.id, i.customer_id, i.api_key_id, i.external_id, i.channel, i.type, i.name, i.occurred_at, i.received_at,
  i.amount, i.currency, i.nps_score, i.properties, i.identifiers, i.journey_id, ${cursorTime('i.occurred_at')} AS cursor_at`;

/** `defaultCurrency`: for an amount stored without a currency (the API never stores one). */
export function toInteraction(row: Row, defaultCurrency: string): Interaction & { cursor: string } {
  return Object.assign(new Interaction(), {
    id: row.id,
    customerId: row.customer_id,
    apiKeyId: row.api_key_id,
    externalId: row.external_id,
    channel: row.channel,
    type: row.type,
    name: row.name,
    occurredAt: row.occurred_at,
    receivedAt: row.received_at,
    amount: row.amount === null ? null : formatMoney(row.amount, row.currency ?? defaultCurrency),
    currency: row.currency,
    npsScore: row.nps_score,
    properties: row.properties,
    identifiers: row.identifiers,
    journeyId: row.journey_id,
    cursor: encodeCursor(row.cursor_at, row.id),
  });
}

export interface InteractionPageArgs {
  first: number;
  after?: string | null;
  channel?: string | null;
  type?: string | null;
}

/** Reads of stored interactions, by id, by customer (one page each) or by journey. */
export class InteractionRepository {
  constructor(
    private readonly dataSource: DataSource,
    /** config.defaultCurrency: that of any amount stored without one. */
    private readonly currency: string,
  ) {}

  async interactionsByIds(ids: readonly string[]): Promise<Map<string, Interaction>> {
    const rows: Row[] = await this.dataSource.query(`SELECT ${INTERACTION_COLUMNS} FROM interaction i WHERE i.id = ANY($1::uuid[])`, [ids]);
    return new Map(rows.map((row) => [row.id, toInteraction(row, this.currency)]));
  }

  /** One page of interactions (newest first) for each customer, in a single statement. */
  async interactionsOf(customerIds: readonly string[], args: InteractionPageArgs): Promise<Map<string, ConnectionShape<Interaction>>> {
    const cursor = decodeCursor(args.after, 'after');
    const rows: Row[] = await this.dataSource.query(
      `SELECT ${INTERACTION_COLUMNS}
         FROM unnest($1::uuid[]) AS c(id)
         CROSS JOIN LATERAL (
           SELECT * FROM interaction x
            WHERE x.customer_id = c.id
              AND ($2::varchar IS NULL OR x.channel = $2)
              AND ($3::varchar IS NULL OR x.type = $3)
              AND ($4::timestamptz IS NULL OR (x.occurred_at, x.id) < ($4::timestamptz, $5::uuid))
            ORDER BY x.occurred_at DESC, x.id DESC
            LIMIT $6) AS i`,
      [customerIds, args.channel ?? null, args.type ?? null, cursor?.at ?? null, cursor?.id ?? null, args.first + 1],
    );
    const grouped = groupBy(rows.map((row) => toInteraction(row, this.currency)), (i) => i.customerId);
    return new Map(customerIds.map((id) => [id, toConnection(grouped.get(id) ?? [], args.first, (i) => (i as Interaction & { cursor: string }).cursor)]));
  }

  /** Interactions of each journey, in order. */
  async interactionsOfJourneys(journeyIds: readonly string[]): Promise<Map<string, Interaction[]>> {
    const rows: Row[] = await this.dataSource.query(
      `SELECT ${INTERACTION_COLUMNS} FROM interaction i WHERE i.journey_id = ANY($1::uuid[]) ORDER BY i.occurred_at, i.id`,
      [journeyIds],
    );
    return groupBy(rows.map((row) => toInteraction(row, this.currency)), (i) => i.journeyId!);
  }
}
