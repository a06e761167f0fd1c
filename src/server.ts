import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';

import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { expressMiddleware } from '@as-integrations/express5';
import cors from 'cors';
import express from 'express';
import type { DataSource } from 'typeorm';
import type { PostgresConnectionOptions } from 'typeorm/driver/postgres/PostgresConnectionOptions';

import type { Config } from './config';
import { buildSchema } from './graphql/build-schema';
import { contextFor, type Context, type Services } from './graphql/context';
import { formatError } from './graphql/errors';
import { authenticate, jsonErrors, notFound, refuseDeepNesting, type AuthenticatedRequest } from './graphql/http-guard';
import { DocumentCache } from './graphql/live/documents';
import { LiveServer } from './graphql/live-server';
import { operationLimitsPlugin, validationRules } from './graphql/plugins/operation-limits';
import { ApiKeyService } from './modules/access/api-key.service';
import { RateLimiter } from './modules/access/token-bucket';
import { createDataSource } from './data-source';
import { CustomerService } from './modules/customers/customer.service';
import { IdentifierRepository } from './modules/identity/identifier.repository';
import { Derivation } from './modules/derivation/recompute';
import { Sweep } from './modules/derivation/sweep';
import { IngestService } from './modules/interactions/ingest.service';
import { InteractionRepository } from './modules/interactions/interaction.repository';
import { JourneyAnalyticsService } from './modules/journeys/journey-analytics.service';
import { JourneyRepository } from './modules/journeys/journey.repository';
import { JourneyService } from './modules/journeys/journey.service';
import { LifecycleService } from './modules/lifecycle/lifecycle.service';
import { TransitionRepository } from './modules/lifecycle/transition.repository';
import type { CommitSignal } from './modules/events/event';
import { EventRelay } from './modules/live/event-relay';
import { DAY_MS } from './modules/shared/time';
import { AuditService } from './modules/audit/audit';
import { ConsentService } from './modules/consent/consent.service';
import { Suppression } from './modules/identity/suppression';
import { ErasureService } from './modules/privacy/erasure.service';
import { ExportService } from './modules/privacy/export.service';
import { piiAuditPlugin } from './graphql/pii-audit';
import { ValueModelService } from './modules/value/value-model.service';
import { SegmentService } from './modules/segments/segment.service';
import { ConflictError } from './modules/shared/errors';
import { createLogger, type Logger } from './observability/logger';
import { Metrics, type PoolSample } from './observability/metrics';
import { observabilityPlugin, requestIds, type Telemetry } from './graphql/plugins/observability';
import { metricsHandler } from './graphql/metrics-endpoint';
import { fastLane, fastReader, fastReads, laneErrors } from './graphql/fast-read/fast-read';
import { fastWriter } from './graphql/fast-write/fast-write';
import { dashboardAssets, dashboardRouter } from './dashboard/assets';
import { AnalyzeScheduler } from './db/analyze-scheduler';
import type { IngestObserver } from './modules/interactions/ingest.service';
import type { SweepObserver } from './modules/derivation/sweep';

/** The tables writes fill (ingestion, merges, sweeps): analyzed after a bulk load. */
export const WRITTEN_TABLES = [
  'customer',
  'identifier',
  'identity_conflict',
  'merge',
  'interaction',
  'lifecycle_transition',
  'journey',
  'event',
  'consent_decision',
  'consent_state',
  'segment_member',
  'audit',
] as const;

export interface RunningServer {
  url: string;
  port: number;
  services: Services;
  /** Follows the event log (one per instance). */
  relay: EventRelay;
  /** graphql-ws on /graphql. */
  live: LiveServer;
  /** The small pool that serves analytics queries, apart from profile reads and writes. */
  analyticsDataSource: DataSource;
  /** The Prometheus series of this instance (GET /metrics). */
  metrics: Metrics;
  logger: Logger;
  /** Stops accepting, drains in-flight requests, then resolves. Does not close the DataSource. */
  stop(): Promise<void>;
}

