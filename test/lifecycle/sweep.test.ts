import { EvaluateLifecycleDocument, RecordInteractionsDocument } from '../generated/graphql';
import { interaction, unique } from '../helpers/factories';
import { startTestServer, type TestServer } from '../helpers/server';

const DAY = 24 * 3600 * 1000;

async function seedDue(t: TestServer, count: number): Promise<void> {
  const old = new Date(Date.now() - 120 * DAY).toISOString();
  const res = await t.gql(RecordInteractionsDocument, {
    inputs: Array.from({ length: count }, () => interaction({ type: 'PURCHASE', amount: '5', occurredAt: old, identifiers: [{ type: 'CUSTOMER_ID', value: unique('due') }] })),
  });
  expect(res.data!.recordInteractions.every((r) => r.status === 'CREATED')).toBe(true);
}

describe('concurrent and periodic sweeps', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ sweepBatchSize: 50 });
  });
  afterAll(() => t.close());

  it('two sweeps at once share the due customers: each is examined once and moves once', async () => {
    await seedDue(t, 600);
    const asOf = new Date().toISOString();
    const [a, b] = await Promise.all([
      t.gql(EvaluateLifecycleDocument, { asOf }, t.keys.admin),
      t.gql(EvaluateLifecycleDocument, { asOf }, t.keys.admin),
    ]);
    const [ra, rb] = [a.data!.evaluateLifecycle, b.data!.evaluateLifecycle];
    expect(ra.examined + rb.examined).toBe(600);
    expect(ra.moved + rb.moved).toBe(600);
    const [{ n, customers }] = await t.sql(`SELECT count(*)::int AS n, count(DISTINCT customer_id)::int AS customers FROM lifecycle_transition WHERE to_stage = 'AT_RISK'`);
    expect({ n, customers }).toEqual({ n: 600, customers: 600 });
  });
});

describe('the server sweep', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ sweepIntervalSeconds: 1 });
  });
  afterAll(() => t.close());

  it('moves due customers every LIFECYCLE_SWEEP_SECONDS without being asked', async () => {
    await seedDue(t, 3);
    const deadline = Date.now() + 10_000;
    let stages: string[] = [];
    while (Date.now() < deadline) {
      stages = (await t.sql(`SELECT stage FROM customer`)).map((r) => r.stage);
      if (stages.every((s) => s === 'AT_RISK')) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(stages).toEqual(['AT_RISK', 'AT_RISK', 'AT_RISK']);
  });
});
