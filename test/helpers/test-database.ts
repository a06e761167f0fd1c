import { randomBytes } from 'node:crypto';

import { Client } from 'pg';

/** Set by the global setup for every test worker. */
export const TEST_SERVER_URL_ENV = 'CG_TEST_PG_SERVER';
export const TEST_TEMPLATE_ENV = 'CG_TEST_TEMPLATE';

/** Splits postgres://user@host:port/db into the server part and the database name. */
export function splitUrl(url: string): { server: string; database: string } {
  const parsed = new URL(url);
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, '')) || 'postgres';
  parsed.pathname = '';
  return { server: parsed.toString().replace(/\/$/, ''), database };
}

export async function adminQuery(server: string, sql: string): Promise<void> {
  const client = new Client({ connectionString: `${server}/postgres` });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** A fresh database cloned from the migrated template: one per test file. */
export async function createTestDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const server = process.env[TEST_SERVER_URL_ENV];
  const template = process.env[TEST_TEMPLATE_ENV];
  if (!server || !template) throw new Error('the jest global setup did not run (CG_TEST_PG_SERVER is unset)');
  const name = `${template.replace(/_template$/, '')}_${randomBytes(4).toString('hex')}`;
  await adminQuery(server, `CREATE DATABASE "${name}" TEMPLATE "${template}"`);
  return {
    url: `${server}/${name}`,
    drop: () => adminQuery(server, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`),
  };
}
