import { getNamedType, isLeafType, isNonNullType, isObjectType, parse, type GraphQLObjectType } from 'graphql';

import { buildSchema } from '../../src/graphql/build-schema';
import { Scope } from '../../src/modules/access/scope.enum';
import { interaction, unique } from '../helpers/factories';
import { eventually, operation, request, useLiveServer, type LiveClient, type Outcome } from '../helpers/live';
import type { TestServer } from '../helpers/server';

/**
 * Scopes hold on every field, wherever it appears: a field walk of the whole schema, for every
 * key, through every root (queries and mutations over HTTP and the websocket, subscriptions over
 * the websocket). A field added without a rule in RULES fails the first test.
 */

/** What a field needs beyond what it took to reach its object: nothing more (`open`), or a scope. */
type Rule = 'open' | Scope;

const rule = (scope: Rule, names: string): Record<string, Rule> => Object.fromEntries(names.split(' ').map((name) => [name, scope]));
const open = (names: string) => rule('open', names);
const read = (names: string) => rule(Scope.READ, names);

const RULES: Record<string, Record<string, Rule>> = {
  // The roots: what each entry point needs.
  Query: {
    ...rule(
      Scope.READ,
      'abandonedJourneys channelAttribution customer customerByIdentifier customers journey journeyFunnel lifecycleDistribution lifecycleFlow lifecycleTransitions multichannelImpact rfmDistribution segment segments valueModel valueModels',
    ),
    ...rule(Scope.ADMIN, 'apiKeys auditLog erasure'),
    exportCustomer: Scope.PII,
  },
  Mutation: {
    ...rule(Scope.WRITE, 'identify recordInteraction recordInteractions setConsent'),
    ...rule(Scope.ADMIN, 'evaluateLifecycle createApiKey rotateApiKey revokeApiKey eraseCustomer refitValueModel createSegment updateSegment deleteSegment'),
  },
  Subscription: rule(Scope.SUBSCRIBE, 'consentChanged customerErased customerMerged interactionRecorded lifecycleStageChanged segmentMembershipChanged'),

  // A write key gets back ids and statuses; the profile the item landed in needs read.
  RecordInteractionResult: { ...open('customerId index interactionId mergedCustomerIds problems status warnings'), ...read('customer interaction') },
  IdentifyResult: { ...open('customerId mergedCustomerIds warnings'), ...read('customer') },
  IdentityWarning: open('code field message'),
  InputProblem: open('code field message reason'),
  ConsentResult: open('applied customerId purpose since status'),
  ApiKey: open('createdAt id lastUsedAt name prefix rateLimitBurst rateLimitPerSecond revokedAt rotatedAt scopes'),
  ApiKeySecret: open('apiKey secret'),
  AuditRecord: open('actor at customerCount customerIds details id keyId kind operation operationName'),
  AuditRecordConnection: open('edges pageInfo'),
  AuditRecordEdge: open('cursor node'),
  ErasureReceipt: open('actor at customerId id keyId mergedCustomerIds reason removed suppressedIdentifiers'),
  ErasedRows: open('rows table what'),
  LifecycleEvaluation: open('asOf examined moved movedByStage'),

  // An event's metadata comes with subscribe; the person it is about needs read (the explanation
  // quotes the facts: purchase counts and dates, NPS scores).
  LifecycleStageChange: { ...open('at causeInteractionId cursor customerId from id recordedAt rule ruleName to'), ...read('customer explanation facts') },
  InteractionRecordedEvent: { ...open('channel cursor customerId interactionId occurredAt recordedAt type'), ...read('customer interaction') },
  CustomerMergedEvent: { ...open('at cursor identifierType interactionId mergeId mergedId survivorId'), ...read('identifierValue survivor') },
  ConsentChangedEvent: { ...open('at channel cursor customerId decisionId interactionId previousStatus purpose recordedAt status'), ...read('customer') },
  CustomerErasedEvent: open('at cursor customerId erasureId mergedCustomerIds'),
  SegmentMembershipEvent: { ...open('at change cursor customerId segment segmentId'), ...read('customer') },

  // Reached only through read roots or read fields: nothing more to ask.
  Customer: open('channels consents createdAt erasedAt id identifiers interactions journeys lifecycle merges metrics predictions rfm segments traits updatedAt'),
  CustomerRfm: open('asOf cell frequency monetary netRevenue orderCount recency recencyDays segment'),
  CustomerPredictions: open('asOf expectedPurchases explanation modelId pAlive predictedClv repeatPurchases'),
  ValueModel: open('asOf converged customersFitted fitMs fittedAt id logLikelihood parameters spendCustomersFitted spendLogLikelihood'),
  ValueModelParameters: open('a alpha b gamma p q r'),
  RfmDistribution: open('asOf boundaries customers segments'),
  RfmBoundariesType: open('netRevenue orderCount recencyDays'),
  RfmScoreRange: open('max min score'),
  RfmSegmentCount: open('customers segment share'),
  Segment: open('createdAt definition description id members name progress size sizeHistory status updatedAt'),
  SegmentProgress: open('evaluated total'),
  SegmentSize: open('at size'),
  CustomerConsent: open('history purpose since status'),
  ConsentDecision: open('at channel id interactionId purpose recordedAt status'),
  ConsentConflict: open('keptAt keptFrom keptStatus overriddenAt overriddenFrom overriddenStatus purpose'),
  CustomerConnection: open('edges pageInfo'),
  CustomerEdge: open('cursor node'),
  CustomerMetrics: open('averageOrderValue channelsUsed firstPurchaseAt grossRevenue lastInteractionAt lastNpsScore lastPurchaseAt netRevenue orderCount refunds'),
  Identifier: open('createdAt rawValue type value'),
  Interaction: open('amount channel currency customer externalId id identifiers journeyId name npsScore occurredAt properties receivedAt step type'),
  CarriedIdentifier: open('raw type value'),
  InteractionConnection: open('edges pageInfo'),
  InteractionEdge: open('cursor node'),
  Journey: open(
    'amount channels customer customerId durationSeconds endedAt firstTouchChannel furthestStep id interactions lastTouchAt lastTouchChannel purchaseInteractionId startedAt status steps touchpoints',
  ),
  JourneyConnection: open('edges pageInfo'),
  JourneyEdge: open('cursor node'),
  Lifecycle: open('evaluatedAt explanation history nextChangeAt since stage'),
  LifecycleTransition: open('at causeInteractionId customerId explanation facts from id recordedAt rule ruleName to'),
  LifecycleTransitionConnection: open('edges pageInfo'),
  LifecycleTransitionEdge: open('cursor node'),
  Merge: open('at consentConflicts id identifierType identifierValue interactionId mergedId moved survivorId'),
  MergeMoved: open('identifiers interactions'),
  PageInfo: open('endCursor hasNextPage'),
  JourneyFunnel: open('conversionRate converted started steps'),
  FunnelStep: open('fromPrevious fromStart reached step'),
  ChannelAttribution: open('channel conversions revenue'),
  ChannelCountGroup: open('channels customers stages'),
  StageShare: open('customers share stage'),
  LifecycleDistribution: open('asOf stages total'),
  StageCount: open('count stage'),
  StageFlow: open('count from to'),
};

