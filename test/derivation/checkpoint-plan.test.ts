import { sqlParams } from '../../src/db/params';
import { loadDerivationInputs } from '../../src/modules/derivation/customer-history';
import { resumeHorizonMs } from '../../src/modules/lifecycle/rules';
import { checkDefinition, definitionSql } from '../../src/modules/segments/definition';
import type { SegmentDefinitionInput } from '../../src/modules/segments/segment.types';
import { RecordInteractionsDocument, type RecordInteractionInput } from '../generated/graphql';
import { unique } from '../helpers/factories';
import { startTestServer, type TestServer } from '../helpers/server';

/*
 * An append reads a checkpoint whose size does not grow with the customer's history. The rows
 * PostgreSQL reads for it are what proves that, under the plan the server runs it with: a single
 * write's statements run with generic plans, which expect what an average customer holds (here,
 * as in a shop, one journey), not the thousands a wholesale account holds. (PostgreSQL 15 then
 * took `max(started_at)` of the customer's journeys by reading them all; 17, the embedded one,
 * reads the last one either way.)
 */

let t: TestServer;
const HOUR = 3_600_000;
const START = Date.UTC(2019, 0, 1, 9);
const JOURNEYS = 150;
const SHOPPERS = 2000;

let busy: string;

beforeAll(async () => {
  // The statistics are taken by hand below, where a shop's would be: over many customers.
  t = await startTestServer({ analyzeAfterWrites: false });
  // 2,000 customers with one journey each, open (a visit), as the statistics of a shop see them…
  for (let batch = 0; batch < SHOPPERS / 1000; batch++) {
    await record(
      Array.from({ length: 1000 }, (_, i) => ({
        externalId: unique('evt'),
        channel: 'WEB',
        type: 'PAGE_VIEW',
        occurredAt: new Date(START + i * HOUR).toISOString(),
        identifiers: [{ type: 'EMAIL', value: `${unique('shopper')}@example.com` }],
      })) as RecordInteractionInput[],
    );
  }
  await t.sql('ANALYZE journey, lifecycle_transition, interaction, customer');
  // (As a shop of millions does: every customer's rows look unique, whatever the sample.)
  await t.sql('ALTER TABLE journey ALTER COLUMN customer_id SET (n_distinct = -1)');
  await t.sql('ALTER TABLE lifecycle_transition ALTER COLUMN customer_id SET (n_distinct = -1)');
  await t.sql('ANALYZE journey, lifecycle_transition');
  // …and one with 150 (a view, a cart, a purchase each, a day apart), which they do not see, as
  // a busy account among millions of customers.
  const email = `${unique('wholesale')}@example.com`;
  busy = await record(
    Array.from({ length: JOURNEYS * 3 }, (_, i) => ({
      externalId: unique('evt'),
      channel: 'WEB',
      type: (['PAGE_VIEW', 'ADD_TO_CART', 'PURCHASE'] as const)[i % 3],
      occurredAt: new Date(START + Math.floor(i / 3) * 24 * HOUR + (i % 3) * HOUR).toISOString(),
      identifiers: [{ type: 'EMAIL', value: email }],
      ...(i % 3 === 2 ? { amount: '20.00', currency: 'EUR' } : {}),
    })) as RecordInteractionInput[],
  );
});
afterAll(() => t.close());

async function record(inputs: RecordInteractionInput[]): Promise<string> {
  const res = await t.gql(RecordInteractionsDocument, { inputs });
  expect(res.errors).toBeUndefined();
  for (const r of res.data!.recordInteractions) expect(r.status).toBe('CREATED');
  return res.data!.recordInteractions[0].customerId!;
}

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Actual Rows': number;
  'Actual Loops': number;
  'Rows Removed by Filter'?: number;
  Plans?: PlanNode[];
}

function* nodes(node: PlanNode): Generator<PlanNode> {
  yield node;
  for (const child of node.Plans ?? []) yield* nodes(child);
}

/** The rows each scan of `relations` read (returned or filtered out) when `sql` ran once with its generic plan. */
async function rowsRead(sql: string, params: unknown[], relations: string[]): Promise<Array<{ relation: string; node: string; index: string | null; rows: number }>> {
  const runner = t.dataSource.createQueryRunner();
  try {
    await runner.connect();
    await runner.query(`SET plan_cache_mode = force_generic_plan`);
    await runner.query(`PREPARE measured AS ${sql}`);
    const literal = (v: unknown) => (v === null ? 'NULL' : typeof v === 'string' ? `'${v.replace(/'/g, "''")}'` : Array.isArray(v) ? `'{${v.join(',')}}'` : String(v));
    const [row] = await runner.query(`EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE measured(${params.map(literal).join(', ')})`);
    const plan: PlanNode = row['QUERY PLAN'][0].Plan;
    return [...nodes(plan)]
      .filter((node) => relations.includes(node['Relation Name'] ?? ''))
      .map((node) => ({
        relation: node['Relation Name']!,
        node: node['Node Type'],
        index: node['Index Name'] ?? null,
        rows: (node['Actual Rows'] + (node['Rows Removed by Filter'] ?? 0)) * node['Actual Loops'],
      }));
  } finally {
    await runner.query('DEALLOCATE ALL').catch(() => undefined);
    await runner.release();
  }
}

