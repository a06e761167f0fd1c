/**
 * Live fan-out benchmark: many graphql-ws subscribers on one server process while stage changes
 * are written at a steady rate.
 *
 *   npm run bench:fanout -- [--subscribers 5000] [--dashboards 50] [--rate 200] [--seconds 30]
 *                           [--connect-per-second 500] [--per-request 20] [--out bench/RESULTS.md]
 *
 * The server runs as its own process (so that its CPU and memory can be read from /proc) on a
 * fresh database (embedded PostgreSQL, or a new database on the server of DATABASE_URL).
 *
 *  1. Setup: `rate × seconds` customers with one purchase each (NEW_CUSTOMER).
 *  2. Ingest without subscribers: 2 senders, batches of 100 page views of new visitors, 10 s;
 *     then step 4 without subscribers, on other customers (the server's CPU baseline).
 *  3. Subscribers connect, spread over time: `dashboards` watch every change to ACTIVE (one
 *     shared selection); the others are agent screens, each watching one customer of step 1.
 *     Server memory per idle subscriber = growth of the server's RSS / subscribers.
 *  4. Changes: `rate` second purchases per second for `seconds`, sent as recordInteractions
 *     calls of `per-request` items (each item moves one customer to ACTIVE). Latency = client receipt − the moment the writing request was sent (so it
 *     includes the write), and from the write's answer (the commit is just before it): the
 *     commit → client latency lies between the two. Server CPU per delivery = (server CPU with
 *     subscribers − without) / messages delivered.
 *  5. Ingest with the subscribers attached: step 2 again.
 */
import fs from 'node:fs';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';

import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

import { createDataSource } from '../src/data-source';
import { ApiKeyService } from '../src/modules/access/api-key.service';
import { Scope } from '../src/modules/access/scope.enum';
import { freshDatabase, machine, UNLIMITED } from './fresh-server';

const { values: args } = parseArgs({
  options: {
    subscribers: { type: 'string', default: '5000' },
    dashboards: { type: 'string', default: '50' },
    rate: { type: 'string', default: '200' },
    seconds: { type: 'string', default: '30' },
    'connect-per-second': { type: 'string', default: '500' },
    'per-request': { type: 'string', default: '20' },
    out: { type: 'string', default: path.join(__dirname, 'RESULTS.md') },
  },
});
const SUBSCRIBERS = Number(args.subscribers);
const DASHBOARDS = Number(args.dashboards);
const RATE = Number(args.rate);
const SECONDS = Number(args.seconds);
const CONNECT_PER_SECOND = Number(args['connect-per-second']);
const PER_REQUEST = Number(args['per-request']);
const CHANGES = RATE * SECONDS;
const AGENTS = SUBSCRIBERS - DASHBOARDS;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const run = Date.now().toString(36);

async function heapMb(url: string): Promise<number> {
  const health = (await (await fetch(url.replace(/\/graphql$/, '/health'))).json()) as { memory: { heapUsedBytes: number } };
  return health.memory.heapUsedBytes / 2 ** 20;
}

function procStat(pid: number): { cpuMs: number; rssMb: number } {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // utime + stime
  const rss = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))![1];
  return { cpuMs: ticks * 10, rssMb: Number(rss) / 1024 };
}

/** CPU time spent by the whole machine (all processes), from /proc/stat. */
function machineCpuMs(): number {
  const [, ...fields] = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
  const [user, nice, system, , , irq, softirq, steal] = fields.map(Number);
  return (user + nice + system + irq + softirq + steal) * 10;
}

function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** Full garbage collection in the server, through its inspector, so that heap readings compare. */
async function collectGarbage(inspectorUrl: string): Promise<void> {
  if (process.env.BENCH_NO_GC) return;
  const ws = new WebSocket(inspectorUrl);
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  await new Promise((resolve) => {
    ws.once('message', resolve);
    ws.send(JSON.stringify({ id: 1, method: 'HeapProfiler.collectGarbage' }));
  });
  ws.close();
}

async function startServerProcess(databaseUrl: string): Promise<{ child: ChildProcess; url: string; inspector: string }> {
  const env = { ...process.env, DATABASE_URL: databaseUrl, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', LIFECYCLE_SWEEP_SECONDS: '0', NODE_ENV: 'production',
    // One key stands for thousands of screens here; the per-key caps are for partners' keys.
    LIVE_MAX_CONNECTIONS_PER_KEY: '100000', LIVE_MAX_SUBSCRIPTIONS_PER_KEY: '100000' };
  const child = spawn(process.execPath, ['--inspect=127.0.0.1:0', '-r', 'ts-node/register/transpile-only', 'src/index.ts'], { cwd: path.join(__dirname, '..'), env });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  for (let i = 0; i < 1200; i++) {
    const match = /API ready at (http:\/\/\S+)/.exec(output);
    const inspector = /Debugger listening on (ws:\/\/\S+)/.exec(output);
    if (match && inspector) return { child, url: match[1], inspector: inspector[1] };
    if (child.exitCode !== null) break;
    await sleep(50);
  }
  throw new Error(`the server did not start:\n${output}`);
}

