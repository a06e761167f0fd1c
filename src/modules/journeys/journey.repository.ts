import type { DataSource } from 'typeorm';

import { cursorTime, decodeCursor, encodeCursor, toConnection, type ConnectionShape } from '../shared/connection';
import { groupBy } from '../shared/group-by';
import { formatMoney } from '../shared/money';
import { Journey } from './journey.entity';
import { STEP_ORDER, type JourneyStep } from './journey-step.enum';

type Row = Record<string, any>;

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

export interface JourneyPageArgs {
  first: number;
  after?: string | null;
  status?: string | null;
}

const cursorOf = (j: Journey) => (j as Journey & { cursor: string }).cursor;

/** Reads of stored journeys: a page per customer in one statement, by id, the abandoned ones. */
export class JourneyRepository {
  constructor(
    private readonly dataSource: DataSource,
    /** config.defaultCurrency: that of journey amounts. */
    private readonly currency: string,
  ) {}

  /** One page of journeys (newest first) for each customer, in a single statement. */
  async journeysOf(customerIds: readonly string[], args: JourneyPageArgs): Promise<Map<string, ConnectionShape<Journey>>> {
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
    return new Map(customerIds.map((id) => [id, toConnection(grouped.get(id) ?? [], args.first, cursorOf)]));
  }

  async journeyById(id: string): Promise<Journey | null> {
    const rows: Row[] = await this.dataSource.query(
      `SELECT j.*, ${cursorTime('j.started_at')} AS cursor_at FROM journey j JOIN customer c ON c.id = j.customer_id AND c.merged_into_id IS NULL WHERE j.id = $1`,
      [id],
    );
    return rows[0] ? toJourney(rows[0], this.currency) : null;
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
    return toConnection(rows.map((row) => toJourney(row, this.currency)), first, cursorOf);
  }
}
