import { describeErrors, request, whenUnauthenticated, wsEndpoint, type ApiError } from './api';
import { clearChart, drawAttribution, drawDistribution, drawFlow, drawFunnel } from './charts';
import { renderCustomer } from './customer-card';
import { byId, formatCount, formatInstant, formatShare, formatTime, h, replace, shortId } from './dom';
import {
  DashboardAbandonedCartsDocument,
  DashboardAttributionDocument,
  DashboardCustomerByIdentifierDocument,
  DashboardCustomerDocument,
  DashboardDistributionDocument,
  DashboardFlowDocument,
  DashboardFunnelDocument,
  type AttributionModel,
  type Channel,
  type CustomerCardFragment,
  type IdentifierType,
} from './generated/graphql';
import { ATTRIBUTION_MODELS, byStageOrder, CHANNELS, IDENTIFIER_TYPES, stageLabel } from './labels';
import { followStageChanges, type Feed, type LiveStatus, type StageChange } from './live';
import { daysAgo, endOfDay, startOfDay, toDateInput } from './period';

/** sessionStorage: the key lives as long as the tab, and no other tab or later visit sees it. */
const KEY_STORAGE = 'customer-graph.dashboard.key';
const DEFAULT_PERIOD_DAYS = 90;
const FEED_LENGTH = 200;
const ABANDONED_SHOWN = 20;

let key: string | null = null;
/** Bumped when the key is forgotten: answers to requests sent with the old one are dropped. */
let keyEpoch = 0;
let feed: Feed | null = null;
let feedReceived = 0;

// ---- errors: always shown in the page, never a blank one ----

function showBanner(message: string | null): void {
  const banner = byId('banner');
  banner.textContent = message ?? '';
  banner.hidden = !message;
}

function showErrors(card: string, errors: readonly ApiError[]): void {
  const element = byId(`error-${card}`);
  element.textContent = describeErrors(errors);
  element.hidden = errors.length === 0;
}

/** Each card shows the answer to the last request it sent, whatever order the answers come in. */
const generations = new Map<string, number>();
function begin(card: string): () => boolean {
  const generation = (generations.get(card) ?? 0) + 1;
  const epoch = keyEpoch;
  generations.set(card, generation);
  return () => generations.get(card) === generation && epoch === keyEpoch;
}

// ---- the period shared by the flow, the funnel, the attribution and the carts ----

interface Period {
  from: string;
  to: string;
}

function currentPeriod(): Period | null {
  const from = startOfDay(byId<HTMLInputElement>('period-from').value);
  const to = endOfDay(byId<HTMLInputElement>('period-to').value);
  if (!from || !to || from >= to) return null;
  return { from: from.toISOString(), to: to.toISOString() };
}

function periodLabel(): string {
  return `${byId<HTMLInputElement>('period-from').value} to ${byId<HTMLInputElement>('period-to').value}`;
}

// ---- cards ----

let distributionLoadedAt = 0;

async function loadDistribution(): Promise<void> {
  const current = begin('distribution');
  const asOfDay = byId<HTMLInputElement>('as-of').value;
  const asOf = asOfDay ? endOfDay(asOfDay)?.toISOString() ?? null : null;
  distributionLoadedAt = Date.now();
  const { data, errors } = await request(key!, DashboardDistributionDocument, { asOf });
  if (!current()) return;
  showErrors('distribution', errors);
  const meta = byId('distribution-meta');
  const table = byId('distribution-table');
  const distribution = data?.lifecycleDistribution;
  if (!distribution) {
    replace(table);
    clearChart(byId('chart-distribution'));
    meta.textContent = '';
    delete meta.dataset.asOf;
    return;
  }
  meta.dataset.asOf = distribution.asOf;
  replace(meta, asOfDay ? `As of the end of ${asOfDay}: ` : `Now (${formatInstant(distribution.asOf)}): `, h('strong', { 'data-testid': 'distribution-total' }, formatCount(distribution.total)), ' customers');
  drawDistribution(byId('chart-distribution'), distribution);
  replace(
    table,
    ...byStageOrder(distribution.stages).map((s) =>
      h(
        'tr',
        { 'data-testid': `distribution-row-${s.stage}` },
        h('td', {}, stageLabel(s.stage)),
        h('td', { class: 'num', 'data-testid': `distribution-${s.stage}` }, formatCount(s.count)),
        h('td', { class: 'num' }, formatShare(distribution.total ? s.count / distribution.total : null)),
      ),
    ),
  );
}

