import { print, type DocumentNode } from 'graphql';

import { loadConfig } from '../../src/config';
import {
  CustomerByIdentifierDocument,
  CustomerDocument,
  IdentifyDocument,
  RecordInteractionDocument,
  RecordInteractionsDocument,
} from '../generated/graphql';
import { interaction, unique } from '../helpers/factories';
import { startTestServer, type GraphQLResponse, type TestServer } from '../helpers/server';

let t: TestServer;
beforeAll(async () => {
  // The inline-literal tests send documents past the default token budget on purpose.
  const base = loadConfig({ ...process.env, LOG_LEVEL: 'silent' });
  t = await startTestServer({ limits: { ...base.limits, maxTokens: 1_000_000 } });
});
afterAll(() => t.close());

const counts = async () =>
  (await t.sql(`SELECT (SELECT count(*) FROM interaction)::int AS interactions, (SELECT count(*) FROM customer)::int AS customers, (SELECT count(*) FROM identifier)::int AS identifiers`))[0];

/** `ａｌｉｃｅ`: the full-width form of printable ASCII. */
const fullWidth = (text: string) => text.replace(/[!-~]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0));

/** JSON text of an object nested `levels` deep: built as text, since JSON.stringify itself recurses. */
const nestedJson = (levels: number) => `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`;
const nested = (levels: number) => JSON.parse(nestedJson(levels)) as Record<string, unknown>;

/**
 * Posts an operation whose variables are given as JSON text (`$name` placeholders in `variables`
 * replaced by `raw[name]`), for values too deep for JSON.stringify.
 */
async function postRaw<T>(document: DocumentNode, variables: Record<string, unknown>, raw: Record<string, string>): Promise<GraphQLResponse<T>> {
  let json = JSON.stringify(variables);
  for (const [name, text] of Object.entries(raw)) json = json.replace(JSON.stringify(`$${name}`), () => text);
  const res = await fetch(t.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${t.keys.readWrite}` },
    body: `{"query":${JSON.stringify(print(document))},"variables":${json}}`,
  });
  return { ...((await res.json()) as GraphQLResponse<T>), status: res.status };
}

async function postQuery(query: string): Promise<GraphQLResponse<any>> {
  const res = await fetch(t.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${t.keys.readWrite}` },
    body: JSON.stringify({ query }),
  });
  return { ...((await res.json()) as GraphQLResponse<any>), status: res.status };
}

