import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

import { createDataSource } from '../../src/data-source';
import { ApiKeyService } from '../../src/modules/access/api-key.service';
import { Scope } from '../../src/modules/access/scope.enum';
import { interaction, unique } from '../helpers/factories';
import { eventually, liveClient, type LiveClient } from '../helpers/live';
import { createTestDatabase } from '../helpers/test-database';

/**
 * Two real server processes on one database, as behind a load balancer: what is written through
 * one reaches the subscribers of the other.
 */
interface Instance {
  url: string;
  child: ChildProcess;
  output: string;
}

const ROOT = path.join(__dirname, '..', '..');
const daysAgo = (days: number) => new Date(Date.now() - days * 86_400_000).toISOString();

function startInstance(databaseUrl: string, name: string): Promise<Instance> {
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: 'production', DATABASE_URL: databaseUrl, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', LIFECYCLE_SWEEP_SECONDS: '0', API_KEY_CACHE_SECONDS: '0' };
  const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', 'src/index.ts'], { cwd: ROOT, env });
  const instance: Instance = { url: '', child, output: '' };
  child.stdout!.on('data', (d) => (instance.output += d));
  child.stderr!.on('data', (d) => (instance.output += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start:\n${instance.output}`)), 60_000);
    const check = setInterval(() => {
      const match = instance.output.match(/API ready at (http:\/\/[^\s"]+)/);
      if (match) {
        clearInterval(check);
        clearTimeout(timer);
        instance.url = match[1];
        resolve(instance);
      } else if (child.exitCode !== null) {
        clearInterval(check);
        clearTimeout(timer);
        reject(new Error(`${name} exited:\n${instance.output}`));
      }
    }, 50);
  });
}

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let a: Instance;
let b: Instance;
const keys = { admin: '', subscribe: '' };
const clients: LiveClient[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  const ds = createDataSource(db.url);
  await ds.initialize();
  const apiKeys = new ApiKeyService(ds);
  keys.admin = (await apiKeys.create('cluster admin', [Scope.ADMIN])).key;
  keys.subscribe = (await apiKeys.create('cluster dashboard', [Scope.SUBSCRIBE, Scope.READ])).key;
  await ds.destroy();
  [a, b] = await Promise.all([startInstance(db.url, 'instance A'), startInstance(db.url, 'instance B')]);
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.dispose()));
});
afterAll(async () => {
  for (const i of [a, b]) {
    if (!i) continue;
    i.child.kill('SIGTERM');
    await new Promise((r) => (i.child.exitCode !== null ? r(null) : i.child.once('exit', r)));
  }
  await db.drop();
});

async function gql(instance: Instance, query: string, variables: Record<string, unknown> = {}): Promise<any> {
  const res = await fetch(instance.url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${keys.admin}` }, body: JSON.stringify({ query, variables }) });
  const body = (await res.json()) as any;
  if (body.errors) throw new Error(JSON.stringify(body.errors));
  return body.data;
}
const RECORD = 'mutation R($inputs: [RecordInteractionInput!]!) { recordInteractions(inputs: $inputs) { status customerId } }';
const record = (instance: Instance, inputs: unknown[]) => gql(instance, RECORD, { inputs }).then((d) => d.recordInteractions as Array<{ status: string; customerId: string }>);

function subscriber(instance: Instance): LiveClient {
  const c = liveClient(instance.url, keys.subscribe);
  clients.push(c);
  return c;
}
const STAGES = `subscription S($stages: [LifecycleStage!], $after: String) {
  lifecycleStageChanged(stages: $stages, after: $after) { cursor id customerId from to rule customer { id metrics { orderCount } } }
}`;
/** The relay of an instance registers a subscription asynchronously: give it a round trip. */
const settle = () => new Promise((r) => setTimeout(r, 300));

