/**
 * Ingestion benchmark against a running Customer Graph server.
 *
 *   npm run bench:ingest -- --key cg_... [--url http://localhost:4000/graphql] [--database-url postgres://...]
 *                           [--batches 40] [--batch-size 500] [--single-requests 10000] [--concurrency 32]
 *                           [--history 10000,100000] [--append-rounds 300] [--late-minutes 30] [--segments 5] [--client http|fetch]
 *                           [--out bench/RESULTS.md]
 *
 * Before the scenarios, --segments saved segments (up to 5, a retailer's usual ones: see SEGMENTS)
 * are created and evaluated, so that every write also keeps their memberships current, as it
 * would in production; the key then needs the admin scope (`--segments 0` runs without, with a
 * read,write key). They are deleted at the end.
 *
 * Scenarios, in order:
 *   (a) recordInteractions batches of new people (fresh ANONYMOUS_ID + EMAIL), 2 concurrent senders;
 *   (b) the same, but half of each batch carries an EMAIL created by (a), so it matches an existing customer;
 *   (c) recordInteraction, one new person per request, --concurrency clients;
 *   (d) appends to long histories: one customer per --history size is given that many interactions
 *       (recordInteractions batches of 1,000 in time order, an hour apart, one in 50 a purchase),
 *       then --append-rounds rounds of one recordInteraction each to a new customer, to a customer
 *       with 10 interactions and to every long-history customer, in turn, from one client: the
 *       per-write cost of an append, side by side (`--history 0` skips it); in the same rounds, each
 *       long-history customer also gets one interaction --late-minutes older than its newest (about
 *       that many stored after it): the cost of a late interaction (`--late-minutes 0` skips them);
 *   baseline: the rows of (a) written with plain multi-row INSERTs (500 rows each) into a temporary
 *   copy of the interaction table, through `pg` on --database-url (skipped without one).
 *
 * Every identifier and externalId carries a per-run id, so runs never collide with each other.
 * The server and its data are left as they are (the benchmark's customers stay, tagged with the
 * run id); the baseline's temporary table vanishes with its session. Results are printed and
 * appended to --out as a markdown section. The whole run stops after 10 minutes at the latest.
 * Requests go out over keep-alive connections of node:http (bench/http-client.ts; `--client
 * fetch` for Node's fetch, which the figures before 2026-12-03 15:00Z were taken with).
 */
import { setMaxListeners } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';

import { Client } from 'pg';

import { uuidv7 } from '../src/db/uuid';

import { jsonPoster, type ClientKind, type JsonPoster } from './http-client';
import { BATCH_MUTATION, interaction as newPerson, newRunId, SINGLE_MUTATION, type InteractionInput } from './people';
import { createSegments, deleteSegments, segmentNames, SEGMENTS, type Operation } from './segments';

const USAGE =
  'usage: npm run bench:ingest -- [--url URL] [--key KEY] [--database-url URL] [--batches N] [--batch-size N] ' +
  '[--single-requests N] [--concurrency N] [--history N,N] [--append-rounds N] [--late-minutes N] [--segments N] [--client http|fetch] [--out FILE]';

/** The machine this was written for has 2 cores: two senders keep the server busy without queueing. */
const BATCH_SENDERS = 2;
/** Rows per INSERT statement of the baseline. */
const BASELINE_ROWS_PER_STATEMENT = 500;
/** Upper bound of the whole run; every loop also stops when it is reached. */
const RUN_LIMIT_MS = 10 * 60 * 1000;
/** The server refuses larger recordInteractions calls (config.maxBatchSize). */
const SERVER_MAX_BATCH = 1000;

class UsageError extends Error {}

// ---------------------------------------------------------------------------------------------
// Options

interface Options {
  url: string;
  key: string;
  databaseUrl: string | undefined;
  batches: number;
  batchSize: number;
  singleRequests: number;
  concurrency: number;
  history: number[];
  appendRounds: number;
  /** How much older than the newest a late interaction of (d) is; 0: none. */
  lateMinutes: number;
  segments: number;
  client: ClientKind;
  out: string;
}

