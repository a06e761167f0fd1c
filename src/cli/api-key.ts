/**
 * npm run apikey -- create --name "Web shop" --scopes read,write
 * npm run apikey -- list
 * npm run apikey -- revoke <id or prefix>
 *
 * Uses DATABASE_URL, or the embedded PostgreSQL under .data/ (the one `npm start` runs, when it
 * is running; otherwise it is started for the command and stopped after).
 */
import 'reflect-metadata';
import { parseArgs } from 'node:util';

import { loadConfig } from '../config';
import { createDataSource } from '../db/data-source';
import { openDatabase } from '../db/database';
import { ApiKeyService } from '../modules/access/api-key.service';
import { parseScopes } from '../modules/access/scope.enum';

const USAGE = 'usage: npm run apikey -- create --name NAME --scopes read,write[,admin] | list | revoke ID_OR_PREFIX';

async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { name: { type: 'string' }, scopes: { type: 'string', default: 'read' } },
  });
  const [command, target] = positionals;
  if (command === 'create' && !values.name) throw new Error(`--name is required\n${USAGE}`);
  if (command === 'revoke' && !target) throw new Error(`revoke needs the key's id or prefix\n${USAGE}`);
  if (!['create', 'list', 'revoke'].includes(command ?? '')) throw new Error(USAGE);
  const scopes = command === 'create' ? parseScopes(values.scopes!) : [];

  const db = await openDatabase(loadConfig());
  const dataSource = createDataSource(db.url);
  try {
    await dataSource.initialize();
    await dataSource.runMigrations({ transaction: 'each' });
    const keys = new ApiKeyService(dataSource);
    if (command === 'create') {
      const { key, apiKey } = await keys.create(values.name!, scopes);
      console.log(`API key "${apiKey.name}" (${apiKey.scopes.join(',')}), id ${apiKey.id}:\n\n  ${key}\n\nIt is shown only this once; store it now.`);
    } else if (command === 'list') {
      for (const k of await keys.list()) {
        console.log(`${k.id}  ${k.prefix}…  ${k.scopes.join(',').padEnd(16)} ${k.revokedAt ? 'revoked' : 'active '}  ${k.name}`);
      }
    } else {
      const n = await keys.revoke(target!);
      console.log(n ? `revoked ${n} key(s)` : `no active key matches "${target}"`);
      if (!n) process.exitCode = 1;
    }
  } finally {
    if (dataSource.isInitialized) await dataSource.destroy();
    await db.stop();
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
