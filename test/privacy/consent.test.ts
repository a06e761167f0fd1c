import { Scope } from '../../src/modules/access/scope.enum';
import { ConsentAudienceDocument, PersonalProfileDocument, RecordInteractionDocument, SetConsentDocument } from '../generated/graphql';
import { interaction, unique } from '../helpers/factories';
import { eventually, useLiveServer } from '../helpers/live';

const live = useLiveServer();
const DAY = 86_400_000;
const daysAgo = (d: number) => new Date(Date.now() - d * DAY).toISOString();

async function profile(id: string) {
  const res = await live.t.gql(PersonalProfileDocument, { id });
  expect(res.errors).toBeUndefined();
  return res.data!.customer!;
}
const consentOf = async (id: string, purpose: string) => (await profile(id)).consents.find((c) => c.purpose === purpose)!;

describe('consent per purpose', () => {
  it('granted on the web, denied later by phone: DENIED, with both in the history; every known purpose is listed', async () => {
    const t = live.t;
    const email = { type: 'EMAIL' as const, value: `${unique('c')}@example.com` };
    const web = await t.record(interaction({ channel: 'WEB', occurredAt: daysAgo(10), identifiers: [email], consents: [{ purpose: 'EMAIL_MARKETING', status: 'GRANTED' }] }));
    expect((await consentOf(web.customerId!, 'EMAIL_MARKETING')).status).toBe('GRANTED');
    const deniedAt = daysAgo(2);
    await t.record(interaction({ channel: 'PHONE', type: 'CALL', occurredAt: deniedAt, identifiers: [email], consents: [{ purpose: 'EMAIL_MARKETING', status: 'DENIED' }] }));
    const p = await profile(web.customerId!);
    expect(p.consents.map((c) => c.purpose)).toEqual(['EMAIL_MARKETING', 'SMS_MARKETING', 'PHONE_MARKETING', 'PERSONALIZATION', 'ANALYTICS']);
    const c = p.consents[0];
    expect(c).toMatchObject({ status: 'DENIED', since: deniedAt });
    expect(c.history.map((h) => [h.status, h.channel, !!h.interactionId])).toEqual([
      ['GRANTED', 'WEB', true],
      ['DENIED', 'PHONE', true],
    ]);
    expect(p.consents[1]).toEqual({ purpose: 'SMS_MARKETING', status: 'UNKNOWN', since: null, history: [] });
  });

  it('a late (older) decision joins the history without overriding a newer one', async () => {
    const t = live.t;
    const email = { type: 'EMAIL' as const, value: `${unique('late')}@example.com` };
    const first = await t.gql(SetConsentDocument, { identifiers: [email], purpose: 'SMS_MARKETING', status: 'DENIED', channel: 'STORE', occurredAt: daysAgo(1) });
    expect(first.errors).toBeUndefined();
    expect(first.data!.setConsent).toMatchObject({ status: 'DENIED', applied: true });
    const customerId = first.data!.setConsent.customerId;
    // The grant given a month ago reaches us now (a batch from the shop's back end).
    const late = await t.record(interaction({ channel: 'WEB', occurredAt: daysAgo(30), identifiers: [email], consents: [{ purpose: 'SMS_MARKETING', status: 'GRANTED' }] }));
    expect(late.customerId).toBe(customerId);
    const c = await consentOf(customerId, 'SMS_MARKETING');
    expect(c.status).toBe('DENIED');
    expect(c.history.map((h) => h.status)).toEqual(['GRANTED', 'DENIED']);
    const byId = await t.gql(SetConsentDocument, { customerId, purpose: 'SMS_MARKETING', status: 'GRANTED', channel: 'WEB', occurredAt: daysAgo(5) });
    expect(byId.data!.setConsent).toMatchObject({ customerId, status: 'DENIED', applied: false });
    const now = await t.gql(SetConsentDocument, { customerId, purpose: 'sms_marketing', status: 'GRANTED', channel: 'APP' });
    expect(now.data!.setConsent).toMatchObject({ customerId, purpose: 'SMS_MARKETING', status: 'GRANTED', applied: true });
  });

  it('a merge of two people who decided differently keeps the latest decision and records the conflict in the ledger', async () => {
    const t = live.t;
    const email = { type: 'EMAIL' as const, value: `${unique('m')}@example.com` };
    const device = { type: 'DEVICE_ID' as const, value: unique('device') };
    const [grantedAt, deniedAt] = [daysAgo(20), daysAgo(3)];
    const older = await t.record(interaction({ channel: 'WEB', occurredAt: grantedAt, identifiers: [email], consents: [{ purpose: 'PERSONALIZATION', status: 'GRANTED' }] }));
    const newer = await t.record(interaction({ channel: 'APP', occurredAt: deniedAt, identifiers: [device], consents: [{ purpose: 'PERSONALIZATION', status: 'DENIED' }, { purpose: 'ANALYTICS', status: 'GRANTED' }] }));
    const link = await t.record(interaction({ channel: 'APP', occurredAt: daysAgo(1), identifiers: [device, email] }));
    expect(link).toMatchObject({ customerId: older.customerId, mergedCustomerIds: [newer.customerId] });
    const p = await profile(older.customerId!);
    const personalization = p.consents.find((c) => c.purpose === 'PERSONALIZATION')!;
    expect(personalization.status).toBe('DENIED');
    expect(personalization.history.map((h) => h.status)).toEqual(['GRANTED', 'DENIED']);
    expect(p.consents.find((c) => c.purpose === 'ANALYTICS')!.status).toBe('GRANTED');
    expect(p.merges).toHaveLength(1);
    expect(p.merges[0].consentConflicts).toEqual([
      {
        purpose: 'PERSONALIZATION',
        keptStatus: 'DENIED',
        keptAt: deniedAt,
        keptFrom: newer.customerId,
        overriddenStatus: 'GRANTED',
        overriddenAt: grantedAt,
        overriddenFrom: older.customerId,
      },
    ]);
  });

  it('customers(filter: { consent }) returns only the people in that status', async () => {
    const t = live.t;
    const purpose = 'PHONE_MARKETING';
    const yes = await t.gql(SetConsentDocument, { identifiers: [{ type: 'EMAIL', value: `${unique('yes')}@example.com` }], purpose, status: 'GRANTED', channel: 'WEB' });
    const no = await t.gql(SetConsentDocument, { identifiers: [{ type: 'EMAIL', value: `${unique('no')}@example.com` }], purpose, status: 'DENIED', channel: 'WEB' });
    const unasked = await t.record(interaction());
    const ids = async (status: 'GRANTED' | 'DENIED' | 'UNKNOWN') =>
      (await t.gql(ConsentAudienceDocument, { purpose, status, first: 100 })).data!.customers.edges.map((e) => e.node.id);
    const granted = await ids('GRANTED');
    expect(granted).toContain(yes.data!.setConsent.customerId);
    expect(granted).not.toContain(no.data!.setConsent.customerId);
    expect(granted).not.toContain(unasked.customerId);
    // Every GRANTED answer really is GRANTED.
    const rows = await t.sql(`SELECT customer_id FROM consent_state WHERE purpose = $1 AND status = 'GRANTED'`, [purpose]);
    expect(new Set(granted)).toEqual(new Set(rows.map((r) => r.customer_id)));
    expect(await ids('DENIED')).toEqual([no.data!.setConsent.customerId]);
    expect(await ids('UNKNOWN')).toContain(unasked.customerId);
  });

  it('bad input: an unknown purpose, both or neither of customerId and identifiers, a duplicate purpose — BAD_USER_INPUT with the path, nothing stored', async () => {
    const t = live.t;
    const before = (await t.sql(`SELECT count(*)::int AS n FROM consent_decision`))[0].n;
    const unknown = await t.gql(SetConsentDocument, { identifiers: [{ type: 'EMAIL', value: `${unique('x')}@example.com` }], purpose: 'TELEPATHY', status: 'GRANTED', channel: 'WEB' });
    expect(unknown.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'purpose' });
    expect(unknown.errors![0].message).toContain('EMAIL_MARKETING');
    const neither = await t.gql(SetConsentDocument, { purpose: 'ANALYTICS', status: 'GRANTED', channel: 'WEB' });
    expect(neither.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'customerId' });
    const future = await t.gql(SetConsentDocument, { customerId: '00000000-0000-7000-8000-000000000000', purpose: 'ANALYTICS', status: 'GRANTED', channel: 'WEB', occurredAt: new Date(Date.now() + 3 * DAY).toISOString() });
    expect(future.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'occurredAt' });
    const nobody = await t.gql(SetConsentDocument, { customerId: '00000000-0000-7000-8000-000000000000', purpose: 'ANALYTICS', status: 'GRANTED', channel: 'WEB' });
    expect(nobody.errors![0].extensions!.code).toBe('NOT_FOUND');
    const twice = await t.gql(RecordInteractionDocument, {
      input: interaction({ consents: [{ purpose: 'ANALYTICS', status: 'GRANTED' }, { purpose: 'analytics', status: 'DENIED' }] }),
    });
    expect(twice.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.consents[1].purpose' });
    const audience = await t.gql(ConsentAudienceDocument, { purpose: 'NOPE', status: 'GRANTED' });
    expect(audience.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'filter.consent.purpose' });
    expect((await t.sql(`SELECT count(*)::int AS n FROM consent_decision`))[0].n).toBe(before);
  });

  it('live: consentChanged on every change of status, and a campaign tool subscribed with consent: GRANTED only hears of people who said yes', async () => {
    const t = live.t;
    const key = (await t.server.services.apiKeys.create('campaign tool', [Scope.SUBSCRIBE])).key;
    const changes = live.client(key).subscribe('subscription { consentChanged(purposes: ["EMAIL_MARKETING"]) { customerId purpose status previousStatus channel } }');
    const campaign = live.client(key).subscribe('subscription { interactionRecorded(consent: { purpose: "EMAIL_MARKETING", status: GRANTED }) { customerId type } }');
    await live.subscribed(2);
    const yes = { type: 'EMAIL' as const, value: `${unique('yes')}@example.com` };
    const no = { type: 'EMAIL' as const, value: `${unique('no')}@example.com` };
    const a = await t.record(interaction({ identifiers: [yes], consents: [{ purpose: 'EMAIL_MARKETING', status: 'GRANTED' }] }));
    const b = await t.record(interaction({ identifiers: [no], consents: [{ purpose: 'EMAIL_MARKETING', status: 'DENIED' }] }));
    await t.record(interaction({ type: 'PRODUCT_VIEW', identifiers: [no] }));
    await t.record(interaction({ type: 'ADD_TO_CART', identifiers: [yes] }));
    // Same status again: no change, no event.
    await t.record(interaction({ type: 'PAGE_VIEW', identifiers: [yes], consents: [{ purpose: 'EMAIL_MARKETING', status: 'GRANTED' }, { purpose: 'ANALYTICS', status: 'GRANTED' }] }));
    await eventually(() => campaign.events.length >= 3 && changes.events.length >= 2, 3000, 'the events');
    await new Promise((r) => setTimeout(r, 300));
    expect(changes.events).toEqual([
      { customerId: a.customerId, purpose: 'EMAIL_MARKETING', status: 'GRANTED', previousStatus: 'UNKNOWN', channel: 'WEB' },
      { customerId: b.customerId, purpose: 'EMAIL_MARKETING', status: 'DENIED', previousStatus: 'UNKNOWN', channel: 'WEB' },
    ]);
    expect(campaign.events).toEqual([
      { customerId: a.customerId, type: 'PAGE_VIEW' },
      { customerId: a.customerId, type: 'ADD_TO_CART' },
      { customerId: a.customerId, type: 'PAGE_VIEW' },
    ]);
    const bad = live.client(key).subscribe('subscription { interactionRecorded(consent: { purpose: "NOPE", status: GRANTED }) { customerId } }');
    await bad.ended;
    expect((bad.errors[0] as any)[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'consent.purpose' });
  });
});
