import type { DataSource } from 'typeorm';

import { inTransaction, withConnection, type TransactionOptions, type Tx } from '../../db/tx';
import { uuidv7 } from '../../db/uuid';
import type { InputProblem } from '../shared/errors';
import type { IdentifierLimits } from '../identity/guardrails';
import { applyMerges } from '../identity/merge.writer';
import { advisoryLocks, lockOwners, UnstableRead } from '../identity/owner-lock';
import { planResolution, type ResolutionRequest, type Warning } from '../identity/resolution-plan';
import type { NormalizedIdentifier } from '../identity/validate-identifiers';
import type { AuditEntry, AuditScope } from '../audit/audit';
import { AuditKind } from '../audit/audit.types';
import type { ConsentStatus, NewDecision } from '../consent/consent.types';
import { planConsents, readStates, stateKey, type ConsentPlan } from '../consent/consent.writer';
import type { CommitSignal } from '../events/event';
import type { Channel } from '../shared/channel.enum';
import type { Suppression } from '../identity/suppression';
import type { SegmentService } from '../segments/segment.service';
import type { DerivationStep, PendingTouch } from './derivation-step';
import { writeBatch } from './interaction.writer';
import type { InteractionData } from './validate-interaction';
import { WriteCombiner, type CombinerOptions, type Settled } from './write-combiner';

export enum RecordStatus {
  CREATED = 'CREATED',
  DUPLICATE = 'DUPLICATE',
  REJECTED = 'REJECTED',
}

/** A consent decision an item carries: made at `at`, on `channel`. */
export interface ConsentRequest {
  purpose: string;
  status: ConsentStatus;
  at: Date;
  channel: Channel;
}

/** One unit of work: an interaction to store, or (interaction null) an identify or setConsent call. */
export interface IngestItem {
  identifiers: NormalizedIdentifier[];
  traits: Record<string, unknown> | null;
  interaction: InteractionData | null;
  consents?: ConsentRequest[];
  /** The person signed up again and consented: identifiers on the suppression list are accepted (and taken off it). */
  freshSignUp?: boolean;
}

/** Where an item's consent decision left the purpose. */
export interface ConsentOutcome {
  purpose: string;
  status: ConsentStatus;
  since: Date | null;
  /** False when a more recent decision was already in force. */
  applied: boolean;
}

export interface IngestOutcome {
  status: RecordStatus;
  customerId: string | null;
  interactionId: string | null;
  warnings: Warning[];
  mergedCustomerIds: string[];
  /** Problems found here: paths relative to the item (`identifiers[0]`). */
  problems: InputProblem[];
  consents?: ConsentOutcome[];
}

/**
 * The audit rows of a write: one for the whole call (`whole`), or one per item when each item is
 * a single call of its own, written together with others (`perItem`).
 */
type AuditPlan = { whole: AuditScope | null } | { perItem: Array<AuditScope | null> };

/** A single call waiting to be written with others of its key. */
interface SingleCall {
  item: IngestItem;
  audit: AuditScope | null;
}

/** Told the outcomes of every ingest call, once it has committed (metrics). */
export interface IngestObserver {
  ingested(outcomes: readonly IngestOutcome[]): void;
  /** Single calls of one key taken for one write (1: a call written alone). */
  combined?(calls: number): void;
}

export const SUPPRESSED_IDENTIFIER = 'SUPPRESSED_IDENTIFIER';

const RETRYABLE = new Set(['40P01', '40001', '23505', '55P03']);
const MAX_ATTEMPTS = 8;
/** SQLSTATE classes a single bad value can cause: data exception, integrity, program limit. */
const ITEM_ERROR = /^(22|23|54)/;

