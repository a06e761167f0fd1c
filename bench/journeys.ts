/**
 * npm run bench:journeys [-- --touchpoints 1000000] [--out bench/RESULTS.md]
 *
 * Journey analytics at volume: on a fresh database, the full Online Retail import, then
 * --touchpoints generated web/app touchpoints (one visitor in five is an Online Retail customer,
 * the rest anonymous visitors), all through the GraphQL API; then the latency of journeyFunnel
 * and multichannelImpact (median and max of 5 runs), the plan of the heaviest query, and the
 * ingest rate of the generated touchpoints (journey derivation on).
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

import { runImport } from '../src/cli/import-online-retail';
import { freshServer, machine } from './fresh-server';

const STEPS = ['PAGE_VIEW', 'SEARCH', 'PRODUCT_VIEW', 'PRODUCT_VIEW', 'ADD_TO_CART', 'CHECKOUT_STARTED', 'PURCHASE'] as const;
const START = Date.parse('2010-12-01T00:00:00Z');
const SPAN = Date.parse('2011-12-09T00:00:00Z') - START;

/** Deterministic pseudo-random numbers: the same data set on every run. */
function rng(seed: number) {
  let s = seed;
  return () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
}

async function gql<T>(url: string, key: string, query: string, variables: object): Promise<T> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: JSON.stringify({ query, variables }) });
  const body = (await res.json()) as { data?: T; errors?: Array<{ message: string }> };
  if (body.errors) throw new Error(body.errors[0].message);
  return body.data!;
}

