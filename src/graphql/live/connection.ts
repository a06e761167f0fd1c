import type http from 'node:http';

import { WebSocketServer, type RawData, type WebSocket } from 'ws';

import type { Principal } from '../../modules/access/api-key.service';
import type { Services } from '../context';
import { RateLimitedError } from '../../modules/shared/errors';
import type { LiveStats, Subscription } from './fan-out';
import { LIVE_PROTOCOL, LiveCloseCode } from './protocol';

export interface SocketOptions {
  /** How often the keys of open connections are checked for revocation. */
  keyCheckSeconds: number;
  /** Largest message accepted (a bigger one closes the connection, 1009). */
  maxPayloadBytes: number;
  maxConnectionsPerKey: number;
  maxOperationsPerConnection: number;
  maxSubscriptionsPerKey: number;
  initTimeoutMs?: number;
  heartbeatMs?: number;
  /**
   * Whether a browser page of `origin` may open a connection (CORS_ORIGINS); a client that sends
   * no Origin (not a browser) always may. Unset: any origin.
   */
  allowOrigin?: (origin: string | undefined, host: string | undefined) => boolean;
}

/** What the protocol does with a socket's messages, and with its operations once it closes. */
export interface SocketHandlers {
  message(conn: LiveConnection, data: string): Promise<void>;
  closed(conn: LiveConnection): void;
}

export class LiveConnection {
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
 * The `ws` side of the live endpoint: accepts sockets on /graphql, keeps them alive, holds each
 * key to its caps, and closes the connections of revoked keys.
 */
export class LiveSockets {
  private readonly wss: WebSocketServer;
  private readonly open = new Set<LiveConnection>();
  /** Open connections of each key, for the per-key caps. */
  private readonly keyConnections = new Map<string, Set<LiveConnection>>();
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(
    httpServer: http.Server,
    private readonly options: SocketOptions,
    private readonly apiKeys: Services['apiKeys'],
    private readonly stats: LiveStats,
    private readonly handlers: SocketHandlers,
  ) {
    this.wss = new WebSocketServer({
      server: httpServer,
      path: '/graphql',
      maxPayload: options.maxPayloadBytes,
      handleProtocols: (protocols) => (protocols.has(LIVE_PROTOCOL) ? LIVE_PROTOCOL : false),
      verifyClient: options.allowOrigin
        ? ({ origin, req }: { origin: string; req: http.IncomingMessage }, done: (ok: boolean, code?: number, message?: string) => void) =>
            options.allowOrigin!(origin || undefined, req.headers.host) ? done(true) : done(false, 403, 'Origin not allowed (CORS_ORIGINS)')
        : undefined,
    });
    this.wss.on('connection', (socket) => this.opened(socket));
    const keyCheck = setInterval(() => void this.checkKeys(), options.keyCheckSeconds * 1000);
    const heartbeat = setInterval(() => this.heartbeat(), options.heartbeatMs ?? 30_000);
    for (const t of [keyCheck, heartbeat]) {
      t.unref();
      this.timers.push(t);
    }
  }

  get connections(): ReadonlySet<LiveConnection> {
    return this.open;
  }

  /** Closes every connection (1001) and stops accepting new ones. */
  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    for (const c of this.open) c.close(LiveCloseCode.GoingAway, 'Server shutting down');
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    for (const c of this.open) c.socket.terminate();
  }

  /** Counts the connection under its key; false, the connection closed with 4429, when the key is at its cap. */
  admit(conn: LiveConnection, principal: Principal): boolean {
    let mine = this.keyConnections.get(principal.id);
    if ((mine?.size ?? 0) >= this.options.maxConnectionsPerKey) {
      conn.close(
        LiveCloseCode.TooManyInitialisationRequests,
        `Rate limited: the API key already has ${this.options.maxConnectionsPerKey} open connections; use them or close some`,
      );
      return false;
    }
    if (!mine) this.keyConnections.set(principal.id, (mine = new Set()));
    mine.add(conn);
    clearTimeout(conn.initTimer);
    conn.principal = principal;
    return true;
  }

  /** Why one more operation would be over the connection's or the key's cap, if it would. */
  operationCapError(conn: LiveConnection, keyId: string): RateLimitedError | undefined {
    const { maxOperationsPerConnection, maxSubscriptionsPerKey } = this.options;
    if (conn.subs.size >= maxOperationsPerConnection) {
      return new RateLimitedError(`At most ${maxOperationsPerConnection} operations may be open on one connection; complete some first.`);
    }
    if (this.operationsOf(keyId) >= maxSubscriptionsPerKey) {
      return new RateLimitedError(`At most ${maxSubscriptionsPerKey} operations may be open at once for one API key, over all its connections; complete some first.`);
    }
    return undefined;
  }

  /** Operations open on every connection of a key. */
  private operationsOf(keyId: string): number {
    let n = 0;
    for (const c of this.keyConnections.get(keyId) ?? []) n += c.subs.size;
    return n;
  }

  private opened(socket: WebSocket): void {
    const conn = new LiveConnection(socket);
    this.open.add(conn);
    if (socket.protocol !== LIVE_PROTOCOL) {
      conn.close(LiveCloseCode.SubprotocolNotAcceptable, `Subprotocol not acceptable: use ${LIVE_PROTOCOL}`);
    } else {
      conn.initTimer = setTimeout(() => {
        if (!conn.principal) conn.close(LiveCloseCode.ConnectionInitialisationTimeout, 'Connection initialisation timeout');
      }, this.options.initTimeoutMs ?? 3000);
    }
    socket.on('pong', () => (conn.alive = true));
    socket.on('message', (data) => void this.receive(conn, data));
    socket.on('close', () => this.closed(conn));
    socket.on('error', () => socket.terminate());
  }

  private async receive(conn: LiveConnection, data: RawData): Promise<void> {
    try {
      await this.handlers.message(conn, data.toString());
    } catch (err) {
      console.error('[live] message handling failed:', err);
      conn.close(LiveCloseCode.InternalServerError, 'Internal server error');
    }
  }

  private closed(conn: LiveConnection): void {
    clearTimeout(conn.initTimer);
    conn.closing = true;
    this.handlers.closed(conn);
    this.open.delete(conn);
    if (conn.principal) {
      const mine = this.keyConnections.get(conn.principal.id);
      mine?.delete(conn);
      if (mine?.size === 0) this.keyConnections.delete(conn.principal.id);
    }
  }

  /** Revoked and rotated keys stop receiving: their connections are closed with 4403. */
  private async checkKeys(): Promise<void> {
    const keys = new Map<string, Principal>([...this.open].flatMap((c) => (c.principal ? [[`${c.principal.id}:${c.principal.keyHash}`, c.principal] as const] : [])));
    if (keys.size === 0) return;
    try {
      const valid = await this.apiKeys.stillValid([...keys.values()]);
      for (const c of this.open) {
        // Only the keys asked about: a connection opened while the check ran is not judged by it.
        const key = c.principal && `${c.principal.id}:${c.principal.keyHash}`;
        if (key && keys.has(key) && !valid.has(key)) {
          this.stats.revokedCloses++;
          c.close(LiveCloseCode.Forbidden, 'Forbidden: the API key was revoked or its secret rotated');
        }
      }
    } catch (err) {
      console.error('[live] key check failed:', (err as Error).message);
    }
  }

  private heartbeat(): void {
    for (const c of this.open) {
      if (!c.alive) {
        c.socket.terminate();
        continue;
      }
      c.alive = false;
      c.socket.ping();
    }
  }
}