describe('identifier hygiene', () => {
  it('invisible format characters and full-width letters do not make another person', async () => {
    const local = unique('alice');
    const plain = `${local}@example.com`;
    const variants = [
      `${local}\u200b@example.com`, // zero-width space
      `\u200b${plain}`, // leading
      `${local.slice(0, 2)}\u200d${local.slice(2)}@example.com`, // zero-width joiner
      `\u202e${plain}`, // right-to-left override
      `${local.slice(0, 3)}\u00ad${local.slice(3)}@example.com`, // soft hyphen
      `\ufeff${plain}\u2060`, // BOM, word joiner
      `${fullWidth(local)}@example.com`,
      `${fullWidth(plain)}`, // full-width @ and dot too
    ];
    const first = await t.record(interaction({ identifiers: [{ type: 'EMAIL', value: plain }] }));
    for (const value of variants) {
      const r = await t.record(interaction({ identifiers: [{ type: 'EMAIL', value }] }));
      expect({ value, status: r.status, customerId: r.customerId, warnings: r.warnings }).toEqual({ value, status: 'CREATED', customerId: first.customerId, warnings: [] });
      // Matched on the clean value, the value as sent kept.
      expect(r.interaction!.identifiers).toEqual([{ type: 'EMAIL', value: plain, raw: value }]);
    }
    const identifiers = await t.sql(`SELECT type, value FROM identifier WHERE customer_id = $1`, [first.customerId]);
    expect(identifiers).toEqual([{ type: 'EMAIL', value: plain }]);
  });

  it('a CUSTOMER_ID with a zero-width character is the same id, not a second one', async () => {
    const id = unique('CRM');
    const first = await t.record(interaction({ identifiers: [{ type: 'CUSTOMER_ID', value: id }] }));
    const before = await counts();
    const second = await t.record(interaction({ identifiers: [{ type: 'CUSTOMER_ID', value: `${id.slice(0, 4)}\u200b${id.slice(4)}` }, { type: 'ANONYMOUS_ID', value: unique('anon') }] }));
    expect(second.customerId).toBe(first.customerId);
    expect(second.warnings).toEqual([]);
    const after = await counts();
    expect(after.customers).toBe(before.customers);
    expect(await t.sql(`SELECT value FROM identifier WHERE customer_id = $1 AND type = 'CUSTOMER_ID'`, [first.customerId])).toEqual([{ value: id }]);
  });

  it('a phone number in full-width digits is stored in E.164 and matches the plain one', async () => {
    const national = `06 12 ${String(Math.floor(Math.random() * 1e6)).padStart(6, '0')}`;
    const first = await t.record(interaction({ identifiers: [{ type: 'PHONE', value: fullWidth(national).replace(/ /g, '\u3000') }] }));
    const e164 = `+33${national.replace(/\s/g, '').slice(1)}`;
    expect(first.interaction!.identifiers[0].value).toBe(e164);
    const again = await t.record(interaction({ identifiers: [{ type: 'PHONE', value: national }] }));
    expect(again.customerId).toBe(first.customerId);
  });

  it('customerByIdentifier normalises the same way', async () => {
    const plain = `${unique('bob')}@example.com`;
    const { customerId } = await t.record(interaction({ identifiers: [{ type: 'EMAIL', value: plain }] }));
    for (const value of [`\u200b${plain}`, fullWidth(plain.toUpperCase()), `${plain}\u00ad`]) {
      const res = await t.gql(CustomerByIdentifierDocument, { type: 'EMAIL', value });
      expect(res.errors).toBeUndefined();
      expect(res.data!.customerByIdentifier?.id).toBe(customerId);
    }
  });

  it('refuses an e-mail that mixes Latin and Cyrillic or Greek letters, with its path, and writes nothing', async () => {
    const local = unique('lice');
    for (const value of [`\u0430${local}@example.com` /* Cyrillic а */, `${local}@ex\u0430mple.com`, `\u03bf${local}@example.com` /* Greek ο */]) {
      const before = await counts();
      const res = await t.gql(RecordInteractionDocument, { input: interaction({ identifiers: [{ type: 'EMAIL', value }] }) });
      expect(res.data).toBeNull();
      expect(res.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.identifiers[0].value' });
      expect(res.errors![0].message).toMatch(/Latin and (Cyrillic|Greek)/);
      expect(await counts()).toEqual(before);
    }
    const lookup = await t.gql(CustomerByIdentifierDocument, { type: 'EMAIL', value: `\u0430${local}@example.com` });
    expect(lookup.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'value' });
  });

  it('accepts addresses written in one script per part, Cyrillic included', async () => {
    const n = Math.floor(Math.random() * 1e9);
    for (const value of [`\u0410\u043b\u0438\u0441\u0430${n}@\u043f\u0440\u0438\u043c\u0435\u0440.\u0440\u0444`, `info${n}@\u043f\u0440\u0438\u043c\u0435\u0440.\u0440\u0444`]) {
      const r = await t.record(interaction({ identifiers: [{ type: 'EMAIL', value }] }));
      expect(r.status).toBe('CREATED');
      expect(r.interaction!.identifiers[0].value).toBe(value.toLowerCase());
    }
  });

  it('a value made only of invisible characters is empty: BAD_USER_INPUT', async () => {
    const res = await t.gql(RecordInteractionDocument, { input: interaction({ identifiers: [{ type: 'ANONYMOUS_ID', value: '\u200b\u200d\u2060' }] }) });
    expect(res.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.identifiers[0].value' });
  });

  it('in a batch, the look-alike item is rejected on its path and the others are stored', async () => {
    const plain = `${unique('carol')}@example.com`;
    const before = await counts();
    const res = await t.gql(RecordInteractionsDocument, {
      inputs: [
        interaction({ identifiers: [{ type: 'EMAIL', value: plain }] }),
        interaction({ identifiers: [{ type: 'EMAIL', value: `c\u0430rol@example.com` }] }),
        interaction({ identifiers: [{ type: 'EMAIL', value: `\u200b${plain}` }] }),
      ],
    });
    const [a, b, c] = res.data!.recordInteractions;
    expect([a.status, b.status, c.status]).toEqual(['CREATED', 'REJECTED', 'CREATED']);
    expect(b.problems).toEqual([expect.objectContaining({ code: 'BAD_USER_INPUT', field: 'inputs[1].identifiers[0].value' })]);
    expect(c.customerId).toBe(a.customerId);
    const after = await counts();
    expect([after.interactions - before.interactions, after.customers - before.customers, after.identifiers - before.identifiers]).toEqual([2, 1, 1]);
  });
});

describe('JSON depth', () => {
  const DEEP = 5000;

  it('refuses properties nested 5,000 levels deep with the field path, writing nothing', async () => {
    const before = await counts();
    const res = await postRaw<any>(RecordInteractionDocument, { input: { ...interaction(), properties: '$deep' } }, { deep: nestedJson(DEEP) });
    expect(res.status).toBe(200);
    expect(res.data).toBeNull();
    expect(res.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.properties' });
    expect(res.errors![0].message).toContain('32 levels');
    expect(await counts()).toEqual(before);
  });

  it('refuses traits nested too deep, on recordInteraction and on identify', async () => {
    const before = await counts();
    const recorded = await postRaw<any>(RecordInteractionDocument, { input: { ...interaction(), traits: '$deep' } }, { deep: nestedJson(DEEP) });
    expect(recorded.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.traits' });
    const identified = await postRaw<any>(IdentifyDocument, { identifiers: [{ type: 'EMAIL', value: `${unique('deep')}@example.com` }], traits: '$deep' }, { deep: nestedJson(DEEP) });
    expect(identified.data).toBeNull();
    expect(identified.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'traits' });
    expect(await counts()).toEqual(before);
  });

  it('in a batch, rejects the deep item on its path and stores the others', async () => {
    const good = [interaction(), interaction()];
    const before = await counts();
    const res = await postRaw<any>(
      RecordInteractionsDocument,
      { inputs: [good[0], { ...interaction(), properties: '$deep' }, { ...good[1], traits: { plan: 'gold' } }] },
      { deep: nestedJson(DEEP) },
    );
    expect(res.errors).toBeUndefined();
    const results = res.data.recordInteractions;
    expect(results.map((r: { status: string }) => r.status)).toEqual(['CREATED', 'REJECTED', 'CREATED']);
    expect(results[1].problems[0]).toMatchObject({ code: 'BAD_USER_INPUT', field: 'inputs[1].properties' });
    const after = await counts();
    expect(after.interactions - before.interactions).toBe(2);
  });

  it('accepts 32 levels and refuses 33', async () => {
    const ok = await t.gql(RecordInteractionDocument, { input: interaction({ properties: nested(32), traits: nested(32) }) });
    expect(ok.errors).toBeUndefined();
    expect(ok.data!.recordInteraction.status).toBe('CREATED');
    const res = await t.gql(RecordInteractionsDocument, { inputs: [interaction({ properties: nested(33) }), interaction({ traits: nested(33) })] });
    expect(res.data!.recordInteractions.map((r) => r.problems.map((p) => p.field))).toEqual([['inputs[0].properties'], ['inputs[1].traits']]);
  });

  it('refuses what PostgreSQL would refuse in JSON (lone surrogates, NUL) as input errors', async () => {
    const res = await t.gql(RecordInteractionsDocument, {
      inputs: [
        interaction({ properties: { note: 'half an emoji \ud83d' } }),
        interaction({ properties: { ['\udc00key']: 1 } }),
        interaction({ traits: { nested: { text: 'a\u0000b' } } }),
        interaction({ properties: { text: 'a literal \\u0000 is text, not NUL' } }),
      ],
    });
    expect(res.errors).toBeUndefined();
    expect(res.data!.recordInteractions.map((r) => [r.status, r.problems.map((p) => `${p.code} ${p.field}`)])).toEqual([
      ['REJECTED', ['BAD_USER_INPUT inputs[0].properties']],
      ['REJECTED', ['BAD_USER_INPUT inputs[1].properties']],
      ['REJECTED', ['BAD_USER_INPUT inputs[2].traits']],
      ['CREATED', []],
    ]);
  });

  it('a deep object written inline in the document is an input error on the item, never a 500', async () => {
    // Deeper than the 32 levels an item may hold, within the 64 levels of brackets a document may
    // nest (deeper documents are refused whole, before parsing: see the next test).
    const levels = 40;
    const literal = `${'{a: '.repeat(levels)}1${'}'.repeat(levels)}`;
    const res = await postQuery(
      `mutation { recordInteractions(inputs: [{ channel: WEB, type: PAGE_VIEW, identifiers: [{ type: ANONYMOUS_ID, value: "${unique('anon')}" }] },
         { channel: WEB, type: PAGE_VIEW, identifiers: [{ type: ANONYMOUS_ID, value: "${unique('anon')}" }], properties: ${literal} }]) { status problems { code field } } }`,
    );
    expect(res.errors).toBeUndefined();
    expect(res.data.recordInteractions).toEqual([
      { status: 'CREATED', problems: [] },
      { status: 'REJECTED', problems: [{ code: 'BAD_USER_INPUT', field: 'inputs[1].properties' }] },
    ]);
  });

  it('a document nested deeper than the GraphQL parser can read is a clean input error', async () => {
    for (const literal of [`${'{a: '.repeat(DEEP)}1${'}'.repeat(DEEP)}`, `${'['.repeat(DEEP)}1${']'.repeat(DEEP)}`]) {
      const res = await postQuery(
        `mutation { recordInteraction(input: { channel: WEB, type: PAGE_VIEW, identifiers: [{ type: ANONYMOUS_ID, value: "x" }], properties: { deep: ${literal} } }) { status } }`,
      );
      expect(res.status).toBeLessThan(500);
      expect(res.errors![0].extensions!.code).toBe('BAD_USER_INPUT');
    }
    // And the server is still there.
    const { customerId } = await t.record(interaction());
    expect((await t.gql(CustomerDocument, { id: customerId! })).data!.customer!.id).toBe(customerId);
  });
});
