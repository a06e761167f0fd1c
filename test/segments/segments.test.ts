import { parse } from 'graphql';

import { uuidv7 } from '../../src/db/uuid';
import { Scope } from '../../src/modules/access/scope.enum';
import { CreateSegmentDocument, CustomerValueDocument, DeleteSegmentDocument, SegmentAudienceDocument, SegmentDocument, UpdateSegmentDocument } from '../generated/graphql';
import { interaction, unique } from '../helpers/factories';
import { eventually, useLiveServer } from '../helpers/live';

/**
 * How long a live delivery may take here. Events are delivered once every older transaction in
 * the database has ended (the settled-transaction log); a background evaluation or sweep running
 * beside a test delays delivery by its own length.
 */
const DELIVERY_MS = 10_000;

const live = useLiveServer();
const DAY = 86_400_000;
const daysAgo = (d: number) => new Date(Date.now() - d * DAY).toISOString();
const SUB = 'subscription S($ids: [ID!], $after: String) { segmentMembershipChanged(segmentIds: $ids, after: $after) { cursor segmentId change customerId segment { name } } }';

async function createSegment(name: string, definition: Record<string, unknown>) {
  const t = live.t;
  const res = await t.gql(CreateSegmentDocument, { name, definition }, t.keys.admin);
  expect(res.errors).toBeUndefined();
  await t.server.services.segments.idle();
  return res.data!.createSegment;
}

const membershipEvents = async (segmentId: string) =>
  live.t.sql(`SELECT customer_id, payload->>'change' AS change FROM event WHERE topic = 'SEGMENT_MEMBERSHIP_CHANGED' AND payload->>'segmentId' = $1 ORDER BY xid, seq`, [segmentId]);

