/**
 * The floor under writes: what PostgreSQL alone does with the statements the server sends.
 *
 *   npm run bench:write-floor [-- --batches 20] [--singles 6000] [--copies 1] [--rounds 3] [--segments 5] [--client http|fetch]
 *                             [--out bench/RESULTS.md]
 *
 * 1. The API runs in this process on a fresh database (embedded PostgreSQL, or a new database on
 *    the server of DATABASE_URL, dropped at the end), with --segments of bench:ingest's saved
 *    segments defined (bench/segments.ts), so that every write keeps their memberships current. First `--batches` recordInteractions calls
 *    of 1,000 new people each (bench:ingest's (a): ANONYMOUS_ID + EMAIL, one in three a purchase)
 *    from 2 senders, then `--singles` recordInteraction calls of one new person each (bench:ingest's
 *    (c)) from 32 clients, all over HTTP. Every statement the server sends to PostgreSQL in each
 *    phase is recorded as it is sent, with its values: the write transactions (BEGIN … COMMIT) and,
 *    apart, what runs outside them (the live relay's reads of the event log and its NOTIFY,
 *    the value model's lookups; ANALYZE of the growing tables is recorded but not replayed).
 * 2. Each phase is replayed `--rounds` times by a plain `pg` client with the values serialized
 *    before the clock starts: the write transactions from as many connections as the server writes
 *    on at once (2 for batches; for single writes WRITE_COMBINE_IN_FLIGHT, the server combining
 *    the calls that queue, or the pool's 20 with WRITE_COMBINE_MAX=1), one statement after the other as the server
 *    sends them, with the identifiers, external ids and generated uuids replaced by new ones (every
 *    replay writes new people, as the original did); the statements outside transactions as
 *    recorded but ANALYZE, each connection's on a connection of its own, alongside (NOTIFY on another channel,
 *    so that the server's relay is not woken). That is the real write's statements, rows, indexes,
 *    constraints and commits, with no GraphQL, no HTTP, no validation, no identity resolution and
 *    no derivation in Node.
 *
 * 3. For single writes, in each round, the same 32 clients and bodies against a Node HTTP server
 *    that only reads the request, parses its JSON and answers a fixed result (a child process):
 *    what HTTP alone costs the server and the load generator.
 *
 * Printed and appended to --out, per phase: writes/s, and the CPU per interaction of the replay's
 * writing connections, of every PostgreSQL process (this database's backends and the server's own
 * processes, from /proc: PostgreSQL must run on this machine) and of this process. The replay's
 * rate is the most any server sending these statements could reach here; what two cores leave at
 * the brief's target after all of PostgreSQL's share is the budget for all of Node, and for single
 * writes the sum of PostgreSQL, sending the statements, bare HTTP and the load generator is the
 * least a request costs on this machine.
 */
import 'reflect-metadata';

import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';

import { Client } from 'pg';

import { loadConfig } from '../src/config';

import { freshServer, machine, type FreshServer } from './fresh-server';
import { jsonPoster, type ClientKind } from './http-client';
import { BATCH_MUTATION, interaction, newRunId, SINGLE_MUTATION } from './people';
import { CLK_TCK, cpuMs, postgresTicks, postmasterPid, ticksBetween } from './proc';
import { createSegments, segmentNames, SEGMENTS, type Operation } from './segments';

// The driver's own text serialization of a parameter (not in its typings), done before the replay's clock starts.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { prepareValue } = require('pg/lib/utils') as { prepareValue: (value: unknown) => unknown };

const BATCH = 1000;
const SENDERS = 2;
const SINGLE_CLIENTS = 32;
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;
const CORES = 2;

const { values } = parseArgs({
  options: {
    batches: { type: 'string', default: '20' },
    singles: { type: 'string', default: '6000' },
    copies: { type: 'string', default: '1' },
    rounds: { type: 'string', default: '3' },
    segments: { type: 'string', default: String(SEGMENTS.length) },
    client: { type: 'string', default: 'http' },
    out: { type: 'string', default: 'bench/RESULTS.md' },
  },
});
const count = (name: string, raw: string, min: number, max: number) => {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`--${name} must be an integer from ${min} to ${max}, got "${raw}"`);
  return n;
};
const batches = count('batches', values.batches!, 0, 1000);
const singles = count('singles', values.singles!, 0, 100_000);
const copies = count('copies', values.copies!, 1, 20);
const rounds = count('rounds', values.rounds!, 1, 20);
const segments = count('segments', values.segments!, 0, SEGMENTS.length);
if (batches + singles === 0) throw new Error('--batches and --singles are both 0: nothing to measure');
if (values.client !== 'http' && values.client !== 'fetch') throw new Error(`--client must be http or fetch, got "${values.client}"`);
const client = values.client as ClientKind;

