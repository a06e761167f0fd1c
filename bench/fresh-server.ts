import 'reflect-metadata';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { Client } from 'pg';
import type { DataSource } from 'typeorm';

import { loadConfig } from '../src/config';
import { createDataSource } from '../src/data-source';
import { startEmbeddedPostgres } from '../src/db/embedded';
import { Scope } from '../src/modules/access/scope.enum';
import { startServer, type RunningServer } from '../src/server';

export interface FreshServer {
  server: RunningServer;
  dataSource: DataSource;
  /** An admin key. */
  key: string;
  /** Where the data lives, for the results table. */
  database: string;
  close(): Promise<void>;
}

/**
 * A fresh, migrated database: on a fresh embedded PostgreSQL, or on the server of DATABASE_URL
 * (dropped by `cleanup`).
 */
export async function freshDatabase(name: string): Promise<{ url: string; cleanup(): Promise<void> }> {
  let url: string;
  let cleanup: () => Promise<void>;
  if (process.env.DATABASE_URL) {
    const server = new URL(process.env.DATABASE_URL);
    const database = `cg_bench_${name}_${process.pid}`;
    const admin = async (sql: string) => {
      const c = new Client({ connectionString: Object.assign(new URL(server.toString()), { pathname: '/postgres' }).toString() });
      await c.connect();
      await c.query(sql);
      await c.end();
    };
    await admin(`DROP DATABASE IF EXISTS ${database}`);
    await admin(`CREATE DATABASE ${database}`);
    url = Object.assign(new URL(server.toString()), { pathname: `/${database}` }).toString();
    cleanup = () => admin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  } else {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `cg-bench-${name}-`));
    fs.chmodSync(dir, 0o755);
    const pg = await startEmbeddedPostgres({ dir: path.join(dir, 'pg'), persistent: false });
    const admin = new Client({ connectionString: `${pg.serverUrl}/postgres` });
    await admin.connect();
    await admin.query('CREATE DATABASE customer_graph');
    await admin.end();
    url = `${pg.serverUrl}/customer_graph`;
    cleanup = async () => {
      await pg.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    };
  }
  const dataSource = createDataSource(url);
  await dataSource.initialize();
  await dataSource.runMigrations({ transaction: 'each' });
  await dataSource.destroy();
  return { url, cleanup };
}

/**
 * The API in this process on a database of its own: a fresh embedded PostgreSQL, or a fresh
 * database on the server of DATABASE_URL (dropped at the end). The periodic sweep is off.
 */
export async function freshServer(name: string): Promise<FreshServer> {
  const { url, cleanup } = await freshDatabase(name);
  const dataSource = createDataSource(url);
  await dataSource.initialize();
  const config = { ...loadConfig({ ...process.env, LOG_LEVEL: 'silent' }), sweepIntervalSeconds: 0 };
  const server = await startServer(dataSource, config, 0, '127.0.0.1');
  const { key } = await server.services.apiKeys.create(`bench ${name}`, [Scope.ADMIN], UNLIMITED);
  return {
    server,
    dataSource,
    key,
    database: process.env.DATABASE_URL ? 'PostgreSQL of DATABASE_URL' : 'embedded PostgreSQL',
    async close() {
      await server.stop();
      await dataSource.destroy();
      await cleanup();
    },
  };
}

/** Benchmarks measure the server, not the per-key rate limit: their keys get the highest rate. */
export const UNLIMITED = { rateLimitPerSecond: 1_000_000, rateLimitBurst: 1_000_000 };

export function machine(): string {
  const cpu = os.cpus();
  return `${cpu[0]?.model ?? 'unknown'}, ${cpu.length} cores, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM; Node ${process.version}`;
}
