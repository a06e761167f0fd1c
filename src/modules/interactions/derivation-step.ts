import type { Param } from '../../db/params';
import type { Queryable } from '../../db/tx';
import type { NewEvent } from '../events/event';

/** An interaction of the batch, as derivation reads it before it is stored. */
export interface PendingTouch {
  interactionId: string;
  type: string;
  channel: string;
  at: number;
  /** NUMERIC as text. */
  amount: string | null;
  npsScore: number | null;
}

/**
 * What the write path asks of derivation (lifecycle and journeys). modules/derivation provides it
 * and the composition root hands it in: journeys and lifecycle read interactions, so interactions
 * must not import them back.
 */
export interface DerivationStep {
  /** `merged`: the customer survived a merge of this batch (its history changed before its latest interaction). */
  derive(db: Queryable, customers: ReadonlyArray<{ id: string; isNew: boolean; merged?: boolean }>, pending: ReadonlyMap<string, PendingTouch[]>): Promise<DerivedBatch>;
}

/** A batch's derived state, in the shape the batch's single write statement folds in. */
export interface DerivedBatch {
  /** Customer columns derivation owns; `columnValues` gives their values (an array and its cast per column) in this order. */
  readonly columns: readonly string[];
  columnValues(customerIds: readonly string[]): Array<[unknown[], string]>;
  /** The journey a pending interaction was put in. */
  journeyOf(customerId: string, interactionId: string): string | null;
  /** CTEs writing the derived state kept outside the customer row. */
  sql(param: Param, recordedAt: string): string[];
  /** Events of the derived changes, logged after the batch's own. */
  readonly events: NewEvent[];
}
