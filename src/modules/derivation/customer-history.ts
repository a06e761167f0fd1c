import type { Queryable } from '../../db/tx';
import type { PendingTouch } from '../interactions/derivation-step';
import type { DerivedJourney } from '../journeys/derive';
import type { JourneyCheckpoint, JourneyReplay } from '../journeys/journey.service';
import type { LifecycleCheckpoint, StoredTransition } from '../lifecycle/lifecycle-outcome';
import { LIFECYCLE_TYPES, type LifecycleEvent } from '../lifecycle/rules';
import { byTimeThenId } from '../shared/time';

/** One stored interaction as the derivations (lifecycle, journeys) need it: a touch with its journey. */
export interface HistoryTouch extends PendingTouch {
  journeyId: string | null;
}

/** Everything derived state is computed from, for one customer. */
export interface CustomerHistory {
  customerId: string;
  /** The instant its stored stage reflects. */
  evaluatedAt: number | null;
  /** All its interactions, by time then id. */
  touches: HistoryTouch[];
  transitions: StoredTransition[];
  /** Stored journey id → signature. */
  journeys: Map<string, string>;
}

/** One stored touch as the history statements build it: json_build_array(id, type, channel, epoch ms, amount, nps, journey). */
const toTouch = ([interactionId, type, channel, at, amount, npsScore, journeyId]: any[]): HistoryTouch => ({ interactionId, type, channel, at: Number(at), amount, npsScore, journeyId });

/** A timestamp column in epoch ms, as the derivations take instants. */
const ms = (column: string) => `(extract(epoch FROM ${column}) * 1000)::bigint`;
/** One stored interaction, as `toTouch` reads it. */
const TOUCH_ROW = `json_build_array(i.id, i.type, i.channel, ${ms('i.occurred_at')}, i.amount::text, i.nps_score, i.journey_id)`;

/**
 * The histories of customers in one statement: their interactions, stored transitions and
 * journey signatures. Lifecycle and journeys are both derived from it.
 */
export async function loadHistories(db: Queryable, customerIds: readonly string[]): Promise<Map<string, CustomerHistory>> {
  const result = new Map<string, CustomerHistory>();
  if (customerIds.length === 0) return result;
  const rows: Array<{ id: string; evaluated_at: Date | null; touches: any[] | null; transitions: any[] | null; journeys: Array<[string, string]> | null }> = await db.query(
    `SELECT c.id, c.evaluated_at,
            (SELECT json_agg(${TOUCH_ROW} ORDER BY i.occurred_at, i.id) FROM interaction i WHERE i.customer_id = c.id) AS touches,
            (SELECT json_agg(json_build_array(t.id, t.from_stage, t.to_stage, (extract(epoch FROM t.at) * 1000)::bigint, t.rule_number, t.cause_interaction_id)
                             ORDER BY t.at, t.id)
               FROM lifecycle_transition t WHERE t.customer_id = c.id) AS transitions,
            (SELECT json_agg(json_build_array(j.id, j.signature)) FROM journey j WHERE j.customer_id = c.id) AS journeys
       FROM customer c WHERE c.id = ANY($1::uuid[])`,
    [customerIds],
  );
  for (const row of rows) {
    result.set(row.id, {
      customerId: row.id,
      evaluatedAt: row.evaluated_at ? row.evaluated_at.getTime() : null,
      touches: (row.touches ?? []).map(toTouch),
      transitions: (row.transitions ?? []).map(([id, from, to, at, rule, cause]) => ({ id, from, to, at: Number(at), rule, cause })),
      journeys: new Map(row.journeys ?? []),
    });
  }
  return result;
}

export function emptyHistory(customerId: string): CustomerHistory {
  return { customerId, evaluatedAt: null, touches: [], transitions: [], journeys: new Map() };
}

/** What a write is derived from: the whole history, a checkpoint (an append), or a checkpoint at a late interaction (see `loadDerivationInputs`). */
export type DerivationInput =
  | { kind: 'full'; history: CustomerHistory }
  | { kind: 'resume'; lifecycle: LifecycleCheckpoint; journeys: JourneyCheckpoint }
  | { kind: 'late'; lifecycle: LifecycleCheckpoint; journeys: JourneyReplay };

