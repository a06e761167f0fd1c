import 'reflect-metadata';
import fs from 'node:fs';
import path from 'node:path';

import { createDataSource } from '../../src/data-source';
import { startEmbeddedPostgres } from '../../src/db/embedded';
import { adminQuery, splitUrl, TEST_SERVER_URL_ENV, TEST_TEMPLATE_ENV } from './test-database';

/**
 * Starts the PostgreSQL the suite runs against — the embedded one, or the server of DATABASE_URL —
 * and migrates a template database that each test file clones.
 */
export default async function globalSetup(): Promise<void> {
  let server: string;
  let template: string;
  if (process.env.DATABASE_URL) {
    const { server: s, database } = splitUrl(process.env.DATABASE_URL);
    server = s;
    template = `${database}_template`;
  } else {
    const dir = path.join(__dirname, '..', '..', '.data', `test-${process.pid}`);
    fs.rmSync(dir, { recursive: true, force: true });
    const pg = await startEmbeddedPostgres({ dir, persistent: false, fast: true });
    (globalThis as any).__embeddedPostgres = pg;
    server = pg.serverUrl;
    template = 'cg_test_template';
  }
  await adminQuery(server, `DROP DATABASE IF EXISTS "${template}" WITH (FORCE)`);
  await adminQuery(server, `CREATE DATABASE "${template}"`);
  const dataSource = createDataSource(`${server}/${template}`);
  await dataSource.initialize();
  await dataSource.runMigrations({ transaction: 'each' });
  await dataSource.destroy();
  process.env[TEST_SERVER_URL_ENV] = server;
  process.env[TEST_TEMPLATE_ENV] = template;
}
