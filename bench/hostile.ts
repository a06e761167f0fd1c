/**
 * npm run bench:hostile
 *
 * The attacks of a hostile key holder, one after the other, against a server in this process on
 * a fresh database of ~2,000 customers. For each: how long the attack took and how it was
 * answered, the p99 of a simple read sent by another key all the while, and the heap (after a
 * full GC) before and after. Run with --expose-gc (the npm script does).
 */
import WebSocket from 'ws';

import { Scope } from '../src/modules/access/scope.enum';
import { freshServer, machine, UNLIMITED } from './fresh-server';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc (npm run bench:hostile does)');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(0);

function heap(): number {
  gc!();
  gc!();
  return process.memoryUsage().heapUsed;
}

async function post(url: string, key: string | null, body: string): Promise<{ status: number; text: string }> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (key) headers.authorization = `Bearer ${key}`;
  const res = await fetch(url, { method: 'POST', headers, body });
  return { status: res.status, text: await res.text() };
}

const summary = (r: { status: number; text: string }) => {
  try {
    const body = JSON.parse(r.text);
    const e = body.errors?.[0];
    return e ? `${r.status} ${e.extensions?.code}: ${String(e.message).slice(0, 70)}` : `${r.status} data (${(r.text.length / 1024).toFixed(0)} KB)`;
  } catch {
    return `${r.status} not JSON`;
  }
};

