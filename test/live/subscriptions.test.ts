import { Client } from 'pg';

import { Scope } from '../../src/modules/access/scope.enum';
import { RecordInteractionsDocument } from '../generated/graphql';
import { interaction, unique } from '../helpers/factories';
import { eventually, rawSocket, useLiveServer } from '../helpers/live';
import type { TestServer } from '../helpers/server';
import { splitUrl } from '../helpers/test-database';

const STAGES = `subscription Stages($stages: [LifecycleStage!], $customerId: ID, $after: String) {
  lifecycleStageChanged(stages: $stages, customerId: $customerId, after: $after) {
    cursor customerId from to at rule ruleName explanation
    customer { id identifiers { type value } metrics { orderCount netRevenue } }
  }
}`;
const INTERACTIONS = `subscription Interactions($customerId: ID, $types: [InteractionType!], $after: String) {
  interactionRecorded(customerId: $customerId, types: $types, after: $after) { cursor customerId type channel interaction { id externalId } }
}`;

const daysAgo = (days: number) => new Date(Date.now() - days * 86_400_000).toISOString();


const live = useLiveServer({ liveMaxBufferBytes: 64 * 1024, liveKeyCheckSeconds: 1 });
const { client, subscribed } = live;
let t: TestServer;
/** Subscribe plus read (and pii, to see identifiers unmasked): what a subscriber needs to see who an event is about. */
let watcher: string;
const watch = () => client(watcher);
beforeAll(async () => {
  t = live.t;
  watcher = (await t.server.services.apiKeys.create('test watcher', [Scope.SUBSCRIBE, Scope.READ, Scope.PII])).key;
});


