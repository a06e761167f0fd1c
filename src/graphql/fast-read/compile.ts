import {
  getNamedType,
  getOperationAST,
  Kind,
  valueFromAST,
  type DocumentNode,
  type FieldNode,
  type GraphQLField,
  type GraphQLObjectType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValueNode,
} from 'graphql';

import type { CountryCode } from 'libphonenumber-js';

import { uuidv7 } from '../../db/uuid';
import type { Principal } from '../../modules/access/api-key.service';
import { AUDIT_COLUMNS, auditText, MAX_AUDIT_CUSTOMERS } from '../../modules/audit/audit';
import { AuditKind } from '../../modules/audit/audit.types';
import { normalizeIdentifier } from '../../modules/identity/normalize';
import type { IdentifierType } from '../../modules/shared/identifier-type.enum';
import { minorDigits } from '../../modules/shared/money';
import { MAX_PAGE } from '../../modules/shared/connection.type';
import { piiReadEntry } from '../pii-audit';

/*
 * Reads compiled to one SQL statement. A query whose whole selection is one of the common shapes
 * — a customer by id or by identifier, or the newest page of customers, with its identifiers,
 * metrics, stage and newest interactions — is answered by one named prepared statement that
 * builds the response's JSON in PostgreSQL, compiled once per document. Anything else (another
 * field, a fragment, a directive, a cursor, a filter, an argument out of range, an unknown
 * customer) is not compiled, or falls back at run time, to the general path: the schema's
 * resolvers and their DataLoaders, which give the same answer and every error.
 *
 * Lists are aggregated from subqueries that are already in the answer's order (json_agg keeps
 * the order its input comes in), rather than with an ORDER BY in the aggregate, which would sort
 * them a second time.
 */

/** How a request's variables become the statement's parameters; null: take the general path. */
type ParamOf = (variables: Record<string, unknown>) => { ok: true; value: unknown } | { ok: false };

export interface CompiledRead {
  /** The statement's name, for PostgreSQL's cache of prepared statements (per connection). */
  name: string;
  sql: string;
  params: ParamOf[];
  /**
   * The same read appending its audit row in the same statement (a data-modifying CTE), for a
   * key that sees personal data unmasked: the row is committed with the answer, in one round trip.
   * Its parameters are `params`, then the row's id, key id, actor, operation and operation name.
   */
  audited: { name: string; sql: string } | null;
  /** Indices in `params` of the page sizes (`first`): the only values the operation's cost depends on. */
  sizeParams: number[];
  /** The top-level key of `data`. */
  responseKey: string;
  /** `Query.customer` and the like, for the audit trail and the logs. */
  rootField: string;
  operationName: string | null;
  /** The selection returns identifier values or raw values: masked without pii, audited with it. */
  personal: boolean;
  /** Where those values are in the answer (below `data.<responseKey>`), for masking. */
  masks: MaskSpec[];
}

/** A list of identifiers in the answer: its path (lists are walked through) and its keys. */
export interface MaskSpec {
  path: string[];
  typeKey: string;
  valueKeys: string[];
}

const ts = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/**
 * formatMoney in SQL: at least `digits` decimals, more only when they are not zero (NULL stays
 * NULL). `digits` is an SQL expression (a constant, or a CASE over the row's currency), evaluated once.
 */
const money = (value: string, digits: string) => `round(${value}, greatest(${digits}, scale(trim_scale(${value}))))::text`;

let currencyDigitsSql: string | null = null;
/** minorDigits of an interaction's currency, as ICU has them (the codes that differ from 2 spelled out). */
function currencyDigits(column: string, defaultCurrency: string): string {
  if (currencyDigitsSql === null) {
    const codes = (Intl as unknown as { supportedValuesOf(key: string): string[] }).supportedValuesOf('currency');
    const byDigits = new Map<number, string[]>();
    for (const code of codes) {
      const d = minorDigits(code);
      if (d !== 2) byDigits.set(d, [...(byDigits.get(d) ?? []), code]);
    }
    currencyDigitsSql = [...byDigits].map(([d, list]) => `WHEN %C IN (${list.map((c) => `'${c}'`).join(',')}) THEN ${d}`).join(' ');
  }
  const c = `coalesce(${column}, '${defaultCurrency}')`;
  return currencyDigitsSql ? `(CASE ${currencyDigitsSql.replaceAll('%C', c)} ELSE 2 END)` : '2';
}

class NotCompiled extends Error {}
const refuse = (): never => {
  throw new NotCompiled();
};

interface Builder {
  schema: GraphQLSchema;
  /** The join of the customer's identifiers that personal answers take their first list from. */
  identifiers: string | null;
  params: ParamOf[];
  sizeParams: number[];
  defaultCurrency: string;
  personal: boolean;
  masks: MaskSpec[];
}

