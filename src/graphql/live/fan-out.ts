import { execute, Kind, visit, type DocumentNode, type ExecutionResult, type FieldNode, type GraphQLSchema } from 'graphql';

import type { Principal } from '../../modules/access/api-key.service';
import { comparePositions, Topic, type Position, type StoredEvent } from '../../modules/events/event';
import { toEventObject, type LiveEventObject } from '../../modules/live/live.types';
import type { Context } from '../context';
import type { LiveConnection } from './connection';
import { formatted, LiveCloseCode, nextMessage } from './protocol';

/** Relay batches being executed and sent at once; beyond, the relay waits before reading more. */
const MAX_BATCHES_IN_FLIGHT = 8;

export interface Subscription {
  id: string;
  conn: LiveConnection;
  topic: Topic;
  document: DocumentNode;
  operationName: string | undefined;
  /** `Subscription.<field>`, for the audit trail. */
  operation: string;
  variables: Record<string, unknown>;
  /** Subscribers with equal keys get the same bytes for an event: executed and serialised once. */
  groupKey: string;
  stages: ReadonlySet<string> | null;
  types: ReadonlySet<string> | null;
  purposes: ReadonlySet<string> | null;
  segmentIds: ReadonlySet<string> | null;
  /** Only events of customers whose decision in force for the purpose is this status (checked at delivery). */
  consent: { purpose: string; status: string } | null;
  /** The customer and every id merged into it; grows when a merge event arrives. */
  customerIds: Set<string> | null;
  /** Last event position this subscriber has been given (or skipped). */
  last: Position;
  live: boolean;
  done: boolean;
}

export interface LiveStats {
  executions: number;
  messages: number;
  slowConsumerCloses: number;
  revokedCloses: number;
}

export function matches(sub: Subscription, e: StoredEvent): boolean {
  if (e.topic !== sub.topic) return false;
  if (sub.customerIds) {
    const hit = e.topic === Topic.CUSTOMER_MERGED ? sub.customerIds.has(e.payload.survivorId) || sub.customerIds.has(e.payload.mergedId) : sub.customerIds.has(e.customerId);
    if (!hit) return false;
  }
  if (sub.stages && e.topic === Topic.LIFECYCLE_STAGE_CHANGED && !sub.stages.has(e.payload.to)) return false;
  if (sub.types && e.topic === Topic.INTERACTION_RECORDED && !sub.types.has(e.payload.type)) return false;
  if (sub.purposes && e.topic === Topic.CONSENT_CHANGED && !sub.purposes.has(e.payload.purpose)) return false;
  if (sub.segmentIds && e.topic === Topic.SEGMENT_MEMBERSHIP_CHANGED && !sub.segmentIds.has(e.payload.segmentId)) return false;
  return true;
}

/** Where customers stand on purposes now, keyed `customerId\u0001purpose`; absent: UNKNOWN. */
export type ConsentLookup = (customerIds: string[], purposes: string[]) => Promise<Map<string, string>>;

/**
 * Keeps, of `pairs`, those whose subscriber's consent filter (if any) holds for the event's
 * customer now: one look-up for all of them. A subscriber left out simply does not get that event.
 */
export async function consentAllows<T extends { sub: Subscription; customerId: string }>(pairs: T[], lookup: ConsentLookup): Promise<T[]> {
  const filtered = pairs.filter((p) => p.sub.consent);
  if (filtered.length === 0) return pairs;
  const statuses = await lookup([...new Set(filtered.map((p) => p.customerId))], [...new Set(filtered.map((p) => p.sub.consent!.purpose))]);
  return pairs.filter((p) => !p.sub.consent || (statuses.get(`${p.customerId}\u0001${p.sub.consent.purpose}`) ?? 'UNKNOWN') === p.sub.consent.status);
}

/** Ids a merge event adds to a customer filter that holds one of its two customers. */
export function mergeAdds(sub: Subscription, e: StoredEvent): string[] {
  if (!sub.customerIds || e.topic !== Topic.CUSTOMER_MERGED) return [];
  const { survivorId, mergedId } = e.payload;
  if (!sub.customerIds.has(survivorId) && !sub.customerIds.has(mergedId)) return [];
  return [survivorId, mergedId].filter((id) => !sub.customerIds!.has(id));
}

/**
 * Subscribers share execution when their document, operation, scopes and the variables that
 * matter to the selection are equal; variables used only in the root field's filter arguments
 * (stages, customerId, types, after) do not change what an event looks like.
 */
