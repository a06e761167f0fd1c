/**
 * npm run export-customer -- <customer id | TYPE:value | e-mail | phone> [--out FILE]
 *
 * Writes everything held about a person (exportCustomer's document) to a JSON file, default
 * `export-<customer id>.json`. An identifier is normalised like the API does (`EMAIL:Ada@Example.com`,
 * `PHONE:06 12 34 56 78`, or a bare e-mail or phone number). Uses DATABASE_URL or the embedded
 * PostgreSQL, like `npm run apikey`; audited as `cli:export-customer`.
 */
import 'reflect-metadata';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

import { loadConfig } from '../config';
import { cliScope } from '../modules/audit/audit';
import { IdentifierType } from '../modules/identity/identifier-type.enum';
import { normalizeIdentifier } from '../modules/identity/normalize';
import { ExportService } from '../modules/privacy/export.service';
import { UUID } from '../modules/shared/ids';
import { runWithDatabase } from './run-with-database';

const USAGE = 'usage: npm run export-customer -- <customer id | TYPE:value | e-mail | phone> [--out FILE]';
const { positionals, values } = parseArgs({ allowPositionals: true, options: { out: { type: 'string' } } });
const [who] = positionals;
if (!who) {
  console.error(USAGE);
  process.exit(2);
}

/** The identifier a command-line argument names: `TYPE:value`, or a bare e-mail or phone number. */
function identifierOf(arg: string): { type: IdentifierType; raw: string } | null {
  const typed = /^([A-Z_]+):(.+)$/.exec(arg);
  if (typed && typed[1] in IdentifierType) return { type: typed[1] as IdentifierType, raw: typed[2] };
  if (arg.includes('@')) return { type: IdentifierType.EMAIL, raw: arg };
  if (/^[+\d][\d\s().-]{5,}$/.test(arg)) return { type: IdentifierType.PHONE, raw: arg };
  return null;
}

runWithDatabase(async (dataSource) => {
  const config = loadConfig();
  let customerId = who;
  if (!UUID.test(who)) {
    const identifier = identifierOf(who);
    if (!identifier) throw new Error(`"${who}" is neither a customer id nor an identifier (TYPE:value, an e-mail or a phone number)\n${USAGE}`);
    const normalized = normalizeIdentifier(identifier.type, identifier.raw, config.defaultPhoneRegion);
    if (!normalized.ok) throw new Error(`${identifier.type} ${normalized.message}`);
    const [row] = await dataSource.query(`SELECT customer_id FROM identifier WHERE type = $1 AND value = $2`, [identifier.type, normalized.value]);
    if (!row) throw new Error(`No customer holds ${identifier.type} "${normalized.value}".`);
    customerId = row.customer_id;
  }
  const doc = await new ExportService(dataSource).export(customerId, cliScope('export-customer'));
  const file = path.resolve(values.out ?? `export-${doc.customer.id}.json`);
  fs.writeFileSync(file, JSON.stringify(doc, null, 2) + '\n', { mode: 0o600 });
  console.log(`Wrote ${file}: ${doc.identifiers.length} identifiers, ${doc.interactions.length} interactions, ${doc.mergedCustomers.length} merged customers.`);
});
