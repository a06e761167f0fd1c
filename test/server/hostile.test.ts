import { interaction } from '../helpers/factories';
import { eventually, liveClient, rawSocket, type LiveClient } from '../helpers/live';
import { startTestServer, type TestServer } from '../helpers/server';

/**
 * What a key holder who means harm can send, each answered within the limits while a simple
 * query from someone else is still served. How long each attack takes, and the heap before and
 * after, are measured by `npm run bench:hostile` (bench/RESULTS.md), not asserted here.
 */
let t: TestServer;
const clients: LiveClient[] = [];
beforeAll(async () => {
  t = await startTestServer({ liveMaxConnectionsPerKey: 3, liveMaxSubscriptionsPerKey: 5 });
  await t.record(interaction());
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.dispose()));
});
afterAll(() => t.close());

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  body: any;
}

async function post(body: unknown, key: string | null = t.keys.readWrite, headers: Record<string, string> = {}): Promise<Answer> {
  const all: Record<string, string> = { 'content-type': 'application/json', ...headers };
  if (key) all.authorization = `Bearer ${key}`;
  const res = await fetch(t.url, { method: 'POST', headers: all, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await res.text();
  let json: any = null;
  try {
    json = JSON.parse(text);
  } catch {
    // asserted on by the caller
  }
  return { status: res.status, headers: res.headers, text, body: json };
}

const SIMPLE = '{ customers(first: 1) { edges { node { id } } } }';

/** Runs `attack` while a simple read from another key goes on; both answers. */
async function withBystander<T>(attack: () => Promise<T>): Promise<T> {
  const [result, bystander] = await Promise.all([attack(), post({ query: SIMPLE }, t.keys.read)]);
  expect(bystander.status).toBe(200);
  expect(bystander.body.errors).toBeUndefined();
  expect(bystander.body.data.customers.edges.length).toBe(1);
  return result;
}

function fragmentBomb(levels: number): string {
  const fragments = Array.from({ length: levels }, (_, i) => `fragment F${i} on Query { ...F${i + 1} ...F${i + 1} }`);
  return `query { ...F0 } ${fragments.join(' ')} fragment F${levels} on Query { __typename }`;
}

const wsSubscribe = async (key: string, payload: object) => {
  const s = await rawSocket(t.url);
  s.ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${key}` } }));
  await eventually(() => s.messages.length >= 1, 3000, 'the ack');
  expect(s.messages[0].type).toBe('connection_ack');
  return {
    ...s,
    async send(id: string, body: object = payload) {
      const before = s.messages.length;
      s.ws.send(JSON.stringify({ id, type: 'subscribe', payload: body }));
      await eventually(() => s.messages.slice(before).some((m) => m.id === id && (m.type === 'error' || m.type === 'complete')), 5000, `the answer to ${id}`);
      return s.messages.slice(before).filter((m) => m.id === id);
    },
  };
};

describe('documents built to exhaust the server', () => {
  it('refuses a small document of nested fragment spreads at once, over HTTP and the websocket', async () => {
    const query = fragmentBomb(23);
    expect(query.length).toBeLessThan(1200);
    const res = await withBystander(() => post({ query }, t.keys.read));
    expect(res.status).toBe(400);
    expect(res.body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
    expect(res.body.errors[0].message).toMatch(/more than \d+ fields once its fragments are expanded/);

    const ws = await wsSubscribe(t.keys.admin, { query });
    const [answer] = await ws.send('bomb');
    expect(answer.type).toBe('error');
    expect(answer.payload[0].extensions.code).toBe('BAD_USER_INPUT');
    const [nested] = await ws.send('nested', { query: `{ customers(first: 1, after: ${'['.repeat(5000)}${']'.repeat(5000)}) { edges { cursor } } }` });
    expect(nested.payload[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT' }, message: expect.stringMatching(/nests brackets/) });
    ws.ws.close();
  });

  it('refuses an operation over the cost budget before any SQL runs, saying its cost and the budget', async () => {
    const page = 'customers(first: 100) { edges { node { id interactions(first: 100) { edges { node { id type } } } } } }';
    const heavy = `{ a: ${page} b: ${page} }`;
    const baseline = await t.countStatements(() => post({ query: '{ customers(first: -1) { edges { cursor } } }' }));
    let res!: Answer;
    const statements = await t.countStatements(async () => {
      res = await withBystander(() => post({ query: heavy }));
    });
    expect(res.status).toBe(400);
    const [error] = res.body.errors;
    expect(error.extensions).toMatchObject({ code: 'BAD_USER_INPUT', maxCost: t.server.services.config.limits.maxCost });
    expect(error.extensions.cost).toBeGreaterThan(error.extensions.maxCost);
    expect(error.message).toContain(`costs ${error.extensions.cost}, over the budget of ${error.extensions.maxCost}`);
    // The bystander's read and the key look-ups: nothing of the heavy query.
    expect(statements).toBeLessThanOrEqual(baseline + 3);

    // Variables count: the same shape with a small page is served.
    const byVariable = 'query($n: Int!) { a: customers(first: $n) { ...Page } b: customers(first: $n) { ...Page } } fragment Page on CustomerConnection { edges { node { interactions(first: $n) { edges { node { id } } } } } }';
    const small = await post({ query: byVariable, variables: { n: 5 } });
    expect(small.body.errors).toBeUndefined();
    const big = await post({ query: byVariable, variables: { n: 100 } });
    expect(big.body.errors[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', maxCost: t.server.services.config.limits.maxCost });
  });

  it('refuses too many aliases, too deep a document and too many tokens as BAD_USER_INPUT', async () => {
    const aliases = `{ ${Array.from({ length: 40 }, (_, i) => `a${i}: lifecycleDistribution { total }`).join(' ')} }`;
    const attack = `{ ${Array.from({ length: 500 }, (_, i) => `a${i}: customers(first: 100) { edges { node { id interactions(first: 100) { edges { node { id } } } } } }`).join(' ')} }`;
    const deep = `{ customers(first: 1) { edges { node { interactions(first: 1) { edges { node { customer { interactions(first: 1) { edges { node { customer { id } } } } } } } } } } } }`;
    const tokens = `{ ${Array.from({ length: 6000 }, () => '__typename').join(' ')} }`;
    // One token per level: within maxTokens, but graphql-js's parser would recurse 5,000 deep.
    const nested = `mutation { identify(identifiers: [{ type: EMAIL, value: "a@example.com" }], traits: { a: ${'['.repeat(5000)}${']'.repeat(5000)} }) { customerId } }`;
    for (const [query, message] of [
      [aliases, /Aliases limit of 30 exceeded, found 40/],
      [attack, /tokens|Aliases limit/],
      [deep, /depth limit of 10 exceeded/],
      [tokens, /more that 5000 tokens/],
      [nested, /nests brackets more than 64 levels deep/],
    ] as const) {
      const res = await withBystander(() => post({ query }));
      expect(res.status).toBe(400);
      expect(res.body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
      expect(res.body.errors[0].message).toMatch(message);
    }
  });

  it('answers a body over MAX_BODY_BYTES with 413 and a body that is not JSON with 400, in JSON, without HTML or X-Powered-By', async () => {
    const huge = JSON.stringify({ query: `{ ${Array.from({ length: 150_000 }, (_, i) => `a${i}: __typename`).join(' ')} }` });
    expect(huge.length).toBeGreaterThan(t.server.services.config.maxBodyBytes);
    const tooLarge = await withBystander(() => post(huge));
    expect(tooLarge.status).toBe(413);
    expect(tooLarge.body.errors[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'PAYLOAD_TOO_LARGE' });

    const broken = await post('{"query": "{ __typename }"');
    expect(broken.status).toBe(400);
    expect(broken.body.errors[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'BODY_NOT_JSON' });

    for (const res of [tooLarge, broken, await post('garbage', null), await fetch(t.url.replace('/graphql', '/nowhere')).then(async (r) => ({ status: r.status, headers: r.headers, text: await r.text(), body: null }))]) {
      expect(res.text).not.toMatch(/<html|<pre|at \w+ \(|node_modules|\/src\//i);
      expect(JSON.parse(res.text).errors[0].extensions.code).toBeDefined();
      expect(res.headers.get('x-powered-by')).toBeNull();
    }
  });

  it('checks the key before reading the body: a large body with no key or an unknown key gets 401', async () => {
    const big = JSON.stringify({ query: `# ${'x'.repeat(3 * 1024 * 1024)}\n{ __typename }` });
    for (const key of [null, 'cg_unknown']) {
      const res = await post(big, key);
      expect(res.status).toBe(401);
      expect(res.body.errors[0].extensions.code).toBe('UNAUTHENTICATED');
    }
  });

  it('says to use the websocket when a subscription is sent over HTTP', async () => {
    const res = await post({ query: 'subscription { interactionRecorded { interactionId } }' }, t.keys.admin);
    expect(res.status).toBe(400);
    expect(res.body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
    expect(res.body.errors[0].message).toMatch(/websocket/);
  });
});

