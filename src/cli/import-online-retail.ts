/**
 * npm run import:online-retail [-- --file PATH] [--as-of 2011-12-10T00:00:00Z] [--until DATE]
 *                                 [--url http://localhost:4000/graphql] [--key KEY]
 *
 * Sends the Online Retail data set through the public GraphQL API (recordInteractions, batches of
 * 1,000) with an API key holding `write` (and `admin` for --as-of), shows progress, and ends with
 * a report. Re-running it creates nothing new: every invoice has its externalId.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';

import { readInteractions, type RetailCounters } from './online-retail';

export const DEFAULT_FILE = path.join(__dirname, '..', '..', '..', 'shared', 'datasets', 'online-retail.csv.gz');

export interface ImportOptions {
  url: string;
  key: string;
  file?: string;
  until?: Date;
  asOf?: Date;
  batchSize?: number;
  /** Progress and report lines; a TTY gets a redrawn progress bar. */
  write?: (text: string) => void;
  tty?: boolean;
}

export interface ImportReport extends RetailCounters {
  created: number;
  duplicates: number;
  rejected: number;
  firstProblems: string[];
  elapsedSeconds: number;
  interactionsPerSecond: number;
  evaluation?: { examined: number; moved: number };
  distribution?: { asOf: string; total: number; stages: Array<{ stage: string; count: number }> };
}

const RECORD = `mutation Import($inputs: [RecordInteractionInput!]!) { recordInteractions(inputs: $inputs) { status problems { field message } } }`;
const EVALUATE = `mutation Evaluate($asOf: DateTimeISO) { evaluateLifecycle(asOf: $asOf) { asOf examined moved movedByStage { stage count } } }`;
const DISTRIBUTION = `query Distribution($asOf: DateTimeISO) { lifecycleDistribution(asOf: $asOf) { asOf total stages { stage count } } }`;

async function call<T>(url: string, key: string, query: string, variables: object): Promise<T> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: T; errors?: Array<{ message: string; extensions?: { code?: string } }> };
  if (body.errors?.length) {
    const [e] = body.errors;
    throw new Error(`${e.extensions?.code ?? 'ERROR'}: ${e.message}`);
  }
  return body.data!;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** Imports the file through the API and returns the report (also used by tests and bench/). */
