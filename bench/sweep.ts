/**
 * npm run bench:sweep [-- --out bench/RESULTS.md]
 *
 * The lifecycle sweep examines only the customers that are due: on a fresh database, 10,000
 * customers with one purchase each (100 of them 100 days ago, the others 10 days ago) through the
 * GraphQL API, then evaluateLifecycle now. Checks that 100 are examined and moved to AT_RISK, that
 * a second sweep examines none, and the stage distribution now and 50 days ago; exits non-zero
 * when a figure is off. Prints the times, and appends them to --out when given.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import { parseArgs } from 'node:util';

import { freshServer, machine } from './fresh-server';

const DAY = 24 * 3600 * 1000;
const CUSTOMERS = 10_000;
const DUE = 100;
const BATCH = 1000;

const RECORD = `mutation ($inputs: [RecordInteractionInput!]!) { recordInteractions(inputs: $inputs) { status } }`;
const EVALUATE = `mutation ($asOf: DateTimeISO) { evaluateLifecycle(asOf: $asOf) { examined moved movedByStage { stage count } } }`;
const DISTRIBUTION = `query ($asOf: DateTimeISO) { lifecycleDistribution(asOf: $asOf) { total stages { stage count } } }`;

interface StageCount {
  stage: string;
  count: number;
}

async function gql<T>(url: string, key: string, query: string, variables: object): Promise<T> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: JSON.stringify({ query, variables }) });
  const body = (await res.json()) as { data?: T; errors?: Array<{ message: string }> };
  if (body.errors) throw new Error(body.errors[0].message);
  return body.data!;
}

function expectEqual(what: string, actual: unknown, expected: unknown): void {
  if (JSON.stringify(actual) !== JSON.stringify(expected)) {
    throw new Error(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
  }
}

const nonZero = (stages: StageCount[]) => Object.fromEntries(stages.filter((s) => s.count).map((s) => [s.stage, s.count]));

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { out: { type: 'string' } } });

  const fresh = await freshServer('sweep');
  const { server, key } = fresh;
  const url = server.url;
  try {
    const run = randomUUID().slice(0, 8);
    const now = Date.now();
    const recent = new Date(now - 10 * DAY).toISOString();
    const old = new Date(now - 100 * DAY).toISOString();

    const ingestStart = Date.now();
    for (let batch = 0; batch < CUSTOMERS / BATCH; batch++) {
      const inputs = Array.from({ length: BATCH }, (_, i) => ({
        channel: 'WEB',
        type: 'PURCHASE',
        amount: '12.50',
        externalId: `sweep-${run}-${batch}-${i}`,
        occurredAt: batch * BATCH + i < DUE ? old : recent,
        identifiers: [{ type: 'CUSTOMER_ID', value: `sweep-${run}-${batch}-${i}` }],
      }));
      const { recordInteractions } = await gql<{ recordInteractions: Array<{ status: string }> }>(url, key, RECORD, { inputs });
      const notCreated = recordInteractions.filter((r) => r.status !== 'CREATED').length;
      expectEqual(`batch ${batch}: interactions not created`, notCreated, 0);
    }
    const ingest = (Date.now() - ingestStart) / 1000;
    const [{ n }] = await fresh.dataSource.query(`SELECT count(*)::int AS n FROM customer`);
    expectEqual('customers', n, CUSTOMERS);

    type Evaluation = { evaluateLifecycle: { examined: number; moved: number; movedByStage: StageCount[] } };
    const asOf = new Date(now).toISOString();
    const sweepStart = Date.now();
    const { evaluateLifecycle: first } = await gql<Evaluation>(url, key, EVALUATE, { asOf });
    const sweep = (Date.now() - sweepStart) / 1000;
    expectEqual('first sweep', { examined: first.examined, moved: first.moved, stages: nonZero(first.movedByStage) }, { examined: DUE, moved: DUE, stages: { AT_RISK: DUE } });
    const againStart = Date.now();
    const { evaluateLifecycle: again } = await gql<Evaluation>(url, key, EVALUATE, { asOf });
    const idle = (Date.now() - againStart) / 1000;
    // Nothing is due any more until the next threshold.
    expectEqual('second sweep examined', again.examined, 0);

    type Distribution = { lifecycleDistribution: { total: number; stages: StageCount[] } };
    const { lifecycleDistribution: today } = await gql<Distribution>(url, key, DISTRIBUTION, {});
    expectEqual('distribution', { total: today.total, stages: nonZero(today.stages) }, { total: CUSTOMERS, stages: { NEW_CUSTOMER: CUSTOMERS - DUE, AT_RISK: DUE } });
    // As of a date before the recent purchases, only the older customers existed.
    const { lifecycleDistribution: earlier } = await gql<Distribution>(url, key, DISTRIBUTION, { asOf: new Date(now - 50 * DAY).toISOString() });
    expectEqual('distribution 50 days ago', { total: earlier.total, stages: nonZero(earlier.stages) }, { total: DUE, stages: { NEW_CUSTOMER: DUE } });

    const section = [
      '',
      `## Lifecycle sweep of due customers only, ${new Date().toISOString()}`,
      '',
      `- Machine: ${machine()}; ${fresh.database}`,
      `- Command: \`npm run bench:sweep\` (fresh database, server in the same process, everything through the GraphQL API)`,
      '',
      '| step | figure |',
      '| --- | ---: |',
      `| ${CUSTOMERS} customers, one purchase each, batches of ${BATCH} | ${ingest.toFixed(2)} s |`,
      `| sweep: ${first.examined} due of ${CUSTOMERS} examined, ${first.moved} moved to AT_RISK | ${sweep.toFixed(2)} s |`,
      `| sweep again: ${again.examined} examined | ${idle.toFixed(2)} s |`,
      '',
    ].join('\n');
    process.stdout.write(section);
    if (values.out) {
      fs.appendFileSync(values.out, section);
      console.log(`appended to ${values.out}`);
    }
  } finally {
    await fresh.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