interface Statement {
  text: string;
  values: unknown[] | null;
  /** The live relay's read of the event log: how many events it returned. */
  events?: number;
}

interface Recording {
  /** The write transactions, BEGIN … COMMIT, in the order they committed. */
  transactions: Statement[][];
  /** Per connection, what it sent outside a transaction. */
  loose: Statement[][];
  stop(): void;
}

/** Records every statement sent by any `pg` client of this process until `stop`. */
function record(): Recording {
  const proto = Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const original = proto.query;
  const open = new WeakMap<object, Statement[]>();
  const looseOf = new Map<object, Statement[]>();
  const transactions: Statement[][] = [];
  proto.query = function (this: object, config: unknown, ...rest: unknown[]) {
    const text = typeof config === 'string' ? config : (config as { text?: string })?.text;
    const params = typeof config === 'string' ? (Array.isArray(rest[0]) ? rest[0] : null) : ((config as { values?: unknown[] })?.values ?? null);
    if (typeof text === 'string') {
      if (text.startsWith('BEGIN')) open.set(this, []);
      const tx = open.get(this);
      if (tx) {
        tx.push({ text, values: params });
        if (text === 'COMMIT') {
          open.delete(this);
          transactions.push(tx);
        } else if (text === 'ROLLBACK') open.delete(this);
      } else {
        if (!looseOf.has(this)) looseOf.set(this, []);
        const statement: Statement = { text, values: params };
        looseOf.get(this)!.push(statement);
        const result = original.call(this, config, ...rest);
        if (relayRead(statement) && result instanceof Promise) {
          void result.then((r: { rows?: Array<{ xid: unknown }> }) => void (statement.events = r.rows?.filter((row) => row.xid !== null).length), () => undefined);
        }
        return result;
      }
    }
    return original.call(this, config, ...rest);
  };
  return {
    transactions,
    get loose() {
      return [...looseOf.values()];
    },
    stop: () => void (proto.query = original),
  };
}

/** The same transaction for other people: new uuids (but `keep`'s) and a new run tag, consistently. */
function renamed(tx: Statement[], tag: string, keep: Set<string>): Statement[] {
  const fresh = `${tag.slice(0, 2)}${randomBytes(8).toString('hex')}`.slice(0, tag.length);
  const ids = new Map<string, string>();
  const str = (s: string) =>
    s
      .replace(UUID, (u) => {
        if (keep.has(u)) return u;
        if (!ids.has(u)) ids.set(u, `${u.slice(0, 24)}${randomBytes(6).toString('hex')}`);
        return ids.get(u)!;
      })
      .split(tag)
      .join(fresh);
  const value = (v: unknown): unknown => (typeof v === 'string' ? str(v) : Array.isArray(v) ? v.map(value) : v);
  return tx.map((s) => ({ text: s.text, values: s.values && s.values.map(value) }));
}

type Prepared = string | { name: string; text: string; values: unknown[] };

/** A statement as the replay sends it: named (prepared once per connection), its values already text. */
const prepared = (s: Statement): Prepared =>
  s.values ? { name: `f_${createHash('sha1').update(s.text).digest('hex').slice(0, 16)}`, text: s.text, values: s.values.map((v) => prepareValue(v)) } : s.text;

/**
 * ANALYZE and the scheduler's read of the tables' statistics are left out of the replay: what they
 * cost depends on how large the tables are and how long the run lasts, not on the writes.
 */
const maintenance = (s: Statement) => /^ANALYZE\b/i.test(s.text) || s.text.includes('n_mod_since_analyze');
/** The live relay's read of the event log from a position ($1, $2), at most $3 events. */
const relayRead = (s: Statement) => s.text.includes('pg_current_snapshot()') && s.values?.length === 3;