function integer(name: string, raw: string, min: number, max: number): number {
  const value = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new UsageError(`--${name} must be an integer from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

function clientKind(raw: string): ClientKind {
  if (raw !== 'http' && raw !== 'fetch') throw new UsageError(`--client must be http or fetch, got "${raw}"`);
  return raw;
}

function isLoopback(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      url: { type: 'string', default: 'http://localhost:4000/graphql' },
      key: { type: 'string' },
      'database-url': { type: 'string' },
      batches: { type: 'string', default: '40' },
      'batch-size': { type: 'string', default: '500' },
      'single-requests': { type: 'string', default: '10000' },
      concurrency: { type: 'string', default: '32' },
      history: { type: 'string', default: '10000,100000' },
      'append-rounds': { type: 'string', default: '300' },
      'late-minutes': { type: 'string', default: '30' },
      segments: { type: 'string', default: String(SEGMENTS.length) },
      client: { type: 'string', default: 'http' },
      out: { type: 'string', default: 'bench/RESULTS.md' },
    },
  });

  let url: URL;
  try {
    url = new URL(values.url!);
  } catch {
    throw new UsageError(`--url is not a URL: "${values.url}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`--url must be http(s), got "${url.protocol}"`);
  if (!isLoopback(url.hostname)) {
    throw new UsageError(`--url must point at this machine (localhost, 127.x.x.x or ::1), got "${url.hostname}"`);
  }

  const key = (values.key ?? process.env.CG_API_KEY ?? '').trim();
  if (!key) {
    throw new UsageError(
      'An API key with the write and admin scopes is required: pass --key or set CG_API_KEY ' +
        '(make one with `npm run apikey -- create --name bench --scopes read,write,admin --rate 100000 --burst 100000`; ' +
        'admin creates the saved segments, read,write is enough with --segments 0: ' +
        'the default rate of a key, 100 requests/s, would measure the rate limit instead of the server).',
    );
  }

  const databaseUrl = (values['database-url'] ?? process.env.DATABASE_URL ?? '').trim() || undefined;
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new UsageError(`--database-url must start with postgres:// or postgresql://`);
  }

  return {
    url: url.toString(),
    key,
    databaseUrl,
    batches: integer('batches', values.batches!, 1, 100_000),
    batchSize: integer('batch-size', values['batch-size']!, 1, SERVER_MAX_BATCH),
    singleRequests: integer('single-requests', values['single-requests']!, 0, 10_000_000),
    concurrency: integer('concurrency', values.concurrency!, 1, 1000),
    history: values.history!.split(',').map((v) => integer('history', v, 0, 1_000_000)).filter((n) => n > 0),
    appendRounds: integer('append-rounds', values['append-rounds']!, 1, 100_000),
    lateMinutes: integer('late-minutes', values['late-minutes']!, 0, 10_000),
    segments: integer('segments', values.segments!, 0, SEGMENTS.length),
    client: clientKind(values.client!),
    out: path.resolve(values.out!),
  };
}

