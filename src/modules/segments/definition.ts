import type { Param } from '../../db/params';
import { Channel } from '../shared/channel.enum';
import { ConsentStatus } from '../shared/consent-status.enum';
import { fieldPath, type InputProblem } from '../shared/errors';
import { IdentifierType } from '../shared/identifier-type.enum';
import { LifecycleStage } from '../shared/lifecycle-stage.enum';
import { RfmSegment } from '../value/rfm';
import type { SegmentDefinitionInput } from './segment.types';

/** A definition as stored: only the conditions given, dates as ISO strings, amounts as decimal text. */
export type Definition = {
  stages?: string[];
  minOrderCount?: number;
  maxOrderCount?: number;
  minNetRevenue?: string;
  maxNetRevenue?: string;
  rfmSegments?: string[];
  rfmCells?: string[];
  minPAlive?: number;
  maxPAlive?: number;
  minPredictedClv?: number;
  maxPredictedClv?: number;
  channels?: string[];
  identifierTypes?: string[];
  traits?: Array<{ key: string; equals?: unknown; min?: number; max?: number; exists?: boolean }>;
  lastInteractionAfter?: string;
  lastInteractionBefore?: string;
  lastPurchaseAfter?: string;
  lastPurchaseBefore?: string;
  openJourney?: boolean;
  abandonedJourney?: boolean;
  consent?: { purpose: string; status: string };
};

const TRAIT_KEY = /^[A-Za-z0-9_.\-]{1,64}$/;
const MAX_LIST = 50;

/** Conditions that read the value model's stored figures: a refit re-evaluates segments using them. */
export const VALUE_CONDITIONS = ['rfmSegments', 'rfmCells', 'minPAlive', 'maxPAlive', 'minPredictedClv', 'maxPredictedClv'] as const;

export const readsValue = (d: Definition) => VALUE_CONDITIONS.some((k) => d[k] !== undefined);

/**
 * Checks a definition and returns it as stored, or pushes every problem under `base`
 * (`definition.traits[0].key`). At least one condition; ranges the right way round; known
 * enum values, purposes and cells; JSON values of traits small.
 */
