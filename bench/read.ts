/**
 * Reads, side by side with PostGraphile v4 over the same database.
 *
 *   npm run bench:read [-- --pairs 5] [--seconds 15] [--clients 32] [--warmup 2]
 *                         [--only W1,W2,W3,W1-1] [--out bench/RESULTS.md] [--no-write]
 *                         [--compiled] [--dataset PATH] [--profile DIR] [--masked]
 *
 * 1. The database `cg_bench_read` on the server of DATABASE_URL (default: the local PostgreSQL on
 *    5432) holds the Online Retail import, swept as of 2011-12-10. It is filled once, through the
 *    API running in this process, and reused while it still has its 4,371 live customers and
 *    every migration it was built with is unchanged (their fingerprints are the database's
 *    comment); otherwise it is rebuilt.
 * 2. Both servers run as child processes for the whole benchmark: Customer Graph as `npm start`
 *    would run it (NODE_ENV=production, the periodic sweep off, a read key with no practical
 *    rate limit), and bench/postgraphile/server.js, each with a pool of the same size.
 * 3. Before anything is timed, both answer every request of every workload once and must return
 *    the same data (amounts and instants compared as values, not as text).
 * 4. For each workload, `pairs` pairs of runs, which of the two goes first alternating from one
 *    pair to the next; each run is `warmup` seconds unmeasured then `seconds` measured, from the
 *    load generator (bench/read-load.ts) in its own process. CPU is read from /proc for the
 *    server process and for the PostgreSQL server's processes: its own (WAL writer,
 *    checkpointer…) and the backends of the benchmark's database.
 *
 * With --masked, Customer Graph's key has `read` alone: identifier values come back masked and no
 * read is audited (PostGraphile's values are masked the same way before the answers are compared).
 * By default the key also has `pii`, so that both return the same values and every read of ours
 * writes its audit row before it is answered.
 *
 * With --profile DIR, both servers run under `node --cpu-prof` and leave their profiles in
 * DIR/customer-graph and DIR/postgraphile when they stop (open them in Chrome's DevTools, or
 * summarise them with `npx ts-node --transpile-only bench/profile-summary.ts DIR/customer-graph/*.cpuprofile`).
 *
 * A run with failed requests is reported as such and the results are not appended.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

import { runImport } from '../src/cli/import-online-retail';
import { loadConfig } from '../src/config';
import { createDataSource } from '../src/data-source';
import { ApiKeyService } from '../src/modules/access/api-key.service';
import { Scope } from '../src/modules/access/scope.enum';
import { maskIdentifier } from '../src/modules/pii/mask';
import { startServer } from '../src/server';
import { databaseComment, databaseUrl, migrationFingerprints, withClient } from './database';
import { machine, UNLIMITED } from './fresh-server';
import { CLK_TCK, postgresTicks, postmasterPid, procStat, ticksBetween } from './proc';
import type { LoadConfig, LoadResult } from './read-load';

const ROOT = path.join(__dirname, '..');
const PG_DIR = path.join(__dirname, 'postgraphile');
const DATABASE = 'cg_bench_read';
const AS_OF = new Date('2011-12-10T00:00:00Z');
/** Live customers of the Online Retail import: the sign that the data is all there. */
const EXPECTED_CUSTOMERS = 4371;
const SAMPLE_SIZE = 200;

const { values: args } = parseArgs({
  options: {
    pairs: { type: 'string', default: '5' },
    seconds: { type: 'string', default: '15' },
    clients: { type: 'string', default: '32' },
    warmup: { type: 'string', default: '2' },
    only: { type: 'string' },
    out: { type: 'string', default: path.join(__dirname, 'RESULTS.md') },
    'no-write': { type: 'boolean', default: false },
    compiled: { type: 'boolean', default: false },
    dataset: { type: 'string', default: path.join(ROOT, '..', 'shared', 'datasets', 'online-retail.csv.gz') },
    profile: { type: 'string' },
    masked: { type: 'boolean', default: false },
  },
});

function positive(name: string, integer = true): number {
  const value = Number(args[name as keyof typeof args]);
  if (!(value > 0) || (integer && !Number.isInteger(value))) throw new Error(`--${name} must be a positive ${integer ? 'integer' : 'number'}`);
  return value;
}
const PAIRS = positive('pairs');
const SECONDS = positive('seconds', false);
const CLIENTS = positive('clients');
const WARMUP = Number(args.warmup);
if (!(WARMUP >= 0)) throw new Error('--warmup must be a number of seconds, 0 or more');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (line: string) => process.stderr.write(`${line}\n`);

