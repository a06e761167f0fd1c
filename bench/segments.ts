/**
 * Saved segments a retailer would keep, for the write benchmarks: with them defined, every write
 * also keeps their memberships current, as it would in production. Each touches a different part
 * of what a write changes (figures, stage, RFM, journeys, channels, identifiers, consent); the
 * benchmarks' --segments takes the first N.
 */

const DAY_MS = 86_400_000;

export const SEGMENTS: Array<{ name: string; definition: () => Record<string, unknown> }> = [
  {
    name: 'loyal, going quiet',
    definition: () => ({ rfmSegments: ['LOYAL', 'AT_RISK'], minNetRevenue: '1000', channels: ['WEB', 'STORE'], consent: { purpose: 'EMAIL_MARKETING', status: 'GRANTED' } }),
  },
  { name: 'bought in the last 30 days', definition: () => ({ lastPurchaseAfter: new Date(Date.now() - 30 * DAY_MS).toISOString() }) },
  { name: 'open journey on the web', definition: () => ({ openJourney: true, channels: ['WEB'] }) },
  { name: 'repeat buyers', definition: () => ({ stages: ['ACTIVE', 'LOYAL', 'AMBASSADOR'], minOrderCount: 2 }) },
  { name: 'app users with an email', definition: () => ({ channels: ['APP'], identifierTypes: ['EMAIL'] }) },
];

const CREATE_SEGMENT = 'mutation($name: String!, $definition: SegmentDefinitionInput!) { createSegment(name: $name, definition: $definition) { id } }';
const SEGMENT_STATUS = 'query($id: ID!) { segment(id: $id) { status } }';
const DELETE_SEGMENT = 'mutation($id: ID!) { deleteSegment(id: $id) }';

/** Sends one operation with an admin key; its data, or a thrown error. */
export type Operation = <T>(query: string, variables: Record<string, unknown>) => Promise<T>;

/**
 * Creates the first `count` segments, named after `runId`, and waits until each is evaluated
 * (READY), so that the writes after it keep them current. On a failure those already created are
 * deleted before it is thrown.
 */
export async function createSegments(run: Operation, count: number, runId: string, timeoutMs = 60_000): Promise<string[]> {
  const ids: string[] = [];
  try {
    for (const segment of SEGMENTS.slice(0, count)) {
      const data = await run<{ createSegment: { id: string } }>(CREATE_SEGMENT, { name: `bench ${runId}: ${segment.name}`, definition: segment.definition() });
      ids.push(data.createSegment.id);
    }
    const until = Date.now() + timeoutMs;
    for (const id of ids) {
      for (;;) {
        const data = await run<{ segment: { status: string } | null }>(SEGMENT_STATUS, { id });
        if (data.segment?.status === 'READY') break;
        if (Date.now() > until) throw new Error(`segment ${id} was not evaluated within ${timeoutMs / 1000} s (status ${data.segment?.status})`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    return ids;
  } catch (err) {
    await deleteSegments(run, ids);
    throw err;
  }
}

/** Deletes segments (their memberships go with them); a failure is reported, not thrown. */
export async function deleteSegments(run: Operation, ids: string[]): Promise<void> {
  for (const id of ids) {
    try {
      await run(DELETE_SEGMENT, { id });
    } catch (err) {
      console.error(`could not delete the bench's segment ${id}: ${(err as Error).message}`);
    }
  }
}

/** The segments' names as a report line gives them. */
export function segmentNames(count: number): string {
  return count ? SEGMENTS.slice(0, count).map((s) => `"${s.name}"`).join(', ') : 'none (--segments 0)';
}