function isRetryable(err: unknown): boolean {
  return err instanceof UnstableRead || RETRYABLE.has((err as { code?: string })?.code ?? '');
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Stores interactions and identify calls, a batch at a time, in one transaction of four
 * statements (BEGIN, read, write, COMMIT; one more when known customers are involved, a few
 * per merge). Concurrency rests on three rules:
 *  - the unique indexes on (type, value) of identifiers and on (API key, external id) of
 *    interactions make a race that slips through fail, and a failed transaction is retried from
 *    scratch (so is a deadlock);
 *  - every customer an identifier of the batch belongs to is row-locked, and the owners re-read
 *    until nothing moved, so a merge and a write to the customer being merged queue;
 *  - small writes also take an advisory lock per identifier and external id (one sorted
 *    statement, so lock order is global): concurrent writers of the same new person queue
 *    instead of colliding and retrying.
 */
export class IngestService {
  private readonly limits: IdentifierLimits;
  private readonly combiner: WriteCombiner<SingleCall, IngestOutcome>;

  constructor(
    private readonly dataSource: DataSource,
    config: { identifierLimits: IdentifierLimits; combine: CombinerOptions },
    private readonly derivation: DerivationStep,
    private readonly suppression: Suppression,
    private readonly segments: Pick<SegmentService, 'refresh'>,
    private readonly signal?: CommitSignal,
    private readonly observer?: IngestObserver,
  ) {
    this.limits = config.identifierLimits;
    this.combiner = new WriteCombiner(config.combine, (apiKeyId, calls) => this.ingestCalls(apiKeyId, calls));
  }

  /**
   * One single call (recordInteraction): stored alone when the key has no write running, or
   * together with the key's other single calls that arrive meanwhile (WriteCombiner). Either way
   * it gets its own outcome, its own audit row, and fails alone: written together or not, an
   * item is stored whole or not at all.
   */
  ingestOne(apiKeyId: string, item: IngestItem, audit: AuditScope | null = null): Promise<IngestOutcome> {
    return this.combiner.submit(apiKeyId, { item, audit });
  }

  /** Single calls waiting for a running write of their key (the metric cg_single_writes_queued). */
  get queued(): number {
    return this.combiner.queued;
  }

  /** Single calls of one key that queued: written in one transaction, or each alone when that fails on an item's data. */
  private async ingestCalls(apiKeyId: string, calls: SingleCall[]): Promise<Array<Settled<IngestOutcome>>> {
    this.observer?.combined?.(calls.length);
    const alone = async (call: SingleCall): Promise<Settled<IngestOutcome>> => {
      try {
        return { outcome: (await this.ingest(apiKeyId, [call.item], call.audit))[0] };
      } catch (error) {
        return { error };
      }
    };
    if (calls.length === 1) return [await alone(calls[0])];
    let outcomes: IngestOutcome[];
    try {
      outcomes = await this.withRetry(() => this.ingestOnce(apiKeyId, calls.map((c) => c.item), { perItem: calls.map((c) => c.audit) }));
    } catch (err) {
      // Nothing of it is stored. A data error may be one call's fault: each call is written
      // again alone, and fails or succeeds as it would have without company. Anything else (a
      // lost connection, a shutdown) is every call's error.
      if (!ITEM_ERROR.test((err as { code?: string })?.code ?? '')) return calls.map(() => ({ error: err }));
      const settled: Array<Settled<IngestOutcome>> = [];
      for (const call of calls) settled.push(await alone(call));
      return settled;
    }
    this.observer?.ingested(outcomes);
    return outcomes.map((outcome) => ({ outcome }));
  }

  /** Outcomes in input order; `items[i] === null` marks an item already rejected by validation. */
  async ingest(apiKeyId: string, items: Array<IngestItem | null>, audit: AuditScope | null = null): Promise<IngestOutcome[]> {
    const outcomes = await this.ingestAll(apiKeyId, items, audit);
    this.observer?.ingested(outcomes);
    return outcomes;
  }

  private async ingestAll(apiKeyId: string, items: Array<IngestItem | null>, audit: AuditScope | null): Promise<IngestOutcome[]> {
    try {
      return await this.withRetry(() => this.ingestOnce(apiKeyId, items, { whole: audit }));
    } catch (err) {
      // Only a data error can be one item's fault; a lost connection or a shutdown fails the
      // request. A single call (recordInteraction, identify) fails as a whole: nothing was written.
      if (items.length <= 1 || !ITEM_ERROR.test((err as { code?: string })?.code ?? '')) throw err;
      // A batch must never fail because of one item. Its transaction was rolled back, so nothing
      // of it is stored: store the items again one by one, each in a transaction of its own
      // (ingestOnce: BEGIN … COMMIT, or ROLLBACK on any error), so that an item is stored whole
      // or not at all, whatever happens to the ones after it.
      console.error('[ingest] batch failed, storing its items one by one:', err);
      const outcomes: IngestOutcome[] = [];
      for (const item of items) {
        if (!item) {
          outcomes.push(rejected([]));
          continue;
        }
        try {
          outcomes.push((await this.withRetry(() => this.ingestOnce(apiKeyId, [item], { whole: audit })))[0]);
        } catch (itemErr) {
          console.error('[ingest] item failed:', itemErr);
          // No field: reported as INTERNAL_SERVER_ERROR on the item, not as the caller's input.
          outcomes.push(rejected([{ field: '', message: 'the server could not store this item; it was logged and nothing was written' }]));
        }
      }
      return outcomes;
    }
  }

  private async withRetry<T>(work: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await work();
      } catch (err) {
        if (!isRetryable(err) || attempt >= MAX_ATTEMPTS) throw err;
        await sleep(Math.random() * 5 * attempt);
      }
    }
  }

  private async ingestOnce(apiKeyId: string, items: Array<IngestItem | null>, audit: AuditPlan): Promise<IngestOutcome[]> {
    const identifiers = items.flatMap((item) => item?.identifiers ?? []);
    const externalIds = items.flatMap((item) => (item?.interaction?.externalId ? [item.interaction.externalId] : []));
    // Keyed hashes of every usable identifier, to look them up on the suppression list.
    const hashes = items.map((item) => (item?.identifiers ?? []).map((i) => (i.blocklisted ? null : this.suppression.hash(i.type, i.value))));
    // A small write (one that takes advisory locks) runs with generic plans: PostgreSQL plans
    // `unnest` of a parameter for ten rows, finds that dearer than the custom plan for the one to
    // three rows a single write passes, and would otherwise plan every statement on every call.
    // Ten rows is the right plan for such writes; big batches keep their custom plans.
    const locks = advisoryLocks(apiKeyId, identifiers, externalIds);
    const opening: TransactionOptions = locks ? { with: locks, plans: 'generic' } : {};
    const outcomes = await withConnection(this.dataSource, (tx) => inTransaction(tx, () => this.ingestInTransaction(tx, apiKeyId, items, hashes, audit), opening));
    // Every write that stores something publishes (interactions, transitions, merges); one
    // that stored nothing still held a transaction id that may have held others' events back.
    this.signal?.committed();
    return outcomes;
  }

  private async ingestInTransaction(
    tx: Tx,
    apiKeyId: string,
    items: Array<IngestItem | null>,
    hashes: Array<Array<string | null>>,
    audit: AuditPlan,
  ): Promise<IngestOutcome[]> {
    const now = new Date();

    // Who owns these identifiers today (customers row-locked), which external ids are already
    // stored, and which identifiers were erased; repeated until no concurrent merge moved anything.
    const externalIds = [...new Set(items.map((i) => i?.interaction?.externalId).filter((x): x is string => !!x))];
    const allHashes = [...new Set(hashes.flat().filter((h): h is string => h !== null))];
    const { owners, customers, stored, suppressed } = await lockOwners(tx, items.flatMap((item) => item?.identifiers ?? []), apiKeyId, externalIds, allHashes);
    // An erased person is not rebuilt by the next event naming them, unless they signed up again.
    const refused: Array<InputProblem[] | undefined> = [];
    const lifted: string[] = [];
    const liftedBy: number[] = items.map(() => 0);
    items.forEach((item, index) => {
      if (!item) return;
      const hits = hashes[index].flatMap((h, k) => (h !== null && suppressed.has(h) ? [{ h, k }] : []));
      if (hits.length === 0) return;
      if (item.freshSignUp) {
        for (const { h } of hits) suppressed.delete(h), lifted.push(h), liftedBy[index]++;
        return;
      }
      refused[index] = hits.map(({ k }) => ({
        field: `identifiers[${item.identifiers[k].index}]`,
        reason: SUPPRESSED_IDENTIFIER,
        message: `${item.identifiers[k].type} belongs to a person whose data was erased: it is on the suppression list. Send the item with freshSignUp: true if the person signed up again and consented.`,
      }));
    });
    const firstInBatch = new Map<string, number>();
    const duplicateOf: Array<number | undefined> = [];
    const requests: Array<ResolutionRequest | null> = items.map((item, index) => {
      if (!item || refused[index]) return null;
      const externalId = item.interaction?.externalId;
      if (externalId) {
        if (stored.has(externalId)) return null;
        if (firstInBatch.has(externalId)) {
          duplicateOf[index] = firstInBatch.get(externalId);
          return null;
        }
        firstInBatch.set(externalId, index);
      }
      return {
        identifiers: item.identifiers,
        traits: item.traits,
        channel: item.interaction?.channel ?? null,
        interactionId: item.interaction ? uuidv7(now.getTime()) : null,
      };
    });

    // Decide, then write.
    const plan = planResolution(requests, owners, customers, this.limits, now);
    if (plan.merges.length) await applyMerges(tx, now, plan);
    const stores = requests.flatMap((request, index) =>
      request?.interactionId ? [{ id: request.interactionId, customerId: plan.items[index].customerId, data: items[index]!.interaction! }] : [],
    );
    const pending = new Map<string, PendingTouch[]>();
    for (const { id, customerId, data: d } of stores) {
      const list = pending.get(customerId) ?? [];
      list.push({ interactionId: id, type: d.type, channel: d.channel, at: d.occurredAt.getTime(), amount: d.amount, npsScore: d.npsScore });
      pending.set(customerId, list);
    }
    const survivors = new Set(plan.merges.map((m) => m.survivorId));
    const touched = [...plan.touched.entries()].map(([id, t]) => ({ id, isNew: t.isNew, merged: survivors.has(id) }));
    const derived = await this.derivation.derive(tx, touched, pending);
    const consents = await this.planConsents(tx, items, requests, plan.items.map((p) => p.customerId), now);

    const outcomes = items.map((item, index): IngestOutcome => {
      if (!item) return rejected([]);
      if (refused[index]) return rejected(refused[index]!);
      const externalId = item.interaction?.externalId;
      if (externalId && stored.has(externalId)) {
        const original = stored.get(externalId)!;
        return { status: RecordStatus.DUPLICATE, customerId: original.customerId, interactionId: original.id, warnings: [], mergedCustomerIds: [], problems: [] };
      }
      if (duplicateOf[index] !== undefined) {
        const first = duplicateOf[index]!;
        return { status: RecordStatus.DUPLICATE, customerId: plan.items[first].customerId, interactionId: requests[first]!.interactionId, warnings: [], mergedCustomerIds: [], problems: [] };
      }
      const itemPlan = plan.items[index];
      return {
        status: RecordStatus.CREATED,
        customerId: itemPlan.customerId,
        interactionId: requests[index]!.interactionId,
        warnings: itemPlan.warnings,
        mergedCustomerIds: itemPlan.mergedCustomerIds,
        problems: [],
        consents: consents?.byItem.get(index),
      };
    });
    await writeBatch(tx, {
      apiKeyId,
      now,
      plan,
      interactions: stores,
      derived,
      consents: consents?.plan ?? null,
      liftedSuppressions: lifted,
      audit: auditRows(audit, outcomes, {
        merges: plan.merges.length,
        consents: consents?.plan.decisions.length ?? 0,
        consentsOf: (i) => consents?.byItem.get(i)?.length ?? 0,
        lifted: liftedBy,
      }),
    });
    // After the write: segment memberships of the customers it touched (those merged away leave).
    await this.segments.refresh(tx, [...plan.touched.keys(), ...plan.merges.map((m) => m.mergedId)]);
    return outcomes;
  }

  /** The consent decisions of the batch, against the stored states of their customers (read once, only when there are some). */
  private async planConsents(
    tx: Tx,
    items: Array<IngestItem | null>,
    requests: Array<ResolutionRequest | null>,
    customerOf: string[],
    now: Date,
  ): Promise<{ plan: ConsentPlan; byItem: Map<number, ConsentOutcome[]> } | null> {
    const decisions: Array<NewDecision & { index: number }> = [];
    items.forEach((item, index) => {
      const request = requests[index];
      if (!item?.consents?.length || !request) return;
      for (const c of item.consents) {
        decisions.push({ id: uuidv7(now.getTime()), index, customerId: customerOf[index], purpose: c.purpose, status: c.status, at: c.at, channel: c.channel, interactionId: request.interactionId });
      }
    });
    if (decisions.length === 0) return null;
    const plan = planConsents(decisions, await readStates(tx, [...new Set(decisions.map((d) => d.customerId))]));
    const byItem = new Map<number, ConsentOutcome[]>();
    for (const d of decisions) {
      const state = plan.after.get(stateKey(d.customerId, d.purpose))!;
      const list = byItem.get(d.index) ?? [];
      list.push({ purpose: d.purpose, status: state.status, since: state.at, applied: plan.applied.get(d.id)! });
      byItem.set(d.index, list);
    }
    return { plan, byItem };
  }
}

