/**
 * lifecycleDistribution(asOf) over a million customers.
 *
 *   npm run bench:distribution [-- --customers 1000000] [--repeat 7] [--old] [--out bench/RESULTS.md] [--no-write]
 *
 * 1. The database `cg_bench_distribution` on the server of DATABASE_URL (default: the local
 *    PostgreSQL on 5432) is built once and reused while its customer count, generator version and
 *    migration fingerprints (the database's comment) are unchanged. Its histories are generated
 *    (seeded, so every build is the same) and derived by the product's own lifecycle code
 *    (`evaluateLifecycle`, as a sweep as of DATA_AS_OF would), then written with bulk SQL: customer
 *    rows with their derived columns, their interactions and their transitions, 1 % of the
 *    customers merged into another one (their rows and transitions stay, as merges leave them),
 *    3 % without any interaction (identify only). The transitions are then put in time order
 *    (CLUSTER), as live writes store them, and VACUUM ANALYZE does what autovacuum would have
 *    done by then (this machine runs with it off).
 * 2. The API runs in this process on that database; each asOf (now, recent, mid-history, early) is
 *    asked once unmeasured, then `repeat` times: median and range of the request's time.
 *    A fifth asOf is the slowest one for this form: where either side of it costs the same to read.
 * 3. EXPLAIN ANALYZE of the statement each asOf runs, and with --old the per-customer look-up
 *    the distribution used before (once per asOf, straight on PostgreSQL, after all the rest), for
 *    comparison.
 */
import 'reflect-metadata';

import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

import { Client } from 'pg';

import { call } from '../src/cli/import';
import { loadConfig } from '../src/config';
import { createDataSource } from '../src/data-source';
import { uuidv7 } from '../src/db/uuid';
import { ApiKeyService } from '../src/modules/access/api-key.service';
import { Scope } from '../src/modules/access/scope.enum';
import { evaluateLifecycle, type LifecycleTouch } from '../src/modules/lifecycle/lifecycle-outcome';
import { stageAtJoin, stageCountsSql, type CountedSide } from '../src/modules/lifecycle/stage-at';
import { DAY_MS } from '../src/modules/shared/time';
import { startServer } from '../src/server';
import { databaseComment, databaseUrl, migrationFingerprints, withClient } from './database';
import { machine, UNLIMITED } from './fresh-server';

const DATABASE = 'cg_bench_distribution';
/** Bumped whenever the generated data changes: the database is then rebuilt. */
const GENERATOR = 2;
const HISTORY_START = Date.UTC(2020, 0, 1);
/** The instant the generated base was last swept at. */
const DATA_AS_OF = Date.UTC(2025, 11, 1);
const CHUNK = 5000;

const { values: args } = parseArgs({
  options: {
    customers: { type: 'string', default: '1000000' },
    repeat: { type: 'string', default: '7' },
    old: { type: 'boolean', default: false },
    out: { type: 'string', default: path.join(__dirname, 'RESULTS.md') },
    'no-write': { type: 'boolean', default: false },
  },
});
const CUSTOMERS = Number(args.customers);
const REPEAT = Number(args.repeat);
if (!Number.isInteger(CUSTOMERS) || CUSTOMERS < 1000) throw new Error('--customers must be an integer of at least 1000');
if (!Number.isInteger(REPEAT) || REPEAT < 1) throw new Error('--repeat must be a positive integer');

const log = (line: string) => process.stderr.write(`${line}\n`);

const serverUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

function fingerprint(): string {
  const parts = Object.entries(migrationFingerprints()).map(([name, hash]) => `${name}:${hash}`);
  return JSON.stringify({ builtBy: 'bench/lifecycle-distribution.ts', generator: GENERATOR, customers: CUSTOMERS, migrations: parts });
}

// ---------------------------------------------------------------------------------------------
// Generated histories

/** mulberry32: a small seeded generator, so that every build holds the same data. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Touch extends LifecycleTouch {
  channel: string;
}

/**
 * One customer's interactions: first seen at a time that grows denser towards the present (a
 * growing business), then purchases at a rate of its own, sometimes a referral, a survey, an
 * account closed; 15 % only ever browse, 3 % never interact (created by identify).
 */
