/**
 * npm run bench:import [-- --as-of 2011-12-10T00:00:00Z] [--out bench/RESULTS.md]
 *
 * The full Online Retail import on a fresh database: starts a fresh embedded PostgreSQL (or a
 * fresh database on the server of DATABASE_URL) and the API in this process, imports the whole
 * file through the GraphQL API, sweeps the lifecycle as of --as-of, then times a full sweep (every
 * customer re-evaluated), and appends the figures to bench/RESULTS.md.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

import { formatReport, runImport } from '../src/cli/import-online-retail';
import { freshServer, machine } from './fresh-server';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { 'as-of': { type: 'string', default: '2011-12-10T00:00:00Z' }, out: { type: 'string', default: path.join(__dirname, 'RESULTS.md') } },
  });
  const asOf = new Date(values['as-of']!);
  if (Number.isNaN(asOf.getTime())) throw new Error('--as-of must be an ISO date');

  const fresh = await freshServer('import');
  const { server, dataSource, key } = fresh;
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

    const d = report.distribution!;
    const section = [
      '',
      `## Online Retail import, ${new Date().toISOString()}`,
      '',
      `- Machine: ${machine()}; ${fresh.database}`,
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
    await fresh.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
