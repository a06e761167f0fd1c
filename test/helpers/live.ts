import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

import type { Config } from '../../src/config';
import { startTestServer, type TestServer } from './server';

export interface Received<T = any> {
  events: T[];
  errors: unknown[];
  /** Set when the subscription ended: completed, errored, or the socket closed. */
  ended: Promise<void>;
  isEnded(): boolean;
}

export interface LiveClient {
  client: Client;
  /** Close codes seen by this client's sockets. */
  closes: Array<{ code: number; reason: string }>;
  subscribe<T = any>(query: string, variables?: Record<string, unknown>, field?: string): Received<T>;
  dispose(): Promise<void>;
}

const wsUrl = (httpUrl: string) => httpUrl.replace(/^http/, 'ws');

/** A graphql-ws client (the library front ends use) on a test server, without retries. */
/**
 * `lazy` (the default) connects on the first operation and closes when none is left; a client
 * that sends operations one after another should not be lazy: an operation sent while the last
 * one's socket is closing can be ended by that close.
 */
export function liveClient(httpUrl: string, key: string | null, options: { lazy?: boolean } = {}): LiveClient {
  const closes: Array<{ code: number; reason: string }> = [];
  const client = createClient({
    url: wsUrl(httpUrl),
    webSocketImpl: WebSocket,
    connectionParams: key ? { authorization: `Bearer ${key}` } : {},
    retryAttempts: 0,
    lazy: options.lazy ?? true,
    on: { closed: (event: any) => closes.push({ code: event.code, reason: String(event.reason) }) },
  });
  return {
    client,
    closes,
    subscribe(query, variables = {}, field) {
      const events: any[] = [];
      const errors: unknown[] = [];
      let ended = false;
      let end!: () => void;
      const endedPromise = new Promise<void>((resolve) => (end = resolve));
      client.subscribe(
        { query, variables },
        {
          next: (result: any) => {
            if (result.errors) errors.push(...result.errors);
            const data = result.data ?? {};
            events.push(field ? data[field] : Object.values(data)[0]);
          },
          error: (err) => {
            errors.push(err);
            ended = true;
            end();
          },
          complete: () => {
            ended = true;
            end();
          },
        },
      );
      return { events, errors, ended: endedPromise, isEnded: () => ended };
    },
    dispose: async () => {
      await client.dispose();
    },
  };
}

/** Resolves once `check` holds, polling; rejects with `what` after `ms`. */
export async function eventually(check: () => boolean | Promise<boolean>, ms = 10_000, what = 'condition'): Promise<number> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return Date.now() - started;
}

/** A raw websocket speaking the protocol by hand: for what a well-behaved client never does. */
export function rawSocket(httpUrl: string, protocol: string | null = 'graphql-transport-ws'): Promise<{ ws: WebSocket; messages: any[]; closed: Promise<{ code: number; reason: string }> }> {
  return new Promise((resolve, reject) => {
    const ws = protocol ? new WebSocket(wsUrl(httpUrl), protocol) : new WebSocket(wsUrl(httpUrl));
    const messages: any[] = [];
    const closed = new Promise<{ code: number; reason: string }>((r) => ws.on('close', (code, reason) => r({ code, reason: reason.toString() })));
    ws.on('message', (d) => messages.push(JSON.parse(d.toString())));
    ws.once('open', () => resolve({ ws, messages, closed }));
    ws.once('error', reject);
  });
}

/**
 * Waits until the server's relay has read every event committed so far. A subscription without
 * `after` starts at the relay's position, so events committed just before it may still reach it:
 * tests that count events subscribe only once the relay has caught up.
 */
export async function caughtUp(t: TestServer): Promise<void> {
  const [last] = await t.sql(`SELECT xid::text, seq::text FROM event ORDER BY xid DESC, seq DESC LIMIT 1`);
  if (!last) return;
  const head = () => t.server.relay.head;
  await eventually(() => head().xid > BigInt(last.xid) || (head().xid === BigInt(last.xid) && head().seq >= BigInt(last.seq)), 5000, 'the relay to catch up');
}

export interface LiveTestServer {
  /** The server; set once the suite's `beforeAll` has run. */
  readonly t: TestServer;
  /** A graphql-ws client (the subscribe-scoped key by default), disposed after the test. */
  client(key?: string | null, options?: { lazy?: boolean }): LiveClient;
  /** Waits until `n` subscriptions are past their replay and receive live events. */
  subscribed(n: number): Promise<number>;
  caughtUp(): Promise<void>;
}

/**
 * One test server for a websocket suite, with its hooks: every test starts with the relay caught
 * up and no connection open (the server notices closed sockets asynchronously), so that
 * `subscribed(n)` counts that test's subscriptions only.
 */
export function useLiveServer(overrides: Partial<Config> = {}): LiveTestServer {
  let server: TestServer | undefined;
  const clients: LiveClient[] = [];
  const live: LiveTestServer = {
    get t() {
      if (!server) throw new Error('the live test server is not started yet (use it inside tests and hooks)');
      return server;
    },
    client(key = live.t.keys.subscribe, options = {}) {
      const c = liveClient(live.t.url, key, options);
      clients.push(c);
      return c;
    },
    subscribed: (n) => eventually(() => live.t.server.live.snapshot().liveSubscriptions >= n, 5000, `${n} subscriptions`),
    caughtUp: () => caughtUp(live.t),
  };
  beforeAll(async () => {
    server = await startTestServer(overrides);
  });
  beforeEach(() => live.caughtUp());
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.dispose()));
    await eventually(() => live.t.server.live.snapshot().connections === 0, 10_000, 'the connections of the last test to close');
  });
  afterAll(() => server?.close());
  return live;
}

export interface Outcome<T = any> {
  /** Every `next` payload, whole: data and errors together. */
  results: Array<{ data?: T | null; errors?: Array<{ message: string; path?: Array<string | number>; extensions?: Record<string, any> }> }>;
  /** What the server answered with an `error` message (or the socket's close event), if it did. */
  error: unknown;
  ended: Promise<void>;
  /** Stops a subscription that is still running. */
  stop(): void;
}

/** One operation on a graphql-ws client, keeping each result whole (data beside its errors). */
export function operation<T = any>(c: LiveClient, query: string, variables: Record<string, unknown> = {}): Outcome<T> {
  let end!: () => void;
  const ended = new Promise<void>((resolve) => (end = resolve));
  const outcome: Outcome<T> = { results: [], error: undefined, ended, stop: () => undefined };
  outcome.stop = c.client.subscribe<T>(
    { query, variables },
    {
      next: (result) => outcome.results.push(result as Outcome<T>['results'][number]),
      error: (err) => {
        outcome.error = err;
        end();
      },
      complete: end,
    },
  );
  return outcome;
}

/** A query or mutation over the websocket (the live server serves them too): its one result. */
export async function request<T = any>(c: LiveClient, query: string, variables: Record<string, unknown> = {}): Promise<Outcome<T>> {
  const outcome = operation<T>(c, query, variables);
  await outcome.ended;
  return outcome;
}