describe('lifecycleStageChanged', () => {
  it('pushes each stage change with its customer, explanation and cursor', async () => {
    const sub = watch().subscribe(STAGES);
    await subscribed(1);
    const email = `${unique('ada')}@example.com`;
    const occurredAt = daysAgo(10);
    const first = await t.record(interaction({ channel: 'STORE', type: 'PURCHASE', amount: '40', currency: 'EUR', occurredAt, identifiers: [{ type: 'EMAIL', value: email }] }));
    await eventually(() => sub.events.length >= 1, 2000, 'the NEW_CUSTOMER change');
    expect(sub.errors).toEqual([]);
    expect(sub.events).toEqual([
      {
        cursor: expect.stringMatching(/^ev1:/),
        customerId: first.customerId,
        from: null,
        to: 'NEW_CUSTOMER',
        at: occurredAt,
        rule: 8,
        ruleName: 'exactly 1 purchase',
        explanation: `NEW_CUSTOMER since ${occurredAt.slice(0, 10)}: first purchase on ${occurredAt.slice(0, 10)}`,
        customer: { id: first.customerId, identifiers: [{ type: 'EMAIL', value: email }], metrics: { orderCount: 1, netRevenue: '40.00' } },
      },
    ]);
  });

  it('filters on stages: AMBASSADOR only receives AMBASSADOR', async () => {
    const ambassadors = watch().subscribe(STAGES, { stages: ['AMBASSADOR'] });
    const everything = watch().subscribe(STAGES);
    await subscribed(2);
    const phone = { type: 'CUSTOMER_ID' as const, value: unique('c') };
    const inputs = [1, 2, 3, 4].map((i) => interaction({ type: 'PURCHASE', amount: '10', occurredAt: daysAgo(40 - i), identifiers: [phone] }));
    inputs.push(interaction({ type: 'SURVEY_RESPONSE', npsScore: 10, occurredAt: daysAgo(30), identifiers: [phone] }));
    for (const input of inputs) await t.record(input);
    await eventually(() => everything.events.length >= 4, 3000, 'NEW_CUSTOMER, ACTIVE, LOYAL, AMBASSADOR');
    await eventually(() => ambassadors.events.length >= 1, 2000, 'the AMBASSADOR change');
    await new Promise((r) => setTimeout(r, 200));
    expect(everything.events.map((e) => e.to)).toEqual(['NEW_CUSTOMER', 'ACTIVE', 'LOYAL', 'AMBASSADOR']);
    expect(ambassadors.events.map((e) => e.to)).toEqual(['AMBASSADOR']);
    expect(ambassadors.events[0].explanation).toMatch(/and an NPS of 10/);
  });

  it('filters on one customer, following merges, and a merged id stands for its survivor', async () => {
    const email = { type: 'EMAIL' as const, value: `${unique('m')}@example.com` };
    const card = { type: 'LOYALTY_CARD' as const, value: unique('card') };
    const older = await t.record(interaction({ type: 'PURCHASE', amount: '5', occurredAt: daysAgo(20), identifiers: [email] }));
    const younger = await t.record(interaction({ type: 'PURCHASE', amount: '5', occurredAt: daysAgo(19), identifiers: [card] }));
    const other = await t.record(interaction({ type: 'PAGE_VIEW', occurredAt: daysAgo(19), identifiers: [{ type: 'ANONYMOUS_ID', value: unique('a') }] }));
    await live.caughtUp();

    const ofYounger = watch().subscribe(STAGES, { customerId: younger.customerId });
    const ofOther = watch().subscribe(STAGES, { customerId: other.customerId });
    await subscribed(2);
    // One call carries both: the younger customer is merged into the older one (2 purchases: ACTIVE).
    const merged = await t.record(interaction({ type: 'PAGE_VIEW', occurredAt: daysAgo(18), identifiers: [email, card] }));
    expect(merged.customerId).toBe(older.customerId);
    expect(merged.mergedCustomerIds).toEqual([younger.customerId]);
    await eventually(() => ofYounger.events.length >= 1, 2000, 'the ACTIVE change of the survivor');
    expect(ofYounger.events.map((e) => [e.customerId, e.to])).toEqual([[older.customerId, 'ACTIVE']]);

    // Subscribing now with the merged id: the survivor's next change arrives.
    await live.caughtUp();
    const byMergedId = watch().subscribe(STAGES, { customerId: younger.customerId });
    await subscribed(3);
    await t.record(interaction({ type: 'PURCHASE', amount: '5', occurredAt: daysAgo(17), identifiers: [email] }));
    await t.record(interaction({ type: 'PURCHASE', amount: '5', occurredAt: daysAgo(16), identifiers: [card] }));
    await eventually(() => byMergedId.events.length >= 1 && ofYounger.events.length >= 2, 2000, 'LOYAL');
    expect(byMergedId.events.map((e) => [e.customer.id, e.to])).toEqual([[older.customerId, 'LOYAL']]);
    expect(ofOther.events).toEqual([]);
  });
});

describe('interactionRecorded and customerMerged', () => {
  it('push interactions (filtered by type) and merges', async () => {
    const purchases = watch().subscribe(INTERACTIONS, { types: ['PURCHASE'] });
    const merges = watch().subscribe('subscription { customerMerged { cursor survivorId mergedId identifierType survivor { id } } }');
    await subscribed(2);
    const a = { type: 'EMAIL' as const, value: `${unique('x')}@example.com` };
    const b = { type: 'PHONE' as const, value: '+33612345678'.slice(0, 6) + String(Date.now()).slice(-6) };
    const view = await t.record(interaction({ identifiers: [a] }));
    const buy = await t.record(interaction({ type: 'PURCHASE', amount: '3', identifiers: [b] }));
    await t.record(interaction({ identifiers: [a, b] }));
    await eventually(() => purchases.events.length >= 1 && merges.events.length >= 1, 2000, 'a purchase and a merge');
    expect(purchases.events).toEqual([{ cursor: expect.any(String), customerId: buy.customerId, type: 'PURCHASE', channel: 'WEB', interaction: { id: buy.interactionId, externalId: expect.any(String) } }]);
    expect(merges.events).toEqual([{ cursor: expect.any(String), survivorId: view.customerId, mergedId: buy.customerId, identifierType: 'PHONE', survivor: { id: view.customerId } }]);
  });
});

