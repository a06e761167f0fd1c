import type { DataSource } from 'typeorm';

import { cursorTime, decodeCursor, encodeCursor, toConnection, type ConnectionShape } from '../shared/connection';
import { withConnection, type Queryable } from '../../db/tx';
import { loadHistories, type CustomerHistory, type StoredTransition } from '../customers/customer-history';
import { toTransition } from '../customers/customer.service';
import { JourneyService, type JourneyOutcome } from '../journeys/journey.service';
import type { LifecycleTransition } from './lifecycle-transition.entity';
import { uuidv7 } from '../../db/uuid';
import { eventInsertSql, Topic, type CommitSignal, type NewEvent } from '../events/event';
import { fromUnits, toUnits } from '../shared/money';
import { LifecycleStage } from './lifecycle-stage.enum';
import { computeTimeline, LIFECYCLE_TYPES, type ComputedTransition, type LifecycleEvent, type LifecycleThresholds } from './rules';

/** What the lifecycle of one customer is computed from. */
export interface LifecycleInput {
  customerId: string;
  evaluatedAt: number | null;
  events: LifecycleEvent[];
  first: { at: number; interactionId: string } | null;
  lastInteractionAt: number | null;
  stored: StoredTransition[];
}


/** Everything written back for one customer: its row's derived columns and the transition diff. */
export interface LifecycleOutcome {
  customerId: string;
  stage: LifecycleStage;
  stageSince: Date | null;
  evaluatedAt: Date | null;
  nextEvaluationAt: Date | null;
  orderCount: number;
  grossRevenue: string;
  refunds: string;
  netRevenue: string;
  firstPurchaseAt: Date | null;
  lastPurchaseAt: Date | null;
  lastInteractionAt: Date | null;
  lastNpsScore: number | null;
  deleteTransitionIds: string[];
  insertTransitions: Array<ComputedTransition & { id: string }>;
  /**
   * The inserted transitions a subscriber has not been told about: a late interaction that
   * rewrites the history replaces transitions, and those that come back unchanged (same stages,
   * instant and rule) are not news.
   */
  news: Array<ComputedTransition & { id: string }>;
  /** The stage before this evaluation (PROSPECT for a customer seen for the first time). */
  previousStage: LifecycleStage | null;
}

const date = (ms: number | null) => (ms === null ? null : new Date(ms));

/**
 * Keeps stage, transitions and value metrics of customers equal to what their interactions say
 * (BRIEF §3). Both the write path and the sweep go through `load` → `compute` → write.
 */