describe('the websocket under abuse', () => {
  it('does not keep large documents: the cache stays bounded however many are sent', async () => {
    const ws = await wsSubscribe(t.keys.read, {});
    const padding = `# ${'x'.repeat(512 * 1024)}\n`;
    for (let i = 0; i < 12; i++) {
      const [answer] = await ws.send(`big-${i}`, { query: `${padding}query Q${i} { __typename }`, operationName: 'Nothing' });
      expect(answer.type).toBe('error');
      expect(answer.payload[0].extensions.code).toBe('BAD_USER_INPUT');
    }
    const { documentCache } = t.server.live.snapshot();
    expect(documentCache.bytes).toBeLessThanOrEqual(1024 * 1024);
    expect(documentCache.bytes).toBeLessThan(16 * 1024 * 12);
    // The connection still works.
    const [next] = await ws.send('ok', { query: '{ __typename }' });
    expect(next).toMatchObject({ type: 'next', payload: { data: { __typename: 'Query' } } });
    ws.ws.close();
  });

  it('survives `complete` or a closed socket while an operation is still being set up', async () => {
    const slow = '{ lifecycleDistribution { total } multichannelImpact { customers } }';
    const ws = await wsSubscribe(t.keys.admin, {});
    ws.ws.send(JSON.stringify({ id: 'q', type: 'subscribe', payload: { query: slow } }));
    ws.ws.send(JSON.stringify({ id: 'q', type: 'complete' }));
    ws.ws.send(JSON.stringify({ id: 's', type: 'subscribe', payload: { query: 'subscription($a: String) { interactionRecorded(after: $a) { interactionId } }', variables: { a: null } } }));
    ws.ws.send(JSON.stringify({ id: 's', type: 'complete' }));
    const [after] = await ws.send('after', { query: '{ __typename }' });
    expect(after).toMatchObject({ type: 'next', payload: { data: { __typename: 'Query' } } });
    ws.ws.close();

    for (let i = 0; i < 5; i++) {
      const gone = await wsSubscribe(t.keys.admin, {});
      gone.ws.send(JSON.stringify({ id: 'q', type: 'subscribe', payload: { query: slow } }));
      gone.ws.terminate();
    }
    await eventually(() => t.server.live.snapshot().connections === 0, 5000, 'every connection to be forgotten');
    expect((await post({ query: SIMPLE }, t.keys.read)).status).toBe(200);
  });

  it('handles any root shape of a subscription: inline fragments and fragment spreads included', async () => {
    const c = liveClient(t.url, t.keys.admin);
    clients.push(c);
    const inline = c.subscribe('subscription { ... on Subscription { interactionRecorded { interactionId } } }', {}, 'interactionRecorded');
    const spread = c.subscribe('subscription { ...S } fragment S on Subscription { interactionRecorded { interactionId } }', {}, 'interactionRecorded');
    await eventually(() => t.server.live.snapshot().liveSubscriptions >= 2, 5000, 'two subscriptions');
    const { interactionId } = await t.record(interaction());
    await eventually(() => inline.events.length >= 1 && spread.events.length >= 1, 5000, 'both events');
    expect(inline.events.at(-1).interactionId).toBe(interactionId);
    expect(spread.events.at(-1).interactionId).toBe(interactionId);
    expect(c.closes).toEqual([]);
  });

  it('caps the connections of one key (4429) and the operations it holds over all its connections (RATE_LIMITED)', async () => {
    const { key } = await t.server.services.apiKeys.create('greedy screens', ['subscribe' as any]);
    const opened = [0, 1, 2].map(() => liveClient(t.url, key));
    clients.push(...opened);
    const subs = opened.flatMap((c) => [c.subscribe('subscription { interactionRecorded { interactionId } }'), c.subscribe('subscription { customerMerged { mergeId } }')]);
    await eventually(() => subs.filter((s) => s.isEnded()).length === 1, 5000, 'the sixth subscription to be refused');
    const refused = subs.find((s) => s.isEnded())!;
    expect(refused.errors).toEqual([[expect.objectContaining({ extensions: { code: 'RATE_LIMITED' } })]]);

    const fourth = liveClient(t.url, key);
    clients.push(fourth);
    const sub = fourth.subscribe('subscription { interactionRecorded { interactionId } }');
    await sub.ended;
    expect(fourth.closes[0].code).toBe(4429);
    expect(fourth.closes[0].reason).toMatch(/already has 3 open connections/);
  });
});

