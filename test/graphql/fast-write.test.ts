import { Scope } from '../../src/modules/access/scope.enum';
import { InteractionResolver } from '../../src/modules/interactions/interaction.resolver';
import { EraseCustomerDocument } from '../generated/graphql';
import { interaction, unique } from '../helpers/factories';
import { rawPost, type RawAnswer } from '../helpers/http';
import { startTestServer, type TestServer } from '../helpers/server';

/*
 * Plain recordInteraction documents are answered in the front lane (src/graphql/fast-write/),
 * without Express, Apollo or the resolver; they must answer exactly what the resolver answers.
 * The general path is reached with the same request sent chunked (no content-length), which the
 * lane always leaves to Express; the resolver is watched to know which path answered.
 *
 * As in fallback.test.ts, this file's database refuses (CHECK constraint) an interaction whose
 * properties carry `refusedByTheDatabase`.
 */
let t: TestServer;
let resolver: jest.SpyInstance;
let errors: jest.SpyInstance;
beforeAll(async () => {
  t = await startTestServer();
  await t.sql(`ALTER TABLE interaction ADD CONSTRAINT test_refused CHECK (NOT (properties ? 'refusedByTheDatabase'))`);
  resolver = jest.spyOn(InteractionResolver.prototype, 'recordInteraction');
  errors = jest.spyOn(console, 'error').mockImplementation(() => undefined);
});
afterAll(async () => {
  resolver.mockRestore();
  errors.mockRestore();
  await t.close();
});

/** A request with `key`; `chunked` sends it to the general path (see rawPost). */
const raw = (body: string, key: string, chunked = false): Promise<RawAnswer> =>
  rawPost(t.url, body, { 'content-type': 'application/json', authorization: `Bearer ${key}` }, chunked);

/** The same request through the lane and through the general path, and which of them ran the resolver. */
async function both(query: string, variables: Record<string, unknown>, key = t.keys.readWrite, operationName?: string) {
  const body = JSON.stringify({ query, variables, ...(operationName ? { operationName } : {}) });
  resolver.mockClear();
  const lane = await raw(body, key);
  const laneRanResolver = resolver.mock.calls.length > 0;
  resolver.mockClear();
  const general = await raw(body, key, true);
  return { lane, general, laneRanResolver, generalRanResolver: resolver.mock.calls.length > 0 };
}

const RESULT = 'index status interactionId customerId mergedCustomerIds warnings { code field message } problems { code field message reason }';
const PLAIN: Array<[string, string, string | undefined]> = [
  ['the benchmark\'s shape', 'mutation BenchSingle($input: RecordInteractionInput!) { recordInteraction(input: $input) { status } }', undefined],
  ['every plain field', `mutation Every($input: RecordInteractionInput!) { recordInteraction(input: $input) { ${RESULT} __typename } }`, undefined],
  ['aliases, and one operation of two', `query Other { __typename } mutation Aliased($x: RecordInteractionInput!) { r: recordInteraction(input: $x) { s: status id: interactionId w: warnings { c: code __typename } } }`, 'Aliased'],
];