describe('segments', () => {
  it('a write that moves a customer in emits exactly one ENTERED, one that moves it out exactly one LEFT; members and filters follow', async () => {
    const t = live.t;
    const segment = await createSegment(unique('big spenders'), { minNetRevenue: '100', channels: ['STORE', 'WEB'] });
    const watcher = (await t.server.services.apiKeys.create('segment screen', [Scope.SUBSCRIBE])).key;
    const sub = live.client(watcher).subscribe(SUB, { ids: [segment.id] });
    await live.subscribed(1);
    const email = { type: 'EMAIL' as const, value: `${unique('s')}@example.com` };
    const first = await t.record(interaction({ channel: 'STORE', type: 'PURCHASE', amount: '60', occurredAt: daysAgo(3), identifiers: [email] }));
    expect(await membershipEvents(segment.id)).toEqual([]);
    await t.record(interaction({ channel: 'STORE', type: 'PURCHASE', amount: '50', occurredAt: daysAgo(2), identifiers: [email] }));
    await t.record(interaction({ channel: 'WEB', type: 'PAGE_VIEW', occurredAt: daysAgo(1), identifiers: [email] }));
    expect(await membershipEvents(segment.id)).toEqual([{ customer_id: first.customerId, change: 'ENTERED' }]);
    const seg = (await t.gql(SegmentDocument, { id: segment.id })).data!.segment!;
    expect(seg).toMatchObject({ size: 1, status: 'READY', members: { edges: [{ node: { id: first.customerId } }] } });
    const audience = (await t.gql(SegmentAudienceDocument, { segment: segment.id, first: 10 })).data!.customers.edges.map((e) => e.node.id);
    expect(audience).toEqual([first.customerId]);
    expect((await t.gql(CustomerValueDocument, { id: first.customerId! })).data!.customer!.segments.map((s) => s.id)).toEqual([segment.id]);

    await t.record(interaction({ channel: 'WEB', type: 'REFUND', amount: '20', occurredAt: new Date().toISOString(), identifiers: [email] }));
    expect(await membershipEvents(segment.id)).toEqual([
      { customer_id: first.customerId, change: 'ENTERED' },
      { customer_id: first.customerId, change: 'LEFT' },
    ]);
    await eventually(() => sub.events.length >= 2, DELIVERY_MS, 'both events live');
    expect(sub.events.map((e) => [e.change, e.customerId, e.segment.name])).toEqual([
      ['ENTERED', first.customerId, segment.name],
      ['LEFT', first.customerId, segment.name],
    ]);
    expect((await t.gql(SegmentDocument, { id: segment.id })).data!.segment!.size).toBe(0);
  });

  it('a subscriber resuming with `after` misses nothing', async () => {
    const t = live.t;
    const segment = await createSegment(unique('buyers'), { minOrderCount: 1 });
    const c1 = live.client(live.t.keys.subscribe);
    const first = c1.subscribe(SUB, { ids: [segment.id] });
    await live.subscribed(1);
    const buy = () => t.record(interaction({ type: 'PURCHASE', amount: '5', identifiers: [{ type: 'EMAIL', value: `${unique('b')}@example.com` }] }));
    const a = await buy();
    await eventually(() => first.events.length === 1, DELIVERY_MS, 'the first entry');
    await c1.dispose();
    const b = await buy();
    const c = await buy();
    const resumed = live.client(live.t.keys.subscribe).subscribe(SUB, { ids: [segment.id], after: first.events[0].cursor });
    await eventually(() => resumed.events.length >= 2, DELIVERY_MS, 'the replay');
    const d = await buy();
    await eventually(() => resumed.events.length >= 3, DELIVERY_MS, 'the live event');
    expect(first.events.map((e) => e.customerId)).toEqual([a.customerId]);
    expect(resumed.events.map((e) => e.customerId)).toEqual([b.customerId, c.customerId, d.customerId]);
  });

  it('a write begun before a new segment, and committed after, is still evaluated against it', async () => {
    // Another instance's write: it read the definitions (no such segment yet) and has not committed
    // when the segment is created. Its new customer cannot be locked by the evaluation's batches.
    const t = live.t;
    const tier = unique('platinum');
    const customerId = uuidv7();
    const writer = t.dataSource.createQueryRunner();
    await writer.connect();
    await writer.startTransaction();
    try {
      await writer.query(`INSERT INTO customer (id, created_at, updated_at, traits) VALUES ($1, now(), now(), $2)`, [customerId, { tier }]);
      const res = await t.gql(CreateSegmentDocument, { name: unique('platinum'), definition: { traits: [{ key: 'tier', equals: tier }] } }, t.keys.admin);
      expect(res.errors).toBeUndefined();
      // Longer than the definitions are cached, so an evaluation that did not wait would be done by now.
      await new Promise((resolve) => setTimeout(resolve, 2500));
      await writer.commitTransaction();
      await t.server.services.segments.idle();
      const segment = (await t.gql(SegmentDocument, { id: res.data!.createSegment.id })).data!.segment!;
      expect(segment).toMatchObject({ status: 'READY', size: 1, members: { edges: [{ node: { id: customerId } }] } });
    } finally {
      if (writer.isTransactionActive) await writer.rollbackTransaction();
      await writer.release();
    }
  });

  it('a sweep that moves 100 due customers re-evaluates those 100, not the whole base', async () => {
    const t = live.t;
    await createSegment(unique('at risk'), { stages: ['AT_RISK'] });
    const batch = (n: number, make: (i: number) => ReturnType<typeof interaction>) => t.gql(parse('mutation B($i: [RecordInteractionInput!]!) { recordInteractions(inputs: $i) { status } }'), { i: Array.from({ length: n }, (_, i) => make(i)) });
    // 100 who bought 100 days ago (due: AT_RISK after 90 days), 400 who only looked today.
    await batch(100, () => interaction({ type: 'PURCHASE', amount: '10', occurredAt: daysAgo(100), identifiers: [{ type: 'EMAIL', value: `${unique('due')}@example.com` }] }));
    await batch(400, () => interaction({ occurredAt: new Date().toISOString() }));
    const stats = t.server.services.segments.stats;
    const before = stats.customersEvaluated;
    const sweep = await t.gql(parse('mutation { evaluateLifecycle { examined moved } }'), {}, t.keys.admin);
    expect((sweep.data as any).evaluateLifecycle.examined).toBeGreaterThanOrEqual(100);
    const examined = (sweep.data as any).evaluateLifecycle.examined;
    expect(stats.customersEvaluated - before).toBe(examined);
    expect(examined).toBeLessThan(150);
    const [{ n: total }] = await t.sql(`SELECT count(*)::int AS n FROM customer`);
    expect(total).toBeGreaterThan(500);
  });

  it('a merge: the merged customer leaves, the survivor is evaluated', async () => {
    const t = live.t;
    const segment = await createSegment(unique('app users'), { channels: ['APP'] });
    const device = { type: 'DEVICE_ID' as const, value: unique('d') };
    const email = { type: 'EMAIL' as const, value: `${unique('m')}@example.com` };
    const older = await t.record(interaction({ channel: 'WEB', identifiers: [email] }));
    const newer = await t.record(interaction({ channel: 'APP', identifiers: [device] }));
    await t.record(interaction({ channel: 'WEB', identifiers: [email, device] }));
    expect(await membershipEvents(segment.id)).toEqual([
      { customer_id: newer.customerId, change: 'ENTERED' },
      { customer_id: newer.customerId, change: 'LEFT' },
      { customer_id: older.customerId, change: 'ENTERED' },
    ]);
  });

  it('a changed definition is evaluated again in the background, with its progress; bad definitions are refused with their paths', async () => {
    const t = live.t;
    for (let i = 0; i < 5; i++) await t.record(interaction({ type: 'PURCHASE', amount: String(200 + i), identifiers: [{ type: 'EMAIL', value: `${unique('r')}@example.com` }], traits: { tier: i % 2 ? 'gold' : 'silver', score: i } }));
    const segment = await createSegment(unique('gold'), { traits: [{ key: 'tier', equals: 'gold' }] });
    const gold = (await t.gql(SegmentDocument, { id: segment.id })).data!.segment!;
    const [{ n: golds }] = await t.sql(`SELECT count(*)::int AS n FROM customer WHERE merged_into_id IS NULL AND traits->'tier' = '"gold"'`);
    expect(gold).toMatchObject({ status: 'READY', size: golds });
    expect(gold.progress.evaluated).toBe(gold.progress.total);
    expect(gold.sizeHistory.at(-1)!.size).toBe(golds);

    const changed = await t.gql(UpdateSegmentDocument, { id: segment.id, definition: { traits: [{ key: 'score', min: 3 }] } }, t.keys.admin);
    expect(changed.data!.updateSegment.status).toBe('EVALUATING');
    await t.server.services.segments.idle();
    const [{ n: high }] = await t.sql(`SELECT count(*)::int AS n FROM customer WHERE merged_into_id IS NULL AND jsonb_typeof(traits->'score') = 'number' AND (traits->>'score')::numeric >= 3`);
    expect((await t.gql(SegmentDocument, { id: segment.id })).data!.segment).toMatchObject({ status: 'READY', size: high });

    const bad = await t.gql(CreateSegmentDocument, { name: 'bad', definition: { minOrderCount: 5, maxOrderCount: 2, rfmCells: ['5x5'], traits: [{ key: 'a b' }], consent: { purpose: 'NOPE', status: 'GRANTED' } } }, t.keys.admin);
    expect(bad.errors![0].extensions!.code).toBe('BAD_USER_INPUT');
    expect(bad.errors![0].extensions!.problems.map((p: { field: string }) => p.field)).toEqual([
      'definition.maxOrderCount',
      'definition.rfmCells[0]',
      'definition.traits[0].key',
      'definition.traits[0]',
      'definition.consent.purpose',
    ]);
    const empty = await t.gql(CreateSegmentDocument, { name: 'empty', definition: {} }, t.keys.admin);
    expect(empty.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'definition' });
    const twice = await t.gql(CreateSegmentDocument, { name: gold.name.toUpperCase(), definition: { minOrderCount: 1 } }, t.keys.admin);
    expect(twice.errors![0].extensions!.code).toBe('CONFLICT');
    const notAdmin = await t.gql(CreateSegmentDocument, { name: 'mine', definition: { minOrderCount: 1 } });
    expect(notAdmin.errors![0].extensions!.code).toBe('FORBIDDEN');
    const badFilter = await t.gql(SegmentAudienceDocument, { segment: 'x' });
    expect(badFilter.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'filter.segment' });

    expect((await t.gql(DeleteSegmentDocument, { id: segment.id }, t.keys.admin)).data!.deleteSegment).toBe(true);
    expect((await t.gql(SegmentDocument, { id: segment.id })).errors![0].extensions!.code).toBe('NOT_FOUND');
    expect(await t.sql(`SELECT 1 FROM segment_member WHERE segment_id = $1`, [segment.id])).toEqual([]);
  });
});
