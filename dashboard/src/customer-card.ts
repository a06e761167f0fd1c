import { formatCount, formatInstant, h, shortId } from './dom';
import type { CustomerCardFragment } from './generated/graphql';
import { CHANNELS, IDENTIFIER_TYPES, stageLabel } from './labels';

const definition = (term: string, value: string | number | null | undefined, testid?: string) => [
  h('dt', {}, term),
  h('dd', testid ? { 'data-testid': testid } : {}, value === null || value === undefined || value === '' ? '—' : String(value)),
];

function section(title: string, ...content: Node[]): HTMLElement {
  return h('section', { class: 'facet' }, h('h3', {}, title), ...content);
}

function table(headings: string[], rows: Node[], empty: string, testid: string): HTMLElement {
  if (!rows.length) return h('p', { class: 'meta', 'data-testid': testid }, empty);
  return h('table', { class: 'figures', 'data-testid': testid }, h('thead', {}, h('tr', {}, ...headings.map((t) => h('th', {}, t)))), h('tbody', {}, ...rows));
}

/** The 360° view of one customer: who, what they are worth, where they stand and why. */
export function renderCustomer(customer: CustomerCardFragment): HTMLElement {
  const { metrics, lifecycle } = customer;
  const identifiers = table(
    ['type', 'value', 'since'],
    customer.identifiers.map((i) => h('tr', {}, h('td', {}, IDENTIFIER_TYPES[i.type]), h('td', { class: 'mono' }, i.value), h('td', {}, formatInstant(i.createdAt)))),
    'No identifier (erased).',
    'customer-identifiers',
  );
  const journeys = table(
    ['started', 'status', 'furthest step', 'channels', 'touchpoints', 'amount'],
    customer.journeys.edges.map(({ node: j }) =>
      h(
        'tr',
        {},
        h('td', {}, formatInstant(j.startedAt)),
        h('td', {}, j.status),
        h('td', {}, j.furthestStep),
        h('td', {}, j.channels.map((c) => CHANNELS[c]).join(', ')),
        h('td', { class: 'num' }, formatCount(j.touchpoints)),
        h('td', { class: 'num' }, j.amount ?? '—'),
      ),
    ),
    'No purchase journey yet.',
    'customer-journeys',
  );
  const merges = table(
    ['at', 'merged customer', 'linked by', 'moved'],
    customer.merges.map((m) =>
      h(
        'tr',
        {},
        h('td', {}, formatInstant(m.at)),
        h('td', { class: 'mono' }, shortId(m.mergedId)),
        h('td', {}, `${IDENTIFIER_TYPES[m.identifierType]} ${m.identifierValue ?? ''}`.trim()),
        h('td', {}, `${m.moved.identifiers} identifiers, ${m.moved.interactions} interactions`),
      ),
    ),
    'Never merged.',
    'customer-merges',
  );
  const interactions = table(
    ['when', 'type', 'channel', 'amount'],
    customer.interactions.edges.map(({ node: i }) =>
      h('tr', {}, h('td', {}, formatInstant(i.occurredAt)), h('td', {}, i.type), h('td', {}, CHANNELS[i.channel]), h('td', { class: 'num' }, i.amount ? `${i.amount} ${i.currency ?? ''}`.trim() : '')),
    ),
    'No interaction.',
    'customer-interactions',
  );
  const history = h(
    'ol',
    { class: 'history' },
    ...lifecycle.history.map((t) => h('li', {}, `${formatInstant(t.at)}  ${t.from ? stageLabel(t.from) : 'first stage'} → ${stageLabel(t.to)}  (${t.ruleName})`)),
  );

  return h(
    'article',
    { class: 'customer', 'data-testid': 'customer-card', 'data-customer-id': customer.id },
    h(
      'header',
      {},
      h('span', { class: `stage-badge stage-${lifecycle.stage}`, 'data-testid': 'customer-stage' }, stageLabel(lifecycle.stage)),
      h('span', { class: 'mono', 'data-testid': 'customer-id' }, customer.id),
      customer.erasedAt ? h('span', { class: 'erased' }, `erased ${formatInstant(customer.erasedAt)}`) : null,
    ),
    h('p', { class: 'explanation', 'data-testid': 'customer-explanation' }, lifecycle.explanation),
    h(
      'div',
      { class: 'facets' },
      section(
        'Lifecycle',
        h(
          'dl',
          {},
          ...definition('stage since', formatInstant(lifecycle.since)),
          ...definition('next change by time', formatInstant(lifecycle.nextChangeAt)),
          ...definition('RFM', customer.rfm ? `${customer.rfm.cell} ${customer.rfm.segment.replace(/_/g, ' ').toLowerCase()}` : 'no value model yet'),
        ),
        h('details', {}, h('summary', {}, `${lifecycle.history.length} stage changes`), history),
      ),
      section(
        'Metrics',
        h(
          'dl',
          {},
          ...definition('orders', metrics.orderCount, 'customer-orders'),
          ...definition('net revenue', metrics.netRevenue, 'customer-net-revenue'),
          ...definition('gross / refunds', `${metrics.grossRevenue} / ${metrics.refunds}`),
          ...definition('average order', metrics.averageOrderValue),
          ...definition('first / last purchase', `${formatInstant(metrics.firstPurchaseAt)} / ${formatInstant(metrics.lastPurchaseAt)}`),
          ...definition('last interaction', formatInstant(metrics.lastInteractionAt)),
          ...definition('last NPS', metrics.lastNpsScore),
          ...definition('channels', customer.channels.map((c) => CHANNELS[c]).join(', ')),
          ...definition('profile since', formatInstant(customer.createdAt)),
        ),
      ),
      section('Identifiers', identifiers),
      section('Merges', merges),
    ),
    h('div', { class: 'facets' }, section('Journeys (latest 10)', journeys), section('Interactions (latest 10)', interactions)),
  );
}
