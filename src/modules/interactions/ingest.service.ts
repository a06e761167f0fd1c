import type { DataSource } from 'typeorm';

import type { Config } from '../../config';
import { hash53, withConnection, type Tx } from '../../db/tx';
import { uuidv7 } from '../../db/uuid';
import type { InputProblem } from '../shared/errors';
import { IdentifierType } from '../identity/identifier-type.enum';
import {
  identifierKey,
  planResolution,
  type KnownCustomer,
  type ResolutionPlan,
  type ResolutionRequest,
  type Warning,
} from '../identity/resolution-plan';
import type { NormalizedIdentifier } from '../identity/validate-identifiers';
import { emptyHistory, loadHistories } from '../customers/customer-history';
import { JourneyService, type JourneyOutcome } from '../journeys/journey.service';
import { earliest, LIFECYCLE_COLUMNS, LifecycleService, type LifecycleOutcome } from '../lifecycle/lifecycle.service';
import { eventInsertSql, Topic, type CommitSignal, type NewEvent } from '../events/event';
import type { InteractionData } from './validate-interaction';

export enum RecordStatus {
  CREATED = 'CREATED',
  DUPLICATE = 'DUPLICATE',
  REJECTED = 'REJECTED',
}

/** One unit of work: an interaction to store, or (interaction null) an identify call. */
export interface IngestItem {
  identifiers: NormalizedIdentifier[];
  traits: Record<string, unknown> | null;
  interaction: InteractionData | null;
}

export interface IngestOutcome {
  status: RecordStatus;
  customerId: string | null;
  interactionId: string | null;
  warnings: Warning[];
  mergedCustomerIds: string[];
  problems: InputProblem[];
}

const RETRYABLE = new Set(['40P01', '40001', '23505', '55P03']);
const MAX_ATTEMPTS = 8;
/** SQLSTATE classes a single bad value can cause: data exception, integrity, program limit. */
const ITEM_ERROR = /^(22|23|54)/;
const MAX_RESOLUTION_ROUNDS = 20;

class UnstableRead extends Error {
  code = '40001';
}

function isRetryable(err: unknown): boolean {
  return err instanceof UnstableRead || RETRYABLE.has((err as { code?: string })?.code ?? '');
}

/**
 * Above this many keys a transaction takes no advisory locks: a big batch would hold thousands
 * (PostgreSQL's shared lock table holds max_locks_per_transaction x max_connections, 6,400 by
 * default). Correctness does not depend on them: the unique indexes on identifiers and external
 * ids catch any race, and the transaction is retried. The locks only spare small, concurrent
 * writers of the same person those retries.
 */
