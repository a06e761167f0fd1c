import type http from 'node:http';

import {
  execute,
  getArgumentValues,
  getOperationAST,
  getVariableValues,
  GraphQLError,
  Kind,
  parse,
  validate,
  visit,
  type DocumentNode,
  type ExecutionResult,
  type FieldNode,
  type GraphQLFormattedError,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type ValidationRule,
} from 'graphql';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';

import { hasScope, type Principal } from '../modules/access/api-key.service';
import { Scope } from '../modules/access/scope.enum';
import { comparePositions, decodeEventCursor, Topic, type Position, type StoredEvent } from '../modules/live/event';
import type { EventRelay } from '../modules/live/event-relay';
import { toEventObject, type LiveEventObject } from '../modules/live/live.types';
import { bearerToken, type Context, type Services } from './context';
import { BadUserInputError, ErrorCode, ForbiddenError, formatError, NotFoundError, RateLimitedError } from './errors';
import type { OperationLimits } from '../config';
import { createLoaders } from './loaders';
import { allValidationRules, checkCost, nestingError, nestingOver } from './plugins/operation-limits';

export const LIVE_PROTOCOL = 'graphql-transport-ws';

/** Close codes of the live endpoint: graphql-ws's own, plus 4413 for a consumer that cannot keep up. */
export enum LiveCloseCode {
  GoingAway = 1001,
  BadRequest = 4400,
  Unauthorized = 4401,
  Forbidden = 4403,
  SubprotocolNotAcceptable = 4406,
  ConnectionInitialisationTimeout = 4408,
  SubscriberAlreadyExists = 4409,
  /** More than the send-buffer bound waits for this client: reconnect and resubscribe with `after: <last cursor>`. */
  SlowConsumer = 4413,
  /** A second connection_init, or more connections than LIVE_MAX_CONNECTIONS_PER_KEY for one key. */
  TooManyInitialisationRequests = 4429,
}

export interface LiveOptions {
  /** Bytes that may wait in one connection's send buffer before it is closed with 4413. */
  maxBufferBytes: number;
  /** How often the keys of open connections are checked for revocation. */
  keyCheckSeconds: number;
  /** Largest message accepted (a bigger one closes the connection, 1009). */
  maxPayloadBytes: number;
  limits: OperationLimits;
  introspection: boolean;
  maxConnectionsPerKey: number;
  maxOperationsPerConnection: number;
  maxSubscriptionsPerKey: number;
  initTimeoutMs?: number;
  heartbeatMs?: number;
}

const TOPIC_OF_FIELD: Record<string, Topic> = {
  lifecycleStageChanged: Topic.LIFECYCLE_STAGE_CHANGED,
  interactionRecorded: Topic.INTERACTION_RECORDED,
  customerMerged: Topic.CUSTOMER_MERGED,
};
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const REPLAY_PAGE = 200;
/** Relay batches being executed and sent at once; beyond, the relay waits before reading more. */
const MAX_BATCHES_IN_FLIGHT = 8;
/**
 * Parsed documents are kept by their text for the subscriptions that reuse them, bounded in
 * bytes: only documents up to CACHEABLE_DOCUMENT_BYTES, and CACHE_BYTES of text in all (a parsed
 * document weighs some ten times its text).
 */
const CACHEABLE_DOCUMENT_BYTES = 16 * 1024;
const CACHE_BYTES = 1024 * 1024;

/** The one field a subscription selects, found through inline fragments and fragment spreads. */
function rootField(document: DocumentNode, operation: OperationDefinitionNode): FieldNode | undefined {
  const fragments = new Map(document.definitions.flatMap((d) => (d.kind === Kind.FRAGMENT_DEFINITION ? [[d.name.value, d] as const] : [])));
  const pending = [...operation.selectionSet.selections];
  const seen = new Set<string>();
  while (pending.length) {
    const selection = pending.shift()!;
    if (selection.kind === Kind.FIELD) return selection;
    if (selection.kind === Kind.INLINE_FRAGMENT) pending.push(...selection.selectionSet.selections);
    else if (!seen.has(selection.name.value)) {
      seen.add(selection.name.value);
      pending.push(...(fragments.get(selection.name.value)?.selectionSet.selections ?? []));
    }
  }
  return undefined;
}

