import type { IncomingMessage, ServerResponse } from 'node:http';

import type { NextFunction, Request, Response } from 'express';
import { getOperationAST, getVariableValues, GraphQLError, type DocumentNode, type GraphQLSchema, type OperationDefinitionNode } from 'graphql';
import type { DataSource } from 'typeorm';

import type { OperationLimits } from '../../config';
import { hasScope, type Principal } from '../../modules/access/api-key.service';
import { Scope } from '../../modules/access/scope.enum';
import { maskIdentifier } from '../../modules/pii/mask';
import { bearerToken, type Services } from '../context';
import { admit, type AuthenticatedRequest } from '../http-guard';
import type { DocumentCache } from '../live/documents';
import { recentlyUsed } from '../recent';
import { piiReadEntry } from '../pii-audit';
import { checkCost, nestingOver } from '../plugins/operation-limits';
import { recordOperation, requestIdOf, type Telemetry } from '../plugins/observability';
import { auditedValues, compileRead, type CompiledRead, type MaskSpec } from './compile';

/** Compiled documents kept, least recently used evicted first; the documents that do not compile are remembered too. */
const MAX_COMPILED = 500;
/** Page sizes whose cost verdict is remembered, per document. */
const MAX_COSTS = 64;

/** A compiled document: its plan, its parsed operation, and whether its cost is within the budget for the page sizes seen. */
interface Compiled {
  plan: CompiledRead;
  document: DocumentNode;
  operation: OperationDefinitionNode;
  costs: Map<string, boolean>;
}

interface Pool {
  query(config: { name: string; text: string; values: unknown[] }): Promise<{ rows: Array<{ data: string; ids: string[] }> }>;
}

/**
 * Answers the queries that compile.ts turns into one statement, for the front lane and the
 * middleware below; everything else — and any request where the statement finds nothing or an
 * argument is not acceptable — is left to Apollo. What the general path does around a read is
 * done here too: validation under the operation limits (cached per
 * document), the cost (cached per document and page sizes), the read scope, masking without
 * pii, the audit of an unmasked read before its answer, the metric and the log line.
 */
