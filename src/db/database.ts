import path from 'node:path';

import { ensureDatabase, startEmbeddedPostgres } from './embedded';

export interface Database {
  url: string;
  embedded: boolean;
  /** Stops the embedded server; nothing to do for an external one. */
  stop(): Promise<void>;
}

export const EMBEDDED_DATABASE = 'customer_graph';

/** The part of the configuration that says where the database is. */
export interface DatabaseSettings {
  /** Unset: an embedded PostgreSQL is started under `dataDir`. */
  databaseUrl?: string;
  dataDir: string;
}

/** DATABASE_URL when set, else the embedded PostgreSQL under DATA_DIR (started here). */
export async function openDatabase(config: DatabaseSettings, log: (line: string) => void = () => {}, options: { ownSignalHandling?: boolean } = {}): Promise<Database> {
  if (config.databaseUrl) {
    return { url: config.databaseUrl, embedded: false, stop: async () => {} };
  }
  const server = await startEmbeddedPostgres({ dir: path.join(config.dataDir, 'pg'), log, ownSignalHandling: options.ownSignalHandling });
  try {
    await ensureDatabase(server.serverUrl, EMBEDDED_DATABASE);
  } catch (err) {
    await server.stop();
    throw err;
  }
  return { url: `${server.serverUrl}/${EMBEDDED_DATABASE}`, embedded: true, stop: () => server.stop() };
}