/** The command line as typed, with the API key and any database password masked. */
function shownCommandLine(argv: string[]): string {
  const secretFlags = new Set(['--key']);
  const shown: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const eq = arg.indexOf('=');
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    if (secretFlags.has(flag)) {
      shown.push(eq > 0 ? `${flag}=***` : flag);
      if (eq < 0 && i + 1 < argv.length) {
        shown.push('***');
        i++;
      }
      continue;
    }
    shown.push(arg.replace(/(postgres(?:ql)?:\/\/[^:/@\s]+:)[^@\s]*@/g, '$1***@'));
  }
  const quoted = shown.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`));
  const underNpm = process.env.npm_lifecycle_event === 'bench:ingest';
  const prefix = underNpm ? 'npm run bench:ingest' + (quoted.length ? ' --' : '') : `ts-node --transpile-only ${path.relative(process.cwd(), __filename) || __filename}`;
  return [prefix, ...quoted].join(' ');
}

// ---------------------------------------------------------------------------------------------
// Measurement

interface Tally {
  scenario: string;
  items: number;
  requests: number;
  created: number;
  /** Items not CREATED, by status; failed requests count their items under "request failed". */
  other: Map<string, number>;
  latenciesMs: number[];
  elapsedMs: number;
  firstError?: string;
  stoppedEarly: boolean;
  /** Baseline rows are not interactions recorded through the API: no status to check. */
  hasStatus: boolean;
}

function newTally(scenario: string, hasStatus = true): Tally {
  return { scenario, items: 0, requests: 0, created: 0, other: new Map(), latenciesMs: [], elapsedMs: 0, stoppedEarly: false, hasStatus };
}

function countOther(tally: Tally, what: string, n = 1): void {
  tally.other.set(what, (tally.other.get(what) ?? 0) + n);
}

function nonCreated(tally: Tally): number {
  let n = 0;
  for (const v of tally.other.values()) n += v;
  return n;
}

/** Nearest-rank percentile. */
function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** Runs `task(0..total-1)` on `workers` concurrent loops; stops early when the run limit is reached. */
async function pool(total: number, workers: number, deadline: AbortSignal, task: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < total && !deadline.aborted) {
      const index = next++;
      await task(index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(workers, total) }, () => worker()));
}

// ---------------------------------------------------------------------------------------------
// GraphQL

interface GraphQLResponse<T> {
  data?: T | null;
  errors?: Array<{ message: string; extensions?: { code?: string } }>;
}

class RequestFailed extends Error {}


/** One client (one pool of keep-alive connections) per run. */
let poster: JsonPoster | undefined;

async function postGraphQL<T>(options: Options, body: string, deadline: AbortSignal): Promise<T> {
  poster ??= jsonPoster(options.url, { authorization: `Bearer ${options.key}` }, { kind: options.client, connections: Math.max(options.concurrency, BATCH_SENDERS) + 2 });
  // fetch leaves its abort listener on the signal it is given until the request is collected:
  // a signal per request, tied to the run's deadline for just as long, keeps that bounded.
  const controller = new AbortController();
  const abort = () => controller.abort(deadline.reason);
  if (deadline.aborted) abort();
  else deadline.addEventListener('abort', abort, { once: true });
  let response: { status: number; text: string };
  let text: string;
  try {
    response = await poster.post(body, controller.signal);
    text = response.text;
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new RequestFailed(`${(err as Error).message}${cause ? ` (${cause.code ?? cause.message})` : ''}`);
  } finally {
    deadline.removeEventListener('abort', abort);
  }
  let json: GraphQLResponse<T>;
  try {
    json = JSON.parse(text) as GraphQLResponse<T>;
  } catch {
    throw new RequestFailed(`HTTP ${response.status}: ${text.slice(0, 200)}`);
  }
  if (json.errors?.length) {
    const [first] = json.errors;
    throw new RequestFailed(`${first.extensions?.code ?? `HTTP ${response.status}`}: ${first.message}`);
  }
  if (response.status < 200 || response.status > 299 || !json.data) throw new RequestFailed(`HTTP ${response.status} without data`);
  return json.data;
}

/** Fails fast on a wrong URL, key or scope: an empty batch is authorised like a real one and writes nothing. */
async function preflight(options: Options, signal: AbortSignal): Promise<void> {
  try {
    await postGraphQL(options, JSON.stringify({ query: BATCH_MUTATION, variables: { inputs: [] } }), signal);
  } catch (err) {
    throw new UsageError(`The server at ${options.url} refused a write check: ${(err as Error).message}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Data

const runId = newRunId();
const interaction = (scenario: string, index: number, email?: string) => newPerson(runId, scenario, index, email);

/** One operation of the run's key, for the segments' set-up and clean-up. */
const operation = (options: Options, deadline: AbortSignal): Operation => (query, variables) => postGraphQL(options, JSON.stringify({ query, variables }), deadline);

// ---------------------------------------------------------------------------------------------
// Scenarios

