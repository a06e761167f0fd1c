import { parse } from 'graphql';

import { buildSchema } from '../../src/graphql/build-schema';
import { Scope } from '../../src/modules/access/scope.enum';
import {
  ApiKeysDocument,
  AuditLogDocument,
  CreateApiKeyDocument,
  EraseCustomerDocument,
  ExportCustomerDocument,
  PersonalProfileDocument,
  RevokeApiKeyDocument,
  RotateApiKeyDocument,
  SetConsentDocument,
} from '../generated/graphql';
import { interaction, unique } from '../helpers/factories';
import { eventually, request, useLiveServer } from '../helpers/live';

const live = useLiveServer();

/** Audit rows written while `work` ran, oldest first. */
async function audited(work: () => Promise<unknown>): Promise<any[]> {
  const t = live.t;
  const before = new Set((await t.sql(`SELECT id FROM audit`)).map((r) => r.id));
  await work();
  return (await t.sql(`SELECT * FROM audit ORDER BY at, id`)).filter((r) => !before.has(r.id));
}

const RECORD = parse('mutation Record($input: RecordInteractionInput!) { recordInteraction(input: $input) { customerId } }');

describe('the audit trail', () => {
  let readPii: string;
  let readPiiId: string;
  beforeAll(async () => {
    const created = await live.t.server.services.apiKeys.create('auditor', [Scope.READ, Scope.PII]);
    readPii = created.key;
    readPiiId = created.apiKey.id;
  });
  const adminId = async () => (await live.t.sql(`SELECT id FROM api_key WHERE name = 'test admin'`))[0].id;
  const partnerId = async () => (await live.t.sql(`SELECT id FROM api_key WHERE name = 'test partner'`))[0].id;

  it('every write leaves one row: key, operation, customers touched, what it did', async () => {
    const t = live.t;
    const email = { type: 'EMAIL' as const, value: `${unique('a')}@example.com` };
    let customerId = '';
    const single = await audited(async () => {
      customerId = ((await t.gql(RECORD, { input: interaction({ identifiers: [email] }) }, t.keys.write)).data as any).recordInteraction.customerId;
    });
    expect(single).toEqual([
      expect.objectContaining({ kind: 'MUTATION', operation: 'Mutation.recordInteraction', api_key_id: (await t.sql(`SELECT id FROM api_key WHERE name = 'test writer'`))[0].id, customer_ids: [customerId], customer_count: 1 }),
    ]);
    expect(single[0].details).toEqual({ created: 1, duplicates: 0, rejected: 0, merges: 0, consents: 0, liftedSuppressions: 0 });

    const batch = await audited(() => t.gql(parse('mutation Batch($inputs: [RecordInteractionInput!]!) { recordInteractions(inputs: $inputs) { status } }'), { inputs: [interaction({ identifiers: [email] }), interaction(), interaction({ type: 'PURCHASE', amount: '-5' })] }, t.keys.write));
    expect(batch).toHaveLength(1);
    expect(batch[0]).toMatchObject({ operation: 'Mutation.recordInteractions', customer_count: 2, details: expect.objectContaining({ created: 2, rejected: 1 }) });
    expect(batch[0].customer_ids).toContain(customerId);

    const identify = await audited(() => t.gql(parse('mutation Who($ids: [IdentifierInput!]!) { identify(identifiers: $ids) { customerId } }'), { ids: [email, { type: 'DEVICE_ID', value: unique('d') }] }, t.keys.write));
    expect(identify).toEqual([expect.objectContaining({ operation: 'Mutation.identify', customer_ids: [customerId] })]);

    const consent = await audited(() => t.gql(SetConsentDocument, { customerId, purpose: 'ANALYTICS', status: 'GRANTED', channel: 'WEB' }, t.keys.write));
    expect(consent).toEqual([expect.objectContaining({ operation: 'Mutation.setConsent', customer_ids: [customerId], details: { purpose: 'ANALYTICS', status: 'GRANTED', applied: true } })]);

    const sweep = await audited(() => t.gql(parse('mutation Sweep { evaluateLifecycle { moved } }'), {}, t.keys.admin));
    expect(sweep).toEqual([expect.objectContaining({ operation: 'Mutation.evaluateLifecycle', operation_name: 'Sweep', api_key_id: await adminId() })]);

    const erase = await audited(() => t.gql(EraseCustomerDocument, { id: customerId, reason: 'audit test' }, t.keys.admin));
    expect(erase).toEqual([expect.objectContaining({ kind: 'ERASURE', operation: 'Mutation.eraseCustomer', operation_name: 'EraseCustomer', customer_ids: [customerId] })]);
  });

  it('key changes are audited without the secret, over the API and from the service the shell uses', async () => {
    const t = live.t;
    let secrets: string[] = [];
    const rows = await audited(async () => {
      const created = (await t.gql(CreateApiKeyDocument, { name: 'rotating partner', scopes: ['READ', 'PII'] }, t.keys.admin)).data!.createApiKey;
      const rotated = (await t.gql(RotateApiKeyDocument, { id: created.apiKey.id }, t.keys.admin)).data!.rotateApiKey;
      await t.gql(RevokeApiKeyDocument, { id: created.apiKey.id }, t.keys.admin);
      secrets = [created.secret, rotated.secret];
      expect(rotated.apiKey.id).toBe(created.apiKey.id);
      // The old secret stopped working at once; the new one until the revocation.
      expect((await t.gql(PersonalProfileDocument, { id: '00000000-0000-7000-8000-000000000000' }, created.secret)).status).toBe(401);
    });
    expect(rows.map((r) => [r.kind, r.operation, r.details.change])).toEqual([
      ['KEY_CHANGE', 'Mutation.createApiKey', 'created'],
      ['KEY_CHANGE', 'Mutation.rotateApiKey', 'rotated'],
      ['KEY_CHANGE', 'Mutation.revokeApiKey', 'revoked'],
    ]);
    const text = JSON.stringify(rows);
    for (const secret of secrets) expect(text).not.toContain(secret);
    const listed = (await t.gql(ApiKeysDocument, {}, t.keys.admin)).data!.apiKeys;
    expect(JSON.stringify(listed)).not.toContain(secrets[1]);
    expect(listed.find((k) => k.name === 'rotating partner')).toMatchObject({ revokedAt: expect.any(String), rotatedAt: expect.any(String) });
    const cli = await audited(() => t.server.services.apiKeys.create('from the shell', [Scope.READ]));
    expect(cli).toEqual([expect.objectContaining({ kind: 'KEY_CHANGE', api_key_id: null, actor: 'cli:apikey create' })]);
    const refused = await t.gql(CreateApiKeyDocument, { name: ' ', scopes: ['READ'] }, t.keys.admin);
    expect(refused.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'name' });
    const unknown = await t.gql(RotateApiKeyDocument, { id: 'cg_nothing' }, t.keys.admin);
    expect(unknown.errors![0].extensions!.code).toBe('NOT_FOUND');
  });

  it('an unmasked read (pii) leaves a row over HTTP and the websocket, an export too; a masked read leaves none', async () => {
    const t = live.t;
    const { customerId } = await t.record(interaction({ identifiers: [{ type: 'EMAIL', value: `${unique('r')}@example.com` }], traits: { firstName: 'Ann' } }));
    expect(await audited(() => t.gql(PersonalProfileDocument, { id: customerId! }, t.keys.read))).toEqual([]);
    const http = await audited(() => t.gql(PersonalProfileDocument, { id: customerId! }, readPii));
    expect(http).toEqual([expect.objectContaining({ kind: 'PII_READ', operation: 'Query.customer', operation_name: 'PersonalProfile', api_key_id: readPiiId, customer_ids: [customerId] })]);
    const ws = await audited(async () => {
      const o = await request(live.client(readPii), 'query OverTheSocket($id: ID!) { customer(id: $id) { identifiers { value } } }', { id: customerId });
      expect(o.results[0].errors).toBeUndefined();
    });
    expect(ws).toEqual([expect.objectContaining({ kind: 'PII_READ', operation: 'Query.customer', operation_name: 'OverTheSocket', customer_ids: [customerId] })]);
    const exported = await audited(() => t.gql(ExportCustomerDocument, { id: customerId! }, readPii));
    expect(exported).toEqual([expect.objectContaining({ kind: 'EXPORT', operation: 'Query.exportCustomer', customer_ids: [customerId] })]);
    // A read that selects no personal field needs no row.
    expect(await audited(() => t.gql(parse('query { customers(first: 5) { edges { node { id metrics { orderCount } } } } }'), {}, readPii))).toEqual([]);
  });

  it('live deliveries of unmasked data are audited per key; masked ones are not', async () => {
    const t = live.t;
    const keys = t.server.services.apiKeys;
    const clear = await keys.create('pii screen', [Scope.SUBSCRIBE, Scope.READ, Scope.PII]);
    const masked = await keys.create('plain screen', [Scope.SUBSCRIBE, Scope.READ]);
    const query = 'subscription Screen { interactionRecorded { customer { identifiers { value } } } }';
    const a = live.client(clear.key).subscribe(query);
    const b = live.client(masked.key).subscribe(query);
    await live.subscribed(2);
    const { customerId } = await t.record(interaction({ identifiers: [{ type: 'EMAIL', value: `${unique('l')}@example.com` }] }));
    await eventually(() => a.events.length > 0 && b.events.length > 0, 3000, 'both deliveries');
    await eventually(async () => (await t.sql(`SELECT 1 FROM audit WHERE api_key_id = $1`, [clear.apiKey.id])).length > 0, 3000, 'the audit row');
    expect(await t.sql(`SELECT kind, operation, operation_name, customer_ids FROM audit WHERE api_key_id = $1`, [clear.apiKey.id])).toEqual([
      { kind: 'PII_READ', operation: 'Subscription.interactionRecorded', operation_name: 'Screen', customer_ids: [customerId] },
    ]);
    expect(await t.sql(`SELECT 1 FROM audit WHERE api_key_id = $1`, [masked.apiKey.id])).toEqual([]);
  });

  it('auditLog: admin only, filtered and paged; the trail cannot be changed through the API, nor by SQL outside the retention prune', async () => {
    const t = live.t;
    const { customerId } = await t.record(interaction());
    const forbidden = await t.gql(AuditLogDocument, { first: 5 }, readPii);
    expect(forbidden.errors![0].extensions!.code).toBe('FORBIDDEN');
    // t.record writes (MUTATION) and reads the result back unmasked (PII_READ): newest first.
    const mine = await t.gql(AuditLogDocument, { filter: { customerId: customerId! }, first: 10 }, t.keys.admin);
    expect(mine.data!.auditLog.edges.map((e) => [e.node.kind, e.node.operation, e.node.keyId, e.node.customerIds])).toEqual([
      ['PII_READ', 'Mutation.recordInteraction', await partnerId(), [customerId]],
      ['MUTATION', 'Mutation.recordInteraction', await partnerId(), [customerId]],
    ]);
    const writes = await t.gql(AuditLogDocument, { filter: { customerId: customerId!, kind: 'MUTATION' } }, t.keys.admin);
    expect(writes.data!.auditLog.edges).toHaveLength(1);
    const page1 = (await t.gql(AuditLogDocument, { filter: { kind: 'MUTATION' }, first: 2 }, t.keys.admin)).data!.auditLog;
    const page2 = (await t.gql(AuditLogDocument, { filter: { kind: 'MUTATION' }, first: 2, after: page1.pageInfo.endCursor }, t.keys.admin)).data!.auditLog;
    expect(page1.edges).toHaveLength(2);
    expect(page2.edges.map((e) => e.node.id)).not.toContain(page1.edges[0].node.id);
    expect(Date.parse(page1.edges[1].node.at)).toBeGreaterThanOrEqual(Date.parse(page2.edges[0].node.at));
    const bad = await t.gql(AuditLogDocument, { filter: { customerId: 'nope' } }, t.keys.admin);
    expect(bad.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'filter.customerId' });

    const mutations = Object.keys(buildSchema().getMutationType()!.getFields());
    expect(mutations.filter((m) => /audit/i.test(m))).toEqual([]);
    await expect(t.sql(`UPDATE audit SET actor = 'someone else'`)).rejects.toThrow(/append-only/);
    await expect(t.sql(`DELETE FROM audit`)).rejects.toThrow(/append-only/);
    await expect(t.sql(`TRUNCATE audit`)).rejects.toThrow(/append-only/);
    const [{ n }] = await t.sql(`SELECT count(*)::int AS n FROM audit`);
    expect(n).toBeGreaterThan(0);
    expect(await t.server.services.audit.prune(new Date(Date.now() - 3600_000))).toBe(0);
    expect(await t.server.services.audit.prune(new Date(Date.now() + 3600_000))).toBe(n);
  });
});
