import {
  AggregatesDocument,
  EraseCustomerDocument,
  ErasureDocument,
  ExportCustomerDocument,
  PersonalProfileDocument,
  RecordInteractionDocument,
  RecordInteractionsDocument,
} from '../generated/graphql';
import { interaction, unique } from '../helpers/factories';
import { eventually, useLiveServer } from '../helpers/live';
import type { TestServer } from '../helpers/server';

const live = useLiveServer();
const DAY = 86_400_000;
const daysAgo = (d: number) => new Date(Date.now() - d * DAY).toISOString();

/** Every text, character, JSON and array column of every table of the schema, from the catalog. */
async function textColumns(t: TestServer): Promise<Array<{ table: string; column: string }>> {
  const rows = await t.sql(
    `SELECT c.table_name AS table, c.column_name AS column
       FROM information_schema.columns c JOIN information_schema.tables tb ON tb.table_schema = c.table_schema AND tb.table_name = c.table_name
      WHERE c.table_schema = 'public' AND tb.table_type = 'BASE TABLE'
        AND (c.data_type IN ('text', 'character varying', 'character', 'json', 'jsonb') OR c.data_type = 'ARRAY')
      ORDER BY 1, 2`,
  );
  return rows;
}

/** Where any of `values` appears (case-insensitively, inside JSON and arrays too): `table.column` → rows. */
async function scan(t: TestServer, values: string[]): Promise<Record<string, number>> {
  const found: Record<string, number> = {};
  for (const { table, column } of await textColumns(t)) {
    const [{ n }] = await t.sql(
      `SELECT count(*)::int AS n FROM "${table}" AS row WHERE EXISTS (SELECT 1 FROM unnest($1::text[]) AS needles(needle) WHERE strpos(lower(row."${column}"::text), lower(needle)) > 0)`,
      [values],
    );
    if (n) found[`${table}.${column}`] = n;
  }
  return found;
}

