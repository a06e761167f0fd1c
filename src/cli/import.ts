/**
 * npm run import -- --format online-retail|cdnow|csv [--file PATH] [--map customer=COL,at=COL,...]
 *                   [--as-of ISO] [--until ISO] [--url http://localhost:4000/graphql] [--key KEY]
 *                   [--batch-size 1000] [--delimiter ,|tab|;] [--type PURCHASE] [--channel WEB]
 *                   [--currency EUR] [--source NAME]
 *
 * Sends a file of transactions through the public GraphQL API (recordInteractions, batches of
 * 1,000, two in flight) with a key holding `write` (and `admin` for --as-of, which then sweeps the
 * lifecycle as of that instant and prints the stage distribution), shows progress and ends with a
 * report. Every interaction carries an externalId, so running it again creates nothing new.
 * The formats: the two data sets of ../shared/datasets as presets, and any CSV through --map
 * (src/cli/csv-mapping.ts says what it takes).
 */
import 'reflect-metadata';

import { parseArgs } from 'node:util';

import { cdnowSource } from './cdnow';
import { csvSource, parseMapping } from './csv-mapping';
import { onlineRetailSource } from './online-retail';

/** One RecordInteractionInput, as JSON variables. */
export interface InteractionRecord {
  externalId: string;
  channel: string;
  type: string;
  occurredAt: string;
  amount?: string;
  currency?: string;
  name?: string;
  identifiers: Array<{ type: string; value: string }>;
  traits?: Record<string, unknown>;
  properties?: Record<string, unknown>;
}

/** A file format: how to read it into interactions, and what its report adds. */
export interface ImportSource<C extends object> {
  name: string;
  defaultFile?: string;
  read(file: string, options: { until?: Date; problem: (text: string) => void }): Promise<{ interactions: InteractionRecord[]; counters: C }>;
  /** The report's lines for the counters, in order. */
  rows: Array<[string, (counters: C) => number]>;
}

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

export interface ImportTotals {
  source: string;
  file: string;
  read: number;
  created: number;
  duplicates: number;
  rejected: number;
  /** The first problems met, reading or sending: at most 10. */
  firstProblems: string[];
  elapsedSeconds: number;
  interactionsPerSecond: number;
  evaluation?: { examined: number; moved: number };
  distribution?: { asOf: string; total: number; stages: Array<{ stage: string; count: number }> };
}

export type ImportReport<C extends object> = ImportTotals & C & { rows: Array<[string, number]> };

const RECORD = `mutation Import($inputs: [RecordInteractionInput!]!) { recordInteractions(inputs: $inputs) { status problems { field message } } }`;
const EVALUATE = `mutation Evaluate($asOf: DateTimeISO) { evaluateLifecycle(asOf: $asOf) { asOf examined moved movedByStage { stage count } } }`;
const DISTRIBUTION = `query Distribution($asOf: DateTimeISO) { lifecycleDistribution(asOf: $asOf) { asOf total stages { stage count } } }`;
const MAX_PROBLEMS = 10;

/** One GraphQL request; its first error thrown as `CODE: message`. */
export async function call<T>(url: string, key: string, query: string, variables: object): Promise<T> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query, variables }),
  });
  const text = await res.text();
  let body: { data?: T; errors?: Array<{ message: string; extensions?: { code?: string } }> };
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`HTTP ${res.status} from ${url}: ${text.slice(0, 200)}`);
  }
  if (body.errors?.length) {
    const [e] = body.errors;
    throw new Error(`${e.extensions?.code ?? 'ERROR'}: ${e.message}`);
  }
  return body.data!;
}