function history(rnd: () => number): { createdAt: number; touches: Touch[] } {
  const span = DATA_AS_OF - HISTORY_START;
  const createdAt = HISTORY_START + Math.floor(span * Math.pow(rnd(), 1 / 1.5));
  const kind = rnd();
  if (kind < 0.03) return { createdAt, touches: [] };
  const touches: Touch[] = [];
  const add = (type: string, at: number, extra: Partial<Touch> = {}) =>
    touches.push({ interactionId: uuidv7(at), type, channel: rnd() < 0.6 ? 'WEB' : 'STORE', at, amount: null, npsScore: null, ...extra });
  let t = createdAt;
  if (kind < 0.18 || rnd() < 0.5) add('PAGE_VIEW', t);
  if (kind < 0.18) {
    for (let v = Math.floor(rnd() * 3); v > 0 && t < DATA_AS_OF; v--) add('PAGE_VIEW', (t += Math.floor(rnd() * 20 * DAY_MS)));
    return { createdAt, touches: touches.filter((x) => x.at <= DATA_AS_OF) };
  }
  // Mean gap between purchases: 15 to 200 days; 1 to 25 purchases (geometric).
  const meanGap = (15 + rnd() * 185) * DAY_MS;
  let purchases = 1;
  while (purchases < 25 && rnd() < 0.62) purchases++;
  for (let p = 0; p < purchases; p++) {
    if (p > 0) t += Math.floor(-Math.log(1 - rnd()) * meanGap);
    if (t > DATA_AS_OF) break;
    add('PURCHASE', t, { amount: (5 + Math.floor(rnd() * 30000) / 100).toFixed(2) });
    if (rnd() < 0.02) add('REFERRAL', t + 3_600_000);
    if (rnd() < 0.03) add('SURVEY_RESPONSE', t + 86_400_000, { npsScore: Math.floor(rnd() * 11) });
  }
  if (rnd() < 0.01) add('ACCOUNT_CLOSED', t + Math.floor(rnd() * 200 * DAY_MS));
  const kept = touches.filter((x) => x.at <= DATA_AS_OF);
  kept.sort((a, b) => a.at - b.at || (a.interactionId < b.interactionId ? -1 : 1));
  return { createdAt, touches: kept };
}