describe('access', () => {
  it('closes a connection without a key with 4401, and with an unknown key too', async () => {
    const anonymous = client(null);
    const s1 = anonymous.subscribe(STAGES);
    await s1.ended;
    expect(anonymous.closes[0]?.code).toBe(4401);
    const unknown = client('cg_not-a-real-key');
    const s2 = unknown.subscribe(STAGES);
    await s2.ended;
    expect(unknown.closes[0]?.code).toBe(4401);
  });

  it('answers a key without the subscribe scope with FORBIDDEN', async () => {
    const reader = client(t.keys.read).subscribe(STAGES);
    await reader.ended;
    expect(reader.errors).toEqual([[expect.objectContaining({ message: expect.stringContaining('lacks the subscribe scope'), extensions: { code: 'FORBIDDEN' } })]]);
  });

  it('stops delivering within seconds when the key is revoked', async () => {
    const { key, apiKey } = await t.server.services.apiKeys.create('revoked soon', ['subscribe' as any]);
    const c = client(key);
    const sub = c.subscribe(INTERACTIONS);
    await subscribed(1);
    await t.record(interaction());
    await eventually(() => sub.events.length === 1, 2000, 'the first event');
    await t.server.services.apiKeys.revoke(apiKey.id);
    const waited = await eventually(() => sub.isEnded(), 5000, 'the connection to close');
    expect(c.closes[0]).toEqual({ code: 4403, reason: 'Forbidden: the API key was revoked or its secret rotated' });
    expect(waited).toBeLessThan(3000);
    await t.record(interaction());
    await new Promise((r) => setTimeout(r, 300));
    expect(sub.events).toHaveLength(1);
  });

  it('rejects bad arguments with BAD_USER_INPUT or NOT_FOUND and the field', async () => {
    const c = client();
    const badCursor = c.subscribe(STAGES, { after: 'nope' });
    const badId = c.subscribe(STAGES, { customerId: 'nope' });
    const unknownId = c.subscribe(STAGES, { customerId: '00000000-0000-7000-8000-000000000000' });
    const badStage = c.subscribe(STAGES, { stages: ['GOLD'] });
    await Promise.all([badCursor.ended, badId.ended, unknownId.ended, badStage.ended]);
    expect(badCursor.errors).toEqual([[expect.objectContaining({ extensions: expect.objectContaining({ code: 'BAD_USER_INPUT', field: 'after' }) })]]);
    expect(badId.errors).toEqual([[expect.objectContaining({ extensions: expect.objectContaining({ code: 'BAD_USER_INPUT', field: 'customerId' }) })]]);
    expect(unknownId.errors).toEqual([[expect.objectContaining({ extensions: { code: 'NOT_FOUND' } })]]);
    expect(badStage.errors).toEqual([[expect.objectContaining({ message: expect.stringContaining('$stages'), extensions: expect.objectContaining({ code: 'BAD_USER_INPUT' }) })]]);
  });
});