/** A customer a write touches, with the earliest of its interactions being written (time, then id). */
export interface TouchedCustomer {
  id: string;
  firstPending: { at: number; interactionId: string } | null;
  /** Derive from the whole history whatever the order (merged customers: their journeys were dropped). */
  full: boolean;
}

/** The parameters of each touched customer, in the order of the statement's `p`. */
const COLUMNS: Array<(c: TouchedCustomer) => unknown> = [(c) => c.id, (c) => c.firstPending?.at ?? null, (c) => c.firstPending?.interactionId ?? null, (c) => c.full];

const EPOCH_MS = (value: string) => `('epoch'::timestamptz + ${value} * interval '1 millisecond')`;
/**
 * The stored lifecycle events within the horizon but purchases, one range of
 * interaction_lifecycle_idx per type (an IN list equal to the index's predicate would be dropped
 * from the index condition, and the scan would read every lifecycle event of the customer).
 */
const WINDOW_EVENTS = [...LIFECYCLE_TYPES]
  .filter((type) => type !== 'PURCHASE')
  .map(
    (type) => `(SELECT id, type, occurred_at, amount, nps_score FROM interaction
                 WHERE customer_id = m.id AND type = '${type}' AND occurred_at >= m.resume_at - $5 * interval '1 millisecond')`,
  )
  .join(' UNION ALL ');
/**
 * The stored purchases within the horizon and the last two before it, as two arrays (instants in
 * ms, ids), in time order: the rules look only at when they happened, and a busy account holds
 * hundreds in its window. An index-only scan, without the rows' JSON.
 */
const WINDOW_PURCHASES = `(SELECT json_build_array(array_agg(${ms('w.occurred_at')} ORDER BY w.occurred_at, w.id), array_agg(w.id ORDER BY w.occurred_at, w.id))
    FROM ((SELECT id, occurred_at FROM interaction
            WHERE customer_id = m.id AND type = 'PURCHASE' AND occurred_at >= m.resume_at - $5 * interval '1 millisecond')
          UNION ALL
          (SELECT id, occurred_at FROM interaction
            WHERE customer_id = m.id AND type = 'PURCHASE' AND occurred_at < m.resume_at - $5 * interval '1 millisecond'
            ORDER BY occurred_at DESC, id DESC LIMIT 2)) w)`;
const JOURNEY_ROW = `json_build_array(j.id, j.status, ${ms('j.started_at')}, ${ms('j.ended_at')}, ${ms('j.last_touch_at')}, j.furthest_step, j.steps, j.channels,
                                     j.first_channel, j.last_channel, j.touchpoints, j.purchase_interaction_id, j.amount::text, j.signature)`;

/** The journey the customer's latest purchase (matching `condition` on `i`) converted: the latest converted journey then. */
const CONVERTED_JOURNEY = (condition = 'true') =>
  `(SELECT i.journey_id FROM interaction i WHERE i.customer_id = m.id AND i.type = 'PURCHASE' AND ${condition} ORDER BY i.occurred_at DESC, i.id DESC LIMIT 1)`;
/** Before or from the first late interaction, by time then id (interaction_customer_time_idx). */
const BEFORE_LATE = `(i.occurred_at, i.id) < (m.first_at, m.first_id)`;
const FROM_LATE = `(i.occurred_at, i.id) >= (m.first_at, m.first_id)`;
/**
 * The journeys' part of a late interaction's checkpoint (JourneyReplay): the stored interactions
 * from it on, the two journeys the pass stands on just before it with their interactions before
 * it, and the signatures of the journeys the pass can change.
 */