/** A parameter from an argument (literal or variable), checked by `accept`; the schema's default when absent. */
function argument(field: GraphQLField<unknown, unknown>, node: FieldNode, name: string, accept: (v: unknown) => boolean): ParamOf {
  const def = field.args.find((a) => a.name === name) ?? refuse();
  const given = node.arguments?.find((a) => a.name.value === name);
  if (!given) {
    if (def.defaultValue === undefined || !accept(def.defaultValue)) refuse();
    const value = def.defaultValue;
    return () => ({ ok: true, value });
  }
  const ast: ValueNode = given.value;
  if (ast.kind === Kind.VARIABLE) {
    const variable = ast.name.value;
    return (vars) => {
      const v = vars[variable] === undefined ? def.defaultValue : vars[variable];
      return v !== undefined && accept(v) ? { ok: true, value: v } : { ok: false };
    };
  }
  const literal = valueFromAST(ast, def.type);
  if (literal === undefined || !accept(literal)) refuse();
  return () => ({ ok: true, value: literal });
}

function param(b: Builder, p: ParamOf, cast: string): string {
  b.params.push(p);
  return `$${b.params.length}::${cast}`;
}

/** A page size: a parameter the operation's cost is computed from. */
function sizeParam(b: Builder, p: ParamOf): string {
  const placeholder = param(b, p, 'int');
  b.sizeParams.push(b.params.length - 1);
  return placeholder;
}

/** The fields of a selection, in order: plain fields only (no fragment, no directive). */
function fieldsOf(set: SelectionSetNode | undefined): FieldNode[] {
  if (!set) return refuse();
  return set.selections.map((s) => (s.kind === Kind.FIELD && !s.directives?.length ? s : refuse()));
}

const keyOf = (f: FieldNode) => f.alias?.value ?? f.name.value;
const quote = (key: string) => `'${key.replace(/'/g, "''")}'`;
const object = (pairs: Array<[string, string]>) => `json_build_object(${pairs.map(([k, v]) => `${quote(k)}, ${v}`).join(', ')})`;
const noArgs = (f: FieldNode) => (f.arguments?.length ? refuse() : f);

function typeOf(b: Builder, parent: string, f: FieldNode): { field: GraphQLField<unknown, unknown>; named: string } {
  const type = b.schema.getType(parent) as GraphQLObjectType;
  const field = type.getFields()[f.name.value] ?? refuse();
  return { field, named: getNamedType(field.type).name };
}

function leaves(parent: string, set: SelectionSetNode | undefined, columns: Record<string, string>): string {
  return object(
    fieldsOf(set).map((f) => {
      noArgs(f);
      if (f.name.value === '__typename') return [keyOf(f), `'${parent}'`];
      if (f.selectionSet) refuse();
      return [keyOf(f), columns[f.name.value] ?? refuse()];
    }),
  );
}

function identifiers(b: Builder, set: SelectionSetNode | undefined, customer: string, path: string[]): string {
  const fields = fieldsOf(set);
  const valueKeys = fields.filter((f) => f.name.value === 'value' || f.name.value === 'rawValue').map(keyOf);
  if (valueKeys.length) {
    b.personal = true;
    // Masking needs the type of each identifier beside its value.
    const type = fields.find((f) => f.name.value === 'type') ?? refuse();
    b.masks.push({ path, typeKey: keyOf(type), valueKeys });
  }
  const obj = leaves('Identifier', set, { type: 'i.type', value: 'i.value', rawValue: 'i.raw_value', createdAt: ts('i.created_at') });
  const list = `SELECT json_agg(${obj}) AS list FROM (SELECT * FROM identifier i WHERE i.customer_id = ${customer}.id ORDER BY i.created_at, i.type, i.value) i`;
  // The first list of values is joined beside the customer: whether it is empty also says whether
  // the read is audited for that customer, without looking its identifiers up a second time.
  if (valueKeys.length && !b.identifiers) {
    b.identifiers = `LEFT JOIN LATERAL (${list}) ident ON true`;
    return `coalesce(ident.list, '[]'::json)`;
  }
  return `coalesce((${list}), '[]'::json)`;
}