const DAY = 86_400_000;
const daysAgo = (days: number) => new Date(Date.now() - days * DAY).toISOString();

interface Fixture {
  customerId: string;
  email: string;
  journeyId: string;
  erasureId: string;
  /** An erased person's e-mail: an item carrying it is refused (SUPPRESSED_IDENTIFIER). */
  erasedEmail: string;
  /** Throwaway customers and keys, one per call of the admin mutations that use them up. */
  erasable: string[];
  rotatable: string[];
  revocable: string[];
  segmentId: string;
  deletableSegments: string[];
  /** The customer whose events the subscriptions watch, and its email. */
  watched: string;
  watchedEmail: string;
}

/** Arguments by field: every required one, and small pages to keep the cost low. Called per request. */
const ARGS: Record<string, (fx: Fixture) => Record<string, unknown>> = {
  'Query.abandonedJourneys': () => ({ since: daysAgo(365), first: 2 }),
  'Query.channelAttribution': () => ({ from: daysAgo(365), to: new Date().toISOString(), model: 'LAST_TOUCH' }),
  'Query.customer': (fx) => ({ id: fx.customerId }),
  'Query.customerByIdentifier': (fx) => ({ type: 'EMAIL', value: fx.email }),
  'Query.customers': () => ({ first: 2 }),
  'Query.journey': (fx) => ({ id: fx.journeyId }),
  'Query.journeyFunnel': () => ({ from: daysAgo(365), to: new Date().toISOString() }),
  'Query.lifecycleTransitions': () => ({ first: 3 }),
  'Query.auditLog': () => ({ first: 5 }),
  'Query.erasure': (fx) => ({ id: fx.erasureId }),
  'Query.exportCustomer': (fx) => ({ id: fx.customerId }),
  'Mutation.createApiKey': () => ({ name: unique('walk key'), scopes: ['READ'] }),
  'Mutation.rotateApiKey': (fx) => ({ id: fx.rotatable.pop() }),
  'Mutation.revokeApiKey': (fx) => ({ id: fx.revocable.pop() }),
  'Mutation.eraseCustomer': (fx) => ({ id: fx.erasable.pop(), reason: 'scope walk' }),
  'Mutation.setConsent': () => ({ identifiers: [{ type: 'EMAIL', value: `${unique('consent')}@example.com` }], purpose: 'EMAIL_MARKETING', status: 'GRANTED', channel: 'WEB' }),
  'Subscription.consentChanged': (fx) => ({ customerId: fx.watched }),
  'Subscription.segmentMembershipChanged': (fx) => ({ customerId: fx.watched }),
  'Query.segment': (fx) => ({ id: fx.segmentId }),
  'Query.valueModels': () => ({ first: 2 }),
  'Segment.members': () => ({ first: 2 }),
  'Mutation.createSegment': () => ({ name: unique('walk segment'), definition: { stages: ['LOYAL'] } }),
  'Mutation.updateSegment': (fx) => ({ id: fx.segmentId, name: unique('renamed segment') }),
  'Mutation.deleteSegment': (fx) => ({ id: fx.deletableSegments.pop() }),
  'Subscription.customerErased': (fx) => ({ customerId: fx.watched }),
  'Customer.interactions': () => ({ first: 3 }),
  'Customer.journeys': () => ({ first: 2 }),
  'Mutation.recordInteraction': () => ({
    input: interaction({
      channel: 'EMAIL',
      type: 'SURVEY_RESPONSE',
      npsScore: 9,
      occurredAt: daysAgo(1),
      identifiers: [{ type: 'EMAIL', value: `${unique('nps')}@example.com` }, { type: 'EMAIL', value: 'test@test.com' }],
    }),
  }),
  'Mutation.recordInteractions': (fx) => {
    const email = { type: 'EMAIL' as const, value: `${unique('batch')}@example.com` };
    const device = { type: 'DEVICE_ID' as const, value: unique('device') };
    return {
      inputs: [
        interaction({ identifiers: [email] }),
        interaction({ identifiers: [device] }),
        interaction({ type: 'PURCHASE', amount: '12.5', identifiers: [email, device] }),
        interaction({ type: 'CUSTOM', identifiers: [email] }),
        interaction({ identifiers: [{ type: 'EMAIL', value: fx.erasedEmail }] }),
      ],
    };
  },
  'Mutation.identify': () => ({ identifiers: [{ type: 'EMAIL', value: `${unique('who')}@example.com` }, { type: 'EMAIL', value: 'test@test.com' }], traits: { plan: 'pro' } }),
  'Subscription.lifecycleStageChanged': (fx) => ({ customerId: fx.watched, stages: ['ACTIVE'] }),
  'Subscription.interactionRecorded': (fx) => ({ customerId: fx.watched, types: ['PURCHASE'] }),
  'Subscription.customerMerged': (fx) => ({ customerId: fx.watched }),
};