/** Stage changes move the distribution as of now: redraw it, at most every 5 s. */
let distributionRefresh: ReturnType<typeof setTimeout> | undefined;
function distributionChanged(): void {
  if (byId<HTMLInputElement>('as-of').value || distributionRefresh !== undefined) return;
  const wait = Math.max(1000, distributionLoadedAt + 5000 - Date.now());
  distributionRefresh = setTimeout(() => {
    distributionRefresh = undefined;
    if (key) void loadDistribution();
  }, wait);
}

async function loadFlow(period: Period): Promise<void> {
  const current = begin('flow');
  const { data, errors } = await request(key!, DashboardFlowDocument, period);
  if (!current()) return;
  showErrors('flow', errors);
  const flows = data?.lifecycleFlow ?? [];
  const total = flows.reduce((sum, f) => sum + f.count, 0);
  const meta = byId('flow-meta');
  const chart = byId('chart-flow');
  if (!data) {
    meta.textContent = '';
    clearChart(chart);
    return;
  }
  const figures = h(
    'details',
    {},
    h('summary', {}, 'figures'),
    h(
      'table',
      { class: 'figures' },
      h(
        'tbody',
        { 'data-testid': 'flow-table' },
        ...[...flows]
          .sort((a, b) => b.count - a.count)
          .map((f) =>
            h(
              'tr',
              { 'data-testid': `flow-${f.from ?? 'ENTERING'}-${f.to}` },
              h('td', {}, f.from ? stageLabel(f.from) : 'first stage'),
              h('td', {}, '→ ', stageLabel(f.to)),
              h('td', { class: 'num' }, formatCount(f.count)),
            ),
          ),
      ),
    ),
  );
  replace(meta, h('strong', { 'data-testid': 'flow-total' }, formatCount(total)), ` stage changes, ${periodLabel()}`, figures);
  if (flows.length) drawFlow(chart, flows);
  else clearChart(chart);
}

async function loadFunnel(period: Period): Promise<void> {
  const current = begin('funnel');
  const channel = (byId<HTMLSelectElement>('funnel-channel').value || null) as Channel | null;
  const { data, errors } = await request(key!, DashboardFunnelDocument, { ...period, channel });
  if (!current()) return;
  showErrors('funnel', errors);
  const funnel = data?.journeyFunnel;
  const meta = byId('funnel-meta');
  const table = byId('funnel-table');
  if (!funnel) {
    meta.textContent = '';
    replace(table);
    clearChart(byId('chart-funnel'));
    return;
  }
  replace(
    meta,
    h('strong', { 'data-testid': 'funnel-started' }, formatCount(funnel.started)),
    ' journeys started, ',
    h('strong', { 'data-testid': 'funnel-converted' }, formatCount(funnel.converted)),
    ' converted (',
    h('span', { 'data-testid': 'funnel-conversion' }, formatShare(funnel.conversionRate)),
    `), ${periodLabel()}`,
  );
  drawFunnel(byId('chart-funnel'), funnel);
  replace(
    table,
    ...funnel.steps.map((s) =>
      h(
        'tr',
        {},
        h('td', {}, s.step),
        h('td', { class: 'num', 'data-testid': `funnel-step-${s.step}` }, formatCount(s.reached)),
        h('td', { class: 'num' }, formatShare(s.fromPrevious)),
        h('td', { class: 'num' }, formatShare(s.fromStart)),
      ),
    ),
  );
}

async function loadAttribution(period: Period): Promise<void> {
  const current = begin('attribution');
  const model = byId<HTMLSelectElement>('attribution-model').value as AttributionModel;
  const { data, errors } = await request(key!, DashboardAttributionDocument, { ...period, model });
  if (!current()) return;
  showErrors('attribution', errors);
  const rows = data?.channelAttribution;
  const table = byId('attribution-table');
  const meta = byId('attribution-meta');
  if (!rows) {
    meta.textContent = '';
    replace(table);
    clearChart(byId('chart-attribution'));
    return;
  }
  const conversions = rows.reduce((sum, r) => sum + r.conversions, 0);
  replace(meta, h('strong', { 'data-testid': 'attribution-total' }, formatCount(conversions)), ` conversions by ${model === 'FIRST_TOUCH' ? 'first' : 'last'} touch, ${periodLabel()}`);
  const chart = byId('chart-attribution');
  if (rows.length) drawAttribution(chart, rows);
  else clearChart(chart);
  replace(
    table,
    ...[...rows]
      .sort((a, b) => b.conversions - a.conversions)
      .map((r) =>
        h(
          'tr',
          {},
          h('td', {}, CHANNELS[r.channel]),
          h('td', { class: 'num', 'data-testid': `attribution-${r.channel}-conversions` }, formatCount(r.conversions)),
          h('td', { class: 'num', 'data-testid': `attribution-${r.channel}-revenue` }, r.revenue),
        ),
      ),
  );
}