describe('erasure across the identity graph', () => {
  it('erases a person merged from three identities, on four channels: no value left in any table, aggregates unchanged, identifiers suppressed', async () => {
    const t = live.t;
    const tag = unique('p').replace(/-/g, '');
    const email = `grace.${tag}@example.com`;
    const phoneRaw = '06 98 76 54 32';
    const phone = '+33698765432';
    const device = `device-${tag}`;
    const card = `LC${tag}`;
    const account = `crm-${tag}`;
    const [first, last] = [`Grace${tag}`, `Hopper${tag}`];
    const note = `ring twice ${tag}`;
    const values = [email, phone, phoneRaw, device, card, account, first, last, note];

    const watcher = (await t.server.services.apiKeys.create('erasure watcher', ['subscribe' as any])).key;
    const erased = live.client(watcher).subscribe('subscription { customerErased { customerId mergedCustomerIds erasureId } }');
    await live.subscribed(1);

    // Three identities on four channels, then the calls that merge them.
    const interactions: string[] = [];
    const record = async (input: Parameters<TestServer['record']>[0]) => {
      const r = await t.record(input);
      interactions.push(r.interactionId!);
      return r;
    };
    const web = await record(interaction({ channel: 'WEB', type: 'PRODUCT_VIEW', occurredAt: daysAgo(60), identifiers: [{ type: 'EMAIL', value: email.toUpperCase() }, { type: 'CUSTOMER_ID', value: account }], traits: { firstName: first, lastName: last, plan: 'pro' }, properties: { sku: 'A1', note } }));
    await record(interaction({ channel: 'WEB', type: 'PURCHASE', amount: '120.50', occurredAt: daysAgo(59), identifiers: [{ type: 'EMAIL', value: email }], consents: [{ purpose: 'EMAIL_MARKETING', status: 'GRANTED' }] }));
    const app = await record(interaction({ channel: 'APP', type: 'PAGE_VIEW', occurredAt: daysAgo(40), identifiers: [{ type: 'DEVICE_ID', value: device }], properties: { note } }));
    await record(interaction({ channel: 'APP', type: 'PURCHASE', amount: '30', occurredAt: daysAgo(39), identifiers: [{ type: 'DEVICE_ID', value: device }] }));
    const store = await record(interaction({ channel: 'STORE', type: 'PURCHASE', amount: '75', occurredAt: daysAgo(30), identifiers: [{ type: 'LOYALTY_CARD', value: card }, { type: 'PHONE', value: phoneRaw }] }));
    const merge1 = await record(interaction({ channel: 'PHONE', type: 'CALL', occurredAt: daysAgo(20), identifiers: [{ type: 'PHONE', value: phone }, { type: 'DEVICE_ID', value: device }] }));
    const merge2 = await record(interaction({ channel: 'PHONE', type: 'PURCHASE', amount: '44.90', occurredAt: daysAgo(10), identifiers: [{ type: 'DEVICE_ID', value: device }, { type: 'EMAIL', value: email }] }));
    expect(merge1.mergedCustomerIds).toEqual([store.customerId]);
    expect(merge2.mergedCustomerIds).toEqual([app.customerId]);
    const person = web.customerId!;
    expect(merge2.customerId).toBe(person);
    // Another person's interaction that carried the person's e-mail: the merge was refused (two CUSTOMER_IDs).
    const other = await t.record(interaction({ channel: 'WEB', type: 'PAGE_VIEW', occurredAt: daysAgo(5), identifiers: [{ type: 'CUSTOMER_ID', value: `other-${tag}` }] }));
    const refused = await t.record(interaction({ channel: 'WEB', type: 'PAGE_VIEW', occurredAt: daysAgo(4), identifiers: [{ type: 'CUSTOMER_ID', value: `other-${tag}` }, { type: 'EMAIL', value: email }] }));
    expect(refused.customerId).toBe(other.customerId);
    expect(refused.warnings.map((w) => w.code)).toContain('MERGE_REFUSED');
    await t.gql((await import('graphql')).parse('mutation { evaluateLifecycle { moved } }'), {}, t.keys.admin);

    // Export first: every interaction and identifier, those of the merged customers included.
    const exported = await t.gql(ExportCustomerDocument, { id: app.customerId! }, t.keys.admin);
    expect(exported.errors).toBeUndefined();
    const doc = exported.data!.exportCustomer;
    expect(doc.customer.id).toBe(person);
    expect(doc.mergedCustomers.map((c: any) => c.id).sort()).toEqual([store.customerId, app.customerId].sort());
    expect(doc.interactions.map((i: any) => i.id).sort()).toEqual([...interactions].sort());
    expect(doc.identifiers.map((i: any) => `${i.type}:${i.value}`).sort()).toEqual([`CUSTOMER_ID:${account}`, `DEVICE_ID:${device}`, `EMAIL:${email}`, `LOYALTY_CARD:${card}`, `PHONE:${phone}`].sort());
    expect(doc.customer.traits).toEqual({ firstName: first, lastName: last, plan: 'pro' });
    expect(doc.merges).toHaveLength(2);
    expect(doc.identityConflicts).toHaveLength(1);
    expect(doc.consents.decisions).toEqual([expect.objectContaining({ purpose: 'EMAIL_MARKETING', status: 'GRANTED' })]);
    expect(doc.journeys.length).toBeGreaterThan(0);
    expect(doc.lifecycleHistory.length).toBeGreaterThan(0);

    // The scan finds the values before: it would catch any copy left behind.
    const before = await scan(t, values);
    for (const where of ['identifier.value', 'identifier.raw_value', 'customer.traits', 'interaction.identifiers', 'interaction.properties', 'merge.identifier_value', 'identity_conflict.reason', 'event.payload']) {
      expect(before[where]).toBeGreaterThan(0);
    }
    const period = { from: daysAgo(400), to: new Date(Date.now() + DAY).toISOString() };
    const aggregates = async () => {
      const res = await t.gql(AggregatesDocument, { ...period, asOf: new Date().toISOString().slice(0, 10) + 'T00:00:00.000Z' }, t.keys.read);
      expect(res.errors).toBeUndefined();
      return res.data;
    };
    const metrics = async () => (await t.sql(`SELECT stage, order_count, gross_revenue, net_revenue, channels FROM customer WHERE id = $1`, [person]))[0];
    const aggregatesBefore = await aggregates();
    const metricsBefore = await metrics();

    // Erase, naming a tombstone: the whole graph goes.
    const res = await t.gql(EraseCustomerDocument, { id: store.customerId!, reason: 'ticket DPO-1234' }, t.keys.admin);
    expect(res.errors).toBeUndefined();
    const receipt = res.data!.eraseCustomer;
    expect(receipt).toMatchObject({ customerId: person, reason: 'ticket DPO-1234', actor: 'test admin', suppressedIdentifiers: 5 });
    expect([...receipt.mergedCustomerIds].sort()).toEqual([store.customerId, app.customerId].sort());
    const removed = Object.fromEntries(receipt.removed.map((r) => [`${r.table}: ${r.what}`, r.rows]));
    expect(removed).toMatchObject({
      'identifier: rows deleted': 5,
      'customer: traits emptied': 3,
      'interaction: identifiers and properties emptied': interactions.length,
      "interaction: the person's identifiers removed from other customers' interactions": 1,
      'merge: identifier_value emptied': 2,
      'identity_conflict: identifier_value and reason emptied': 1,
      'event: payload identifierValue emptied': 2,
    });

    expect(await scan(t, values)).toEqual({});
    expect(await aggregates()).toEqual(aggregatesBefore);
    expect(await metrics()).toEqual(metricsBefore);
    const profile = (await t.gql(PersonalProfileDocument, { id: person })).data!.customer!;
    expect(profile).toMatchObject({ id: person, traits: {}, identifiers: [] });
    expect(profile.erasedAt).not.toBeNull();
    expect(profile.interactions.edges).toHaveLength(interactions.length);
    expect(profile.merges.map((m) => m.identifierValue)).toEqual([null, null]);
    // The other person keeps their interaction, without the erased e-mail.
    const others = (await t.gql(PersonalProfileDocument, { id: other.customerId! })).data!.customer!;
    expect(others.interactions.edges.map((e) => e.node.identifiers.map((i) => i.type))).toEqual([['CUSTOMER_ID'], ['CUSTOMER_ID']]);

    expect((await t.gql(ErasureDocument, { id: receipt.id }, t.keys.admin)).data!.erasure).toMatchObject({ customerId: person, suppressedIdentifiers: 5 });
    await eventually(() => erased.events.length >= 1, 3000, 'customerErased');
    expect(erased.events[0]).toMatchObject({ customerId: person, erasureId: receipt.id });

    // The person is not rebuilt from the next event naming them…
    const again = await t.gql(RecordInteractionDocument, { input: interaction({ identifiers: [{ type: 'ANONYMOUS_ID', value: unique('cookie') }, { type: 'EMAIL', value: ` ${email.toUpperCase()}` }] }) });
    expect(again.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'SUPPRESSED_IDENTIFIER', field: 'input.identifiers[1]' });
    const batch = await t.gql(RecordInteractionsDocument, { inputs: [interaction(), interaction({ identifiers: [{ type: 'PHONE', value: phoneRaw }] })] });
    expect(batch.data!.recordInteractions.map((r) => r.status)).toEqual(['CREATED', 'REJECTED']);
    expect(batch.data!.recordInteractions[1].problems).toEqual([expect.objectContaining({ code: 'BAD_USER_INPUT', reason: 'SUPPRESSED_IDENTIFIER', field: 'inputs[1].identifiers[0]' })]);
    expect(await scan(t, values)).toEqual({});

    // …unless they signed up again: a new customer, and the identifier works normally afterwards.
    const fresh = await t.gql(RecordInteractionDocument, { input: interaction({ freshSignUp: true, identifiers: [{ type: 'EMAIL', value: email }], consents: [{ purpose: 'EMAIL_MARKETING', status: 'GRANTED' }] }) });
    expect(fresh.errors).toBeUndefined();
    const reborn = fresh.data!.recordInteraction.customerId!;
    expect(reborn).not.toBe(person);
    const later = await t.record(interaction({ identifiers: [{ type: 'EMAIL', value: email }] }));
    expect(later.customerId).toBe(reborn);
    // The phone stays suppressed.
    const phoneAgain = await t.gql(RecordInteractionDocument, { input: interaction({ identifiers: [{ type: 'PHONE', value: phone }] }) });
    expect(phoneAgain.errors![0].extensions!.reason).toBe('SUPPRESSED_IDENTIFIER');
  });

  it('keeps only keyed hashes on the suppression list, and refuses a bad reason or id', async () => {
    const t = live.t;
    const email = `${unique('h')}@example.com`;
    const { customerId } = await t.record(interaction({ identifiers: [{ type: 'EMAIL', value: email }] }));
    const noReason = await t.gql(EraseCustomerDocument, { id: customerId!, reason: '  ' }, t.keys.admin);
    expect(noReason.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'reason' });
    const badId = await t.gql(EraseCustomerDocument, { id: 'x', reason: 'test' }, t.keys.admin);
    expect(badId.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'id' });
    const unknown = await t.gql(EraseCustomerDocument, { id: '00000000-0000-7000-8000-000000000000', reason: 'test' }, t.keys.admin);
    expect(unknown.errors![0].extensions!.code).toBe('NOT_FOUND');
    const notAdmin = await t.gql(EraseCustomerDocument, { id: customerId!, reason: 'test' });
    expect(notAdmin.errors![0].extensions!.code).toBe('FORBIDDEN');
    expect((await t.sql(`SELECT erased_at FROM customer WHERE id = $1`, [customerId]))[0].erased_at).toBeNull();

    const ok = await t.gql(EraseCustomerDocument, { id: customerId!, reason: 'test' }, t.keys.admin);
    expect(ok.errors).toBeUndefined();
    const rows = await t.sql(`SELECT hash, type FROM suppressed_identifier WHERE erasure_id = $1`, [ok.data!.eraseCustomer.id]);
    expect(rows).toEqual([{ hash: expect.stringMatching(/^[0-9a-f]{64}$/), type: 'EMAIL' }]);
    // Keyed: not the plain SHA-256 of the value a dictionary would find.
    const { createHash } = await import('node:crypto');
    expect(rows[0].hash).not.toBe(createHash('sha256').update(`EMAIL:${email}`).digest('hex'));
  });
});
