import {
  getNamedType,
  getOperationAST,
  getVariableValues,
  GraphQLError,
  isLeafType,
  isObjectType,
  Kind,
  locatedError,
  type DocumentNode,
  type FieldNode,
  type GraphQLLeafType,
  type GraphQLObjectType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';

import type { OperationLimits } from '../../config';
import { hasScope, type Principal } from '../../modules/access/api-key.service';
import { Scope } from '../../modules/access/scope.enum';
import { auditScope } from '../../modules/audit/audit';
import { ingestItem, interactionRules, throwIfRejected, toResult } from '../../modules/interactions/record-interaction';
import { validateInteraction } from '../../modules/interactions/validate-interaction';
import type { Services } from '../context';
import { formatError } from '../errors';
import { laneOperation, type LaneAnswer, type RequestBody } from '../fast-read/fast-read';
import type { DocumentCache } from '../live/documents';
import { recentlyUsed } from '../recent';
import { checkCost } from '../plugins/operation-limits';
import { recordOperation, type Telemetry } from '../plugins/observability';

/** Documents kept, least recently used evicted first; those the lane does not answer are remembered too. */
const MAX_DOCUMENTS = 500;

/**
 * The result types the lane writes out itself, and the fields of each it may: the outcome's own
 * values. `customer` and `interaction` are read from the database by their resolvers (with the
 * read scope): a document that asks for them goes the general way.
 */
const PLAIN: Record<string, ReadonlySet<string>> = {
  RecordInteractionResult: new Set(['__typename', 'index', 'status', 'interactionId', 'customerId', 'warnings', 'mergedCustomerIds', 'problems']),
  IdentityWarning: new Set(['__typename', 'code', 'field', 'message']),
  InputProblem: new Set(['__typename', 'code', 'field', 'message', 'reason']),
};

/** Selected fields of a plain type, as they are written out: response key, field name, and what is under it. */
interface Selected {
  key: string;
  name: string;
  /** The type holding the field (what `__typename` answers). */
  type: GraphQLObjectType;
  /** A leaf's type, which serializes its values; null for an object. */
  leaf: GraphQLLeafType | null;
  /** Null for a leaf. */
  children: Selected[] | null;
}

interface Plan {
  document: DocumentNode;
  operation: OperationDefinitionNode;
  /** Whether the document is within the cost budget: its cost does not depend on the variables, so it is known from the first request whose variables coerce. */
  withinBudget?: boolean;
  operationName: string | null;
  field: FieldNode;
  responseKey: string;
  variable: string;
  selection: Selected[];
}

/**
 * Answers `recordInteraction` without Express, Apollo or type-graphql when its document is one of
 * the plain shapes clients send on the hot path: one mutation whose one root field is
 * `recordInteraction(input: $variable)`, selecting only the result's own values (status, ids,
 * warnings, problems), no fragments, no directives. The document is validated under the operation
 * limits and its cost checked on its first request; the variables are coerced by graphql-js as
 * the general path does, the input validated by the resolver's own rules, the write and its audit
 * row done by the same service call (IngestService.ingestOne), the answer written in the
 * document's field order.
 *
 * Every request the lane does not take — another document, a key without the write scope, a
 * document over the cost budget, variables that do not coerce, an input the rules refuse — goes on to the general path, which
 * gives the answer and every error in its own words, before anything is written. After the write
 * the lane answers itself: a refused identifier (SUPPRESSED_IDENTIFIER) or a failed write is
 * formatted by `formatError`, as Apollo does.
 */
export function fastWriter(schema: GraphQLSchema, services: Services, telemetry: Telemetry, documents: DocumentCache, options: { limits: OperationLimits }) {
  const plans = new Map<string, Plan | null>();
  const rules = interactionRules({ config: services.config });

  const select = (set: SelectionSetNode | undefined, type: GraphQLObjectType): Selected[] | null => {
    const allowed = PLAIN[type.name];
    if (!set || !allowed) return null;
    const out: Selected[] = [];
    const keys = new Set<string>();
    for (const s of set.selections) {
      if (s.kind !== Kind.FIELD || s.directives?.length || !allowed.has(s.name.value)) return null;
      const name = s.name.value;
      const key = s.alias?.value ?? name;
      // A key asked twice is merged by graphql-js (sub-selections too): left to it.
      if (keys.has(key)) return null;
      keys.add(key);
      if (name === '__typename') {
        out.push({ key, name, type, leaf: null, children: null });
        continue;
      }
      const fieldType = getNamedType(type.getFields()[name].type);
      if (isLeafType(fieldType)) {
        if (s.selectionSet) return null;
        out.push({ key, name, type, leaf: fieldType, children: null });
      } else if (isObjectType(fieldType)) {
        const children = select(s.selectionSet, fieldType);
        if (!children) return null;
        out.push({ key, name, type, leaf: null, children });
      } else return null;
    }
    return out;
  };

  const compile = (query: string, operationName: string | null): Plan | null => {
    const { document } = documents.parse(query);
    if (!document) return null;
    const operation = getOperationAST(document, operationName ?? undefined);
    if (!operation || operation.operation !== 'mutation' || operation.directives?.length) return null;
    const roots = operation.selectionSet.selections;
    if (roots.length !== 1 || roots[0].kind !== Kind.FIELD) return null;
    const field = roots[0];
    if (field.name.value !== 'recordInteraction' || field.directives?.length) return null;
    const arg = field.arguments?.length === 1 ? field.arguments[0] : undefined;
    if (!arg || arg.name.value !== 'input' || arg.value.kind !== Kind.VARIABLE) return null;
    const result = schema.getType('RecordInteractionResult');
    if (!isObjectType(result)) return null;
    const selection = select(field.selectionSet, result);
    if (!selection) return null;
    return { document, operation, operationName: operation.name?.value ?? null, field, responseKey: field.alias?.value ?? field.name.value, variable: arg.value.name.value, selection };
  };

  const planFor = (query: string, operationName: string | null): Plan | null =>
    recentlyUsed(plans, `${operationName ?? ''}\u0000${query}`, MAX_DOCUMENTS, () => compile(query, operationName));

  const write = (value: unknown, selected: Selected[]): string => {
    const o = value as Record<string, unknown>;
    const parts = selected.map((s) => {
      let json: string;
      if (s.name === '__typename') json = JSON.stringify(s.type.name);
      else {
        const v = o[s.name];
        const one = (x: unknown): string => (x === null || x === undefined ? 'null' : s.children ? write(x, s.children) : JSON.stringify(s.leaf!.serialize(x)));
        json = Array.isArray(v) ? `[${v.map(one).join(',')}]` : one(v);
      }
      return `${JSON.stringify(s.key)}:${json}`;
    });
    return `{${parts.join(',')}}`;
  };

  /** The answer when the lane takes the request; null for everything the general path has to answer. */
  const answer = async (principal: Principal, body: RequestBody): Promise<LaneAnswer | null> => {
    const request = laneOperation(body);
    if (!request?.query.includes('recordInteraction') || !hasScope(principal, Scope.WRITE)) return null;
    const plan = planFor(request.query, request.operationName);
    if (!plan) return null;
    const coerced = getVariableValues(schema, plan.operation.variableDefinitions ?? [], request.variables);
    if (coerced.errors) return null;
    // Costed with real variables: without them the costing cannot coerce `$input` and gives 0.
    plan.withinBudget ??= !(checkCost(schema, plan.document, request.operationName, request.variables, options.limits) instanceof GraphQLError);
    if (!plan.withinBudget) return null;
    const { data } = validateInteraction(coerced.coerced[plan.variable] as never, rules, 'input', new Date());
    if (!data) return null;

    const audit = auditScope(principal, { parentType: { name: 'Mutation' }, fieldName: 'recordInteraction', operation: plan.operation });
    let json: string;
    let outcome = 'ok';
    try {
      const result = await services.ingest.ingestOne(principal.id, ingestItem(data), audit);
      throwIfRejected(result, 'input');
      json = `{"data":{${JSON.stringify(plan.responseKey)}:${write(toResult(result, 0, 'input'), plan.selection)}}}\n`;
    } catch (err) {
      // As graphql-js and Apollo report a resolver's error: located on the field, formatted in the one place.
      const located = locatedError(err, [plan.field], [plan.responseKey]);
      const formatted = formatError(located.toJSON(), located);
      outcome = String(formatted.extensions?.code ?? 'INTERNAL_SERVER_ERROR');
      json = `${JSON.stringify({ errors: [formatted], data: null })}\n`;
    }
    return {
      json,
      logged: (started, requestId) =>
        recordOperation(telemetry, {
          transport: 'http',
          type: 'mutation',
          name: plan.operationName,
          outcome,
          durationMs: performance.now() - started,
          requestId,
          keyId: principal.id,
          keyName: principal.name,
          errorPaths: outcome === 'ok' ? undefined : [plan.responseKey],
        }),
    };
  };

  return { answer };
}