export function fastReader(schema: GraphQLSchema, services: Services, dataSource: DataSource, telemetry: Telemetry, documents: DocumentCache, options: { limits: OperationLimits }) {
  // The parsed document is kept beside its plan: one look-up per request.
  const compiled = new Map<string, Compiled | null>();
  const pool = (dataSource.driver as unknown as { master: Pool }).master;
  const counter = dataSource.logger;
  const region = services.config.defaultPhoneRegion;
  /** Compiled reads waiting for PostgreSQL. */
  let inFlight = 0;

  const compiledFor = (query: string, operationName: string | null): Compiled | null =>
    recentlyUsed(compiled, `${operationName ?? ''}\u0000${query}`, MAX_COMPILED, () => {
      const { document } = documents.parse(query);
      const plan = document ? compileRead(schema, document, operationName, { defaultCurrency: services.config.defaultCurrency, region }) : null;
      return plan && document ? { plan, document, operation: getOperationAST(document, operationName ?? undefined)!, costs: new Map() } : null;
    });

  /**
   * The answer's JSON text when `body` is a compiled read this principal may run and the
   * statement finds its customer; null for everything the general path has to answer.
   */
  const answer = async (principal: Principal, body: RequestBody | undefined): Promise<{ json: string; plan: CompiledRead } | null> => {
    const request = laneOperation(body);
    if (!request || !hasScope(principal, Scope.READ)) return null;
    const { operationName, variables: vars } = request;
    const found = compiledFor(request.query, operationName);
    if (!found) return null;
    const { plan, document, operation } = found;
    // The variables as the general path would coerce them; any problem is its to report.
    if (getVariableValues(schema, operation.variableDefinitions ?? [], vars).errors) return null;
    const values: unknown[] = [];
    for (const p of plan.params) {
      const v = p(vars);
      if (!v.ok) return null;
      values.push(v.value);
    }
    // The cost depends on the page sizes alone: computed once per document and sizes.
    const sizes = plan.sizeParams.map((i) => values[i]).join(',');
    let withinBudget = found.costs.get(sizes);
    if (withinBudget === undefined) {
      withinBudget = !(checkCost(schema, document, operationName, vars, options.limits) instanceof GraphQLError);
      if (found.costs.size < MAX_COSTS) found.costs.set(sizes, withinBudget);
    }
    if (!withinBudget) return null;
    const pii = hasScope(principal, Scope.PII);
    // An unmasked read is audited before it is answered. Alone, it appends its row in its own
    // statement (one round trip); among others, it joins the insert they share (one commit for all).
    const alone = inFlight === 0 && !services.audit.sharing;
    const statement = pii && plan.audited && alone ? plan.audited : plan;
    if (statement !== plan) values.push(...auditedValues(principal, plan));
    counter.logQuery(statement.sql, values);
    inFlight++;
    let rows: Array<{ data: string; ids: string[] }>;
    try {
      ({ rows } = await pool.query({ name: statement.name, text: statement.sql, values }));
    } finally {
      inFlight--;
    }
    // Nobody there: the general path answers NOT_FOUND with its message.
    if (rows.length === 0) return null;
    const [{ data, ids }] = rows;
    if (pii && plan.personal && statement === plan && ids.length) {
      await services.audit.recordShared([piiReadEntry(principal, plan.rootField, plan.operationName, ids)]);
    }
    let json = data;
    if (plan.personal && !pii) json = JSON.stringify(masked(JSON.parse(data), plan.masks));
    return { json: `{"data":{${JSON.stringify(plan.responseKey)}:${json}}}\n`, plan };
  };

  const logged = (plan: CompiledRead, principal: Principal, started: number, requestId: string | undefined) =>
    recordOperation(telemetry, {
      transport: 'http',
      type: 'query',
      name: plan.operationName,
      outcome: 'ok',
      durationMs: performance.now() - started,
      requestId,
      keyId: principal.id,
      keyName: principal.name,
    });

  /** The same answer in the front lane's terms. */
  const laneAnswer = async (principal: Principal, body: RequestBody): Promise<LaneAnswer | null> => {
    const found = await answer(principal, body);
    return found && { json: found.json, logged: (started, requestId) => logged(found.plan, principal, started, requestId) };
  };

  return { answer, logged, laneAnswer };
}

export type RequestBody = { query?: unknown; variables?: unknown; operationName?: unknown };

/** A request body's operation when it has the shape the lane answers (a query text, a name or none, an object of variables); null otherwise. */
export function laneOperation(body: RequestBody | undefined): { query: string; operationName: string | null; variables: Record<string, unknown> } | null {
  if (!body || typeof body !== 'object' || typeof body.query !== 'string') return null;
  if (body.operationName != null && typeof body.operationName !== 'string') return null;
  const variables = body.variables ?? {};
  if (typeof variables !== 'object' || Array.isArray(variables)) return null;
  return { query: body.query, operationName: (body.operationName as string | undefined) ?? null, variables: variables as Record<string, unknown> };
}
type Reader = ReturnType<typeof fastReader>;

/** What the front lane sends for a request it answers: the JSON text, and the operation's metric and log line once it is sent. */
export interface LaneAnswer {
  json: string;
  logged(started: number, requestId: string): void;
}

/** One kind of request the front lane answers (compiled reads, plain writes); null leaves the request to the next one, then to Express. */
export type LaneAnswerer = (principal: Principal, body: RequestBody) => Promise<LaneAnswer | null>;

/** Express middleware in front of Apollo on /graphql, for the requests the front lane did not take. */
export function fastReads(reader: Reader) {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const started = performance.now();
    const principal = (req as AuthenticatedRequest).principal;
    if (req.method !== 'POST' || !principal) return next();
    try {
      const found = await reader.answer(principal, req.body as RequestBody | undefined);
      if (!found) return next();
      res.locals.operationLogged = true;
      res.status(200).setHeader('content-type', 'application/json; charset=utf-8');
      res.end(found.json);
      reader.logged(found.plan, principal, started, res.locals.requestId as string | undefined);
    } catch (err) {
      next(err);
    }
  };
}