describe('plain recordInteraction documents', () => {
  it.each(PLAIN)('%s: answered by the lane, as the resolver answers (CREATED, then DUPLICATE)', async (_name, query, operationName) => {
    const vars = (input: unknown) => ({ [query.includes('$x') ? 'x' : 'input']: input });
    const first = interaction({ identifiers: [{ type: 'EMAIL', value: `${unique('w')}@example.com` }, { type: 'EMAIL', value: 'test@test.com' }] });
    const second = { ...first, externalId: unique('evt') };
    // A new item through each path: the same answer but for the ids.
    resolver.mockClear();
    const laneCreated = await raw(JSON.stringify({ query, variables: vars(first), operationName }), t.keys.readWrite);
    expect(resolver).not.toHaveBeenCalled();
    const generalCreated = await raw(JSON.stringify({ query, variables: vars(second), operationName }), t.keys.readWrite, true);
    expect(resolver).toHaveBeenCalled();
    const ids = (a: RawAnswer) => JSON.parse(JSON.stringify(a.body).replace(/"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"/g, '"<id>"'));
    expect(laneCreated.status).toBe(200);
    expect(laneCreated.body.errors).toBeUndefined();
    expect(ids(laneCreated)).toEqual(ids(generalCreated));
    expect(laneCreated.headers['content-type']).toBe(generalCreated.headers['content-type']);
    // The same item again: DUPLICATE of the same interaction, byte for byte.
    const again = await both(query, vars(first), t.keys.readWrite, operationName);
    expect([again.laneRanResolver, again.generalRanResolver]).toEqual([false, true]);
    expect(again.lane.body).toEqual(again.general.body);
    expect(JSON.stringify(again.lane.body)).toContain('DUPLICATE');
    // What the lane stored is what the resolver stores: the item, its customer and its one audit row.
    const [stored] = await t.sql(`SELECT customer_id::text, channel, type FROM interaction WHERE external_id = $1`, [first.externalId]);
    expect(stored).toMatchObject({ channel: 'WEB', type: 'PAGE_VIEW' });
    const audit = await t.sql(`SELECT operation, operation_name, customer_ids::text[] AS ids FROM audit WHERE $1::uuid = ANY(customer_ids) AND operation = 'Mutation.recordInteraction'`, [stored.customer_id]);
    expect(audit[0]).toEqual({ operation: 'Mutation.recordInteraction', operation_name: query.match(/mutation (\w+)/)![1], ids: [stored.customer_id] });
  });

  it('counts and logs the operation as the general path does (metric by operation name and outcome)', async () => {
    const count = async () => {
      const text = await t.server.metrics.registry.getSingleMetricAsString('cg_graphql_operations_total');
      const line = text.split('\n').find((l) => l.includes('operation="BenchSingle"') && l.includes('type="mutation"') && l.includes('outcome="ok"') && l.includes('transport="http"'));
      return line ? Number(line.split(' ').pop()) : 0;
    };
    const before = await count();
    resolver.mockClear();
    await raw(JSON.stringify({ query: PLAIN[0][1], variables: { input: interaction() } }), t.keys.readWrite);
    expect(resolver).not.toHaveBeenCalled();
    expect(await count()).toBe(before + 1);
  });

  it('answers a refused identifier (an erased person) with the resolver\'s error, after the write\'s check', async () => {
    const email = { type: 'EMAIL' as const, value: `${unique('gone')}@example.com` };
    const { customerId } = await t.record(interaction({ identifiers: [email] }));
    expect((await t.gql(EraseCustomerDocument, { id: customerId!, reason: 'lane test' }, t.keys.admin)).errors).toBeUndefined();
    const query = PLAIN[1][1];
    const refused = await both(query, { input: interaction({ identifiers: [email] }) });
    expect([refused.laneRanResolver, refused.generalRanResolver]).toEqual([false, true]);
    expect(refused.lane.body.errors[0]).toMatchObject({ path: ['recordInteraction'], extensions: { code: 'BAD_USER_INPUT', reason: 'SUPPRESSED_IDENTIFIER', field: 'input.identifiers[0]' } });
    expect(refused.lane.body).toEqual(refused.general.body);
    expect(refused.lane.status).toBe(refused.general.status);
  });

  it('answers a write the database refuses with INTERNAL_SERVER_ERROR, as the resolver does, writing nothing', async () => {
    const input = interaction({ properties: { refusedByTheDatabase: true } });
    const refused = await both(PLAIN[0][1], { input });
    expect([refused.laneRanResolver, refused.generalRanResolver]).toEqual([false, true]);
    expect(refused.lane.body).toEqual(refused.general.body);
    expect(refused.lane.body).toMatchObject({ data: null, errors: [{ path: ['recordInteraction'], extensions: { code: 'INTERNAL_SERVER_ERROR' } }] });
    expect(await t.sql(`SELECT id FROM interaction WHERE external_id = $1`, [input.externalId])).toEqual([]);
  });
});