const MAX_ADVISORY_LOCKS = 64;

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
  private readonly limits: Config['identifierLimits'];

  constructor(
    private readonly dataSource: DataSource,
    config: Pick<Config, 'identifierLimits'>,
    private readonly lifecycle: LifecycleService,
    private readonly journeys: JourneyService,
    private readonly signal?: CommitSignal,
  ) {
    this.limits = config.identifierLimits;
  }

  /** Outcomes in input order; `items[i] === null` marks an item already rejected by validation. */
  async ingest(apiKeyId: string, items: Array<IngestItem | null>): Promise<IngestOutcome[]> {
    try {
      return await this.withRetry(() => this.ingestOnce(apiKeyId, items));
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
          outcomes.push((await this.withRetry(() => this.ingestOnce(apiKeyId, [item])))[0]);
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

  private ingestOnce(apiKeyId: string, items: Array<IngestItem | null>): Promise<IngestOutcome[]> {
    return withConnection(this.dataSource, async (tx) => {
      // Advisory locks on everything a small write could race on (identifiers, external ids),
      // sorted so the lock order is global, sent with BEGIN as one simple query: the keys are
      // numbers computed here, and every round trip counts on the hot path.
      const lockKeys = new Set<number>();
      for (const item of items) {
        if (!item) continue;
        for (const i of item.identifiers) if (!i.blocklisted) lockKeys.add(hash53(`i:${identifierKey(i)}`));
        if (item.interaction?.externalId) lockKeys.add(hash53(`x:${apiKeyId}:${item.interaction.externalId}`));
      }
      try {
        if (lockKeys.size > 0 && lockKeys.size <= MAX_ADVISORY_LOCKS) {
          const keys = [...lockKeys].sort((a, b) => a - b).join(',');
          await tx.query(`BEGIN; SELECT count(pg_advisory_xact_lock(h)) FROM unnest('{${keys}}'::bigint[]) AS h`);
        } else {
          await tx.query('BEGIN');
        }
        const outcomes = await this.ingestInTransaction(tx, apiKeyId, items);
        await tx.query('COMMIT');
        // Every write that stores something publishes (interactions, transitions, merges); one
        // that stored nothing still held a transaction id that may have held others' events back.
        this.signal?.committed();
        return outcomes;
      } catch (err) {
        await tx.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
    });
  }

  private async ingestInTransaction(tx: Tx, apiKeyId: string, items: Array<IngestItem | null>): Promise<IngestOutcome[]> {
    const now = new Date();

    // Who owns these identifiers today (customers row-locked), and which external ids are
    // already stored; repeated until no concurrent merge moved anything.
    const externalIds = [...new Set(items.map((i) => i?.interaction?.externalId).filter((x): x is string => !!x))];
    const { owners, customers, stored } = await this.lockOwners(tx, items, apiKeyId, externalIds);
    const firstInBatch = new Map<string, number>();
    const duplicateOf: Array<number | undefined> = [];
    const requests: Array<ResolutionRequest | null> = items.map((item, index) => {
      if (!item) return null;
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
    if (plan.merges.length) await this.applyMerges(tx, now, plan);
    const { lifecycle, journeys } = await this.derive(tx, items, requests, plan);
    await this.write(tx, apiKeyId, now, items, requests, plan, lifecycle, journeys);

    return items.map((item, index) => {
      if (!item) return rejected([]);
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
      };
    });
  }

  private async lockOwners(tx: Tx, items: Array<IngestItem | null>, apiKeyId: string, externalIds: string[]) {
    const types: string[] = [];
    const values: string[] = [];
    const seen = new Set<string>();
    for (const item of items) {
      for (const i of item?.identifiers ?? []) {
        const key = identifierKey(i);
        if (i.blocklisted || seen.has(key)) continue;
        seen.add(key);
        types.push(i.type);
        values.push(i.value);
      }
    }
    const owners = new Map<string, string>();
    const customers = new Map<string, KnownCustomer>();
    const stored = new Map<string, { id: string; customerId: string }>();

    const locked = new Set<string>();
    for (let round = 0; round < MAX_RESOLUTION_ROUNDS; round++) {
      owners.clear();
      // The first round also reads the stored external ids (the advisory locks make that read safe).
      const rows: Array<{ type: string; value: string; id: string; created_us: string; merged_into_id: string | null }> = await tx.query(
        `WITH owner AS (
           SELECT i.type, i.value, c.id, (extract(epoch FROM c.created_at) * 1000000)::bigint AS created_us, c.merged_into_id
             FROM identifier i JOIN customer c ON c.id = i.customer_id
            WHERE (i.type, i.value) IN (SELECT * FROM unnest($1::varchar[], $2::varchar[]))
            ORDER BY c.id
              FOR UPDATE OF c)
         SELECT type, value, id, created_us, merged_into_id FROM owner
         UNION ALL
         SELECT NULL, external_id, id, NULL, customer_id FROM interaction
          WHERE $3::varchar[] <> '{}' AND api_key_id = $4 AND external_id = ANY($3::varchar[])`,
        [types, values, round === 0 ? externalIds : [], apiKeyId],
      );
      for (const row of rows.filter((r) => r.type === null)) stored.set(row.value, { id: row.id, customerId: row.merged_into_id! });
      let stable = true;
      for (const row of rows) {
        if (row.type === null) continue;
        owners.set(identifierKey(row), row.id);
        locked.add(row.id);
        if (row.merged_into_id) stable = false;
        else if (!customers.has(row.id)) customers.set(row.id, { id: row.id, createdAtMicros: Number(row.created_us), counts: {} });
      }
      if (!stable) continue;
      if (owners.size === 0) return { owners, customers, stored };

      // Locked and live: read their identifier counts and check that nothing moved meanwhile.
      const ids = [...new Set(owners.values())];
      const check: Array<{ kind: string; customer_id: string; type: string; value: string | null; n: number }> = await tx.query(
        `SELECT 'count' AS kind, customer_id, type, NULL AS value, count(*)::int AS n
           FROM identifier WHERE customer_id = ANY($1::uuid[]) GROUP BY customer_id, type
         UNION ALL
         SELECT 'owner', customer_id, type, value, 0
           FROM identifier WHERE (type, value) IN (SELECT * FROM unnest($2::varchar[], $3::varchar[]))`,
        [ids, types, values],
      );
      for (const c of customers.values()) c.counts = {};
      for (const row of check) {
        if (row.kind === 'count') {
          const c = customers.get(row.customer_id);
          if (c) c.counts[row.type as IdentifierType] = row.n;
        } else if (owners.get(identifierKey({ type: row.type, value: row.value! })) !== row.customer_id) {
          stable = false;
        }
      }
      if (stable && check.filter((r) => r.kind === 'owner').length === owners.size) {
        for (const id of [...customers.keys()]) if (!ids.includes(id)) customers.delete(id);
        return { owners, customers, stored };
      }
    }
    throw new UnstableRead('identity graph kept changing while resolving; retrying');
  }

  /**
   * Stage, metrics, transitions and purchase journeys of every customer the batch touched, from
   * what the database holds (merged interactions included) plus the batch's own interactions.
   */
  private async derive(
    tx: Tx,
    items: Array<IngestItem | null>,
    requests: Array<ResolutionRequest | null>,
    plan: ResolutionPlan,
  ): Promise<{ lifecycle: Map<string, LifecycleOutcome>; journeys: Map<string, JourneyOutcome> }> {
    const existing = [...plan.touched.entries()].filter(([, t]) => !t.isNew).map(([id]) => id);
    const histories = await loadHistories(tx, existing);
    const pending = new Map<string, Array<{ interactionId: string; type: string; channel: string; at: number; amount: string | null; npsScore: number | null }>>();
    requests.forEach((request, index) => {
      if (!request?.interactionId) return;
      const d = items[index]!.interaction!;
      const customerId = plan.items[index].customerId;
      const list = pending.get(customerId) ?? [];
      list.push({ interactionId: request.interactionId, type: d.type, channel: d.channel, at: d.occurredAt.getTime(), amount: d.amount, npsScore: d.npsScore });
      pending.set(customerId, list);
    });
    const lifecycle = new Map<string, LifecycleOutcome>();
    const journeys = new Map<string, JourneyOutcome>();
    for (const id of plan.touched.keys()) {
      const mine = pending.get(id) ?? [];
      const history = histories.get(id) ?? emptyHistory(id);
      const outcome = this.lifecycle.compute(LifecycleService.withPending(LifecycleService.inputFrom(history), mine));
      const journey = this.journeys.compute(id, JourneyService.inputFrom(history), mine, outcome.evaluatedAt?.getTime() ?? -Infinity);
      outcome.nextEvaluationAt = earliest(outcome.nextEvaluationAt, journey.nextAbandonAt);
      lifecycle.set(id, outcome);
      journeys.set(id, journey);
    }
    return { lifecycle, journeys };
  }

  /**
   * All the rows of a batch in one statement of data-modifying CTEs: new customers, identifiers,
   * interactions, conflicts, and the update of the customers it touched. (Merges, which are rare,
   * run before, statement by statement.)
   */
  private async write(
    tx: Tx,
    apiKeyId: string,
    now: Date,
    items: Array<IngestItem | null>,
    requests: Array<ResolutionRequest | null>,
    plan: ResolutionPlan,
    lifecycle: Map<string, LifecycleOutcome>,
    journeys: Map<string, JourneyOutcome>,
  ): Promise<void> {
    const params: unknown[] = [];
    const $ = (value: unknown, cast: string) => {
      params.push(value);
      return `$${params.length}::${cast}`;
    };
    const parts: string[] = [];
    const at = $(now, 'timestamptz');

    if (plan.newCustomers.length) {
      const cs = plan.newCustomers;
      const outcomes = cs.map((c) => lifecycle.get(c.id) ?? this.lifecycle.compute(LifecycleService.empty(c.id)));
      parts.push(`new_customer AS (
        INSERT INTO customer (id, created_at, updated_at, traits, channels, merged_into_id, ${LIFECYCLE_COLUMNS.join(', ')})
        SELECT u.id, u.created_at, ${at}, u.traits, ARRAY(SELECT jsonb_array_elements_text(u.channels))::varchar[], u.merged_into_id,
               ${LIFECYCLE_COLUMNS.map((col) => `u.${col}`).join(', ')}
          FROM unnest(${$(cs.map((c) => c.id), 'uuid[]')}, ${$(cs.map((c) => c.createdAt), 'timestamptz[]')},
                      ${$(cs.map((c) => JSON.stringify(plan.touched.get(c.id)?.traits ?? {})), 'jsonb[]')},
                      ${$(cs.map((c) => JSON.stringify([...(plan.touched.get(c.id)?.channels ?? [])].sort())), 'jsonb[]')},
                      ${$(cs.map((c) => c.mergedIntoId), 'uuid[]')}, ${LifecycleService.columnArrays(outcomes, $).join(', ')})
            AS u(id, created_at, traits, channels, merged_into_id, ${LIFECYCLE_COLUMNS.join(', ')}))`);
    }

    if (plan.newIdentifiers.length) {
      const ids = plan.newIdentifiers;
      parts.push(`new_identifier AS (
        INSERT INTO identifier (id, customer_id, type, value, raw_value, created_at)
        SELECT u.id, u.customer_id, u.type, u.value, u.raw_value, ${at}
          FROM unnest(${$(ids.map(() => uuidv7(now.getTime())), 'uuid[]')}, ${$(ids.map((i) => i.customerId), 'uuid[]')},
                      ${$(ids.map((i) => i.type), 'varchar[]')}, ${$(ids.map((i) => i.value), 'varchar[]')},
                      ${$(ids.map((i) => rawValue(i.raw)), 'varchar[]')}) AS u(id, customer_id, type, value, raw_value))`);
    }

    const stored = requests.flatMap((request, index) => (request?.interactionId ? [{ request, data: items[index]!.interaction!, customerId: plan.items[index].customerId }] : []));
    if (stored.length) {
      const column = <T>(pick: (data: InteractionData) => T) => stored.map((s) => pick(s.data));
      parts.push(`new_interaction AS (
        INSERT INTO interaction (id, customer_id, api_key_id, external_id, channel, type, name, occurred_at, received_at,
                                 amount, currency, nps_score, properties, identifiers, journey_id)
        SELECT u.id, u.customer_id, ${$(apiKeyId, 'uuid')}, u.external_id, u.channel, u.type, u.name, u.occurred_at, ${at},
               u.amount, u.currency, u.nps_score, u.properties, u.identifiers, u.journey_id
          FROM unnest(${$(stored.map((s) => s.request.interactionId), 'uuid[]')}, ${$(stored.map((s) => s.customerId), 'uuid[]')},
                      ${$(column((d) => d.externalId), 'varchar[]')}, ${$(column((d) => d.channel), 'varchar[]')},
                      ${$(column((d) => d.type), 'varchar[]')}, ${$(column((d) => d.name), 'varchar[]')},
                      ${$(column((d) => d.occurredAt), 'timestamptz[]')}, ${$(column((d) => d.amount), 'numeric[]')},
                      ${$(column((d) => d.currency), 'char(3)[]')}, ${$(column((d) => d.npsScore), 'smallint[]')},
                      ${$(column((d) => JSON.stringify(d.properties)), 'jsonb[]')},
                      ${$(column((d) => JSON.stringify(d.identifiers.map(({ type, value, raw }) => ({ type, value, raw })))), 'jsonb[]')},
                      ${$(stored.map((s) => journeys.get(s.customerId)?.journeyOfPending.get(s.request.interactionId!) ?? null), 'uuid[]')})
            AS u(id, customer_id, external_id, channel, type, name, occurred_at, amount, currency, nps_score, properties, identifiers, journey_id))`);
    }

    const existing = [...plan.touched.entries()].filter(([, t]) => !t.isNew);
    if (existing.length) {
      const outcomes = existing.map(([id]) => lifecycle.get(id)!);
      parts.push(`touched AS (
        UPDATE customer c
           SET updated_at = ${at},
               traits = c.traits || u.traits,
               channels = ARRAY(SELECT DISTINCT x FROM unnest(c.channels || ARRAY(SELECT jsonb_array_elements_text(u.channels))::varchar[]) AS x ORDER BY 1),
               ${LIFECYCLE_COLUMNS.map((col) => `${col} = u.${col}`).join(', ')}
          FROM unnest(${$(existing.map(([id]) => id), 'uuid[]')}, ${$(existing.map(([, t]) => JSON.stringify(t.traits)), 'jsonb[]')},
                      ${$(existing.map(([, t]) => JSON.stringify([...t.channels])), 'jsonb[]')}, ${LifecycleService.columnArrays(outcomes, $).join(', ')})
            AS u(id, traits, channels, ${LIFECYCLE_COLUMNS.join(', ')})
         WHERE c.id = u.id)`);
    }

    if (plan.conflicts.length) {
      const cs = plan.conflicts;
      parts.push(`conflict AS (
        INSERT INTO identity_conflict (id, customer_id, other_customer_ids, identifier_type, identifier_value, interaction_id, reason, at)
        SELECT u.id, u.customer_id, ARRAY(SELECT jsonb_array_elements_text(u.others))::uuid[], u.type, u.value, u.interaction_id, u.reason, ${at}
          FROM unnest(${$(cs.map(() => uuidv7(now.getTime())), 'uuid[]')}, ${$(cs.map((c) => c.customerId), 'uuid[]')},
                      ${$(cs.map((c) => JSON.stringify(c.otherCustomerIds)), 'jsonb[]')}, ${$(cs.map((c) => c.identifier.type), 'varchar[]')},
                      ${$(cs.map((c) => c.identifier.value), 'varchar[]')}, ${$(cs.map((c) => c.interactionId), 'uuid[]')},
                      ${$(cs.map((c) => c.reason), 'text[]')}) AS u(id, customer_id, others, type, value, interaction_id, reason))`);
    }

    parts.push(...this.lifecycle.transitionSql([...lifecycle.values()], $, at));
    parts.push(...this.journeys.sql([...journeys.values()], $));
    const events: NewEvent[] = stored.map((s) => ({
      topic: Topic.INTERACTION_RECORDED,
      customerId: s.customerId,
      payload: { interactionId: s.request.interactionId!, type: s.data.type, channel: s.data.channel, occurredAt: s.data.occurredAt.toISOString() },
    }));
    events.push(...LifecycleService.events(lifecycle.values()));
    parts.push(...eventInsertSql(events, $));
    if (parts.length) await tx.query(`WITH ${parts.join(',\n')}\nSELECT 1`, params);
  }

  /**
   * Folds merged customers into their survivors: profile first (in merge order, the survivor's
   * values win), then identifiers and interactions move, the losers become tombstones (older
   * tombstones re-pointed), and the ledger records what moved.
   */
  private async applyMerges(tx: Tx, now: Date, plan: ResolutionPlan): Promise<void> {
    const finalOf = new Map<string, string>();
    for (const m of plan.merges) finalOf.set(m.mergedId, m.survivorId);
    const resolve = (id: string) => {
      let current = id;
      while (finalOf.has(current)) current = finalOf.get(current)!;
      return current;
    };
    for (const m of plan.merges) {
      if (!m.mergedExists) continue;
      await tx.query(
        `UPDATE customer s
            SET traits = m.traits || s.traits,
                channels = ARRAY(SELECT DISTINCT x FROM unnest(s.channels || m.channels) AS x ORDER BY 1)
           FROM customer m
          WHERE s.id = $1 AND m.id = $2`,
        [m.survivorId, m.mergedId],
      );
    }
    const existingMerged = plan.merges.filter((m) => m.mergedExists);
    const movedInteractions = new Map<string, number>();
    if (existingMerged.length) {
      const from = existingMerged.map((m) => m.mergedId);
      const to = existingMerged.map((m) => resolve(m.mergedId));
      await tx.query(
        `UPDATE identifier i SET customer_id = m.survivor FROM unnest($1::uuid[], $2::uuid[]) AS m(merged, survivor) WHERE i.customer_id = m.merged`,
        [from, to],
      );
      const moved: Array<{ merged: string; n: number }> = await tx.query(
        `WITH moved AS (
           UPDATE interaction i SET customer_id = m.survivor FROM unnest($1::uuid[], $2::uuid[]) AS m(merged, survivor)
            WHERE i.customer_id = m.merged RETURNING m.merged)
         SELECT merged, count(*)::int AS n FROM moved GROUP BY merged`,
        [from, to],
      );
      for (const row of moved) movedInteractions.set(row.merged, row.n);
      // The survivor's journeys are derived again from the union; the merged ones' go.
      await tx.query(`DELETE FROM journey WHERE customer_id = ANY($1::uuid[])`, [from]);
      await tx.query(
        `UPDATE customer c SET merged_into_id = m.survivor, updated_at = $3
           FROM unnest($1::uuid[], $2::uuid[]) AS m(merged, survivor)
          WHERE c.id = m.merged OR c.merged_into_id = m.merged`,
        [from, to, now],
      );
    }
    const ms = plan.merges;
    const mergeIds = ms.map(() => uuidv7(now.getTime()));
    // The ledger rows and their live events (customer: the survivor) in one statement.
    await tx.query(
      `WITH ledger AS (
         INSERT INTO merge (id, survivor_id, merged_id, identifier_type, identifier_value, interaction_id, at, moved)
         SELECT u.id, u.survivor_id, u.merged_id, u.type, u.value, u.interaction_id, $1, u.moved
           FROM unnest($2::uuid[], $3::uuid[], $4::uuid[], $5::varchar[], $6::varchar[], $7::uuid[], $8::jsonb[])
             AS u(id, survivor_id, merged_id, type, value, interaction_id, moved)
         RETURNING *)
       INSERT INTO event (topic, customer_id, payload)
       SELECT '${Topic.CUSTOMER_MERGED}', survivor_id,
              jsonb_build_object('mergeId', id, 'survivorId', survivor_id, 'mergedId', merged_id, 'identifierType', identifier_type,
                                 'identifierValue', identifier_value, 'interactionId', interaction_id, 'at', $9::text)
         FROM ledger ORDER BY array_position($2::uuid[], id)`,
      [
        now,
        mergeIds,
        ms.map((m) => m.survivorId),
        ms.map((m) => m.mergedId),
        ms.map((m) => m.link.type),
        ms.map((m) => m.link.value),
        ms.map((m) => m.interactionId),
        ms.map((m) => JSON.stringify({ identifiers: m.movedIdentifiers, interactions: (movedInteractions.get(m.mergedId) ?? 0) + m.movedBatchInteractions })),
        now.toISOString(),
      ],
    );
  }
}

/** The raw value as sent, cut to its column (256) without splitting a surrogate pair. */
function rawValue(raw: string): string {
  const cut = raw.slice(0, 256);
  return /[\ud800-\udbff]$/.test(cut) ? cut.slice(0, -1) : cut;
}

export function rejected(problems: InputProblem[]): IngestOutcome {
  return { status: RecordStatus.REJECTED, customerId: null, interactionId: null, warnings: [], mergedCustomerIds: [], problems };
}