/** Imports the file through the API and returns the report (also used by tests and bench/). */
export async function runImport<C extends object>(source: ImportSource<C>, options: ImportOptions): Promise<ImportReport<C>> {
  const write = options.write ?? ((text: string) => process.stdout.write(text));
  const tty = options.tty ?? Boolean(process.stdout.isTTY);
  const batchSize = options.batchSize ?? 1000;
  const file = options.file ?? source.defaultFile;
  if (!file) throw new Error(`--file is needed for the ${source.name} format`);
  const started = Date.now();

  const firstProblems: string[] = [];
  const problem = (text: string) => {
    if (firstProblems.length < MAX_PROBLEMS) firstProblems.push(text);
  };
  const { interactions, counters } = await source.read(file, { until: options.until, problem });
  const totals: ImportTotals = {
    source: source.name,
    file,
    read: interactions.length,
    created: 0,
    duplicates: 0,
    rejected: 0,
    firstProblems,
    elapsedSeconds: 0,
    interactionsPerSecond: 0,
  };

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
  const batches: InteractionRecord[][] = [];
  for (let i = 0; i < interactions.length; i += batchSize) batches.push(interactions.slice(i, i + batchSize));
  let next = 0;
  const worker = async () => {
    while (next < batches.length) {
      const batch = batches[next++];
      const data = await call<{ recordInteractions: Array<{ status: string; problems: Array<{ field: string; message: string }> }> }>(options.url, options.key, RECORD, { inputs: batch });
      data.recordInteractions.forEach((result, i) => {
        if (result.status === 'CREATED') totals.created++;
        else if (result.status === 'DUPLICATE') totals.duplicates++;
        else {
          totals.rejected++;
          for (const p of result.problems) problem(`${batch[i].externalId}: ${p.field}: ${p.message}`);
        }
      });
      sent += batch.length;
      progress();
    }
  };
  await Promise.all([worker(), worker()]);
  progress(true);
  totals.elapsedSeconds = (Date.now() - started) / 1000;
  totals.interactionsPerSecond = Math.round(interactions.length / Math.max(totals.elapsedSeconds, 0.001));

  if (options.asOf) {
    const { evaluateLifecycle } = await call<{ evaluateLifecycle: { examined: number; moved: number } }>(options.url, options.key, EVALUATE, { asOf: options.asOf.toISOString() });
    totals.evaluation = { examined: evaluateLifecycle.examined, moved: evaluateLifecycle.moved };
    const { lifecycleDistribution } = await call<{ lifecycleDistribution: NonNullable<ImportTotals['distribution']> }>(options.url, options.key, DISTRIBUTION, {
      asOf: options.asOf.toISOString(),
    });
    totals.distribution = lifecycleDistribution;
  }
  return { ...counters, ...totals, rows: source.rows.map(([label, of]) => [label, of(counters)]) };
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

export function formatReport(r: ImportReport<object>): string {
  const rows: Array<[string, string | number]> = [
    ...r.rows,
    ['interactions sent', r.read],
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

export function parseDate(value: string | undefined, name: string): Date | undefined {
  if (value === undefined) return undefined;
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw new Error(`--${name} must be an ISO date such as 2011-12-10T00:00:00Z, got "${value}"`);
  return date;
}

export const FORMATS = ['online-retail', 'cdnow', 'csv'] as const;

/** The command line, shared by `npm run import` and the preset `npm run import:online-retail`. */
export async function main(argv: string[], preset?: (typeof FORMATS)[number]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      format: { type: 'string' },
      file: { type: 'string' },
      map: { type: 'string' },
      url: { type: 'string', default: 'http://localhost:4000/graphql' },
      key: { type: 'string' },
      'as-of': { type: 'string' },
      until: { type: 'string' },
      'batch-size': { type: 'string', default: '1000' },
      delimiter: { type: 'string' },
      type: { type: 'string' },
      channel: { type: 'string' },
      currency: { type: 'string' },
      source: { type: 'string' },
    },
  });
  const format = preset ?? values.format;
  if (!format || !(FORMATS as readonly string[]).includes(format)) throw new Error(`--format must be one of ${FORMATS.join(', ')}${format ? `, got "${format}"` : ''}`);
  const csvOnly = (['map', 'delimiter', 'type', 'channel', 'currency', 'source'] as const).filter((o) => values[o] !== undefined);
  if (format !== 'csv' && csvOnly.length) throw new Error(`--${csvOnly[0]} applies to --format csv only: the ${format} format maps its columns itself`);
  const key = values.key ?? process.env.CG_API_KEY;
  if (!key) throw new Error('an API key is needed: --key KEY or CG_API_KEY=KEY (scope write; admin too for --as-of)');
  const batchSize = Number(values['batch-size']);
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 1000) throw new Error('--batch-size must be an integer from 1 to 1000');

  const options: ImportOptions = {
    url: values.url!,
    key,
    file: values.file,
    until: parseDate(values.until, 'until'),
    asOf: parseDate(values['as-of'], 'as-of'),
    batchSize,
  };
  let report: ImportReport<object>;
  if (format === 'online-retail') report = await runImport(onlineRetailSource, options);
  else if (format === 'cdnow') report = await runImport(cdnowSource, options);
  else {
    if (!values.map) throw new Error('--map is needed for --format csv, e.g. --map customer=CustomerID,at=Date,amount=Total');
    if (!values.file) throw new Error('--file is needed for --format csv');
    const mapping = parseMapping(values.map, {
      delimiter: values.delimiter,
      type: values.type,
      channel: values.channel,
      currency: values.currency,
      source: values.source,
      file: values.file,
    });
    report = await runImport(csvSource(mapping), options);
  }
  process.stdout.write(`\n${report.source} import of ${report.file}\n${formatReport(report)}`);
  return report.rejected ? 1 : 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (err) => {
      console.error(`import failed: ${err instanceof Error ? err.message : err}`);
      process.exit(1);
    },
  );
}
