import { Scope } from '../../src/modules/access/scope.enum';
import { encodeEventCursor } from '../../src/modules/events/event';
import { interaction } from '../helpers/factories';
import { eventually, liveClient, rawSocket, useLiveServer } from '../helpers/live';
import { startTestServer, type TestServer } from '../helpers/server';

const INTERACTIONS = 'subscription I($after: String) { interactionRecorded(after: $after) { cursor interactionId } }';

const live = useLiveServer();
const { client, subscribed } = live;
let t: TestServer;
beforeAll(() => {
  t = live.t;
});

describe('the graphql-transport-ws protocol', () => {
  const init = { type: 'connection_init', payload: { authorization: '' } };

  it('closes with the protocol codes on misuse', async () => {
    const wrongProtocol = await rawSocket(t.url, null);
    expect((await wrongProtocol.closed).code).toBe(4406);

    const early = await rawSocket(t.url);
    early.ws.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: INTERACTIONS } }));
    expect((await early.closed).code).toBe(4401);

    const twice = await rawSocket(t.url);
    const auth = { ...init, payload: { authorization: `Bearer ${t.keys.subscribe}` } };
    twice.ws.send(JSON.stringify(auth));
    twice.ws.send(JSON.stringify(auth));
    expect((await twice.closed).code).toBe(4429);

    const duplicate = await rawSocket(t.url);
    duplicate.ws.send(JSON.stringify(auth));
    await eventually(() => duplicate.messages.length === 1, 3000, 'the ack');
    duplicate.ws.send(JSON.stringify({ id: 'same', type: 'subscribe', payload: { query: INTERACTIONS } }));
    duplicate.ws.send(JSON.stringify({ id: 'same', type: 'subscribe', payload: { query: INTERACTIONS } }));
    expect((await duplicate.closed).code).toBe(4409);

    const garbage = await rawSocket(t.url);
    garbage.ws.send('not json');
    expect((await garbage.closed).code).toBe(4400);
  });

  it('refuses more than 100 open operations on one connection with RATE_LIMITED', async () => {
    const c = client();
    const subs = Array.from({ length: 101 }, () => c.subscribe(INTERACTIONS));
    await subs[100].ended;
    expect(subs[100].errors).toEqual([[expect.objectContaining({ extensions: { code: 'RATE_LIMITED' } })]]);
    await subscribed(100);
    expect(subs.slice(0, 100).every((s) => !s.isEnded())).toBe(true);
  });

  it('answers queries over the websocket too, and pings with pongs', async () => {
    const s = await rawSocket(t.url);
    s.ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${t.keys.admin}` } }));
    await eventually(() => s.messages.length === 1, 3000, 'the ack');
    s.ws.send(JSON.stringify({ type: 'ping' }));
    s.ws.send(JSON.stringify({ id: 'q', type: 'subscribe', payload: { query: '{ lifecycleDistribution { total } }' } }));
    await eventually(() => s.messages.length >= 4, 3000, 'ack, pong, next and complete');
    expect(s.messages).toEqual([
      { type: 'connection_ack' },
      { type: 'pong' },
      { id: 'q', type: 'next', payload: { data: { lifecycleDistribution: { total: 0 } } } },
      { id: 'q', type: 'complete' },
    ]);
    s.ws.close();
  });

  it('tells the clients of a stopping server to go elsewhere (1001)', async () => {
    const other = await startTestServer();
    const c = liveClient(other.url, other.keys.subscribe);
    const sub = c.subscribe(INTERACTIONS);
    await eventually(() => other.server.live.snapshot().subscriptions === 1, 5000, 'the subscription');
    const closing = other.close();
    await sub.ended;
    await closing;
    expect(c.closes[0]?.code).toBe(1001);
    await c.dispose();
  });
});

describe('the event log', () => {
  it('refuses a cursor older than the events kept, and resumes from one after', async () => {
    const first = client().subscribe(INTERACTIONS);
    await subscribed(1);
    await t.record(interaction());
    await t.record(interaction());
    await eventually(() => first.events.length === 2, 3000, 'two events');
    // Age the first event past the retention and prune it.
    await t.sql(`UPDATE event SET recorded_at = now() - interval '30 days' WHERE payload->>'interactionId' = $1`, [first.events[0].interactionId]);
    expect(await t.server.relay.prune(new Date(Date.now() - 7 * 86_400_000))).toBe(1);

    const tooOld = client().subscribe(INTERACTIONS, { after: encodeEventCursor({ xid: 1n, seq: 1n }) });
    await tooOld.ended;
    expect(tooOld.errors).toEqual([[expect.objectContaining({ extensions: expect.objectContaining({ code: 'BAD_USER_INPUT', field: 'after' }) })]]);

    const resumed = client().subscribe(INTERACTIONS, { after: first.events[0].cursor });
    await eventually(() => resumed.events.length === 1, 3000, 'the replay');
    expect(resumed.events).toEqual([first.events[1]]);
  });

  it('keeps delivering when the relay loses its database connection', async () => {
    const sub = client().subscribe(INTERACTIONS);
    await subscribed(1);
    const [{ n }] = await t.sql(`SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE application_name = 'customer-graph live relay' AND datname = current_database()`);
    expect(n).toBe(1);
    await t.record(interaction());
    await t.record(interaction());
    try {
      await eventually(() => sub.events.length === 2, 5000, 'both events');
    } catch (err) {
      const running = await t.sql(`SELECT datname, backend_xid::text, now() - xact_start AS age, left(query, 80) AS query FROM pg_stat_activity WHERE backend_xid IS NOT NULL`);
      throw new Error(`${(err as Error).message}; relay ${JSON.stringify(t.server.relay.stats)}, head ${t.server.relay.head.xid}:${t.server.relay.head.seq}; running: ${JSON.stringify(running)}`);
    }
    // The relay is listening again: a write made through another instance (no local signal) arrives too.
    await eventually(async () => (await t.sql(`SELECT 1 FROM pg_stat_activity WHERE application_name = 'customer-graph live relay' AND datname = current_database()`)).length === 1, 5000, 'the relay to reconnect');
    await t.sql(`INSERT INTO event (topic, customer_id, payload) VALUES ('INTERACTION_RECORDED', '00000000-0000-7000-8000-000000000002', '{"interactionId":"00000000-0000-7000-8000-0000000000cc","type":"PAGE_VIEW","channel":"WEB","occurredAt":"2024-01-01T00:00:00.000Z"}')`);
    await t.sql(`NOTIFY cg_events`);
    await eventually(() => sub.events.length === 3, 900, 'the event written elsewhere, before the 1 s poll');
    expect(sub.events[2].interactionId).toBe('00000000-0000-7000-8000-0000000000cc');
  });
});

describe('the key check', () => {
  it('does not close a connection opened while a check was running (its key was not part of it)', async () => {
    const own = await startTestServer({ apiKeyCacheSeconds: 60, liveKeyCheckSeconds: 1 });
    const locker = own.dataSource.createQueryRunner();
    try {
      const [a, b] = [(await own.server.services.apiKeys.create('first screen', [Scope.SUBSCRIBE])).key, (await own.server.services.apiKeys.create('second screen', [Scope.SUBSCRIBE])).key];
      await own.server.services.apiKeys.verify(b); // cached: connecting with it needs no statement
      const first = liveClient(own.url, a);
      first.subscribe(INTERACTIONS);
      await eventually(() => own.server.live.snapshot().liveSubscriptions >= 1, 5000, 'the first subscription');
      // Hold the next check's statement until the second connection is open.
      await locker.connect();
      await locker.startTransaction();
      await locker.query('LOCK TABLE api_key IN ACCESS EXCLUSIVE MODE');
      const waiting = async () => (await own.sql(`SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%FROM api_key WHERE revoked_at IS NULL%'`)).length > 0;
      await eventually(waiting, 5000, 'a key check waiting on the lock');
      const second = liveClient(own.url, b);
      const sub = second.subscribe(INTERACTIONS);
      await eventually(() => own.server.live.snapshot().liveSubscriptions >= 2, 5000, 'the second subscription');
      await locker.commitTransaction();
      await eventually(async () => !(await waiting()), 5000, 'the check to end');
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(second.closes).toEqual([]);
      await own.record(interaction());
      await eventually(() => sub.events.length === 1, 5000, 'an event on the second connection');
      await Promise.all([first.dispose(), second.dispose()]);
    } finally {
      if (locker.isTransactionActive) await locker.rollbackTransaction();
      await locker.release();
      await own.close();
    }
  });
});