async function build(url: string): Promise<void> {
  const dataSource = createDataSource(url);
  await dataSource.initialize();
  const thresholds = loadConfig({ ...process.env, DATABASE_URL: url }).lifecycle;
  try {
    await dataSource.runMigrations({ transaction: 'each' });
    const { apiKey } = await new ApiKeyService(dataSource, 0).create('bench distribution: generated interactions', [Scope.WRITE]);
    await new ApiKeyService(dataSource, 0).revoke(apiKey.id);
    const rnd = random(20251201);
    const ids: string[] = [];
    const started = Date.now();
    let transitions = 0;
    let interactions = 0;
    for (let from = 0; from < CUSTOMERS; from += CHUNK) {
      const customers: unknown[][] = [];
      const touchRows: unknown[][] = [];
      const transitionRows: unknown[][] = [];
      for (let i = from; i < Math.min(CUSTOMERS, from + CHUNK); i++) {
        const { createdAt, touches } = history(rnd);
        const id = uuidv7(createdAt);
        ids.push(id);
        // 1 % merged into an earlier customer: tombstones keep their derived columns and transitions.
        const merged = i > 100 && touches.length > 0 && rnd() < 0.01 ? ids[Math.floor(rnd() * (i - 1))] : null;
        const o = evaluateLifecycle(
          {
            customerId: id,
            evaluatedAt: null,
            events: touches.filter((x) => x.type !== 'PAGE_VIEW').map((x) => ({ interactionId: x.interactionId, at: x.at, type: x.type as never, amount: x.amount, npsScore: x.npsScore })),
            first: touches.length ? { at: touches[0].at, interactionId: touches[0].interactionId } : null,
            lastInteractionAt: touches.length ? touches[touches.length - 1].at : null,
            stored: [],
          },
          thresholds,
          touches.length ? DATA_AS_OF : undefined,
        );
        const updatedAt = touches.length ? touches[touches.length - 1].at : createdAt;
        customers.push([id, new Date(createdAt), new Date(updatedAt), merged, o.stage, o.stageSince, o.evaluatedAt, o.nextEvaluationAt, o.orderCount, o.grossRevenue, o.refunds, o.netRevenue, o.firstPurchaseAt, o.lastPurchaseAt, o.lastInteractionAt, o.lastNpsScore]);
        for (const x of touches) touchRows.push([x.interactionId, x.channel, x.type, new Date(x.at), x.amount, x.amount === null ? null : 'EUR', x.npsScore, id]);
        for (const tr of o.insertTransitions) transitionRows.push([tr.id, id, tr.from, tr.to, new Date(tr.at), tr.rule, tr.ruleName, tr.causeInteractionId, JSON.stringify(tr.facts)]);
      }
      const col = (rows: unknown[][], k: number) => rows.map((r) => r[k]);
      await dataSource.query(
        `INSERT INTO customer (id, created_at, updated_at, merged_into_id, stage, stage_since, evaluated_at, next_evaluation_at, order_count, gross_revenue, refunds, net_revenue,
                               first_purchase_at, last_purchase_at, last_interaction_at, last_nps_score)
         SELECT * FROM unnest($1::uuid[], $2::timestamptz[], $3::timestamptz[], $4::uuid[], $5::varchar[], $6::timestamptz[], $7::timestamptz[], $8::timestamptz[], $9::int[],
                              $10::numeric[], $11::numeric[], $12::numeric[], $13::timestamptz[], $14::timestamptz[], $15::timestamptz[], $16::smallint[])`,
        Array.from({ length: 16 }, (_, k) => col(customers, k)),
      );
      await dataSource.query(
        `INSERT INTO interaction (id, channel, type, occurred_at, received_at, amount, currency, nps_score, customer_id, api_key_id)
         SELECT u.id, u.channel, u.type, u.at, u.at, u.amount, u.currency, u.nps, u.customer_id, $9
           FROM unnest($1::uuid[], $2::varchar[], $3::varchar[], $4::timestamptz[], $5::numeric[], $6::char(3)[], $7::smallint[], $8::uuid[])
             AS u(id, channel, type, at, amount, currency, nps, customer_id)`,
        [...Array.from({ length: 8 }, (_, k) => col(touchRows, k)), apiKey.id],
      );
      await dataSource.query(
        `INSERT INTO lifecycle_transition (id, customer_id, from_stage, to_stage, at, rule_number, rule_name, cause_interaction_id, facts, recorded_at)
         SELECT u.*, u.at FROM unnest($1::uuid[], $2::uuid[], $3::varchar[], $4::varchar[], $5::timestamptz[], $6::smallint[], $7::varchar[], $8::uuid[], $9::jsonb[])
           AS u(id, customer_id, from_stage, to_stage, at, rule_number, rule_name, cause_interaction_id, facts)`,
        Array.from({ length: 9 }, (_, k) => col(transitionRows, k)),
      );
      transitions += transitionRows.length;
      interactions += touchRows.length;
      if ((from / CHUNK) % 20 === 19) log(`  ${from + CHUNK} customers, ${interactions} interactions, ${transitions} transitions (${((Date.now() - started) / 1000).toFixed(0)} s)`);
    }
    // Live writes store transitions as time passes: in time order, not customer by customer.
    log(`  CLUSTER lifecycle_transition in time order, VACUUM ANALYZE…`);
    await dataSource.query('CLUSTER lifecycle_transition USING lifecycle_transition_at_idx');
    await dataSource.query('VACUUM ANALYZE');
    const comment = fingerprint().replace(/'/g, "''");
    await dataSource.query(`COMMENT ON DATABASE ${DATABASE} IS '${comment}'`);
    log(`  built in ${((Date.now() - started) / 1000).toFixed(0)} s: ${CUSTOMERS} customers, ${interactions} interactions, ${transitions} transitions`);
  } finally {
    await dataSource.destroy();
  }
}

async function prepare(): Promise<string> {
  const url = databaseUrl(serverUrl, DATABASE);
  const exists = await withClient(databaseUrl(serverUrl, 'postgres'), async (c) => (await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE])).rowCount === 1);
  const comment = exists ? await databaseComment(url) : null;
  if (comment === fingerprint()) {
    log(`Reusing ${DATABASE} (${CUSTOMERS} customers, generator ${GENERATOR}, migrations unchanged).`);
    return url;
  }
  log(`Building ${DATABASE} (${exists ? 'its data or migrations changed' : 'it does not exist'}): ${CUSTOMERS} customers, once; several minutes…`);
  await withClient(databaseUrl(serverUrl, 'postgres'), async (c) => {
    await c.query(`DROP DATABASE IF EXISTS ${DATABASE} WITH (FORCE)`);
    await c.query(`CREATE DATABASE ${DATABASE}`);
  });
  await build(url);
  return url;
}

