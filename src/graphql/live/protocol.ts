import type { GraphQLError, GraphQLFormattedError } from 'graphql';
import { CloseCode, GRAPHQL_TRANSPORT_WS_PROTOCOL, MessageType } from 'graphql-ws';

import { formatError } from '../errors';

export { MessageType };

export const LIVE_PROTOCOL = GRAPHQL_TRANSPORT_WS_PROTOCOL;

/** Close codes the live endpoint uses that graphql-ws has no name for. */
export enum ServerCloseCode {
  GoingAway = 1001,
  /** More than the send-buffer bound waits for this client: reconnect and resubscribe with `after: <last cursor>`. */
  SlowConsumer = 4413,
}

/** Close codes of the live endpoint: graphql-ws's own, plus those it lacks. */
export const LiveCloseCode = {
  GoingAway: ServerCloseCode.GoingAway,
  BadRequest: CloseCode.BadRequest,
  Unauthorized: CloseCode.Unauthorized,
  Forbidden: CloseCode.Forbidden,
  SubprotocolNotAcceptable: CloseCode.SubprotocolNotAcceptable,
  ConnectionInitialisationTimeout: CloseCode.ConnectionInitialisationTimeout,
  SubscriberAlreadyExists: CloseCode.SubscriberAlreadyExists,
  SlowConsumer: ServerCloseCode.SlowConsumer,
  /** A second connection_init, or more connections than LIVE_MAX_CONNECTIONS_PER_KEY for one key. */
  TooManyInitialisationRequests: CloseCode.TooManyInitialisationRequests,
  InternalServerError: CloseCode.InternalServerError,
} as const;
export type LiveCloseCode = (typeof LiveCloseCode)[keyof typeof LiveCloseCode];

export type Errors = GraphQLFormattedError[];
export const formatted = (errors: readonly GraphQLError[]): Errors => errors.map((e) => formatError(e.toJSON(), e));

export interface SubscribePayload {
  query: string;
  variables?: unknown;
  operationName?: unknown;
}

/**
 * A message a client may send. Only its type is checked on arrival: a subscribe is checked
 * further by `subscribeRequest`, after the connection is known to be acknowledged (4401 first).
 */
export type ClientMessage =
  | { type: MessageType.ConnectionInit; payload?: unknown }
  | { type: MessageType.Ping; payload?: unknown }
  | { type: MessageType.Pong; payload?: unknown }
  | { type: MessageType.Subscribe; id?: unknown; payload?: any }
  | { type: MessageType.Complete; id?: unknown };

const CLIENT_TYPES: ReadonlySet<string> = new Set([MessageType.ConnectionInit, MessageType.Ping, MessageType.Pong, MessageType.Subscribe, MessageType.Complete]);

/** The message, or why it closes the connection with 4400. */
export function readMessage(data: string): { message: ClientMessage } | { invalid: string } {
  let message: any;
  try {
    message = JSON.parse(data);
  } catch {
    return { invalid: 'Invalid message received: not JSON' };
  }
  if (typeof message !== 'object' || message === null || typeof message.type !== 'string') {
    return { invalid: 'Invalid message received: no type' };
  }
  if (!CLIENT_TYPES.has(message.type)) return { invalid: `Invalid message received: unknown type ${String(message.type).slice(0, 40)}` };
  return { message };
}

export function subscribeRequest(message: { id?: unknown; payload?: any }): { id: string; payload: SubscribePayload } | undefined {
  if (typeof message.id !== 'string' || !message.id || typeof message.payload?.query !== 'string') return undefined;
  return { id: message.id, payload: message.payload };
}

export const pong = (payload: unknown) => (payload === undefined ? { type: MessageType.Pong } : { type: MessageType.Pong, payload });

/** A `next` whose payload is already serialised, so that one serialisation serves many subscribers. */
export const nextMessage = (id: string, payloadJson: string): string => `{"id":${JSON.stringify(id)},"type":"next","payload":${payloadJson}}`;
