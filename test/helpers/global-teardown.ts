import { adminQuery, TEST_SERVER_URL_ENV, TEST_TEMPLATE_ENV } from './test-database';

export default async function globalTeardown(): Promise<void> {
  const server = process.env[TEST_SERVER_URL_ENV];
  const template = process.env[TEST_TEMPLATE_ENV];
  if (server && template) await adminQuery(server, `DROP DATABASE IF EXISTS "${template}" WITH (FORCE)`).catch(() => undefined);
  const pg = (globalThis as any).__embeddedPostgres;
  if (pg) await pg.stop();
}