// ---------------------------------------------------------------------------------------------
// Child processes: every one is tracked, so that an error or Ctrl-C leaves none behind.

const children = new Set<ChildProcess>();
const alive = (c: ChildProcess) => c.exitCode === null && c.signalCode === null;

function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

async function stop(child: ChildProcess): Promise<void> {
  if (!alive(child)) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  if ((await Promise.race([exited.then(() => true), sleep(15_000).then(() => false)])) === false) {
    child.kill('SIGKILL');
    await exited;
  }
}

const cleanups: Array<() => Promise<unknown>> = [];
let cleaning: Promise<void> | null = null;
function cleanUp(): Promise<void> {
  cleaning ??= (async () => {
    await Promise.all([...children].map(stop));
    for (const fn of cleanups.splice(0).reverse()) await fn().catch((err) => log(`clean-up: ${(err as Error).message}`));
  })();
  return cleaning;
}
for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
  process.once(signal, () => {
    log(`${signal}: stopping the servers…`);
    void cleanUp().finally(() => process.exit(code));
  });
}
// The last resort (process.exit from anywhere): nothing asynchronous runs any more.
process.on('exit', () => {
  for (const child of children) if (alive(child)) child.kill('SIGKILL');
});

// ---------------------------------------------------------------------------------------------
// The database

/** Why the existing database cannot be reused, or null when it can. */
async function staleness(url: string): Promise<string | null> {
  const comment = await databaseComment(url);
  return withClient(url, async (c) => {
    const [{ tables }] = (await c.query(`SELECT count(*)::int AS tables FROM pg_tables WHERE schemaname = 'public' AND tablename IN ('customer', 'migrations')`)).rows;
    if (tables < 2) return 'no data';
    const [{ live }] = (await c.query(`SELECT count(*)::int AS live FROM customer WHERE merged_into_id IS NULL`)).rows;
    if (live !== EXPECTED_CUSTOMERS) return `${live} live customers instead of ${EXPECTED_CUSTOMERS}`;
    let built: Record<string, string>;
    try {
      built = JSON.parse(comment ?? '').migrations;
    } catch {
      return 'not built by this benchmark (no migration fingerprints)';
    }
    const now = migrationFingerprints();
    const changed = Object.keys(built).filter((name) => now[name] !== built[name]);
    return changed.length ? `migrations changed since it was built: ${changed.join(', ')}` : null;
  });
}

interface Data {
  url: string;
  customers: number;
  interactions: number;
  filled: boolean;
}

/** cg_bench_read, migrated, with the Online Retail import: built when missing or stale. */
async function prepareDatabase(serverUrl: string): Promise<Data> {
  const adminUrl = databaseUrl(serverUrl, 'postgres');
  const url = databaseUrl(serverUrl, DATABASE);
  const exists = await withClient(adminUrl, async (c) => (await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE])).rowCount === 1);
  const why = exists ? await staleness(url) : 'it does not exist';
  if (why) {
    log(`Building ${DATABASE} (${why}): the Online Retail import as of ${AS_OF.toISOString().slice(0, 10)}, once; about 1–2 minutes…`);
    if (!fs.existsSync(args.dataset!)) throw new Error(`the data set is not at ${args.dataset} (--dataset PATH)`);
    await withClient(adminUrl, async (c) => {
      await c.query(`DROP DATABASE IF EXISTS ${DATABASE} WITH (FORCE)`);
      await c.query(`CREATE DATABASE ${DATABASE}`);
    });
  } else {
    log(`Reusing ${DATABASE}: ${EXPECTED_CUSTOMERS} live customers, migrations unchanged.`);
  }

  const dataSource = createDataSource(url);
  await dataSource.initialize();
  try {
    await dataSource.runMigrations({ transaction: 'each' });
    if (why) {
      const config = { ...loadConfig({ ...process.env, DATABASE_URL: url, LOG_LEVEL: 'silent' }), sweepIntervalSeconds: 0 };
      const server = await startServer(dataSource, config, 0, '127.0.0.1');
      try {
        const { key, apiKey } = await server.services.apiKeys.create('bench read: import', [Scope.ADMIN], UNLIMITED);
        const report = await runImport({ url: server.url, key, file: args.dataset, asOf: AS_OF, write: (t) => process.stderr.write(t), tty: false });
        // The key stays (its interactions refer to it) but can no longer be used.
        await server.services.apiKeys.revoke(apiKey.id);
        if (report.rejected) throw new Error(`the import rejected ${report.rejected} interactions: ${report.firstProblems.join('; ')}`);
      } finally {
        await server.stop();
      }
      const [{ live }] = await dataSource.query(`SELECT count(*)::int AS live FROM customer WHERE merged_into_id IS NULL`);
      if (live !== EXPECTED_CUSTOMERS) throw new Error(`the import left ${live} live customers, ${EXPECTED_CUSTOMERS} expected`);
    }
    const comment = JSON.stringify({ builtBy: 'bench/read.ts', asOf: AS_OF.toISOString(), migrations: migrationFingerprints() });
    await dataSource.query(`COMMENT ON DATABASE ${DATABASE} IS ${quoteLiteral(comment)}`);
    // Every run plans from the same statistics (the tables are small enough to be read whole).
    await dataSource.query('ANALYZE');
    const [{ customers, interactions }] = await dataSource.query(
      `SELECT (SELECT count(*)::int FROM customer WHERE merged_into_id IS NULL) AS customers, (SELECT count(*)::int FROM interaction) AS interactions`,
    );
    return { url, customers, interactions, filled: Boolean(why) };
  } finally {
    await dataSource.destroy();
  }
}

