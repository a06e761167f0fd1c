import { Arg, Authorized, Ctx, FieldResolver, Info, Int, Mutation, ObjectType, Query, Resolver, Root } from 'type-graphql';
import type { GraphQLResolveInfo } from 'graphql';

import type DataLoader from 'dataloader';

import { checkFirst, type ConnectionShape } from '../shared/connection';
import { Connection } from '../shared/connection.type';
import { InputError } from '../shared/errors';
import { Scope } from '../access/scope.enum';
import { auditScope, type AuditService } from '../audit/audit';
import { AuditKind } from '../audit/audit.types';
import { Customer } from '../customers/customer.entity';
import { formatMoney, toUnits } from '../shared/money';
import { MAX_FUTURE_MS } from '../shared/time';
import { LifecycleStage } from './lifecycle-stage.enum';
import { LifecycleTransition } from './lifecycle-transition.entity';
import { CustomerMetrics, Lifecycle, LifecycleDistribution, LifecycleEvaluation, StageFlow, type StageCount } from './lifecycle.types';
import type { LifecycleService } from './lifecycle.service';
import { explain } from './rules';

/** What these resolvers read from an operation's context (src/graphql/context.ts builds it). */
export interface LifecycleContext {
  config: { defaultCurrency: string };
  principal: { id: string; name: string };
  audit: AuditService;
  lifecycle: LifecycleService;
  loaders: { transitions: DataLoader<string, LifecycleTransition[]> };
}

const STAGES = Object.values(LifecycleStage);

function allStages(counts: Map<string, number>): StageCount[] {
  return STAGES.map((stage) => ({ stage, count: counts.get(stage) ?? 0 }));
}

function averageOrderValue(gross: string, orders: number, currency: string): string | null {
  if (orders === 0) return null;
  // Exact: ten-thousandths divided, rounded half up to the cent.
  const units = toUnits(gross);
  const cents = (units * 2n + BigInt(orders) * 100n) / (BigInt(orders) * 200n);
  return formatMoney(`${cents / 100n}.${(cents % 100n).toString().padStart(2, '0')}`, currency);
}

function checkAsOf(asOf: Date | null | undefined): Date {
  const now = Date.now();
  if (!asOf) return new Date(now);
  if (asOf.getTime() > now + MAX_FUTURE_MS) {
    throw new InputError([{ field: 'asOf', message: `must not be more than 1 day in the future: the lifecycle is not a forecast (server time ${new Date(now).toISOString()})` }]);
  }
  return asOf;
}

@ObjectType()
export class LifecycleTransitionConnection extends Connection(LifecycleTransition, 'LifecycleTransition') {}

function checkPeriod(from: Date | null, to: Date | null): void {
  if (from && to && from.getTime() > to.getTime()) throw new InputError([{ field: 'to', message: 'must not be before `from`' }]);
}

@Resolver(() => Customer)
export class CustomerLifecycleResolver {
  @FieldResolver(() => CustomerMetrics)
  metrics(@Root() c: Customer, @Ctx() ctx: LifecycleContext): CustomerMetrics {
    // Amounts are summed as they come: the metrics are in the deployment's currency.
    const currency = ctx.config.defaultCurrency;
    return {
      orderCount: c.orderCount,
      grossRevenue: formatMoney(c.grossRevenue, currency),
      refunds: formatMoney(c.refunds, currency),
      netRevenue: formatMoney(c.netRevenue, currency),
      averageOrderValue: averageOrderValue(c.grossRevenue, c.orderCount, currency),
      firstPurchaseAt: c.firstPurchaseAt,
      lastPurchaseAt: c.lastPurchaseAt,
      lastInteractionAt: c.lastInteractionAt,
      channelsUsed: c.channels,
      lastNpsScore: c.lastNpsScore,
    };
  }

