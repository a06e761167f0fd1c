import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesRule } from '@escape.tech/graphql-armor-max-directives';
import type { ApolloServerPlugin } from '@apollo/server';
import {
  getNamedType,
  GraphQLError,
  isLeafType,
  isListType,
  isNonNullType,
  NoSchemaIntrospectionCustomRule,
  specifiedRules,
  type DocumentNode,
  type GraphQLOutputType,
  type GraphQLSchema,
  type ValidationContext,
  type ValidationRule,
} from 'graphql';
import { getComplexity, type ComplexityEstimator } from 'graphql-query-complexity';

import type { OperationLimits } from '../../config';
import { ErrorCode } from '../errors';

/**
 * What one operation may ask for, checked before anything runs, over HTTP and the websocket
 * alike. Shape limits (depth with each fragment counted once, aliases, directives) are
 * graphql-armor's validation rules; the parser stops at `maxTokens`; the cost is
 * graphql-query-complexity's, with the estimator below.
 *
 * The cost model: a leaf field costs 0 and an object field 1, plus what it selects; a list
 * multiplies that by its size: `first` where the field is paged, the number of `inputs` for
 * recordInteractions, 1 for a connection's `edges` (its `first` already counted), and
 * UNPAGED_LIST_SIZE for the other lists (identifiers, merges, lifecycle history…). Analytics
 * fields, which aggregate over the whole base, add ANALYTICS_COST each.
 */
export const UNPAGED_LIST_SIZE = 10;
/**
 * The largest page any field serves (lifecycleTransitions); a larger `first` is costed at this and
 * refused by the field itself, with its path, rather than by the budget.
 */
export const LARGEST_PAGE = 500;
/** Brackets nested deeper than this are refused before the parser, which recurses on them. */
export const MAX_NESTING = 64;
export const ANALYTICS_COST = 1000;
export const ANALYTICS_FIELDS: ReadonlySet<string> = new Set([
  'Query.journeyFunnel',
  'Query.channelAttribution',
  'Query.multichannelImpact',
  'Query.lifecycleDistribution',
  'Query.lifecycleFlow',
  'Mutation.evaluateLifecycle',
  // Not aggregates, but each reads or rewrites a person's whole history.
  'Query.exportCustomer',
  'Mutation.eraseCustomer',
  'Query.rfmDistribution',
  'Mutation.refitValueModel',
]);

function returnsList(type: GraphQLOutputType): boolean {
  return isListType(isNonNullType(type) ? type.ofType : type);
}

export const costEstimator: ComplexityEstimator = ({ type, field, args, childComplexity }) => {
  const name = `${type.name}.${field.name}`;
  const own = isLeafType(getNamedType(field.type)) ? 0 : 1;
  const extra = ANALYTICS_FIELDS.has(name) ? ANALYTICS_COST : 0;
  let size = 1;
  if (typeof args.first === 'number') size = Math.min(LARGEST_PAGE, Math.max(0, args.first));
  else if (name === 'Mutation.recordInteractions') size = Array.isArray(args.inputs) ? args.inputs.length : 1;
  else if (field.name === 'edges' || !returnsList(field.type) || own === 0) size = 1;
  else size = UNPAGED_LIST_SIZE;
  return size * (own + childComplexity) + extra;
};

function inputError(message: string, extensions: Record<string, unknown> = {}): GraphQLError {
  return new GraphQLError(message, { extensions: { code: ErrorCode.BAD_USER_INPUT, ...extensions, http: { status: 400 } } });
}

/**
 * How deeply `{`, `[` and `(` nest in a document, strings and comments skipped, stopping as soon
 * as `max` is passed. graphql-js's parser recurses once per level: an inline list of a few
 * thousand levels costs one token each, passes `maxTokens` and overflows the stack.
 */
