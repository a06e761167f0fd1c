/**
 * npm run import:online-retail [-- --file PATH] [--as-of 2011-12-10T00:00:00Z] [--until DATE]
 *                                 [--url http://localhost:4000/graphql] [--key KEY]
 *
 * The Online Retail preset of `npm run import` (src/cli/import.ts): `npm run import -- --format
 * online-retail` with the same options. Re-running it creates nothing new: every invoice has its
 * externalId.
 */
import { main, runImport as runAny, type ImportOptions, type ImportReport } from './import';
import { ONLINE_RETAIL_FILE, onlineRetailSource, type RetailCounters } from './online-retail';

export { formatReport } from './import';
export const DEFAULT_FILE = ONLINE_RETAIL_FILE;

/** Imports the Online Retail file through the API (also used by tests and bench/). */
export const runImport = (options: ImportOptions): Promise<ImportReport<RetailCounters>> => runAny(onlineRetailSource, options);

if (require.main === module) {
  main(process.argv.slice(2), 'online-retail').then(
    (code) => (process.exitCode = code),
    (err) => {
      console.error(`import failed: ${err instanceof Error ? err.message : err}`);
      process.exit(1);
    },
  );
}
