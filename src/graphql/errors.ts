import { GraphQLError, type GraphQLFormattedError } from 'graphql';

/** The only values `extensions.code` ever takes (BRIEF §5). */
export enum ErrorCode {
  UNAUTHENTICATED = 'UNAUTHENTICATED',
  FORBIDDEN = 'FORBIDDEN',
  NOT_FOUND = 'NOT_FOUND',
  BAD_USER_INPUT = 'BAD_USER_INPUT',
  CONFLICT = 'CONFLICT',
  RATE_LIMITED = 'RATE_LIMITED',
  INTERNAL_SERVER_ERROR = 'INTERNAL_SERVER_ERROR',
}

/** One thing wrong with an input, located by its field path (`inputs[3].identifiers[0].value`). */
export interface InputProblem {
  field: string;
  message: string;
}

export class UnauthenticatedError extends GraphQLError {
  constructor(message = 'An API key is required: send "Authorization: Bearer <key>".') {
    super(message, { extensions: { code: ErrorCode.UNAUTHENTICATED, http: { status: 401 } } });
  }
}

export class ForbiddenError extends GraphQLError {
  constructor(message: string) {
    super(message, { extensions: { code: ErrorCode.FORBIDDEN } });
  }
}

export class NotFoundError extends GraphQLError {
  constructor(message: string) {
    super(message, { extensions: { code: ErrorCode.NOT_FOUND } });
  }
}

export class BadUserInputError extends GraphQLError {
  constructor(problems: InputProblem[]) {
    const [first] = problems;
    const message = problems.length === 1 ? `${first.field}: ${first.message}` : `${problems.length} problems in the input; first: ${first.field}: ${first.message}`;
    super(message, { extensions: { code: ErrorCode.BAD_USER_INPUT, field: first.field, problems } });
  }
}

export class ConflictError extends GraphQLError {
  constructor(message: string) {
    super(message, { extensions: { code: ErrorCode.CONFLICT } });
  }
}

export class RateLimitedError extends GraphQLError {
  /** `retryAfterMs`: when waiting helps, how long; `extensions.retryAfter` says it in whole seconds. */
  constructor(message: string, retryAfterMs?: number) {
    const retry = retryAfterMs === undefined ? {} : { retryAfter: Math.max(1, Math.ceil(retryAfterMs / 1000)), retryAfterMs };
    super(message, { extensions: { code: ErrorCode.RATE_LIMITED, ...retry } });
  }
}

/** Builds a field path such as `inputs[3].identifiers[0].value`. */
export function fieldPath(...parts: Array<string | number>): string {
  return parts.reduce<string>((acc, part) => (typeof part === 'number' ? `${acc}[${part}]` : acc ? `${acc}.${part}` : part), '');
}

// Apollo's own codes for documents that do not parse or validate, and variables that do not
// coerce, are all the caller's input: they are reported as BAD_USER_INPUT, the original code kept.
const INPUT_CODES = new Set(['GRAPHQL_PARSE_FAILED', 'GRAPHQL_VALIDATION_FAILED', 'BAD_REQUEST', 'BAD_USER_INPUT', 'OPERATION_RESOLUTION_FAILURE', 'PERSISTED_QUERY_NOT_SUPPORTED', 'PERSISTED_QUERY_NOT_FOUND']);
const KNOWN = new Set<string>(Object.values(ErrorCode));

/**
 * The one place where errors are mapped for clients: known codes pass, input errors become
 * BAD_USER_INPUT, anything else is logged and hidden behind INTERNAL_SERVER_ERROR.
 */
export function formatError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  const code = String(formatted.extensions?.code ?? '');
  const { stacktrace: _stack, ...extensions } = formatted.extensions ?? {};
  if (KNOWN.has(code) && code !== ErrorCode.INTERNAL_SERVER_ERROR) return { ...formatted, extensions };
  if (INPUT_CODES.has(code)) {
    return { ...formatted, extensions: { ...extensions, code: ErrorCode.BAD_USER_INPUT, reason: code } };
  }
  const original = error instanceof GraphQLError && error.originalError ? error.originalError : error;
  console.error('[graphql] internal error', formatted.path?.join('.') ?? '', original);
  return {
    message: 'Internal server error: the failure was logged.',
    locations: formatted.locations,
    path: formatted.path,
    extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR },
  };
}