export async function runImport(options: ImportOptions): Promise<ImportReport> {
  const write = options.write ?? ((text: string) => process.stdout.write(text));
  const tty = options.tty ?? Boolean(process.stdout.isTTY);
  const batchSize = options.batchSize ?? 1000;
  const started = Date.now();

  const { interactions, counters } = await readInteractions(options.file ?? DEFAULT_FILE, { until: options.until });
  const report: ImportReport = { ...counters, created: 0, duplicates: 0, rejected: 0, firstProblems: [], elapsedSeconds: 0, interactionsPerSecond: 0 };

  let sent = 0;
  let lastLine = 0;
  const progress = (final = false) => {
    const elapsed = Date.now() - started;
    const rate = sent / Math.max(elapsed / 1000, 0.001);
    const eta = rate > 0 ? (interactions.length - sent) / rate : 0;
    const share = interactions.length ? sent / interactions.length : 1;
    if (tty) {
      const width = 30;
      const filled = Math.round(share * width);
      write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(share * 100).toFixed(0).padStart(3)}%  ${sent}/${interactions.length}  ${rate.toFixed(0)}/s  ETA ${eta.toFixed(0)} s${final ? '\n' : ''}`);
    } else if (final || Date.now() - lastLine >= 5000) {
      lastLine = Date.now();
      write(`${sent}/${interactions.length} interactions sent (${(share * 100).toFixed(0)}%), ${rate.toFixed(0)}/s, ETA ${eta.toFixed(0)} s\n`);
    }
  };

  // Two requests in flight: one is parsed by the server while the other is written.
  const batches: Array<typeof interactions> = [];
  for (let i = 0; i < interactions.length; i += batchSize) batches.push(interactions.slice(i, i + batchSize));
  let next = 0;
  const worker = async () => {
    while (next < batches.length) {
      const batch = batches[next++];
      const data = await call<{ recordInteractions: Array<{ status: string; problems: Array<{ field: string; message: string }> }> }>(options.url, options.key, RECORD, { inputs: batch });
      for (const result of data.recordInteractions) {
        if (result.status === 'CREATED') report.created++;
        else if (result.status === 'DUPLICATE') report.duplicates++;
        else {
          report.rejected++;
          if (report.firstProblems.length < 5) report.firstProblems.push(...result.problems.map((p) => `${p.field}: ${p.message}`));
        }
      }
      sent += batch.length;
      progress();
    }
  };
  await Promise.all([worker(), worker()]);
  progress(true);
  report.elapsedSeconds = (Date.now() - started) / 1000;
  report.interactionsPerSecond = Math.round(interactions.length / Math.max(report.elapsedSeconds, 0.001));

  if (options.asOf) {
    const { evaluateLifecycle } = await call<{ evaluateLifecycle: { examined: number; moved: number } }>(options.url, options.key, EVALUATE, { asOf: options.asOf.toISOString() });
    report.evaluation = { examined: evaluateLifecycle.examined, moved: evaluateLifecycle.moved };
    const { lifecycleDistribution } = await call<{ lifecycleDistribution: NonNullable<ImportReport['distribution']> }>(options.url, options.key, DISTRIBUTION, {
      asOf: options.asOf.toISOString(),
    });
    report.distribution = lifecycleDistribution;
  }
  return report;
}

export function formatReport(r: ImportReport): string {
  const rows: Array<[string, string | number]> = [
    ['lines read', r.lines],
    ['lines without customer', r.linesWithoutCustomer],
    ['invoices read', r.invoices],
    ['purchases', r.purchases],
    ['refunds', r.refunds],
    ['skipped: no customer (invoices)', r.invoicesWithoutCustomer],
    ['skipped: total not positive', r.skippedNonPositive],
    ['created', r.created],
    ['duplicates', r.duplicates],
    ['rejected', r.rejected],
    ['elapsed', seconds(r.elapsedSeconds * 1000)],
    ['interactions/s', r.interactionsPerSecond],
  ];
  let text = rows.map(([k, v]) => `  ${k.padEnd(32)} ${v}`).join('\n') + '\n';
  if (r.firstProblems.length) text += `\nfirst problems:\n${r.firstProblems.map((p) => `  ${p}`).join('\n')}\n`;
  if (r.evaluation && r.distribution) {
    text += `\nlifecycle sweep as of ${r.distribution.asOf}: ${r.evaluation.examined} customers examined, ${r.evaluation.moved} moved\n`;
    text += `stage distribution (${r.distribution.total} customers):\n`;
    for (const s of r.distribution.stages) text += `  ${s.stage.padEnd(14)} ${String(s.count).padStart(6)}  ${((100 * s.count) / Math.max(r.distribution.total, 1)).toFixed(1).padStart(5)}%\n`;
  }
  return text;
}

function parseDate(value: string | undefined, name: string): Date | undefined {
  if (value === undefined) return undefined;
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw new Error(`--${name} must be an ISO date such as 2011-12-10T00:00:00Z, got "${value}"`);
  return date;
}

if (require.main === module) {
  (async () => {
    const { values } = parseArgs({
      options: {
        file: { type: 'string' },
        url: { type: 'string', default: 'http://localhost:4000/graphql' },
        key: { type: 'string' },
        'as-of': { type: 'string' },
        until: { type: 'string' },
        'batch-size': { type: 'string', default: '1000' },
      },
    });
    const key = values.key ?? process.env.CG_API_KEY;
    if (!key) throw new Error('an API key is needed: --key KEY or CG_API_KEY=KEY (scope write; admin too for --as-of)');
    const batchSize = Number(values['batch-size']);
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 1000) throw new Error('--batch-size must be an integer from 1 to 1000');
    const report = await runImport({
      url: values.url!,
      key,
      file: values.file,
      until: parseDate(values.until, 'until'),
      asOf: parseDate(values['as-of'], 'as-of'),
      batchSize,
    });
    process.stdout.write(`\nOnline Retail import\n${formatReport(report)}`);
    process.exitCode = report.rejected ? 1 : 0;
  })().catch((err) => {
    console.error(`import failed: ${err instanceof Error ? err.message : err}`);
    process.exit(1);
  });
}