type Errors = GraphQLFormattedError[];
const formatted = (errors: readonly GraphQLError[]): Errors => errors.map((e) => formatError(e.toJSON(), e));

interface Subscription {
  id: string;
  conn: LiveConnection;
  topic: Topic;
  document: DocumentNode;
  operationName: string | undefined;
  variables: Record<string, unknown>;
  /** Subscribers with equal keys get the same bytes for an event: executed and serialised once. */
  groupKey: string;
  stages: ReadonlySet<string> | null;
  types: ReadonlySet<string> | null;
  /** The customer and every id merged into it; grows when a merge event arrives. */
  customerIds: Set<string> | null;
  /** Last event position this subscriber has been given (or skipped). */
  last: Position;
  live: boolean;
  done: boolean;
}

function matches(sub: Subscription, e: StoredEvent): boolean {
  if (e.topic !== sub.topic) return false;
  if (sub.customerIds) {
    const hit = e.topic === Topic.CUSTOMER_MERGED ? sub.customerIds.has(e.payload.survivorId) || sub.customerIds.has(e.payload.mergedId) : sub.customerIds.has(e.customerId);
    if (!hit) return false;
  }
  if (sub.stages && e.topic === Topic.LIFECYCLE_STAGE_CHANGED && !sub.stages.has(e.payload.to)) return false;
  if (sub.types && e.topic === Topic.INTERACTION_RECORDED && !sub.types.has(e.payload.type)) return false;
  return true;
}

/** Ids a merge event adds to a customer filter that holds one of its two customers. */
function mergeAdds(sub: Subscription, e: StoredEvent): string[] {
  if (!sub.customerIds || e.topic !== Topic.CUSTOMER_MERGED) return [];
  const { survivorId, mergedId } = e.payload;
  if (!sub.customerIds.has(survivorId) && !sub.customerIds.has(mergedId)) return [];
  return [survivorId, mergedId].filter((id) => !sub.customerIds!.has(id));
}

class LiveConnection {
  principal: Principal | null = null;
  initReceived = false;
  readonly subs = new Map<string, Subscription>();
  closing = false;
  alive = true;
  initTimer?: NodeJS.Timeout;

  constructor(readonly socket: WebSocket) {}

  send(message: string): void {
    if (!this.closing && this.socket.readyState === this.socket.OPEN) this.socket.send(message);
  }

  sendJson(message: object): void {
    this.send(JSON.stringify(message));
  }

  close(code: number, reason: string): void {
    if (this.closing) return;
    this.closing = true;
    for (const sub of this.subs.values()) sub.done = true;
    this.socket.close(code, reason.slice(0, 120));
    // A client that does not read never sees the close frame: cut it off.
    setTimeout(() => this.socket.terminate(), 5000).unref();
  }

  get buffered(): number {
    return this.socket.bufferedAmount;
  }
}

/**
 * graphql-ws (protocol graphql-transport-ws) on the HTTP server's /graphql path. Subscriptions
 * are fed by the EventRelay; for each event, every distinct selection (same document, variables
 * outside the filters, and scopes) is executed and serialised once, and the bytes go to all the
 * subscribers that share it. Queries and mutations are served too (one result, then complete).
 */
export class LiveServer {
  private readonly wss: WebSocketServer;
  private readonly connections = new Set<LiveConnection>();
  private readonly topicSubs = new Map<Topic, Set<Subscription>>();
  private readonly customerSubs = new Map<string, Set<Subscription>>();
  private readonly documents = new Map<string, { document?: DocumentNode; errors?: Errors }>();
  private documentBytes = 0;
  private readonly rules: ValidationRule[];
  /** Open connections of each key, for the per-key caps. */
  private readonly keyConnections = new Map<string, Set<LiveConnection>>();
  private delivery: Promise<void> = Promise.resolve();
  private inFlight = 0;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly unsubscribe: () => void;
  readonly stats = { executions: 0, messages: 0, slowConsumerCloses: 0, revokedCloses: 0 };

