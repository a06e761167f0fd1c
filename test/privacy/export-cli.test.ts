import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

import type { PostgresConnectionOptions } from 'typeorm/driver/postgres/PostgresConnectionOptions';

import { interaction, unique } from '../helpers/factories';
import { startTestServer, type TestServer } from '../helpers/server';

const run = promisify(execFile);
const ROOT = path.join(__dirname, '..', '..');

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.close());

describe('npm run export-customer', () => {
  it('writes the person found by a phone number in national format to a file, and audits it', async () => {
    const email = `${unique('cli')}@example.com`;
    const { customerId } = await t.record(interaction({ identifiers: [{ type: 'EMAIL', value: email }, { type: 'PHONE', value: '+33 6 55 44 33 22' }], traits: { firstName: 'Cleo' } }));
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cg-export-')), 'person.json');
    const url = (t.dataSource.options as PostgresConnectionOptions).url!;
    const { stdout } = await run(process.execPath, ['-r', 'ts-node/register/transpile-only', 'src/cli/export-customer.ts', '06 55 44 33 22', '--out', out], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: url, LOG_LEVEL: 'silent' },
    });
    expect(stdout).toContain('2 identifiers, 1 interactions');
    const doc = JSON.parse(fs.readFileSync(out, 'utf8'));
    expect(doc.customer).toMatchObject({ id: customerId, traits: { firstName: 'Cleo' } });
    expect(doc.identifiers.map((i: any) => i.value).sort()).toEqual(['+33655443322', email].sort());
    expect((fs.statSync(out).mode & 0o777).toString(8)).toBe('600');
    expect(await t.sql(`SELECT kind, actor, customer_ids FROM audit WHERE kind = 'EXPORT'`)).toEqual([{ kind: 'EXPORT', actor: 'cli:export-customer', customer_ids: [customerId] }]);

    const missing = await run(process.execPath, ['-r', 'ts-node/register/transpile-only', 'src/cli/export-customer.ts', 'EMAIL:nobody@example.com'], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: url },
    }).catch((err) => err);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('No customer holds EMAIL "nobody@example.com"');
  });
});
