import { EvaluateLifecycleDocument, IdentifyDocument, LifecycleDistributionDocument, RecordInteractionsDocument, type RecordInteractionInput } from '../generated/graphql';
import { interaction, unique } from '../helpers/factories';
import { startTestServer, type TestServer } from '../helpers/server';
import { stageAtJoin, stageCountsSql, type CountedSide } from '../../src/modules/lifecycle/stage-at';

/*
 * lifecycleDistribution counts stage changes on one side of asOf instead of looking each customer
 * up: here it must give what the per-customer look-up gives, at every instant that matters.
 */

let t: TestServer;

const DAY = 86_400_000;
const START = Date.UTC(2023, 0, 1, 9);
const iso = (ms: number) => new Date(ms).toISOString();

/** The look-up per live customer the distribution was first written as: the reference. */
async function reference(asOf: string): Promise<Record<string, number>> {
  const rows = await t.sql<{ stage: string; n: number }>(
    `SELECT coalesce(t.to_stage, 'PROSPECT') AS stage, count(*)::int AS n
       FROM customer c
       ${stageAtJoin('c.id', '$1')}
      WHERE c.merged_into_id IS NULL
        AND (t.to_stage IS NOT NULL OR (c.last_interaction_at IS NULL AND c.created_at <= $1))
      GROUP BY 1`,
    [asOf],
  );
  return Object.fromEntries(rows.map((r) => [r.stage, r.n]));
}

async function side(which: CountedSide, asOf: string): Promise<Record<string, number>> {
  const rows = await t.sql<{ stage: string; n: number }>(stageCountsSql(which), [asOf]);
  return Object.fromEntries(rows.map((r) => [r.stage, r.n]));
}

async function viaApi(asOf: string): Promise<Record<string, number>> {
  const res = await t.gql(LifecycleDistributionDocument, { asOf });
  expect(res.errors).toBeUndefined();
  const d = res.data!.lifecycleDistribution;
  expect(d.total).toBe(d.stages.reduce((sum, s) => sum + s.count, 0));
  return Object.fromEntries(d.stages.filter((s) => s.count > 0).map((s) => [s.stage, s.count]));
}

async function record(inputs: RecordInteractionInput[]): Promise<Array<string | null>> {
  const res = await t.gql(RecordInteractionsDocument, { inputs });
  expect(res.errors).toBeUndefined();
  for (const r of res.data!.recordInteractions) expect(r.status).toBe('CREATED');
  return res.data!.recordInteractions.map((r) => r.customerId ?? null);
}