/** The audit rows of one write: its call's, or each single call's when several were written together. */
function auditRows(
  audit: AuditPlan,
  outcomes: IngestOutcome[],
  done: { merges: number; consents: number; consentsOf(item: number): number; lifted: number[] },
): AuditEntry[] {
  if ('whole' in audit) return audit.whole ? [auditOf(audit.whole, outcomes, done.merges, done.consents, done.lifted.reduce((a, b) => a + b, 0))] : [];
  return audit.perItem.flatMap((scope, i) => (scope ? [auditOf(scope, [outcomes[i]], outcomes[i].mergedCustomerIds.length, done.consentsOf(i), done.lifted[i])] : []));
}

/** The audit row of one ingest call: the customers it wrote to (merged ones included) and what it did. */
function auditOf(scope: AuditScope, outcomes: IngestOutcome[], merges: number, consents: number, lifted: number): AuditEntry {
  const count = (status: RecordStatus) => outcomes.filter((o) => o.status === status).length;
  const created = outcomes.filter((o) => o.status === RecordStatus.CREATED);
  return {
    ...scope,
    kind: AuditKind.MUTATION,
    customerIds: created.flatMap((o) => [o.customerId!, ...o.mergedCustomerIds]),
    details: { created: count(RecordStatus.CREATED), duplicates: count(RecordStatus.DUPLICATE), rejected: count(RecordStatus.REJECTED), merges, consents, liftedSuppressions: lifted },
  };
}

export function rejected(problems: InputProblem[]): IngestOutcome {
  return { status: RecordStatus.REJECTED, customerId: null, interactionId: null, warnings: [], mergedCustomerIds: [], problems };
}