async function runBatches(
  options: Options,
  deadline: AbortSignal,
  tally: Tally,
  makeBatch: (batch: number) => InteractionInput[],
  onCreated?: (input: InteractionInput) => void,
): Promise<void> {
  const started = performance.now();
  await pool(options.batches, BATCH_SENDERS, deadline, async (batch) => {
    const inputs = makeBatch(batch);
    const body = JSON.stringify({ query: BATCH_MUTATION, variables: { inputs } });
    tally.items += inputs.length;
    tally.requests++;
    const t0 = performance.now();
    try {
      const data = await postGraphQL<{ recordInteractions: Array<{ status: string }> }>(options, body, deadline);
      tally.latenciesMs.push(performance.now() - t0);
      const results = data.recordInteractions;
      inputs.forEach((input, i) => {
        const status = results[i]?.status ?? 'no result';
        if (status === 'CREATED') {
          tally.created++;
          onCreated?.(input);
        } else {
          countOther(tally, status);
        }
      });
    } catch (err) {
      countOther(tally, deadline.aborted ? 'cut off at the time limit (outcome unknown)' : 'request failed', inputs.length);
      tally.firstError ??= (err as Error).message;
    }
  });
  tally.elapsedMs = performance.now() - started;
  tally.stoppedEarly = deadline.aborted;
}

async function runSingles(options: Options, deadline: AbortSignal, tally: Tally): Promise<void> {
  const started = performance.now();
  await pool(options.singleRequests, options.concurrency, deadline, async (index) => {
    const body = JSON.stringify({ query: SINGLE_MUTATION, variables: { input: interaction('c', index) } });
    tally.items++;
    tally.requests++;
    const t0 = performance.now();
    try {
      const data = await postGraphQL<{ recordInteraction: { status: string } }>(options, body, deadline);
      tally.latenciesMs.push(performance.now() - t0);
      if (data.recordInteraction.status === 'CREATED') tally.created++;
      else countOther(tally, data.recordInteraction.status);
    } catch (err) {
      countOther(tally, deadline.aborted ? 'cut off at the time limit (outcome unknown)' : 'request failed');
      tally.firstError ??= (err as Error).message;
    }
  });
  tally.elapsedMs = performance.now() - started;
  tally.stoppedEarly = deadline.aborted;
}

// ---------------------------------------------------------------------------------------------
// (d) Appends to long histories

const HOUR_MS = 3_600_000;
const SEED_BATCH = 1000;

/** The i-th interaction of a long history: mostly views, one in 50 a purchase after an add to cart. */
function historyInteraction(tag: string, index: number, customerId: string, at: number): InteractionInput {
  const kind = index % 50;
  const type = kind === 49 ? 'PURCHASE' : kind === 48 ? 'ADD_TO_CART' : index % 7 === 0 ? 'PRODUCT_VIEW' : 'PAGE_VIEW';
  return {
    externalId: `bench-${runId}-${tag}-${index}`,
    channel: index % 2 === 0 ? 'WEB' : 'APP',
    type,
    identifiers: [{ type: 'CUSTOMER_ID', value: customerId }],
    occurredAt: new Date(at).toISOString(),
    ...(type === 'PURCHASE' ? { amount: '19.99', currency: 'EUR' } : {}),
  };
}

interface AppendTarget {
  label: string;
  customerId: string;
  /** Interactions already stored. */
  size: number;
  tally: Tally;
  /** Its interactions are this much older than the round's (late ones, to a customer another target seeds); 0: appends. */
  lateMs: number;
}

/**
 * Gives each target its history (recordInteractions batches, in time order, targets in parallel),
 * then appends one interaction at a time to each in turn, so that every target sees the same
 * moment of the machine's load. Histories end `appendRounds` minutes before now: appends come
 * a minute apart after them, never in the future.
 */