/** One selected field; `child` is its object's selection, `typename` where the type is selected in full elsewhere. */
interface Selected {
  type: string;
  field: string;
  rule: Rule;
  args: string;
  child: Selected[] | 'typename' | null;
}

interface Plan {
  root: Selected;
  document: string;
  variables(): Record<string, unknown>;
}

const ruleOf = (type: string, field: string): Rule => {
  const found = RULES[type]?.[field];
  if (!found) throw new Error(`${type}.${field} has no rule in RULES`);
  return found;
};

/**
 * The selection of one root field that reaches every object type below it and selects each in
 * full once, where the fewest scopes reach it (then the shallowest), so that a type also behind
 * an open path is checked for keys without read; elsewhere the object gets `{ __typename }`.
 */
function plan(rootType: GraphQLObjectType, rootField: string, fx: Fixture): Plan {
  const definitions: string[] = [];
  const bindings: Array<{ variable: string; field: string; arg: string }> = [];
  const argsOf = (type: GraphQLObjectType, name: string): string => {
    const key = `${type.name}.${name}`;
    const given = ARGS[key]?.(fx) ?? {};
    const field = type.getFields()[name];
    for (const arg of Object.keys(given)) {
      if (!field.args.some((a) => a.name === arg)) throw new Error(`ARGS gives ${key}(${arg}), which does not exist`);
    }
    const parts: string[] = [];
    for (const arg of field.args) {
      if (arg.name in given) {
        const variable = `v${bindings.length}`;
        bindings.push({ variable, field: key, arg: arg.name });
        definitions.push(`$${variable}: ${String(arg.type)}`);
        parts.push(`${arg.name}: $${variable}`);
      } else if (isNonNullType(arg.type) && arg.defaultValue === undefined) {
        throw new Error(`${key}(${arg.name}:) is required: give it a value in ARGS`);
      }
    }
    return parts.length ? `(${parts.join(', ')})` : '';
  };

  const root: Selected = { type: rootType.name, field: rootField, rule: ruleOf(rootType.name, rootField), args: argsOf(rootType, rootField), child: null };
  const expanded = new Set<string>();
  const queue: Array<{ sel: Selected; type: GraphQLObjectType; needs: number; depth: number }> = [];
  const offer = (sel: Selected, type: GraphQLObjectType, needs: Set<Rule>, depth: number) => {
    sel.child = 'typename';
    queue.push({ sel, type, needs: needs.size, depth });
    queue.sort((a, b) => a.needs - b.needs || a.depth - b.depth);
    return needs;
  };
  const named = getNamedType(rootType.getFields()[rootField].type);
  const needsOf = new Map<Selected, Set<Rule>>();
  if (isObjectType(named)) needsOf.set(root, offer(root, named, new Set([root.rule]), 1));
  while (queue.length) {
    const { sel, type, depth } = queue.shift()!;
    if (expanded.has(type.name)) continue;
    expanded.add(type.name);
    sel.child = Object.values(type.getFields()).map((field) => {
      const child: Selected = { type: type.name, field: field.name, rule: ruleOf(type.name, field.name), args: argsOf(type, field.name), child: null };
      const fieldType = getNamedType(field.type);
      if (isObjectType(fieldType)) {
        const needs = new Set(needsOf.get(sel));
        if (child.rule !== 'open') needs.add(child.rule);
        needsOf.set(child, offer(child, fieldType, needs, depth + 1));
      } else if (!isLeafType(fieldType)) {
        throw new Error(`${type.name}.${field.name} returns an interface or union: teach this test to select it`);
      }
      return child;
    });
  }

  const print = (sel: Selected): string =>
    sel.field + sel.args + (sel.child === null ? '' : sel.child === 'typename' ? ' { __typename }' : ` { ${sel.child.map(print).join(' ')} }`);
  const operation = rootType.name.toLowerCase();
  return {
    root,
    document: `${operation} Walk${definitions.length ? `(${definitions.join(', ')})` : ''} { ${print(root)} }`,
    variables() {
      const values = new Map<string, Record<string, unknown>>();
      const variables: Record<string, unknown> = {};
      for (const { variable, field, arg } of bindings) {
        if (!values.has(field)) values.set(field, ARGS[field](fx));
        variables[variable] = values.get(field)![arg];
      }
      return variables;
    },
  };
}