  constructor(
    httpServer: http.Server,
    private readonly schema: GraphQLSchema,
    private readonly services: Services,
    private readonly relay: EventRelay,
    private readonly options: LiveOptions,
  ) {
    this.wss = new WebSocketServer({
      server: httpServer,
      path: '/graphql',
      maxPayload: options.maxPayloadBytes,
      handleProtocols: (protocols) => (protocols.has(LIVE_PROTOCOL) ? LIVE_PROTOCOL : false),
    });
    this.rules = allValidationRules(options.limits, options.introspection);
    this.wss.on('connection', (socket) => this.open(socket));
    this.unsubscribe = relay.subscribe((events) => this.dispatch(events));
    const keyCheck = setInterval(() => void this.checkKeys(), options.keyCheckSeconds * 1000);
    const heartbeat = setInterval(() => this.heartbeat(), options.heartbeatMs ?? 30_000);
    for (const t of [keyCheck, heartbeat]) {
      t.unref();
      this.timers.push(t);
    }
  }

  /**
   * Open connections and subscriptions (`liveSubscriptions`: those past their replay, receiving
   * events as they come), bytes waiting to be sent, and work done so far.
   */
  snapshot() {
    let subscriptions = 0;
    let liveSubscriptions = 0;
    let bufferedBytes = 0;
    let maxBufferedBytes = 0;
    for (const c of this.connections) {
      subscriptions += c.subs.size;
      for (const sub of c.subs.values()) if (sub.live) liveSubscriptions++;
      bufferedBytes += c.buffered;
      maxBufferedBytes = Math.max(maxBufferedBytes, c.buffered);
    }
    return {
      connections: this.connections.size,
      subscriptions,
      liveSubscriptions,
      bufferedBytes,
      maxBufferedBytes,
      documentCache: { documents: this.documents.size, bytes: this.documentBytes },
      ...this.stats,
    };
  }

  /** Closes every connection (1001) and stops accepting new ones. */
  async stop(): Promise<void> {
    this.unsubscribe();
    for (const t of this.timers) clearInterval(t);
    for (const c of this.connections) c.close(LiveCloseCode.GoingAway, 'Server shutting down');
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    for (const c of this.connections) c.socket.terminate();
  }

  // ---- protocol ----

  private open(socket: WebSocket): void {
    const conn = new LiveConnection(socket);
    this.connections.add(conn);
    if (socket.protocol !== LIVE_PROTOCOL) {
      conn.close(LiveCloseCode.SubprotocolNotAcceptable, `Subprotocol not acceptable: use ${LIVE_PROTOCOL}`);
    } else {
      conn.initTimer = setTimeout(() => {
        if (!conn.principal) conn.close(LiveCloseCode.ConnectionInitialisationTimeout, 'Connection initialisation timeout');
      }, this.options.initTimeoutMs ?? 3000);
    }
    socket.on('pong', () => (conn.alive = true));
    socket.on('message', (data) => void this.receive(conn, data).catch((err) => {
      console.error('[live] message handling failed:', err);
      conn.close(4500, 'Internal server error');
    }));
    socket.on('close', () => this.closed(conn));
    socket.on('error', () => socket.terminate());
  }

  private closed(conn: LiveConnection): void {
    clearTimeout(conn.initTimer);
    conn.closing = true;
    for (const sub of conn.subs.values()) this.remove(sub);
    conn.subs.clear();
    this.connections.delete(conn);
    if (conn.principal) {
      const mine = this.keyConnections.get(conn.principal.id);
      mine?.delete(conn);
      if (mine?.size === 0) this.keyConnections.delete(conn.principal.id);
    }
  }

