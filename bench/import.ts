/**
 * npm run bench:import [-- --as-of 2011-12-10T00:00:00Z] [--out bench/RESULTS.md]
 *
 * The full Online Retail import on a fresh database: starts a fresh embedded PostgreSQL (or a
 * fresh database on the server of DATABASE_URL) and the API in this process, imports the whole
 * file through the GraphQL API, sweeps the lifecycle as of --as-of, then times a full sweep (every
 * customer re-evaluated), and appends the figures to bench/RESULTS.md.
 */
import 'reflect-metadata';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

import { Client } from 'pg';

import { formatReport, runImport } from '../src/cli/import-online-retail';
import { loadConfig } from '../src/config';
import { createDataSource } from '../src/db/data-source';
import { startEmbeddedPostgres } from '../src/db/embedded';
import { Scope } from '../src/modules/access/scope.enum';
import { startServer } from '../src/server';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { 'as-of': { type: 'string', default: '2011-12-10T00:00:00Z' }, out: { type: 'string', default: path.join(__dirname, 'RESULTS.md') } },
  });
  const asOf = new Date(values['as-of']!);
  if (Number.isNaN(asOf.getTime())) throw new Error('--as-of must be an ISO date');

  // A fresh database.
  let url: string;
  let cleanup: () => Promise<void>;
  if (process.env.DATABASE_URL) {
    const server = new URL(process.env.DATABASE_URL);
    const name = `cg_bench_import_${process.pid}`;
    server.pathname = '/postgres';
    const admin = new Client({ connectionString: server.toString() });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${name}`);
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    server.pathname = `/${name}`;
    url = server.toString();
    cleanup = async () => {
      server.pathname = '/postgres';
      const c = new Client({ connectionString: server.toString() });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    };
  } else {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cg-bench-import-'));
    fs.chmodSync(dir, 0o755);
    const pg = await startEmbeddedPostgres({ dir: path.join(dir, 'pg'), persistent: false });
    const admin = new Client({ connectionString: `${pg.serverUrl}/postgres` });
    await admin.connect();
    await admin.query('CREATE DATABASE customer_graph');
    await admin.end();
    url = `${pg.serverUrl}/customer_graph`;
    cleanup = async () => {
      await pg.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    };
  }

  const dataSource = createDataSource(url);
  await dataSource.initialize();
  await dataSource.runMigrations({ transaction: 'each' });
  const config = { ...loadConfig({ ...process.env, LOG_LEVEL: 'silent' }), sweepIntervalSeconds: 0 };
  const server = await startServer(dataSource, config, 0, '127.0.0.1');
  const { key } = await server.services.apiKeys.create('bench import', [Scope.ADMIN]);
  try {
    const started = Date.now();
    const report = await runImport({ url: server.url, key, asOf });
    const total = (Date.now() - started) / 1000;
    process.stdout.write(formatReport(report));

    // A full sweep: every customer due again, re-evaluated as of the same instant.
    await dataSource.query(`UPDATE customer SET next_evaluation_at = '-infinity' WHERE merged_into_id IS NULL`);
    const sweepStart = Date.now();
    const full = await server.services.lifecycle.sweep(asOf);
    const fullSweep = (Date.now() - sweepStart) / 1000;
    console.log(`full sweep: ${full.examined} customers examined, ${full.moved} moved, ${fullSweep.toFixed(2)} s`);

    const cpu = os.cpus();
    const d = report.distribution!;
    const section = [
      '',
      `## Online Retail import, ${new Date().toISOString()}`,
      '',
      `- Machine: ${cpu[0]?.model ?? 'unknown'}, ${cpu.length} cores, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM; Node ${process.version}; ${process.env.DATABASE_URL ? 'PostgreSQL of DATABASE_URL' : 'embedded PostgreSQL'}`,
      `- Command: \`npm run bench:import -- --as-of ${asOf.toISOString()}\` (fresh database, server in the same process, the import through the GraphQL API)`,
      '',
      '| step | figure |',
      '| --- | ---: |',
      `| invoices read / purchases / refunds / skipped | ${report.invoices} / ${report.purchases} / ${report.refunds} / ${report.invoicesWithoutCustomer + report.skippedNonPositive} |`,
      `| created / duplicates / rejected | ${report.created} / ${report.duplicates} / ${report.rejected} |`,
      `| import (read, send, store) | ${report.elapsedSeconds.toFixed(2)} s, ${report.interactionsPerSecond} interactions/s |`,
      `| sweep as of ${asOf.toISOString().slice(0, 10)} (due customers only) | ${report.evaluation!.examined} examined, ${report.evaluation!.moved} moved |`,
      `| import + sweep, end to end | ${total.toFixed(2)} s (target: under 15 s) |`,
      `| full sweep, every customer re-evaluated | ${full.examined} customers in ${fullSweep.toFixed(2)} s |`,
      '',
      `Stage distribution as of ${asOf.toISOString().slice(0, 10)} (${d.total} customers): ` +
        d.stages.map((s) => `${s.stage} ${s.count}`).join(', ') + '.',
      '',
    ].join('\n');
    fs.appendFileSync(values.out!, section);
    console.log(`appended to ${values.out}`);
  } finally {
    await server.stop();
    await dataSource.destroy();
    await cleanup();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
