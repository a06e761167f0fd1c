import type { DataSource } from 'typeorm';

import { cursorTime, decodeCursor, encodeCursor, toConnection, type ConnectionShape } from '../shared/connection';
import { Identifier } from '../identity/identifier.entity';
import { IdentifierType } from '../identity/identifier-type.enum';
import { Merge } from '../identity/merge.entity';
import { Interaction } from '../interactions/interaction.entity';
import { LifecycleTransition } from '../lifecycle/lifecycle-transition.entity';
import { Journey } from '../journeys/journey.entity';
import { STEP_ORDER, type JourneyStep } from '../journeys/journey-step.enum';
import { formatMoney } from '../shared/money';
import { Customer } from './customer.entity';
import type { CustomerFilter } from './customer-filter.input';

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
    cursor: row.cursor_at ? encodeCursor(row.cursor_at, row.id) : undefined,
  });
}

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
  });
}

/** `currency`: the deployment's, in which journeys and metrics are reported. */
export function toJourney(row: Row, currency: string): Journey & { cursor: string } {
  return Object.assign(new Journey(), {
    id: row.id,
    customerId: row.customer_id,
    status: row.status,
    startedAt: row.started_at,
    endedAt: row.ended_at,
    lastTouchAt: row.last_touch_at,
    furthestStep: row.furthest_step,
    steps: row.steps,
    channels: row.channels,
    firstTouchChannel: row.first_channel,
    lastTouchChannel: row.last_channel,
    touchpoints: row.touchpoints,
    purchaseInteractionId: row.purchase_interaction_id,
    amount: row.amount === null ? null : formatMoney(row.amount, currency),
    signature: row.signature,
    cursor: encodeCursor(row.cursor_at, row.id),
  });
}

export function toTransition(row: Row): LifecycleTransition {
  return Object.assign(new LifecycleTransition(), {
    id: row.id,
    customerId: row.customer_id,
    from: row.from_stage,
    to: row.to_stage,
    at: row.at,
    rule: row.rule_number,
    ruleName: row.rule_name,
    causeInteractionId: row.cause_interaction_id,
    facts: row.facts,
    recordedAt: row.recorded_at,
  });
}

export const INTERACTION_COLUMNS = `i.id, i.customer_id, i.api_key_id, i.external_id, i.channel, i.type, i.name, i.occurred_at, i.received_at,
  i.amount, i.currency, i.nps_score, i.properties, i.identifiers, i.journey_id, ${cursorTime('i.occurred_at')} AS cursor_at`;

export interface InteractionPageArgs {
  first: number;
  after?: string | null;
  channel?: string | null;
  type?: string | null;
}