async function runAppends(options: Options, deadline: AbortSignal, targets: AppendTarget[], seedTally: Tally): Promise<void> {
  const end = Date.now() - (options.appendRounds + 5) * 60_000;
  const seedStarted = performance.now();
  await Promise.all(
    targets.map(async (target) => {
      for (let first = 0; first < target.size && target.lateMs === 0 && !deadline.aborted; first += SEED_BATCH) {
        const count = Math.min(SEED_BATCH, target.size - first);
        const inputs = Array.from({ length: count }, (_, k) => {
          const index = first + k;
          return historyInteraction(`${target.label}-seed`, index, target.customerId, end - (target.size - index) * HOUR_MS);
        });
        seedTally.items += count;
        seedTally.requests++;
        const t0 = performance.now();
        try {
          const data = await postGraphQL<{ recordInteractions: Array<{ status: string }> }>(options, JSON.stringify({ query: BATCH_MUTATION, variables: { inputs } }), deadline);
          seedTally.latenciesMs.push(performance.now() - t0);
          for (const r of data.recordInteractions) r.status === 'CREATED' ? seedTally.created++ : countOther(seedTally, r.status);
        } catch (err) {
          countOther(seedTally, 'request failed', count);
          seedTally.firstError ??= (err as Error).message;
        }
      }
    }),
  );
  seedTally.elapsedMs = performance.now() - seedStarted;
  seedTally.stoppedEarly = deadline.aborted;

  const started = performance.now();
  for (let round = 0; round < options.appendRounds && !deadline.aborted; round++) {
    // Rotate who goes first, so that no target always follows the same one.
    for (let k = 0; k < targets.length; k++) {
      const target = targets[(round + k) % targets.length];
      const at = end + round * 60_000 + k - target.lateMs;
      const customerId = target.size === 0 ? `${target.customerId}-${round}` : target.customerId;
      const input = historyInteraction(`${target.label}-append`, round * 50 + 1 + (round % 49), customerId, at);
      const body = JSON.stringify({ query: SINGLE_MUTATION, variables: { input } });
      target.tally.items++;
      target.tally.requests++;
      const t0 = performance.now();
      try {
        const data = await postGraphQL<{ recordInteraction: { status: string } }>(options, body, deadline);
        target.tally.latenciesMs.push(performance.now() - t0);
        if (data.recordInteraction.status === 'CREATED') target.tally.created++;
        else countOther(target.tally, data.recordInteraction.status);
      } catch (err) {
        countOther(target.tally, deadline.aborted ? 'cut off at the time limit (outcome unknown)' : 'request failed');
        target.tally.firstError ??= (err as Error).message;
      }
    }
  }
  const elapsed = performance.now() - started;
  for (const target of targets) {
    target.tally.elapsedMs = elapsed;
    target.tally.stoppedEarly = deadline.aborted;
  }
}

/** Mean and median per append of each target against the new customer's, and the spread of block medians. */
function appendSummary(targets: AppendTarget[]): string[] {
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / Math.max(1, v.length);
  const blocks = (v: number[]) => {
    const size = Math.max(10, Math.floor(v.length / 5));
    const out: number[] = [];
    for (let i = 0; i + size <= v.length; i += size) out.push(percentile(v.slice(i, i + size), 50));
    return out;
  };
  const base = targets[0].tally.latenciesMs;
  const lines = ['| append to | stored interactions | mean ms | p50 ms | p50 of 5 blocks, min–max ms | p50 vs new customer |', '| --- | ---: | ---: | ---: | ---: | ---: |'];
  for (const t of targets) {
    const v = t.tally.latenciesMs;
    const b = blocks(v);
    lines.push(
      `| ${t.label} | ${t.size} | ${mean(v).toFixed(2)} | ${percentile(v, 50).toFixed(2)} | ${b.length ? `${Math.min(...b).toFixed(2)}–${Math.max(...b).toFixed(2)}` : '—'} | ${(percentile(v, 50) / percentile(base, 50)).toFixed(2)}× |`,
    );
  }
  return lines;
}

const BASELINE_COLUMNS = [
  'id',
  'external_id',
  'channel',
  'type',
  'name',
  'occurred_at',
  'received_at',
  'amount',
  'currency',
  'nps_score',
  'properties',
  'identifiers',
  'customer_id',
  'api_key_id',
] as const;

/**
 * The rows of scenario (a), as the server would store them, written with multi-row INSERTs into a
 * temporary copy of `interaction` (same columns, defaults and indexes; no foreign keys, and, being
 * temporary, no WAL): a floor for what the API's bookkeeping costs on top of the raw writes.
 */