/**
 * What a replay sends outside the transactions. A NOTIFY goes to a channel nobody listens on. A
 * relay read asks for as many events as it got when recorded (at least one): from the same
 * position the log now holds more, and the read would return a whole batch instead.
 */
function looseReplayed(s: Statement): Statement {
  if (/^NOTIFY /i.test(s.text)) return { text: `${s.text}_floor`, values: null };
  if (relayRead(s) && s.events !== undefined) return { text: s.text, values: [s.values![0], s.values![1], Math.max(1, s.events)] };
  return s;
}

const ownCpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/** CPU readings around a measured stretch: every PostgreSQL process of the database, and this process. */
function meter(postmaster: number, database: string) {
  const read = () => ({ pg: postgresTicks(postmaster, database), own: ownCpuMs(), at: performance.now() });
  const start = read();
  return () => {
    const end = read();
    return { ms: end.at - start.at, pgMs: (ticksBetween(start.pg, end.pg) * 1000) / CLK_TCK, ownMs: end.own - start.own };
  };
}

interface Phase {
  name: string;
  /** What the figures are per: an interaction of a batch, or a single write. */
  unit: 'interaction' | 'write';
  connections: number;
  target: number;
  api: { items: number; perSecond: number; pgMs: number; ownMs: number };
  transactions: Statement[][];
  /** Per connection, what it sent outside a transaction and the replay sends too. */
  loose: Statement[][];
  shape: string;
  looseShape: string;
  leftOut: string;
}

const head = (text: string) => text.trim().split(/\s+/).slice(0, 3).join(' ');
const tally = (statements: Statement[]) => {
  const counts = new Map<string, number>();
  for (const s of statements) counts.set(head(s.text), (counts.get(head(s.text)) ?? 0) + 1);
  return [...counts].map(([h, n]) => `${h} ×${n}`).join(', ') || 'none';
};

/** Sends `requests` bodies to `url` from `clients` concurrent senders (bench:ingest's client); every request must store `perRequest` interactions. */
async function load(url: string, key: string, spec: { name: string; requests: number; clients: number; perRequest: number; body(i: number): string }): Promise<void> {
  const poster = jsonPoster(url, { authorization: `Bearer ${key}` }, { kind: client, connections: spec.clients });
  try {
    let next = 0;
    await Promise.all(
      Array.from({ length: spec.clients }, async () => {
        for (let i = next++; i < spec.requests; i = next++) {
          const response = await poster.post(spec.body(i));
          const json = JSON.parse(response.text) as { data?: Record<string, { status: string } | Array<{ status: string }>>; errors?: unknown[] };
          const result = json.data ? Object.values(json.data)[0] : undefined;
          const created = (Array.isArray(result) ? result : result ? [result] : []).filter((r) => r.status === 'CREATED').length;
          if (created !== spec.perRequest) throw new Error(`${spec.name}: a request stored ${created} of ${spec.perRequest}: ${JSON.stringify(json.errors ?? json.data).slice(0, 300)}`);
        }
      }),
    );
  } finally {
    poster.close();
  }
}

// A Node HTTP server that does nothing but read the request, parse its JSON and answer what the API would.
const STUB = `
const http = require('node:http');
const answer = JSON.stringify({ data: { recordInteraction: { status: 'CREATED' } } });
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    JSON.parse(Buffer.concat(chunks).toString('utf8'));
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer) });
    res.end(answer);
  });
});
server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => process.stdout.write(server.address().port + '\\n'));`;

interface HttpFloor {
  perSecond: number;
  /** CPU per request of the stub server's process. */
  serverMs: number;
  /** CPU per request of this process: the load generator. */
  clientsMs: number;
}

/** The single-write load (same clients, same bodies) against STUB: what HTTP alone costs both ends. */
async function httpFloor(requests: number, run: string): Promise<HttpFloor> {
  const child = spawn(process.execPath, ['-e', STUB], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`the HTTP stub exited (${code}) before listening`)));
      child.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
    });
    const url = `http://127.0.0.1:${port}/graphql`;
    const spec = { name: 'HTTP stub', clients: SINGLE_CLIENTS, perRequest: 1, body: (i: number) => JSON.stringify({ query: SINGLE_MUTATION, variables: { input: interaction(run, 'h', i) } }) };
    await load(url, 'none', { ...spec, requests: Math.min(requests, 1000) });
    const server0 = cpuMs(child.pid!) ?? NaN;
    const own0 = ownCpuMs();
    const started = performance.now();
    await load(url, 'none', { ...spec, requests });
    const ms = performance.now() - started;
    return { perSecond: (requests / ms) * 1000, serverMs: ((cpuMs(child.pid!) ?? NaN) - server0) / requests, clientsMs: (ownCpuMs() - own0) / requests };
  } finally {
    child.kill();
  }
}