  @FieldResolver(() => Lifecycle)
  async lifecycle(@Root() c: Customer, @Ctx() ctx: LifecycleContext): Promise<Lifecycle> {
    const history = await ctx.loaders.transitions.load(c.id);
    const current = history[history.length - 1];
    return {
      stage: c.stage,
      since: c.stageSince,
      evaluatedAt: c.evaluatedAt,
      nextChangeAt: c.nextEvaluationAt,
      history,
      explanation: current ? explain(current) : `${c.stage}: no interaction yet`,
    };
  }
}

@Resolver(() => LifecycleTransition)
export class LifecycleTransitionResolver {
  @FieldResolver(() => String, { description: 'Why, in one sentence, from the stored facts.' })
  explanation(@Root() t: LifecycleTransition): string {
    return explain(t);
  }
}

@Resolver()
export class LifecycleResolver {
  @Authorized(Scope.ADMIN)
  @Mutation(() => LifecycleEvaluation, {
    description:
      'Moves every customer whose stage changes by time alone (AT_RISK, CHURNED…) at or before `asOf` (default now). ' +
      'Only those customers are read. An `asOf` in the past serves back-fills of historical data; customers already ' +
      'evaluated past it are left as they are. More than 1 day in the future is refused.',
  })
  async evaluateLifecycle(
    @Arg('asOf', () => Date, { nullable: true }) asOf: Date | null,
    @Ctx() ctx: LifecycleContext,
    @Info() info: GraphQLResolveInfo,
  ): Promise<LifecycleEvaluation> {
    const at = checkAsOf(asOf);
    const result = await ctx.lifecycle.sweep(at);
    // The sweep commits in batches of its own: audited once it is done, with its counts.
    await ctx.audit.record([{ ...auditScope(ctx.principal, info), kind: AuditKind.MUTATION, customerIds: [], details: { asOf: at.toISOString(), examined: result.examined, moved: result.moved } }]);
    return { asOf: at, examined: result.examined, moved: result.moved, movedByStage: allStages(result.movedByStage) };
  }

  @Authorized(Scope.READ)
  @Query(() => LifecycleTransitionConnection, { description: 'Stage changes of all live customers in [from, to), oldest first. `first` at most 500.' })
  lifecycleTransitions(
    @Arg('from', () => Date, { nullable: true }) from: Date | null,
    @Arg('to', () => Date, { nullable: true }) to: Date | null,
    @Arg('first', () => Int, { defaultValue: 100 }) first: number,
    @Arg('after', () => String, { nullable: true }) after: string | null,
    @Ctx() ctx: LifecycleContext,
  ): Promise<ConnectionShape<LifecycleTransition>> {
    checkFirst(first, 500, 'first');
    checkPeriod(from, to);
    return ctx.lifecycle.transitions(from, to, first, after);
  }

  @Authorized(Scope.READ)
  @Query(() => [StageFlow], { description: 'How many stage changes went from each stage to each other in [from, to): the data of a Sankey diagram.' })
  lifecycleFlow(
    @Arg('from', () => Date, { nullable: true }) from: Date | null,
    @Arg('to', () => Date, { nullable: true }) to: Date | null,
    @Ctx() ctx: LifecycleContext,
  ): Promise<StageFlow[]> {
    checkPeriod(from, to);
    return ctx.lifecycle.flow(from, to);
  }

  @Authorized(Scope.READ)
  @Query(() => LifecycleDistribution, {
    description:
      'How many live customers were in each stage at `asOf` (default now), from the stored transitions. Time-driven ' +
      'changes appear once a sweep has evaluated them (`evaluateLifecycle`, or the server\'s periodic sweep).',
  })
  async lifecycleDistribution(@Arg('asOf', () => Date, { nullable: true }) asOf: Date | null, @Ctx() ctx: LifecycleContext): Promise<LifecycleDistribution> {
    const at = checkAsOf(asOf);
    const counts = await ctx.lifecycle.distribution(at);
    return { asOf: at, total: [...counts.values()].reduce((a, b) => a + b, 0), stages: allStages(counts) };
  }
}
