import { sqlParams } from '../../db/params';
import type { Queryable } from '../../db/tx';
import { Topic } from '../events/event';
import { definitionSql, type Definition } from './definition';

/** A segment as the refresh needs it. */
export interface CompiledSegment {
  id: string;
  definition: Definition;
}

/**
 * Brings the memberships of `customerIds` in `segments` up to date, in one statement: who
 * should be a member now (live customers whose row matches the definition), who is, the rows to
 * insert and delete, and one event per entry and exit. Customers merged away leave every segment.
 * Runs in the caller's transaction, after its writes (a statement sees its own transaction's
 * earlier statements, not its own CTEs), with the customers' rows locked by the caller.
 */
export async function refreshMemberships(db: Queryable, segments: readonly CompiledSegment[], customerIds: readonly string[]): Promise<{ entered: number; left: number }> {
  if (segments.length === 0 || customerIds.length === 0) return { entered: 0, left: 0 };
  const { params, param } = sqlParams();
  const ids = param([...new Set(customerIds)], 'uuid[]');
  const segmentIds = param(segments.map((s) => s.id), 'uuid[]');
  const desired = segments
    .map(
      (s) => `SELECT ${param(s.id, 'uuid')} AS segment_id, c.id AS customer_id
                FROM customer c LEFT JOIN customer_value v ON v.customer_id = c.id
               WHERE c.id = ANY(${ids}) AND c.merged_into_id IS NULL AND (${definitionSql(s.definition, param)})`,
    )
    .join('\n UNION ALL\n');
  const [row] = await db.query<{ entered: number; left: number }>(
    `WITH desired AS (${desired}),
     current AS (SELECT segment_id, customer_id FROM segment_member WHERE customer_id = ANY(${ids}) AND segment_id = ANY(${segmentIds})),
     entered AS (
       INSERT INTO segment_member (segment_id, customer_id, since)
       SELECT d.segment_id, d.customer_id, now() FROM desired d
        -- A segment deleted since the caller read the definitions (another instance's cache) gains no members.
        WHERE EXISTS (SELECT 1 FROM segment s WHERE s.id = d.segment_id)
          AND NOT EXISTS (SELECT 1 FROM current m WHERE m.segment_id = d.segment_id AND m.customer_id = d.customer_id)
       ON CONFLICT DO NOTHING
       RETURNING segment_id, customer_id),
     exited AS (
       DELETE FROM segment_member m USING current x
        WHERE m.segment_id = x.segment_id AND m.customer_id = x.customer_id
          AND NOT EXISTS (SELECT 1 FROM desired d WHERE d.segment_id = x.segment_id AND d.customer_id = x.customer_id)
       RETURNING m.segment_id, m.customer_id),
     -- Exits before entries, so that a merge reads "the merged one left, the survivor entered".
     changes AS (SELECT segment_id, customer_id, 'ENTERED' AS change FROM entered UNION ALL SELECT segment_id, customer_id, 'LEFT' FROM exited),
     logged AS (
       INSERT INTO event (topic, customer_id, payload)
       SELECT '${Topic.SEGMENT_MEMBERSHIP_CHANGED}', customer_id, jsonb_build_object('segmentId', segment_id, 'change', change, 'at', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
         FROM changes ORDER BY segment_id, change DESC, customer_id)
     SELECT (SELECT count(*) FROM entered)::int AS entered, (SELECT count(*) FROM exited)::int AS left`,
    params,
  );
  return row;
}
