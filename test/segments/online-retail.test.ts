import fs from 'node:fs';

import { DEFAULT_FILE, runImport } from '../../src/cli/import-online-retail';
import { CreateSegmentDocument, RefitValueModelDocument, RfmDistributionDocument, SegmentAudienceDocument, SegmentDocument, type SegmentAudienceQuery } from '../generated/graphql';
import { startTestServer, type GraphQLResponse, type TestServer } from '../helpers/server';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.close());

const withDataSet = fs.existsSync(DEFAULT_FILE) ? describe : describe.skip;
const AS_OF = '2011-12-10T00:00:00.000Z';

withDataSet('value and segments on the whole Online Retail data set', () => {
  beforeAll(async () => {
    const report = await runImport({ url: t.url, key: t.keys.admin, asOf: new Date(AS_OF), write: () => {}, tty: false });
    expect(report.rejected).toBe(0);
  });

  it('RFM as of 2011-12-10: every customer with a purchase scored, quintile boundaries in order, the stored cells and the computed distribution agree', async () => {
    const model = await t.gql(RefitValueModelDocument, { asOf: AS_OF }, t.keys.admin);
    expect(model.errors).toBeUndefined();
    const [{ n: buyers }] = await t.sql(`SELECT count(*)::int AS n FROM customer WHERE merged_into_id IS NULL AND order_count > 0`);
    expect(model.data!.refitValueModel.customersFitted).toBe(buyers);
    expect(buyers).toBe(4338);
    const rfm = (await t.gql(RfmDistributionDocument, { asOf: AS_OF })).data!.rfmDistribution;
    expect(rfm.customers).toBe(buyers);
    expect(rfm.segments.reduce((s, x) => s + x.customers, 0)).toBe(buyers);
    const stored = await t.sql(`SELECT segment, count(*)::int AS n FROM customer_value GROUP BY 1`);
    expect(Object.fromEntries(rfm.segments.filter((s) => s.customers).map((s) => [s.segment, s.customers]))).toEqual(Object.fromEntries(stored.map((r) => [r.segment, r.n])));
    for (const ranges of [rfm.boundaries.orderCount, rfm.boundaries.netRevenue]) {
      for (let i = 1; i < ranges.length; i++) expect(ranges[i].min).toBeGreaterThan(ranges[i - 1].max);
    }
    // Recency: score 5 the most recent, so its days are the fewest.
    const r = rfm.boundaries.recencyDays;
    for (let i = 1; i < r.length; i++) expect(r[i].max).toBeLessThan(r[i - 1].min);
  });

  it('a segment "LOYAL or AT_RISK with net revenue ≥ 1,000" has exactly the size a direct count gives', async () => {
    const created = await t.gql(CreateSegmentDocument, { name: 'Valuable, loyal or slipping', definition: { stages: ['LOYAL', 'AT_RISK'], minNetRevenue: '1000' } }, t.keys.admin);
    expect(created.errors).toBeUndefined();
    await t.server.services.segments.idle();
    const id = created.data!.createSegment.id;
    const [{ n }] = await t.sql(`SELECT count(*)::int AS n FROM customer WHERE merged_into_id IS NULL AND stage IN ('LOYAL', 'AT_RISK') AND net_revenue >= 1000`);
    expect(n).toBeGreaterThan(500);
    expect((await t.gql(SegmentDocument, { id })).data!.segment).toMatchObject({ size: n, status: 'READY' });
    let seen = 0;
    let after: string | null | undefined = null;
    for (;;) {
      const res: GraphQLResponse<SegmentAudienceQuery> = await t.gql(SegmentAudienceDocument, { segment: id, first: 100, after });
      const page = res.data!.customers;
      seen += page.edges.length;
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(seen).toBe(n);
  });
});