type Result = Outcome['results'][number];

interface Findings {
  /** By root (`Query.customer`): what broke the rule, where and for which key. */
  problems: Map<string, string[]>;
  /** `Type.field` seen with a value by a key allowed to see it. */
  granted: Set<string>;
  /** `Type.field` refused to a key without its scope. */
  refused: Set<string>;
}

function report(findings: Findings, root: string, problem: string): void {
  findings.problems.set(root, [...(findings.problems.get(root) ?? []), problem]);
}

const allows = (scopes: ReadonlySet<Scope>, needed: Rule) => needed === 'open' || scopes.has(Scope.ADMIN) || scopes.has(needed);

/** Each selected field is there with its value iff the key may see it; otherwise null with FORBIDDEN at its path, and no other error. */
function check(p: Plan, result: Result, scopes: ReadonlySet<Scope>, where: string, findings: Findings): void {
  const label = `${p.root.type}.${p.root.field}`;
  const problem = (message: string) => report(findings, label, `${where}: ${message}`);
  const forbidden: string[] = [];

  const each = (value: unknown, path: Array<string | number>, visit: (object: Record<string, unknown>, path: Array<string | number>) => void): void => {
    if (Array.isArray(value)) value.forEach((item, i) => each(item, [...path, i], visit));
    else if (value !== null) visit(value as Record<string, unknown>, path);
  };
  const visit = (sel: Selected, parent: Record<string, unknown>, path: Array<string | number>): void => {
    const key = `${sel.type}.${sel.field}`;
    const here = [...path, sel.field];
    const value = parent[sel.field];
    if (!allows(scopes, sel.rule)) {
      findings.refused.add(key);
      forbidden.push(here.join('.'));
      if (value !== null) problem(`${here.join('.')} needs ${sel.rule} but came back as ${JSON.stringify(value).slice(0, 100)}`);
      return;
    }
    if (!(sel.field in parent)) return problem(`${here.join('.')} is missing`);
    if (value === null) return;
    findings.granted.add(key);
    const children = sel.child;
    if (Array.isArray(children)) each(value, here, (object, at) => children.forEach((c) => visit(c, object, at)));
  };

  if (result.data == null) {
    // A non-null root refused takes `data` with it.
    if (allows(scopes, p.root.rule)) problem(`no data`);
    else {
      findings.refused.add(label);
      forbidden.push(p.root.field);
    }
  } else {
    visit(p.root, result.data as Record<string, unknown>, []);
  }
  const got = (result.errors ?? []).map((e) => `${(e.path ?? []).join('.')} ${e.extensions?.code}`).sort();
  const wanted = forbidden.map((path) => `${path} FORBIDDEN`).sort();
  if (JSON.stringify(got) !== JSON.stringify(wanted)) {
    problem(`errors ${JSON.stringify(got)} (${(result.errors ?? []).map((e) => e.message).join(' | ')}), expected ${JSON.stringify(wanted)}`);
  }
}

