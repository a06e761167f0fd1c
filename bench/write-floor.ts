/**
 * The floor under batched writes: what PostgreSQL alone does with the statements the server sends.
 *
 *   npm run bench:write-floor [-- --batches 20] [--copies 1] [--rounds 3] [--out bench/RESULTS.md]
 *
 * 1. The API runs in this process on a fresh database (embedded PostgreSQL, or a new database on
 *    the server of DATABASE_URL, dropped at the end). `--batches` recordInteractions calls of 1,000
 *    new people each (ANONYMOUS_ID + EMAIL, one in three a purchase: bench:ingest's (a)) are sent
 *    over HTTP by 2 senders, and every transaction the write path runs on its pooled connection
 *    is recorded as it is sent to PostgreSQL (BEGIN … COMMIT, each statement with its values).
 * 2. Those transactions are replayed `--rounds` times from 2 connections of a plain `pg` client
 *    (the identifiers, external ids and generated uuids replaced by new ones, so every replay
 *    writes new people as the original did; the values serialized before the clock starts):
 *    the statements, rows, indexes, constraints and commits of the real write, with no GraphQL,
 *    no HTTP, no validation, no identity resolution and no derivation in Node.
 *
 * Printed and appended to --out: interactions/s, and the CPU per interaction of the PostgreSQL
 * backends (read from /proc: PostgreSQL must run on this machine) and of this process. The
 * replay's rate is the most any server sending these statements could reach here; what is left
 * of two cores at 10,000 interactions/s after PostgreSQL's share is the budget for all of Node.
 */
import 'reflect-metadata';

import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';

import { Client } from 'pg';

import { freshServer, machine } from './fresh-server';
import { cpuMs } from './proc';

// The driver's own text serialization of a parameter (not in its typings), done before the replay's clock starts.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { prepareValue } = require('pg/lib/utils') as { prepareValue: (value: unknown) => unknown };

const BATCH = 1000;
const SENDERS = 2;
const BATCH_MUTATION = 'mutation Floor($inputs: [RecordInteractionInput!]!) { recordInteractions(inputs: $inputs) { status } }';
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;

const { values } = parseArgs({
  options: {
    batches: { type: 'string', default: '20' },
    copies: { type: 'string', default: '1' },
    rounds: { type: 'string', default: '3' },
    out: { type: 'string', default: 'bench/RESULTS.md' },
  },
});
const positive = (name: string, raw: string, max: number) => {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new Error(`--${name} must be an integer from 1 to ${max}, got "${raw}"`);
  return n;
};
const batches = positive('batches', values.batches!, 1000);
const copies = positive('copies', values.copies!, 20);
const rounds = positive('rounds', values.rounds!, 20);

interface Statement {
  text: string;
  values: unknown[] | null;
}

/** CPU so far of each backend connected to the benchmark's database (pid → ms). */
async function backendsCpu(query: (sql: string) => Promise<Array<{ pid: number }>>): Promise<Map<number, number>> {
  const rows = await query(`SELECT pid FROM pg_stat_activity WHERE datname = current_database()`);
  const cpu = new Map<number, number>();
  for (const { pid } of rows) {
    const ms = cpuMs(pid);
    if (ms !== null) cpu.set(pid, ms);
  }
  return cpu;
}
/** CPU the backends spent between two readings (a backend that started in between counts from zero). */
const spent = (before: Map<number, number>, after: Map<number, number>) => [...after].reduce((sum, [pid, ms]) => sum + ms - (before.get(pid) ?? 0), 0);
const ownCpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/** Records, per connection, the transactions that write a whole batch (those with a parameter array of BATCH values or more). */
function recordTransactions(): { recorded: Statement[][]; stop(): void } {
  const proto = Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const original = proto.query;
  const open = new WeakMap<object, Statement[]>();
  const recorded: Statement[][] = [];
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
          if (tx.some((s) => s.values?.some((v) => Array.isArray(v) && v.length >= BATCH))) recorded.push(tx);
        } else if (text === 'ROLLBACK') open.delete(this);
      }
    }
    return original.call(this, config, ...rest);
  };
  return { recorded, stop: () => void (proto.query = original) };
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