const quoteLiteral = (s: string) => `'${s.replace(/'/g, "''")}'`;

/** Scopes of the benchmark's key: `pii` too where it exists, so that both sides return the same values. */
function readScopes(): Scope[] {
  const pii = !args.masked && (Object.values(Scope) as string[]).includes('pii');
  return [Scope.READ, ...(pii ? ['pii' as Scope] : [])];
}

interface Sample {
  id: string;
  /** Its CUSTOMER_ID value, as stored. */
  customerId: string;
}

/**
 * Live customers with at least one interaction and a CUSTOMER_ID: the same ones whenever the
 * data is rebuilt (ordered by a hash of that value, not of the generated ids).
 */
async function sample(url: string): Promise<Sample[]> {
  return withClient(url, async (c) => {
    const { rows } = await c.query(
      `SELECT c.id, i.value AS "customerId"
         FROM customer c
         JOIN identifier i ON i.customer_id = c.id AND i.type = 'CUSTOMER_ID'
        WHERE c.merged_into_id IS NULL AND EXISTS (SELECT 1 FROM interaction x WHERE x.customer_id = c.id)
        ORDER BY md5(i.value)
        LIMIT $1`,
      [SAMPLE_SIZE],
    );
    if (rows.length < SAMPLE_SIZE) throw new Error(`only ${rows.length} customers to sample, ${SAMPLE_SIZE} needed`);
    return rows;
  });
}

// ---------------------------------------------------------------------------------------------
// The servers

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

interface Target {
  name: string;
  child: ChildProcess;
  pid: number;
  url: string;
  headers: Record<string, string>;
  /** The last lines it wrote, for the error message when it dies. */
  output: () => string;
}

/** `node --cpu-prof` into DIR/`name` with --profile DIR. */
function profiled(name: string): string[] {
  if (!args.profile) return [];
  const dir = path.resolve(args.profile, name);
  fs.mkdirSync(dir, { recursive: true });
  return ['--cpu-prof', `--cpu-prof-dir=${dir}`];
}