const schema = buildSchema();
const ROOTS = [schema.getQueryType()!, schema.getMutationType()!, schema.getSubscriptionType()!];
const ROOT_FIELDS = ROOTS.flatMap((type) => Object.keys(type.getFields()).map((field) => `${type.name}.${field}`));

const live = useLiveServer();
let t: TestServer;
const findings: Findings = { problems: new Map(), granted: new Set(), refused: new Set() };

async function buildFixture(): Promise<Fixture> {
  const email = `${unique('ada')}@example.com`;
  const ids = [{ type: 'EMAIL' as const, value: email }, { type: 'CUSTOMER_ID' as const, value: unique('crm') }];
  const device = { type: 'DEVICE_ID' as const, value: unique('device') };
  const first = await t.record(
    interaction({ channel: 'WEB', type: 'PRODUCT_VIEW', occurredAt: daysAgo(20), identifiers: ids, traits: { firstName: 'Ada' }, properties: { sku: 'A1' }, consents: [{ purpose: 'EMAIL_MARKETING', status: 'GRANTED' }] }),
  );
  for (const input of [
    interaction({ channel: 'APP', type: 'ADD_TO_CART', occurredAt: daysAgo(19), identifiers: ids }),
    interaction({ channel: 'STORE', type: 'PURCHASE', amount: '40', currency: 'EUR', occurredAt: daysAgo(18), identifiers: ids }),
    interaction({ channel: 'EMAIL', type: 'SURVEY_RESPONSE', npsScore: 10, occurredAt: daysAgo(17), identifiers: ids }),
    interaction({ channel: 'WEB', type: 'PURCHASE', amount: '25', occurredAt: daysAgo(10), identifiers: ids }),
    interaction({ channel: 'WEB', type: 'REFUND', amount: '5', occurredAt: daysAgo(9), identifiers: ids }),
    // A second profile, then a call linking both: a merge.
    interaction({ channel: 'APP', type: 'PAGE_VIEW', occurredAt: daysAgo(8), identifiers: [device], consents: [{ purpose: 'EMAIL_MARKETING', status: 'DENIED' }] }),
    interaction({ channel: 'APP', type: 'CUSTOM', name: 'wishlist', occurredAt: daysAgo(7), identifiers: [device, ids[0]] }),
    // A cart left 40 days ago: abandoned once the sweep has passed.
    interaction({ channel: 'WEB', type: 'ADD_TO_CART', occurredAt: daysAgo(40), identifiers: [{ type: 'EMAIL', value: `${unique('cart')}@example.com` }] }),
  ]) {
    await t.record(input);
  }
  const sweep = await t.gql(parse('mutation { evaluateLifecycle { moved } }'), {}, t.keys.admin);
  if (sweep.errors) throw new Error(JSON.stringify(sweep.errors));
  const journeys = await t.gql(parse('query J($id: ID!) { customer(id: $id) { journeys(first: 1, status: CONVERTED) { edges { node { id } } } } }'), { id: first.customerId }, t.keys.read);
  const journeyId = (journeys.data as any).customer.journeys.edges[0].node.id;
  const watchedEmail = `${unique('watched')}@example.com`;
  const watched = await t.record(interaction({ type: 'PURCHASE', amount: '30', occurredAt: daysAgo(5), identifiers: [{ type: 'EMAIL', value: watchedEmail }] }));

  // Keys in every state (rated, rotated, revoked), throwaways for the admin mutations, and an
  // erased person created last, so that it is among the newest customers.
  const keys = t.server.services.apiKeys;
  await keys.create('rated', [Scope.READ], { rateLimitPerSecond: 5, rateLimitBurst: 10 });
  await keys.rotate((await keys.create('rotated', [Scope.READ])).apiKey.id);
  await keys.revoke((await keys.create('revoked', [Scope.READ])).apiKey.id);
  const many = async (n: number, make: () => Promise<string>) => {
    const out: string[] = [];
    for (let i = 0; i < n; i++) out.push(await make());
    return out;
  };
  const rotatable = await many(14, async () => (await keys.create(unique('rotatable'), [Scope.READ])).apiKey.id);
  const revocable = await many(14, async () => (await keys.create(unique('revocable'), [Scope.READ])).apiKey.id);
  const erasable = await many(14, async () => (await t.record(interaction({ identifiers: [{ type: 'EMAIL', value: `${unique('gone')}@example.com` }] }))).customerId!);
  // Repeat buyers, so that the value model fits spend too; then a fit, and segments.
  for (let i = 0; i < 3; i++) {
    const buyer = [{ type: 'EMAIL' as const, value: `${unique('buyer')}@example.com` }];
    for (const d of [60, 30, 12]) await t.record(interaction({ type: 'PURCHASE', amount: String(10 + d), occurredAt: daysAgo(d + i), identifiers: buyer }));
  }
  const refit = await t.gql(parse('mutation { refitValueModel { id } }'), {}, t.keys.admin);
  if (refit.errors) throw new Error(JSON.stringify(refit.errors));
  const segment = await t.gql(
    parse('mutation S($d: SegmentDefinitionInput!) { createSegment(name: "Active buyers", description: "ACTIVE now", definition: $d) { id } }'),
    { d: { stages: ['ACTIVE', 'LOYAL', 'AMBASSADOR'] } },
    t.keys.admin,
  );
  if (segment.errors) throw new Error(JSON.stringify(segment.errors));
  const deletableSegments: string[] = [];
  for (let i = 0; i < 14; i++) {
    const s = await t.gql(parse('mutation S($n: String!) { createSegment(name: $n, definition: { minOrderCount: 100 }) { id } }'), { n: unique('deletable') }, t.keys.admin);
    deletableSegments.push((s.data as any).createSegment.id);
  }
  await t.server.services.segments.idle();
  const erasedEmail = `${unique('erased')}@example.com`;
  const erased = await t.record(interaction({ identifiers: [{ type: 'EMAIL', value: erasedEmail }], traits: { firstName: 'Grace' } }));
  const erasure = await t.gql(parse('mutation E($id: ID!) { eraseCustomer(id: $id, reason: "scope walk fixture") { id } }'), { id: erased.customerId }, t.keys.admin);
  if (erasure.errors) throw new Error(JSON.stringify(erasure.errors));
  return {
    customerId: first.customerId!,
    email,
    journeyId,
    watched: watched.customerId!,
    watchedEmail,
    erasureId: (erasure.data as any).eraseCustomer.id,
    erasedEmail,
    erasable,
    rotatable,
    revocable,
    segmentId: (segment.data as any).createSegment.id,
    deletableSegments,
  };
}