async function main(): Promise<void> {
  const fresh = await freshServer('floor');
  const url = (fresh.dataSource.options as unknown as { url: string }).url;
  const endpoint = fresh.server.url;
  const tag = `fl${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  try {
    // 1. Through the API, recording.
    const recording = recordTransactions();
    const inputs = (batch: number) =>
      Array.from({ length: BATCH }, (_, i) => {
        const n = batch * BATCH + i;
        const purchase = n % 3 === 2;
        return {
          externalId: `${tag}-x-${n}`,
          channel: n % 2 === 0 ? 'WEB' : 'APP',
          type: purchase ? 'PURCHASE' : 'PAGE_VIEW',
          identifiers: [
            { type: 'ANONYMOUS_ID', value: `anon-${tag}-${n}` },
            { type: 'EMAIL', value: `${tag}-${n}@floor.customer-graph.example` },
          ],
          ...(purchase ? { amount: '19.99', currency: 'EUR' } : {}),
        };
      });
    let next = 0;
    const backends = () => backendsCpu((sql) => fresh.dataSource.query(sql));
    const apiPg0 = await backends();
    const apiOwn0 = ownCpuMs();
    const apiStarted = performance.now();
    await Promise.all(
      Array.from({ length: SENDERS }, async () => {
        for (let b = next++; b < batches; b = next++) {
          const response = await fetch(endpoint, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${fresh.key}` },
            body: JSON.stringify({ query: BATCH_MUTATION, variables: { inputs: inputs(b) } }),
          });
          const json = (await response.json()) as { data?: { recordInteractions: Array<{ status: string }> }; errors?: unknown[] };
          const created = json.data?.recordInteractions.filter((r) => r.status === 'CREATED').length ?? 0;
          if (created !== BATCH) throw new Error(`a batch stored ${created} of ${BATCH}: ${JSON.stringify(json.errors ?? json.data).slice(0, 300)}`);
        }
      }),
    );
    const apiMs = performance.now() - apiStarted;
    const apiPgMs = spent(apiPg0, await backends()) / (batches * BATCH);
    const apiOwnMs = (ownCpuMs() - apiOwn0) / (batches * BATCH);
    recording.stop();
    if (recording.recorded.length !== batches) throw new Error(`recorded ${recording.recorded.length} batch transactions, expected ${batches}`);
    const shape = recording.recorded[0].map((s) => s.text.split(/\s+/).slice(0, 3).join(' ')).join(' | ');

    // 2. Replays, PostgreSQL only.
    const keep = new Set<string>((await fresh.dataSource.query(`SELECT id::text FROM api_key`)).map((r: { id: string }) => r.id));
    const clients: Array<{ client: Client; pid: number }> = [];
    for (let i = 0; i < SENDERS; i++) {
      const client = new Client({ connectionString: url });
      await client.connect();
      clients.push({ client, pid: (await client.query('SELECT pg_backend_pid() AS pid')).rows[0].pid });
    }
    const replays: Array<{ perSecond: number; pgMs: number; allPgMs: number; clientMs: number }> = [];
    for (let round = 0; round < rounds; round++) {
      const jobs = Array.from({ length: copies }, () => recording.recorded.map((tx) => renamed(tx, tag, keep))).flat();
      const prepared = jobs.map((tx) =>
        tx.map((s) => (s.values ? { name: `f_${createHash('sha1').update(s.text).digest('hex').slice(0, 16)}`, text: s.text, values: s.values.map((v) => prepareValue(v)) } : s.text)),
      );
      const pg0 = clients.map((c) => cpuMs(c.pid) ?? NaN);
      const allPg0 = await backends();
      const own0 = ownCpuMs();
      const started = performance.now();
      let job = 0;
      await Promise.all(
        clients.map(async ({ client }) => {
          for (let j = job++; j < prepared.length; j = job++) for (const statement of prepared[j]) await client.query(statement as never);
        }),
      );
      const ms = performance.now() - started;
      const items = prepared.length * BATCH;
      replays.push({
        perSecond: (items / ms) * 1000,
        pgMs: clients.reduce((sum, c, i) => sum + (cpuMs(c.pid) ?? NaN) - pg0[i], 0) / items,
        allPgMs: spent(allPg0, await backends()) / items,
        clientMs: (ownCpuMs() - own0) / items,
      });
    }
    for (const { client } of clients) await client.end();

    // 3. Report.
    const at = new Date().toISOString();
    const budget = (pgMs: number) => 2 / 10_000 * 1000 - pgMs;
    const rows = replays.map(
      (r, i) =>
        `| replay ${i + 1}: PostgreSQL only, 2 connections | ${(copies * batches * BATCH).toLocaleString('en')} | ${Math.round(r.perSecond).toLocaleString('en')} | ${r.pgMs.toFixed(3)} | ${r.allPgMs.toFixed(3)} | ${r.clientMs.toFixed(3)} | ${budget(r.pgMs).toFixed(3)} |`,
    );
    const text = [
      `## The floor under batched writes (\`npm run bench:write-floor\`), ${at}`,
      '',
      `- Machine: ${machine()}; ${fresh.database}, a new database.`,
      `- Command: \`npm run bench:write-floor -- --batches ${batches} --copies ${copies} --rounds ${rounds}\``,
      `- Each recorded transaction: ${shape}.`,
      '',
      '| what ran | interactions | interactions/s | CPU ms per interaction: the writing backends | all backends of the database | this process | left for all of Node at 10,000/s on 2 cores, ms per interaction |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
      `| through the API (server and senders in this process), recorded | ${(batches * BATCH).toLocaleString('en')} | ${Math.round((batches * BATCH) / (apiMs / 1000)).toLocaleString('en')} | | ${apiPgMs.toFixed(3)} | ${apiOwnMs.toFixed(3)} | |`,
      ...rows,
      '',
      '"All backends of the database" also counts the server\'s other connections (the live relay,',
      'ANALYZE on the analytics pool), not PostgreSQL\'s own processes (WAL writer, checkpointer). The replay sends the recorded statements with their values already serialized: PostgreSQL does',
      'all of its work for the batch (parsing the parameters, the rows, the indexes, the foreign keys,',
      'the commit), and Node none of its own. The last column is what two cores leave per interaction',
      'at 10,000/s once PostgreSQL has had its share, for everything else (HTTP, GraphQL, validation,',
      'identity, derivation, serializing the statement, the live relay, ANALYZE, the load generator).',
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