const LATE_JOURNEYS = `SELECT json_build_object(
         'latestId', k.latest_id, 'convertedId', k.converted_id,
         'lastBeforeAt', (SELECT ${ms('i.occurred_at')} FROM interaction i WHERE i.customer_id = m.id AND ${BEFORE_LATE} ORDER BY i.occurred_at DESC, i.id DESC LIMIT 1),
         'prior', (SELECT json_agg(${TOUCH_ROW} ORDER BY i.occurred_at, i.id) FROM interaction i WHERE i.journey_id IN (k.latest_id, k.converted_id) AND ${BEFORE_LATE}),
         'tail', (SELECT json_agg(${TOUCH_ROW} ORDER BY i.occurred_at, i.id) FROM interaction i WHERE i.customer_id = m.id AND ${FROM_LATE}),
         -- (Two scans: one with an OR would read every journey of the customer.)
         'journeys', (SELECT json_agg(json_build_array(j.id, j.signature))
                        FROM ((SELECT id, signature FROM journey WHERE customer_id = m.id AND (started_at, id) >= (m.first_at, m.first_id))
                              UNION ALL
                              (SELECT id, signature FROM journey WHERE id IN (k.latest_id, k.converted_id))) j))
       -- (The latest journey in two steps, as the checkpoint's: journey_customer_idx has no id.)
       FROM (SELECT coalesce(
                      (SELECT j.id FROM journey j WHERE j.customer_id = m.id AND j.started_at = m.first_at AND j.id < m.first_id ORDER BY j.id DESC LIMIT 1),
                      (SELECT j.id FROM journey j
                        WHERE j.customer_id = m.id
                          AND j.started_at = (SELECT started_at FROM journey WHERE customer_id = m.id AND started_at < m.first_at ORDER BY started_at DESC LIMIT 1)
                        ORDER BY j.id DESC LIMIT 1)) AS latest_id,
                    ${CONVERTED_JOURNEY(BEFORE_LATE)} AS converted_id) k`;

/**
 * What the derivation of each touched customer needs, in one statement. A customer whose new
 * interactions all sort after its stored ones (the common case: an append) gets a checkpoint —
 * its stored figures, the lifecycle events the rules can still see (`resumeHorizonMs`), the
 * transitions from the resume instant on, its latest and latest converted journeys — whose size
 * does not grow with its history. A customer with a late interaction (one that sorts before its
 * latest stored one) gets a checkpoint at the first late interaction: the same lifecycle part
 * resumed from its instant, and for the journeys the stored interactions from it on with the two
 * journeys the pass then stands on (`JourneyReplay`); its size grows with what came after the late
 * interaction, not with what came before. The others (a merge, a customer without stored
 * interactions, new interactions before all stored ones) get their whole history, as
 * `loadHistories` reads it.
 */