// The hook runs the whole walk (every field, for every key, over HTTP and websocket): 70 s alone
// on a slow 2-core machine, three times that beside the other suites. Its own limit, not the
// suite default of 120 s.
beforeAll(async () => {
  t = live.t;
  const fx = await buildFixture();
  const keys: Record<string, string> = { ...t.keys, subscribeRead: (await t.server.services.apiKeys.create('test watcher', [Scope.SUBSCRIBE, Scope.READ])).key };
  const scopes = new Map<string, ReadonlySet<Scope>>();
  const clients = new Map<string, LiveClient>();
  for (const [name, key] of Object.entries(keys)) {
    scopes.set(name, (await t.server.services.apiKeys.verify(key))!.scopes);
    clients.set(name, live.client(key, { lazy: false }));
  }

  // Subscriptions: open one per (root, key), then make the watched customer's events happen.
  const subscriptions = Object.keys(schema.getSubscriptionType()!.getFields()).flatMap((field) => {
    const p = plan(schema.getSubscriptionType()!, field, fx);
    return Object.keys(keys).map((name) => ({ p, name, outcome: operation(clients.get(name)!, p.document, p.variables()) }));
  });
  const refused = subscriptions.filter((s) => !allows(scopes.get(s.name)!, s.p.root.rule));
  await Promise.all(refused.map((s) => s.outcome.ended));
  await live.subscribed(subscriptions.length - refused.length);
  const watched = { type: 'EMAIL' as const, value: fx.watchedEmail };
  const other = { type: 'DEVICE_ID' as const, value: unique('device') };
  await t.record(interaction({ type: 'PAGE_VIEW', occurredAt: daysAgo(4), identifiers: [other] }));
  await t.record(interaction({ type: 'PURCHASE', amount: '20', occurredAt: daysAgo(3), identifiers: [watched] }));
  await t.record(interaction({ type: 'PAGE_VIEW', occurredAt: daysAgo(2), identifiers: [watched, other], consents: [{ purpose: 'SMS_MARKETING', status: 'GRANTED' }] }));
  // The erasure scrubs the event log's copies too: wait for the events written so far before it, so
  // a slow delivery cannot read an already erased payload.
  const beforeErasure = subscriptions.filter((s) => !refused.includes(s) && ['consentChanged', 'customerMerged', 'interactionRecorded', 'lifecycleStageChanged'].includes(s.p.root.field));
  await eventually(() => beforeErasure.every((s) => s.outcome.results.length > 0), 5000, 'the events written before the erasure');
  const erased = await t.gql(parse('mutation E($id: ID!) { eraseCustomer(id: $id, reason: "scope walk: the watched customer") { id } }'), { id: fx.watched }, t.keys.admin);
  if (erased.errors) throw new Error(JSON.stringify(erased.errors));
  const delivered = subscriptions.filter((s) => !refused.includes(s));
  await eventually(() => delivered.every((s) => s.outcome.results.length > 0), 5000, 'an event on every subscription');
  for (const s of subscriptions) {
    s.outcome.stop();
    const where = `subscription as ${s.name}`;
    if (refused.includes(s)) {
      // Refused before it starts: an `error` message, no result.
      const errors = s.outcome.error as Array<{ extensions?: Record<string, unknown> }>;
      if (!Array.isArray(errors) || errors.length !== 1 || errors[0].extensions?.code !== 'FORBIDDEN' || s.outcome.results.length) {
        report(findings, `Subscription.${s.p.root.field}`, `${where}: expected FORBIDDEN, got ${JSON.stringify(s.outcome.error ?? s.outcome.results)}`);
      } else findings.refused.add(`Subscription.${s.p.root.field}`);
    } else {
      for (const result of s.outcome.results) check(s.p, result, scopes.get(s.name)!, where, findings);
    }
  }

  // Queries and mutations: one request per (root, key, transport).
  for (const type of [schema.getQueryType()!, schema.getMutationType()!]) {
    for (const field of Object.keys(type.getFields())) {
      const p = plan(type, field, fx);
      await Promise.all(
        Object.entries(keys).flatMap(([name, key]) => [
          t.gql(parse(p.document), p.variables(), key).then((res) => check(p, res, scopes.get(name)!, `HTTP as ${name}`, findings)),
          request(clients.get(name)!, p.document, p.variables()).then((o) => {
            // A document refused before it runs is answered with `error`, not `next`.
            const refusal = Array.isArray(o.error) ? o.error : [{ message: `ended with ${String(o.error)}` }];
            check(p, o.results[0] ?? { errors: refusal }, scopes.get(name)!, `websocket as ${name}`, findings);
          }),
        ]),
      );
    }
  }
}, 600_000);