/** Sends `requests` bodies through the API from `clients` concurrent senders, recording what reaches PostgreSQL. */
async function throughApi(
  fresh: FreshServer,
  postmaster: number,
  database: string,
  spec: { name: string; unit: Phase['unit']; requests: number; clients: number; perRequest: number; connections: number; target: number; body(i: number): string },
): Promise<Phase> {
  const recording = record();
  const measured = meter(postmaster, database);
  await load(fresh.server.url, fresh.key, spec);
  recording.stop();
  const m = measured();
  const items = spec.requests * spec.perRequest;
  const transactions = recording.transactions;
  // A batch is one transaction; single writes may be combined, several to a transaction.
  if (spec.perRequest > 1 ? transactions.length !== spec.requests : transactions.length === 0 || transactions.length > spec.requests) {
    throw new Error(`${spec.name}: recorded ${transactions.length} write transactions for ${spec.requests} requests (${tally(transactions.map((t) => t[1] ?? t[0]))})`);
  }
  const recorded = recording.loose;
  const loose = recorded.map((statements) => statements.filter((s) => !maintenance(s))).filter((statements) => statements.length > 0);
  return {
    name: spec.name,
    unit: spec.unit,
    connections: spec.connections,
    target: spec.target,
    api: { items, perSecond: (items / m.ms) * 1000, pgMs: m.pgMs / items, ownMs: m.ownMs / items },
    transactions,
    loose,
    shape: `${transactions.length.toLocaleString('en')} for ${spec.requests.toLocaleString('en')} requests; the first: ${transactions[0].map((s) => head(s.text)).join(' | ')}`,
    looseShape: tally(loose.flat()),
    leftOut: tally(recorded.flat().filter(maintenance)),
  };
}

interface Replay {
  perSecond: number;
  writersMs: number;
  othersMs: number;
  pgMs: number;
  ownMs: number;
}