async function runBaseline(databaseUrl: string, deadline: AbortSignal, tally: Tally, rows: number): Promise<void> {
  const client = new Client({ connectionString: databaseUrl, statement_timeout: 60_000, application_name: 'customer-graph-bench' });
  await client.connect();
  try {
    await client.query('CREATE TEMP TABLE bench_interaction (LIKE interaction INCLUDING DEFAULTS INCLUDING INDEXES)');
    const apiKeyId = uuidv7();
    const statements = Math.ceil(rows / BASELINE_ROWS_PER_STATEMENT);
    const started = performance.now();
    for (let s = 0; s < statements && !deadline.aborted; s++) {
      const first = s * BASELINE_ROWS_PER_STATEMENT;
      const count = Math.min(BASELINE_ROWS_PER_STATEMENT, rows - first);
      const now = new Date();
      const params: unknown[] = [];
      const tuples: string[] = [];
      for (let r = 0; r < count; r++) {
        const input = interaction('a', first + r);
        const base = params.length;
        tuples.push(`(${BASELINE_COLUMNS.map((_, c) => `$${base + c + 1}`).join(', ')})`);
        params.push(
          uuidv7(now.getTime()),
          input.externalId,
          input.channel,
          input.type,
          null,
          now,
          now,
          input.amount ?? null,
          input.currency ?? null,
          null,
          '{}',
          JSON.stringify(input.identifiers.map((i) => ({ type: i.type, value: i.value.toLowerCase(), raw: i.value }))),
          uuidv7(now.getTime()),
          apiKeyId,
        );
      }
      const sql = `INSERT INTO bench_interaction (${BASELINE_COLUMNS.join(', ')}) VALUES ${tuples.join(', ')}`;
      tally.items += count;
      tally.requests++;
      const t0 = performance.now();
      try {
        await client.query(sql, params);
        tally.latenciesMs.push(performance.now() - t0);
        tally.created += count;
      } catch (err) {
        countOther(tally, 'statement failed', count);
        tally.firstError ??= (err as Error).message;
      }
    }
    tally.elapsedMs = performance.now() - started;
    tally.stoppedEarly = deadline.aborted;
  } finally {
    await client.query('DROP TABLE IF EXISTS bench_interaction').catch(() => undefined);
    await client.end().catch(() => undefined);
  }
}

// ---------------------------------------------------------------------------------------------
// Report

const HEADER = ['scenario', 'items', 'requests', 'elapsed s', 'interactions/s', 'p50 ms', 'p99 ms', 'non-CREATED'];

function row(t: Tally): string[] {
  const seconds = t.elapsedMs / 1000;
  const ms = (v: number) => (Number.isNaN(v) ? '—' : v.toFixed(1));
  return [
    t.scenario + (t.stoppedEarly ? ' (stopped at the time limit)' : ''),
    String(t.items),
    String(t.requests),
    seconds.toFixed(2),
    seconds > 0 ? Math.round(t.created / seconds).toString() : '—',
    ms(percentile(t.latenciesMs, 50)),
    ms(percentile(t.latenciesMs, 99)),
    t.hasStatus ? String(nonCreated(t)) : nonCreated(t) ? `${nonCreated(t)} failed` : 'n/a',
  ];
}

