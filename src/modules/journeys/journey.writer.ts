import type { JourneyOutcome } from './journey.service';

/** Data-modifying CTEs writing the outcomes (upserts, deletions, interactions moved between journeys). */
export function journeyWriteSql(outcomes: JourneyOutcome[], param: (value: unknown, cast: string) => string): string[] {
  const parts: string[] = [];
  const upserts = outcomes.flatMap((o) => o.upsert.map((j) => ({ customerId: o.customerId, j })));
  if (upserts.length) {
    const col = <T>(pick: (u: (typeof upserts)[number]) => T, cast: string) => param(upserts.map(pick), cast);
    parts.push(`journey_upsert AS (
      INSERT INTO journey (id, customer_id, status, started_at, ended_at, last_touch_at, furthest_step, steps, channels,
                           first_channel, last_channel, touchpoints, purchase_interaction_id, amount, signature)
      SELECT u.id, u.customer_id, u.status, u.started_at, u.ended_at, u.last_touch_at, u.furthest_step,
             ARRAY(SELECT jsonb_array_elements_text(u.steps))::varchar[], ARRAY(SELECT jsonb_array_elements_text(u.channels))::varchar[],
             u.first_channel, u.last_channel, u.touchpoints, u.purchase_interaction_id, u.amount, u.signature
        FROM unnest(${col((u) => u.j.id, 'uuid[]')}, ${col((u) => u.customerId, 'uuid[]')}, ${col((u) => u.j.status, 'varchar[]')},
                    ${col((u) => new Date(u.j.startedAt), 'timestamptz[]')}, ${col((u) => (u.j.endedAt === null ? null : new Date(u.j.endedAt)), 'timestamptz[]')},
                    ${col((u) => new Date(u.j.lastTouchAt), 'timestamptz[]')}, ${col((u) => u.j.furthestStep, 'varchar[]')},
                    ${col((u) => JSON.stringify(u.j.steps), 'jsonb[]')}, ${col((u) => JSON.stringify(u.j.channels), 'jsonb[]')},
                    ${col((u) => u.j.firstChannel, 'varchar[]')}, ${col((u) => u.j.lastChannel, 'varchar[]')}, ${col((u) => u.j.touchpoints, 'int[]')},
                    ${col((u) => u.j.purchaseInteractionId, 'uuid[]')}, ${col((u) => u.j.amount, 'numeric[]')}, ${col((u) => u.j.signature, 'char(40)[]')})
          AS u(id, customer_id, status, started_at, ended_at, last_touch_at, furthest_step, steps, channels,
               first_channel, last_channel, touchpoints, purchase_interaction_id, amount, signature)
      ON CONFLICT (id) DO UPDATE SET
        customer_id = EXCLUDED.customer_id, status = EXCLUDED.status, started_at = EXCLUDED.started_at, ended_at = EXCLUDED.ended_at,
        last_touch_at = EXCLUDED.last_touch_at, furthest_step = EXCLUDED.furthest_step, steps = EXCLUDED.steps, channels = EXCLUDED.channels,
        first_channel = EXCLUDED.first_channel, last_channel = EXCLUDED.last_channel, touchpoints = EXCLUDED.touchpoints,
        purchase_interaction_id = EXCLUDED.purchase_interaction_id, amount = EXCLUDED.amount, signature = EXCLUDED.signature)`);
  }
  const deletes = outcomes.flatMap((o) => o.deleteIds);
  if (deletes.length) parts.push(`journey_delete AS (DELETE FROM journey WHERE id = ANY(${param(deletes, 'uuid[]')}))`);
  const moves = outcomes.flatMap((o) => o.reassign);
  if (moves.length) {
    parts.push(`journey_reassign AS (
      UPDATE interaction i SET journey_id = u.journey_id
        FROM unnest(${param(moves.map((m) => m.interactionId), 'uuid[]')}, ${param(moves.map((m) => m.journeyId), 'uuid[]')}) AS u(id, journey_id)
       WHERE i.id = u.id)`);
  }
  return parts;
}