describe('scopes on every field', () => {
  it('has a rule for every field of every object type, and none for a field that is gone', () => {
    const inSchema = Object.values(schema.getTypeMap())
      .filter((type): type is GraphQLObjectType => isObjectType(type) && !type.name.startsWith('__'))
      .flatMap((type) => Object.keys(type.getFields()).map((field) => `${type.name}.${field}`));
    const inTable = Object.entries(RULES).flatMap(([type, fields]) => Object.keys(fields).map((field) => `${type}.${field}`));
    expect(inSchema.filter((f) => !inTable.includes(f))).toEqual([]);
    expect(inTable.filter((f) => !inSchema.includes(f))).toEqual([]);
  });

  it.each(ROOT_FIELDS)('%s: every field below it, for every key', (root) => {
    expect(findings.problems.get(root) ?? []).toEqual([]);
  });

  it('saw every field with a value, and every scoped field refused to a key without its scope', () => {
    const all = Object.entries(RULES).flatMap(([type, fields]) => Object.entries(fields).map(([field, needed]) => ({ key: `${type}.${field}`, needed })));
    expect(all.filter((f) => !findings.granted.has(f.key)).map((f) => f.key)).toEqual([]);
    expect(all.filter((f) => f.needed !== 'open' && !findings.refused.has(f.key)).map((f) => f.key)).toEqual([]);
  });
});
