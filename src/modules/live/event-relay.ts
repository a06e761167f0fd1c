import { Client } from 'pg';
import type { DataSource } from 'typeorm';

import {
  comparePositions,
  encodeEventCursor,
  START,
  Topic,
  type CommitSignal,
  type Position,
  type StoredEvent,
} from '../events/event';

export const EVENT_CHANNEL = 'cg_events';

export interface RelayOptions {
  /** Longest time between two reads of the log when no notification arrives (a lost NOTIFY, a crashed writer). */
  pollMs: number;
  /** Events read per statement. */
  batchSize: number;
  log?: (line: string) => void;
}

/** What a history read is narrowed to. `customerIds` also brings the merges of those customers. */
export interface HistoryFilter {
  topic: Topic;
  customerIds?: ReadonlySet<string>;
}

type Row = { xid: string; seq: string; topic: Topic; customer_id: string; payload: any; recorded_at: Date };

function toEvent(row: Row): StoredEvent {
  const position = { xid: BigInt(row.xid), seq: BigInt(row.seq) };
  return { topic: row.topic, customerId: row.customer_id, payload: row.payload, position, cursor: encodeEventCursor(position), recordedAt: row.recorded_at } as StoredEvent;
}

/**
 * The transaction id below which this database's event log is settled, in the statement's own
 * snapshot: the oldest transaction still running, leaving out those known to run in another
 * database of the server (a long import or dump there must not hold this one's subscribers back).
 * A transaction of this database is never left out, even one that ends while this is computed:
 * the snapshot was taken before, so it is still in its running list.
 */
const SETTLED_BELOW = `coalesce(
    (SELECT min(x) FROM pg_snapshot_xip(pg_current_snapshot()) AS x
      WHERE NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.backend_xid = xid(x) AND a.datname IS DISTINCT FROM current_database())),
    pg_snapshot_xmax(pg_current_snapshot()))`;

// Settled events only: every transaction with a smaller id has ended, so no row can still
// appear before the last one read. (Sequence values alone would skip a row that commits late.)
const READ_SETTLED = `
  WITH s AS MATERIALIZED (SELECT ${SETTLED_BELOW} AS below)
  (SELECT e.xid::text, e.seq::text, e.topic, e.customer_id, e.payload, e.recorded_at
     FROM event e, s
    WHERE (e.xid, e.seq) > ($1::xid8, $2::bigint) AND e.xid < s.below
    ORDER BY e.xid, e.seq
    LIMIT $3)
  UNION ALL
  SELECT NULL, NULL, NULL, NULL, NULL, NULL FROM s WHERE EXISTS (SELECT 1 FROM event e WHERE e.xid >= s.below)`;

/**
 * One per server instance: follows the event log and hands every committed event, once and in
 * log order, to its listeners. Woken by PostgreSQL notifications (one per committed write at
 * most, sent after the commit on this relay's connection, so that writers never queue on the
 * notification lock), by local commits, and by a slow poll as a safety net.
 */
export class EventRelay implements CommitSignal {
  private client: Client | null = null;
  private chain: Promise<unknown> = Promise.resolve();
  private readonly aborts = new Set<(err: Error) => void>();
  private position: Position = START;
  private readonly listeners = new Set<(events: StoredEvent[]) => void | Promise<unknown>>();
  private reading = false;
  private readAgain = false;
  private notifyPending = false;
  private notifying = false;
  private pollTimer?: NodeJS.Timeout;
  private retryTimer?: NodeJS.Timeout;
  private retryDelay = 5;
  private reconnectTimer?: NodeJS.Timeout;
  private stopped = false;
  /** Counters for /ready-style checks and benchmarks. */
  readonly stats = { reads: 0, events: 0, notificationsSent: 0, notificationsReceived: 0, reconnects: 0 };

  constructor(
    private readonly dataSource: DataSource,
    private readonly url: string,
    private readonly options: RelayOptions,
  ) {}

  /** The position of the last event handed to the listeners: everything up to it is settled. */
  get head(): Position {
    return this.position;
  }