describe('two server processes on one database', () => {
  it('a subscriber on B receives within 1 s the AT_RISK change made by evaluateLifecycle on A, and a LOYAL change made by an interaction on A', async () => {
    const atRisk = subscriber(b).subscribe(STAGES, { stages: ['AT_RISK'] });
    const loyal = subscriber(b).subscribe(STAGES, { stages: ['LOYAL'] });
    await settle();

    const quiet = { type: 'CUSTOMER_ID', value: unique('quiet') };
    const [{ customerId: quietId }] = await record(a, [interaction({ type: 'PURCHASE', amount: '20', occurredAt: daysAgo(100), identifiers: [quiet] as any })]);
    await gql(a, 'mutation { evaluateLifecycle { moved } }');
    await eventually(() => atRisk.events.length === 1, 1000, 'AT_RISK on B within 1 s');
    expect(atRisk.events[0]).toMatchObject({ customerId: quietId, from: 'NEW_CUSTOMER', to: 'AT_RISK', rule: 3, customer: { id: quietId, metrics: { orderCount: 1 } } });

    const regular = { type: 'CUSTOMER_ID', value: unique('regular') };
    await record(a, [1, 2, 3].map((i) => interaction({ type: 'PURCHASE', amount: '20', occurredAt: daysAgo(30 - i), identifiers: [regular] as any })));
    await settle();
    expect(loyal.events).toEqual([]);
    const [{ customerId: regularId }] = await record(a, [interaction({ type: 'PURCHASE', amount: '20', occurredAt: daysAgo(1), identifiers: [regular] as any })]);
    await eventually(() => loyal.events.length === 1, 1000, 'LOYAL on B within 1 s');
    expect(loyal.events[0]).toMatchObject({ customerId: regularId, from: 'ACTIVE', to: 'LOYAL', rule: 6, customer: { metrics: { orderCount: 4 } } });
    expect(atRisk.events).toHaveLength(1);
  });

  it('a client disconnected during a burst of 2,000 changes by 4 writers resumes with its last cursor: each change once, in commit order', async () => {
    // A starting cursor: the change of one customer made before the burst.
    const first = subscriber(b).subscribe(STAGES);
    await settle();
    await record(a, [interaction({ identifiers: [{ type: 'ANONYMOUS_ID', value: unique('before') }] })]);
    await eventually(() => first.events.length === 1, 2000, 'the change before the burst');
    const start = first.events[0].cursor as string;
    await clients.splice(0)[0].dispose();

    const received: any[] = [];
    let session = subscriber(b).subscribe(STAGES, { after: start });
    const sessions = [session];
    await settle();

    // 4 writers, 2 per instance, each 50 sequential calls of 10 new customers: 2,000 PROSPECT changes.
    const writers = [a, a, b, b].map(async (instance, w) => {
      const order: string[] = [];
      for (let call = 0; call < 50; call++) {
        const inputs = Array.from({ length: 10 }, (_, i) => interaction({ identifiers: [{ type: 'ANONYMOUS_ID', value: unique(`w${w}-${call}-${i}`) }] }));
        for (const r of await record(instance, inputs)) order.push(r.customerId);
      }
      return order;
    });
    let burstDone = false;
    const burst = Promise.all(writers).finally(() => (burstDone = true));

    await eventually(() => session.events.length >= 300, 20_000, '300 changes before the disconnect');
    expect(burstDone).toBe(false);
    const cut = clients.splice(0)[0];
    await cut.dispose();
    received.push(...session.events);
    const last = received[received.length - 1].cursor;
    await new Promise((r) => setTimeout(r, 500)); // the burst goes on without this client
    expect(burstDone).toBe(false);

    session = subscriber(b).subscribe(STAGES, { after: last });
    sessions.push(session);
    const orders = await burst;
    await eventually(() => received.length + session.events.length >= 2000, 20_000, 'all 2,000 changes');
    await settle();
    received.push(...session.events);
    expect(sessions.every((s) => s.errors.length === 0)).toBe(true);

    expect(received).toHaveLength(2000);
    expect(new Set(received.map((e) => e.id)).size).toBe(2000);
    expect(received.every((e) => e.from === null && e.to === 'PROSPECT')).toBe(true);
    // Exactly the changes the writers made…
    expect(new Set(received.map((e) => e.customerId))).toEqual(new Set(orders.flat()));
    // …in the order each writer committed them…
    for (const order of orders) {
      const position = new Map(received.map((e, i) => [e.customerId, i]));
      const seen = order.map((id) => position.get(id)!);
      expect(seen).toEqual([...seen].sort((x, y) => x - y));
    }
    // …and in the log's order, which a fresh replay from the start cursor gives again.
    const replay = subscriber(a).subscribe(STAGES, { after: start });
    await eventually(() => replay.events.length === 2000, 20_000, 'the replay');
    expect(replay.events.map((e) => e.id)).toEqual(received.map((e) => e.id));
  });
});