async function loadAbandoned(period: Period): Promise<void> {
  const current = begin('abandoned');
  const { data, errors } = await request(key!, DashboardAbandonedCartsDocument, { since: period.from, first: ABANDONED_SHOWN });
  if (!current()) return;
  showErrors('abandoned', errors);
  const table = byId('abandoned-table');
  const connection = data?.abandonedJourneys;
  const meta = byId('abandoned-meta');
  if (!connection) {
    meta.textContent = '';
    replace(table);
    return;
  }
  const edges = connection.edges;
  replace(
    meta,
    h('strong', { 'data-testid': 'abandoned-count' }, connection.pageInfo.hasNextPage ? `the last ${edges.length}` : formatCount(edges.length)),
    ` ${edges.length === 1 ? 'journey' : 'journeys'} abandoned after reaching the cart since ${byId<HTMLInputElement>('period-from').value}, newest first`,
  );
  replace(
    table,
    ...edges.map(({ node }) => {
      const who = node.customer.identifiers.slice(0, 2).map((i) => `${IDENTIFIER_TYPES[i.type]} ${i.value}`).join(', ') || shortId(node.customerId);
      return h(
        'tr',
        { 'data-testid': 'abandoned-row', 'data-customer-id': node.customerId, 'data-journey-id': node.id, class: 'clickable', title: 'Open the customer', onclick: () => void openCustomer(node.customerId) },
        h('td', {}, who),
        h('td', {}, formatInstant(node.lastTouchAt)),
        h('td', {}, CHANNELS[node.lastTouchChannel]),
        h('td', {}, node.furthestStep),
        h('td', {}, formatInstant(node.endedAt)),
      );
    }),
  );
  if (!edges.length) table.append(h('tr', {}, h('td', { colspan: 5, class: 'meta' }, 'No cart left in this period.')));
}

function loadPeriodCards(): void {
  const period = currentPeriod();
  const form = byId('period');
  if (!period) {
    showBanner('The period needs a start before its end.');
    return;
  }
  showBanner(null);
  form.dataset.from = period.from;
  form.dataset.to = period.to;
  void loadFlow(period);
  void loadFunnel(period);
  void loadAttribution(period);
  void loadAbandoned(period);
}

// ---- customer 360 ----

interface Lookup {
  customer: CustomerCardFragment | null;
  errors: ApiError[];
}

async function showCustomer(lookup: Promise<Lookup>): Promise<void> {
  const current = begin('customer');
  const container = byId('customer');
  container.setAttribute('aria-busy', 'true');
  const { customer, errors } = await lookup;
  if (!current()) return;
  container.removeAttribute('aria-busy');
  const notFound = errors.length > 0 && errors.every((e) => e.code === 'NOT_FOUND');
  showErrors('customer', notFound ? [] : errors);
  if (customer) replace(container, renderCustomer(customer));
  else replace(container, h('p', { class: 'meta', 'data-testid': 'customer-not-found' }, notFound ? 'Nobody holds this identifier.' : 'No customer to show.'));
}

async function findById(id: string): Promise<Lookup> {
  const { data, errors } = await request(key!, DashboardCustomerDocument, { id });
  return { customer: data?.customer ?? null, errors };
}

async function findByIdentifier(type: IdentifierType, value: string): Promise<Lookup> {
  const { data, errors } = await request(key!, DashboardCustomerByIdentifierDocument, { type, value });
  return { customer: data?.customerByIdentifier ?? null, errors };
}

function openCustomer(id: string): Promise<void> {
  byId('card-customer').scrollIntoView({ behavior: 'smooth', block: 'start' });
  return showCustomer(findById(id));
}

// ---- live feed ----

function showLiveStatus(status: LiveStatus): void {
  const element = byId('live-status');
  element.dataset.state = status.state;
  element.textContent = status.detail;
}

function showChange(change: StageChange): void {
  feedReceived++;
  const list = byId('feed');
  const item = h(
    'li',
    { 'data-testid': 'feed-item', 'data-customer-id': change.customerId, 'data-cursor': change.cursor, 'data-event-id': change.id, 'data-to': change.to },
    h('time', { datetime: change.at, title: formatInstant(change.at) }, formatTime(change.at)),
    ' ',
    h('button', { type: 'button', class: 'link', title: 'Open the customer', onclick: () => void openCustomer(change.customerId) }, shortId(change.customerId)),
    ' ',
    h('span', { class: 'stage' }, change.from ? stageLabel(change.from) : 'first stage'),
    ' → ',
    h('span', { class: `stage-badge small stage-${change.to}` }, stageLabel(change.to)),
    h('div', { class: 'explanation' }, change.explanation ?? change.ruleName),
  );
  list.prepend(item);
  while (list.childElementCount > FEED_LENGTH) list.lastElementChild?.remove();
  byId('feed-meta').textContent = `${formatCount(feedReceived)} changes received since this page opened, newest first.`;
  distributionChanged();
}

