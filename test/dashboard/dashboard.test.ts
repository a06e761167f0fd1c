import fs from 'node:fs';
import path from 'node:path';

import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

import {
  ChannelAttributionDocument,
  CustomerByIdentifierDocument,
  CustomerLifecycleDocument,
  EvaluateLifecycleDocument,
  JourneyFunnelDocument,
  LifecycleDistributionDocument,
  LifecycleFlowDocument,
  RecordInteractionsDocument,
  type RecordInteractionInput,
} from '../generated/graphql';
import { interaction, unique } from '../helpers/factories';
import { caughtUp, eventually } from '../helpers/live';
import { startTestServer, type TestServer } from '../helpers/server';

/*
 * The dashboard in a real Chromium against a real server: the figures it shows are the API's,
 * a stage change reaches its live feed within 2 s, a change made while its socket is down is
 * shown after the reconnection (replayed from its cursor, once), and the search finds a French
 * mobile typed in national format.
 */

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const hasChromium = fs.existsSync(CHROMIUM);
if (!hasChromium) console.warn(`[dashboard test] skipped: no Chromium at ${CHROMIUM} (set CHROMIUM_PATH to a Chromium or Chrome executable)`);

const SCREENSHOTS = path.join(__dirname, 'screenshots');
const README_SCREENSHOT = path.join(__dirname, '..', '..', 'docs', 'dashboard.png');
const DAY = 24 * 3600 * 1000;
const NOW = Date.now();
const daysAgo = (days: number, minutes = 0) => new Date(NOW - days * DAY + minutes * 60_000).toISOString();
const count = (text: string | null) => Number((text ?? '').replace(/[^\d]/g, ''));

/*
 * Keeps a handle on the page's websockets so that the test can cut them as a network would.
 * A close from this side with a code the client does not treat as final (3000) goes through the
 * same path as a dropped connection: backoff, reconnect, resubscribe.
 */
const SOCKET_TAP = `(() => {
  const Native = window.WebSocket;
  const open = new Set();
  class TappedWebSocket extends Native {
    constructor(url, protocols) {
      super(url, protocols);
      open.add(this);
      this.addEventListener('close', () => open.delete(this));
    }
  }
  window.WebSocket = TappedWebSocket;
  window.__cutSockets = () => { const n = open.size; for (const s of open) s.close(3000, 'cut by the test'); return n; };
})();`;

