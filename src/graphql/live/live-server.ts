import type http from 'node:http';

import {
  execute,
  getArgumentValues,
  getOperationAST,
  getVariableValues,
  GraphQLError,
  Kind,
  type DocumentNode,
  type FieldNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';

import type { OperationLimits } from '../../config';
import { hasScope, type Principal } from '../../modules/access/api-key.service';
import { Scope } from '../../modules/access/scope.enum';
import { comparePositions, decodeEventCursor, Topic } from '../../modules/events/event';
import type { EventRelay } from '../../modules/live/event-relay';
import { bearerToken, type Context, type Services } from '../context';
import { ErrorCode, toGraphQLError } from '../errors';
import { ForbiddenError, InputError, NotFoundError, RateLimitedError } from '../../modules/shared/errors';
import { createLoaders } from '../loaders';
import { checkCost } from '../plugins/operation-limits';
import { LiveSockets, type LiveConnection, type SocketOptions } from './connection';
import { DocumentCache } from './documents';
import { FanOut, groupKey, type LiveStats, type Subscription } from './fan-out';
import { formatted, LiveCloseCode, MessageType, pong, readMessage, subscribeRequest, type Errors, type SubscribePayload } from './protocol';
import { replay } from './replay';
import { outcomeOf, recordOperation, type Telemetry } from '../plugins/observability';
import { LiveReadAudit, piiReadEntry, rootFields } from '../pii-audit';

/** What the log and the metrics say of one websocket operation. */
interface Observation {
  type: string;
  name: string | null;
  outcome: string;
}

export interface LiveOptions extends SocketOptions {
  /** Where each operation is counted and logged. */
  telemetry?: Telemetry;
  /** Bytes that may wait in one connection's send buffer before it is closed with 4413. */
  maxBufferBytes: number;
  limits: OperationLimits;
  introspection: boolean;
}

const TOPIC_OF_FIELD: Record<string, Topic> = {
  lifecycleStageChanged: Topic.LIFECYCLE_STAGE_CHANGED,
  interactionRecorded: Topic.INTERACTION_RECORDED,
  customerMerged: Topic.CUSTOMER_MERGED,
  consentChanged: Topic.CONSENT_CHANGED,
  customerErased: Topic.CUSTOMER_ERASED,
  segmentMembershipChanged: Topic.SEGMENT_MEMBERSHIP_CHANGED,
};
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

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

/**
 * graphql-ws (protocol graphql-transport-ws) on the HTTP server's /graphql path. Subscriptions
 * are fed by the EventRelay; for each event, every distinct selection (same document, variables
 * outside the filters, and scopes) is executed and serialised once, and the bytes go to all the
 * subscribers that share it. Queries and mutations are served too (one result, then complete).
 */
export class LiveServer {
  private readonly sockets: LiveSockets;
  private readonly documents: DocumentCache;
  private readonly fanOut: FanOut;
  private readonly unsubscribe: () => void;
  private readonly readAudit: LiveReadAudit;
  readonly stats: LiveStats = { executions: 0, messages: 0, slowConsumerCloses: 0, revokedCloses: 0 };

  constructor(
    httpServer: http.Server,
    private readonly schema: GraphQLSchema,
    private readonly services: Services,
    private readonly relay: EventRelay,
    private readonly options: LiveOptions,
  ) {
    this.documents = new DocumentCache(schema, options.limits, options.introspection);
    this.readAudit = new LiveReadAudit(services.audit);
    this.fanOut = new FanOut(
      schema,
      options.maxBufferBytes,
      this.stats,
      (principal) => this.context(principal),
      (customerIds, purposes) => services.consents.statusesOf(customerIds, purposes),
      (subs, customerIds) => {
        for (const sub of subs) this.readAudit.add(sub.conn.principal!, sub.operation, sub.operationName, customerIds);
      },
    );
    this.sockets = new LiveSockets(httpServer, options, services.apiKeys, this.stats, {
      message: (conn, data) => this.receive(conn, data),
      closed: (conn) => this.closed(conn),
    });
    this.unsubscribe = relay.subscribe((events) => this.fanOut.dispatch(events));
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
    for (const c of this.sockets.connections) {
      subscriptions += c.subs.size;
      for (const sub of c.subs.values()) if (sub.live) liveSubscriptions++;
      bufferedBytes += c.buffered;
      maxBufferedBytes = Math.max(maxBufferedBytes, c.buffered);
    }
    return {
      connections: this.sockets.connections.size,
      subscriptions,
      liveSubscriptions,
      bufferedBytes,
      maxBufferedBytes,
      documentCache: this.documents.stats,
      ...this.stats,
    };
  }

  /** Closes every connection (1001) and stops accepting new ones. */
  async stop(): Promise<void> {
    this.unsubscribe();
    await this.sockets.stop();
    await this.readAudit.flush();
  }

  private closed(conn: LiveConnection): void {
    for (const sub of conn.subs.values()) this.fanOut.remove(sub);
    conn.subs.clear();
  }

  private async receive(conn: LiveConnection, data: string): Promise<void> {
    const read = readMessage(data);
    if ('invalid' in read) return conn.close(LiveCloseCode.BadRequest, read.invalid);
    const message = read.message;
    switch (message.type) {
      case MessageType.ConnectionInit:
        return this.init(conn, message.payload);
      case MessageType.Ping:
        return conn.sendJson(pong(message.payload));
      case MessageType.Pong:
        return;
      case MessageType.Subscribe: {
        if (!conn.principal) return conn.close(LiveCloseCode.Unauthorized, 'Unauthorized');
        const request = subscribeRequest(message);
        if (!request) return conn.close(LiveCloseCode.BadRequest, 'Invalid message received: subscribe needs an id and payload.query');
        const { id, payload } = request;
        if (conn.subs.has(id)) return conn.close(LiveCloseCode.SubscriberAlreadyExists, `Subscriber for ${id} already exists`);
        const started = performance.now();
        const obs: Observation = { type: 'unknown', name: typeof payload.operationName === 'string' ? payload.operationName : null, outcome: 'ok' };
        const overCap = this.sockets.operationCapError(conn, conn.principal.id);
        const waitMs = overCap ? 0 : this.services.rateLimiter.take(conn.principal.id, conn.principal.rateLimit);
        if (overCap) this.fail(conn, id, overCap, obs);
        else if (waitMs > 0) this.fail(conn, id, new RateLimitedError(`The API key "${conn.principal.name}" is over its request rate; retry in ${waitMs} ms.`, waitMs), obs);
        else await this.subscribe(conn, id, payload, obs);
        const telemetry = this.options.telemetry;
        if (telemetry) {
          const { principal } = conn;
          recordOperation(telemetry, { transport: 'ws', ...obs, durationMs: performance.now() - started, keyId: principal?.id ?? null, keyName: principal?.name ?? null });
        }
        return;
      }
      case MessageType.Complete: {
        const sub = conn.subs.get(message.id as string);
        if (sub) this.fanOut.remove(sub);
        return;
      }
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
    if (!this.sockets.admit(conn, principal)) return;
    conn.sendJson({ type: MessageType.ConnectionAck });
  }

  /** Ends the operation with an `error` message. */
  private fail(conn: LiveConnection, id: string, error: Errors | unknown, obs?: Observation): void {
    conn.subs.delete(id);
    const payload = Array.isArray(error) ? (error as Errors) : formatted([toGraphQLError(error)]);
    if (obs) obs.outcome = outcomeOf(payload);
    conn.sendJson({ id, type: MessageType.Error, payload });
  }

  private context(principal: Principal): Context {
    return { ...this.services, principal, loaders: createLoaders(this.services), piiRead: new Set() };
  }

  private async subscribe(conn: LiveConnection, id: string, payload: SubscribePayload, obs: Observation): Promise<void> {
    // Where live delivery would start, taken before anything asynchronous: the replay covers the rest.
    const head = this.relay.head;
    const { document, errors } = this.documents.parse(payload.query);
    if (!document) return this.fail(conn, id, errors!, obs);
    const operationName = typeof payload.operationName === 'string' ? payload.operationName : undefined;
    const operation = getOperationAST(document, operationName);
    if (!operation) return this.fail(conn, id, new InputError([{ field: 'operationName', message: 'names no operation of the document' }]), obs);
    obs.type = operation.operation;
    obs.name = operation.name?.value ?? obs.name;
    const rawVariables = (payload.variables ?? {}) as Record<string, unknown>;
    if (typeof rawVariables !== 'object' || Array.isArray(rawVariables)) return this.fail(conn, id, new InputError([{ field: 'variables', message: 'must be an object' }]), obs);
    const principal = conn.principal!;
    const cost = checkCost(this.schema, document, operationName, rawVariables, this.options.limits);
    if (cost instanceof GraphQLError) return this.fail(conn, id, cost, obs);

    const coerced = getVariableValues(this.schema, operation.variableDefinitions ?? [], rawVariables);
    if (coerced.errors) {
      return this.fail(conn, id, coerced.errors.map((e) => ({ message: e.message, extensions: { code: ErrorCode.BAD_USER_INPUT, reason: 'BAD_USER_INPUT' } })), obs);
    }

    if (operation.operation !== 'subscription') {
      // A placeholder until the answer is sent: `complete` or a closing socket may remove it meanwhile.
      conn.subs.set(id, { id, conn } as Subscription);
      const contextValue = this.context(principal);
      const result = await execute({ schema: this.schema, document, operationName, variableValues: rawVariables, contextValue });
      if (contextValue.piiRead!.size) await this.services.audit.record([piiReadEntry(principal, rootFields(operation), operation.name?.value, contextValue.piiRead!)]);
      if (!conn.subs.has(id)) return;
      conn.subs.delete(id);
      const errors = result.errors ? formatted(result.errors) : undefined;
      obs.outcome = outcomeOf(errors);
      conn.sendJson({ id, type: MessageType.Next, payload: errors ? { ...result, errors } : result });
      conn.sendJson({ id, type: MessageType.Complete });
      return;
    }

    const field = rootField(document, operation);
    const topic = field && TOPIC_OF_FIELD[field.name.value];
    if (!field || !topic) return this.fail(conn, id, new InputError([{ field: field?.name.value ?? 'subscription', message: 'is not a subscription' }]), obs);
    if (!hasScope(principal, Scope.SUBSCRIBE)) {
      return this.fail(conn, id, new ForbiddenError(`The API key "${principal.name}" lacks the subscribe scope needed for Subscription.${field.name.value}.`), obs);
    }
    let args: Record<string, any>;
    try {
      args = getArgumentValues(this.schema.getSubscriptionType()!.getFields()[field.name.value], field, coerced.coerced);
    } catch (err) {
      return this.fail(conn, id, new InputError([{ field: field.name.value, message: (err as Error).message }]), obs);
    }

    conn.subs.set(id, { id, conn } as Subscription);
    try {
      let last = head;
      if (args.after != null) {
        last = decodeEventCursor(args.after, 'after');
        if (comparePositions(last, await this.relay.horizon()) < 0) {
          throw new InputError([{ field: 'after', message: 'is older than the events kept (EVENT_RETENTION_DAYS): read the current state with queries, then subscribe without `after`' }]);
        }
      }
      const purposes = new Set(this.services.config.consentPurposes);
      const known = (purpose: string, field: string) => {
        const p = String(purpose).trim().toUpperCase();
        if (!purposes.has(p)) throw new InputError([{ field, message: `unknown consent purpose "${String(purpose).slice(0, 64)}" (known: ${[...purposes].join(', ')})` }]);
        return p;
      };
      const consent = args.consent ? { purpose: known(args.consent.purpose, 'consent.purpose'), status: args.consent.status as string } : null;
      const purposeFilter = args.purposes ? new Set((args.purposes as string[]).map((p, i) => known(p, `purposes[${i}]`))) : null;
      let customerIds: Set<string> | null = null;
      if (args.customerId != null) {
        if (!UUID.test(args.customerId)) throw new InputError([{ field: 'customerId', message: 'must be a customer id (UUID)' }]);
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
        operationName: operationName ?? operation.name?.value,
        variables: rawVariables,
        groupKey: groupKey(payload.query, operationName, document, field, rawVariables, principal),
        stages: args.stages ? new Set(args.stages) : null,
        types: args.types ? new Set(args.types) : null,
        purposes: purposeFilter,
        segmentIds: args.segmentIds ? new Set((args.segmentIds as string[]).map((s, i) => {
          if (!UUID.test(s)) throw new InputError([{ field: `segmentIds[${i}]`, message: 'must be a segment id (UUID)' }]);
          return s.toLowerCase();
        })) : null,
        consent,
        operation: `Subscription.${field.name.value}`,
        customerIds,
        last,
        live: false,
        done: false,
      };
      conn.subs.set(id, sub);
      await replay(sub, this.relay, this.fanOut, this.options.maxBufferBytes);
    } catch (err) {
      const error = toGraphQLError(err);
      if (error.extensions.code === ErrorCode.INTERNAL_SERVER_ERROR) console.error('[live] subscribe failed:', err);
      if (conn.subs.has(id)) this.fail(conn, id, error, obs);
    }
  }
}
