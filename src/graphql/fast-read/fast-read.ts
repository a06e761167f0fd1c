import type { NextFunction, Request, Response } from 'express';
import { getOperationAST, getVariableValues, GraphQLError, type DocumentNode, type GraphQLSchema, type OperationDefinitionNode } from 'graphql';
import type { DataSource } from 'typeorm';

import type { OperationLimits } from '../../config';
import { uuidv7 } from '../../db/uuid';
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
 * Express middleware in front of Apollo on POST /graphql: answers the queries that compile.ts
 * turns into one statement, and hands everything else — and any request where the statement
 * finds nothing or an argument is not acceptable — to Apollo unchanged. What the general path
 * does around a read is done here too: validation under the operation limits (cached per
 * document), the cost (cached per document and page sizes), the read scope, masking without
 * pii, the audit of an unmasked read before its answer, the metric and the log line.
 */
export function fastReads(schema: GraphQLSchema, services: Services, dataSource: DataSource, telemetry: Telemetry, options: { limits: OperationLimits; introspection: boolean }) {
  const documents = new DocumentCache(schema, options.limits, options.introspection);
  // The parsed document is kept beside its plan: one look-up per request.
  const compiled = new Map<string, Compiled | null>();
  const pool = (dataSource.driver as unknown as { master: Pool }).master;
  const counter = dataSource.logger;
  const region = services.config.defaultPhoneRegion;
  /** Compiled reads waiting for PostgreSQL. */
  let inFlight = 0;

  const compiledFor = (query: string, operationName: string | null): Compiled | null => {
    const key = `${operationName ?? ''}\u0000${query}`;
    const hit = compiled.get(key);
    if (hit !== undefined) {
      compiled.delete(key);
      compiled.set(key, hit);
      return hit;
    }
    const { document } = documents.parse(query);
    const plan = document ? compileRead(schema, document, operationName, { defaultCurrency: services.config.defaultCurrency, region }) : null;
    const entry = plan && document ? { plan, document, operation: getOperationAST(document, operationName ?? undefined)!, costs: new Map() } : null;
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
    const { plan, document, operation } = found;

    try {
      const vars = variables as Record<string, unknown>;
      // The variables as the general path would coerce them; any problem is its to report.
      if (getVariableValues(schema, operation.variableDefinitions ?? [], vars).errors) return next();
      const values: unknown[] = [];
      for (const p of plan.params) {
        const v = p(vars);
        if (!v.ok) return next();
        values.push(v.value);
      }
      // The cost depends on the page sizes alone: computed once per document and sizes.
      const sizes = plan.sizeParams.map((i) => values[i]).join(',');
      let withinBudget = found.costs.get(sizes);
      if (withinBudget === undefined) {
        withinBudget = !(checkCost(schema, document, operationName, vars, options.limits) instanceof GraphQLError);
        if (found.costs.size < MAX_COSTS) found.costs.set(sizes, withinBudget);
      }
      if (!withinBudget) return next();
      const pii = hasScope(principal, Scope.PII);
      // An unmasked read is audited before it is answered. Alone, it appends its row in its own
      // statement (one round trip); among others, it joins the insert they share (one commit for all).
      const alone = inFlight === 0 && !services.audit.sharing;
      const statement = pii && plan.audited && alone ? plan.audited : plan;
      if (statement !== plan) values.push(uuidv7(), principal.id, principal.name.slice(0, 100), plan.rootField, plan.operationName?.slice(0, 100) ?? null);
      counter.logQuery(statement.sql, values);
      inFlight++;
      let rows: Array<{ data: string; ids: string[] }>;
      try {
        ({ rows } = await pool.query({ name: statement.name, text: statement.sql, values }));
      } finally {
        inFlight--;
      }
      // Nobody there: the general path answers NOT_FOUND with its message.
      if (rows.length === 0) return next();
      const [{ data, ids }] = rows;
      if (pii && plan.personal && statement === plan && ids.length) {
        await services.audit.recordShared([piiReadEntry(principal, plan.rootField, plan.operationName, ids)]);
      }
      let json = data;
      if (plan.personal && !pii) json = JSON.stringify(masked(JSON.parse(data), plan.masks));
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
