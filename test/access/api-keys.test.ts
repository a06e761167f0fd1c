import { CustomersPageDocument, IdentifyDocument, RecordInteractionDocument } from '../generated/graphql';
import { interaction, unique } from '../helpers/factories';
import { startTestServer, type TestServer } from '../helpers/server';
import { Scope } from '../../src/modules/access/scope.enum';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.close());

describe('API keys', () => {
  it('refuses every operation without a key, or with an unknown one, as UNAUTHENTICATED (HTTP 401)', async () => {
    for (const key of [null, 'cg_not-a-real-key', 'garbage']) {
      const res = await t.gql(CustomersPageDocument, { first: 1 }, key);
      expect(res.status).toBe(401);
      expect(res.errors![0].extensions!.code).toBe('UNAUTHENTICATED');
      expect(res.data).toBeUndefined();
    }
    const introspection = await fetch(t.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ __typename }' }) });
    expect(introspection.status).toBe(401);
  });

  it('needs the write scope to write and the read scope to read: FORBIDDEN otherwise, and nothing is written', async () => {
    const [{ n: before }] = await t.sql(`SELECT count(*)::int AS n FROM interaction`);
    const write = await t.gql(RecordInteractionDocument, { input: interaction() }, t.keys.read);
    expect(write.errors![0].extensions!.code).toBe('FORBIDDEN');
    expect(write.errors![0].message).toContain('write');
    const identify = await t.gql(IdentifyDocument, { identifiers: [{ type: 'EMAIL', value: `${unique('x')}@example.com` }] }, t.keys.read);
    expect(identify.errors![0].extensions!.code).toBe('FORBIDDEN');
    const [{ n: after }] = await t.sql(`SELECT count(*)::int AS n FROM interaction`);
    expect(after).toBe(before);

    const read = await t.gql(CustomersPageDocument, { first: 1 }, t.keys.write);
    expect(read.errors![0].extensions!.code).toBe('FORBIDDEN');
    for (const key of [t.keys.read, t.keys.admin]) {
      const ok = await t.gql(CustomersPageDocument, { first: 1 }, key);
      expect(ok.errors).toBeUndefined();
    }
    const adminWrite = await t.gql(RecordInteractionDocument, { input: interaction() }, t.keys.admin);
    expect(adminWrite.data!.recordInteraction.status).toBe('CREATED');
  });

  it('refuses a rate or burst that is not a positive integer, and stores nothing', async () => {
    const before = (await t.server.services.apiKeys.list()).length;
    for (const options of [{ rateLimitPerSecond: 0 }, { rateLimitBurst: -5 }, { rateLimitPerSecond: 1.5 }, { rateLimitBurst: 2_000_000 }]) {
      await expect(t.server.services.apiKeys.create('bad rate', [Scope.READ], options)).rejects.toThrow(/must be an integer from 1 to 1000000/);
    }
    expect((await t.server.services.apiKeys.list()).length).toBe(before);
  });

  it('stores only a hash of the key, and a revoked key stops working', async () => {
    const { key, apiKey } = await t.server.services.apiKeys.create('revocable', [Scope.READ]);
    const rows = await t.sql(`SELECT key_hash, prefix FROM api_key WHERE id = $1`, [apiKey.id]);
    expect(rows[0].key_hash).not.toContain(key);
    expect(rows[0].key_hash).toHaveLength(64);
    expect(key.startsWith(rows[0].prefix)).toBe(true);
    expect((await t.gql(CustomersPageDocument, { first: 1 }, key)).errors).toBeUndefined();
    expect((await t.server.services.apiKeys.revoke(apiKey.id)).revokedAt).toBeInstanceOf(Date);
    const res = await t.gql(CustomersPageDocument, { first: 1 }, key);
    expect(res.errors![0].extensions!.code).toBe('UNAUTHENTICATED');
  });
});