  /** Operations open on every connection of a key. */
  private operationsOf(keyId: string): number {
    let n = 0;
    for (const c of this.keyConnections.get(keyId) ?? []) n += c.subs.size;
    return n;
  }

  private async receive(conn: LiveConnection, data: RawData): Promise<void> {
    let message: any;
    try {
      message = JSON.parse(data.toString());
    } catch {
      return conn.close(LiveCloseCode.BadRequest, 'Invalid message received: not JSON');
    }
    if (typeof message !== 'object' || message === null || typeof message.type !== 'string') {
      return conn.close(LiveCloseCode.BadRequest, 'Invalid message received: no type');
    }
    switch (message.type) {
      case 'connection_init':
        return this.init(conn, message.payload);
      case 'ping':
        return conn.sendJson(message.payload === undefined ? { type: 'pong' } : { type: 'pong', payload: message.payload });
      case 'pong':
        return;
      case 'subscribe':
        if (!conn.principal) return conn.close(LiveCloseCode.Unauthorized, 'Unauthorized');
        if (typeof message.id !== 'string' || !message.id || typeof message.payload?.query !== 'string') {
          return conn.close(LiveCloseCode.BadRequest, 'Invalid message received: subscribe needs an id and payload.query');
        }
        if (conn.subs.has(message.id)) return conn.close(LiveCloseCode.SubscriberAlreadyExists, `Subscriber for ${message.id} already exists`);
        {
          const { maxOperationsPerConnection, maxSubscriptionsPerKey } = this.options;
          const refuse = (error: GraphQLError) => conn.sendJson({ id: message.id, type: 'error', payload: formatted([error]) });
          if (conn.subs.size >= maxOperationsPerConnection) {
            return refuse(new RateLimitedError(`At most ${maxOperationsPerConnection} operations may be open on one connection; complete some first.`));
          }
          if (this.operationsOf(conn.principal.id) >= maxSubscriptionsPerKey) {
            return refuse(new RateLimitedError(`At most ${maxSubscriptionsPerKey} operations may be open at once for one API key, over all its connections; complete some first.`));
          }
          const waitMs = this.services.rateLimiter.take(conn.principal.id, conn.principal.rateLimit);
          if (waitMs > 0) return refuse(new RateLimitedError(`The API key "${conn.principal.name}" is over its request rate; retry in ${waitMs} ms.`, waitMs));
        }
        return this.subscribe(conn, message.id, message.payload);
      case 'complete': {
        const sub = conn.subs.get(message.id);
        if (sub) this.remove(sub);
        return;
      }
      default:
        return conn.close(LiveCloseCode.BadRequest, `Invalid message received: unknown type ${String(message.type).slice(0, 40)}`);
    }
  }

  private async init(conn: LiveConnection, payload: unknown): Promise<void> {
    if (conn.initReceived) return conn.close(LiveCloseCode.TooManyInitialisationRequests, 'Too many initialisation requests');
    conn.initReceived = true;
    const params = (payload ?? {}) as Record<string, unknown>;
    const token = bearerToken(params.authorization ?? params.Authorization);
    if (!token) return conn.close(LiveCloseCode.Unauthorized, 'Unauthorized: send { "authorization": "Bearer <key>" } in connection_init');
    const principal = await this.services.apiKeys.verify(token);
    if (!principal) return conn.close(LiveCloseCode.Unauthorized, 'Unauthorized: the API key is unknown or revoked');
    if (conn.closing) return;
    let mine = this.keyConnections.get(principal.id);
    if ((mine?.size ?? 0) >= this.options.maxConnectionsPerKey) {
      return conn.close(
        LiveCloseCode.TooManyInitialisationRequests,
        `Rate limited: the API key already has ${this.options.maxConnectionsPerKey} open connections; use them or close some`,
      );
    }
    if (!mine) this.keyConnections.set(principal.id, (mine = new Set()));
    mine.add(conn);
    clearTimeout(conn.initTimer);
    conn.principal = principal;
    conn.sendJson({ type: 'connection_ack' });
  }