function spawnTracked(args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }): { child: ChildProcess; output: () => string } {
  const child = track(spawn(process.execPath, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] }));
  let tail = '';
  const keep = (d: Buffer) => (tail = (tail + d.toString()).slice(-4000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  return { child, output: () => tail };
}

async function startCustomerGraph(url: string, key: string): Promise<Target> {
  const port = await freePort();
  const env = { ...process.env, DATABASE_URL: url, NODE_ENV: 'production', LOG_LEVEL: 'silent', LIFECYCLE_SWEEP_SECONDS: '0', PORT: String(port), HOST: '127.0.0.1' };
  let entry: string[];
  if (args.compiled) {
    const compiled = path.join(ROOT, 'dist', 'src', 'index.js');
    if (!fs.existsSync(compiled)) throw new Error('--compiled: no dist/src/index.js; `npm run build` first');
    entry = [compiled];
  } else {
    entry = ['-r', 'ts-node/register/transpile-only', 'src/index.ts'];
  }
  const { child, output } = spawnTracked([...profiled('customer-graph'), ...entry], { cwd: ROOT, env });
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 180_000;
  for (;;) {
    if (!alive(child)) throw new Error(`Customer Graph exited before it was ready:\n${output()}`);
    if (Date.now() > deadline) throw new Error(`Customer Graph not ready after 180 s:\n${output()}`);
    const ready = await fetch(`${base}/ready`).then((r) => r.status === 200, () => false);
    if (ready) break;
    await sleep(200);
  }
  return { name: 'Customer Graph', child, pid: child.pid!, url: `${base}/graphql`, headers: { authorization: `Bearer ${key}` }, output };
}

function packageVersion(name: string): string {
  return JSON.parse(fs.readFileSync(path.join(PG_DIR, 'node_modules', name, 'package.json'), 'utf8')).version;
}

async function startPostGraphile(url: string, poolSize: number): Promise<Target> {
  if (!fs.existsSync(path.join(PG_DIR, 'node_modules', 'postgraphile'))) {
    log('Installing bench/postgraphile (PostGraphile 4 and graphql 15, apart from the API)…');
    const npm = spawnSync('npm', ['install', '--no-audit', '--no-fund'], { cwd: PG_DIR, stdio: ['ignore', process.stderr, process.stderr] });
    if (npm.status !== 0) throw new Error('npm install in bench/postgraphile failed');
  }
  const env = { ...process.env, DATABASE_URL: url, NODE_ENV: 'production', PORT: '0', HOST: '127.0.0.1', PG_POOL_SIZE: String(poolSize) };
  const { child, output } = spawnTracked([...profiled('postgraphile'), path.join(PG_DIR, 'server.js')], { cwd: PG_DIR, env });
  const deadline = Date.now() + 120_000;
  for (;;) {
    const port = /\{"port":(\d+)\}/.exec(output())?.[1];
    if (port) return { name: 'PostGraphile', child, pid: child.pid!, url: `http://127.0.0.1:${port}/graphql`, headers: {}, output };
    if (!alive(child)) throw new Error(`PostGraphile exited before it was ready:\n${output()}`);
    if (Date.now() > deadline) throw new Error(`PostGraphile not ready after 120 s:\n${output()}`);
    await sleep(100);
  }
}

async function post(target: Target, body: string): Promise<{ data: any; bytes: number }> {
  const res = await fetch(target.url, { method: 'POST', headers: { ...target.headers, 'content-type': 'application/json' }, body });
  const text = await res.text();
  const parsed = JSON.parse(text);
  if (res.status !== 200 || parsed.errors) throw new Error(`${target.name} answered ${res.status}: ${text.slice(0, 500)}\nto ${body.slice(0, 300)}`);
  return { data: parsed.data, bytes: Buffer.byteLength(text) };
}

/** The fields the PostGraphile queries use, from its own schema: a renamed field fails here, plainly. */
async function checkPostGraphileSchema(target: Target): Promise<void> {
  const { data } = await post(
    target,
    JSON.stringify({
      query: `{ query: __type(name: "Query") { fields { name } } customer: __type(name: "Customer") { fields { name } } identifier: __type(name: "Identifier") { fields { name } } }`,
    }),
  );
  const expected: Record<string, string[]> = {
    query: ['customerById', 'allCustomersList', 'identifierByTypeAndValue'],
    customer: ['id', 'identifiersByCustomerIdList', 'interactionsByCustomerIdList', 'orderCount', 'netRevenue', 'grossRevenue', 'lastPurchaseAt'],
    identifier: ['customerByCustomerId'],
  };
  for (const [type, names] of Object.entries(expected)) {
    const have = new Set<string>((data[type]?.fields ?? []).map((f: { name: string }) => f.name));
    const missing = names.filter((n) => !have.has(n));
    if (missing.length) throw new Error(`PostGraphile's ${type} type has no ${missing.join(', ')}; it has: ${[...have].join(', ')}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Workloads: the same question to each server, in each one's own terms.

interface Side {
  query: string;
  variables: Array<Record<string, unknown>>;
  /** The answer reduced to what both must agree on. */
  normalise: (data: any) => unknown;
}

interface Workload {
  id: string;
  title: string;
  clients: number;
  ours: Side;
  theirs: Side;
}

const decimal = (x: string | null) => (x === null ? null : x.includes('.') ? x.replace(/0+$/, '').replace(/\.$/, '') : x);
const instant = (x: string | null) => (x === null ? null : new Date(x).toISOString());
const interaction = (i: any) => ({ id: i.id, type: i.type, channel: i.channel, occurredAt: instant(i.occurredAt), amount: decimal(i.amount) });
const identifiers = (list: any[]) => list.map((i) => `${i.type}:${i.value}`);
/** PostGraphile's identifiers, masked as ours are for a key without pii under --masked. */
const theirIdentifiers = (list: any[]) => list.map((i) => `${i.type}:${args.masked ? maskIdentifier(i.type, i.value) : i.value}`);

const CG_INTERACTIONS = 'interactions(first: 10) { edges { node { id type channel occurredAt amount } } }';
const PG_INTERACTIONS = 'interactionsByCustomerIdList(first: 10, orderBy: [OCCURRED_AT_DESC, ID_DESC]) { id type channel occurredAt amount }';
// The API's order of a customer's identifiers (identifier.repository.ts).
const PG_IDENTIFIERS = 'identifiersByCustomerIdList(orderBy: [CREATED_AT_ASC, TYPE_ASC, VALUE_ASC]) { type value }';

const ourProfile = (c: any) => ({ id: c.id, identifiers: identifiers(c.identifiers), interactions: c.interactions.edges.map((e: any) => interaction(e.node)) });
const theirProfile = (c: any) => ({ id: c.id, identifiers: theirIdentifiers(c.identifiersByCustomerIdList), interactions: c.interactionsByCustomerIdList.map(interaction) });

function workloads(samples: Sample[], clients: number): Workload[] {
  const byId = samples.map((s) => ({ id: s.id }));
  const byValue = samples.map((s) => ({ value: s.customerId }));
  const w1: Omit<Workload, 'id' | 'title' | 'clients'> = {
    ours: {
      query: `query W1($id: ID!) { customer(id: $id) { id identifiers { type value } ${CG_INTERACTIONS} metrics { orderCount netRevenue } } }`,
      variables: byId,
      normalise: (d) => ({ ...ourProfile(d.customer), orderCount: d.customer.metrics.orderCount, netRevenue: decimal(d.customer.metrics.netRevenue) }),
    },
    theirs: {
      query: `query W1($id: UUID!) { customerById(id: $id) { id ${PG_IDENTIFIERS} ${PG_INTERACTIONS} orderCount netRevenue } }`,
      variables: byId,
      normalise: (d) => ({ ...theirProfile(d.customerById), orderCount: d.customerById.orderCount, netRevenue: decimal(d.customerById.netRevenue) }),
    },
  };
  return [
    { id: 'W1', title: 'customer by id: identifiers, last 10 interactions, order count and net revenue', clients, ...w1 },
    {
      id: 'W2',
      title: 'page of 50 customers, newest first, each with identifiers and last 10 interactions',
      clients,
      ours: {
        query: `query W2 { customers(first: 50) { edges { node { id identifiers { type value } ${CG_INTERACTIONS} } } } }`,
        variables: [{}],
        normalise: (d) => d.customers.edges.map((e: any) => ourProfile(e.node)),
      },
      theirs: {
        query: `query W2 { allCustomersList(first: 50, orderBy: [CREATED_AT_DESC, ID_DESC], condition: { mergedIntoId: null }) { id ${PG_IDENTIFIERS} ${PG_INTERACTIONS} } }`,
        variables: [{}],
        normalise: (d) => d.allCustomersList.map(theirProfile),
      },
    },
    {
      id: 'W3',
      title: 'customer by identifier value: identifiers and metrics',
      clients,
      ours: {
        query: `query W3($value: String!) { customerByIdentifier(type: CUSTOMER_ID, value: $value) { id identifiers { type value } metrics { orderCount netRevenue averageOrderValue lastPurchaseAt } } }`,
        variables: byValue,
        normalise: (d) => {
          const c = d.customerByIdentifier;
          const m = c.metrics;
          return { id: c.id, identifiers: identifiers(c.identifiers), orderCount: m.orderCount, netRevenue: decimal(m.netRevenue), averageOrderValue: m.averageOrderValue === null ? null : Number(m.averageOrderValue).toFixed(2), lastPurchaseAt: instant(m.lastPurchaseAt) };
        },
      },
      theirs: {
        // No average column: it is gross revenue over orders, which the client works out.
        query: `query W3($value: String!) { identifierByTypeAndValue(type: "CUSTOMER_ID", value: $value) { customerByCustomerId { id ${PG_IDENTIFIERS} orderCount netRevenue grossRevenue lastPurchaseAt } } }`,
        variables: byValue,
        normalise: (d) => {
          const c = d.identifierByTypeAndValue.customerByCustomerId;
          return {
            id: c.id,
            identifiers: theirIdentifiers(c.identifiersByCustomerIdList),
            orderCount: c.orderCount,
            netRevenue: decimal(c.netRevenue),
            averageOrderValue: c.orderCount ? (Math.round((Number(c.grossRevenue) / c.orderCount) * 100 + 1e-9) / 100).toFixed(2) : null,
            lastPurchaseAt: instant(c.lastPurchaseAt),
          };
        },
      },
    },
    { id: 'W1-1', title: 'W1 at 1 client', clients: 1, ...w1 },
  ];
}

const bodies = (side: Side) => side.variables.map((variables) => JSON.stringify({ query: side.query, variables }));

/** Newest first, ties by id, as both are asked for. */
function assertNewestFirst(list: Array<{ id: string; occurredAt: string | null }>, where: string): void {
  for (let i = 1; i < list.length; i++) {
    const [a, b] = [list[i - 1], list[i]];
    if (a.occurredAt! < b.occurredAt! || (a.occurredAt === b.occurredAt && a.id < b.id)) throw new Error(`${where}: interactions not newest first (${a.id} before ${b.id})`);
  }
}

/** Every request of the workload to both; the answers must agree. Returns the mean response sizes. */
async function verify(w: Workload, ours: Target, theirs: Target): Promise<{ ours: number; theirs: number }> {
  const [a, b] = [bodies(w.ours), bodies(w.theirs)];
  let [bytesOurs, bytesTheirs] = [0, 0];
  for (let i = 0; i < a.length; i++) {
    const [x, y] = await Promise.all([post(ours, a[i]), post(theirs, b[i])]);
    bytesOurs += x.bytes;
    bytesTheirs += y.bytes;
    const [mine, their] = [w.ours.normalise(x.data), w.theirs.normalise(y.data)];
    if (JSON.stringify(mine) !== JSON.stringify(their)) {
      throw new Error(`${w.id}: the two servers disagree for ${JSON.stringify(w.ours.variables[i])}\n  Customer Graph: ${JSON.stringify(mine)}\n  PostGraphile:   ${JSON.stringify(their)}`);
    }
    const profiles = (Array.isArray(mine) ? mine : [mine]) as Array<{ id: string; interactions?: Array<{ id: string; occurredAt: string | null }> }>;
    if (w.id === 'W2' && profiles.length !== 50) throw new Error(`W2: ${profiles.length} customers instead of 50`);
    for (const p of profiles) if (p.interactions) assertNewestFirst(p.interactions, `${w.id} ${p.id}`);
  }
  return { ours: Math.round(bytesOurs / a.length), theirs: Math.round(bytesTheirs / b.length) };
}

// ---------------------------------------------------------------------------------------------
// Runs

interface Run extends LoadResult {
  nodeTicks: number;
  /** Null when PostgreSQL is not on this machine. */
  pgTicks: number | null;
}

async function measure(target: Target, side: Side, clients: number, postmaster: number | null): Promise<Run> {
  const config: LoadConfig = { url: target.url, headers: target.headers, bodies: bodies(side), clients, seconds: SECONDS, warmupSeconds: WARMUP };
  const child = track(spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', path.join(__dirname, 'read-load.ts')], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] }));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  child.stdin!.end(JSON.stringify(config));
  let before: { node: number; pg: Map<number, number> } | null = null;
  let result: Run | null = null;
  let buffered = '';
  const read = () => ({ node: procStat(target.pid)?.ticks ?? NaN, pg: postmaster ? postgresTicks(postmaster, DATABASE) : new Map<number, number>() });
  child.stdout!.on('data', (d: Buffer) => {
    buffered += d.toString();
    let newline: number;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      const line = JSON.parse(buffered.slice(0, newline));
      buffered = buffered.slice(newline + 1);
      if (line.phase === 'measure') before = read();
      else if (before) {
        const after = read();
        result = { ...(line as LoadResult), nodeTicks: after.node - before.node, pgTicks: postmaster ? ticksBetween(before.pg, after.pg) : null };
      }
    }
  });
  const timeout = setTimeout(() => child.kill('SIGKILL'), (SECONDS + WARMUP + 120) * 1000);
  const code = await exited;
  clearTimeout(timeout);
  if (code !== 0 || !result) throw new Error(`the load generator failed (exit ${code}) against ${target.name}`);
  if (!alive(target.child)) throw new Error(`${target.name} died during the run:\n${target.output()}`);
  return result;
}

// ---------------------------------------------------------------------------------------------
// Figures

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};
const int = (x: number) => Math.round(x).toString();
const ms = (x: number) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));

function cpuPerRequest(runs: Run[]): string {
  const requests = runs.reduce((s, r) => s + r.requests, 0);
  const perRequest = (ticks: number) => ms((ticks * 1000) / CLK_TCK / Math.max(requests, 1));
  const node = perRequest(runs.reduce((s, r) => s + r.nodeTicks, 0));
  const pg = runs.some((r) => r.pgTicks === null) ? 'n/a' : perRequest(runs.reduce((s, r) => s + r.pgTicks!, 0));
  return `${node} + ${pg} ms`;
}

interface Outcome {
  workload: Workload;
  ours: Run[];
  theirs: Run[];
  bytes: { ours: number; theirs: number };
}

function table(outcomes: Outcome[]): string {
  const rows = [
    '| workload | clients | Customer Graph req/s (min–max) | PostGraphile req/s (min–max) | ours / theirs | p50 ms ours / theirs | p99 ms ours / theirs | CPU per request, ours: Node + PostgreSQL | theirs: Node + PostgreSQL | failed requests ours / theirs |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const { workload: w, ours, theirs } of outcomes) {
    const rate = (runs: Run[]) => `${int(median(runs.map((r) => r.rps)))} (${int(Math.min(...runs.map((r) => r.rps)))}–${int(Math.max(...runs.map((r) => r.rps)))})`;
    const ratio = median(ours.map((r) => r.rps)) / median(theirs.map((r) => r.rps));
    const p = (runs: Run[], key: 'p50' | 'p99') => ms(median(runs.map((r) => r[key])));
    const failed = (runs: Run[]) => runs.reduce((s, r) => s + r.errors + r.warmupErrors, 0);
    rows.push(
      `| ${w.id}: ${w.title} | ${w.clients} | ${rate(ours)} | ${rate(theirs)} | ${ratio.toFixed(2)} | ${p(ours, 'p50')} / ${p(theirs, 'p50')} | ${p(ours, 'p99')} / ${p(theirs, 'p99')} | ${cpuPerRequest(ours)} | ${cpuPerRequest(theirs)} | ${failed(ours)} / ${failed(theirs)} |`,
    );
  }
  return rows.join('\n');
}

function git(...argv: string[]): string | null {
  try {
    return execFileSync('git', argv, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

function command(): string {
  const given = process.argv.slice(2);
  return `npm run bench:read${given.length ? ` -- ${given.join(' ')}` : ''}`;
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const serverUrl = process.env.DATABASE_URL?.trim() || 'postgres://postgres@127.0.0.1:5432/postgres';
  const load = os.loadavg()[0];
  if (load > 0.5) log(`Note: load average ${load.toFixed(2)} before the start; other work on the machine skews both sides (the pairs are interleaved for that).`);

  const data = await prepareDatabase(serverUrl);
  const pgVersion = await withClient(data.url, async (c) => (await c.query('SHOW server_version')).rows[0].server_version as string);

  const scopes = readScopes();
  const dataSource = createDataSource(data.url);
  await dataSource.initialize();
  const { key, apiKey } = await new ApiKeyService(dataSource).create('bench read', scopes, UNLIMITED);
  await dataSource.destroy();
  cleanups.push(() => withClient(data.url, (c) => c.query('UPDATE api_key SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL', [apiKey.id])));

  const samples = await sample(data.url);
  const postmaster = await withClient(data.url, postmasterPid);
  if (!postmaster) log('PostgreSQL is not a process of this machine: its CPU is not measured.');

  // The API migrates at start; PostGraphile reads the schema once, so it starts after.
  const ours = await startCustomerGraph(data.url, key);
  const poolSize = loadConfig({ ...process.env, DATABASE_URL: data.url }).dbPoolSize;
  const theirs = await startPostGraphile(data.url, poolSize);
  await checkPostGraphileSchema(theirs);
  log(`Customer Graph at ${ours.url} (pid ${ours.pid}, key scopes ${scopes.join(',')}); PostGraphile ${packageVersion('postgraphile')} at ${theirs.url} (pid ${theirs.pid}); pools of ${poolSize}.`);

  const only = args.only?.split(',').map((s) => s.trim().toUpperCase());
  const chosen = workloads(samples, CLIENTS).filter((w) => !only || only.includes(w.id));
  if (!chosen.length) throw new Error(`--only: no workload among ${only!.join(', ')} (W1, W2, W3, W1-1)`);

  const verified = new Map<string, { ours: number; theirs: number }>();
  for (const w of chosen) {
    const query = w.ours.query;
    if (!verified.has(query)) {
      verified.set(query, await verify(w, ours, theirs));
      log(`${w.id}: both servers return the same data for all ${w.ours.variables.length} requests.`);
    }
  }

  const outcomes: Outcome[] = [];
  for (const w of chosen) {
    const outcome: Outcome = { workload: w, ours: [], theirs: [], bytes: verified.get(w.ours.query)! };
    for (let pair = 0; pair < PAIRS; pair++) {
      const order = pair % 2 === 0 ? (['ours', 'theirs'] as const) : (['theirs', 'ours'] as const);
      for (const side of order) {
        const target = side === 'ours' ? ours : theirs;
        const run = await measure(target, w[side], w.clients, postmaster);
        outcome[side].push(run);
        log(`${w.id} pair ${pair + 1}/${PAIRS} ${target.name.padEnd(14)} ${int(run.rps).padStart(6)} req/s  p50 ${ms(run.p50)} ms  p99 ${ms(run.p99)} ms  ${run.requests} requests`);
        if (run.errors || run.warmupErrors) {
          log(`\n!!! ${w.id} against ${target.name}: ${run.errors} of ${run.requests} measured requests FAILED (${run.warmupErrors} more in the warm-up). First ones:`);
          for (const sampleError of run.errorSamples) log(`!!!   ${sampleError}`);
          log('');
        }
      }
    }
    outcomes.push(outcome);
  }

  const failures = outcomes.reduce((s, o) => s + [...o.ours, ...o.theirs].reduce((t, r) => t + r.errors + r.warmupErrors, 0), 0);
  const rendered = table(outcomes);
  process.stdout.write(`\n${rendered}\n`);

  const head = git('rev-parse', '--short', 'HEAD');
  const dirty = git('status', '--porcelain');
  const runs = outcomes
    .map((o) => `${o.workload.id} ${o.ours.map((r) => int(r.rps)).join(', ')} / ${o.theirs.map((r) => int(r.rps)).join(', ')}`)
    .join('; ');
  const sizes = outcomes
    .filter((o, i) => outcomes.findIndex((p) => p.workload.ours.query === o.workload.ours.query) === i)
    .map((o) => `${o.workload.id} ${o.bytes.ours} / ${o.bytes.theirs}`)
    .join(', ');
  const section = [
    '',
    `## Reads against PostGraphile v4, ${new Date().toISOString()}`,
    '',
    `- Machine: ${machine()}; PostgreSQL ${pgVersion} on the same machine; load average ${load.toFixed(2)} at the start`,
    `- Command: \`${command()}\``,
    `- Data: database \`${DATABASE}\`, the Online Retail import as of ${AS_OF.toISOString().slice(0, 10)} (${data.customers} live customers, ${data.interactions} interactions), ANALYZEd; a sample of ${SAMPLE_SIZE} customers with interactions, cycled through by W1 and W3`,
    `- Customer Graph at ${head ?? 'unknown commit'}${dirty ? ' with uncommitted changes' : ''}, ${args.compiled ? '`node dist/src/index.js`' : '`npm start` (ts-node, transpile only)'}, NODE_ENV=production, a key with scopes ${scopes.join(',')}; PostGraphile ${packageVersion('postgraphile')} (graphql ${packageVersion('graphql')}, \`simpleCollections: 'only'\`), NODE_ENV=production; each with a pool of ${poolSize} connections`,
    `- Interleaved: per workload ${PAIRS} pair(s) of runs, the first of each pair alternating; each run ${WARMUP} s of warm-up, then ${SECONDS} s measured; ${CLIENTS} clients with keep-alive in a separate process on the same cores; every response checked (HTTP 200, no \`errors\`, no null root field)`,
    '',
    rendered,
    '',
    `Medians over the runs; ours / theirs is the ratio of the median rates. CPU per request: utime + stime from /proc of the server process, and of the PostgreSQL server's postmaster and every process it started, over the measured seconds of all runs, divided by the requests answered. Both servers run throughout, so the idle one's background work (the API's event relay polls once a second) is in the PostgreSQL figure of the one measured. Before any run, both answered every request of each workload with the same data (identifiers, interactions newest first, metrics).`,
    '',
    `Runs, req/s in order, ours / theirs: ${runs}. Mean response bytes, ours / theirs: ${sizes}.`,
    '',
  ].join('\n');

  if (failures) {
    log(`\n!!! ${failures} requests failed: the figures above are not valid and nothing was appended to ${args.out}.`);
    process.exitCode = 1;
  } else if (!args['no-write']) {
    fs.appendFileSync(args.out!, section);
    log(`Appended to ${args.out}`);
  }
}

main()
  .catch((err) => {
    console.error(err instanceof Error ? err.stack ?? err.message : err);
    process.exitCode = 1;
  })
  .finally(() => cleanUp().finally(() => process.exit(process.exitCode ?? 0)));