export function nestingOver(query: string, max = MAX_NESTING): boolean {
  let depth = 0;
  for (let i = 0; i < query.length; i++) {
    const c = query.charCodeAt(i);
    if (c === 0x7b || c === 0x5b || c === 0x28) {
      if (++depth > max) return true;
    } else if (c === 0x7d || c === 0x5d || c === 0x29) depth--;
    else if (c === 0x23) {
      while (i < query.length && query[i] !== '\n' && query[i] !== '\r') i++;
    } else if (c === 0x22) {
      if (query.startsWith('"""', i)) {
        const end = query.indexOf('"""', i + 3);
        if (end < 0) return false;
        i = end + 2;
      } else {
        for (i++; i < query.length && query[i] !== '"' && query[i] !== '\n'; i++) if (query[i] === '\\') i++;
      }
    }
  }
  return false;
}

export function nestingError(): GraphQLError {
  return inputError(`The document nests brackets more than ${MAX_NESTING} levels deep.`);
}


/** graphql-armor reports by throwing; here each refusal becomes a validation error like the others. */
function report(context: ValidationContext | null, error: GraphQLError): void {
  context?.reportError(inputError(error.message.replace(/^Syntax Error: /, '')));
}

/** graphql-js's rules plus the shape limits (and no introspection when it is off). */
export function validationRules(limits: OperationLimits, introspection: boolean): ValidationRule[] {
  const common = { propagateOnRejection: false, onReject: [report], exposeLimits: true };
  const rules: ValidationRule[] = [
    maxDepthRule({ ...common, n: limits.maxDepth, flattenFragments: true, ignoreIntrospection: true }),
    maxAliasesRule({ ...common, n: limits.maxAliases }),
    maxDirectivesRule({ ...common, n: limits.maxDirectives }),
  ];
  if (!introspection) rules.push(NoSchemaIntrospectionCustomRule);
  return rules;
}

/** Every rule the websocket validates with (Apollo adds graphql-js's own by itself). */
export function allValidationRules(limits: OperationLimits, introspection: boolean): ValidationRule[] {
  return [...specifiedRules, ...validationRules(limits, introspection)];
}

/**
 * The operation's cost, or a BAD_USER_INPUT error saying it and the budget. Costing expands
 * fragments, so it stops at `maxQueryNodes` selections: a small document of nested fragment
 * spreads cannot make it run for long.
 */
export function checkCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | undefined | null,
  variables: Record<string, unknown> | undefined | null,
  limits: OperationLimits,
): GraphQLError | number {
  let cost: number;
  try {
    cost = getComplexity({
      schema,
      query: document,
      operationName: operationName ?? undefined,
      variables: variables ?? {},
      estimators: [costEstimator],
      maxQueryNodes: limits.maxQueryNodes,
    });
  } catch (err) {
    const message = (err as Error).message;
    if (/maximum allowed number of nodes/.test(message)) {
      return inputError(`The operation selects more than ${limits.maxQueryNodes} fields once its fragments are expanded.`, { maxQueryNodes: limits.maxQueryNodes });
    }
    // Variables that do not coerce: execution reports them with their own message.
    return 0;
  }
  if (cost > limits.maxCost) {
    return inputError(
      `The operation costs ${cost}, over the budget of ${limits.maxCost} per operation: ask for smaller pages (first), fewer aliases or fewer analytics fields, or split it.`,
      { cost, maxCost: limits.maxCost },
    );
  }
  return cost;
}

/**
 * Apollo plugin: refuses over-budget operations once the operation is known and before anything
 * executes, and subscriptions sent over HTTP (they are served on the websocket).
 */
export function operationLimitsPlugin(limits: OperationLimits): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ request, document, operation, schema }) {
          if (operation?.operation === 'subscription') {
            throw inputError('Subscriptions are served over the websocket: connect to /graphql with the graphql-transport-ws protocol (graphql-ws).');
          }
          const result = checkCost(schema, document, request.operationName, request.variables, limits);
          if (result instanceof GraphQLError) throw result;
        },
      };
    },
  };
}