/** A small seeded generator: the same histories on every run. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), a | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

beforeAll(async () => {
  t = await startTestServer();
  const rnd = random(14);
  const person = () => [{ type: 'CUSTOMER_ID' as const, value: unique('d') }];

  // Varied histories: browsers, one-off buyers, regulars, lapsed and reactivated buyers, closed accounts, advocates.
  const inputs: RecordInteractionInput[] = [];
  for (let i = 0; i < 40; i++) {
    const who = person();
    let at = START + Math.floor(rnd() * 300) * DAY + Math.floor(rnd() * DAY);
    if (i % 5 === 0) inputs.push(interaction({ type: 'PAGE_VIEW', occurredAt: iso(at), identifiers: who }));
    const purchases = i % 7 === 0 ? 0 : 1 + Math.floor(rnd() * 6);
    for (let p = 0; p < purchases; p++) {
      at += Math.floor((rnd() < 0.2 ? 150 : 25) * rnd() * DAY) + 1;
      inputs.push(interaction({ type: 'PURCHASE', amount: '20', occurredAt: iso(at), identifiers: who }));
      if (rnd() < 0.1) inputs.push(interaction({ type: 'REFERRAL', occurredAt: iso(at + 1000), identifiers: who }));
    }
    if (i % 11 === 3) inputs.push(interaction({ type: 'ACCOUNT_CLOSED', occurredAt: iso(at + 5 * DAY), identifiers: who }));
  }
  await record(inputs);

  // Two customers merged by an interaction naming both (the younger one becomes a tombstone with its transitions).
  const email = () => [{ type: 'EMAIL' as const, value: `${unique('m')}@example.com` }];
  const [older, younger] = [email(), email()];
  await record([interaction({ type: 'PURCHASE', amount: '5', occurredAt: iso(START + 10 * DAY), identifiers: older })]);
  await record([
    interaction({ type: 'PURCHASE', amount: '5', occurredAt: iso(START + 20 * DAY), identifiers: younger }),
    interaction({ type: 'PURCHASE', amount: '5', occurredAt: iso(START + 200 * DAY), identifiers: younger }),
  ]);
  await record([interaction({ type: 'PURCHASE', amount: '5', occurredAt: iso(START + 400 * DAY), identifiers: [...younger, ...older] })]);

  // A late interaction rewriting a history, two transitions at the same instant as another customer's.
  const late = person();
  await record([interaction({ type: 'PURCHASE', amount: '5', occurredAt: iso(START + 100 * DAY), identifiers: late })]);
  await record([interaction({ type: 'PURCHASE', amount: '5', occurredAt: iso(START + 20 * DAY), identifiers: late })]);

  // Prospects without any interaction (identify only), one of them merged into another.
  for (let i = 0; i < 3; i++) expect((await t.gql(IdentifyDocument, { identifiers: [{ type: 'EMAIL', value: `${unique('p')}@example.com` }] })).errors).toBeUndefined();
  const [a, b] = [`${unique('pa')}@example.com`, `${unique('pb')}@example.com`];
  await t.gql(IdentifyDocument, { identifiers: [{ type: 'EMAIL', value: a }] });
  await t.gql(IdentifyDocument, { identifiers: [{ type: 'EMAIL', value: b }] });
  await t.gql(IdentifyDocument, { identifiers: [{ type: 'EMAIL', value: a }, { type: 'EMAIL', value: b }] });

  // Time passes: sweeps move customers to AT_RISK, CHURNED, out of LOYAL…
  for (const asOf of [iso(START + 500 * DAY), null]) {
    const res = await t.gql(EvaluateLifecycleDocument, { asOf }, t.keys.admin);
    expect(res.errors).toBeUndefined();
  }
});
afterAll(() => t.close());

describe('lifecycleDistribution', () => {
  it('holds the data this test is about: merged customers with transitions, prospects without interactions, time-driven transitions', async () => {
    const [shape] = await t.sql(
      `SELECT count(*) FILTER (WHERE merged_into_id IS NOT NULL AND EXISTS (SELECT 1 FROM lifecycle_transition x WHERE x.customer_id = c.id))::int AS merged_with_transitions,
              count(*) FILTER (WHERE merged_into_id IS NULL AND last_interaction_at IS NULL)::int AS prospects,
              (SELECT count(*)::int FROM lifecycle_transition WHERE cause_interaction_id IS NULL) AS by_time,
              (SELECT count(DISTINCT to_stage)::int FROM lifecycle_transition) AS stages
         FROM customer c`,
    );
    expect(shape.merged_with_transitions).toBeGreaterThanOrEqual(1);
    expect(shape.prospects).toBe(4);
    expect(shape.by_time).toBeGreaterThan(10);
    expect(shape.stages).toBeGreaterThanOrEqual(6);
  });

  it('equals the per-customer look-up at every transition instant, a millisecond either side, between, before any data and after all', async () => {
    const instants = new Set<number>([Date.parse('2000-01-01T00:00:00Z'), START - 1, Date.now(), Date.now() + 3_600_000]);
    const marks = await t.sql<{ at: Date }>(`SELECT at FROM lifecycle_transition UNION SELECT created_at FROM customer`);
    for (const { at } of marks) for (const d of [-1, 0, 1]) instants.add(at.getTime() + d);
    const sorted = [...instants].sort((x, y) => x - y);
    for (let i = 1; i < sorted.length; i += 7) instants.add(Math.floor((sorted[i - 1] + sorted[i]) / 2));

    const mismatches: string[] = [];
    for (const ms of [...instants].sort((x, y) => x - y)) {
      const asOf = iso(ms);
      const expected = await reference(asOf);
      const [before, after, api] = [await side('before', asOf), await side('after', asOf), await viaApi(asOf)];
      for (const [name, got] of Object.entries({ before, after, api })) {
        if (JSON.stringify(Object.entries(got).sort()) !== JSON.stringify(Object.entries(expected).sort())) mismatches.push(`${asOf} ${name}: ${JSON.stringify(got)} instead of ${JSON.stringify(expected)}`);
      }
    }
    expect(mismatches).toEqual([]);
    expect(instants.size).toBeGreaterThan(200);
  });

  it('counts nobody before the first customer and every live customer once after all', async () => {
    expect(await viaApi('2000-01-01T00:00:00.000Z')).toEqual({});
    const [{ live }] = await t.sql(`SELECT count(*)::int AS live FROM customer WHERE merged_into_id IS NULL`);
    const now = await viaApi(new Date(Date.now() + 60_000).toISOString());
    expect(Object.values(now).reduce((a, b) => a + b, 0)).toBe(live);
  });
});