function wsSession(url: string, key: string): Promise<{ ws: WebSocket; answers: Map<string, any>; closed: Promise<number> }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url.replace(/^http/, 'ws'), 'graphql-transport-ws');
    const answers = new Map<string, any>();
    const closed = new Promise<number>((r) => ws.on('close', (code) => r(code)));
    ws.on('message', (data) => {
      const m = JSON.parse(data.toString());
      if (m.type === 'connection_ack') resolve({ ws, answers, closed });
      else if (m.id && (m.type === 'error' || m.type === 'next')) answers.set(m.id, m);
    });
    ws.on('open', () => ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${key}` } })));
    ws.on('error', reject);
    closed.then((code) => reject(new Error(`closed ${code} before ack`)));
  });
}

async function main(): Promise<void> {
  const fresh = await freshServer('hostile');
  const { server } = fresh;
  const url = server.url;
  const keys = server.services.apiKeys;
  const attacker = (await keys.create('attacker', [Scope.READ, Scope.WRITE, Scope.SUBSCRIBE], UNLIMITED)).key;
  const bystander = (await keys.create('bystander', [Scope.READ], UNLIMITED)).key;
  const limited = (await keys.create('attacker at the default rate', [Scope.READ])).key;

  console.log('seeding ~2,000 customers…');
  const ids: string[] = [];
  for (let b = 0; b < 10; b++) {
    const inputs = Array.from({ length: 1000 }, (_, i) => {
      const n = b * 1000 + i;
      return {
        externalId: `seed-${n}`,
        channel: 'WEB',
        type: n % 5 === 0 ? 'PURCHASE' : 'PAGE_VIEW',
        amount: n % 5 === 0 ? '25.00' : undefined,
        occurredAt: new Date(Date.UTC(2024, 0, 1) + n * 3_600_000).toISOString(),
        identifiers: [{ type: 'EMAIL', value: `person${n % 2000}@example.com` }],
      };
    });
    const res = JSON.parse((await post(url, fresh.key, JSON.stringify({ query: 'mutation($i: [RecordInteractionInput!]!) { recordInteractions(inputs: $i) { customerId } }', variables: { i: inputs } }))).text);
    for (const r of res.data.recordInteractions) ids.push(r.customerId);
  }
  const customerIds = [...new Set(ids)];
  console.log(`${customerIds.length} customers, ${ids.length} interactions`);

  const simple = (id: string) => JSON.stringify({ query: 'query($id: ID!) { customer(id: $id) { id identifiers { type value } metrics { orderCount netRevenue } } }', variables: { id } });
  const rows: string[][] = [];

  async function attack(name: string, run: () => Promise<string>): Promise<void> {
    await sleep(200);
    const before = heap();
    const latencies: number[] = [];
    let failures = 0;
    let going = true;
    const reader = (async () => {
      let i = 0;
      while (going) {
        const started = performance.now();
        const r = await post(url, bystander, simple(customerIds[i++ % customerIds.length]));
        latencies.push(performance.now() - started);
        if (r.status !== 200 || r.text.includes('"errors"')) failures++;
        await sleep(5);
      }
    })();
    const started = performance.now();
    let outcome: string;
    try {
      outcome = await run();
    } catch (err) {
      outcome = `threw: ${(err as Error).message}`;
    }
    const took = performance.now() - started;
    await sleep(100);
    going = false;
    await reader;
    await sleep(200);
    const after = heap();
    latencies.sort((a, b) => a - b);
    const p99 = latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * 0.99))] ?? NaN;
    rows.push([name, `${took.toFixed(0)} ms`, outcome, `${p99.toFixed(1)} ms (${latencies.length} reads${failures ? `, ${failures} failed` : ''})`, `${mb(before)} → ${mb(after)} MB`]);
    console.log(rows[rows.length - 1].join(' | '));
  }

  const bomb = (levels: number) =>
    `query { ...F0 } ${Array.from({ length: levels }, (_, i) => `fragment F${i} on Query { ...F${i + 1} ...F${i + 1} }`).join(' ')} fragment F${levels} on Query { __typename }`;
  const heavyPage = 'customers(first: 100) { edges { node { id identifiers { type value } interactions(first: 100) { edges { node { id type occurredAt } } } } } }';
  const aliases = (n: number, field: string) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: ${field}`).join(' ')} }`;

  await attack('fragment bomb, 23 levels (HTTP)', async () => summary(await post(url, attacker, JSON.stringify({ query: bomb(23) }))));
  await attack('fragment bomb, 30 levels (websocket)', async () => {
    const s = await wsSession(url, attacker);
    s.ws.send(JSON.stringify({ id: 'b', type: 'subscribe', payload: { query: bomb(30) } }));
    while (!s.answers.has('b')) await sleep(5);
    s.ws.close();
    return `${s.answers.get('b').type}: ${s.answers.get('b').payload[0]?.extensions?.code}`;
  });
  // Bodies are built before each attack starts: this process is also the client, and building a
  // 10 MB string would otherwise count as the server's time and delay the bystander.
  const padding = `# ${'x'.repeat(900 * 1024)}\n`;
  // Built one at a time and dropped once sent, so that the heap figures are the server's.
  const bigMessage = (i: number) => `{"id":"d${i}","type":"subscribe","payload":{"operationName":"Nothing","query":"${padding.replace('\n', '\\n')}query Q${i} { __typename }"}}`;
  const tenMb = JSON.stringify({ query: `{ ${Array.from({ length: 700_000 }, (_, i) => `a${i}:__typename`).join(' ')} }` });
  const twentyMb = JSON.stringify({ query: `# ${'x'.repeat(20 * 2 ** 20)}\n{ __typename }` });
  const deep = `${'{"d":'.repeat(5000)}{}${'}'.repeat(5000)}`;

  await attack('100 documents of 0.9 MB, unknown operationName (websocket)', async () => {
    const s = await wsSession(url, attacker);
    for (let i = 0; i < 100; i++) {
      s.ws.send(bigMessage(i));
      while (!s.answers.has(`d${i}`)) await sleep(1);
    }
    const codes = new Set([...s.answers.values()].map((a) => a.payload[0]?.extensions?.code));
    s.ws.close();
    return `100 errors (${[...codes].join(', ')}); cache ${server.live.snapshot().documentCache.bytes} bytes`;
  });
  await attack('500 aliases of customers(first: 100) { interactions(first: 100) }', async () => summary(await post(url, attacker, JSON.stringify({ query: aliases(500, heavyPage) }))));
  await attack('2 aliases of the same (cost over the budget)', async () => summary(await post(url, attacker, JSON.stringify({ query: aliases(2, heavyPage) }))));
  await attack('1 of the same (within the budget: served)', async () => summary(await post(url, attacker, JSON.stringify({ query: aliases(1, heavyPage) }))));
  await attack('200 aliases each of journeyFunnel and multichannelImpact', async () =>
    summary(await post(url, attacker, JSON.stringify({ query: `{ ${Array.from({ length: 200 }, (_, i) => `f${i}: journeyFunnel(from: "2000-01-01T00:00:00Z", to: "2100-01-01T00:00:00Z") { started } m${i}: multichannelImpact { customers }`).join(' ')} }` }))),
  );
  await attack('8 concurrent requests of 30 analytics fields (allowed)', async () => {
    const q = JSON.stringify({ query: `{ ${Array.from({ length: 15 }, (_, i) => `f${i}: journeyFunnel(from: "2000-01-01T00:00:00Z", to: "2100-01-01T00:00:00Z") { started } m${i}: multichannelImpact { customers }`).join(' ')} }` });
    const answers = await Promise.all(Array.from({ length: 8 }, () => post(url, attacker, q)));
    return `${answers.filter((a) => a.status === 200 && !a.text.includes('"errors"')).length}/8 served`;
  });
  await attack('10 MB document of 700k aliases', async () => summary(await post(url, attacker, tenMb)));
  await attack('20 MB body without a key', async () => summary(await post(url, null, twentyMb)));
  await attack('properties nested 5,000 deep in a batch of 3', async () => {
    const item = (n: number, properties = '{}') =>
      `{"externalId":"deep-${n}-${Date.now()}","channel":"WEB","type":"PAGE_VIEW","identifiers":[{"type":"EMAIL","value":"person${n}@example.com"}],"properties":${properties}}`;
    const query = 'mutation($i: [RecordInteractionInput!]!) { recordInteractions(inputs: $i) { status problems { field } } }';
    const r = await post(url, attacker, `{"query":${JSON.stringify(query)},"variables":{"i":[${item(1)},${item(2, deep)},${item(3)}]}}`);
    const body = JSON.parse(r.text);
    return body.data ? body.data.recordInteractions.map((x: any) => `${x.status}${x.problems[0] ? ` (${x.problems[0].field})` : ''}`).join(', ') : summary(r);
  });
  await attack('one key at the default rate, 2,000 requests from 32 clients', async () => {
    const counts = new Map<number, number>();
    let next = 0;
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (next < 2000) {
          next++;
          const r = await post(url, limited, simple(customerIds[next % customerIds.length]));
          counts.set(r.status, (counts.get(r.status) ?? 0) + 1);
        }
      }),
    );
    return [...counts].map(([s, n]) => `${n}× ${s}`).join(', ');
  });
  await attack('25 connections × 100 distinct heavy subscriptions, one key', async () => {
    const sessions = [];
    let refusedConnections = 0;
    for (let c = 0; c < 25; c++) {
      try {
        sessions.push(await wsSession(url, attacker));
      } catch {
        refusedConnections++;
      }
    }
    let sent = 0;
    for (const [c, s] of sessions.entries()) {
      for (let i = 0; i < 100; i++) {
        s.ws.send(JSON.stringify({ id: `s${i}`, type: 'subscribe', payload: { query: `subscription S${c}_${i} { interactionRecorded { customer { id identifiers { value } interactions(first: ${1 + i}) { edges { node { id } } } } } }` } }));
        sent++;
      }
    }
    await sleep(1000);
    const refused = sessions.reduce((n, s) => n + [...s.answers.values()].filter((a) => a.type === 'error').length, 0);
    const open = server.live.snapshot().subscriptions;
    for (const s of sessions) s.ws.close();
    return `${sessions.length} connections (${refusedConnections} refused), ${sent} subscribes: ${open} open, ${refused} refused`;
  });

  const header = ['attack', 'took', 'answer', 'concurrent read p99', 'heap after GC, before → after'];
  const table = [header, header.map(() => '---'), ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
  console.log(`\n## bench:hostile (${new Date().toISOString().slice(0, 10)})\n\n${machine()}; ${fresh.database}; ${customerIds.length} customers.\n\n${table}\n`);
  await fresh.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
