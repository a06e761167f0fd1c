import { RecordInteractionDocument, RecordInteractionsDocument, type IdentifierInput, type RecordInteractionInput } from '../generated/graphql';
import { unique } from '../helpers/factories';
import { startTestServer, type TestServer } from '../helpers/server';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.close());

function shuffle<T>(items: T[]): T[] {
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

const key = (i: IdentifierInput) => `${i.type}=${i.value}`;

describe('concurrent writers', () => {
  it('8 clients chaining 50 people in random order end with exactly 50 customers, 400 interactions, each identifier once', async () => {
    // Half the clients send one interaction per request, half small batches (advisory locks).
    await chainPeople(8, (c) => (c % 2 === 0 ? 1 : 7));
  });

  it('the same with large batches, which rely on the unique indexes and retries instead of advisory locks', async () => {
    await chainPeople(4, () => 100);
  });
});

async function chainPeople(clientCount: number, batchSizeOf: (client: number) => number) {
  await t.sql(`TRUNCATE customer, identifier, interaction, merge, identity_conflict`);
  const run = unique('run');
  // Each person has 8 identifiers; 8 interactions each link two of them, in a ring.
  const people = Array.from({ length: 50 }, (_, p) => {
    const identifiers: IdentifierInput[] = [
      ...Array.from({ length: 4 }, (_, k) => ({ type: 'ANONYMOUS_ID' as const, value: `${run}-p${p}-a${k}` })),
      { type: 'DEVICE_ID', value: `${run}-p${p}-d0` },
      { type: 'DEVICE_ID', value: `${run}-p${p}-d1` },
      { type: 'EMAIL', value: `${run}-p${p}@example.com` },
      { type: 'PHONE', value: `+33 6 12 ${String(p).padStart(6, '0')}` },
    ];
    return { identifiers, expected: new Set(identifiers.map((i) => (i.type === 'PHONE' ? `PHONE=+33612${String(p).padStart(6, '0')}` : key(i)))) };
  });
  const all: Array<{ person: number; input: RecordInteractionInput }> = [];
  people.forEach((person, p) => {
    person.identifiers.forEach((identifier, k) => {
      const next = person.identifiers[(k + 1) % person.identifiers.length];
      all.push({
        person: p,
        input: {
          externalId: `${run}-p${p}-i${k}`,
          channel: (['WEB', 'APP', 'STORE', 'PHONE'] as const)[k % 4],
          type: k === 3 ? 'PURCHASE' : 'PAGE_VIEW',
          amount: k === 3 ? '10.00' : undefined,
          occurredAt: new Date(Date.UTC(2024, 0, 1 + k)).toISOString(),
          identifiers: [identifier, next],
        },
      });
    });
  });
  expect(all).toHaveLength(400);
  const order = shuffle(all);

  const clients = Array.from({ length: clientCount }, (_, c) => order.filter((_, i) => i % clientCount === c));
  const responses = await Promise.all(
    clients.map(async (work, c) => {
      const statuses: string[] = [];
      const size = batchSizeOf(c);
      if (size === 1) {
        for (const item of work) {
          const res = await t.gql(RecordInteractionDocument, { input: item.input });
          if (res.errors) throw new Error(JSON.stringify(res.errors));
          statuses.push(res.data!.recordInteraction.status);
        }
      } else {
        for (let i = 0; i < work.length; i += size) {
          const res = await t.gql(RecordInteractionsDocument, { inputs: work.slice(i, i + size).map((w) => w.input) });
          if (res.errors) throw new Error(JSON.stringify(res.errors));
          statuses.push(...res.data!.recordInteractions.map((r) => r.status));
        }
      }
      return statuses;
    }),
  );
  expect(responses.flat().filter((s) => s === 'CREATED')).toHaveLength(400);

  const live = await t.sql<{ id: string }>(`SELECT id FROM customer WHERE merged_into_id IS NULL`);
  expect(live).toHaveLength(50);
  const [{ n: interactions }] = await t.sql(`SELECT count(*)::int AS n FROM interaction`);
  expect(interactions).toBe(400);
  const [{ n: identifiers, distinct }] = await t.sql(`SELECT count(*)::int AS n, count(DISTINCT (type, value))::int AS distinct FROM identifier`);
  expect(identifiers).toBe(400);
  expect(distinct).toBe(400);
  const [{ n: onTombstones }] = await t.sql(
    `SELECT (SELECT count(*) FROM interaction i JOIN customer c ON c.id = i.customer_id WHERE c.merged_into_id IS NOT NULL)
          + (SELECT count(*) FROM identifier i JOIN customer c ON c.id = i.customer_id WHERE c.merged_into_id IS NOT NULL) AS n`,
  );
  expect(Number(onTombstones)).toBe(0);

  // Each customer holds exactly one person's identifiers, and that person's 8 interactions.
  const rows = await t.sql<{ customer_id: string; keys: string[]; external_ids: string[] }>(
    `SELECT c.id AS customer_id,
            (SELECT array_agg(type || '=' || value) FROM identifier WHERE customer_id = c.id) AS keys,
            (SELECT array_agg(external_id) FROM interaction WHERE customer_id = c.id) AS external_ids
       FROM customer c WHERE c.merged_into_id IS NULL`,
  );
  const seen = new Set<number>();
  for (const row of rows) {
    const p = people.findIndex((person) => person.expected.has(row.keys[0]));
    expect(p).toBeGreaterThanOrEqual(0);
    seen.add(p);
    expect(new Set(row.keys)).toEqual(people[p].expected);
    expect(row.external_ids.sort()).toEqual(Array.from({ length: 8 }, (_, k) => `${run}-p${p}-i${k}`).sort());
  }
  expect(seen.size).toBe(50);
}
