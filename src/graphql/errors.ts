import { GraphQLError, type GraphQLFormattedError } from 'graphql';

import { ConflictError, ForbiddenError, InputError, NotFoundError, RateLimitedError } from '../modules/shared/errors';

/** The only values `extensions.code` ever takes. */
export enum ErrorCode {
  UNAUTHENTICATED = 'UNAUTHENTICATED',
  FORBIDDEN = 'FORBIDDEN',
  NOT_FOUND = 'NOT_FOUND',
  BAD_USER_INPUT = 'BAD_USER_INPUT',
  CONFLICT = 'CONFLICT',
  RATE_LIMITED = 'RATE_LIMITED',
  INTERNAL_SERVER_ERROR = 'INTERNAL_SERVER_ERROR',
}

type Extensions = { code: ErrorCode } & Record<string, unknown>;
type Mapping<E extends Error> = [type: abstract new (...args: any[]) => E, extensions: (error: E) => Extensions];
const map = <E extends Error>(type: Mapping<E>[0], extensions: Mapping<E>[1]): Mapping<Error> => [type, extensions as Mapping<Error>[1]];

/**
 * Domain error class → what a client sees in `extensions` (the message is the error's own). The
 * one place where domain errors become GraphQL errors, for HTTP and websocket alike.
 */
const DOMAIN_ERRORS: Array<Mapping<Error>> = [
  map(InputError, (e) => ({ code: ErrorCode.BAD_USER_INPUT, field: e.problems[0].field, ...(e.problems[0].reason ? { reason: e.problems[0].reason } : {}), problems: e.problems })),
  map(NotFoundError, () => ({ code: ErrorCode.NOT_FOUND })),
  map(ForbiddenError, () => ({ code: ErrorCode.FORBIDDEN })),
  map(ConflictError, () => ({ code: ErrorCode.CONFLICT })),
  // `extensions.retryAfter` says it in whole seconds.
  map(RateLimitedError, (e) => ({
    code: ErrorCode.RATE_LIMITED,
    ...(e.retryAfterMs === undefined ? {} : { retryAfter: Math.max(1, Math.ceil(e.retryAfterMs / 1000)), retryAfterMs: e.retryAfterMs }),
  })),
];

/** The client-facing extensions of a domain error, or undefined when `error` is not one. */
export function domainExtensions(error: unknown): Extensions | undefined {
  const mapping = DOMAIN_ERRORS.find(([type]) => error instanceof type);
  return mapping?.[1](error as Error);
}

/**
 * A GraphQL error for anything thrown: GraphQL errors as they are, domain errors as the table
 * says, anything else as INTERNAL_SERVER_ERROR (for code paths that are not a resolver, where
 * graphql-js would otherwise wrap the error itself).
 */
export function toGraphQLError(error: unknown): GraphQLError {
  if (error instanceof GraphQLError) return error;
  const extensions = domainExtensions(error);
  if (extensions) return new GraphQLError((error as Error).message, { extensions, originalError: error as Error });
  return new GraphQLError('Internal server error: the failure was logged.', {
    extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR },
    originalError: error instanceof Error ? error : undefined,
  });
}

export class UnauthenticatedError extends GraphQLError {
  constructor(message = 'An API key is required: send "Authorization: Bearer <key>".') {
    super(message, { extensions: { code: ErrorCode.UNAUTHENTICATED, http: { status: 401 } } });
  }
}

// Apollo's own codes for documents that do not parse or validate, and variables that do not
// coerce, are all the caller's input: they are reported as BAD_USER_INPUT, the original code kept.
const INPUT_CODES = new Set(['GRAPHQL_PARSE_FAILED', 'GRAPHQL_VALIDATION_FAILED', 'BAD_REQUEST', 'BAD_USER_INPUT', 'OPERATION_RESOLUTION_FAILURE', 'PERSISTED_QUERY_NOT_SUPPORTED', 'PERSISTED_QUERY_NOT_FOUND']);
const KNOWN = new Set<string>(Object.values(ErrorCode));

/**
 * The one place where errors are formatted for clients: domain errors (thrown by resolvers, so
 * carried as `originalError`) as DOMAIN_ERRORS says, known codes pass, input errors become
 * BAD_USER_INPUT, anything else is logged and hidden behind INTERNAL_SERVER_ERROR.
 */
export function formatError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  const original = error instanceof GraphQLError && error.originalError ? error.originalError : error;
  const domain = domainExtensions(original);
  if (domain) return { ...formatted, extensions: domain };
  const code = String(formatted.extensions?.code ?? '');
  const { stacktrace: _stack, ...extensions } = formatted.extensions ?? {};
  if (KNOWN.has(code) && code !== ErrorCode.INTERNAL_SERVER_ERROR) return { ...formatted, extensions };
  if (INPUT_CODES.has(code)) {
    return { ...formatted, extensions: { ...extensions, code: ErrorCode.BAD_USER_INPUT, reason: code } };
  }
  console.error('[graphql] internal error', formatted.path?.join('.') ?? '', original);
  return {
    message: 'Internal server error: the failure was logged.',
    locations: formatted.locations,
    path: formatted.path,
    extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR },
  };
}
