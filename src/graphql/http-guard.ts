import type { NextFunction, Request, RequestHandler, Response } from 'express';

import type { Principal } from '../modules/access/api-key.service';
import { bearerToken, type Services } from './context';
import { RateLimitedError } from '../modules/shared/errors';
import { domainExtensions, ErrorCode } from './errors';
import { nestingError, nestingOver } from './plugins/operation-limits';

export interface AuthenticatedRequest extends Request {
  principal?: Principal;
  /** The key check already made for this request (by the compiled reads' front lane): not made again. */
  admission?: Admission;
}

export interface Admission {
  /** Null when the key is unknown or revoked. */
  principal: Principal | null;
  /** How long it must wait when it is over its rate; 0: the request was counted against it. */
  waitMs: number;
}

/** A GraphQL-shaped error body, for answers given before (or instead of) GraphQL execution. */
function sendError(res: Response, status: number, code: ErrorCode, message: string, extensions: Record<string, unknown> = {}): void {
  res.status(status).json({ errors: [{ message, extensions: { code, ...extensions } }] });
}

/** The one key check of HTTP requests (here and in the compiled reads' front lane), made once per request. */
export async function admit(services: Services, token: string): Promise<Admission> {
  const principal = await services.apiKeys.verify(token);
  return { principal, waitMs: principal ? services.rateLimiter.take(principal.id, principal.rateLimit) : 0 };
}

/**
 * Checks the API key and its rate from the headers alone, before the body is read or parsed:
 * an unknown key costs a hash and a cached look-up, a key over its rate a map look-up.
 */
export function authenticate(services: Services, options: { landingPage: boolean }): RequestHandler {
  return async (req: AuthenticatedRequest, res: Response, next: NextFunction) => {
    // Already verified, and its rate taken, by the compiled reads' front lane.
    if (req.principal) return next();
    try {
      // A browser opening /graphql gets the landing page (only where introspection is on).
      if (options.landingPage && req.method === 'GET' && !req.query.query && req.accepts('html') === 'html') return next();
      const token = bearerToken(req.headers.authorization);
      if (!token) return sendError(res, 401, ErrorCode.UNAUTHENTICATED, 'An API key is required: send "Authorization: Bearer <key>".');
      // A request the front lane refused (unknown key, over its rate) is answered with its verdict.
      const { principal, waitMs } = req.admission ?? (await admit(services, token));
      if (!principal) return sendError(res, 401, ErrorCode.UNAUTHENTICATED, 'The API key is unknown or revoked.');
      if (waitMs > 0) {
        const error = new RateLimitedError(`The API key "${principal.name}" is over its request rate; retry in ${waitMs} ms.`, waitMs);
        const { code, ...extensions } = domainExtensions(error)!;
        res.setHeader('Retry-After', String(extensions.retryAfter));
        return sendError(res, 429, code, error.message, extensions);
      }
      req.principal = principal;
      next();
    } catch (err) {
      next(err);
    }
  };
}

/** Between the JSON body parser and Apollo: the bracket-nesting check, before the parser recurses. */
export const refuseDeepNesting: RequestHandler = (req, res, next) => {
  const query = (req.body as { query?: unknown } | undefined)?.query;
  if (typeof query === 'string' && nestingOver(query)) return sendError(res, 400, ErrorCode.BAD_USER_INPUT, nestingError().message);
  next();
};

/** Unknown paths: JSON, like everything else this server says. */
export const notFound: RequestHandler = (req, res) => {
  res.status(404).json({ errors: [{ message: `Nothing at ${req.method} ${req.path}: the API is at /graphql.`, extensions: { code: ErrorCode.NOT_FOUND } }] });
};

/**
 * Errors raised outside GraphQL (a body too large or not JSON, above all) answered as GraphQL
 * errors in JSON, never Express's HTML page with its stack trace and file paths.
 */
export function jsonErrors(maxBodyBytes: number) {
  return (err: any, _req: Request, res: Response, next: NextFunction): void => {
    if (res.headersSent) return next(err);
    const status = Number(err?.status ?? err?.statusCode) || 500;
    if (err?.type === 'entity.too.large') {
      return sendError(res, 413, ErrorCode.BAD_USER_INPUT, `The request body is over ${maxBodyBytes} bytes (MAX_BODY_BYTES); send large batches in several calls.`, {
        reason: 'PAYLOAD_TOO_LARGE',
        maxBodyBytes,
      });
    }
    if (err?.type === 'entity.parse.failed') {
      return sendError(res, 400, ErrorCode.BAD_USER_INPUT, 'The request body is not valid JSON.', { reason: 'BODY_NOT_JSON' });
    }
    if (status < 500) return sendError(res, status, ErrorCode.BAD_USER_INPUT, String(err?.message ?? 'Bad request'), { reason: String(err?.type ?? 'BAD_REQUEST') });
    console.error('[http] internal error', err);
    sendError(res, 500, ErrorCode.INTERNAL_SERVER_ERROR, 'Internal server error: the failure was logged.');
  };
}