it("reads a bounded number of the customer's journeys and transitions, however many it holds", async () => {
  const [{ n }] = await t.sql<{ n: number }>('SELECT count(*)::int AS n FROM journey WHERE customer_id = $1', [busy]);
  expect(n).toBe(JOURNEYS);
  const [{ transitions }] = await t.sql<{ transitions: number }>('SELECT count(*)::int AS transitions FROM lifecycle_transition WHERE customer_id = $1', [busy]);
  expect(transitions).toBeGreaterThan(1);

  // The statement an append of this customer sends, as the server sends it.
  let sent: { sql: string; params: unknown[] } | undefined;
  const capture = { query: async (sql: string, params: unknown[]) => ((sent = { sql, params }), t.dataSource.query(sql, params)) };
  const horizon = resumeHorizonMs(t.server.services.config.lifecycle);
  const inputs = await loadDerivationInputs(capture, [{ id: busy, firstPending: { at: Date.now(), interactionId: 'ffffffff-ffff-7fff-bfff-ffffffffffff' }, full: false }], horizon);
  expect(inputs.get(busy)?.kind).toBe('resume');
  expect(sent!.params).toHaveLength(5);

  const read = await rowsRead(sent!.sql, sent!.params, ['journey', 'lifecycle_transition']);
  expect(read.length).toBeGreaterThan(0);
  // The latest journey, the latest converted one, the transition before the resume instant.
  expect(read.filter((r) => r.rows > 2)).toEqual([]);
});

it('reads what came after a late interaction, not what came before it', async () => {
  // Late by half an hour on the busy customer's last day: after it come that day's cart and
  // purchase; before it, 149 days of journeys and that day's view.
  const lastDay = START + (JOURNEYS - 1) * 24 * HOUR;
  let sent: { sql: string; params: unknown[] } | undefined;
  const capture = { query: async (sql: string, params: unknown[]) => ((sent = { sql, params }), t.dataSource.query(sql, params)) };
  const horizon = resumeHorizonMs(t.server.services.config.lifecycle);
  const inputs = await loadDerivationInputs(capture, [{ id: busy, firstPending: { at: lastDay + HOUR / 2, interactionId: 'ffffffff-ffff-7fff-bfff-ffffffffffff' }, full: false }], horizon);
  const input = inputs.get(busy)!;
  expect(input.kind).toBe('late');
  if (input.kind !== 'late') return;
  expect(input.journeys.tail.map((x) => x.type)).toEqual(['ADD_TO_CART', 'PURCHASE']);
  // The last day's journey (its view) and the day before's (view, cart, purchase).
  expect(input.journeys.prior).toHaveLength(4);
  expect(input.journeys.stored.size).toBe(2);

  const read = await rowsRead(sent!.sql, sent!.params, ['journey', 'lifecycle_transition', 'interaction']);
  expect(read.length).toBeGreaterThan(0);
  // Every scan but the lifecycle window's (the rules' 365 days of purchases, as for an append)
  // reads at most the two journeys' six interactions.
  expect(read.filter((r) => r.index !== 'interaction_lifecycle_idx' && r.rows > 6)).toEqual([]);
});

it("answers a segment's openJourney condition from the customer's open journey alone", async () => {
  const [{ open }] = await t.sql<{ open: number }>(`SELECT count(*)::int AS open FROM journey WHERE customer_id = $1 AND status = 'OPEN'`, [busy]);
  for (const openJourney of [true, false]) {
    const { params, param } = sqlParams();
    const sql = `SELECT c.id FROM customer c LEFT JOIN customer_value v ON v.customer_id = c.id
                  WHERE c.id = ANY(${param([busy], 'uuid[]')}) AND (${definitionSql(checkDefinition({ openJourney } as SegmentDefinitionInput, [], 'definition', []), param)})`;
    const read = await rowsRead(sql, params, ['journey']);
    expect(read.length).toBeGreaterThan(0);
    expect(read.filter((r) => r.rows > 1)).toEqual([]);
    const [{ n }] = await t.sql<{ n: number }>(`SELECT count(*)::int AS n FROM (${sql}) m`, params);
    expect(n).toBe(openJourney === open > 0 ? 1 : 0);
  }
});
