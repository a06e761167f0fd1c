import { Arg, Authorized, Ctx, FieldResolver, Float, Info, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { GraphQLResolveInfo } from 'graphql';

import type DataLoader from 'dataloader';

import { Scope } from '../access/scope.enum';
import { auditScope } from '../audit/audit';
import { Customer } from '../customers/customer.entity';
import { checkFirst } from '../shared/connection';
import { InputError } from '../shared/errors';
import { MAX_FUTURE_MS } from '../shared/time';
import { expectedPurchases } from './bgnbd';
import { DEFAULT_CLV_MONTHS, DEFAULT_MONTHLY_DISCOUNT_RATE, explainPrediction, predictClv } from './clv';
import { RfmSegment } from './rfm';
import type { CustomerValueRecord, ValueModelRecord, ValueModelService } from './value-model.service';
import { CustomerPredictions, CustomerRfm, RfmDistribution, ValueModel } from './value.types';

/** What these resolvers read from an operation's context (src/graphql/context.ts builds it). */
export interface ValueContext {
  principal: { id: string; name: string };
  value: ValueModelService;
  loaders: { value: DataLoader<string, CustomerValueRecord | null> };
}

type PredictionRoot = CustomerPredictions & { record: CustomerValueRecord; model: ValueModelRecord };

function toValueModel(m: ValueModelRecord): ValueModel {
  const finite = (v: number) => (Number.isFinite(v) ? v : null);
  return {
    id: m.id,
    asOf: m.asOf,
    fittedAt: m.fittedAt,
    parameters: { r: m.params.r, alpha: m.params.alpha, a: m.params.a, b: m.params.b, p: finite(m.params.p), q: finite(m.params.q), gamma: finite(m.params.gamma) },
    logLikelihood: m.logLikelihood,
    spendLogLikelihood: m.spendLogLikelihood,
    customersFitted: m.customersFitted,
    spendCustomersFitted: m.spendCustomersFitted,
    converged: m.converged,
    fitMs: m.fitMs,
  };
}

function checkAsOf(asOf: Date | null): Date {
  const now = Date.now();
  if (!asOf) return new Date(now);
  if (asOf.getTime() > now + MAX_FUTURE_MS) throw new InputError([{ field: 'asOf', message: 'must not be more than 1 day in the future' }]);
  return asOf;
}

// Value adds these to Customer: customers/ knows nothing of it.
@Resolver(() => Customer)
export class CustomerValueResolver {
  @FieldResolver(() => CustomerRfm, { nullable: true, description: 'RFM scores as of the latest value model (refitValueModel); null for customers without a purchase then.' })
  async rfm(@Root() c: Customer, @Ctx() ctx: ValueContext): Promise<CustomerRfm | null> {
    const v = await ctx.loaders.value.load(c.id);
    return v && { recency: v.r, frequency: v.f, monetary: v.m, cell: v.cell, segment: v.segment, asOf: v.asOf, recencyDays: v.recencyDays, orderCount: v.orderCount, netRevenue: v.netRevenue };
  }

  @FieldResolver(() => CustomerPredictions, { nullable: true, description: 'Predictions of the latest value model; null for customers without a purchase as of its instant.' })
  async predictions(@Root() c: Customer, @Ctx() ctx: ValueContext): Promise<PredictionRoot | null> {
    const record = await ctx.loaders.value.load(c.id);
    if (!record) return null;
    const model = await ctx.value.model(record.modelId);
    if (!model) return null;
    return Object.assign(new CustomerPredictions(), {
      asOf: record.asOf,
      modelId: record.modelId,
      pAlive: record.pAlive,
      repeatPurchases: record.x,
      explanation: explainPrediction(model.params, record),
      record,
      model,
    });
  }
}

@Resolver(() => CustomerPredictions)
export class CustomerPredictionsResolver {
  @FieldResolver(() => Float, { description: 'Purchases (distinct days) expected in the `days` after asOf (default 90, at most 3650).' })
  expectedPurchases(@Root() p: PredictionRoot, @Arg('days', () => Int, { defaultValue: 90 }) days: number): number {
    if (!Number.isInteger(days) || days < 1 || days > 3650) throw new InputError([{ field: 'days', message: `must be from 1 to 3650, got ${days}` }]);
    return expectedPurchases(p.model.params, p.record, days / 7);
  }

  @FieldResolver(() => Float, {
    nullable: true,
    description: `Spend expected over the next \`months\` (default ${DEFAULT_CLV_MONTHS}, at most 120), each month discounted at \`monthlyDiscountRate\` (default ${DEFAULT_MONTHLY_DISCOUNT_RATE}). Null when the model has no spend fit.`,
  })
  predictedClv(
    @Root() p: PredictionRoot,
    @Arg('months', () => Int, { defaultValue: DEFAULT_CLV_MONTHS }) months: number,
    @Arg('monthlyDiscountRate', () => Float, { defaultValue: DEFAULT_MONTHLY_DISCOUNT_RATE }) rate: number,
  ): number | null {
    if (!Number.isInteger(months) || months < 1 || months > 120) throw new InputError([{ field: 'months', message: `must be from 1 to 120, got ${months}` }]);
    if (!(rate >= 0 && rate < 1)) throw new InputError([{ field: 'monthlyDiscountRate', message: `must be at least 0 and below 1, got ${rate}` }]);
    if (!Number.isFinite(p.model.params.p)) return null;
    return predictClv(p.model.params, p.model.params, p.record, { months, monthlyDiscountRate: rate }).clv;
  }
}

@Resolver()
export class ValueResolver {
  @Authorized(Scope.READ)
  @Query(() => ValueModel, { nullable: true, description: 'The latest fit of the value model; null before the first (refitValueModel).' })
  async valueModel(@Ctx() ctx: ValueContext): Promise<ValueModel | null> {
    const m = await ctx.value.current();
    return m && toValueModel(m);
  }

  @Authorized(Scope.READ)
  @Query(() => [ValueModel], { description: 'Every fit kept, newest first. `first` at most 100.' })
  async valueModels(@Arg('first', () => Int, { defaultValue: 20 }) first: number, @Ctx() ctx: ValueContext): Promise<ValueModel[]> {
    checkFirst(first, 100, 'first');
    return (await ctx.value.versions(first)).map(toValueModel);
  }

  @Authorized(Scope.READ)
  @Query(() => RfmDistribution, { description: 'RFM scores of every customer with a purchase as of `asOf` (default now), computed from the interactions: quintile boundaries and customers per named segment.' })
  async rfmDistribution(@Arg('asOf', () => Date, { nullable: true }) asOf: Date | null, @Ctx() ctx: ValueContext): Promise<RfmDistribution> {
    const at = checkAsOf(asOf);
    const { scores, boundaries } = await ctx.value.rfm(at);
    const counts = new Map<RfmSegment, number>(Object.values(RfmSegment).map((s) => [s, 0]));
    for (const s of scores.values()) counts.set(s.segment, counts.get(s.segment)! + 1);
    const n = scores.size;
    const ranges = (list: typeof boundaries.orders) => list.flatMap((b) => (b ? [b] : []));
    return {
      asOf: at,
      customers: n,
      boundaries: { recencyDays: ranges(boundaries.recencyDays), orderCount: ranges(boundaries.orders), netRevenue: ranges(boundaries.monetary) },
      segments: [...counts].map(([segment, customers]) => ({ segment, customers, share: n ? customers / n : 0 })).sort((a, b) => b.customers - a.customers || a.segment.localeCompare(b.segment)),
    };
  }

  @Authorized(Scope.ADMIN)
  @Mutation(() => ValueModel, {
    description:
      'Fits the value model on every customer\'s purchases up to `asOf` (default now): BG/NBD by maximum likelihood (repeat purchases per distinct day, time in weeks, T from the first purchase to asOf) and Gamma-Gamma on the customers with a repeat purchase; scores RFM; stores it as a new version and the values of every customer, and re-evaluates the segments that read them.',
  })
  async refitValueModel(@Arg('asOf', () => Date, { nullable: true }) asOf: Date | null, @Ctx() ctx: ValueContext, @Info() info: GraphQLResolveInfo): Promise<ValueModel> {
    const { model } = await ctx.value.refit(checkAsOf(asOf), auditScope(ctx.principal, info));
    return toValueModel(model);
  }
}