describe('what the lane leaves to the general path, before anything is written', () => {
  const query = PLAIN[0][1];
  const cases: Array<[string, () => { query: string; variables: Record<string, unknown>; key: string }, string]> = [
    ['a key without the write scope', () => ({ query, variables: { input: interaction() }, key: t.keys.read }), 'FORBIDDEN'],
    ['an input the rules refuse (a CUSTOM interaction without a name)', () => ({ query, variables: { input: interaction({ type: 'CUSTOM' }) }, key: t.keys.readWrite }), 'BAD_USER_INPUT'],
    ['variables that do not coerce', () => ({ query, variables: { input: { ...interaction(), channel: 'FAX' } }, key: t.keys.readWrite }), 'BAD_USER_INPUT'],
    ['no variables at all', () => ({ query, variables: {}, key: t.keys.readWrite }), 'BAD_USER_INPUT'],
  ];
  it.each(cases)('%s: the same error from both', async (_name, make, code) => {
    const { query: q, variables, key } = make();
    const r = await both(q, variables, key);
    expect(r.lane.body).toEqual(r.general.body);
    expect(r.lane.status).toBe(r.general.status);
    expect(r.lane.body.errors[0].extensions.code).toBe(code);
    if (code === 'BAD_USER_INPUT' && variables.input) expect(await t.sql(`SELECT id FROM interaction WHERE external_id = $1`, [(variables.input as { externalId: string }).externalId])).toEqual([]);
  });

  it('a selection of the stored interaction or customer (their resolvers need the read scope) goes to the resolver', async () => {
    resolver.mockClear();
    const input = interaction();
    const res = await raw(JSON.stringify({ query: 'mutation M($input: RecordInteractionInput!) { recordInteraction(input: $input) { status customer { id } } }', variables: { input } }), t.keys.readWrite);
    expect(resolver).toHaveBeenCalledTimes(1);
    expect(res.body.data.recordInteraction).toMatchObject({ status: 'CREATED', customer: { id: expect.any(String) } });
    // A field asked twice (graphql-js merges it), and directives.
    resolver.mockClear();
    const twice = await raw(JSON.stringify({ query: 'mutation M($input: RecordInteractionInput!) { recordInteraction(input: $input) { status warnings { code } status warnings { field } } }', variables: { input: interaction() } }), t.keys.readWrite);
    expect(resolver).toHaveBeenCalledTimes(1);
    expect(twice.body.data.recordInteraction).toEqual({ status: 'CREATED', warnings: [] });
    // Directives too.
    resolver.mockClear();
    await raw(JSON.stringify({ query: 'mutation M($input: RecordInteractionInput!) { recordInteraction(input: $input) @include(if: true) { status } }', variables: { input: interaction() } }), t.keys.readWrite);
    expect(resolver).toHaveBeenCalledTimes(1);
  });
});

describe('the key\'s rate', () => {
  it('is taken once per write, whether the lane answers it or hands it on', async () => {
    // A burst of 4, then one more each second: a write charged twice would leave the fourth refused.
    const { key } = await t.server.services.apiKeys.create('lane write rate', [Scope.WRITE], { rateLimitPerSecond: 1, rateLimitBurst: 4 });
    const started = Date.now();
    const statuses: number[] = [];
    for (const chunked of [false, true, false, true, false]) statuses.push((await raw(JSON.stringify({ query: PLAIN[0][1], variables: { input: interaction() } }), key, chunked)).status);
    expect(statuses.slice(0, 4)).toEqual([200, 200, 200, 200]);
    if (Date.now() - started < 1000) expect(statuses[4]).toBe(429);
  });
});

describe('a document over the cost budget', () => {
  let tight: TestServer;
  beforeAll(async () => {
    // recordInteraction { status } costs 1 (an object field): a budget of 0 refuses it.
    tight = await startTestServer({ limits: { ...t.server.services.config.limits, maxCost: 0 } });
  });
  afterAll(() => tight.close());

  it('is left to the general path, which refuses it as it refuses any, writing nothing', async () => {
    const input = interaction();
    const body = JSON.stringify({ query: PLAIN[0][1], variables: { input } });
    const headers = { 'content-type': 'application/json', authorization: `Bearer ${tight.keys.readWrite}` };
    const lane = await rawPost(tight.url, body, headers);
    const general = await rawPost(tight.url, body, headers, true);
    expect(lane.body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
    expect(lane.body).toEqual(general.body);
    expect(lane.status).toBe(general.status);
    expect(await tight.sql(`SELECT id FROM interaction WHERE external_id = $1`, [input.externalId])).toEqual([]);
  });
});

describe('FAST_WRITES=false', () => {
  let off: TestServer;
  beforeAll(async () => {
    off = await startTestServer({ fastWrites: false });
  });
  afterAll(() => off.close());

  it('answers every recordInteraction through the resolver', async () => {
    resolver.mockClear();
    const res = await off.gql(
      (await import('graphql')).parse(PLAIN[0][1]),
      { input: interaction() },
      off.keys.readWrite,
    );
    expect(res.errors).toBeUndefined();
    expect(resolver).toHaveBeenCalledTimes(1);
  });
});