  private parse(query: string): { document?: DocumentNode; errors?: Errors } {
    const cached = this.documents.get(query);
    if (cached) {
      // Most recently used last: the first entry is the one to evict.
      this.documents.delete(query);
      this.documents.set(query, cached);
      return cached;
    }
    let entry: { document?: DocumentNode; errors?: Errors };
    try {
      if (nestingOver(query)) throw nestingError();
      const document = parse(query, { maxTokens: this.options.limits.maxTokens });
      const errors = validate(this.schema, document, this.rules);
      entry = errors.length ? { errors: formatted(errors) } : { document };
    } catch (err) {
      entry = { errors: formatted([err as GraphQLError]) };
    }
    if (query.length <= CACHEABLE_DOCUMENT_BYTES) {
      this.documents.set(query, entry);
      this.documentBytes += query.length;
      for (const [text] of this.documents) {
        if (this.documentBytes <= CACHE_BYTES) break;
        this.documents.delete(text);
        this.documentBytes -= text.length;
      }
    }
    return entry;
  }

  private fail(conn: LiveConnection, id: string, errors: Errors | GraphQLError): void {
    conn.subs.delete(id);
    conn.sendJson({ id, type: 'error', payload: errors instanceof GraphQLError ? formatted([errors]) : errors });
  }

  private context(principal: Principal): Context {
    return { ...this.services, principal, loaders: createLoaders(this.services.customers) };
  }