/** Replays a phase's statements from plain connections, PostgreSQL only. */
async function replay(phase: Phase, url: string, postmaster: number, database: string, tag: string, keep: Set<string>): Promise<Replay> {
  const connect = async () => {
    const client = new Client({ connectionString: url });
    await client.connect();
    return { client, pid: (await client.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number };
  };
  const writers = await Promise.all(Array.from({ length: phase.connections }, connect));
  const others = await Promise.all(phase.loose.map(connect));
  try {
    const jobs = Array.from({ length: copies }, () => phase.transactions.map((tx) => renamed(tx, tag, keep).map(prepared))).flat();
    const looseJobs = phase.loose.map((statements) => Array.from({ length: copies }, () => statements.map((s) => prepared(looseReplayed(s)))).flat());
    const writers0 = writers.map((w) => cpuMs(w.pid) ?? NaN);
    const others0 = others.map((w) => cpuMs(w.pid) ?? NaN);
    const measured = meter(postmaster, database);
    let job = 0;
    await Promise.all([
      ...writers.map(async ({ client }) => {
        for (let j = job++; j < jobs.length; j = job++) for (const statement of jobs[j]) await client.query(statement as never);
      }),
      ...others.map(async ({ client }, i) => {
        for (const statement of looseJobs[i]) await client.query(statement as never);
      }),
    ]);
    const m = measured();
    const items = copies * phase.api.items;
    return {
      perSecond: (items / m.ms) * 1000,
      writersMs: writers.reduce((sum, w, i) => sum + (cpuMs(w.pid) ?? NaN) - writers0[i], 0) / items,
      othersMs: others.reduce((sum, w, i) => sum + (cpuMs(w.pid) ?? NaN) - others0[i], 0) / items,
      pgMs: m.pgMs / items,
      ownMs: m.ownMs / items,
    };
  } finally {
    await Promise.all([...writers, ...others].map(({ client }) => client.end()));
  }
}

function report(phase: Phase, replays: Replay[], http: HttpFloor[]): string {
  const budget = (pgMs: number) => ((CORES * 1000) / phase.target - pgMs).toFixed(3);
  const unit = phase.unit;
  return [
    `### ${phase.name}`,
    '',
    `- Write transactions recorded: ${phase.shape}.`,
    `- Outside the transactions, replayed alongside: ${phase.looseShape}; left out: ${phase.leftOut}.`,
    '',
    `| what ran | interactions | interactions/s | CPU ms per ${unit}: the writing connections | the other connections | every PostgreSQL process | this process | left for all of Node at ${phase.target.toLocaleString('en')}/s on ${CORES} cores, ms per ${unit} |`,
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    `| through the API (server and clients in this process), recorded | ${phase.api.items.toLocaleString('en')} | ${Math.round(phase.api.perSecond).toLocaleString('en')} | | | ${phase.api.pgMs.toFixed(3)} | ${phase.api.ownMs.toFixed(3)} | |`,
    ...replays.map(
      (r, i) =>
        `| replay ${i + 1}: PostgreSQL only, ${phase.connections} connections | ${(copies * phase.api.items).toLocaleString('en')} | ${Math.round(r.perSecond).toLocaleString('en')} | ${r.writersMs.toFixed(3)} | ${r.othersMs.toFixed(3)} | ${r.pgMs.toFixed(3)} | ${r.ownMs.toFixed(3)} | ${budget(r.pgMs)} |`,
    ),
    '',
    ...(http.length
      ? [
          `The least any Node server sending these statements spends, next to PostgreSQL: the replay's client (sending the statements, reading their results) and, in each round, the same ${SINGLE_CLIENTS} clients and bodies against a Node HTTP server that only reads the request, parses its JSON and answers a fixed result (${Math.round(Math.min(...http.map((h) => h.perSecond))).toLocaleString('en')}–${Math.round(Math.max(...http.map((h) => h.perSecond))).toLocaleString('en')} requests/s). CPU ms per write:`,
          '',
          `| round | every PostgreSQL process | sending the statements (replay client) | the bare HTTP server | the load generator (${SINGLE_CLIENTS} ${client === 'http' ? 'node:http' : 'fetch'} clients) | sum | ${CORES} cores at ${phase.target.toLocaleString('en')}/s |`,
          '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
          ...replays.map((r, i) => {
            const h = http[i];
            return `| ${i + 1} | ${r.pgMs.toFixed(3)} | ${r.ownMs.toFixed(3)} | ${h.serverMs.toFixed(3)} | ${h.clientsMs.toFixed(3)} | ${(r.pgMs + r.ownMs + h.serverMs + h.clientsMs).toFixed(3)} | ${((CORES * 1000) / phase.target).toFixed(3)} |`;
          }),
          '',
        ]
      : []),
  ].join('\n');
}

/** Defines the saved segments through the API with the bench's admin key, on a connection of its own. */
async function defineSegments(fresh: FreshServer, runId: string): Promise<void> {
  const poster = jsonPoster(fresh.server.url, { authorization: `Bearer ${fresh.key}` }, { kind: client, connections: 1 });
  const operation: Operation = async (query, variables) => {
    const json = JSON.parse((await poster.post(JSON.stringify({ query, variables }))).text) as { data?: unknown; errors?: Array<{ message: string }> };
    if (json.errors?.length) throw new Error(json.errors.map((e) => e.message).join('; '));
    return json.data as never;
  };
  try {
    await createSegments(operation, segments, runId);
  } finally {
    poster.close();
  }
}

async function main(): Promise<void> {
  const fresh = await freshServer('floor');
  const url = (fresh.dataSource.options as unknown as { url: string }).url;
  const poolSize = (fresh.dataSource.options as unknown as { poolSize?: number }).poolSize ?? 20;
  const run = newRunId();
  const combine = loadConfig({ ...process.env, LOG_LEVEL: 'silent' }).writeCombine;
  try {
    const probe = new Client({ connectionString: url });
    await probe.connect();
    const postmaster = await postmasterPid(probe);
    const database = (await probe.query('SELECT current_database() AS db')).rows[0].db as string;
    const settings = (await probe.query(`SELECT string_agg(name || ' = ' || current_setting(name), ', ' ORDER BY name) AS s FROM pg_settings WHERE name IN ('autovacuum', 'fsync', 'synchronous_commit', 'shared_buffers', 'max_wal_size')`)).rows[0].s as string;
    const version = (await probe.query('SHOW server_version')).rows[0].server_version as string;
    await probe.end();
    if (!postmaster) throw new Error('PostgreSQL is not a process of this machine: its CPU cannot be read from /proc');
    await defineSegments(fresh, run);

    // 1. Through the API, recording. Batches first: the single writes then meet analyzed tables.
    const phases: Phase[] = [];
    if (batches) {
      phases.push(
        await throughApi(fresh, postmaster, database, {
          name: `Batches: recordInteractions, ${BATCH.toLocaleString('en')} new people per call, ${SENDERS} senders (target 10,000 interactions/s)`,
          unit: 'interaction',
          requests: batches,
          clients: SENDERS,
          perRequest: BATCH,
          connections: SENDERS,
          target: 10_000,
          body: (b) => JSON.stringify({ query: BATCH_MUTATION, variables: { inputs: Array.from({ length: BATCH }, (_, i) => interaction(run, 'a', b * BATCH + i)) } }),
        }),
      );
    }
    if (singles) {
      phases.push(
        await throughApi(fresh, postmaster, database, {
          name: `Single writes: recordInteraction, one new person per call, ${SINGLE_CLIENTS} clients (target 1,500 requests/s)`,
          unit: 'write',
          requests: singles,
          clients: SINGLE_CLIENTS,
          perRequest: 1,
          // As many at once as the server writes them: the pool's worth alone, or its combined writes in flight.
          connections: combine.maxItems > 1 ? combine.maxInFlight : poolSize,
          target: 1_500,
          body: (i) => JSON.stringify({ query: SINGLE_MUTATION, variables: { input: interaction(run, 'c', i) } }),
        }),
      );
    }

    // 2. Replays, PostgreSQL only, interleaved across the phases.
    // The key and the segments stay what they are: the replayed writes keep the same memberships current.
    const keep = new Set<string>((await fresh.dataSource.query(`SELECT id::text FROM api_key UNION ALL SELECT id::text FROM segment`)).map((r: { id: string }) => r.id));
    const replays = phases.map(() => [] as Replay[]);
    const http: HttpFloor[] = [];
    for (let round = 0; round < rounds; round++) {
      for (const [i, phase] of phases.entries()) replays[i].push(await replay(phase, url, postmaster, database, run, keep));
      if (singles) http.push(await httpFloor(singles, run));
    }

    // 3. Report.
    const text = [
      `## The floor under writes (\`npm run bench:write-floor\`), ${new Date().toISOString()}`,
      '',
      `- Machine: ${machine()}; ${fresh.database} ${version}, a new database (${settings}).`,
      `- Command: \`npm run bench:write-floor -- --batches ${batches} --singles ${singles} --copies ${copies} --rounds ${rounds} --segments ${segments} --client ${client}\``,
      `- Single writes of one key combined: WRITE_COMBINE_MAX=${combine.maxItems}, WRITE_COMBINE_IN_FLIGHT=${combine.maxInFlight}.`,
      `- Saved segments kept current by every write: ${segmentNames(segments)}.`,
      '',
      ...phases.map((phase, i) => report(phase, replays[i], phase.unit === 'write' ? http : [])),
      '"The other connections" replay what the server sent outside its write transactions (the live',
      'relay\'s reads of the event log and its NOTIFY, the value model\'s lookups); "every PostgreSQL',
      'process" is those, the writing connections, the idle server\'s connections and PostgreSQL\'s own',
      'processes (WAL writer, checkpointer, autovacuum). The replay sends the recorded statements with',
      'their values already serialized, each transaction\'s one after the other as the server does:',
      'PostgreSQL does all of its work for the writes (parsing the parameters, the rows, the indexes,',
      'the foreign keys, the commits, the relay\'s reads), and Node none of its own. ANALYZE is left out',
      '(through the API it is in "every PostgreSQL process"). The last column is what two cores leave',
      'at the target once every PostgreSQL process has had its share, for everything else (HTTP,',
      'GraphQL, validation, identity, derivation, serializing and sending the statements, the load',
      'generator).',
      '',
    ].join('\n');
    console.log(text);
    fs.appendFileSync(path.resolve(values.out!), `\n${text}`);
    console.log(`Appended to ${values.out}`);
  } finally {
    await fresh.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