async function timed(runs: number, work: () => Promise<unknown>): Promise<{ median: number; max: number }> {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await work();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return { median: times[Math.floor(times.length / 2)], max: times[times.length - 1] };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { touchpoints: { type: 'string', default: '1000000' }, out: { type: 'string', default: path.join(__dirname, 'RESULTS.md') } },
  });
  const total = Number(values.touchpoints);
  if (!Number.isInteger(total) || total < 1000 || total > 5_000_000) throw new Error('--touchpoints must be an integer from 1,000 to 5,000,000');

  const fresh = await freshServer('journeys');
  const { server, key } = fresh;
  const url = server.url;
  try {
    const imported = await runImport({ url, key, write: () => {}, tty: false });
    const customers: string[] = (await fresh.dataSource.query(`SELECT value FROM identifier WHERE type = 'CUSTOMER_ID'`)).map((r: { value: string }) => r.value);
    console.log(`imported ${imported.created} interactions for ${customers.length} customers; generating ${total} touchpoints…`);

    // Visitors of 5 to 15 touchpoints in a few hours, on the web or the app, going as far as chance takes them.
    const random = rng(7);
    const batches: object[][] = [];
    let batch: object[] = [];
    let generated = 0;
    let visitor = 0;
    while (generated < total) {
      visitor++;
      const known = random() < 0.2 && customers.length > 0;
      const identifiers = known
        ? [{ type: 'CUSTOMER_ID', value: customers[Math.floor(random() * customers.length)] }]
        : [{ type: 'ANONYMOUS_ID', value: `bench-visitor-${visitor}` }];
      const touches = Math.min(5 + Math.floor(random() * 11), total - generated);
      const depth = Math.floor(random() * STEPS.length);
      let time = START + Math.floor(random() * SPAN);
      for (let i = 0; i < touches; i++) {
        const type = STEPS[Math.min(depth, Math.floor((i * (depth + 1)) / touches))];
        batch.push({
          externalId: `bench-journeys:${visitor}:${i}`,
          channel: random() < 0.6 ? 'WEB' : 'APP',
          type,
          amount: type === 'PURCHASE' ? (5 + Math.floor(random() * 20000) / 100).toFixed(2) : undefined,
          currency: type === 'PURCHASE' ? 'GBP' : undefined,
          occurredAt: new Date((time += 60_000 + Math.floor(random() * 600_000))).toISOString(),
          identifiers,
        });
        if (batch.length === 1000) {
          batches.push(batch);
          batch = [];
        }
      }
      generated += touches;
    }
    if (batch.length) batches.push(batch);

    const RECORD = `mutation M($inputs: [RecordInteractionInput!]!) { recordInteractions(inputs: $inputs) { status } }`;
    let next = 0;
    let created = 0;
    const ingestStart = performance.now();
    const worker = async () => {
      while (next < batches.length) {
        const mine = batches[next++];
        const data = await gql<{ recordInteractions: Array<{ status: string }> }>(url, key, RECORD, { inputs: mine });
        created += data.recordInteractions.filter((r) => r.status === 'CREATED').length;
        if (next % 100 === 0) console.log(`  ${next * 1000} / ${total} sent`);
      }
    };
    await Promise.all([worker(), worker()]);
    const ingestSeconds = (performance.now() - ingestStart) / 1000;
    console.log(`ingested ${created} touchpoints in ${ingestSeconds.toFixed(1)} s`);
    await fresh.dataSource.query('ANALYZE');
    const [counts] = await fresh.dataSource.query(
      `SELECT (SELECT count(*) FROM interaction)::int AS interactions, (SELECT count(*) FROM journey)::int AS journeys, (SELECT count(*) FROM customer WHERE merged_into_id IS NULL)::int AS customers`,
    );

    const FUNNEL = `query F($from: DateTimeISO!, $to: DateTimeISO!, $channel: Channel) { journeyFunnel(from: $from, to: $to, channel: $channel) { started converted steps { step reached } } }`;
    const IMPACT = `query I($asOf: DateTimeISO) { multichannelImpact(asOf: $asOf) { channels customers stages { stage customers } } }`;
    const year = { from: '2010-12-01T00:00:00Z', to: '2011-12-10T00:00:00Z' };
    const funnel = await timed(5, () => gql(url, key, FUNNEL, year));
    const funnelApp = await timed(5, () => gql(url, key, FUNNEL, { ...year, channel: 'APP' }));
    const impactNow = await timed(5, () => gql(url, key, IMPACT, {}));
    const impactAsOf = await timed(3, () => gql(url, key, IMPACT, { asOf: '2011-06-01T00:00:00Z' }));
    const sample = await gql<{ journeyFunnel: { started: number; converted: number; steps: Array<{ step: string; reached: number }> } }>(url, key, FUNNEL, year);

    const plan: Array<{ 'QUERY PLAN': string }> = await fresh.dataSource.query(
      `EXPLAIN (ANALYZE, BUFFERS)
       WITH used AS (
         SELECT i.customer_id, count(DISTINCT i.channel) AS n
           FROM interaction i JOIN customer c ON c.id = i.customer_id AND c.merged_into_id IS NULL
          WHERE i.occurred_at <= '2011-06-01T00:00:00Z'
          GROUP BY i.customer_id)
       SELECT CASE WHEN u.n >= 4 THEN '4+' ELSE u.n::text END AS bucket, coalesce(t.to_stage, 'PROSPECT') AS stage, count(*)::int AS n
         FROM used u
         LEFT JOIN LATERAL (
           SELECT to_stage FROM lifecycle_transition t WHERE t.customer_id = u.customer_id AND t.at <= '2011-06-01T00:00:00Z'
            ORDER BY t.at DESC, t.id DESC LIMIT 1) t ON true
        GROUP BY 1, 2`,
    );

    const ms = (x: { median: number; max: number }) => `${x.median.toFixed(0)} ms (max ${x.max.toFixed(0)})`;
    const section = [
      '',
      `## Journey analytics at volume, ${new Date().toISOString()}`,
      '',
      `- Machine: ${machine()}; ${fresh.database}`,
      `- Command: \`npm run bench:journeys -- --touchpoints ${total}\` (fresh database; the full Online Retail import, then ${total} generated web/app touchpoints, all through the API)`,
      `- Data: ${counts.interactions} interactions, ${counts.journeys} journeys, ${counts.customers} customers`,
      '',
      '| measure | result |',
      '| --- | ---: |',
      `| ingest of the generated touchpoints (journeys and lifecycle on) | ${created} in ${ingestSeconds.toFixed(1)} s, ${Math.round(created / ingestSeconds)} interactions/s |`,
      `| journeyFunnel over the year | ${ms(funnel)} |`,
      `| journeyFunnel over the year, channel APP | ${ms(funnelApp)} |`,
      `| multichannelImpact (now, from the stored state) | ${ms(impactNow)} |`,
      `| multichannelImpact as of 2011-06-01 (from interactions and transitions) | ${ms(impactAsOf)} |`,
      '',
      `Funnel over the year: ${sample.journeyFunnel.started} journeys started; ` +
        sample.journeyFunnel.steps.map((s) => `${s.step} ${s.reached}`).join(', ') +
        `; ${sample.journeyFunnel.converted} converted.`,
      '',
      'Plan of the heaviest one, multichannelImpact as of a date:',
      '',
      '```',
      ...plan.map((r) => r['QUERY PLAN']),
      '```',
      '',
    ].join('\n');
    fs.appendFileSync(values.out!, section);
    console.log(section);
  } finally {
    await fresh.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