export function groupKey(
  query: string,
  operationName: string | undefined,
  document: DocumentNode,
  root: FieldNode,
  variables: Record<string, unknown>,
  principal: Principal,
): string {
  const total = new Map<string, number>();
  const inRootArgs = new Map<string, number>();
  const count = (node: any, into: Map<string, number>) =>
    visit(node, {
      Variable(v, _key, parent) {
        if ((parent as { kind?: string } | undefined)?.kind !== Kind.VARIABLE_DEFINITION) into.set(v.name.value, (into.get(v.name.value) ?? 0) + 1);
      },
    });
  count(document, total);
  for (const arg of root.arguments ?? []) count(arg, inRootArgs);
  const relevant = Object.keys(variables)
    .filter((name) => (total.get(name) ?? 0) > (inRootArgs.get(name) ?? 0))
    .sort()
    .map((name) => [name, variables[name]]);
  return JSON.stringify([query, operationName ?? null, [...principal.scopes].sort(), relevant]);
}

type Work = Array<{ event: LiveEventObject; customerId: string; groups: Map<string, Subscription[]> }>;

/**
 * The live subscribers, indexed by topic (no customer filter) or by each customer they follow.
 * For each relay batch, every distinct selection is executed and serialised once per event, and
 * the bytes go to all the subscribers that share it.
 */
export class FanOut {
  private readonly topicSubs = new Map<Topic, Set<Subscription>>();
  private readonly customerSubs = new Map<string, Set<Subscription>>();
  private delivery: Promise<void> = Promise.resolve();
  private inFlight = 0;
  /** Registered subscribers with a consent filter. */
  private consentFiltered = 0;

  constructor(
    private readonly schema: GraphQLSchema,
    private readonly maxBufferBytes: number,
    private readonly stats: LiveStats,
    /** Called once per batch and scope set: its loaders then never outlive the batch they were made for. */
    readonly context: (principal: Principal) => Context,
    readonly consents: ConsentLookup,
    /** Told of each execution whose subscribers received personal data unmasked (for the audit trail). */
    private readonly piiDelivered: (subs: Subscription[], customerIds: Set<string>) => void = () => undefined,
  ) {}

  /** From here on, `dispatch` hands the subscriber every matching event after `sub.last`. */
  register(sub: Subscription): void {
    sub.live = true;
    if (sub.consent) this.consentFiltered++;
    if (sub.customerIds) {
      for (const cid of sub.customerIds) this.index(cid, sub);
    } else {
      let set = this.topicSubs.get(sub.topic);
      if (!set) this.topicSubs.set(sub.topic, (set = new Set()));
      set.add(sub);
    }
  }

  private index(customerId: string, sub: Subscription): void {
    let set = this.customerSubs.get(customerId);
    if (!set) this.customerSubs.set(customerId, (set = new Set()));
    set.add(sub);
  }

  remove(sub: Subscription): void {
    sub.done = true;
    sub.conn.subs.delete(sub.id);
    if (!sub.live) return;
    sub.live = false;
    if (sub.consent) this.consentFiltered--;
    if (sub.customerIds) {
      for (const cid of sub.customerIds) {
        const set = this.customerSubs.get(cid);
        set?.delete(sub);
        if (set?.size === 0) this.customerSubs.delete(cid);
      }
    } else {
      this.topicSubs.get(sub.topic)?.delete(sub);
    }
  }