const JSON_TYPE = /^application\/json\s*(?:;\s*charset\s*=\s*"?utf-8"?\s*)?$/i;

/**
 * The front lane: the requests most likely to be compiled reads are taken before Express, which
 * costs about a fifth of such a request's time (its router, prototypes and body parser) — a POST
 * to /graphql with a JSON body of a stated length up to `maxBodyBytes`, a bearer key, and no
 * Origin where CORS is configured. The key is checked and its rate taken as `authenticate` does
 * (a request the lane answers is counted once); the body is read and parsed; then a compiled read
 * is answered here, with the request id, the metric and the log line of the general path.
 * Everything else — an unknown key, a key over its rate, a body that is not JSON, a document that
 * is not compiled — goes on to Express unchanged but for the body already read (the parser then
 * skips it) and the key check's verdict (`authenticate` answers with it instead of checking
 * again): the general path gives the answer and every error, with the same words.
 */
export function fastLane(answerers: LaneAnswerer[], services: Services, telemetry: Telemetry, options: { maxBodyBytes: number; cors: boolean }) {
  return (req: IncomingMessage, res: ServerResponse, fallback: () => void): void => {
    const h = req.headers;
    if (req.method !== 'POST' || req.url !== '/graphql' || (options.cors && h.origin !== undefined)) return fallback();
    if (h['content-encoding'] !== undefined || h['transfer-encoding'] !== undefined || !JSON_TYPE.test(h['content-type'] ?? '')) return fallback();
    const length = Number(h['content-length']);
    const token = bearerToken(h.authorization);
    if (!(length > 0 && length <= options.maxBodyBytes) || !token) return fallback();
    const started = performance.now();
    void (async () => {
      const admission = await admit(services, token);
      (req as AuthenticatedRequest).admission = admission;
      const { principal, waitMs } = admission;
      if (!principal || waitMs > 0) return fallback();
      (req as AuthenticatedRequest).principal = principal;
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const text = chunks.length === 1 ? chunks[0].toString('utf8') : Buffer.concat(chunks).toString('utf8');
      let body: RequestBody;
      try {
        body = JSON.parse(text);
      } catch {
        (req as LaneRequest).laneError = { status: 400, type: 'entity.parse.failed' };
        return fallback();
      }
      (req as LaneRequest).body = body;
      if (typeof body?.query === 'string' && nestingOver(body.query)) return fallback();
      let found: LaneAnswer | null = null;
      for (const answerer of answerers) if ((found = await answerer(principal, body))) break;
      if (!found) return fallback();
      const requestId = requestIdOf(h['x-request-id']);
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(found.json), 'x-request-id': requestId });
      res.end(found.json);
      telemetry.metrics.httpResponse(200);
      found.logged(started, requestId);
    })().catch((err) => {
      // A failure (the database, above all) is the general path's to meet again and report.
      if (res.headersSent) return res.destroy(err as Error);
      fallback();
    });
  };
}

/** A request the front lane read: its parsed body, or the error Express is to answer in its place. */
export interface LaneRequest extends IncomingMessage {
  body?: unknown;
  laneError?: unknown;
}

/** After the body parser: the error the front lane met reading the body, answered as the parser's would be. */
export const laneErrors = (req: Request, _res: Response, next: NextFunction): void => next((req as unknown as LaneRequest).laneError);

/** Identifier values and raw values masked where the plan says they are, as the @PersonalData fields do. */
function masked(data: unknown, masks: readonly MaskSpec[]): unknown {
  const walk = (value: unknown, path: readonly string[], spec: MaskSpec): void => {
    if (Array.isArray(value)) {
      for (const v of value) walk(v, path, spec);
      return;
    }
    if (!value || typeof value !== 'object') return;
    const o = value as Record<string, unknown>;
    if (path.length) {
      walk(o[path[0]], path.slice(1), spec);
      return;
    }
    const type = o[spec.typeKey];
    for (const key of spec.valueKeys) if (typeof o[key] === 'string' && typeof type === 'string') o[key] = maskIdentifier(type, o[key] as string);
  };
  for (const spec of masks) walk(data, spec.path, spec);
  return data;
}