  async start(): Promise<void> {
    this.position = await this.settledHead();
    await this.connect();
    this.pollTimer = setInterval(() => this.wake(), this.options.pollMs);
    this.pollTimer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.pollTimer);
    clearTimeout(this.retryTimer);
    clearTimeout(this.reconnectTimer);
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => undefined);
  }

  /**
   * Listeners are called synchronously, batch after batch, in log order. A listener that returns
   * a promise holds the next read until it settles (back-pressure: unsent events then wait in
   * the database, not in memory).
   */
  subscribe(listener: (events: StoredEvent[]) => void | Promise<unknown>): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** A local transaction that wrote events has committed: read now, and tell the other instances. */
  committed(): void {
    this.wake();
    this.notifyPending = true;
    void this.flushNotify();
  }

  /** Reads whatever is new (coalesced: one read at a time, one more if woken meanwhile). */
  wake(): void {
    if (this.stopped) return;
    if (this.reading) {
      this.readAgain = true;
      return;
    }
    void this.readLoop();
  }

  /**
   * Matching events in (after, until], oldest first, at most `limit`: the replay of a
   * subscriber that resumes from a cursor. Everything up to `head` is settled, so the range is
   * complete.
   */
  async history(after: Position, until: Position, filter: HistoryFilter, limit: number): Promise<StoredEvent[]> {
    const ids = filter.customerIds ? [...filter.customerIds] : null;
    const rows: Row[] = await this.dataSource.query(
      `SELECT e.xid::text, e.seq::text, e.topic, e.customer_id, e.payload, e.recorded_at
         FROM event e
        WHERE (e.xid, e.seq) > ($1::xid8, $2::bigint) AND (e.xid, e.seq) <= ($3::xid8, $4::bigint)
          AND (${ids ? `(e.topic = $5 AND e.customer_id = ANY($6::uuid[])) OR (e.topic = '${Topic.CUSTOMER_MERGED}' AND (e.customer_id = ANY($6::uuid[]) OR e.payload->>'mergedId' = ANY($6::text[])))` : 'e.topic = $5'})
        ORDER BY e.xid, e.seq
        LIMIT ${Number(limit)}`,
      [after.xid.toString(), after.seq.toString(), until.xid.toString(), until.seq.toString(), filter.topic, ...(ids ? [ids] : [])],
    );
    return rows.map(toEvent);
  }

  /** Where pruning has reached: cursors before it cannot be replayed completely. */
  async horizon(): Promise<Position> {
    const [row] = await this.dataSource.query(`SELECT xid::text, seq::text FROM event_horizon WHERE id = 1`);
    return row ? { xid: BigInt(row.xid), seq: BigInt(row.seq) } : START;
  }

  /** Deletes settled events recorded before `before`, and moves the horizon past them. */
  async prune(before: Date): Promise<number> {
    const rows: Array<{ n: number }> = await this.dataSource.query(
      `WITH h AS (
         SELECT e.xid, e.seq FROM event e
          WHERE e.recorded_at < $1 AND e.xid < (SELECT ${SETTLED_BELOW})
          ORDER BY e.xid DESC, e.seq DESC LIMIT 1),
       gone AS (DELETE FROM event e USING h WHERE (e.xid, e.seq) <= (h.xid, h.seq) RETURNING 1),
       moved AS (UPDATE event_horizon x SET xid = h.xid, seq = h.seq FROM h WHERE x.id = 1 AND (h.xid, h.seq) > (x.xid, x.seq))
       SELECT count(*)::int AS n FROM gone`,
      [before],
    );
    return rows[0]?.n ?? 0;
  }

  /**
   * A statement on the relay's own connection, one at a time (the connection also carries the
   * LISTEN); through the pool while that connection is being re-established. A `name` prepares it
   * once per connection: the read of the log runs after every write, and parsing and planning it
   * each time cost PostgreSQL about 0.6 ms, more than the write's own statement.
   */
  private query<T>(text: string, params?: unknown[], name?: string): Promise<T[]> {
    const client = this.client;
    if (!client) return this.dataSource.query(text, params);
    // A statement caught by a lost connection must fail at once, or the reads would wait forever.
    const run = new Promise<T[]>((resolve, reject) => {
      const abort = (err: Error) => reject(err);
      this.aborts.add(abort);
      this.chain
        .then(() => (this.client === client ? client.query(name ? { name, text, values: params } : { text, values: params }) : Promise.reject(new Error('relay connection lost'))))
        .then((r) => resolve(r.rows as T[]), reject)
        .finally(() => this.aborts.delete(abort));
    });
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async settledHead(): Promise<Position> {
    const [row] = await this.dataSource.query(
      `SELECT xid::text, seq::text FROM event WHERE xid < (SELECT ${SETTLED_BELOW}) ORDER BY xid DESC, seq DESC LIMIT 1`,
    );
    return row ? { xid: BigInt(row.xid), seq: BigInt(row.seq) } : START;
  }

  private async connect(): Promise<void> {
    const client = new Client({ connectionString: this.url, application_name: 'customer-graph live relay', query_timeout: 10_000 });
    const lost = () => {
      if (this.stopped || this.client !== client) return;
      this.client = null;
      this.chain = Promise.resolve();
      for (const abort of [...this.aborts]) abort(new Error('relay connection lost'));
      this.stats.reconnects++;
      this.options.log?.('[live] relay connection lost; reconnecting');
      client.end().catch(() => undefined);
      this.scheduleReconnect();
      this.wake();
    };
    client.on('error', (err) => {
      this.options.log?.(`[live] relay connection error: ${err.message}`);
      lost();
    });
    client.on('end', lost);
    client.on('notification', (msg) => {
      if (msg.processId === (client as unknown as { processID: number }).processID) return;
      this.stats.notificationsReceived++;
      this.wake();
    });
    await client.connect();
    await client.query(`LISTEN ${EVENT_CHANNEL}`);
    // Its read of the log is planned once: left to choose, PostgreSQL planned it again at every
    // execution (a custom plan, 0.8–1 ms of its CPU for the snapshot functions and
    // pg_stat_activity, after every write), for the same plan: the log's primary key from the
    // position on. The generic plan took the read from 1.1–1.2 to 0.25–0.36 ms a round trip.
    await client.query('SET plan_cache_mode = force_generic_plan');
    this.client = client;
    // Whatever was committed while not listening.
    this.wake();
  }

  private scheduleReconnect(): void {
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => {
      this.connect().catch((err) => {
        this.options.log?.(`[live] relay reconnect failed: ${(err as Error).message}`);
        this.scheduleReconnect();
      });
    }, 1000);
    this.reconnectTimer.unref();
  }

  private async flushNotify(): Promise<void> {
    if (this.notifying || !this.notifyPending || !this.client) return;
    this.notifying = true;
    try {
      while (this.notifyPending && this.client) {
        this.notifyPending = false;
        this.stats.notificationsSent++;
        await this.query(`NOTIFY ${EVENT_CHANNEL}`);
      }
    } catch (err) {
      this.options.log?.(`[live] NOTIFY failed (the other instances will poll): ${(err as Error).message}`);
    } finally {
      this.notifying = false;
    }
  }

  private async readLoop(): Promise<void> {
    this.reading = true;
    try {
      for (;;) {
        this.readAgain = false;
        const rows = await this.query<Row | { xid: null }>(READ_SETTLED, [this.position.xid.toString(), this.position.seq.toString(), this.options.batchSize], 'cg_relay_read');
        this.stats.reads++;
        const events = rows.filter((r): r is Row => r.xid !== null).map(toEvent);
        const unsettled = rows.length > events.length;
        if (events.length) {
          const last = events[events.length - 1].position;
          if (comparePositions(last, this.position) > 0) this.position = last;
          this.stats.events += events.length;
          const waits: Array<Promise<unknown>> = [];
          for (const listener of this.listeners) {
            try {
              const wait = listener(events);
              if (wait) waits.push(wait.catch(() => undefined));
            } catch (err) {
              this.options.log?.(`[live] listener failed: ${(err as Error).stack ?? err}`);
            }
          }
          if (waits.length) await Promise.all(waits);
        }
        if (events.length === this.options.batchSize) continue;
        // Committed events wait behind an older transaction still running: look again soon.
        if (unsettled) {
          clearTimeout(this.retryTimer);
          this.retryTimer = setTimeout(() => this.wake(), this.retryDelay);
          this.retryDelay = Math.min(this.retryDelay * 2, 50);
        } else {
          this.retryDelay = 5;
        }
        if (!this.readAgain) break;
      }
    } catch (err) {
      if (!this.stopped) {
        this.options.log?.(`[live] reading events failed: ${(err as Error).message}`);
        clearTimeout(this.retryTimer);
        this.retryTimer = setTimeout(() => this.wake(), 100);
      }
    } finally {
      this.reading = false;
    }
  }
}
