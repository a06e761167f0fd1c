/**
 * What the benchmarks that keep a database of their own share: addressing it on a server,
 * one-off connections, and the fingerprint of the migrations it was built with (a migration
 * edited after the database was built means rebuilding it).
 */
import { createHash } from 'node:crypto';

import { Client } from 'pg';

import { migrations } from '../migrations';

/** `serverUrl` with its database replaced by `name`. */
export function databaseUrl(serverUrl: string, name: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Runs `fn` on a connection of its own, closed afterwards. */
export async function withClient<T>(url: string, fn: (c: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Each migration's name and a hash of its code. */
export function migrationFingerprints(): Record<string, string> {
  return Object.fromEntries(
    migrations.map((m) => {
      const name = (new (m as new () => { name?: string })().name ?? m.name) as string;
      return [name, createHash('sha256').update(String(m)).digest('hex').slice(0, 16)];
    }),
  );
}

/** The comment on the database `url` points at (where a benchmark records how it was built). */
export async function databaseComment(url: string): Promise<string | null> {
  return withClient(url, async (c) => (await c.query(`SELECT shobj_description(oid, 'pg_database') AS comment FROM pg_database WHERE datname = current_database()`)).rows[0].comment);
}