async function main(): Promise<void> {
  const db = await freshDatabase('fanout');
  const ds = createDataSource(db.url);
  await ds.initialize();
  const apiKeys = new ApiKeyService(ds);
  const admin = (await apiKeys.create('bench admin', [Scope.ADMIN], UNLIMITED)).key;
  const watcher = (await apiKeys.create('bench subscribers', [Scope.SUBSCRIBE, Scope.READ], UNLIMITED)).key;
  await ds.destroy();
  const { child, url, inspector } = await startServerProcess(db.url);
  const pid = child.pid!;
  const clients: Client[] = [];
  try {
    const post = async (query: string, variables: unknown) => {
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${admin}` }, body: JSON.stringify({ query, variables }) });
      const body = (await res.json()) as any;
      if (body.errors) throw new Error(JSON.stringify(body.errors));
      return body.data;
    };
    const RECORD_MANY = 'mutation R($inputs: [RecordInteractionInput!]!) { recordInteractions(inputs: $inputs) { status customerId } }';
    const day = (daysAgo: number) => new Date(Date.now() - daysAgo * 86_400_000).toISOString();
    const purchase = (i: number, daysAgo: number) => ({
      externalId: `${run}-p${i}-${daysAgo}`,
      channel: 'STORE',
      type: 'PURCHASE',
      amount: '25',
      occurredAt: day(daysAgo),
      identifiers: [{ type: 'CUSTOMER_ID', value: `${run}-c${i}` }],
    });

    // 1. Customers to move.
    // The first half is moved with the subscribers attached, the second half without (CPU baseline).
    console.log(`setup: ${2 * CHANGES} customers with one purchase`);
    const customerIds: string[] = [];
    for (let start = 0; start < 2 * CHANGES; start += 500) {
      const inputs = Array.from({ length: Math.min(500, 2 * CHANGES - start) }, (_, k) => purchase(start + k, 20));
      const data = await post(RECORD_MANY, { inputs });
      customerIds.push(...data.recordInteractions.map((r: { customerId: string }) => r.customerId));
    }

    const ingest = async (label: string): Promise<number> => {
      let stored = 0;
      const until = performance.now() + 10_000;
      let batch = 0;
      await Promise.all(
        [0, 1].map(async (sender) => {
          while (performance.now() < until) {
            const b = batch++;
            const inputs = Array.from({ length: 100 }, (_, k) => ({
              externalId: `${run}-${label}-${sender}-${b}-${k}`,
              channel: 'WEB',
              type: 'PAGE_VIEW',
              occurredAt: day(1),
              identifiers: [{ type: 'ANONYMOUS_ID', value: `${run}-${label}-${b}-${k}` }],
            }));
            await post(RECORD_MANY, { inputs });
            stored += inputs.length;
          }
        }),
      );
      return stored / 10;
    };

    /** `RATE` second purchases per second for `SECONDS`, customers `offset`…; the server's CPU time. */
    const sentAt = new Map<string, number>();
    const answeredAt = new Map<string, number>();
    let writeErrors = 0;
    const writeChanges = async (offset: number) => {
      const cpuBefore = procStat(pid).cpuMs;
      const started = performance.now();
      const writes: Promise<unknown>[] = [];
      for (let first = 0; first < CHANGES; first += PER_REQUEST) {
        const due = started + (first * 1000) / RATE;
        const wait = due - performance.now();
        if (wait > 0) await sleep(wait);
        const indexes = Array.from({ length: Math.min(PER_REQUEST, CHANGES - first) }, (_, k) => offset + first + k);
        const sent = performance.now();
        for (const i of indexes) sentAt.set(customerIds[i], sent);
        writes.push(
          post(RECORD_MANY, { inputs: indexes.map((i) => purchase(i, 2)) })
            .then(() => {
              const answered = performance.now();
              for (const i of indexes) answeredAt.set(customerIds[i], answered);
            })
            .catch(() => (writeErrors += indexes.length)),
        );
      }
      await Promise.all(writes);
      await sleep(1000);
      return { cpuMs: procStat(pid).cpuMs - cpuBefore, ms: performance.now() - started };
    };

    console.log(`${RATE} stage changes/s for ${SECONDS} s without subscribers…`);
    const baseline = await writeChanges(CHANGES);

    // 2. Ingest alone.
    console.log('ingest without subscribers (10 s)…');
    const ingestAlone = await ingest('alone');
    console.log(`  ${ingestAlone.toFixed(0)} interactions/s`);
    await sleep(2000);
    await collectGarbage(inspector);
    const idle = procStat(pid);
    const idleHeap = await heapMb(url);

    // 3. Subscribers.
    console.log(`connecting ${SUBSCRIBERS} subscribers at ${CONNECT_PER_SECOND}/s…`);
    const latencies: number[] = [];
    const afterAnswer: Array<{ customerId: string; at: number }> = [];
    let received = 0;
    let errors = 0;
    let closedAbnormally = 0;
    let connected = 0;
    const DASHBOARD = 'subscription D { lifecycleStageChanged(stages: [ACTIVE]) { cursor customerId from to at explanation customer { id metrics { orderCount netRevenue } } } }';
    const AGENT = 'subscription A($id: ID!) { lifecycleStageChanged(customerId: $id) { cursor customerId from to at explanation customer { id metrics { orderCount netRevenue } } } }';
    const connectStarted = performance.now();
    for (let i = 0; i < SUBSCRIBERS; i++) {
      const client = createClient({
        url: url.replace(/^http/, 'ws'),
        webSocketImpl: WebSocket,
        connectionParams: { authorization: `Bearer ${watcher}` },
        retryAttempts: 0,
        lazy: true,
        on: {
          connected: () => connected++,
          closed: (e: any) => {
            if (e?.code !== 1000) closedAbnormally++;
          },
        },
      });
      clients.push(client);
      const dashboard = i < DASHBOARDS;
      client.subscribe(
        dashboard ? { query: DASHBOARD } : { query: AGENT, variables: { id: customerIds[(i - DASHBOARDS) % customerIds.length] } },
        {
          next: (result: any) => {
            const now = performance.now();
            if (result.errors) errors++;
            const change = result.data?.lifecycleStageChanged;
            const sent = change && sentAt.get(change.customerId);
            if (sent !== undefined) {
              latencies.push(now - sent);
              afterAnswer.push({ customerId: change.customerId, at: now });
            }
            received++;
          },
          error: () => errors++,
          complete: () => undefined,
        },
      );
      const due = connectStarted + ((i + 1) * 1000) / CONNECT_PER_SECOND;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
    }
    for (let i = 0; connected < SUBSCRIBERS && i < 600; i++) await sleep(100);
    await sleep(3000);
    await collectGarbage(inspector);
    const attached = procStat(pid);
    const attachedHeap = await heapMb(url);
    const perSubscriberKb = ((attached.rssMb - idle.rssMb) * 1024) / SUBSCRIBERS;
    const heapPerSubscriberKb = ((attachedHeap - idleHeap) * 1024) / SUBSCRIBERS;
    console.log(`  ${connected} connected; server RSS ${idle.rssMb.toFixed(0)} → ${attached.rssMb.toFixed(0)} MB, heap ${idleHeap.toFixed(0)} → ${attachedHeap.toFixed(0)} MB`);

    // 4. Changes at a steady rate.
    console.log(`${RATE} stage changes/s for ${SECONDS} s…`);
    await fetch(url.replace(/\/graphql$/, '/health?reset'));
    const clientLoop = monitorEventLoopDelay({ resolution: 10 });
    clientLoop.enable();
    const cpuBefore = procStat(pid).cpuMs;
    const loadCpuBefore = process.cpuUsage();
    const totalCpuBefore = machineCpuMs();
    const phaseStart = performance.now();
    const written = await writeChanges(0);
    const writePhaseMs = written.ms - 1000;
    // Every agent watches a customer of step 1, and each of those changes once.
    const expected = DASHBOARDS * CHANGES + AGENTS;
    for (let i = 0; received < expected && i < 300; i++) await sleep(100);
    const cpuMs = procStat(pid).cpuMs - cpuBefore;
    clientLoop.disable();
    const serverLoop = ((await (await fetch(url.replace(/\/graphql$/, '/health'))).json()) as any).eventLoopDelayMs;
    const loadCpu = process.cpuUsage(loadCpuBefore);
    const loadCpuMs = (loadCpu.user + loadCpu.system) / 1000;
    const totalCpuMs = machineCpuMs() - totalCpuBefore;
    const phaseMs = performance.now() - phaseStart;
    const sorted = [...latencies].sort((x, y) => x - y);
    const baselineWrites = customerIds.slice(CHANGES).filter((id) => answeredAt.has(id)).map((id) => answeredAt.get(id)! - sentAt.get(id)!).sort((x, y) => x - y);
    const writeTimes = customerIds.slice(0, CHANGES).filter((id) => answeredAt.has(id)).map((id) => answeredAt.get(id)! - sentAt.get(id)!).sort((x, y) => x - y);
    // Delivery measured from the write's answer (the commit is just before it): negative when the event came first.
    const fromAnswer = afterAnswer.map((d) => d.at - answeredAt.get(d.customerId)!).sort((x, y) => x - y);
    console.log(`  delivered ${received}/${expected}; p50 ${percentile(sorted, 50).toFixed(0)} ms, p99 ${percentile(sorted, 99).toFixed(0)} ms`);

    // 5. Ingest with subscribers attached.
    console.log('ingest with the subscribers attached (10 s)…');
    const ingestAttached = await ingest('attached');
    console.log(`  ${ingestAttached.toFixed(0)} interactions/s`);

    const rows: Array<[string, string]> = [
      ['subscribers (dashboards on ACTIVE / agent screens on one customer)', `${SUBSCRIBERS} (${DASHBOARDS} / ${AGENTS}), ${connected} connected`],
      ['stage changes written', `${CHANGES} at ${RATE}/s in calls of ${PER_REQUEST} (${(CHANGES / (writePhaseMs / 1000)).toFixed(0)}/s achieved), ${writeErrors} failed writes`],
      ['messages delivered / expected', `${received} / ${expected}`],
      ['delivery latency p50 / p99 / max (request sent → client)', `${percentile(sorted, 50).toFixed(1)} / ${percentile(sorted, 99).toFixed(1)} / ${sorted[sorted.length - 1]?.toFixed(1)} ms`],
      ['write latency p50 / p99 (request sent → answer), without / with subscribers', `${percentile(baselineWrites, 50).toFixed(1)} / ${percentile(baselineWrites, 99).toFixed(1)} ms; ${percentile(writeTimes, 50).toFixed(1)} / ${percentile(writeTimes, 99).toFixed(1)} ms`],
      ['delivery after the write\'s answer p50 / p99 (≈ commit → client; negative: the event arrived first)', `${percentile(fromAnswer, 50).toFixed(1)} / ${percentile(fromAnswer, 99).toFixed(1)} ms`],
      ['event-loop delay p99 / max: server / load client', `${serverLoop.p99} / ${serverLoop.max} ms; ${(clientLoop.percentile(99) / 1e6).toFixed(1)} / ${(clientLoop.max / 1e6).toFixed(1)} ms`],
      ['server CPU over the phase without / with subscribers', `${(baseline.cpuMs / 1000).toFixed(1)} s / ${(written.cpuMs / 1000).toFixed(1)} s`],
      ['server CPU per delivered message: (with − without) / messages', `${(((written.cpuMs - baseline.cpuMs) * 1000) / Math.max(received, 1)).toFixed(1)} µs`],
      ['server memory per idle subscriber: RSS growth / subscribers (heap growth / subscribers)', `${perSubscriberKb.toFixed(1)} KB (${heapPerSubscriberKb.toFixed(1)} KB)`],
      ['CPU over the phase: server process / load client / whole machine (2 cores = 200 %)', `${((cpuMs / phaseMs) * 100).toFixed(0)} % / ${((loadCpuMs / phaseMs) * 100).toFixed(0)} % / ${((totalCpuMs / phaseMs) * 100).toFixed(0)} %`],
      ['ingest without / with subscribers (batches of 100, 2 senders)', `${ingestAlone.toFixed(0)} / ${ingestAttached.toFixed(0)} interactions/s (${(ingestAttached / ingestAlone).toFixed(2)}×)`],
      ['subscription errors / abnormal closes', `${errors} / ${closedAbnormally}`],
    ];
    const table = ['| measure | result |', '|---|---|', ...rows.map(([k, v]) => `| ${k} | ${v} |`)].join('\n');
    console.log(`\n${table}`);
    const section =
      `\n## Live fan-out (\`npm run bench:fanout\`), ${new Date().toISOString().slice(0, 16)}Z\n\n` +
      `${machine()}; ${process.env.DATABASE_URL ? 'PostgreSQL of DATABASE_URL' : 'embedded PostgreSQL'}; server and load client on the same machine.\n` +
      `Arguments: --subscribers ${SUBSCRIBERS} --dashboards ${DASHBOARDS} --rate ${RATE} --seconds ${SECONDS} --connect-per-second ${CONNECT_PER_SECOND} --per-request ${PER_REQUEST}.\n\n${table}\n`;
    fs.appendFileSync(args.out!, section);
  } finally {
    await Promise.all(clients.map((c) => Promise.resolve(c.dispose()).catch(() => undefined)));
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
    await db.cleanup();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
