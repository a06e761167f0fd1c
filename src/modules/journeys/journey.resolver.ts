import { Arg, Args, ArgsType, Authorized, Ctx, Field, FieldResolver, ID, Int, ObjectType, Query, Resolver, Root } from 'type-graphql';

import type DataLoader from 'dataloader';

import { checkFirst, type ConnectionShape } from '../shared/connection';
import { Connection, MAX_PAGE, PageArgs } from '../shared/connection.type';
import { InputError, NotFoundError } from '../shared/errors';
import { UUID } from '../shared/ids';
import { Scope } from '../access/scope.enum';
import { Customer } from '../customers/customer.entity';
import { Interaction } from '../interactions/interaction.entity';
import { AttributionModel, ChannelAttribution, ChannelCountGroup, JourneyFunnel } from './analytics.types';
import { JourneyStatus, JourneyStep, stepOf } from './journey-step.enum';
import { Channel } from '../shared/channel.enum';
import { Journey } from './journey.entity';
import type { JourneyAnalyticsService } from './journey-analytics.service';
import type { JourneyPageArgs, JourneyRepository } from './journey.repository';

/** What these resolvers read from an operation's context (src/graphql/context.ts builds it). */
export interface JourneyContext {
  journeys: JourneyRepository;
  analytics: JourneyAnalyticsService;
  loaders: {
    customer: DataLoader<string, Customer | null>;
    journeyInteractions: DataLoader<string, Interaction[]>;
    journeys(args: JourneyPageArgs): DataLoader<string, ConnectionShape<Journey>>;
  };
}

function checkPeriod(from: Date, to: Date): void {
  if (from.getTime() > to.getTime()) throw new InputError([{ field: 'to', message: 'must not be before `from`' }]);
}

@ObjectType()
export class JourneyConnection extends Connection(Journey, 'Journey') {}

@ArgsType()
class CustomerJourneysArgs extends PageArgs {
  @Field(() => JourneyStatus, { nullable: true })
  status?: JourneyStatus | null;
}

@Resolver(() => Journey)
export class JourneyResolver {
  @Authorized(Scope.READ)
  @Query(() => Journey, { nullable: true, description: 'A purchase journey by id (the id of its first interaction). NOT_FOUND when unknown.' })
  async journey(@Arg('id', () => ID) id: string, @Ctx() ctx: JourneyContext): Promise<Journey> {
    if (!UUID.test(id)) throw new InputError([{ field: 'id', message: `"${id}" is not a journey id` }]);
    const journey = await ctx.journeys.journeyById(id);
    if (!journey) throw new NotFoundError(`No journey has the id ${id}.`);
    return journey;
  }

  @Authorized(Scope.READ)
  @Query(() => JourneyConnection, {
    description: 'Journeys abandoned since `since` after reaching at least `minStep` (EVALUATION: carts left), newest first — who to remind.',
  })
  abandonedJourneys(
    @Arg('since', () => Date) since: Date,
    @Arg('minStep', () => JourneyStep, { defaultValue: JourneyStep.EVALUATION }) minStep: JourneyStep,
    @Arg('first', () => Int, { defaultValue: 20 }) first: number,
    @Arg('after', () => String, { nullable: true }) after: string | null,
    @Ctx() ctx: JourneyContext,
  ): Promise<ConnectionShape<Journey>> {
    checkFirst(first, MAX_PAGE, 'first');
    return ctx.journeys.abandonedJourneys(since, minStep, first, after);
  }

  @Authorized(Scope.READ)
  @Query(() => JourneyFunnel, { description: 'Journeys started in [from, to) (that used `channel`, if given): how many reached each step, step-to-step and overall conversion.' })
  journeyFunnel(
    @Arg('from', () => Date) from: Date,
    @Arg('to', () => Date) to: Date,
    @Arg('channel', () => Channel, { nullable: true }) channel: Channel | null,
    @Ctx() ctx: JourneyContext,
  ): Promise<JourneyFunnel> {
    checkPeriod(from, to);
    return ctx.analytics.funnel(from, to, channel);
  }

  @Authorized(Scope.READ)
  @Query(() => [ChannelAttribution], { description: 'Conversions (journeys converted in [from, to)) and their revenue per channel, by the first or the last touch.' })
  channelAttribution(
    @Arg('from', () => Date) from: Date,
    @Arg('to', () => Date) to: Date,
    @Arg('model', () => AttributionModel) model: AttributionModel,
    @Ctx() ctx: JourneyContext,
  ): Promise<ChannelAttribution[]> {
    checkPeriod(from, to);
    return ctx.analytics.attribution(from, to, model);
  }

  @Authorized(Scope.READ)
  @Query(() => [ChannelCountGroup], {
    description: 'Live customers grouped by the number of channels they had used by `asOf` (default now: as stored), with the share in each lifecycle stage.',
  })
  multichannelImpact(@Arg('asOf', () => Date, { nullable: true }) asOf: Date | null, @Ctx() ctx: JourneyContext): Promise<ChannelCountGroup[]> {
    return ctx.analytics.multichannel(asOf);
  }

  @FieldResolver(() => [Interaction], { description: 'Its interactions in order, follow-ups after the purchase included.' })
  interactions(@Root() journey: Journey, @Ctx() ctx: JourneyContext): Promise<Interaction[]> {
    return ctx.loaders.journeyInteractions.load(journey.id);
  }

  @FieldResolver(() => Customer)
  customer(@Root() journey: Journey, @Ctx() ctx: JourneyContext): Promise<Customer | null> {
    return ctx.loaders.customer.load(journey.customerId);
  }

  @FieldResolver(() => Int, { description: 'Seconds from the first touch to the end (or to the last touch while open).' })
  durationSeconds(@Root() journey: Journey): number {
    return Math.round(((journey.endedAt ?? journey.lastTouchAt).getTime() - journey.startedAt.getTime()) / 1000);
  }
}

@Resolver(() => Interaction)
export class InteractionStepResolver {
  @FieldResolver(() => JourneyStep, { nullable: true, description: 'Journey step of its type; null for follow-ups and others.' })
  step(@Root() interaction: Interaction): JourneyStep | null {
    const step = stepOf(interaction.type);
    return step === 'AFTER_PURCHASE' ? null : step;
  }
}

@Resolver(() => Customer)
export class CustomerJourneysResolver {
  @FieldResolver(() => JourneyConnection, { description: 'Purchase journeys, newest first.' })
  journeys(@Root() customer: Customer, @Args(() => CustomerJourneysArgs) args: CustomerJourneysArgs, @Ctx() ctx: JourneyContext): Promise<ConnectionShape<Journey>> {
    checkFirst(args.first, MAX_PAGE, 'first');
    return ctx.loaders.journeys(args).load(customer.id);
  }
}