export async function loadDerivationInputs(db: Queryable, customers: readonly TouchedCustomer[], horizonMs: number): Promise<Map<string, DerivationInput>> {
  const result = new Map<string, DerivationInput>();
  if (customers.length === 0) return result;
  // One customer (a single write, the common case) by scalar parameters: PostgreSQL then settles
  // on a generic plan of the prepared statement instead of planning it on every call, which it
  // does for an array it cannot see the length of.
  const single = customers.length === 1;
  const rows: any[] = await db.query(
    `WITH p AS (
       SELECT p.id, p.force, c.evaluated_at, c.order_count, c.gross_revenue::text AS gross, c.refunds::text AS refunds,
              c.first_purchase_at, c.last_purchase_at, c.last_nps_score, l.at AS latest_at, l.id AS latest_id, o.at AS oldest_at, o.id AS oldest_id,
              ${EPOCH_MS('p.first_ms')} AS first_at, p.first_id
         FROM ${single ? '(SELECT $1::uuid, $2::bigint, $3::uuid, $4::bool)' : 'unnest($1::uuid[], $2::bigint[], $3::uuid[], $4::bool[])'} AS p(id, first_ms, first_id, force)
         JOIN customer c ON c.id = p.id
         LEFT JOIN LATERAL (SELECT i.occurred_at AS at, i.id FROM interaction i WHERE i.customer_id = p.id ORDER BY i.occurred_at DESC, i.id DESC LIMIT 1) l ON true
         LEFT JOIN LATERAL (SELECT i.occurred_at AS at, i.id FROM interaction i WHERE i.customer_id = p.id ORDER BY i.occurred_at, i.id LIMIT 1) o ON true
     ), m AS (
       SELECT p.*,
              (p.force OR p.latest_id IS NULL OR p.evaluated_at IS NULL OR (p.first_at IS NOT NULL AND (p.first_at, p.first_id) <= (p.oldest_at, p.oldest_id))) AS full,
              (p.first_at IS NOT NULL AND (p.first_at, p.first_id) <= (p.latest_at, p.latest_id)) AS late,
              least(p.first_at, p.evaluated_at + interval '1 millisecond') AS resume_at
         FROM p
     )
     SELECT m.id, m.full, m.late, ${ms('m.evaluated_at')} AS evaluated_ms,
            CASE WHEN m.full THEN
              (SELECT json_agg(${TOUCH_ROW} ORDER BY i.occurred_at, i.id)
                 FROM interaction i WHERE i.customer_id = m.id)
            END AS touches,
            CASE WHEN m.full THEN
              (SELECT json_agg(json_build_array(t.id, t.from_stage, t.to_stage, ${ms('t.at')}, t.rule_number, t.cause_interaction_id) ORDER BY t.at, t.id)
                 FROM lifecycle_transition t WHERE t.customer_id = m.id)
            ELSE
              (SELECT json_agg(json_build_array(t.id, t.from_stage, t.to_stage, ${ms('t.at')}, t.rule_number, t.cause_interaction_id) ORDER BY t.at, t.id)
                 -- (at = the latest instant, then by id: the index on (customer_id, at) finds it without reading the others.
                 -- ORDER BY … LIMIT 1 rather than max(): the generic plan expects one row per customer and
                 -- would aggregate them all, every transition or journey of a customer that has thousands.)
                 FROM ((SELECT * FROM lifecycle_transition
                         WHERE customer_id = m.id AND at = (SELECT at FROM lifecycle_transition WHERE customer_id = m.id AND at < m.resume_at ORDER BY at DESC LIMIT 1)
                         ORDER BY id DESC LIMIT 1)
                       UNION ALL
                       (SELECT * FROM lifecycle_transition WHERE customer_id = m.id AND at >= m.resume_at)) t)
            END AS transitions,
            CASE WHEN m.full THEN (SELECT json_agg(json_build_array(j.id, j.signature)) FROM journey j WHERE j.customer_id = m.id) END AS journeys,
            CASE WHEN NOT m.full THEN
              json_build_object(
                'resumeAt', ${ms('m.resume_at')}, 'latestAt', ${ms('m.latest_at')},
                'orders', m.order_count, 'gross', m.gross, 'refunds', m.refunds, 'firstPurchaseAt', ${ms('m.first_purchase_at')},
                'lastPurchaseAt', ${ms('m.last_purchase_at')}, 'lastNps', m.last_nps_score,
                'first', json_build_array(m.oldest_id, ${ms('m.oldest_at')}),
                'events', (SELECT json_agg(json_build_array(e.id, e.type, ${ms('e.occurred_at')}, e.amount::text, e.nps_score) ORDER BY e.occurred_at, e.id)
                             FROM (${WINDOW_EVENTS}
                                   UNION ALL
                                   (SELECT id, type, occurred_at, amount, nps_score FROM interaction
                                     WHERE customer_id = m.id AND type = 'ACCOUNT_CLOSED' AND occurred_at < m.resume_at - $5 * interval '1 millisecond'
                                     ORDER BY occurred_at DESC, id DESC LIMIT 1)) e),
                'purchases', ${WINDOW_PURCHASES},
                'latest', CASE WHEN NOT m.late THEN (SELECT ${JOURNEY_ROW} FROM journey j
                            WHERE j.customer_id = m.id AND j.started_at = (SELECT started_at FROM journey WHERE customer_id = m.id ORDER BY started_at DESC LIMIT 1)
                            ORDER BY j.id DESC LIMIT 1) END,
                -- The latest converted journey is the one the latest purchase converted.
                'converted', CASE WHEN NOT m.late THEN (SELECT ${JOURNEY_ROW} FROM journey j
                               WHERE j.id = ${CONVERTED_JOURNEY()}) END)
            END AS checkpoint,
            CASE WHEN m.late AND NOT m.full THEN (${LATE_JOURNEYS}) END AS replay
       FROM m`,
    [
      ...COLUMNS.map((column) => (single ? column(customers[0]) : customers.map(column))),
      horizonMs,
    ],
  );
  for (const row of rows) {
    const transitions: StoredTransition[] = (row.transitions ?? []).map(([id, from, to, at, rule, cause]: any[]) => ({ id, from, to, at: Number(at), rule, cause }));
    const evaluatedAt = row.evaluated_ms === null ? null : Number(row.evaluated_ms);
    if (row.full) {
      result.set(row.id, {
        kind: 'full',
        history: {
          customerId: row.id,
          evaluatedAt,
          touches: (row.touches ?? []).map(toTouch),
          transitions,
          journeys: new Map(row.journeys ?? []),
        },
      });
      continue;
    }
    const cp = row.checkpoint;
    const resumeAt = Number(cp.resumeAt);
    const before = transitions.length && transitions[0].at < resumeAt ? transitions[0] : null;
    const lastInteractionAt = Number(cp.latestAt);
    const lifecycle: LifecycleCheckpoint = {
      customerId: row.id,
      evaluatedAt: evaluatedAt!,
      first: { interactionId: cp.first[0], at: Number(cp.first[1]) },
      lastInteractionAt,
      orderCount: cp.orders,
      grossRevenue: cp.gross,
      refunds: cp.refunds,
      firstPurchaseAt: cp.firstPurchaseAt === null ? null : Number(cp.firstPurchaseAt),
      lastPurchaseAt: cp.lastPurchaseAt === null ? null : Number(cp.lastPurchaseAt),
      lastNpsScore: cp.lastNps,
      resumeAt,
      events: checkpointEvents(cp.events, cp.purchases),
      before,
      after: before ? transitions.slice(1) : transitions,
    };
    if (row.late) {
      const r = row.replay;
      result.set(row.id, {
        kind: 'late',
        lifecycle,
        journeys: {
          latestId: r.latestId,
          convertedId: r.convertedId,
          prior: (r.prior ?? []).map(toTouch),
          lastBeforeAt: r.lastBeforeAt === null ? null : Number(r.lastBeforeAt),
          tail: (r.tail ?? []).map(toTouch),
          stored: new Map(r.journeys ?? []),
        },
      });
    } else {
      result.set(row.id, { kind: 'resume', lifecycle, journeys: { latest: journeyRow(cp.latest), lastConverted: journeyRow(cp.converted), lastInteractionAt } });
    }
  }
  return result;
}