  /**
   * Called by the relay, synchronously and in log order: decides here who gets what (so that a
   * subscriber leaving replay for live can neither miss nor repeat an event), then executes and
   * sends in the background, batch after batch.
   */
  dispatch(events: StoredEvent[]): Promise<void> | undefined {
    const work: Work = [];
    for (const e of events) {
      if (e.topic === Topic.CUSTOMER_MERGED) {
        const { survivorId, mergedId } = e.payload;
        const followers = new Set([...(this.customerSubs.get(survivorId) ?? []), ...(this.customerSubs.get(mergedId) ?? [])]);
        for (const sub of followers) {
          for (const cid of mergeAdds(sub, e)) {
            sub.customerIds!.add(cid);
            this.index(cid, sub);
          }
        }
      }
      const candidates = new Set(this.topicSubs.get(e.topic) ?? []);
      for (const cid of e.topic === Topic.CUSTOMER_MERGED ? [e.payload.survivorId, e.payload.mergedId] : [e.customerId]) {
        for (const sub of this.customerSubs.get(cid) ?? []) candidates.add(sub);
      }
      let groups: Map<string, Subscription[]> | undefined;
      for (const sub of candidates) {
        if (sub.done || !matches(sub, e) || comparePositions(e.position, sub.last) <= 0) continue;
        sub.last = e.position;
        groups ??= new Map();
        const list = groups.get(sub.groupKey);
        if (list) list.push(sub);
        else groups.set(sub.groupKey, [sub]);
      }
      if (groups) work.push({ event: toEventObject(e), customerId: e.customerId, groups });
    }
    if (work.length === 0) return undefined;
    // Executions start now, concurrently with earlier batches still waiting on the database;
    // only the sending is chained, so that every subscriber gets events in log order.
    const runs = this.run(work);
    this.inFlight++;
    this.delivery = this.delivery
      .then(async () => {
        for (const run of await runs) {
          const json = JSON.stringify(await run.result);
          for (const sub of run.subs) this.next(sub, json, false);
        }
      })
      .catch((err) => console.error('[live] delivery failed:', err))
      .finally(() => this.inFlight--);
    // Too many batches on their way: the relay reads on once they are out.
    return this.inFlight > MAX_BATCHES_IN_FLIGHT ? this.delivery : undefined;
  }

  /**
   * One execution per (event, distinct selection), sharing one set of loaders per scope set;
   * subscribers whose consent filter does not hold for the event's customer are left out first.
   */
  private async run(work: Work): Promise<Array<{ subs: Subscription[]; result: Promise<ExecutionResult> }>> {
    // Only when consent-filtered subscribers are present does the batch cost a look-up.
    let refused: Map<number, Set<Subscription>> | null = null;
    if (this.consentFiltered > 0) {
      const pairs = work.flatMap((w, i) => [...w.groups.values()].flatMap((subs) => subs.filter((s) => s.consent).map((sub) => ({ sub, customerId: w.customerId, i }))));
      const kept = new Set(await consentAllows(pairs, this.consents));
      refused = new Map();
      for (const p of pairs) {
        if (kept.has(p)) continue;
        if (!refused.has(p.i)) refused.set(p.i, new Set());
        refused.get(p.i)!.add(p.sub);
      }
    }
    const contexts = new Map<string, Context>();
    return work.flatMap(({ event, groups }, i) =>
      [...groups.values()].flatMap((group) => {
        const out = refused?.get(i);
        const subs = out ? group.filter((sub) => !out.has(sub)) : group;
        if (subs.length === 0) return [];
        const sample = subs[0];
        const scopes = [...sample.conn.principal!.scopes].sort().join(',');
        let ctx = contexts.get(scopes);
        if (!ctx) contexts.set(scopes, (ctx = this.context(sample.conn.principal!)));
        return [{ subs, result: this.execute(sample, event, ctx, subs) }];
      }),
    );
  }

  /** Executes one event's selection; `audience` receives it (their personal-data reads are audited). */
  execute(sub: Subscription, event: LiveEventObject, shared: Context, audience: Subscription[] = [sub]): Promise<ExecutionResult> {
    this.stats.executions++;
    // Loaders shared by the batch; the record of unmasked reads is this execution's own.
    const contextValue: Context = { ...shared, piiRead: new Set() };
    return Promise.resolve(
      execute({ schema: this.schema, document: sub.document, operationName: sub.operationName, variableValues: sub.variables, rootValue: event, contextValue }),
    ).then((r) => {
      if (contextValue.piiRead!.size) this.piiDelivered(audience, contextValue.piiRead!);
      return r.errors ? { ...r, errors: formatted(r.errors) as any } : r;
    });
  }

  /**
   * Sends one `next`; a live subscriber whose connection already holds too much is cut off
   * (4413), while a replaying one is not (`replaying`): the replay waits for the client instead.
   */
  next(sub: Subscription, payloadJson: string, replaying: boolean): void {
    if (sub.done) return;
    const conn = sub.conn;
    if (!replaying && conn.buffered > this.maxBufferBytes) {
      this.stats.slowConsumerCloses++;
      conn.close(LiveCloseCode.SlowConsumer, `Slow consumer: over ${this.maxBufferBytes} bytes waiting; resubscribe with after: <last cursor>`);
      return;
    }
    this.stats.messages++;
    conn.send(nextMessage(sub.id, payloadJson));
  }
}
