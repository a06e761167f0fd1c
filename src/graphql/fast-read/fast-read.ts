import type { NextFunction, Request, Response } from 'express';
import { getOperationAST, getVariableValues, GraphQLError, type DocumentNode, type GraphQLSchema } from 'graphql';
import type { DataSource } from 'typeorm';

import type { OperationLimits } from '../../config';
import { hasScope } from '../../modules/access/api-key.service';
import { Scope } from '../../modules/access/scope.enum';
import { maskIdentifier } from '../../modules/pii/mask';
import type { Services } from '../context';
import type { AuthenticatedRequest } from '../http-guard';
import { DocumentCache } from '../live/documents';
import { piiReadEntry } from '../pii-audit';
import { checkCost } from '../plugins/operation-limits';
import { recordOperation, type Telemetry } from '../plugins/observability';
import { compileRead, type CompiledRead, type MaskSpec } from './compile';

/** Compiled documents kept, least recently used evicted first; the documents that do not compile are remembered too. */
const MAX_COMPILED = 500;

interface Pool {
  query(config: { name: string; text: string; values: unknown[] }): Promise<{ rows: Array<{ data: string; ids: string[] }> }>;
}

/**
 * Express middleware in front of Apollo on POST /graphql: answers the queries that compile.ts
 * turns into one statement, and hands everything else — and any request where the statement
 * finds nothing or an argument is not acceptable — to Apollo unchanged. What the general path
 * does around a read is done here too: validation under the operation limits (cached per
 * document), the cost with the request's variables, the read scope, masking without pii, one
 * audit row for an unmasked read, the metric and the log line.
 */
export function fastReads(schema: GraphQLSchema, services: Services, dataSource: DataSource, telemetry: Telemetry, options: { limits: OperationLimits; introspection: boolean }) {
  const documents = new DocumentCache(schema, options.limits, options.introspection);
  // The parsed document is kept beside its plan: one look-up per request.
  const compiled = new Map<string, { plan: CompiledRead; document: DocumentNode } | null>();
  const pool = (dataSource.driver as unknown as { master: Pool }).master;
  const counter = dataSource.logger;
  const region = services.config.defaultPhoneRegion;

  const compiledFor = (query: string, operationName: string | null): { plan: CompiledRead; document: DocumentNode } | null => {
    const key = `${operationName ?? ''}\u0000${query}`;
    const hit = compiled.get(key);
    if (hit !== undefined) {
      compiled.delete(key);
      compiled.set(key, hit);
      return hit;
    }
    const { document } = documents.parse(query);
    const plan = document ? compileRead(schema, document, operationName, { defaultCurrency: services.config.defaultCurrency, region }) : null;
    const entry = plan && document ? { plan, document } : null;
    compiled.set(key, entry);
    if (compiled.size > MAX_COMPILED) compiled.delete(compiled.keys().next().value!);
    return entry;
  };

  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const started = performance.now();
    const body = req.body as { query?: unknown; variables?: unknown; operationName?: unknown } | undefined;
    const principal = (req as AuthenticatedRequest).principal;
    if (req.method !== 'POST' || !principal || !body || typeof body.query !== 'string') return next();
    if (body.operationName != null && typeof body.operationName !== 'string') return next();
    const variables = body.variables ?? {};
    if (typeof variables !== 'object' || Array.isArray(variables)) return next();
    if (!hasScope(principal, Scope.READ)) return next();
    const operationName = (body.operationName as string | undefined) ?? null;
    const found = compiledFor(body.query, operationName);
    if (!found) return next();
    const { plan, document } = found;

    try {
      const operation = getOperationAST(document, operationName ?? undefined)!;
      // The variables as the general path would coerce them; any problem is its to report.
      if (getVariableValues(schema, operation.variableDefinitions ?? [], variables as Record<string, unknown>).errors) return next();
      if (checkCost(schema, document, operationName, variables as Record<string, unknown>, options.limits) instanceof GraphQLError) return next();
      const vars = variables as Record<string, unknown>;
      const values: unknown[] = [];
      for (const p of plan.params) {
        const v = p(vars);
        if (!v.ok) return next();
        values.push(v.value);
      }
      counter.logQuery(plan.sql, values);
      const { rows } = await pool.query({ name: plan.name, text: plan.sql, values });
      // Nobody there: the general path answers NOT_FOUND with its message.
      if (rows.length === 0) return next();
      const [{ data, ids }] = rows;
      const pii = hasScope(principal, Scope.PII);
      let json = data;
      if (plan.personal && !pii) json = JSON.stringify(masked(JSON.parse(data), plan.masks));
      if (plan.personal && pii && ids.length) {
        await services.audit.recordShared([piiReadEntry(principal, plan.rootField, plan.operationName, ids)]);
      }
      res.locals.operationLogged = true;
      res.status(200).setHeader('content-type', 'application/json; charset=utf-8');
      res.end(`{"data":{${JSON.stringify(plan.responseKey)}:${json}}}\n`);
      recordOperation(telemetry, {
        transport: 'http',
        type: 'query',
        name: plan.operationName,
        outcome: 'ok',
        durationMs: performance.now() - started,
        requestId: res.locals.requestId as string | undefined,
        keyId: principal.id,
        keyName: principal.name,
      });
    } catch (err) {
      next(err);
    }
  };
}

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
