import { startTestServer, type TestServer } from '../helpers/server';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.close());

describe('probes', () => {
  it('/health answers while the process is up, /ready once the database is reachable and migrated', async () => {
    const base = t.url.replace(/\/graphql$/, '');
    const health = await fetch(`${base}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok', live: { connections: 0, subscriptions: 0 }, memory: { rssBytes: expect.any(Number), heapUsedBytes: expect.any(Number) }, eventLoopDelayMs: { p50: expect.any(Number), p99: expect.any(Number), max: expect.any(Number) } });
    const ready = await fetch(`${base}/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready' });
  });

  it('/ready reports pending migrations as 503', async () => {
    const base = t.url.replace(/\/graphql$/, '');
    const [last] = await t.sql(`SELECT * FROM migrations ORDER BY id DESC LIMIT 1`);
    await t.sql(`DELETE FROM migrations WHERE id = $1`, [last.id]);
    try {
      const ready = await fetch(`${base}/ready`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toMatchObject({ reason: 'migrations pending' });
    } finally {
      await t.sql(`INSERT INTO migrations (id, timestamp, name) VALUES ($1, $2, $3)`, [last.id, last.timestamp, last.name]);
    }
  });
});