export class LifecycleService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly thresholds: LifecycleThresholds,
    private readonly sweepBatchSize = 500,
    private readonly journeys?: JourneyService,
    private readonly signal?: CommitSignal,
    /** Where aggregates over every customer run: the analytics pool, apart from reads and writes. */
    private readonly analytics: DataSource = dataSource,
  ) {}

  /** The lifecycle's view of a customer's history. */
  static inputFrom(history: CustomerHistory): LifecycleInput {
    const events: LifecycleEvent[] = [];
    let last: number | null = null;
    for (const t of history.touches) {
      if (LIFECYCLE_TYPES.has(t.type)) events.push({ interactionId: t.interactionId, type: t.type as LifecycleEvent['type'], at: t.at, amount: t.amount, npsScore: t.npsScore });
      if (last === null || t.at > last) last = t.at;
    }
    const first = history.touches[0];
    return {
      customerId: history.customerId,
      evaluatedAt: history.evaluatedAt,
      events,
      first: first ? { at: first.at, interactionId: first.interactionId } : null,
      lastInteractionAt: last,
      stored: history.transitions,
    };
  }

  /**
   * Adds interactions not yet in the database (the batch being written) to a loaded input.
   * `input` may be a fresh one for a customer created by the batch.
   */
  static withPending(
    input: LifecycleInput,
    pending: ReadonlyArray<{ interactionId: string; type: string; at: number; amount: string | null; npsScore: number | null }>,
  ): LifecycleInput {
    if (pending.length === 0) return input;
    const events = [...input.events];
    let first = input.first;
    let last = input.lastInteractionAt;
    for (const p of pending) {
      if (LIFECYCLE_TYPES.has(p.type)) events.push({ interactionId: p.interactionId, type: p.type as LifecycleEvent['type'], at: p.at, amount: p.amount, npsScore: p.npsScore });
      if (!first || p.at < first.at || (p.at === first.at && p.interactionId < first.interactionId)) first = { at: p.at, interactionId: p.interactionId };
      if (last === null || p.at > last) last = p.at;
    }
    events.sort((a, b) => a.at - b.at || (a.interactionId < b.interactionId ? -1 : 1));
    return { ...input, events, first, lastInteractionAt: last };
  }

  static empty(customerId: string): LifecycleInput {
    return { customerId, evaluatedAt: null, events: [], first: null, lastInteractionAt: null, stored: [] };
  }

  /**
   * Stage, metrics and transition diff as of `until` (default: the later of the instant the
   * customer was last evaluated at and its latest interaction — a write never moves the clock
   * past what it knows; the sweep does).
   */
  compute(input: LifecycleInput, until?: number): LifecycleOutcome {
    const evaluatedAt = until ?? Math.max(input.evaluatedAt ?? -Infinity, input.lastInteractionAt ?? -Infinity);
    const timeline =
      input.first && Number.isFinite(evaluatedAt)
        ? computeTimeline(input.events, input.first, evaluatedAt, this.thresholds)
        : { transitions: [], stage: LifecycleStage.PROSPECT, since: null, nextChangeAt: null };

    // Keep the stored transitions that still hold; replace the rest.
    let keep = 0;
    while (
      keep < input.stored.length &&
      keep < timeline.transitions.length &&
      sameTransition(input.stored[keep], timeline.transitions[keep])
    ) {
      keep++;
    }

    // BigInt ten-thousandths: a Number would stop being exact past 2^53 of them (about 900 billion).
    let orders = 0;
    let gross = 0n;
    let refunds = 0n;
    let firstPurchase: number | null = null;
    let lastPurchase: number | null = null;
    let lastNps: number | null = null;
    for (const e of input.events) {
      if (e.type === 'PURCHASE') {
        orders++;
        gross += toUnits(e.amount);
        firstPurchase ??= e.at;
        lastPurchase = e.at;
      } else if (e.type === 'REFUND') {
        refunds += toUnits(e.amount);
      } else if (e.type === 'SURVEY_RESPONSE' && e.npsScore !== null) {
        lastNps = e.npsScore;
      }
    }
    const previous = input.stored.length ? (input.stored[input.stored.length - 1].to as LifecycleStage) : null;
    const insert = timeline.transitions.slice(keep).map((t) => ({ ...t, id: uuidv7() }));
    const replaced = new Set(input.stored.slice(keep).map((t) => `${t.from}>${t.to}@${t.at}#${t.rule}`));
    return {
      customerId: input.customerId,
      stage: timeline.stage,
      stageSince: date(timeline.since),
      evaluatedAt: Number.isFinite(evaluatedAt) ? new Date(evaluatedAt) : null,
      nextEvaluationAt: date(timeline.nextChangeAt),
      orderCount: orders,
      grossRevenue: fromUnits(gross),
      refunds: fromUnits(refunds),
      netRevenue: fromUnits(gross - refunds),
      firstPurchaseAt: date(firstPurchase),
      lastPurchaseAt: date(lastPurchase),
      lastInteractionAt: date(input.lastInteractionAt),
      lastNpsScore: lastNps,
      deleteTransitionIds: input.stored.slice(keep).map((t) => t.id),
      insertTransitions: insert,
      news: insert.filter((t) => !replaced.has(`${t.from}>${t.to}@${t.at}#${t.rule}`)),
      previousStage: previous,
    };
  }

  /**
   * Statement writing outcomes: the derived columns of existing customers, and the transition
   * diff. (The write path folds the customer columns into its own statement instead.)
   */
  transitionSql(outcomes: LifecycleOutcome[], param: (value: unknown, cast: string) => string, recordedAt: string): string[] {
    const parts: string[] = [];
    const deletes = outcomes.flatMap((o) => o.deleteTransitionIds);
    if (deletes.length) parts.push(`transition_delete AS (DELETE FROM lifecycle_transition WHERE id = ANY(${param(deletes, 'uuid[]')}))`);
    const inserts = outcomes.flatMap((o) => o.insertTransitions.map((t) => ({ customerId: o.customerId, t })));
    if (inserts.length) {
      parts.push(`transition_insert AS (
        INSERT INTO lifecycle_transition (id, customer_id, from_stage, to_stage, at, rule_number, rule_name, cause_interaction_id, facts, recorded_at)
        SELECT u.id, u.customer_id, u.from_stage, u.to_stage, u.at, u.rule, u.rule_name, u.cause, u.facts, ${recordedAt}
          FROM unnest(${param(inserts.map((i) => i.t.id), 'uuid[]')}, ${param(inserts.map((i) => i.customerId), 'uuid[]')},
                      ${param(inserts.map((i) => i.t.from), 'varchar[]')}, ${param(inserts.map((i) => i.t.to), 'varchar[]')},
                      ${param(inserts.map((i) => new Date(i.t.at)), 'timestamptz[]')}, ${param(inserts.map((i) => i.t.rule), 'smallint[]')},
                      ${param(inserts.map((i) => i.t.ruleName), 'varchar[]')}, ${param(inserts.map((i) => i.t.causeInteractionId), 'uuid[]')},
                      ${param(inserts.map((i) => JSON.stringify(i.t.facts)), 'jsonb[]')})
            AS u(id, customer_id, from_stage, to_stage, at, rule, rule_name, cause, facts))`);
    }
    return parts;
  }

  /** The live events of outcomes: one per transition that is news. */
  static events(outcomes: Iterable<LifecycleOutcome>): NewEvent[] {
    const events: NewEvent[] = [];
    for (const o of outcomes) {
      for (const t of o.news) {
        events.push({
          topic: Topic.LIFECYCLE_STAGE_CHANGED,
          customerId: o.customerId,
          payload: {
            transitionId: t.id,
            from: t.from,
            to: t.to,
            at: new Date(t.at).toISOString(),
            rule: t.rule,
            ruleName: t.ruleName,
            causeInteractionId: t.causeInteractionId,
            facts: t.facts as unknown as Record<string, unknown>,
          },
        });
      }
    }
    return events;
  }

  /** The derived customer columns, as `unnest` arguments in the order of LIFECYCLE_COLUMNS. */
  static columnArrays(outcomes: LifecycleOutcome[], param: (value: unknown, cast: string) => string): string[] {
    return [
      param(outcomes.map((o) => o.stage), 'varchar[]'),
      param(outcomes.map((o) => o.stageSince), 'timestamptz[]'),
      param(outcomes.map((o) => o.evaluatedAt), 'timestamptz[]'),
      param(outcomes.map((o) => o.nextEvaluationAt), 'timestamptz[]'),
      param(outcomes.map((o) => o.orderCount), 'int[]'),
      param(outcomes.map((o) => o.grossRevenue), 'numeric[]'),
      param(outcomes.map((o) => o.refunds), 'numeric[]'),
      param(outcomes.map((o) => o.netRevenue), 'numeric[]'),
      param(outcomes.map((o) => o.firstPurchaseAt), 'timestamptz[]'),
      param(outcomes.map((o) => o.lastPurchaseAt), 'timestamptz[]'),
      param(outcomes.map((o) => o.lastInteractionAt), 'timestamptz[]'),
      param(outcomes.map((o) => o.lastNpsScore), 'smallint[]'),
    ];
  }

  /**
   * Moves every customer whose stage changes by time alone at or before `asOf`, in batches
   * (FOR UPDATE SKIP LOCKED, so several servers can sweep at once). Only due customers are read.
   */
  async sweep(asOf: Date): Promise<{ examined: number; moved: number; movedByStage: Map<LifecycleStage, number> }> {
    let examined = 0;
    let moved = 0;
    const movedByStage = new Map<LifecycleStage, number>();
    for (;;) {
      const count = await withConnection(this.dataSource, async (tx) => {
        await tx.query('BEGIN');
        try {
          const due: Array<{ id: string }> = await tx.query(
            `SELECT id FROM customer
              WHERE next_evaluation_at <= $1 AND merged_into_id IS NULL
              ORDER BY next_evaluation_at
              LIMIT $2
                FOR UPDATE SKIP LOCKED`,
            [asOf, this.sweepBatchSize],
          );
          if (due.length === 0) {
            await tx.query('COMMIT');
            return 0;
          }
          const ids = due.map((d) => d.id);
          const histories = await loadHistories(tx, ids);
          const outcomes = [...histories.values()].map((h) => this.compute(LifecycleService.inputFrom(h), asOf.getTime()));
          const journeyOutcomes: JourneyOutcome[] = [];
          for (const o of outcomes) {
            const j = this.journeys?.compute(o.customerId, JourneyService.inputFrom(histories.get(o.customerId)!), [], asOf.getTime());
            if (!j) continue;
            journeyOutcomes.push(j);
            o.nextEvaluationAt = earliest(o.nextEvaluationAt, j.nextAbandonAt);
          }
          for (const o of outcomes) {
            if (o.stage !== o.previousStage) {
              moved++;
              movedByStage.set(o.stage, (movedByStage.get(o.stage) ?? 0) + 1);
            }
          }
          const events = LifecycleService.events(outcomes);
          await this.write(tx, outcomes, journeyOutcomes, events);
          await tx.query('COMMIT');
          if (events.length) this.signal?.committed();
          return due.length;
        } catch (err) {
          await tx.query('ROLLBACK').catch(() => undefined);
          throw err;
        }
      });
      examined += count;
      if (count < this.sweepBatchSize) break;
    }
    return { examined, moved, movedByStage };
  }

  /** Live customers per stage at `asOf`, from the transitions (customers with no interaction count as PROSPECT). */
  async distribution(asOf: Date): Promise<Map<string, number>> {
    const rows: Array<{ stage: string; n: number }> = await this.analytics.query(
      `SELECT coalesce(t.to_stage, 'PROSPECT') AS stage, count(*)::int AS n
         FROM customer c
         LEFT JOIN LATERAL (
           SELECT to_stage FROM lifecycle_transition t
            WHERE t.customer_id = c.id AND t.at <= $1
            ORDER BY t.at DESC, t.id DESC LIMIT 1) t ON true
        WHERE c.merged_into_id IS NULL
          AND (t.to_stage IS NOT NULL OR (c.last_interaction_at IS NULL AND c.created_at <= $1))
        GROUP BY 1`,
      [asOf],
    );
    return new Map(rows.map((r) => [r.stage, r.n]));
  }

  /** Transitions of live customers in [from, to), oldest first, keyset-paged on (at, id). */
  async transitions(from: Date | null, to: Date | null, first: number, after: string | null | undefined): Promise<ConnectionShape<LifecycleTransition>> {
    const cursor = decodeCursor(after, 'after');
    const rows: any[] = await this.dataSource.query(
      `SELECT t.*, ${cursorTime('t.at')} AS cursor_at
         FROM lifecycle_transition t JOIN customer c ON c.id = t.customer_id AND c.merged_into_id IS NULL
        WHERE ($1::timestamptz IS NULL OR t.at >= $1) AND ($2::timestamptz IS NULL OR t.at < $2)
          AND ($3::timestamptz IS NULL OR (t.at, t.id) > ($3::timestamptz, $4::uuid))
        ORDER BY t.at, t.id
        LIMIT $5`,
      [from, to, cursor?.at ?? null, cursor?.id ?? null, first + 1],
    );
    const cursors = new Map(rows.map((r) => [r.id as string, encodeCursor(r.cursor_at, r.id)]));
    return toConnection(rows.map(toTransition), first, (t) => cursors.get(t.id)!);
  }

  /** Transition counts per (from, to) pair in [from, to), for live customers. */
  async flow(from: Date | null, to: Date | null): Promise<Array<{ from: LifecycleStage | null; to: LifecycleStage; count: number }>> {
    const rows: Array<{ from_stage: LifecycleStage | null; to_stage: LifecycleStage; n: number }> = await this.analytics.query(
      `SELECT t.from_stage, t.to_stage, count(*)::int AS n
         FROM lifecycle_transition t JOIN customer c ON c.id = t.customer_id AND c.merged_into_id IS NULL
        WHERE ($1::timestamptz IS NULL OR t.at >= $1) AND ($2::timestamptz IS NULL OR t.at < $2)
        GROUP BY 1, 2
        ORDER BY 3 DESC, 1 NULLS FIRST, 2`,
      [from, to],
    );
    return rows.map((r) => ({ from: r.from_stage, to: r.to_stage, count: r.n }));
  }

  /** Writes outcomes of existing customers (the sweep's path). */
  private async write(db: Queryable, outcomes: LifecycleOutcome[], journeyOutcomes: JourneyOutcome[], events: NewEvent[]): Promise<void> {
    const params: unknown[] = [];
    const param = (value: unknown, cast: string) => {
      params.push(value);
      return `$${params.length}::${cast}`;
    };
    const parts = [
      `customer_update AS (
        UPDATE customer c SET ${LIFECYCLE_COLUMNS.map((col) => `${col} = u.${col}`).join(', ')}
          FROM unnest(${param(outcomes.map((o) => o.customerId), 'uuid[]')}, ${LifecycleService.columnArrays(outcomes, param).join(', ')})
            AS u(id, ${LIFECYCLE_COLUMNS.join(', ')})
         WHERE c.id = u.id)`,
      ...this.transitionSql(outcomes, param, 'now()'),
      ...(this.journeys?.sql(journeyOutcomes, param) ?? []),
      ...eventInsertSql(events, param),
    ];
    await db.query(`WITH ${parts.join(',\n')}\nSELECT 1`, params);
  }
}

export const LIFECYCLE_COLUMNS = [
  'stage',
  'stage_since',
  'evaluated_at',
  'next_evaluation_at',
  'order_count',
  'gross_revenue',
  'refunds',
  'net_revenue',
  'first_purchase_at',
  'last_purchase_at',
  'last_interaction_at',
  'last_nps_score',
] as const;

/** The earlier of a Date and a time in ms, either possibly absent. */
export function earliest(a: Date | null, b: number | null): Date | null {
  if (b === null) return a;
  return a === null || b < a.getTime() ? new Date(b) : a;
}

function sameTransition(stored: StoredTransition, computed: ComputedTransition): boolean {
  return (
    stored.from === computed.from &&
    stored.to === computed.to &&
    stored.at === computed.at &&
    stored.rule === computed.rule &&
    stored.cause === computed.causeInteractionId
  );
}
