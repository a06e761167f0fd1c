import { randomUUID } from 'node:crypto';

import type { ApolloServerPlugin } from '@apollo/server';
import type { NextFunction, Request, Response } from 'express';

import type { Logger } from '../../observability/logger';
import type { Metrics, OperationRecord } from '../../observability/metrics';
import type { Context } from '../context';

export interface Telemetry {
  metrics: Metrics;
  logger: Logger;
}

/** Who asked, for the log: the key's id and name, never its secret. */
export interface OperationLog extends OperationRecord {
  requestId?: string;
  keyId: string | null;
  keyName?: string | null;
  /** Paths of the fields that failed, for the first few errors. */
  errorPaths?: string[];
}

/**
 * Counts the operation and writes its one log line; a server error at `error` level (its cause
 * and stack are logged where it is mapped, in errors.ts).
 */
export function recordOperation(telemetry: Telemetry, o: OperationLog): void {
  telemetry.metrics.operation(o);
  const line = {
    reqId: o.requestId,
    keyId: o.keyId,
    keyName: o.keyName ?? undefined,
    transport: o.transport,
    type: o.type,
    operation: o.name ?? undefined,
    outcome: o.outcome === 'ok' ? 'ok' : 'error',
    code: o.outcome === 'ok' ? undefined : o.outcome,
    durationMs: Math.round(o.durationMs * 100) / 100,
    paths: o.errorPaths?.length ? o.errorPaths : undefined,
  };
  if (o.outcome === 'INTERNAL_SERVER_ERROR') telemetry.logger.error(line, 'graphql operation failed');
  else telemetry.logger.info(line, 'graphql operation');
}

/** The first error's code, or `ok`. */
export function outcomeOf(errors: ReadonlyArray<{ extensions?: Record<string, unknown> }> | undefined): string {
  if (!errors?.length) return 'ok';
  const code = errors[0].extensions?.code;
  return typeof code === 'string' ? code : 'INTERNAL_SERVER_ERROR';
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/** The caller's `x-request-id` when it is a sane token (1–64 of A–Z a–z 0–9 . _ : -), else a new one. */
export function requestIdOf(given: string | string[] | undefined): string {
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
}

/**
 * A request id for every request: the caller's `x-request-id` when it is a sane token, else a new
 * one; sent back in the response header. Also counts /graphql responses by status and logs those
 * refused before GraphQL ran (no key, over the rate, body too large).
 */
export function requestIds(telemetry: Telemetry) {
  return (req: Request, res: Response, next: NextFunction) => {
    const id = requestIdOf(req.headers['x-request-id']);
    res.locals.requestId = id;
    res.setHeader('x-request-id', id);
    if (req.path === '/graphql' || req.path.startsWith('/graphql/')) {
      const started = performance.now();
      res.on('finish', () => {
        telemetry.metrics.httpResponse(res.statusCode);
        if (!res.locals.operationLogged && res.statusCode >= 400) {
          telemetry.logger.info({ reqId: id, transport: 'http', status: res.statusCode, method: req.method, durationMs: Math.round((performance.now() - started) * 100) / 100 }, 'http request refused');
        }
      });
    }
    next();
  };
}

/** One metric sample and one log line per HTTP GraphQL operation. */
export function observabilityPlugin(telemetry: Telemetry): ApolloServerPlugin<Context> {
  return {
    async requestDidStart() {
      const started = performance.now();
      let type = 'unknown';
      return {
        async didResolveOperation({ operation }) {
          type = operation?.operation ?? 'unknown';
        },
        async willSendResponse({ response, errors, operationName, contextValue }) {
          const body = response.body;
          const resultErrors = body.kind === 'single' ? body.singleResult.errors : undefined;
          // The answer's errors, as formatError mapped them (the raw ones carry no code yet).
          const all = resultErrors ?? errors;
          const outcome = outcomeOf(all);
          if (contextValue.httpLocals) contextValue.httpLocals.operationLogged = true;
          recordOperation(
            telemetry,
            {
              transport: 'http',
              type,
              name: operationName ?? null,
              outcome,
              durationMs: performance.now() - started,
              requestId: contextValue.requestId,
              keyId: contextValue.principal?.id ?? null,
              keyName: contextValue.principal?.name ?? null,
              errorPaths: all?.slice(0, 5).flatMap((e) => ('path' in e && Array.isArray(e.path) ? [e.path.join('.')] : [])),
            },
          );
        },
      };
    },
  };
}