function interactions(b: Builder, node: FieldNode, customer: string): string {
  const { field } = typeOf(b, 'Customer', node);
  for (const a of node.arguments ?? []) if (a.name.value !== 'first') refuse();
  const first = sizeParam(b, argument(field, node, 'first', (v) => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= MAX_PAGE));
  const columns: Record<string, string> = {
    id: 'x.id',
    type: 'x.type',
    channel: 'x.channel',
    occurredAt: ts('x.occurred_at'),
    receivedAt: ts('x.received_at'),
    amount: money('x.amount', currencyDigits('x.currency', b.defaultCurrency)),
    currency: 'x.currency',
    externalId: 'x.external_id',
    name: 'x.name',
    npsScore: 'x.nps_score',
    journeyId: 'x.journey_id',
  };
  const connection = fieldsOf(node.selectionSet).map((f): [string, string] => {
    noArgs(f);
    if (f.name.value === '__typename') return [keyOf(f), `'InteractionConnection'`];
    if (f.name.value !== 'edges') refuse();
    const edge = fieldsOf(f.selectionSet).map((e): [string, string] => {
      noArgs(e);
      if (e.name.value === '__typename') return [keyOf(e), `'InteractionEdge'`];
      if (e.name.value !== 'node') refuse();
      return [keyOf(e), leaves('Interaction', e.selectionSet, columns)];
    });
    return [
      keyOf(f),
      `(SELECT coalesce(json_agg(${object(edge)}), '[]'::json)
          FROM (SELECT * FROM interaction x WHERE x.customer_id = ${customer}.id ORDER BY x.occurred_at DESC, x.id DESC LIMIT ${first}) x)`,
    ];
  });
  return object(connection);
}

function customerObject(b: Builder, set: SelectionSetNode | undefined, c: string, path: string[]): string {
  const digits = String(minorDigits(b.defaultCurrency));
  const pairs = fieldsOf(set).map((f): [string, string] => {
    const name = f.name.value;
    if (name === '__typename') return [keyOf(f), `'Customer'`];
    if (name === 'interactions') return [keyOf(f), interactions(b, f, c)];
    noArgs(f);
    switch (name) {
      case 'id':
        return [keyOf(f), `${c}.id`];
      case 'createdAt':
        return [keyOf(f), ts(`${c}.created_at`)];
      case 'updatedAt':
        return [keyOf(f), ts(`${c}.updated_at`)];
      case 'identifiers':
        return [keyOf(f), identifiers(b, f.selectionSet, c, [...path, keyOf(f)])];
      case 'metrics':
        return [
          keyOf(f),
          leaves('CustomerMetrics', f.selectionSet, {
            orderCount: `${c}.order_count`,
            grossRevenue: money(`${c}.gross_revenue`, digits),
            refunds: money(`${c}.refunds`, digits),
            netRevenue: money(`${c}.net_revenue`, digits),
            averageOrderValue: `(CASE WHEN ${c}.order_count = 0 THEN NULL ELSE ${money(`round(${c}.gross_revenue / ${c}.order_count, 2)`, digits)} END)`,
            firstPurchaseAt: ts(`${c}.first_purchase_at`),
            lastPurchaseAt: ts(`${c}.last_purchase_at`),
            lastInteractionAt: ts(`${c}.last_interaction_at`),
            channelsUsed: `to_json(${c}.channels)`,
            lastNpsScore: `${c}.last_nps_score`,
          }),
        ];
      case 'lifecycle':
        return [keyOf(f), leaves('Lifecycle', f.selectionSet, { stage: `${c}.stage`, since: ts(`${c}.stage_since`) })];
      default:
        return refuse();
    }
  });
  return object(pairs);
}

/** Customers in the answer that had identifiers in it (personal answers only): the ones an unmasked read is audited for. */
const withIdentifiers = () => `ident.list IS NOT NULL`;

let compiledCount = 0;

/**
 * `read` appending the audit row of its unmasked answer (when it names any customer), as
 * auditInsertSql would write it: the customers sorted, distinct, at most MAX_AUDIT_CUSTOMERS.
 * `n` is the read's parameter count; the row's own values follow (auditedValues).
 */
function auditedSql(read: string, n: number): string {
  const p = (i: number) => `$${n + i}`;
  return `WITH r AS (${read}),
    a AS (INSERT INTO audit (${AUDIT_COLUMNS})
          SELECT ${p(1)}::uuid, now(), ${p(2)}::uuid, ${p(3)}::varchar, '${AuditKind.PII_READ}', ${p(4)}::varchar, ${p(5)}::varchar,
                 ARRAY(SELECT DISTINCT u::uuid FROM unnest(r.ids) u ORDER BY 1 LIMIT ${MAX_AUDIT_CUSTOMERS}),
                 (SELECT count(DISTINCT u)::int FROM unnest(r.ids) u), '{}'::jsonb
            FROM r WHERE cardinality(r.ids) > 0)
    SELECT data, ids FROM r`;
}

/** The audit row's own values for a plan's `audited` statement, after the read's, in auditedSql's order. */
export function auditedValues(principal: Pick<Principal, 'id' | 'name'>, plan: CompiledRead): unknown[] {
  const { actor, operation, operationName } = auditText(piiReadEntry(principal, plan.rootField, plan.operationName, []));
  return [uuidv7(), principal.id, actor, operation, operationName];
}

