import type { DataSource } from 'typeorm';

import { sqlParams } from '../../db/params';
import { hash53, type Queryable } from '../../db/tx';
import { uuidv7 } from '../../db/uuid';
import { auditInsertSql, type AuditScope } from '../audit/audit';
import { AuditKind } from '../audit/audit.types';
import { ConflictError } from '../shared/errors';
import { fitBgnbdSteps, pAlive, type BgnbdParams } from './bgnbd';
import { predictClv } from './clv';
import { fitGammaGammaSteps, type GammaGammaParams } from './gamma-gamma';
import { scoreRfm, type RfmBoundaries, type RfmInput, type RfmSegment } from './rfm';
import { completeInSlices, mapInSteps } from './steps';
import { DAY_MS, summarizePurchases, type CustomerSummary, type PurchaseEvent } from './summary';

export interface ValueModelRecord {
  id: string;
  asOf: Date;
  fittedAt: Date;
  params: BgnbdParams & GammaGammaParams;
  logLikelihood: number;
  spendLogLikelihood: number | null;
  customersFitted: number;
  spendCustomersFitted: number;
  converged: boolean;
  fitMs: number;
  rfmBoundaries: RfmBoundaries;
}

/** What is stored per customer as of a model's instant. */
export interface CustomerValueRecord {
  customerId: string;
  modelId: string;
  asOf: Date;
  recencyDays: number;
  orderCount: number;
  netRevenue: string;
  r: number;
  f: number;
  m: number;
  cell: string;
  segment: RfmSegment;
  x: number;
  tx: number;
  T: number;
  mbar: number;
  pAlive: number;
  clv: number;
}

type Row = Record<string, any>;

function toModel(row: Row): ValueModelRecord {
  return {
    id: row.id,
    asOf: row.as_of,
    fittedAt: row.fitted_at,
    params: row.params,
    logLikelihood: row.log_likelihood,
    spendLogLikelihood: row.spend_log_likelihood,
    customersFitted: row.customers_fitted,
    spendCustomersFitted: row.spend_customers_fitted,
    converged: row.converged,
    fitMs: row.fit_ms,
    rfmBoundaries: row.rfm_boundaries,
  };
}

function toValue(row: Row): CustomerValueRecord {
  return {
    customerId: row.customer_id,
    modelId: row.model_id,
    asOf: row.as_of,
    recencyDays: row.recency_days,
    orderCount: row.order_count,
    netRevenue: row.net_revenue,
    r: row.r,
    f: row.f,
    m: row.m,
    cell: row.cell.trim(),
    segment: row.segment,
    x: row.x,
    tx: row.tx,
    T: row.t,
    mbar: row.mbar,
    pAlive: row.p_alive,
    clv: row.clv,
  };
}

/** Purchase history as of an instant: per-day purchase events for the models, and the RFM inputs. */
export interface PurchaseHistory {
  events: PurchaseEvent[];
  /** With the exact net revenue (numeric text) beside the number RFM ranks on. */
  rfm: Array<RfmInput & { net: string }>;
}

/**
 * Reads every live customer's purchases and refunds up to `asOf`, summed per customer and UTC day
 * (the models count purchases per day; the day's sum is its spend), in one aggregate.
 */
export async function readPurchaseHistory(db: Queryable, asOf: Date): Promise<PurchaseHistory> {
  const rows: Array<{ id: string; day: number; orders: number; spent: number; last_ms: number | null; net: string }> = await db.query(
    `SELECT i.customer_id AS id,
            (extract(epoch FROM date_trunc('day', i.occurred_at AT TIME ZONE 'UTC')) * 1000)::float8 AS day,
            count(*) FILTER (WHERE i.type = 'PURCHASE')::int AS orders,
            coalesce(sum(i.amount) FILTER (WHERE i.type = 'PURCHASE'), 0)::float8 AS spent,
            (extract(epoch FROM max(i.occurred_at) FILTER (WHERE i.type = 'PURCHASE')) * 1000)::float8 AS last_ms,
            sum(coalesce(sum(i.amount) FILTER (WHERE i.type = 'PURCHASE'), 0) - coalesce(sum(i.amount) FILTER (WHERE i.type = 'REFUND'), 0))
              OVER (PARTITION BY i.customer_id)::text AS net
       FROM interaction i JOIN customer c ON c.id = i.customer_id AND c.merged_into_id IS NULL
      WHERE i.type IN ('PURCHASE', 'REFUND') AND i.occurred_at <= $1
      GROUP BY 1, 2`,
    [asOf],
  );
  const events: PurchaseEvent[] = [];
  const people = new Map<string, { orders: number; last: number; net: string }>();
  for (const row of rows) {
    if (row.orders === 0) continue;
    // The day's spend, at the day's last purchase: same day, same summary.
    events.push({ customerId: row.id, at: row.last_ms!, amount: row.spent });
    const p = people.get(row.id);
    if (!p) people.set(row.id, { orders: row.orders, last: row.last_ms!, net: row.net });
    else {
      p.orders += row.orders;
      p.last = Math.max(p.last, row.last_ms!);
    }
  }
  const rfm = [...people].map(([customerId, p]) => ({ customerId, recencyDays: (asOf.getTime() - p.last) / DAY_MS, orders: p.orders, monetary: Number(p.net), net: p.net }));
  return { events, rfm };
}