/** Reads of the customer graph. Every method takes plain arguments and works on many ids at once. */
export class CustomerService {
  constructor(
    private readonly dataSource: DataSource,
    /** config.defaultCurrency: that of journey amounts, and of any amount stored without one. */
    private readonly currency: string,
  ) {}

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
    const params: unknown[] = [];
    const param = (value: unknown) => {
      params.push(value);
      return `$${params.length}`;
    };
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
    const rows: Row[] = await this.dataSource.query(
      `SELECT c.*, ${cursorTime('c.created_at')} AS cursor_at FROM customer c
        WHERE ${where.join(' AND ')}
        ORDER BY c.created_at DESC, c.id DESC
        LIMIT ${param(first + 1)}`,
      params,
    );
    return toConnection(rows.map(toCustomer), first, (c) => (c as Customer & { cursor: string }).cursor);
  }

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

  /** Stage history of each customer, oldest first. */
  async transitionsOf(customerIds: readonly string[]): Promise<Map<string, LifecycleTransition[]>> {
    const rows: Row[] = await this.dataSource.query(
      `SELECT * FROM lifecycle_transition WHERE customer_id = ANY($1::uuid[]) ORDER BY at, id`,
      [customerIds],
    );
    return groupBy(rows.map(toTransition), (t) => t.customerId);
  }

  /** One page of journeys (newest first) for each customer, in a single statement. */
  async journeysOf(customerIds: readonly string[], args: { first: number; after?: string | null; status?: string | null }): Promise<Map<string, ConnectionShape<Journey>>> {
    const cursor = decodeCursor(args.after, 'after');
    const rows: Row[] = await this.dataSource.query(
      `SELECT j.*, ${cursorTime('j.started_at')} AS cursor_at
         FROM unnest($1::uuid[]) AS c(id)
         CROSS JOIN LATERAL (
           SELECT * FROM journey x
            WHERE x.customer_id = c.id
              AND ($2::varchar IS NULL OR x.status = $2)
              AND ($3::timestamptz IS NULL OR (x.started_at, x.id) < ($3::timestamptz, $4::uuid))
            ORDER BY x.started_at DESC, x.id DESC
            LIMIT $5) AS j`,
      [customerIds, args.status ?? null, cursor?.at ?? null, cursor?.id ?? null, args.first + 1],
    );
    const grouped = groupBy(rows.map((row) => toJourney(row, this.currency)), (j) => j.customerId);
    return new Map(customerIds.map((id) => [id, toConnection(grouped.get(id) ?? [], args.first, (j) => (j as Journey & { cursor: string }).cursor)]));
  }

  async journeyById(id: string): Promise<Journey | null> {
    const rows: Row[] = await this.dataSource.query(
      `SELECT j.*, ${cursorTime('j.started_at')} AS cursor_at FROM journey j JOIN customer c ON c.id = j.customer_id AND c.merged_into_id IS NULL WHERE j.id = $1`,
      [id],
    );
    return rows[0] ? toJourney(rows[0], this.currency) : null;
  }

  /** Interactions of each journey, in order. */
  async interactionsOfJourneys(journeyIds: readonly string[]): Promise<Map<string, Interaction[]>> {
    const rows: Row[] = await this.dataSource.query(
      `SELECT ${INTERACTION_COLUMNS} FROM interaction i WHERE i.journey_id = ANY($1::uuid[]) ORDER BY i.occurred_at, i.id`,
      [journeyIds],
    );
    return groupBy(rows.map((row) => toInteraction(row, this.currency)), (i) => i.journeyId!);
  }

  /** Abandoned journeys that reached `minStep`, ended since `since`, newest first. */
  async abandonedJourneys(since: Date, minStep: JourneyStep, first: number, after: string | null | undefined): Promise<ConnectionShape<Journey>> {
    const cursor = decodeCursor(after, 'after');
    const steps = STEP_ORDER.slice(STEP_ORDER.indexOf(minStep));
    const rows: Row[] = await this.dataSource.query(
      `SELECT j.*, ${cursorTime('j.ended_at')} AS cursor_at
         FROM journey j JOIN customer c ON c.id = j.customer_id AND c.merged_into_id IS NULL
        WHERE j.status = 'ABANDONED' AND j.ended_at >= $1 AND j.furthest_step = ANY($2::varchar[])
          AND ($3::timestamptz IS NULL OR (j.ended_at, j.id) < ($3::timestamptz, $4::uuid))
        ORDER BY j.ended_at DESC, j.id DESC
        LIMIT $5`,
      [since, steps, cursor?.at ?? null, cursor?.id ?? null, first + 1],
    );
    return toConnection(rows.map((row) => toJourney(row, this.currency)), first, (j) => (j as Journey & { cursor: string }).cursor);
  }

  async interactionsByIds(ids: readonly string[]): Promise<Map<string, Interaction>> {
    const rows: Row[] = await this.dataSource.query(`SELECT ${INTERACTION_COLUMNS} FROM interaction i WHERE i.id = ANY($1::uuid[])`, [ids]);
    return new Map(rows.map((row) => [row.id, toInteraction(row, this.currency)]));
  }
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

function groupBy<T>(items: T[], key: (item: T) => string): Map<string, T[]> {
  const map = new Map<string, T[]>();
  for (const item of items) push(map, key(item), item);
  return map;
}
