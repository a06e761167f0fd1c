import 'reflect-metadata';
import type { DataSource } from 'typeorm';

import { loadConfig } from '../config';
import { createDataSource } from '../data-source';
import { openDatabase } from '../db/database';

/**
 * Runs a command against DATABASE_URL or the embedded PostgreSQL (the running server's when
 * `npm start` is up, else started for the command), then closes everything. Errors are printed
 * for a person, with exit code 1.
 */
export function runWithDatabase(work: (dataSource: DataSource) => Promise<void>): void {
  (async () => {
    const db = await openDatabase(loadConfig());
    const dataSource = createDataSource(db.url);
    try {
      await dataSource.initialize();
      await work(dataSource);
    } finally {
      if (dataSource.isInitialized) await dataSource.destroy();
      await db.stop();
    }
  })().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