function startFeed(): void {
  feed?.stop();
  showErrors('feed', []);
  feed = followStageChanges(wsEndpoint(), key!, {
    change: showChange,
    status: showLiveStatus,
    errors: (errors) => showErrors('feed', errors),
  });
}

// ---- the key ----

function showKeyPanel(message: string | null): void {
  byId('dashboard').hidden = true;
  byId('period').hidden = true;
  byId('live-status').hidden = true;
  byId('forget-key').hidden = true;
  byId('key-panel').hidden = false;
  showBanner(message);
  byId<HTMLInputElement>('key-input').focus();
}

function openDashboard(): void {
  byId('key-panel').hidden = true;
  byId('dashboard').hidden = false;
  byId('period').hidden = false;
  byId('live-status').hidden = false;
  byId('forget-key').hidden = false;
  showBanner(null);
  void loadDistribution();
  loadPeriodCards();
  startFeed();
}

function forgetKey(message: string | null = null): void {
  sessionStorage.removeItem(KEY_STORAGE);
  key = null;
  keyEpoch++;
  feed?.stop();
  feed = null;
  feedReceived = 0;
  for (const id of ['distribution-table', 'funnel-table', 'attribution-table', 'abandoned-table', 'feed', 'flow-meta', 'funnel-meta', 'attribution-meta', 'abandoned-meta', 'distribution-meta']) replace(byId(id));
  for (const chart of ['chart-distribution', 'chart-flow', 'chart-funnel', 'chart-attribution']) clearChart(byId(chart));
  replace(byId('customer'));
  delete byId('distribution-meta').dataset.asOf;
  for (const card of ['distribution', 'flow', 'funnel', 'attribution', 'abandoned', 'feed', 'customer']) showErrors(card, []);
  showKeyPanel(message);
}

// ---- wiring ----

function fillSelect(select: HTMLSelectElement, options: Record<string, string>): void {
  for (const [value, label] of Object.entries(options)) select.append(h('option', { value }, label));
}

function init(): void {
  fillSelect(byId('funnel-channel'), CHANNELS);
  fillSelect(byId('attribution-model'), ATTRIBUTION_MODELS);
  fillSelect(byId('search-type'), IDENTIFIER_TYPES);
  byId<HTMLInputElement>('period-from').value = toDateInput(daysAgo(DEFAULT_PERIOD_DAYS));
  byId<HTMLInputElement>('period-to').value = toDateInput(new Date());

  whenUnauthenticated((errors) => {
    if (key) forgetKey(`The API refused the key. ${describeErrors(errors)}`);
  });

  byId('key-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const value = byId<HTMLInputElement>('key-input').value.trim();
    if (!value) return;
    byId<HTMLInputElement>('key-input').value = '';
    key = value;
    sessionStorage.setItem(KEY_STORAGE, value);
    openDashboard();
  });
  byId('forget-key').addEventListener('click', () => forgetKey());
  byId('period').addEventListener('submit', (event) => {
    event.preventDefault();
    loadPeriodCards();
  });
  byId('as-of').addEventListener('change', () => void loadDistribution());
  byId('as-of-now').addEventListener('click', () => {
    byId<HTMLInputElement>('as-of').value = '';
    void loadDistribution();
  });
  byId('funnel-channel').addEventListener('change', () => {
    const period = currentPeriod();
    if (period) void loadFunnel(period);
  });
  byId('attribution-model').addEventListener('change', () => {
    const period = currentPeriod();
    if (period) void loadAttribution(period);
  });
  byId('search-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const type = byId<HTMLSelectElement>('search-type').value as IdentifierType;
    const value = byId<HTMLInputElement>('search-value').value;
    if (value.trim()) void showCustomer(findByIdentifier(type, value));
  });

  key = sessionStorage.getItem(KEY_STORAGE);
  if (key) openDashboard();
  else showKeyPanel(null);
}

// A failure in the page's own code is shown, not left as a blank or half-drawn page.
window.addEventListener('error', (event) => showBanner(`The dashboard failed: ${event.message}`));
window.addEventListener('unhandledrejection', (event) => showBanner(`The dashboard failed: ${String((event.reason as Error)?.message ?? event.reason)}`));

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
else init();