describe('per-key rate limits', () => {
  it('gives a key over its rate 429 with Retry-After and RATE_LIMITED, while another key goes on', async () => {
    const { key } = await t.server.services.apiKeys.create('chatty partner', ['read' as any], { rateLimitPerSecond: 2, rateLimitBurst: 3 });
    const answers = await Promise.all(Array.from({ length: 6 }, () => post({ query: SIMPLE }, key)));
    const other = await Promise.all(Array.from({ length: 6 }, () => post({ query: SIMPLE }, t.keys.read)));
    expect(answers.filter((a) => a.status === 200).length).toBe(3);
    const limited = answers.filter((a) => a.status === 429);
    expect(limited.length).toBe(3);
    for (const a of limited) {
      expect(Number(a.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(a.body.errors[0].extensions).toMatchObject({ code: 'RATE_LIMITED', retryAfter: Number(a.headers.get('retry-after')) });
      expect(a.body.errors[0].extensions.retryAfterMs).toBeGreaterThan(0);
    }
    expect(other.every((a) => a.status === 200 && !a.body.errors)).toBe(true);

    await new Promise((r) => setTimeout(r, Math.max(...limited.map((a) => a.body.errors[0].extensions.retryAfterMs))));
    expect((await post({ query: SIMPLE }, key)).status).toBe(200);
  });

  it('counts operations sent over the websocket against the same bucket', async () => {
    const { key } = await t.server.services.apiKeys.create('chatty screen', ['read' as any], { rateLimitPerSecond: 1, rateLimitBurst: 2 });
    const ws = await wsSubscribe(key, {});
    const answers = [];
    for (const id of ['a', 'b', 'c']) answers.push((await ws.send(id, { query: '{ __typename }' }))[0]);
    expect(answers.map((a) => a.type)).toEqual(['next', 'next', 'error']);
    expect(answers[2].payload[0].extensions).toMatchObject({ code: 'RATE_LIMITED', retryAfter: 1 });
    ws.ws.close();
  });
});

describe('the database', () => {
  it('bounds every statement of the API pool with statement_timeout, and serves analytics from a pool of its own', async () => {
    const [{ statement_timeout }] = await t.dataSource.query('SHOW statement_timeout');
    expect(statement_timeout).toBe('15s');
    const [{ statement_timeout: analytics }] = await t.server.analyticsDataSource.query('SHOW statement_timeout');
    expect(analytics).toBe('30s');

    const funnels = `{ ${Array.from({ length: 15 }, (_, i) => `f${i}: journeyFunnel(from: "2000-01-01T00:00:00Z", to: "2100-01-01T00:00:00Z") { started } m${i}: multichannelImpact { customers }`).join(' ')} }`;
    const [{ datname }] = await t.sql('SELECT current_database() AS datname');
    let most = 0;
    let watching = true;
    const watch = (async () => {
      while (watching) {
        const [{ n }] = await t.sql(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND application_name = 'customer-graph analytics'`, [datname]);
        most = Math.max(most, n);
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    const heavy = await withBystander(() => Promise.all([post({ query: funnels }, t.keys.read), post({ query: funnels }, t.keys.read)]));
    watching = false;
    await watch;
    for (const res of heavy) expect(res.body.errors).toBeUndefined();
    expect(most).toBeLessThanOrEqual(t.server.services.config.analyticsPoolSize);
  });
});

describe('introspection', () => {
  it('is on by default outside production, and off (with no "did you mean" hints) when turned off', async () => {
    const on = await post({ query: '{ __schema { queryType { name } } }' }, t.keys.read);
    expect(on.body.data.__schema.queryType.name).toBe('Query');
    const hinted = await post({ query: '{ custmers(first: 1) { edges { cursor } } }' }, t.keys.read);
    expect(hinted.body.errors[0].message).toMatch(/Did you mean "customers"/);

    const closed = await startTestServer({ introspection: false });
    try {
      const res = await fetch(closed.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${closed.keys.read}` },
        body: JSON.stringify({ query: '{ __schema { queryType { name } } }' }),
      });
      const body = (await res.json()) as any;
      expect(body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
      expect(body.errors[0].message).toMatch(/introspection/i);
      const misspelt = await fetch(closed.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${closed.keys.read}` },
        body: JSON.stringify({ query: `{ custmers(first: 1) { edges { cursor } } }` }),
      }).then((r) => r.json() as Promise<any>);
      expect(misspelt.errors[0].message).not.toMatch(/Did you mean/);
      const landing = await fetch(closed.url, { headers: { accept: 'text/html' } });
      expect(landing.status).toBe(401);
    } finally {
      await closed.close();
    }
  });
});