/**
 * Customer value as of an instant: RFM scores, and predictions from a BG/NBD model of repeat
 * purchasing and a Gamma-Gamma model of spend, fitted by maximum likelihood on every customer's
 * purchases up to that instant. Each fit is kept (a model version); the values of the latest
 * fit are stored per customer, for reads and segments.
 */
export class ValueModelService {
  private latest: { model: ValueModelRecord | null; until: number } | null = null;
  private readonly models = new Map<string, ValueModelRecord>();
  /** The refit running on this instance, if any (the next one starts after it). */
  private refitting: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly dataSource: DataSource,
    /** Where the whole-base read runs: the analytics pool. */
    private readonly analytics: DataSource = dataSource,
    /** Told after each refit: segments reading the stored values are evaluated again. */
    private readonly refitted: () => Promise<unknown> = async () => undefined,
  ) {}

  /** RFM of every customer with a purchase as of `asOf`, computed now (nothing stored). */
  async rfm(asOf: Date): Promise<ReturnType<typeof scoreRfm> & { inputs: RfmInput[] }> {
    const { rfm } = await readPurchaseHistory(this.analytics, asOf);
    return { ...scoreRfm(rfm), inputs: rfm };
  }

  /**
   * Fits both models on the purchases up to `asOf`, scores RFM, and stores the model and every
   * customer's values (replacing those of the previous fit) in one transaction.
   */
  async refit(asOf: Date, audit: AuditScope | null): Promise<{ model: ValueModelRecord; customers: string[] }> {
    // One fit at a time per instance: each takes a core's worth of slices until it is done.
    const turn = this.refitting.then(() => this.fit(asOf, audit));
    this.refitting = turn.catch(() => undefined);
    return turn;
  }

  /**
   * The fit and the scoring run in slices of ~10 ms (completeInSlices): a degenerate base can take
   * the optimizer's whole budget, and a large one seconds, and the server keeps answering meanwhile.
   */
  private async fit(asOf: Date, audit: AuditScope | null): Promise<{ model: ValueModelRecord; customers: string[] }> {
    const history = await readPurchaseHistory(this.analytics, asOf);
    const started = process.hrtime.bigint();
    const summaries = summarizePurchases(history.events, asOf.getTime());
    if (summaries.length < 3) throw new ConflictError(`A value model needs purchases of at least 3 customers up to ${asOf.toISOString()}; there are ${summaries.length}.`);
    const bg = await completeInSlices(fitBgnbdSteps(summaries));
    const spenders = summaries.filter((s) => s.x > 0 && s.mbar > 0);
    const gg = spenders.length >= 3 ? await completeInSlices(fitGammaGammaSteps(spenders)) : null;
    const fitMs = Number((process.hrtime.bigint() - started) / 1_000_000n);
    const { scores, boundaries } = scoreRfm(history.rfm);
    const model: ValueModelRecord = {
      id: uuidv7(),
      asOf,
      fittedAt: new Date(),
      params: { ...bg.params, ...(gg?.params ?? { p: NaN, q: NaN, gamma: NaN }) },
      logLikelihood: bg.logLikelihood,
      spendLogLikelihood: gg?.logLikelihood ?? null,
      customersFitted: bg.customers,
      spendCustomersFitted: gg?.customers ?? 0,
      converged: bg.converged && (gg?.converged ?? true),
      fitMs,
      rfmBoundaries: boundaries,
    };
    const bySummary = new Map(summaries.map((s) => [s.customerId, s]));
    const values = await completeInSlices(
      mapInSteps(history.rfm, (c): CustomerValueRecord => {
        const s = bySummary.get(c.customerId)!;
        const score = scores.get(c.customerId)!;
        return {
          customerId: c.customerId,
          modelId: model.id,
          asOf,
          recencyDays: c.recencyDays,
          orderCount: c.orders,
          netRevenue: c.net,
          ...score,
          x: s.x,
          tx: s.tx,
          T: s.T,
          mbar: s.mbar,
          pAlive: pAlive(bg.params, s),
          clv: gg ? predictClv(bg.params, gg.params, s).clv : 0,
        };
      }),
    );
    await this.store(model, values, audit);
    this.latest = { model, until: Date.now() + 5000 };
    this.models.set(model.id, model);
    await this.refitted();
    return { model, customers: values.map((v) => v.customerId) };
  }

  private async store(model: ValueModelRecord, values: CustomerValueRecord[], audit: AuditScope | null): Promise<void> {
    await this.dataSource.transaction(async (m) => {
      // One refit at a time replaces the stored values (a second one waits, then replaces them again).
      await m.query(`SELECT pg_advisory_xact_lock(${hash53('customer_value refit')})`);
      const { params, param } = sqlParams();
      const parts = [
        `model AS (INSERT INTO value_model (id, as_of, fitted_at, params, log_likelihood, spend_log_likelihood, customers_fitted, spend_customers_fitted, converged, fit_ms, rfm_boundaries)
           VALUES (${param(model.id)}, ${param(model.asOf)}, ${param(model.fittedAt)}, ${param(JSON.stringify(model.params), 'jsonb')}, ${param(model.logLikelihood)},
                   ${param(model.spendLogLikelihood)}::float8, ${param(model.customersFitted)}, ${param(model.spendCustomersFitted)}, ${param(model.converged)},
                   ${param(model.fitMs)}, ${param(JSON.stringify(model.rfmBoundaries), 'jsonb')}))`,
        ...(audit ? auditInsertSql([{ ...audit, kind: AuditKind.MUTATION, customerIds: [], details: { modelId: model.id, asOf: model.asOf.toISOString(), customers: values.length } }], param) : []),
      ];
      await m.query(`WITH ${parts.join(',\n')} SELECT 1`, params);
      await m.query(`DELETE FROM customer_value`);
      for (let i = 0; i < values.length; i += 5000) await this.insertValues(m, values.slice(i, i + 5000));
    });
  }

  private async insertValues(db: Queryable, vs: CustomerValueRecord[]): Promise<void> {
    const { params, param } = sqlParams();
    const col = <T>(pick: (v: CustomerValueRecord) => T, cast: string) => param(vs.map(pick), cast);
    await db.query(
      `INSERT INTO customer_value (customer_id, model_id, as_of, recency_days, order_count, net_revenue, r, f, m, cell, segment, x, tx, t, mbar, p_alive, clv)
       SELECT * FROM unnest(${col((v) => v.customerId, 'uuid[]')}, ${col((v) => v.modelId, 'uuid[]')}, ${col((v) => v.asOf, 'timestamptz[]')},
                            ${col((v) => v.recencyDays, 'float8[]')}, ${col((v) => v.orderCount, 'int[]')}, ${col((v) => v.netRevenue, 'numeric[]')},
                            ${col((v) => v.r, 'smallint[]')}, ${col((v) => v.f, 'smallint[]')}, ${col((v) => v.m, 'smallint[]')}, ${col((v) => v.cell, 'char(3)[]')},
                            ${col((v) => v.segment, 'varchar[]')}, ${col((v) => v.x, 'int[]')}, ${col((v) => v.tx, 'float8[]')}, ${col((v) => v.T, 'float8[]')},
                            ${col((v) => v.mbar, 'float8[]')}, ${col((v) => v.pAlive, 'float8[]')}, ${col((v) => v.clv, 'float8[]')})`,
      params,
    );
  }

  /** The latest fit, or null before the first one (cached for a few seconds). */
  async current(): Promise<ValueModelRecord | null> {
    if (this.latest && this.latest.until > Date.now()) return this.latest.model;
    const [row] = await this.dataSource.query(`SELECT * FROM value_model ORDER BY fitted_at DESC, id DESC LIMIT 1`);
    const model = row ? toModel(row) : null;
    this.latest = { model, until: Date.now() + 5000 };
    return model;
  }

  /** A fitted model by id (models never change once stored). */
  async model(id: string): Promise<ValueModelRecord | null> {
    const known = this.models.get(id);
    if (known) return known;
    const [row] = await this.dataSource.query(`SELECT * FROM value_model WHERE id = $1`, [id]);
    if (!row) return null;
    const model = toModel(row);
    if (this.models.size > 100) this.models.clear();
    this.models.set(id, model);
    return model;
  }

  /** Every version, newest first. */
  async versions(first: number): Promise<ValueModelRecord[]> {
    const rows: Row[] = await this.dataSource.query(`SELECT * FROM value_model ORDER BY fitted_at DESC, id DESC LIMIT $1`, [first]);
    return rows.map(toModel);
  }

  /** The stored values of these customers (ids of merged customers answer for their survivor). */
  async valuesOf(customerIds: readonly string[]): Promise<Map<string, CustomerValueRecord>> {
    const rows: Row[] = await this.dataSource.query(
      `SELECT asked.id AS asked_id, v.* FROM unnest($1::uuid[]) AS asked(id)
         JOIN customer t ON t.id = asked.id
         JOIN customer_value v ON v.customer_id = coalesce(t.merged_into_id, t.id)`,
      [customerIds],
    );
    return new Map(rows.map((r) => [r.asked_id, toValue(r)]));
  }
}

export type { CustomerSummary };