describe('fan-out', () => {
  it('executes an event once per distinct selection, not once per subscriber', async () => {
    const same = Array.from({ length: 20 }, () => watch().subscribe(INTERACTIONS, { types: ['PAGE_VIEW'] }));
    const others = Array.from({ length: 5 }, () => client().subscribe('subscription { interactionRecorded { cursor interactionId } }'));
    await subscribed(25);
    const before = t.server.live.snapshot();
    await t.record(interaction());
    await eventually(() => [...same, ...others].every((s) => s.events.length === 1), 3000, 'all 25 subscribers');
    const after = t.server.live.snapshot();
    expect(after.executions - before.executions).toBe(2);
    expect(after.messages - before.messages).toBe(25);
    expect(new Set(same.map((s) => JSON.stringify(s.events)))).toEqual(new Set([JSON.stringify(same[0].events)]));
  });

  it('closes a subscriber that does not read (4413) and keeps serving the others', async () => {
    const { ws, closed } = await rawSocket(t.url);
    ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${watcher}` } }));
    await new Promise((r) => ws.once('message', r));
    const fat = 'subscription { interactionRecorded { cursor interaction { id externalId properties identifiers { type value raw } customer { id traits identifiers { type value rawValue } } } } }';
    ws.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: fat } }));
    const healthy = watch().subscribe(INTERACTIONS);
    await subscribed(2);
    // Stop reading: the kernel buffers fill up, then the server's send buffer.
    (ws as any)._socket.pause();

    let maxBuffered = 0;
    const probe = setInterval(() => (maxBuffered = Math.max(maxBuffered, t.server.live.snapshot().maxBufferedBytes)), 5);
    let sent = 0;
    try {
      for (let batch = 0; batch < 40 && t.server.live.snapshot().slowConsumerCloses === 0; batch++) {
        const inputs = Array.from({ length: 250 }, () => interaction({ properties: { note: 'x'.repeat(400) }, traits: { bio: 'y'.repeat(400) } }));
        const res = await t.gql(RecordInteractionsDocument, { inputs });
        expect(res.errors).toBeUndefined();
        sent += inputs.length;
      }
      await eventually(() => healthy.events.length === sent, 10_000, `the healthy subscriber's ${sent} events`);
    } finally {
      clearInterval(probe);
    }
    expect(t.server.live.snapshot().slowConsumerCloses).toBe(1);
    // What waits for one client is bounded: the limit plus the one message that crossed it.
    expect(maxBuffered).toBeLessThan(64 * 1024 + 16 * 1024);
    (ws as any)._socket.resume();
    expect((await closed).code).toBe(4413);
    expect(healthy.errors).toEqual([]);
  });
});

describe('commit order', () => {
  it('never passes an event whose transaction commits after a later one (sequence gaps)', async () => {
    const sub = client().subscribe('subscription { interactionRecorded { interactionId } }');
    await subscribed(1);
    const pg = (t.dataSource.options as any).url as string;
    const early = new Client({ connectionString: pg });
    const late = new Client({ connectionString: pg });
    await Promise.all([early.connect(), late.connect()]);
    const insert = (c: Client, id: string) =>
      c.query(`INSERT INTO event (topic, customer_id, payload) VALUES ('INTERACTION_RECORDED', $1, $2)`, [
        '00000000-0000-7000-8000-000000000001',
        { interactionId: id, type: 'PAGE_VIEW', channel: 'WEB', occurredAt: new Date().toISOString() },
      ]);
    try {
      await early.query('BEGIN');
      await insert(early, '00000000-0000-7000-8000-00000000000a'); // smaller transaction id and sequence number
      await late.query('BEGIN');
      await insert(late, '00000000-0000-7000-8000-00000000000b');
      await late.query('COMMIT');
      t.server.relay.committed();
      await new Promise((r) => setTimeout(r, 400));
      // The later one is committed, but an older transaction is still open: nothing may pass yet.
      expect(sub.events).toEqual([]);
      await early.query('COMMIT');
      t.server.relay.committed();
      await eventually(() => sub.events.length === 2, 2000, 'both events');
      expect(sub.events.map((e) => e.interactionId.slice(-1))).toEqual(['a', 'b']);
    } finally {
      await Promise.all([early.end(), late.end()]);
    }
  });

  it('is not held back by a transaction open in another database of the same server', async () => {
    const sub = client().subscribe('subscription { interactionRecorded { interactionId } }');
    await subscribed(1);
    const { server } = splitUrl((t.dataSource.options as any).url as string);
    const elsewhere = new Client({ connectionString: `${server}/postgres` });
    await elsewhere.connect();
    try {
      await elsewhere.query('BEGIN');
      await elsewhere.query('SELECT pg_current_xact_id()'); // holds a transaction id, older than the write below
      const recorded = await t.record(interaction({ type: 'PAGE_VIEW' }));
      await eventually(() => sub.events.length === 1, 2000, 'the event, while the other database\'s transaction is open');
      expect(sub.events[0].interactionId).toBe(recorded.interaction!.id);
    } finally {
      await elsewhere.query('ROLLBACK').catch(() => undefined);
      await elsewhere.end();
    }
  });
});