function textTable(rows: string[][]): string {
  const widths = HEADER.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const line = (cells: string[]) => cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ');
  return [line(HEADER), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

function markdownTable(rows: string[][]): string {
  const escape = (cell: string) => cell.replace(/\|/g, '\\|');
  return [
    `| ${HEADER.join(' | ')} |`,
    `| ${HEADER.map((_, c) => (c === 0 ? '---' : '---:')).join(' | ')} |`,
    ...rows.map((r) => `| ${r.map(escape).join(' | ')} |`),
  ].join('\n');
}

function details(tallies: Tally[]): string[] {
  const lines: string[] = [];
  for (const t of tallies) {
    if (t.other.size === 0) continue;
    const breakdown = [...t.other.entries()].map(([k, v]) => `${k} ${v}`).join(', ');
    lines.push(`${t.scenario}: ${breakdown}${t.firstError ? `; first error: ${t.firstError}` : ''}`);
  }
  return lines;
}

function appendMarkdown(file: string, section: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const existing = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  const prefix = existing === '' ? '# Ingestion benchmark results\n\n' : existing.endsWith('\n\n') ? '' : existing.endsWith('\n') ? '\n' : '\n\n';
  fs.appendFileSync(file, prefix + section);
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  let options: Options;
  try {
    options = parseOptions(argv);
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      throw new UsageError(`${(err as Error).message}\n${USAGE}`);
    }
    throw err;
  }

  const deadline = AbortSignal.timeout(RUN_LIMIT_MS);
  // One listener per request in flight.
  setMaxListeners(Math.max(options.concurrency, BATCH_SENDERS) + 10, deadline);
  // Should something ignore the signal, the process still ends shortly after the limit.
  setTimeout(() => {
    console.error(`bench: still running ${RUN_LIMIT_MS / 60000} minutes after the start; exiting.`);
    process.exit(2);
  }, RUN_LIMIT_MS + 30_000).unref();

  const startedAt = new Date();
  console.log(`Ingestion benchmark, run id ${runId}, against ${options.url}`);
  await preflight(options, deadline);
  let segmentIds: string[];
  try {
    segmentIds = await createSegments(operation(options, deadline), options.segments, runId);
  } catch (err) {
    throw new UsageError(`Could not create the saved segments (the key needs the admin scope; --segments 0 runs without them): ${(err as Error).message}`);
  }
  if (segmentIds.length) console.log(`${segmentIds.length} saved segments created and evaluated; every write keeps them current.`);
  try {
    await scenarios(options, argv, deadline, startedAt, segmentIds.length);
  } finally {
    await deleteSegments(operation(options, AbortSignal.timeout(30_000)), segmentIds);
  }
}

async function scenarios(options: Options, argv: string[], deadline: AbortSignal, startedAt: Date, segments: number): Promise<void> {
  const total = options.batches * options.batchSize;
  const tallies: Tally[] = [];

  // (a) New people only.
  const a = newTally(`(a) batch, new customers (${options.batchSize}/req, ${BATCH_SENDERS} senders)`);
  tallies.push(a);
  const createdEmails: string[] = [];
  console.log(`(a) ${options.batches} batches of ${options.batchSize} new customers…`);
  await runBatches(
    options,
    deadline,
    a,
    (batch) => Array.from({ length: options.batchSize }, (_, i) => interaction('a', batch * options.batchSize + i)),
    (input) => createdEmails.push(input.identifiers[1].value),
  );

  // (b) Half of every batch matches a customer of (a) by EMAIL; the other half are new people.
  const b = newTally(`(b) batch, half existing (${options.batchSize}/req, ${BATCH_SENDERS} senders)`);
  if (!deadline.aborted) {
    tallies.push(b);
    if (createdEmails.length === 0) console.log('(b) note: (a) created nobody, so every item of (b) is a new person.');
    console.log(`(b) ${options.batches} batches of ${options.batchSize}, half of them existing customers…`);
    let reused = 0;
    await runBatches(options, deadline, b, (batch) =>
      Array.from({ length: options.batchSize }, (_, i) => {
        const index = batch * options.batchSize + i;
        if (i % 2 === 0 && createdEmails.length > 0) {
          // Each existing customer is matched once (while (a) created enough of them).
          return interaction('b', index, createdEmails[reused++ % createdEmails.length]);
        }
        return interaction('b', index);
      }),
    );
  }

  // (c) One interaction per request.
  if (!deadline.aborted && options.singleRequests > 0) {
    const c = newTally(`(c) single, new customers (${options.concurrency} clients)`);
    tallies.push(c);
    console.log(`(c) ${options.singleRequests} single requests from ${options.concurrency} clients…`);
    await runSingles(options, deadline, c);
  }

  // (d) Appends to customers with long histories, against a new customer and a short history.
  let appendLines: string[] = [];
  if (!deadline.aborted && options.history.length > 0) {
    const targets: AppendTarget[] = [
      { label: 'new customer', customerId: `${runId}-new`, size: 0, tally: newTally('(d) append, new customer (1 client)'), lateMs: 0 },
      { label: 'short history', customerId: `${runId}-h10`, size: 10, tally: newTally('(d) append, 10 stored (1 client)'), lateMs: 0 },
      ...options.history.map((n) => ({ label: `${n} stored`, customerId: `${runId}-h${n}`, size: n, tally: newTally(`(d) append, ${n} stored (1 client)`), lateMs: 0 })),
      ...(options.lateMinutes > 0
        ? options.history.map((n) => ({
            label: `${n} stored, ${options.lateMinutes} min late`,
            customerId: `${runId}-h${n}`,
            size: n,
            tally: newTally(`(d) late by ${options.lateMinutes} min, ${n} stored (1 client)`),
            lateMs: options.lateMinutes * 60_000,
          }))
        : []),
    ];
    const seed = newTally(`(d) seeding the histories (${SEED_BATCH}/req, one sender per customer)`);
    console.log(`(d) seeding ${options.history.join(', ')} interactions, then ${options.appendRounds} rounds of appends…`);
    await runAppends(options, deadline, targets, seed);
    tallies.push(seed, ...targets.map((t) => t.tally));
    appendLines = appendSummary(targets);
    console.log(`\n${appendLines.join('\n')}`);
  }

  // Baseline: raw INSERTs of as many rows as (a).
  const notes: string[] = [];
  if (!options.databaseUrl) {
    const note = 'baseline skipped: no --database-url (or DATABASE_URL) given.';
    console.log(note);
    notes.push(note);
  } else if (!deadline.aborted) {
    const base = newTally(`baseline: raw INSERT, ${BASELINE_ROWS_PER_STATEMENT} rows/stmt (pg, temp table)`, false);
    console.log(`baseline: ${total} rows in INSERTs of ${BASELINE_ROWS_PER_STATEMENT}…`);
    try {
      await runBaseline(options.databaseUrl, deadline, base, total);
      tallies.push(base);
    } catch (err) {
      const note = `baseline failed: ${(err as Error).message}`;
      console.log(note);
      notes.push(note);
    }
  }
  if (deadline.aborted) notes.push(`the run reached its ${RUN_LIMIT_MS / 60000}-minute limit; later scenarios did not run.`);

  const rows = tallies.map(row);
  const problems = details(tallies);
  console.log(`\n${textTable(rows)}\n`);
  for (const line of [...problems, ...notes]) console.log(line);

  const cpus = os.cpus();
  const section = [
    `## ${startedAt.toISOString()}`,
    '',
    `- Machine: ${cpus[0]?.model.trim() ?? 'unknown CPU'}, ${cpus.length} cores, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM`,
    `- Node ${process.version}`,
    `- Command: \`${shownCommandLine(argv)}\``,
    `- Run id: \`${runId}\` (prefix of every identifier and externalId written)`,
    `- Client: ${options.client === 'http' ? 'node:http, keep-alive connections' : 'fetch'} (--client)`,
    `- Saved segments kept current by every write: ${segmentNames(segments)}`,
    '',
    markdownTable(rows),
    '',
    'interactions/s counts CREATED items only; for (c) it equals requests/s. p50/p99 are per request (per statement for the baseline).',
    ...(appendLines.length ? ['', 'Appends, one interaction per request from one client, the targets in turn:', '', ...appendLines] : []),
    ...(problems.length + notes.length ? ['', ...[...problems, ...notes].map((line) => `- ${line}`)] : []),
    '',
  ].join('\n');
  appendMarkdown(options.out, section);
  const shownOut = path.relative(process.cwd(), options.out);
  console.log(`Appended to ${shownOut.startsWith('..') || path.isAbsolute(shownOut) ? options.out : shownOut}`);

  if (tallies.some((t) => nonCreated(t) > 0) || deadline.aborted) process.exitCode = 1;
}

main()
  .finally(() => poster?.close())
  .catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
