import WebSocket from 'ws';

import { CustomerDocument, EvaluateLifecycleDocument, RecordInteractionsDocument } from '../generated/graphql';
import { interaction, unique } from '../helpers/factories';
import { eventually, liveClient } from '../helpers/live';
import { parsePrometheusText, promtool, promtoolCheck, sampleValue as value, type Family } from '../helpers/prometheus';
import { jsonLog, startTestServer, type TestServer } from '../helpers/server';

const DAY = 86_400_000;

async function scrapeText(t: TestServer, headers: Record<string, string> = {}): Promise<string> {
  const res = await fetch(t.url.replace('/graphql', '/metrics'), { headers });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return res.text();
}

const scrape = async (t: TestServer, headers: Record<string, string> = {}): Promise<Family[]> => parsePrometheusText(await scrapeText(t, headers));
const tool = promtool();
if (!tool) console.warn('promtool (Debian package prometheus) is not installed: /metrics is checked by the suite\'s own reader only');

describe('GET /metrics', () => {
  const { logger, lines } = jsonLog();
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({}, { logger });
  });
  afterAll(() => t.close());

  it('parses as the Prometheus text format, with the main series and the process ones', async () => {
    const families = await scrape(t);
    const names = new Set(families.map((f) => f.name));
    for (const name of [
      'cg_graphql_operations_total',
      'cg_graphql_operation_duration_seconds',
      'cg_ingest_items_total',
      'cg_merges_total',
      'cg_single_writes_per_transaction',
      'cg_single_writes_queued',
      'cg_lifecycle_transitions_total',
      'cg_sweep_runs_total',
      'cg_sweep_duration_seconds',
      'cg_sweep_customers_due_total',
      'cg_sweep_customers_moved_total',
      'cg_live_connections',
      'cg_live_subscriptions',
      'cg_live_deliveries_total',
      'cg_live_slow_consumer_closes_total',
      'cg_relay_lag_seconds',
      'cg_db_pool_connections',
      'cg_db_pool_waiting',
      'nodejs_eventloop_lag_p99_seconds',
      'process_resident_memory_bytes',
    ]) {
      expect({ name, present: names.has(name) }).toEqual({ name, present: true });
    }
    expect(families.find((f) => f.name === 'cg_graphql_operation_duration_seconds')!.type).toBe('histogram');
    expect(families.find((f) => f.name === 'cg_db_pool_connections')!.samples.map((m) => m.labels)).toEqual(
      expect.arrayContaining([{ pool: 'api', state: 'idle' }, { pool: 'api', state: 'in_use' }, { pool: 'analytics', state: 'idle' }]),
    );
  });

  (tool ? it : it.skip)('passes promtool check metrics (the Prometheus project\'s own parser and linter)', async () => {
    await t.gql(CustomerDocument, { id: 'not-a-uuid' }, t.keys.admin);
    const { status, output } = promtoolCheck(tool!, await scrapeText(t));
    // Status 1 is a parse error; 3 means lint findings. The only ones allowed are about
    // prom-client's own process gauges (nodejs_active_handles_total and its kin).
    const findings = output.split('\n').filter(Boolean);
    expect(findings.filter((f) => !/^nodejs_active_\w+_total non-counter metrics should not have "_total" suffix$/.test(f))).toEqual([]);
    expect(status).toBe(findings.length ? 3 : 0);
  });

  it('moves as expected after known writes, a merge, a sweep, a subscription and refused requests', async () => {
    const before = await scrape(t);
    const watcher = liveClient(t.url, t.keys.admin);
    const changes = watcher.subscribe('subscription Watch { lifecycleStageChanged { cursor to } }');
    await eventually(async () => value(await scrape(t), 'cg_live_subscriptions') === value(before, 'cg_live_subscriptions') + 1, 5000);

    const email = { type: 'EMAIL' as const, value: `${unique('m')}@example.com` };
    const device = { type: 'DEVICE_ID' as const, value: unique('device') };
    const bought = new Date(Date.now() - 89.5 * DAY).toISOString();
    const duplicate = unique('dup');
    const sent = await t.gql(
      RecordInteractionsDocument,
      {
        inputs: [
          interaction({ type: 'PURCHASE', amount: '10', occurredAt: bought, identifiers: [email], externalId: duplicate }),
          interaction({ type: 'PAGE_VIEW', occurredAt: bought, identifiers: [device] }),
          interaction({ type: 'PAGE_VIEW', occurredAt: bought, identifiers: [{ type: 'EMAIL', value: 'not an e-mail' }] }),
        ],
      },
      t.keys.admin,
    );
    expect(sent.data!.recordInteractions.map((r) => r.status)).toEqual(['CREATED', 'CREATED', 'REJECTED']);
    // The same externalId again, and one interaction that links the two people: a merge.
    await t.gql(RecordInteractionsDocument, { inputs: [interaction({ type: 'PURCHASE', amount: '10', occurredAt: bought, identifiers: [email], externalId: duplicate })] }, t.keys.admin);
    await t.record(interaction({ occurredAt: bought, identifiers: [email, device] }), t.keys.admin);
    // 89.5 days after the purchase, so a day later it is AT_RISK by time alone: the sweep moves it.
    const swept = await t.gql(EvaluateLifecycleDocument, { asOf: new Date(Date.now() + DAY).toISOString() }, t.keys.admin);
    expect(swept.data!.evaluateLifecycle.moved).toBeGreaterThanOrEqual(1);
    await t.gql(CustomerDocument, { id: 'not-a-uuid' }, t.keys.admin);
    await t.gql(CustomerDocument, { id: '00000000-0000-0000-0000-000000000000' }, null);

    await eventually(async () => changes.events.some((e) => e.to === 'AT_RISK'), 5000);
    let after: Family[] = [];
    await eventually(async () => {
      after = await scrape(t);
      return value(after, 'cg_lifecycle_transitions_total', { from: 'NEW_CUSTOMER', to: 'AT_RISK' }) > value(before, 'cg_lifecycle_transitions_total', { from: 'NEW_CUSTOMER', to: 'AT_RISK' });
    }, 5000);
    const delta = (name: string, labels?: Record<string, string>) => value(after, name, labels) - value(before, name, labels);
    expect(delta('cg_ingest_items_total', { status: 'CREATED' })).toBe(3);
    expect(delta('cg_ingest_items_total', { status: 'DUPLICATE' })).toBe(1);
    expect(delta('cg_ingest_items_total', { status: 'REJECTED' })).toBe(1);
    expect(delta('cg_merges_total')).toBe(1);
    // The one recordInteraction (t.record), written alone.
    expect(delta('cg_single_writes_per_transaction_count')).toBe(1);
    expect(delta('cg_single_writes_per_transaction_sum')).toBe(1);
    expect(delta('cg_lifecycle_transitions_total', { from: 'NONE', to: 'NEW_CUSTOMER' })).toBeGreaterThanOrEqual(1);
    expect(delta('cg_lifecycle_transitions_total', { from: 'NEW_CUSTOMER', to: 'AT_RISK' })).toBe(1);
    expect(delta('cg_sweep_runs_total')).toBe(1);
    expect(delta('cg_sweep_duration_seconds_count')).toBe(1);
    expect(delta('cg_sweep_customers_due_total')).toBeGreaterThanOrEqual(1);
    expect(delta('cg_sweep_customers_moved_total')).toBe(swept.data!.evaluateLifecycle.moved);
    expect(delta('cg_graphql_operations_total', { transport: 'http', type: 'mutation', operation: 'RecordInteractions', outcome: 'ok' })).toBe(2);
    expect(delta('cg_graphql_operations_total', { transport: 'http', type: 'query', operation: 'Customer', outcome: 'BAD_USER_INPUT' })).toBe(1);
    expect(delta('cg_graphql_operations_total', { transport: 'ws', type: 'subscription', operation: 'Watch', outcome: 'ok' })).toBe(1);
    expect(delta('cg_graphql_operation_duration_seconds_count', { operation: 'EvaluateLifecycle' })).toBe(1);
    expect(delta('cg_http_graphql_responses_total', { status: '401' })).toBe(1);
    expect(delta('cg_live_deliveries_total')).toBeGreaterThanOrEqual(changes.events.length);
    expect(value(after, 'cg_events_total', { topic: 'CUSTOMER_MERGED' }) - value(before, 'cg_events_total', { topic: 'CUSTOMER_MERGED' })).toBe(1);
    expect(value(after, 'cg_relay_lag_seconds')).toBeGreaterThanOrEqual(0);
    expect(value(after, 'cg_live_connections')).toBeGreaterThanOrEqual(1);
    await watcher.dispose();
    await eventually(async () => value(await scrape(t), 'cg_live_connections') === value(before, 'cg_live_connections'), 5000);
  });

  it('logs one JSON line per operation: request id, key id and name, operation, duration, outcome, code; never a key', async () => {
    const requestId = unique('req');
    const res = await fetch(t.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${t.keys.admin}`, 'x-request-id': requestId },
      body: JSON.stringify({ query: 'query Lookup($id: ID!) { customer(id: $id) { id } }', variables: { id: 'nope' } }),
    });
    expect(res.headers.get('x-request-id')).toBe(requestId);
    const line = lines.find((l) => l.reqId === requestId)!;
    expect(line).toMatchObject({ level: 'info', msg: 'graphql operation', transport: 'http', type: 'query', operation: 'Lookup', outcome: 'error', code: 'BAD_USER_INPUT', keyName: 'test admin' });
    expect(line.keyId).toMatch(/^[0-9a-f-]{36}$/);
    expect(typeof line.durationMs).toBe('number');
    expect(typeof line.time).toBe('string');
    // A request id that is not a plain token is replaced, not echoed.
    const odd = await fetch(t.url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-request-id': 'a b' }, body: '{}' });
    expect(odd.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const text = JSON.stringify(lines);
    for (const key of Object.values(t.keys)) expect(text).not.toContain(key);
    expect(lines.filter((l) => l.msg === 'graphql operation').length).toBeGreaterThan(5);
  });
});

describe('METRICS_TOKEN and CORS_ORIGINS', () => {
  let t: TestServer;
  const token = 'metrics-token-0123456789';
  const allowed = 'https://shop.example.com';
  beforeAll(async () => {
    t = await startTestServer({ metricsToken: token, corsOrigins: [allowed] });
  });
  afterAll(() => t.close());

  it('answers /metrics only with its own token', async () => {
    const url = t.url.replace('/graphql', '/metrics');
    expect((await fetch(url)).status).toBe(401);
    expect((await fetch(url, { headers: { authorization: `Bearer ${t.keys.admin}` } })).status).toBe(401);
    await scrape(t, { authorization: `Bearer ${token}` });
  });

  it('lets a listed origin call over HTTP (preflight without a key), and no other', async () => {
    const preflight = await fetch(t.url, { method: 'OPTIONS', headers: { origin: allowed, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' } });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(allowed);
    expect(preflight.headers.get('access-control-allow-headers')).toMatch(/authorization/);
    expect(preflight.headers.get('access-control-allow-credentials')).toBeNull();
    const call = await fetch(t.url, {
      method: 'POST',
      headers: { origin: allowed, 'content-type': 'application/json', authorization: `Bearer ${t.keys.read}` },
      body: JSON.stringify({ query: '{ lifecycleDistribution { total } }' }),
    });
    expect(call.status).toBe(200);
    expect(call.headers.get('access-control-allow-origin')).toBe(allowed);
    expect(call.headers.get('access-control-expose-headers')).toMatch(/x-request-id/);
    const other = await fetch(t.url, { method: 'OPTIONS', headers: { origin: 'https://evil.example.net', 'access-control-request-method': 'POST' } });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('opens the websocket to a listed origin, to the same origin and to clients without one; refuses other origins with 403', async () => {
    const ws = t.url.replace(/^http/, 'ws');
    const host = new URL(t.url).host;
    const attempt = (origin?: string) =>
      new Promise<number>((resolve) => {
        const socket = new WebSocket(ws, 'graphql-transport-ws', origin ? { origin } : {});
        socket.on('open', () => {
          socket.close();
          resolve(101);
        });
        socket.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        socket.on('error', () => undefined);
      });
    expect(await attempt(allowed)).toBe(101);
    expect(await attempt(`http://${host}`)).toBe(101);
    expect(await attempt()).toBe(101);
    expect(await attempt('https://evil.example.net')).toBe(403);
  });
});