  private async subscribe(conn: LiveConnection, id: string, payload: { query: string; variables?: unknown; operationName?: unknown }): Promise<void> {
    // Where live delivery would start, taken before anything asynchronous: the replay covers the rest.
    const head = this.relay.head;
    const { document, errors } = this.parse(payload.query);
    if (!document) return this.fail(conn, id, errors!);
    const operationName = typeof payload.operationName === 'string' ? payload.operationName : undefined;
    const operation = getOperationAST(document, operationName);
    if (!operation) return this.fail(conn, id, new BadUserInputError([{ field: 'operationName', message: 'names no operation of the document' }]));
    const rawVariables = (payload.variables ?? {}) as Record<string, unknown>;
    if (typeof rawVariables !== 'object' || Array.isArray(rawVariables)) return this.fail(conn, id, new BadUserInputError([{ field: 'variables', message: 'must be an object' }]));
    const principal = conn.principal!;
    const cost = checkCost(this.schema, document, operationName, rawVariables, this.options.limits);
    if (cost instanceof GraphQLError) return this.fail(conn, id, cost);

    if (operation.operation !== 'subscription') {
      conn.subs.set(id, { id } as Subscription);
      const result = await execute({ schema: this.schema, document, operationName, variableValues: rawVariables, contextValue: this.context(principal) });
      if (!conn.subs.has(id)) return;
      conn.subs.delete(id);
      conn.sendJson({ id, type: 'next', payload: result.errors ? { ...result, errors: formatted(result.errors) } : result });
      conn.sendJson({ id, type: 'complete' });
      return;
    }

    const field = rootField(document, operation);
    const topic = field && TOPIC_OF_FIELD[field.name.value];
    if (!field || !topic) return this.fail(conn, id, new BadUserInputError([{ field: field?.name.value ?? 'subscription', message: 'is not a subscription' }]));
    if (!hasScope(principal, Scope.SUBSCRIBE)) {
      return this.fail(conn, id, new ForbiddenError(`The API key "${principal.name}" lacks the subscribe scope needed for Subscription.${field.name.value}.`));
    }
    const coerced = getVariableValues(this.schema, operation.variableDefinitions ?? [], rawVariables);
    if (coerced.errors) {
      return this.fail(conn, id, coerced.errors.map((e) => ({ message: e.message, extensions: { code: ErrorCode.BAD_USER_INPUT, reason: 'BAD_USER_INPUT' } })));
    }
    let args: Record<string, any>;
    try {
      args = getArgumentValues(this.schema.getSubscriptionType()!.getFields()[field.name.value], field, coerced.coerced);
    } catch (err) {
      return this.fail(conn, id, new BadUserInputError([{ field: field.name.value, message: (err as Error).message }]));
    }

    conn.subs.set(id, { id } as Subscription);
    try {
      let last = head;
      if (args.after != null) {
        last = decodeEventCursor(args.after, 'after');
        if (comparePositions(last, await this.relay.horizon()) < 0) {
          throw new BadUserInputError([{ field: 'after', message: 'is older than the events kept (EVENT_RETENTION_DAYS): read the current state with queries, then subscribe without `after`' }]);
        }
      }
      let customerIds: Set<string> | null = null;
      if (args.customerId != null) {
        if (!UUID.test(args.customerId)) throw new BadUserInputError([{ field: 'customerId', message: 'must be a customer id (UUID)' }]);
        const [row] = await this.services.customers.survivorAndMerged(args.customerId);
        if (!row) throw new NotFoundError(`No customer has the id ${args.customerId}.`);
        customerIds = new Set([row.survivor, ...row.merged]);
      }
      if (!conn.subs.has(id) || conn.closing) return;
      const sub: Subscription = {
        id,
        conn,
        topic,
        document,
        operationName,
        variables: rawVariables,
        groupKey: groupKey(payload.query, operationName, document, field, rawVariables, principal),
        stages: args.stages ? new Set(args.stages) : null,
        types: args.types ? new Set(args.types) : null,
        customerIds,
        last,
        live: false,
        done: false,
      };
      conn.subs.set(id, sub);
      await this.replay(sub);
    } catch (err) {
      if (!(err instanceof GraphQLError)) console.error('[live] subscribe failed:', err);
      if (conn.subs.has(id)) this.fail(conn, id, err instanceof GraphQLError ? err : new GraphQLError('Internal server error: the failure was logged.', { extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR } }));
    }
  }

  // ---- fan-out ----

  private register(sub: Subscription): void {
    sub.live = true;
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

  private remove(sub: Subscription): void {
    sub.done = true;
    sub.conn.subs.delete(sub.id);
    if (!sub.live) return;
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
  private dispatch(events: StoredEvent[]): Promise<void> | undefined {
    const work: Array<{ event: LiveEventObject; groups: Map<string, Subscription[]> }> = [];
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
      if (groups) work.push({ event: toEventObject(e), groups });
    }
    if (work.length === 0) return undefined;
    // Executions start now, concurrently with earlier batches still waiting on the database;
    // only the sending is chained, so that every subscriber gets events in log order.
    const runs = this.run(work);
    this.inFlight++;
    this.delivery = this.delivery
      .then(async () => {
        for (const run of runs) {
          const json = JSON.stringify(await run.result);
          for (const sub of run.subs) this.next(sub, json, false);
        }
      })
      .catch((err) => console.error('[live] delivery failed:', err))
      .finally(() => this.inFlight--);
    // Too many batches on their way: the relay reads on once they are out.
    return this.inFlight > MAX_BATCHES_IN_FLIGHT ? this.delivery : undefined;
  }

  /** One execution per (event, distinct selection), sharing one set of loaders per scope set. */
  private run(work: Array<{ event: LiveEventObject; groups: Map<string, Subscription[]> }>): Array<{ subs: Subscription[]; result: Promise<ExecutionResult> }> {
    const contexts = new Map<string, Context>();
    return work.flatMap(({ event, groups }) =>
      [...groups.values()].map((subs) => {
        const sample = subs[0];
        const scopes = [...sample.conn.principal!.scopes].sort().join(',');
        let ctx = contexts.get(scopes);
        if (!ctx) contexts.set(scopes, (ctx = this.context(sample.conn.principal!)));
        return { subs, result: this.execute(sample, event, ctx) };
      }),
    );
  }

  private execute(sub: Subscription, event: LiveEventObject, contextValue: Context): Promise<ExecutionResult> {
    this.stats.executions++;
    return Promise.resolve(
      execute({ schema: this.schema, document: sub.document, operationName: sub.operationName, variableValues: sub.variables, rootValue: event, contextValue }),
    ).then((r) => (r.errors ? { ...r, errors: formatted(r.errors) as any } : r));
  }

  /** Sends one `next`; a live subscriber whose connection already holds too much is cut off (4413). */
  private next(sub: Subscription, payloadJson: string, replaying: boolean): void {
    if (sub.done) return;
    const conn = sub.conn;
    if (!replaying && conn.buffered > this.options.maxBufferBytes) {
      this.stats.slowConsumerCloses++;
      conn.close(LiveCloseCode.SlowConsumer, `Slow consumer: over ${this.options.maxBufferBytes} bytes waiting; resubscribe with after: <last cursor>`);
      return;
    }
    this.stats.messages++;
    conn.send(`{"id":${JSON.stringify(sub.id)},"type":"next","payload":${payloadJson}}`);
  }

  /**
   * Sends the stored events after the subscriber's cursor, page by page, up to the relay's head,
   * then registers it for live events at that very position (no await in between).
   */
  private async replay(sub: Subscription): Promise<void> {
    for (;;) {
      if (sub.done) return;
      const head = this.relay.head;
      if (comparePositions(sub.last, head) >= 0) {
        this.register(sub);
        return;
      }
      const events = await this.relay.history(sub.last, head, { topic: sub.topic, customerIds: sub.customerIds ?? undefined }, REPLAY_PAGE);
      const wanted: StoredEvent[] = [];
      let reached = events.length < REPLAY_PAGE ? head : events[events.length - 1]?.position ?? head;
      for (const e of events) {
        const added = mergeAdds(sub, e);
        if (matches(sub, e)) wanted.push(e);
        if (added.length) {
          // Later events of the newly followed customer were not part of this read: read again from here.
          for (const cid of added) sub.customerIds!.add(cid);
          reached = e.position;
          break;
        }
      }
      if (wanted.length) {
        const ctx = this.context(sub.conn.principal!);
        const results = await Promise.all(wanted.map((e) => this.execute(sub, toEventObject(e), ctx)));
        for (const r of results) this.next(sub, JSON.stringify(r), true);
        // Back-pressure instead of a cut-off: a replay is read at the client's pace.
        while (!sub.done && sub.conn.buffered > this.options.maxBufferBytes / 2) await new Promise((r) => setTimeout(r, 20));
      }
      sub.last = reached;
    }
  }

  // ---- housekeeping ----

  /** Revoked keys stop receiving: their connections are closed with 4403. */
  private async checkKeys(): Promise<void> {
    const ids = [...new Set([...this.connections].map((c) => c.principal?.id).filter((x): x is string => !!x))];
    if (ids.length === 0) return;
    try {
      const valid = new Set(await this.services.apiKeys.activeIds(ids));
      for (const c of this.connections) {
        if (c.principal && !valid.has(c.principal.id)) {
          this.stats.revokedCloses++;
          c.close(LiveCloseCode.Forbidden, 'Forbidden: the API key was revoked');
        }
      }
    } catch (err) {
      console.error('[live] key check failed:', (err as Error).message);
    }
  }

  private heartbeat(): void {
    for (const c of this.connections) {
      if (!c.alive) {
        c.socket.terminate();
        continue;
      }
      c.alive = false;
      c.socket.ping();
    }
  }
}

/**
 * Subscribers share execution when their document, operation, scopes and the variables that
 * matter to the selection are equal; variables used only in the root field's filter arguments
 * (stages, customerId, types, after) do not change what an event looks like.
 */
function groupKey(
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