export function createServices(
  dataSource: DataSource,
  config: Config,
  suppression: Suppression,
  signal?: CommitSignal,
  analyticsDataSource: DataSource = dataSource,
  metrics?: Metrics,
  /** Told how many rows each committed write or sweep stored (the ANALYZE scheduler). */
  onWritten?: (rows: number) => void,
): Services {
  const ingestObserver: IngestObserver | undefined = onWritten
    ? {
        ingested(outcomes) {
          metrics?.ingested(outcomes);
          onWritten(outcomes.filter((o) => o.status === 'CREATED').length);
        },
        combined(calls) {
          metrics?.combined(calls);
        },
      }
    : metrics;
  const sweepObserver: SweepObserver | undefined = onWritten
    ? {
        swept(result, durationMs) {
          metrics?.swept(result, durationMs);
          onWritten(result.moved);
        },
      }
    : metrics;
  const journeys = new JourneyService(config.journeyAbandonAfterDays);
  const derivation = new Derivation(config.lifecycle, journeys);
  const segments = new SegmentService(dataSource, config.consentPurposes, signal);
  const lifecycle = new LifecycleService(dataSource, new Sweep(dataSource, derivation, config.sweepBatchSize, signal, segments, sweepObserver), analyticsDataSource);
  return {
    config,
    apiKeys: new ApiKeyService(dataSource, config.apiKeyCacheSeconds),
    rateLimiter: new RateLimiter(config.rateLimit),
    customers: new CustomerService(dataSource),
    identifiers: new IdentifierRepository(dataSource),
    interactions: new InteractionRepository(dataSource, config.defaultCurrency),
    journeys: new JourneyRepository(dataSource, config.defaultCurrency),
    transitions: new TransitionRepository(dataSource),
    ingest: new IngestService(dataSource, { identifierLimits: config.identifierLimits, combine: config.writeCombine }, derivation, suppression, segments, signal, ingestObserver),
    lifecycle,
    analytics: new JourneyAnalyticsService(analyticsDataSource, config.defaultCurrency),
    consents: new ConsentService(dataSource, segments, signal),
    audit: new AuditService(dataSource),
    erasure: new ErasureService(dataSource, suppression, new Set(config.identifierBlocklist), segments, signal),
    exports: new ExportService(dataSource),
    pii: config.pii,
    value: new ValueModelService(dataSource, analyticsDataSource, () => segments.reevaluateValueSegments()),
    segments,
  };
}

/** A page served from the host it connects to (the dashboard) needs no CORS_ORIGINS entry. */
function sameOrigin(origin: string, host: string | undefined): boolean {
  try {
    return !!host && new URL(origin).host === host;
  } catch {
    return false;
  }
}

async function migrationsApplied(dataSource: DataSource): Promise<boolean> {
  return !(await dataSource.showMigrations());
}

/**
 * HTTP server with the GraphQL endpoint at /graphql, /health (process up) and /ready (database
 * reachable, migrations applied). `port` 0 picks a free port (tests).
 */