/** The statement for the operation, or null when it is not one of the shapes compiled here. */
export function compileRead(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | null | undefined,
  settings: { defaultCurrency: string; region: CountryCode },
): CompiledRead | null {
  const { defaultCurrency, region } = settings;
  const operation: OperationDefinitionNode | null | undefined = getOperationAST(document, operationName ?? undefined);
  if (!operation || operation.operation !== 'query' || operation.directives?.length) return null;
  if (document.definitions.length !== 1) return null;
  if (operation.variableDefinitions?.some((v) => v.directives?.length)) return null;
  const b: Builder = { schema, identifiers: null, params: [], sizeParams: [], defaultCurrency, personal: false, masks: [] };
  try {
    const [root, ...rest] = fieldsOf(operation.selectionSet);
    if (rest.length || !root) return null;
    const { field } = typeOf(b, 'Query', root);
    const key = keyOf(root);
    let sql: string;
    if (root.name.value === 'customer') {
      const id = param(b, argument(field, root, 'id', (v) => typeof v === 'string' && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(v)), 'uuid');
      const data = customerObject(b, root.selectionSet, 'c', []);
      sql = `SELECT ${data}::text AS data, ${b.personal ? `(CASE WHEN ${withIdentifiers()} THEN ARRAY[c.id::text] ELSE '{}' END)` : `'{}'::text[]`} AS ids
               FROM customer t JOIN customer c ON c.id = coalesce(t.merged_into_id, t.id) ${b.identifiers ?? ''}
              WHERE t.id = ${id}`;
    } else if (root.name.value === 'customerByIdentifier') {
      const typeOfArg = argument(field, root, 'type', (v) => typeof v === 'string');
      const valueOfArg = argument(field, root, 'value', (v) => typeof v === 'string');
      const type = param(b, typeOfArg, 'varchar');
      // Looked up as the general path does: the value normalised for its type (a value that does
      // not normalise is the general path's to refuse).
      const value = param(
        b,
        (vars) => {
          const t = typeOfArg(vars);
          const v = valueOfArg(vars);
          if (!t.ok || !v.ok) return { ok: false };
          const normalized = normalizeIdentifier(t.value as IdentifierType, v.value as string, region);
          return normalized.ok ? { ok: true, value: normalized.value } : { ok: false };
        },
        'varchar',
      );
      const data = customerObject(b, root.selectionSet, 'c', []);
      sql = `SELECT ${data}::text AS data, ${b.personal ? `(CASE WHEN ${withIdentifiers()} THEN ARRAY[c.id::text] ELSE '{}' END)` : `'{}'::text[]`} AS ids
               FROM identifier i0 JOIN customer c ON c.id = i0.customer_id ${b.identifiers ?? ''}
              WHERE i0.type = ${type} AND i0.value = ${value}`;
    } else if (root.name.value === 'customers') {
      for (const a of root.arguments ?? []) if (a.name.value !== 'first') return null;
      const first = sizeParam(b, argument(field, root, 'first', (v) => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= MAX_PAGE));
      const connection = fieldsOf(root.selectionSet).map((f): [string, string] => {
        noArgs(f);
        if (f.name.value === '__typename') return [keyOf(f), `'CustomerConnection'`];
        if (f.name.value !== 'edges') refuse();
        const edge = fieldsOf(f.selectionSet).map((e): [string, string] => {
          noArgs(e);
          if (e.name.value === '__typename') return [keyOf(e), `'CustomerEdge'`];
          if (e.name.value !== 'node') refuse();
          return [keyOf(e), customerObject(b, e.selectionSet, 'c', [keyOf(f), keyOf(e)])];
        });
        return [keyOf(f), `coalesce(json_agg(${object(edge)}), '[]'::json)`];
      });
      sql = `SELECT ${object(connection)}::text AS data, ${b.personal ? `coalesce(array_agg(c.id::text) FILTER (WHERE ${withIdentifiers()}), '{}')` : `'{}'::text[]`} AS ids
               FROM (SELECT * FROM customer c WHERE c.merged_into_id IS NULL ORDER BY c.created_at DESC, c.id DESC LIMIT ${first}) c ${b.identifiers ?? ''}`;
    } else return null;
    compiledCount++;
    const name = `cg_read_${compiledCount}`;
    return {
      name,
      sql: sql.replace(/\s+/g, ' '),
      params: b.params,
      audited: b.personal ? { name: `${name}_audited`, sql: auditedSql(sql, b.params.length).replace(/\s+/g, ' ') } : null,
      sizeParams: b.sizeParams,
      responseKey: key,
      rootField: `Query.${root.name.value}`,
      operationName: operation.name?.value ?? null,
      personal: b.personal,
      masks: b.masks,
    };
  } catch (err) {
    if (err instanceof NotCompiled) return null;
    throw err;
  }
}