export function checkDefinition(input: SegmentDefinitionInput, purposes: readonly string[], base: string, problems: InputProblem[]): Definition {
  const at = (...parts: Array<string | number>) => fieldPath(base, ...parts);
  const out: Definition = {};
  const list = <T extends string>(name: keyof SegmentDefinitionInput, values: T[] | null | undefined, known: ReadonlySet<string>, what: string) => {
    if (values == null) return undefined;
    if (values.length === 0 || values.length > MAX_LIST) {
      problems.push({ field: at(name), message: `must list 1 to ${MAX_LIST} ${what}` });
      return undefined;
    }
    values.forEach((v, i) => {
      if (!known.has(v)) problems.push({ field: at(name, i), message: `unknown ${what.replace(/s$/, '')} "${String(v).slice(0, 40)}"` });
    });
    return [...new Set(values)].sort();
  };
  const range = (lo: keyof SegmentDefinitionInput, hi: keyof SegmentDefinitionInput, check: (v: number) => string | null) => {
    const a = input[lo] as number | null | undefined;
    const b = input[hi] as number | null | undefined;
    for (const [name, v] of [[lo, a], [hi, b]] as const) {
      if (v == null) continue;
      const bad = Number.isFinite(v) ? check(v) : 'must be a finite number';
      if (bad) problems.push({ field: at(name), message: bad });
      else (out as Record<string, unknown>)[name] = v;
    }
    if (a != null && b != null && a > b) problems.push({ field: at(hi), message: `must not be below ${String(lo)}` });
  };
  const instant = (name: 'lastInteractionAfter' | 'lastInteractionBefore' | 'lastPurchaseAfter' | 'lastPurchaseBefore') => {
    const v = input[name];
    if (v == null) return;
    if (!(v instanceof Date) || Number.isNaN(v.getTime())) problems.push({ field: at(name), message: 'must be an ISO 8601 date-time' });
    else out[name] = v.toISOString();
  };

  out.stages = list('stages', input.stages, new Set(Object.values(LifecycleStage)), 'stages');
  range('minOrderCount', 'maxOrderCount', (v) => (Number.isInteger(v) && v >= 0 ? null : 'must be a whole number, 0 or more'));
  for (const name of ['minNetRevenue', 'maxNetRevenue'] as const) {
    const v = input[name];
    if (v == null) continue;
    const text = String(v).trim();
    if (!/^-?\d{1,26}(\.\d{1,4})?$/.test(text)) problems.push({ field: at(name), message: 'must be a decimal amount' });
    else out[name] = text;
  }
  if (out.minNetRevenue && out.maxNetRevenue && Number(out.minNetRevenue) > Number(out.maxNetRevenue)) problems.push({ field: at('maxNetRevenue'), message: 'must not be below minNetRevenue' });
  out.rfmSegments = list('rfmSegments', input.rfmSegments, new Set(Object.values(RfmSegment)), 'RFM segments');
  if (input.rfmCells != null) {
    if (input.rfmCells.length === 0 || input.rfmCells.length > 125) problems.push({ field: at('rfmCells'), message: 'must list 1 to 125 cells' });
    input.rfmCells.forEach((c, i) => {
      if (!/^[1-5]{3}$/.test(c)) problems.push({ field: at('rfmCells', i), message: `"${String(c).slice(0, 10)}" is not a cell: three scores 1–5, e.g. "545"` });
    });
    out.rfmCells = [...new Set(input.rfmCells)].sort();
  }
  range('minPAlive', 'maxPAlive', (v) => (v >= 0 && v <= 1 ? null : 'must be a probability from 0 to 1'));
  range('minPredictedClv', 'maxPredictedClv', (v) => (v >= 0 ? null : 'must not be negative'));
  out.channels = list('channels', input.channels, new Set(Object.values(Channel)), 'channels');
  out.identifierTypes = list('identifierTypes', input.identifierTypes, new Set(Object.values(IdentifierType)), 'identifier types');
  if (input.traits != null) {
    if (input.traits.length === 0 || input.traits.length > 20) problems.push({ field: at('traits'), message: 'must list 1 to 20 trait conditions' });
    out.traits = input.traits.map((t, i) => {
      const here = (f: string) => at('traits', i, f);
      if (typeof t.key !== 'string' || !TRAIT_KEY.test(t.key)) problems.push({ field: here('key'), message: 'must be 1 to 64 letters, digits, `_`, `.` or `-`' });
      const given = (['equals', 'min', 'max', 'exists'] as const).filter((k) => t[k] != null);
      if (given.length === 0) problems.push({ field: fieldPath(base, 'traits', i), message: 'give equals, min/max or exists' });
      if (t.equals != null && JSON.stringify(t.equals).length > 1024) problems.push({ field: here('equals'), message: 'must be at most 1 KB as JSON' });
      if (t.exists != null && given.length > 1) problems.push({ field: here('exists'), message: 'cannot be combined with equals, min or max' });
      for (const k of ['min', 'max'] as const) if (t[k] != null && !Number.isFinite(t[k])) problems.push({ field: here(k), message: 'must be a finite number' });
      if (t.min != null && t.max != null && t.min > t.max) problems.push({ field: here('max'), message: 'must not be below min' });
      return { key: t.key, ...(t.equals != null ? { equals: t.equals } : {}), ...(t.min != null ? { min: t.min } : {}), ...(t.max != null ? { max: t.max } : {}), ...(t.exists != null ? { exists: t.exists } : {}) };
    });
  }
  instant('lastInteractionAfter');
  instant('lastInteractionBefore');
  instant('lastPurchaseAfter');
  instant('lastPurchaseBefore');
  if (input.openJourney != null) out.openJourney = input.openJourney;
  if (input.abandonedJourney != null) out.abandonedJourney = input.abandonedJourney;
  if (input.consent != null) {
    const purpose = String(input.consent.purpose).trim().toUpperCase();
    if (!purposes.includes(purpose)) problems.push({ field: at('consent', 'purpose'), message: `unknown consent purpose "${String(input.consent.purpose).slice(0, 64)}" (known: ${purposes.join(', ')})` });
    if (!Object.values(ConsentStatus).includes(input.consent.status)) problems.push({ field: at('consent', 'status'), message: 'unknown consent status' });
    out.consent = { purpose, status: input.consent.status };
  }
  for (const k of Object.keys(out) as Array<keyof Definition>) if (out[k] === undefined) delete out[k];
  if (Object.keys(out).length === 0 && problems.length === 0) problems.push({ field: base, message: 'give at least one condition' });
  return out;
}

/**
 * The definition as a SQL condition on `c` (customer) and `v` (its customer_value row, LEFT
 * JOINed): the one place where what a member is becomes SQL, for the per-write refresh and the
 * background evaluation alike.
 */
