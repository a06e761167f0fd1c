/**
 * npm run apikey -- create --name "Web shop" --scopes read,write [--rate 50 --burst 100]
 * npm run apikey -- list
 * npm run apikey -- rotate <id or prefix>
 * npm run apikey -- revoke <id or prefix>
 *
 * Uses DATABASE_URL, or the embedded PostgreSQL under .data/ (the one `npm start` runs, when it
 * is running; otherwise it is started for the command and stopped after). Every change is audited
 * (actor `cli:apikey <command>`). Admins can do the same over the API: createApiKey, apiKeys,
 * rotateApiKey, revokeApiKey.
 */
import 'reflect-metadata';
import { parseArgs } from 'node:util';

import { ApiKeyService } from '../modules/access/api-key.service';
import { parseScopes, type Scope } from '../modules/access/scope.enum';
import { cliScope } from '../modules/audit/audit';
import { runWithDatabase } from './run-with-database';

const USAGE =
  'usage: npm run apikey -- create --name NAME --scopes read,write[,pii,subscribe,admin] [--rate PER_SECOND] [--burst N] | list | rotate ID_OR_PREFIX | revoke ID_OR_PREFIX';

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { name: { type: 'string' }, scopes: { type: 'string', default: 'read' }, rate: { type: 'string' }, burst: { type: 'string' } },
});
const [command, target] = positionals;

function usage(message: string): never {
  console.error(`${message}\n${USAGE}`);
  process.exit(2);
}

if (!['create', 'list', 'rotate', 'revoke'].includes(command ?? '')) usage('unknown command');
if (command === 'create' && !values.name) usage('--name is required');
if ((command === 'revoke' || command === 'rotate') && !target) usage(`${command} needs the key's id or prefix`);
let scopes: Scope[] = [];
try {
  if (command === 'create') scopes = parseScopes(values.scopes!);
} catch (err) {
  usage((err as Error).message);
}

const day = (d: Date | null) => (d ? d.toISOString().slice(0, 16).replace('T', ' ') : '-'.padEnd(16));

runWithDatabase(async (dataSource) => {
  await dataSource.runMigrations({ transaction: 'each' });
  const keys = new ApiKeyService(dataSource);
  const actor = cliScope(`apikey ${command}`);
  if (command === 'create') {
    const number = (raw: string | undefined) => (raw === undefined ? null : Number(raw));
    let created;
    try {
      created = await keys.create(values.name!, scopes, { rateLimitPerSecond: number(values.rate), rateLimitBurst: number(values.burst) }, actor);
    } catch (err) {
      usage((err as Error).message);
    }
    const { key, apiKey } = created;
    const limit = apiKey.rateLimitPerSecond || apiKey.rateLimitBurst ? `, rate ${apiKey.rateLimitPerSecond ?? 'default'}/s burst ${apiKey.rateLimitBurst ?? 'default'}` : '';
    console.log(`API key "${apiKey.name}" (${apiKey.scopes.join(',')}${limit}), id ${apiKey.id}:\n\n  ${key}\n\nIt is shown only this once; store it now.`);
  } else if (command === 'list') {
    console.log(`${'id'.padEnd(36)}  ${'prefix'.padEnd(11)}  ${'scopes'.padEnd(24)} ${'rate burst'.padEnd(12)} ${'status '}  ${'created'.padEnd(16)}  ${'last used'.padEnd(16)}  name`);
    for (const k of await keys.list()) {
      const limit = `${k.rateLimitPerSecond ?? '-'}/s ${k.rateLimitBurst ?? '-'}`.padEnd(12);
      console.log(`${k.id}  ${k.prefix}…  ${k.scopes.join(',').padEnd(24)} ${limit} ${k.revokedAt ? 'revoked' : 'active '}  ${day(k.createdAt)}  ${day(k.lastUsedAt)}  ${k.name}`);
    }
  } else if (command === 'rotate') {
    const { key, apiKey } = await keys.rotate(target!, actor);
    console.log(`API key "${apiKey.name}" (${apiKey.id}) has a new secret; the old one no longer works:\n\n  ${key}\n\nIt is shown only this once; store it now.`);
  } else {
    const apiKey = await keys.revoke(target!, actor);
    console.log(`revoked "${apiKey.name}" (${apiKey.id}) at ${apiKey.revokedAt!.toISOString()}`);
  }
});
