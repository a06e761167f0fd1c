
import { InputError } from '../shared/errors';

/**
 * The live event log's vocabulary: a topic per subscription, payloads of ids, enum values and
 * ISO strings only (they are stored as JSON in the `event` table and must read back the same on
 * every server instance).
 */
export enum Topic {
  LIFECYCLE_STAGE_CHANGED = 'LIFECYCLE_STAGE_CHANGED',
  INTERACTION_RECORDED = 'INTERACTION_RECORDED',
  CUSTOMER_MERGED = 'CUSTOMER_MERGED',
  CONSENT_CHANGED = 'CONSENT_CHANGED',
  CUSTOMER_ERASED = 'CUSTOMER_ERASED',
  SEGMENT_MEMBERSHIP_CHANGED = 'SEGMENT_MEMBERSHIP_CHANGED',
}

export interface StageChangedPayload {
  transitionId: string;
  from: string | null;
  to: string;
  at: string;
  rule: number;
  ruleName: string;
  causeInteractionId: string | null;
  /** The figures the rule looked at, so that the explanation can be given however the history is later revised. */
  facts: Record<string, unknown>;
}

export interface InteractionRecordedPayload {
  interactionId: string;
  type: string;
  channel: string;
  occurredAt: string;
}

export interface CustomerMergedPayload {
  mergeId: string;
  survivorId: string;
  mergedId: string;
  identifierType: string;
  /** Null once the person was erased. */
  identifierValue: string | null;
  interactionId: string | null;
  at: string;
}

export interface ConsentChangedPayload {
  decisionId: string;
  purpose: string;
  status: string;
  previousStatus: string;
  /** When the person decided. */
  at: string;
  channel: string;
  interactionId: string | null;
}

export interface CustomerErasedPayload {
  erasureId: string;
  /** The tombstones erased with it (customers merged into it). */
  mergedIds: string[];
  at: string;
}

export interface SegmentMembershipPayload {
  segmentId: string;
  change: 'ENTERED' | 'LEFT';
  at: string;
}

export interface PayloadOf {
  [Topic.LIFECYCLE_STAGE_CHANGED]: StageChangedPayload;
  [Topic.INTERACTION_RECORDED]: InteractionRecordedPayload;
  [Topic.CUSTOMER_MERGED]: CustomerMergedPayload;
  [Topic.CONSENT_CHANGED]: ConsentChangedPayload;
  [Topic.CUSTOMER_ERASED]: CustomerErasedPayload;
  [Topic.SEGMENT_MEMBERSHIP_CHANGED]: SegmentMembershipPayload;
}

/** An event about to be written, in the transaction of the change it reports. */
export type NewEvent = { [T in Topic]: { topic: T; customerId: string; payload: PayloadOf[T] } }[Topic];

/** The event of a merge: told to subscribers of the survivor, who now holds the merged customer's history. */
export function customerMergedEvent(payload: CustomerMergedPayload): NewEvent {
  return { topic: Topic.CUSTOMER_MERGED, customerId: payload.survivorId, payload };
}

/** A position in the log: the writing transaction's id, then the row's sequence number. */
export interface Position {
  xid: bigint;
  seq: bigint;
}

/** A committed event, as read back from the log. */
export type StoredEvent = NewEvent & { position: Position; cursor: string; recordedAt: Date };

export const START: Position = { xid: 0n, seq: 0n };

export function comparePositions(a: Position, b: Position): number {
  if (a.xid !== b.xid) return a.xid < b.xid ? -1 : 1;
  if (a.seq !== b.seq) return a.seq < b.seq ? -1 : 1;
  return 0;
}

const CURSOR_PREFIX = 'ev1:';

export function encodeEventCursor(p: Position): string {
  return CURSOR_PREFIX + Buffer.from(`${p.xid}:${p.seq}`).toString('base64url');
}

/** The position a cursor stands for; an InputError on the `field` when it is not one of ours. */
export function decodeEventCursor(cursor: string, field = 'after'): Position {
  const bad = () => new InputError([{ field, message: 'is not a cursor returned by a subscription event' }]);
  if (!cursor.startsWith(CURSOR_PREFIX) || cursor.length > 80) throw bad();
  const match = /^(\d{1,20}):(\d{1,20})$/.exec(Buffer.from(cursor.slice(CURSOR_PREFIX.length), 'base64url').toString());
  if (!match) throw bad();
  return { xid: BigInt(match[1]), seq: BigInt(match[2]) };
}

/**
 * The data-modifying CTE that appends `events` to the log, for a write statement's WITH list.
 * Rows get their sequence numbers in array order, and the transaction's id by default.
 */
export function eventInsertSql(events: NewEvent[], param: (value: unknown, cast: string) => string): string[] {
  if (events.length === 0) return [];
  return [
    `event_insert AS (
      INSERT INTO event (topic, customer_id, payload)
      SELECT * FROM unnest(${param(events.map((e) => e.topic), 'varchar[]')}, ${param(events.map((e) => e.customerId), 'uuid[]')},
                           ${param(events.map((e) => JSON.stringify(e.payload)), 'jsonb[]')}))`,
  ];
}

/** Told after a transaction that wrote events has committed (wakes the relays of all instances). */
export interface CommitSignal {
  committed(): void;
}