export async function startServer(
  dataSource: DataSource,
  config: Config,
  port = config.port,
  host = config.host,
  options: { logger?: Logger } = {},
): Promise<RunningServer> {
  const logger = options.logger ?? createLogger(config.logLevel, { format: config.logFormat });
  const log = (line: string) => logger.info(line);
  const url = (dataSource.options as PostgresConnectionOptions).url!;
  // Analytics aggregate over the whole base: their own small pool, so that however many arrive
  // at once, profile reads and writes keep their connections.
  const analyticsDataSource = createDataSource(url, {
    poolSize: config.analyticsPoolSize,
    statementTimeoutMs: config.analyticsStatementTimeoutMs,
    applicationName: 'customer-graph analytics',
  });
  await analyticsDataSource.initialize();
  const relay = new EventRelay(dataSource, url, { pollMs: config.livePollMs, batchSize: 500, log });
  const suppression = await Suppression.load(dataSource, config.suppressionSecret);
  const stale = await suppression.staleEntries(dataSource);
  if (stale) console.warn(`[privacy] ${stale} suppressed identifiers were hashed with another secret than SUPPRESSION_SECRET's: they no longer block anything`);
  let live: LiveServer | undefined;
  const pool = (name: string, ds: DataSource): PoolSample => {
    // TypeORM's PostgreSQL driver keeps its pg.Pool as `master`.
    const p = (ds.driver as unknown as { master?: { totalCount: number; idleCount: number; waitingCount: number } }).master;
    return { name, total: p?.totalCount ?? 0, idle: p?.idleCount ?? 0, waiting: p?.waitingCount ?? 0 };
  };
  let queuedWrites = () => 0;
  const metrics = new Metrics({
    queuedWrites: () => queuedWrites(),
    live: () => {
      const s = live?.snapshot();
      return s ?? { connections: 0, subscriptions: 0, messages: 0, slowConsumerCloses: 0, revokedCloses: 0 };
    },
    pools: () => [pool('api', dataSource), pool('analytics', analyticsDataSource)],
  });
  const telemetry: Telemetry = { metrics, logger };
  // After a bulk load, fresh statistics for the planner, computed on the analytics pool.
  const analyze = config.analyzeAfterWrites
    ? new AnalyzeScheduler(analyticsDataSource, { tables: WRITTEN_TABLES, log, warn: (err, line) => logger.warn({ err }, line) })
    : undefined;
  const services = createServices(dataSource, config, suppression, relay, analyticsDataSource, metrics, analyze && ((rows) => analyze.wrote(rows)));
  queuedWrites = () => services.ingest.queued;
  relay.subscribe((events) => metrics.eventsRead(events));
  await relay.start();
  const app = express();
  app.disable('x-powered-by');
  const schema = buildSchema();
  // One cache of validated documents for the compiled reads and the plain writes.
  const laneDocuments = new DocumentCache(schema, config.limits, config.introspection);
  const reader = fastReader(schema, services, dataSource, telemetry, laneDocuments, { limits: config.limits });
  const writer = fastWriter(schema, services, telemetry, laneDocuments, { limits: config.limits });
  // The front lane takes compiled reads and plain single writes before Express; the rest go to the app.
  const answerers = [...(config.fastReads ? [reader.laneAnswer] : []), ...(config.fastWrites ? [writer.answer] : [])];
  const lane = answerers.length ? fastLane(answerers, services, telemetry, { maxBodyBytes: config.maxBodyBytes, cors: config.corsOrigins.length > 0 }) : null;
  const httpServer = http.createServer(lane ? (req, res) => lane(req, res, () => app(req, res)) : app);
  live = new LiveServer(httpServer, schema, services, relay, {
    telemetry,
    allowOrigin: (origin, hostHeader) => !origin || config.corsOrigins.includes(origin) || sameOrigin(origin, hostHeader),
    maxBufferBytes: config.liveMaxBufferBytes,
    keyCheckSeconds: config.liveKeyCheckSeconds,
    maxPayloadBytes: config.maxBodyBytes,
    limits: config.limits,
    introspection: config.introspection,
    maxConnectionsPerKey: config.liveMaxConnectionsPerKey,
    maxOperationsPerConnection: config.liveMaxOperationsPerConnection,
    maxSubscriptionsPerKey: config.liveMaxSubscriptionsPerKey,
  });
  const apollo = new ApolloServer<Context>({
    schema,
    formatError,
    validationRules: validationRules(config.limits, config.introspection),
    // The parser gives up past this many tokens: a 10 MB document costs what its first tokens cost.
    parseOptions: { maxTokens: config.limits.maxTokens },
    introspection: config.introspection,
    // No "did you mean" hints that would describe the schema when introspection is off.
    hideSchemaDetailsFromClientErrors: !config.introspection,
    includeStacktraceInErrorResponses: false,
    // src/index.ts owns SIGINT/SIGTERM: it drains HTTP, then closes the pool and the database.
    stopOnTerminationSignals: false,
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer }),
      operationLimitsPlugin(config.limits),
      piiAuditPlugin(),
      observabilityPlugin(telemetry),
      ...(config.introspection ? [] : [ApolloServerPluginLandingPageDisabled()]),
    ],
  });
  await apollo.start();

  // How late timers fire: the first thing to look at when latencies grow.
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  const liveServer = live;
  app.use(requestIds(telemetry));
  app.get('/metrics', metricsHandler(metrics, config.metricsToken));
  app.get('/health', (_req, res) => {
    const { connections, subscriptions } = liveServer.snapshot();
    const { rss, heapUsed } = process.memoryUsage();
    const ms = (ns: number) => Math.round(ns / 1e5) / 10;
    res.json({
      status: 'ok',
      live: { connections, subscriptions },
      memory: { rssBytes: rss, heapUsedBytes: heapUsed },
      eventLoopDelayMs: { p50: ms(loopDelay.percentile(50)), p99: ms(loopDelay.percentile(99)), max: ms(loopDelay.max) },
    });
    if (_req.query.reset !== undefined) loopDelay.reset();
  });
  app.get('/ready', async (_req, res) => {
    try {
      await dataSource.query('SELECT 1');
      if (!(await migrationsApplied(dataSource))) {
        res.status(503).json({ status: 'unavailable', reason: 'migrations pending' });
        return;
      }
      res.json({ status: 'ready' });
    } catch (err) {
      res.status(503).json({ status: 'unavailable', reason: `database unreachable: ${(err as Error).message}` });
    }
  });
  // Built (or read from dist/) from now on, so the first page load does not wait; a failed build is answered 503.
  app.use('/dashboard', dashboardRouter(dashboardAssets()));
  if (config.corsOrigins.length) {
    // Before the key check: a browser's preflight carries no key. Keys travel in a header, never
    // in cookies, so credentials are never allowed.
    app.use(
      '/graphql',
      cors({
        origin: config.corsOrigins,
        methods: ['GET', 'POST', 'OPTIONS'],
        allowedHeaders: ['authorization', 'content-type', 'apollo-require-preflight', 'x-request-id'],
        exposedHeaders: ['retry-after', 'x-request-id'],
        credentials: false,
        maxAge: 600,
      }),
    );
  }
  app.use(
    '/graphql',
    // The key and its rate are checked from the headers, before the body is read.
    authenticate(services, { landingPage: config.introspection }),
    express.json({ limit: config.maxBodyBytes }),
    laneErrors,
    refuseDeepNesting,
    // The common read shapes in one prepared statement; everything else goes on to Apollo.
    ...(config.fastReads ? [fastReads(reader)] : []),
    expressMiddleware(apollo, {
      context: async ({ req, res }) => ({
        ...contextFor(services, (req as AuthenticatedRequest).principal),
        requestId: res.locals.requestId as string | undefined,
        httpLocals: res.locals,
      }),
    }),
  );
  app.use(notFound);
  app.use(jsonErrors(config.maxBodyBytes));

  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(port, host, () => resolve());
  });
  const actualPort = (httpServer.address() as AddressInfo).port;

  // Time-driven lifecycle changes (AT_RISK, CHURNED…) need no interaction: sweep the due customers.
  // The same timer prunes the event log now and then.
  let sweeping: Promise<unknown> | null = null;
  let prunedAt = 0;
  let sizedAt = Date.now();
  let refitCheckedAt = 0;
  const housekeeping = async () => {
    const r = await services.lifecycle.sweep(new Date());
    if (r.moved) log(`[lifecycle] sweep: ${r.examined} due, ${r.moved} moved`);
    if (Date.now() - prunedAt > 10 * 60_000) {
      prunedAt = Date.now();
      const pruned = await relay.prune(new Date(Date.now() - config.eventRetentionDays * DAY_MS));
      if (pruned) log(`[live] pruned ${pruned} events older than ${config.eventRetentionDays} days`);
      const audited = await services.audit.prune(new Date(Date.now() - config.auditRetentionDays * DAY_MS));
      if (audited) log(`[audit] pruned ${audited} rows older than ${config.auditRetentionDays} days`);
      await services.segments.resumeStale();
    }
    if (Date.now() - sizedAt > 3600_000) {
      sizedAt = Date.now();
      await services.segments.snapshotSizes();
    }
    // The value model as of now, once it is older than VALUE_REFIT_HOURS (and there are purchases to fit).
    if (config.valueRefitHours > 0 && Date.now() - refitCheckedAt > 10 * 60_000) {
      refitCheckedAt = Date.now();
      const current = await services.value.current();
      if (!current || Date.now() - current.fittedAt.getTime() > config.valueRefitHours * 3600_000) {
        const { model } = await services.value.refit(new Date(), null).catch((err) => {
          if (!(err instanceof ConflictError)) throw err;
          return { model: null };
        });
        if (model) log(`[value] refitted as of ${model.asOf.toISOString()}: ${model.customersFitted} customers, ${model.fitMs} ms`);
      }
    }
  };
  const sweepTimer =
    config.sweepIntervalSeconds > 0
      ? setInterval(() => {
          sweeping ??= housekeeping()
            .catch((err) => logger.error({ err }, 'housekeeping (sweep, pruning, segment sizes, value refit) failed'))
            .finally(() => (sweeping = null));
        }, config.sweepIntervalSeconds * 1000)
      : undefined;
  sweepTimer?.unref();

  const shownHost = host === '0.0.0.0' || host === '::' ? 'localhost' : host;
  return {
    url: `http://${shownHost}:${actualPort}/graphql`,
    port: actualPort,
    services,
    relay,
    live: liveServer,
    analyticsDataSource,
    metrics,
    logger,
    async stop() {
      clearInterval(sweepTimer);
      loopDelay.disable();
      await liveServer.stop();
      await apollo.stop();
      await sweeping;
      await services.segments.stop();
      await relay.stop();
      // A bulk load just before shutdown (an import, a benchmark's build) leaves analyzed tables.
      await analyze?.flush();
      await analyze?.stop();
      await analyticsDataSource.destroy();
    },
  };
}
