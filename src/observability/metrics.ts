import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

import { Topic } from '../modules/events/event';

/**
 * The server's Prometheus series (prom-client), one registry per server instance so that several
 * servers in one process (tests) keep their own. Counters that the domain moves are fed through
 * narrow observer interfaces (IngestObserver, SweepObserver…) implemented here and wired in
 * src/server.ts; the domain never imports this file. Gauges that read state (connections, pools)
 * are sampled when scraped.
 */

/** What one GraphQL operation did, whichever transport carried it. */
export interface OperationRecord {
  transport: 'http' | 'ws';
  /** query, mutation, subscription; `unknown` when it was refused before its type was known. */
  type: string;
  /** The operation's name as sent (checked and bounded before it becomes a label). */
  name: string | null;
  /** `ok`, or the first error's code. */
  outcome: string;
  durationMs: number;
}

export interface PoolSample {
  name: string;
  total: number;
  idle: number;
  waiting: number;
}

export interface LiveSample {
  connections: number;
  subscriptions: number;
  messages: number;
  slowConsumerCloses: number;
  revokedCloses: number;
}

/** Operation names become labels only while they are few and look like names: clients choose them. */
export const MAX_OPERATION_NAMES = 200;
const NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const OUTCOME = /^[A-Z_]{1,40}$/;

export class Metrics {
  readonly registry = new Registry();
  private readonly names = new Set<string>();
  private readonly operations: Counter<'transport' | 'type' | 'operation' | 'outcome'>;
  private readonly durations: Histogram<'transport' | 'type' | 'operation' | 'outcome'>;
  private readonly http: Counter<'status'>;
  private readonly ingestItems: Counter<'status'>;
  private readonly merges: Counter;
  private readonly combinedWrites: Histogram;
  private readonly transitions: Counter<'from' | 'to'>;
  private readonly events: Counter<'topic'>;
  private readonly relayLag: Gauge;
  private readonly sweepRuns: Counter;
  private readonly sweepDuration: Histogram;
  private readonly sweepDue: Counter;
  private readonly sweepMoved: Counter;
  private readonly unmaskedReads: Counter;

