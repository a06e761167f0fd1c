import 'reflect-metadata';

import { loadConfig, ConfigError } from './config';
import { createDataSource } from './data-source';
import { openDatabase, type Database } from './db/database';
import { EmbeddedPostgresError } from './db/embedded';
import { Scope } from './modules/access/scope.enum';
import { cliScope } from './modules/audit/audit';
import { createLogger, routeConsole } from './observability/logger';
import { startServer, type RunningServer } from './server';

let flushLog: (done: () => void) => void = (done) => done();

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel, { format: config.logFormat });
  flushLog = (done) => logger.flush(() => done());
  // The modules' own messages (console.error and the like) become log lines too.
  routeConsole(logger);
  const log = (line: string) => logger.info(line);

  log(config.databaseUrl ? 'Using the PostgreSQL server of DATABASE_URL' : `Starting the embedded PostgreSQL (data in ${config.dataDir}/pg)…`);
  const db: Database = await openDatabase(config, config.logLevel === 'debug' ? (l) => logger.debug(`[postgres] ${l}`) : undefined, { ownSignalHandling: true });
  const dataSource = createDataSource(db.url, {
    poolSize: config.dbPoolSize,
    verbose: config.logLevel === 'debug',
    statementTimeoutMs: config.statementTimeoutMs,
  });
  let server: RunningServer;
  try {
    try {
      await dataSource.initialize();
    } catch (err) {
      throw new Error(`Cannot connect to PostgreSQL: ${(err as Error).message}`);
    }
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    if (applied.length) log(`Applied migrations: ${applied.map((m) => m.name).join(', ')}`);

    server = await startServer(dataSource, config, config.port, config.host, { logger });

    if ((await server.services.apiKeys.count()) === 0) {
      const { key } = await server.services.apiKeys.create('bootstrap admin', [Scope.ADMIN], {}, cliScope('start: bootstrap admin key'));
      // Straight to the terminal, not into the log: a secret has no place in log storage.
      process.stdout.write(
        `\nNo API key existed, so one admin key was created. It is shown only this once:\n\n  ${key}\n\n` +
          'Use it as "Authorization: Bearer <key>"; make narrower keys with `npm run apikey -- create --name NAME --scopes read,write`.\n\n',
      );
      logger.info({ keyName: 'bootstrap admin' }, 'created the first admin API key (printed on stdout, not logged)');
    }
  } catch (err) {
    // Leave nothing running behind a failed start (the embedded database above all).
    if (dataSource.isInitialized) await dataSource.destroy().catch(() => undefined);
    await db.stop().catch(() => undefined);
    throw err;
  }
  log(`Customer Graph API ready at ${server.url}`);

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log(`${signal} received: draining requests…`);
    const force = setTimeout(() => {
      console.error('Shutdown took longer than 15 s; exiting anyway.');
      flushLog(() => process.exit(1));
    }, 15_000);
    force.unref();
    try {
      await server.stop();
      log('HTTP drained; closing the database pool…');
      await dataSource.destroy();
      if (db.embedded) log('Stopping the embedded PostgreSQL…');
      await db.stop();
      log('Stopped cleanly.');
      logger.flush();
    } catch (err) {
      console.error('Error during shutdown:', err);
      process.exitCode = 1;
    }
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((err) => {
  if (err instanceof ConfigError) console.error(`Configuration error: ${err.message}`);
  else if (err instanceof EmbeddedPostgresError) console.error(`Database error: ${err.message}`);
  else if ((err as NodeJS.ErrnoException)?.code === 'EADDRINUSE') console.error(`Port already in use: ${(err as Error).message}. Set PORT to another port.`);
  else console.error(err instanceof Error ? err.message : err);
  // The log writes asynchronously: let it reach stdout before exiting.
  flushLog(() => process.exit(1));
});