export function definitionSql(d: Definition, param: Param): string {
  const and: string[] = [];
  if (d.stages) and.push(`c.stage = ANY(${param(d.stages, 'varchar[]')})`);
  if (d.minOrderCount !== undefined) and.push(`c.order_count >= ${param(d.minOrderCount, 'int')}`);
  if (d.maxOrderCount !== undefined) and.push(`c.order_count <= ${param(d.maxOrderCount, 'int')}`);
  if (d.minNetRevenue !== undefined) and.push(`c.net_revenue >= ${param(d.minNetRevenue, 'numeric')}`);
  if (d.maxNetRevenue !== undefined) and.push(`c.net_revenue <= ${param(d.maxNetRevenue, 'numeric')}`);
  if (d.rfmSegments) and.push(`v.segment = ANY(${param(d.rfmSegments, 'varchar[]')})`);
  if (d.rfmCells) and.push(`v.cell = ANY(${param(d.rfmCells, 'bpchar[]')})`);
  if (d.minPAlive !== undefined) and.push(`v.p_alive >= ${param(d.minPAlive, 'float8')}`);
  if (d.maxPAlive !== undefined) and.push(`v.p_alive <= ${param(d.maxPAlive, 'float8')}`);
  if (d.minPredictedClv !== undefined) and.push(`v.clv >= ${param(d.minPredictedClv, 'float8')}`);
  if (d.maxPredictedClv !== undefined) and.push(`v.clv <= ${param(d.maxPredictedClv, 'float8')}`);
  if (d.channels) and.push(`c.channels && ${param(d.channels, 'varchar[]')}`);
  if (d.identifierTypes) and.push(`EXISTS (SELECT 1 FROM identifier i WHERE i.customer_id = c.id AND i.type = ANY(${param(d.identifierTypes, 'varchar[]')}))`);
  for (const t of d.traits ?? []) {
    const key = param(t.key, 'text');
    if (t.exists !== undefined) and.push(`${t.exists ? '' : 'NOT '}(c.traits ? ${key})`);
    if (t.equals !== undefined) and.push(`c.traits -> ${key} = ${param(JSON.stringify(t.equals), 'jsonb')}`);
    if (t.min !== undefined || t.max !== undefined) {
      const number = `(CASE WHEN jsonb_typeof(c.traits -> ${key}) = 'number' THEN (c.traits ->> ${key})::numeric END)`;
      if (t.min !== undefined) and.push(`${number} >= ${param(t.min, 'numeric')}`);
      if (t.max !== undefined) and.push(`${number} <= ${param(t.max, 'numeric')}`);
    }
  }
  if (d.lastInteractionAfter) and.push(`c.last_interaction_at >= ${param(d.lastInteractionAfter, 'timestamptz')}`);
  if (d.lastInteractionBefore) and.push(`c.last_interaction_at < ${param(d.lastInteractionBefore, 'timestamptz')}`);
  if (d.lastPurchaseAfter) and.push(`c.last_purchase_at >= ${param(d.lastPurchaseAfter, 'timestamptz')}`);
  if (d.lastPurchaseBefore) and.push(`c.last_purchase_at < ${param(d.lastPurchaseBefore, 'timestamptz')}`);
  if (d.openJourney !== undefined) and.push(`${d.openJourney ? '' : 'NOT '}EXISTS (SELECT 1 FROM journey j WHERE j.customer_id = c.id AND j.status = 'OPEN')`);
  if (d.abandonedJourney !== undefined) {
    and.push(`${d.abandonedJourney ? '' : 'NOT '}EXISTS (SELECT 1 FROM (SELECT j.status FROM journey j WHERE j.customer_id = c.id ORDER BY j.started_at DESC LIMIT 1) l WHERE l.status = 'ABANDONED')`);
  }
  if (d.consent) {
    const { purpose, status } = d.consent;
    and.push(
      status === ConsentStatus.UNKNOWN
        ? `NOT EXISTS (SELECT 1 FROM consent_state s WHERE s.customer_id = c.id AND s.purpose = ${param(purpose)} AND s.status <> 'UNKNOWN')`
        : `EXISTS (SELECT 1 FROM consent_state s WHERE s.customer_id = c.id AND s.purpose = ${param(purpose)} AND s.status = ${param(status)})`,
    );
  }
  return and.length ? and.join(' AND ') : 'true';
}