  constructor(samplers: { live?: () => LiveSample; pools?: () => PoolSample[]; queuedWrites?: () => number } = {}) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 10 });
    this.operations = new Counter({
      name: 'cg_graphql_operations_total',
      help: 'GraphQL operations answered, by transport, type, operation name and outcome (ok or the error code).',
      labelNames: ['transport', 'type', 'operation', 'outcome'],
      registers,
    });
    this.durations = new Histogram({
      name: 'cg_graphql_operation_duration_seconds',
      help: 'Time from receiving a GraphQL operation to its answer (for a subscription: to its start).',
      labelNames: ['transport', 'type', 'operation', 'outcome'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.http = new Counter({
      name: 'cg_http_graphql_responses_total',
      help: 'HTTP responses of /graphql by status, including requests refused before GraphQL (401, 413, 429).',
      labelNames: ['status'],
      registers,
    });
    this.ingestItems = new Counter({ name: 'cg_ingest_items_total', help: 'Interactions sent to recordInteraction(s) and identify, by outcome (CREATED, DUPLICATE, REJECTED).', labelNames: ['status'], registers });
    this.merges = new Counter({ name: 'cg_merges_total', help: 'Customers merged into another by the writes of this instance.', registers });
    this.combinedWrites = new Histogram({
      name: 'cg_single_writes_per_transaction',
      help: 'recordInteraction calls of one key written in one transaction (1: alone; more: calls that queued behind running writes, combined).',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128],
      registers,
    });
    const queuedWrites = samplers.queuedWrites;
    new Gauge({
      name: 'cg_single_writes_queued',
      help: 'recordInteraction calls waiting for a running write of their key to finish, to be written together (over every key).',
      registers,
      collect() {
        this.set(queuedWrites?.() ?? 0);
      },
    });
    this.transitions = new Counter({
      name: 'cg_lifecycle_transitions_total',
      help: 'Lifecycle stage changes read from the event log by this instance (every instance reads the whole log: take max over instances, not sum).',
      labelNames: ['from', 'to'],
      registers,
    });
    this.events = new Counter({ name: 'cg_events_total', help: 'Events read from the event log by this instance, by topic.', labelNames: ['topic'], registers });
    this.relayLag = new Gauge({
      name: 'cg_relay_lag_seconds',
      help: 'Age of the newest event when the relay handed it to the subscribers: from its commit to its delivery.',
      registers,
    });
    this.sweepRuns = new Counter({ name: 'cg_sweep_runs_total', help: 'Lifecycle sweeps run by this instance (periodic, and evaluateLifecycle).', registers });
    this.sweepDuration = new Histogram({
      name: 'cg_sweep_duration_seconds',
      help: 'Duration of a lifecycle sweep.',
      buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300],
      registers,
    });
    this.sweepDue = new Counter({ name: 'cg_sweep_customers_due_total', help: 'Customers due and examined by sweeps.', registers });
    this.sweepMoved = new Counter({ name: 'cg_sweep_customers_moved_total', help: 'Customers whose stage a sweep changed.', registers });
    this.unmaskedReads = new Counter({ name: 'cg_pii_unmasked_reads_total', help: 'Operations that returned unmasked personal data (pii scope), as audited.', registers });

    const live = () => samplers.live?.() ?? { connections: 0, subscriptions: 0, messages: 0, slowConsumerCloses: 0, revokedCloses: 0 };
    new Gauge({ name: 'cg_live_connections', help: 'Open websocket connections.', registers, collect() { this.set(live().connections); } });
    new Gauge({ name: 'cg_live_subscriptions', help: 'Subscriptions open over all connections.', registers, collect() { this.set(live().subscriptions); } });
    // Counters kept by the live server itself, exposed as they stand.
    new Counter({ name: 'cg_live_deliveries_total', help: 'Event messages sent to subscribers.', registers, collect() { this.reset(); this.inc(live().messages); } });
    new Counter({ name: 'cg_live_slow_consumer_closes_total', help: 'Connections closed with 4413 (slow consumer).', registers, collect() { this.reset(); this.inc(live().slowConsumerCloses); } });
    new Counter({ name: 'cg_live_revoked_closes_total', help: 'Connections closed because their key was revoked or rotated.', registers, collect() { this.reset(); this.inc(live().revokedCloses); } });

    const pools = samplers.pools;
    new Gauge({
      name: 'cg_db_pool_connections',
      help: 'Connections of each database pool, by state (in_use, idle).',
      labelNames: ['pool', 'state'],
      registers,
      collect() {
        this.reset();
        for (const p of pools?.() ?? []) {
          this.set({ pool: p.name, state: 'in_use' }, p.total - p.idle);
          this.set({ pool: p.name, state: 'idle' }, p.idle);
        }
      },
    });
    new Gauge({
      name: 'cg_db_pool_waiting',
      help: 'Queries waiting for a connection of each pool.',
      labelNames: ['pool'],
      registers,
      collect() {
        this.reset();
        for (const p of pools?.() ?? []) this.set({ pool: p.name }, p.waiting);
      },
    });
  }

  /** The label of an operation name: itself while names are few and well formed, else `other`. */
  operationLabel(name: string | null): string {
    if (!name) return 'anonymous';
    if (!NAME.test(name)) return 'other';
    if (this.names.has(name)) return name;
    if (this.names.size >= MAX_OPERATION_NAMES) return 'other';
    this.names.add(name);
    return name;
  }

  operation(o: OperationRecord): void {
    const labels = {
      transport: o.transport,
      type: ['query', 'mutation', 'subscription'].includes(o.type) ? o.type : 'unknown',
      operation: this.operationLabel(o.name),
      outcome: o.outcome === 'ok' || OUTCOME.test(o.outcome) ? o.outcome : 'other',
    };
    this.operations.inc(labels);
    this.durations.observe(labels, o.durationMs / 1000);
  }

  httpResponse(status: number): void {
    this.http.inc({ status: String(status) });
  }

  /** IngestObserver */
  ingested(outcomes: ReadonlyArray<{ status: string; mergedCustomerIds: readonly string[] }>): void {
    const byStatus = new Map<string, number>();
    let merged = 0;
    for (const o of outcomes) {
      byStatus.set(o.status, (byStatus.get(o.status) ?? 0) + 1);
      merged += o.mergedCustomerIds.length;
    }
    for (const [status, n] of byStatus) this.ingestItems.inc({ status }, n);
    if (merged) this.merges.inc(merged);
  }

  /** IngestObserver */
  combined(calls: number): void {
    this.combinedWrites.observe(calls);
  }

  /** Events as the relay hands them over, in log order. */
  eventsRead(events: ReadonlyArray<{ topic: Topic; payload: unknown; recordedAt: Date }>): void {
    if (!events.length) return;
    const byTopic = new Map<Topic, number>();
    for (const e of events) {
      byTopic.set(e.topic, (byTopic.get(e.topic) ?? 0) + 1);
      if (e.topic === Topic.LIFECYCLE_STAGE_CHANGED) {
        const p = e.payload as { from: string | null; to: string };
        this.transitions.inc({ from: p.from ?? 'NONE', to: p.to });
      }
    }
    for (const [topic, n] of byTopic) this.events.inc({ topic }, n);
    this.relayLag.set(Math.max(0, (Date.now() - events[events.length - 1].recordedAt.getTime()) / 1000));
  }

  /** SweepObserver */
  swept(result: { examined: number; moved: number }, durationMs: number): void {
    this.sweepRuns.inc();
    this.sweepDuration.observe(durationMs / 1000);
    this.sweepDue.inc(result.examined);
    this.sweepMoved.inc(result.moved);
  }

  unmaskedRead(): void {
    this.unmaskedReads.inc();
  }

  /** The text exposition format. */
  async text(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