(hasChromium ? describe : describe.skip)('the dashboard in Chromium', () => {
  let t: TestServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let dashboardUrl: string;
  const problems: string[] = [];
  const ids: Record<string, string> = {};
  const phone = '+33 6 12 34 56 78';

  const watch = (p: Page) => {
    p.on('console', (message) => {
      if (message.type() === 'error') problems.push(`console: ${message.text()}`);
      if (process.env.DEBUG_DASHBOARD) console.log(`[page ${message.type()}] ${message.text()}`);
    });
    p.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  };

  const record = async (inputs: RecordInteractionInput[]) => {
    const res = await t.gql(RecordInteractionsDocument, { inputs });
    expect(res.errors).toBeUndefined();
    const results = res.data!.recordInteractions;
    expect(results.map((r) => [r.status, r.problems])).toEqual(inputs.map(() => ['CREATED', []]));
    return results;
  };

  const screenshot = (name: string) => page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });

  beforeAll(async () => {
    fs.mkdirSync(SCREENSHOTS, { recursive: true });
    const launching = chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    t = await startTestServer();
    dashboardUrl = t.url.replace(/\/graphql$/, '/dashboard/');

    // Several people on several channels, over the last 90 days (the page's default period).
    const alice = [{ type: 'EMAIL' as const, value: `${unique('alice')}@example.com` }];
    const bob = [{ type: 'CUSTOMER_ID' as const, value: unique('bob') }];
    const chloePhone = [{ type: 'PHONE' as const, value: phone }];
    const chloeDevice = [{ type: 'DEVICE_ID' as const, value: unique('device') }];
    const dan = [{ type: 'EMAIL' as const, value: `${unique('dan')}@example.com` }];
    const eve = [{ type: 'ANONYMOUS_ID' as const, value: unique('eve') }];
    const frank = [{ type: 'LOYALTY_CARD' as const, value: unique('card') }];
    const hugo = [{ type: 'EMAIL' as const, value: `${unique('hugo')}@example.com` }];
    const [feedFirst, feedSecond] = [unique('feed-first'), unique('feed-second')].map((value) => [{ type: 'CUSTOMER_ID' as const, value }]);
    const inputs: RecordInteractionInput[] = [
      // alice: browses on the web and the app, buys twice: ACTIVE.
      interaction({ channel: 'WEB', type: 'PAGE_VIEW', occurredAt: daysAgo(60), identifiers: alice }),
      interaction({ channel: 'APP', type: 'PRODUCT_VIEW', occurredAt: daysAgo(60, 5), identifiers: alice }),
      interaction({ channel: 'WEB', type: 'ADD_TO_CART', occurredAt: daysAgo(60, 10), identifiers: alice }),
      interaction({ channel: 'WEB', type: 'PURCHASE', amount: '49.90', occurredAt: daysAgo(60, 15), identifiers: alice }),
      interaction({ channel: 'APP', type: 'PURCHASE', amount: '25', occurredAt: daysAgo(20), identifiers: alice }),
      // bob: four store purchases in the period: LOYAL.
      ...[80, 60, 40, 10].flatMap((d) => [
        interaction({ channel: 'STORE', type: 'STORE_VISIT', occurredAt: daysAgo(d), identifiers: bob }),
        interaction({ channel: 'STORE', type: 'PURCHASE', amount: '80', occurredAt: daysAgo(d, 20), identifiers: bob }),
      ]),
      // chloé: known by her phone and, on the app, by a device; one purchase links both (a merge).
      interaction({ channel: 'APP', type: 'PAGE_VIEW', occurredAt: daysAgo(35), identifiers: chloeDevice }),
      interaction({ channel: 'PHONE', type: 'CALL', occurredAt: daysAgo(30), identifiers: chloePhone }),
      interaction({ channel: 'PHONE', type: 'PURCHASE', amount: '120', occurredAt: daysAgo(30, 10), identifiers: chloePhone }),
      interaction({ channel: 'APP', type: 'PRODUCT_VIEW', occurredAt: daysAgo(5), identifiers: [...chloePhone, ...chloeDevice] }),
      // dan: fills a cart 44 days ago and goes quiet: abandoned 30 days later.
      interaction({ channel: 'WEB', type: 'SEARCH', occurredAt: daysAgo(45), identifiers: dan }),
      interaction({ channel: 'WEB', type: 'PRODUCT_VIEW', occurredAt: daysAgo(45, 5), identifiers: dan }),
      interaction({ channel: 'WEB', type: 'ADD_TO_CART', occurredAt: daysAgo(44), identifiers: dan }),
      // eve: a prospect from social media, still browsing.
      interaction({ channel: 'SOCIAL', type: 'SOCIAL_ENGAGEMENT', occurredAt: daysAgo(10), identifiers: eve }),
      interaction({ channel: 'WEB', type: 'SEARCH', occurredAt: daysAgo(9), identifiers: eve }),
      // frank: two purchases long ago, AT_RISK 60 days ago, back 5 days ago: REACTIVATED.
      interaction({ channel: 'STORE', type: 'PURCHASE', amount: '200', occurredAt: daysAgo(200), identifiers: frank }),
      interaction({ channel: 'STORE', type: 'PURCHASE', amount: '150', occurredAt: daysAgo(150), identifiers: frank }),
      interaction({ channel: 'EMAIL', type: 'EMAIL_CLICK', occurredAt: daysAgo(6), identifiers: frank }),
      interaction({ channel: 'WEB', type: 'PURCHASE', amount: '75.50', occurredAt: daysAgo(5), identifiers: frank }),
      // hugo: first touched by an e-mail, buys twice on the app.
      interaction({ channel: 'EMAIL', type: 'EMAIL_CLICK', occurredAt: daysAgo(16), identifiers: hugo }),
      interaction({ channel: 'APP', type: 'PURCHASE', amount: '19.99', occurredAt: daysAgo(15), identifiers: hugo }),
      interaction({ channel: 'APP', type: 'PURCHASE', amount: '39.99', occurredAt: daysAgo(3), identifiers: hugo }),
      // Two prospects whose first purchase the live feed will show.
      interaction({ channel: 'WEB', type: 'PAGE_VIEW', occurredAt: daysAgo(1), identifiers: feedFirst }),
      interaction({ channel: 'APP', type: 'PAGE_VIEW', occurredAt: daysAgo(1), identifiers: feedSecond }),
    ];
    const results = await record(inputs);
    const customerOf = (who: Array<{ value: string }>) => results.find((_r, i) => inputs[i].identifiers.some((id) => id.value === who[0].value))!.customerId!;
    Object.assign(ids, { dan: customerOf(dan), feedFirst: customerOf(feedFirst), feedSecond: customerOf(feedSecond), feedFirstKey: feedFirst[0].value, feedSecondKey: feedSecond[0].value });
    // Time-driven changes up to now: dan's cart is abandoned, frank's AT_RISK stands.
    const sweep = await t.gql(EvaluateLifecycleDocument, { asOf: new Date().toISOString() }, t.keys.admin);
    expect(sweep.errors).toBeUndefined();
    await caughtUp(t);

    browser = await launching;
  });

  afterEach(() => {
    // Whatever the page did in this test, it logged no error and threw none.
    expect(problems.splice(0)).toEqual([]);
  });

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('asks for the key once, then shows the API figures of the period', async () => {
    // A fresh profile each run: nothing remembered between runs.
    context = await browser.newContext({ viewport: { width: 1440, height: 900 }, deviceScaleFactor: 1 });
    await context.addInitScript({ content: SOCKET_TAP });
    page = await context.newPage();
    watch(page);
    const started = Date.now();
    await page.goto(dashboardUrl);
    await page.getByTestId('key-input').waitFor();
    await screenshot('key-form');
    await page.getByTestId('key-input').fill(t.keys.admin);
    await page.getByTestId('key-submit').click();

    await page.locator('[data-testid="distribution-meta"][data-as-of]').waitFor();
    await page.getByTestId('funnel-started').waitFor();
    await page.getByTestId('flow-total').waitFor();
    await page.getByTestId('attribution-total').waitFor();
    await page.getByTestId('abandoned-count').waitFor();
    console.log(`[dashboard test] page loaded and filled in ${Date.now() - started} ms`);

    // Kept for the tab only.
    expect(await page.evaluate('sessionStorage.length')).toBe(1);
    expect(await page.evaluate('localStorage.length')).toBe(0);

    // The distribution, read at once with the instant it was computed for.
    const shown = (await page.evaluate(`(() => {
      const asOf = document.querySelector('[data-testid="distribution-meta"]').dataset.asOf;
      const counts = {};
      for (const cell of document.querySelectorAll('[data-testid^="distribution-"]')) counts[cell.dataset.testid] = cell.textContent;
      return { asOf, counts };
    })()`)) as { asOf: string; counts: Record<string, string> };
    const distribution = (await t.gql(LifecycleDistributionDocument, { asOf: shown.asOf })).data!.lifecycleDistribution;
    expect(distribution.total).toBeGreaterThanOrEqual(9);
    for (const s of distribution.stages) expect([s.stage, count(shown.counts[`distribution-${s.stage}`])]).toEqual([s.stage, s.count]);
    expect(count(shown.counts['distribution-total'])).toBe(distribution.total);
    expect(distribution.stages.filter((s) => s.count > 0).map((s) => s.stage)).toEqual(expect.arrayContaining(['PROSPECT', 'NEW_CUSTOMER', 'ACTIVE', 'LOYAL', 'REACTIVATED']));

    // The period the page used, and the API's answers for it.
    const form = page.getByTestId('period');
    const period = { from: (await form.getAttribute('data-from'))!, to: (await form.getAttribute('data-to'))! };
    const from = Date.parse(period.from);
    const to = Date.parse(period.to);
    expect(to - from).toBeGreaterThanOrEqual(90 * DAY);
    expect(from).toBeLessThan(NOW - 80 * DAY);
    expect(to).toBeGreaterThan(NOW);

    const funnel = (await t.gql(JourneyFunnelDocument, { from: period.from, to: period.to })).data!.journeyFunnel;
    expect(funnel.started).toBeGreaterThan(0);
    expect(count(await page.getByTestId('funnel-started').textContent())).toBe(funnel.started);
    expect(count(await page.getByTestId('funnel-converted').textContent())).toBe(funnel.converted);
    for (const step of funnel.steps) expect([step.step, count(await page.getByTestId(`funnel-step-${step.step}`).textContent())]).toEqual([step.step, step.reached]);

    const attribution = (await t.gql(ChannelAttributionDocument, { from: period.from, to: period.to, model: 'LAST_TOUCH' })).data!.channelAttribution;
    expect(attribution.length).toBeGreaterThanOrEqual(3);
    for (const row of attribution) {
      expect(count(await page.getByTestId(`attribution-${row.channel}-conversions`).textContent())).toBe(row.conversions);
      expect(await page.getByTestId(`attribution-${row.channel}-revenue`).textContent()).toBe(row.revenue);
    }

    const flow = (await t.gql(LifecycleFlowDocument, { from: period.from, to: period.to })).data!.lifecycleFlow;
    expect(count(await page.getByTestId('flow-total').textContent())).toBe(flow.reduce((sum, f) => sum + f.count, 0));
    // A cycle within the period (ACTIVE → AT_RISK, then AT_RISK → REACTIVATED) is drawn all the same.
    expect(flow).toEqual(expect.arrayContaining([expect.objectContaining({ from: 'ACTIVE', to: 'AT_RISK' }), expect.objectContaining({ from: 'AT_RISK', to: 'REACTIVATED' })]));

    // Dan's cart.
    expect(await page.locator(`[data-testid="abandoned-row"][data-customer-id="${ids.dan}"]`).count()).toBe(1);

    // The charts are drawn, not empty boxes: bars, flows, funnel trapezoids as SVG paths.
    const paths: Record<string, number> = {};
    for (const chart of ['chart-distribution', 'chart-flow', 'chart-funnel', 'chart-attribution']) paths[chart] = await page.locator(`[data-testid="${chart}"] svg path`).count();
    expect(Object.entries(paths).filter(([, n]) => n < 4)).toEqual([]);
  });

  it('shows a stage change within 2 s, and one made while disconnected after the reconnection', async () => {
    await page.locator('[data-testid="live-status"][data-state="live"]').waitFor();
    await eventually(() => t.server.live.snapshot().liveSubscriptions >= 1, 5000, 'the page to subscribe');

    // A first purchase: PROSPECT → NEW_CUSTOMER.
    await t.record(interaction({ channel: 'WEB', type: 'PURCHASE', amount: '10', occurredAt: new Date().toISOString(), identifiers: [{ type: 'CUSTOMER_ID', value: ids.feedFirstKey }] }));
    const answered = Date.now();
    const first = page.locator(`[data-testid="feed-item"][data-customer-id="${ids.feedFirst}"]`);
    await first.waitFor({ timeout: 2000 });
    const latency = Date.now() - answered;
    console.log(`[dashboard test] stage change shown ${latency} ms after the write's answer`);
    expect(latency).toBeLessThan(2000);
    expect(await first.getAttribute('data-to')).toBe('NEW_CUSTOMER');

    // The connection drops; a change is committed while the page has none.
    expect(await page.evaluate('window.__cutSockets()')).toBe(1);
    await page.locator('[data-testid="live-status"][data-state="reconnecting"]').waitFor();
    await t.record(interaction({ channel: 'APP', type: 'PURCHASE', amount: '12', occurredAt: new Date().toISOString(), identifiers: [{ type: 'CUSTOMER_ID', value: ids.feedSecondKey }] }));
    // Still down when the write answered: the change can only come as a replay after `after`.
    expect(await page.getByTestId('live-status').getAttribute('data-state')).not.toBe('live');
    await screenshot('reconnecting');

    const second = page.locator(`[data-testid="feed-item"][data-customer-id="${ids.feedSecond}"]`);
    await second.waitFor({ timeout: 10_000 });
    await page.locator('[data-testid="live-status"][data-state="live"]').waitFor();
    expect(await second.getAttribute('data-to')).toBe('NEW_CUSTOMER');
    // Newest first, each change once.
    const items = (await page.evaluate(`[...document.querySelectorAll('[data-testid="feed-item"]')].map((li) => ({ id: li.dataset.eventId, customer: li.dataset.customerId }))`)) as Array<{ id: string; customer: string }>;
    expect(items.slice(0, 2).map((i) => i.customer)).toEqual([ids.feedSecond, ids.feedFirst]);
    expect(new Set(items.map((i) => i.id)).size).toBe(items.length);

    // The distribution as of now follows the changes (refreshed by the page a moment later).
    await eventually(
      async () => Date.parse((await page.getByTestId('distribution-meta').getAttribute('data-as-of')) ?? '') > answered,
      10_000,
      'the distribution to be refreshed',
    );
    const shown = (await page.evaluate(`(() => ({
      asOf: document.querySelector('[data-testid="distribution-meta"]').dataset.asOf,
      newCustomers: document.querySelector('[data-testid="distribution-NEW_CUSTOMER"]').textContent,
    }))()`)) as { asOf: string; newCustomers: string };
    const distribution = (await t.gql(LifecycleDistributionDocument, { asOf: shown.asOf })).data!.lifecycleDistribution;
    expect(count(shown.newCustomers)).toBe(distribution.stages.find((s) => s.stage === 'NEW_CUSTOMER')!.count);
  });

  it('finds a customer by a phone number typed in national format and shows the card', async () => {
    const byApi = (await t.gql(CustomerByIdentifierDocument, { type: 'PHONE', value: phone })).data!.customerByIdentifier!;
    const lifecycle = (await t.gql(CustomerLifecycleDocument, { id: byApi.id })).data!.customer!.lifecycle;

    await page.getByTestId('search-type').selectOption('PHONE');
    await page.getByTestId('search-value').fill('06 12 34 56 78');
    await page.getByTestId('search-submit').click();
    const card = page.getByTestId('customer-card');
    await card.waitFor();
    expect(await card.getAttribute('data-customer-id')).toBe(byApi.id);
    expect(await page.getByTestId('customer-stage').textContent()).toBe(lifecycle.stage.replace(/_/g, ' '));
    expect(await page.getByTestId('customer-explanation').textContent()).toBe(lifecycle.explanation);
    // Its identifiers (as stored: the admin key sees personal data), and the merge of the app's device.
    const identifiers = await page.getByTestId('customer-identifiers').textContent();
    expect(identifiers).toContain('+33612345678');
    expect(await page.locator('[data-testid="customer-merges"] tbody tr').count()).toBe(1);
    expect(await page.locator('[data-testid="customer-journeys"] tbody tr').count()).toBeGreaterThanOrEqual(1);

    await screenshot('dashboard');
    // The README's picture is refreshed on demand only, so that a test run leaves the checkout clean.
    if (process.env.UPDATE_README_SCREENSHOT) {
      fs.mkdirSync(path.dirname(README_SCREENSHOT), { recursive: true });
      fs.copyFileSync(path.join(SCREENSHOTS, 'dashboard.png'), README_SCREENSHOT);
    }
  });

  it('shows the API errors of a key without the read scope in the page', async () => {
    // A new context: its own sessionStorage, so the page asks for a key again.
    const other = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    try {
      const p = await other.newPage();
      watch(p);
      await p.goto(dashboardUrl);
      await p.getByTestId('key-input').fill(t.keys.subscribe);
      await p.getByTestId('key-submit').click();
      const error = p.getByTestId('error-distribution');
      await error.waitFor();
      expect(await error.textContent()).toContain('FORBIDDEN');
      for (const card of ['funnel', 'attribution', 'flow', 'abandoned']) {
        await p.getByTestId(`error-${card}`).waitFor();
        expect(await p.getByTestId(`error-${card}`).textContent()).toContain('FORBIDDEN');
      }
      await p.screenshot({ path: path.join(SCREENSHOTS, 'forbidden.png'), fullPage: true });

      // Forgetting the key clears the tab's storage and asks again.
      await p.getByTestId('forget-key').click();
      await p.getByTestId('key-input').waitFor();
      expect(await p.evaluate('sessionStorage.length')).toBe(0);
    } finally {
      await other.close();
    }
  });
});