// ---------------------------------------------------------------------------------------------
// The measurements

const DISTRIBUTION = `query Distribution($asOf: DateTimeISO) { lifecycleDistribution(asOf: $asOf) { asOf total stages { stage count } } }`;

/** The form lifecycleDistribution had before: one look-up per customer. */
const OLD_SQL = `SELECT coalesce(t.to_stage, 'PROSPECT') AS stage, count(*)::int AS n
   FROM customer c
   ${stageAtJoin('c.id', '$1')}
  WHERE c.merged_into_id IS NULL
    AND (t.to_stage IS NOT NULL OR (c.last_interaction_at IS NULL AND c.created_at <= $1))
  GROUP BY 1`;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const ms = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));

interface Plan {
  side: CountedSide;
  executionMs: number;
  nodes: string[];
  heapFetches: number;
}

/** Which side the service picks for `asOf` (the same estimates, as LifecycleService.distribution makes them), and that statement's EXPLAIN ANALYZE. */
async function explain(c: Client, asOf: Date): Promise<Plan> {
  const rows = async (query: string, params: unknown[]): Promise<number> => (await c.query(`EXPLAIN (FORMAT JSON) ${query}`, params)).rows[0]['QUERY PLAN'][0].Plan['Plan Rows'];
  const before = await rows('SELECT 1 FROM lifecycle_transition t WHERE t.at <= $1', [asOf]);
  const after = await rows('SELECT 1 FROM lifecycle_transition t WHERE t.at > $1', [asOf]);
  const customers = before > after ? await rows('SELECT 1 FROM customer WHERE merged_into_id IS NULL', []) : 0;
  const side: CountedSide = before <= after + customers ? 'before' : 'after';
  await c.query('SET jit = off');
  const [{ 'QUERY PLAN': [plan] }] = (await c.query(`EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${stageCountsSql(side)}`, [asOf])).rows;
  const nodes: string[] = [];
  let heapFetches = 0;
  const walk = (n: any) => {
    if (n['Relation Name'] || n['Index Name']) {
      const rowsOut = Math.round(n['Actual Rows'] * (n['Actual Loops'] ?? 1));
      nodes.push(`${n['Node Type']}${n['Index Name'] ? ` using ${n['Index Name']}` : ` on ${n['Relation Name']}`} (${rowsOut} rows${n['Workers Launched'] ? '' : ''})`);
    }
    heapFetches += n['Heap Fetches'] ?? 0;
    for (const child of n.Plans ?? []) walk(child);
  };
  walk(plan.Plan);
  return { side, executionMs: plan['Execution Time'], nodes, heapFetches };
}

