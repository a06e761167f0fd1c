/**
 * npm run apikey -- create --name "Web shop" --scopes read,write [--rate 50 --burst 100]
 * npm run apikey -- list
 * npm run apikey -- revoke <id or prefix>
 *
 * Uses DATABASE_URL, or the embedded PostgreSQL under .data/ (the one `npm start` runs, when it
 * is running; otherwise it is started for the command and stopped after).
 */
import { parseArgs } from 'node:util';

import { ApiKeyService } from '../modules/access/api-key.service';
import { parseScopes, type Scope } from '../modules/access/scope.enum';
import { runWithDatabase } from './run-with-database';

const USAGE =
  'usage: npm run apikey -- create --name NAME --scopes read,write[,subscribe,admin] [--rate PER_SECOND] [--burst N] | list | revoke ID_OR_PREFIX';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { name: { type: 'string' }, scopes: { type: 'string', default: 'read' }, rate: { type: 'string' }, burst: { type: 'string' } },
});
const [command, target] = positionals;

function usage(message: string): never {
  console.error(`${message}\n${USAGE}`);
  process.exit(2);
}

if (!['create', 'list', 'revoke'].includes(command ?? '')) usage('unknown command');
if (command === 'create' && !values.name) usage('--name is required');
if (command === 'revoke' && !target) usage("revoke needs the key's id or prefix");
let scopes: Scope[] = [];
try {
  if (command === 'create') scopes = parseScopes(values.scopes!);
} catch (err) {
  usage((err as Error).message);
}

runWithDatabase(async (dataSource) => {
  await dataSource.runMigrations({ transaction: 'each' });
  const keys = new ApiKeyService(dataSource);
  if (command === 'create') {
    const number = (raw: string | undefined) => (raw === undefined ? null : Number(raw));
    let created;
    try {
      created = await keys.create(values.name!, scopes, { rateLimitPerSecond: number(values.rate), rateLimitBurst: number(values.burst) });
    } catch (err) {
      usage((err as Error).message);
    }
    const { key, apiKey } = created;
    const limit = apiKey.rateLimitPerSecond || apiKey.rateLimitBurst ? `, rate ${apiKey.rateLimitPerSecond ?? 'default'}/s burst ${apiKey.rateLimitBurst ?? 'default'}` : '';
    console.log(`API key "${apiKey.name}" (${apiKey.scopes.join(',')}${limit}), id ${apiKey.id}:\n\n  ${key}\n\nIt is shown only this once; store it now.`);
  } else if (command === 'list') {
    for (const k of await keys.list()) {
      const limit = `${k.rateLimitPerSecond ?? '-'}/s ${k.rateLimitBurst ?? '-'}`.padEnd(12);
      console.log(`${k.id}  ${k.prefix}…  ${k.scopes.join(',').padEnd(24)} ${limit} ${k.revokedAt ? 'revoked' : 'active '}  ${k.name}`);
    }
  } else {
    const n = await keys.revoke(target!);
    console.log(n ? `revoked ${n} key(s)` : `no active key matches "${target}"`);
    if (!n) process.exitCode = 1;
  }
});