/**
 * The checkpoint's lifecycle events in time order, then id: its purchases (instants and ids only:
 * the figures come from the customer's stored columns) merged with the other events.
 */
function checkpointEvents(others: any[] | null, purchases: [number[] | null, string[] | null] | null): LifecycleEvent[] {
  const events: LifecycleEvent[] = (others ?? []).map(([interactionId, type, at, amount, npsScore]: any[]) => ({ interactionId, type, at: Number(at), amount, npsScore }));
  const [at, ids] = purchases ?? [null, null];
  (at ?? []).forEach((t, i) => events.push({ interactionId: ids![i], type: 'PURCHASE', at: Number(t), amount: null, npsScore: null }));
  return events.sort(byTimeThenId);
}

function journeyRow(row: any[] | null): DerivedJourney | null {
  if (!row) return null;
  const [id, status, startedAt, endedAt, lastTouchAt, furthestStep, steps, channels, firstChannel, lastChannel, touchpoints, purchaseInteractionId, amount, signature] = row;
  return {
    id,
    status,
    startedAt: Number(startedAt),
    endedAt: endedAt === null ? null : Number(endedAt),
    lastTouchAt: Number(lastTouchAt),
    furthestStep,
    steps,
    channels,
    firstChannel,
    lastChannel,
    touchpoints,
    purchaseInteractionId,
    amount,
    interactionIds: [],
    signature,
  };
}