async function main(): Promise<void> {
  const url = await prepare();
  const dataSource = createDataSource(url);
  await dataSource.initialize();
  const config = { ...loadConfig({ ...process.env, DATABASE_URL: url, LOG_LEVEL: 'silent' }), sweepIntervalSeconds: 0 };
  const server = await startServer(dataSource, config, 0, '127.0.0.1');
  const { key, apiKey } = await server.services.apiKeys.create('bench distribution: read', [Scope.READ], UNLIMITED);
  const shape = await withClient(url, async (c) => (await c.query(
    `SELECT (SELECT count(*)::int FROM customer) AS customers, (SELECT count(*)::int FROM customer WHERE merged_into_id IS NULL) AS live,
            (SELECT count(*)::int FROM lifecycle_transition) AS transitions, (SELECT count(*)::int FROM interaction) AS interactions`,
  )).rows[0]);
  const cases: Array<{ name: string; asOf: Date | null }> = [
    { name: 'now (asOf omitted)', asOf: null },
    { name: 'recent (30 days before the last sweep)', asOf: new Date(DATA_AS_OF - 30 * DAY_MS) },
    { name: 'mid-history', asOf: new Date(Date.UTC(2023, 6, 1)) },
    { name: 'early', asOf: new Date(Date.UTC(2020, 3, 1)) },
  ];
  // The slowest instant for this form: where reading the transitions before it costs what reading
  // those after it and the stored stages does (LifecycleService.distribution picks the cheaper side).
  const balance = await withClient(url, async (c) => {
    const offset = Math.round((shape.transitions + shape.live) / 2);
    return (await c.query(`SELECT at FROM lifecycle_transition ORDER BY at OFFSET $1 LIMIT 1`, [offset])).rows[0].at as Date;
  });
  cases.push({ name: 'slowest (either side as costly)', asOf: balance });
  const results: Array<{ name: string; asOf: string; total: number; stages: Array<{ stage: string; count: number }>; times: number[]; plan: Plan; oldMs?: number; same?: boolean }> = [];
  try {
    for (const c of cases) {
      const ask = async () => {
        const t0 = performance.now();
        const data = await call<{ lifecycleDistribution: { asOf: string; total: number; stages: Array<{ stage: string; count: number }> } }>(server.url, key, DISTRIBUTION, { asOf: c.asOf?.toISOString() ?? null });
        return { ms: performance.now() - t0, d: data.lifecycleDistribution };
      };
      const first = await ask();
      const times: number[] = [];
      for (let i = 0; i < REPEAT; i++) times.push((await ask()).ms);
      const at = new Date(first.d.asOf);
      const plan = await withClient(url, (pg) => explain(pg, at));
      log(`${c.name}: median ${ms(median(times))} ms (${ms(Math.min(...times))}–${ms(Math.max(...times))}), ${plan.side} side, ${plan.nodes.join('; ')}`);
      results.push({ name: c.name, asOf: first.d.asOf, total: first.d.total, stages: first.d.stages, times, plan });
    }
    // The old form last: reading every customer's transitions would leave the caches cold for the next case.
    for (const result of args.old ? results : []) {
      await withClient(url, async (pg) => {
        const t0 = performance.now();
        const rows = (await pg.query(OLD_SQL, [new Date(result.asOf)])).rows as Array<{ stage: string; n: number }>;
        result.oldMs = performance.now() - t0;
        const old = new Map(rows.map((r) => [r.stage, r.n]));
        result.same = result.stages.every((s) => (old.get(s.stage) ?? 0) === s.count) && [...old.values()].reduce((a, b) => a + b, 0) === result.total;
      });
      log(`${result.name}: old form ${ms(result.oldMs!)} ms, same answer: ${result.same}`);
    }
  } finally {
    await server.services.apiKeys.revoke(apiKey.id);
    await server.stop();
    await dataSource.destroy();
  }

  const when = new Date().toISOString();
  let text = `\n## lifecycleDistribution(asOf) at ${shape.customers.toLocaleString('en')} customers (\`npm run bench:distribution\`), ${when.slice(0, 16)}Z\n\n`;
  text += `- Machine: ${machine()}; PostgreSQL of ${process.env.DATABASE_URL ? 'DATABASE_URL' : '127.0.0.1:5432'}, shared with other work (noisy).\n`;
  text += `- Data: \`${DATABASE}\`, generated and derived by the product's lifecycle code as swept on ${new Date(DATA_AS_OF).toISOString().slice(0, 10)}: ${shape.customers.toLocaleString('en')} customers (${shape.live.toLocaleString('en')} live, the rest merged), ${shape.interactions.toLocaleString('en')} interactions, ${shape.transitions.toLocaleString('en')} transitions; transitions in time order (CLUSTER), VACUUM ANALYZEd after the build.\n`;
  text += `- Each asOf through the API in this process (HTTP, GraphQL, the analytics pool): once unmeasured, then ${REPEAT} times; the request's time, median (range). Plan: EXPLAIN ANALYZE of the statement the service runs for that asOf.\n\n`;
  text += `| asOf | live customers counted | median ms | range ms | side read | plan (scans) | heap fetches | EXPLAIN ANALYZE ms |${args.old ? ' old form ms (once) | same answer |' : ''}\n`;
  text += `| --- | ---: | ---: | ---: | --- | --- | ---: | ---: |${args.old ? ' ---: | --- |' : ''}\n`;
  for (const r of results) {
    text += `| ${r.name}: ${r.asOf.slice(0, 10)} | ${r.total.toLocaleString('en')} | ${ms(median(r.times))} | ${ms(Math.min(...r.times))}–${ms(Math.max(...r.times))} | ${r.plan.side} | ${r.plan.nodes.join('; ')} | ${r.plan.heapFetches} | ${ms(r.plan.executionMs)} |${args.old ? ` ${r.oldMs === undefined ? '' : ms(r.oldMs)} | ${r.same ? 'yes' : 'NO'} |` : ''}\n`;
  }
  process.stdout.write(text);
  if (!args['no-write']) {
    fs.appendFileSync(args.out!, text);
    log(`Appended to ${args.out}.`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
