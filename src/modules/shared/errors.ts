/*
 * What a domain refuses, in its own words. Services and resolvers throw these; the GraphQL layer
 * (src/graphql/errors.ts) alone decides how each one reaches a client.
 */

/** One thing wrong with an input, located by its field path (`inputs[3].identifiers[0].value`). */
export interface InputProblem {
  field: string;
  message: string;
  /** A machine-readable cause where one helps the caller react (SUPPRESSED_IDENTIFIER). */
  reason?: string;
}

/** Builds a field path such as `inputs[3].identifiers[0].value`. */
export function fieldPath(...parts: Array<string | number>): string {
  return parts.reduce<string>((acc, part) => (typeof part === 'number' ? `${acc}[${part}]` : acc ? `${acc}.${part}` : part), '');
}

/** The caller sent something this API refuses; every problem found is listed, the first one names the field. */
export class InputError extends Error {
  constructor(readonly problems: InputProblem[]) {
    const [first] = problems;
    super(problems.length === 1 ? `${first.field}: ${first.message}` : `${problems.length} problems in the input; first: ${first.field}: ${first.message}`);
    this.name = 'InputError';
  }
}

export class NotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotFoundError';
  }
}

export class ForbiddenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ForbiddenError';
  }
}

export class ConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConflictError';
  }
}

export class RateLimitedError extends Error {
  /** `retryAfterMs`: when waiting helps, how long. */
  constructor(
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'RateLimitedError';
  }
}
