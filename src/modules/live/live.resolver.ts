import { Arg, Authorized, Ctx, FieldResolver, ID, Resolver, Root, Subscription } from 'type-graphql';

import type DataLoader from 'dataloader';

import { Scope } from '../access/scope.enum';
import { Customer } from '../customers/customer.entity';
import { Interaction } from '../interactions/interaction.entity';
import { InteractionType } from '../interactions/interaction-type.enum';
import { LifecycleStage } from '../lifecycle/lifecycle-stage.enum';
import { explain } from '../lifecycle/rules';
import { ConsentFilter } from '../shared/consent-status.enum';
import { Segment } from '../segments/segment.types';
import { ConsentChangedEvent, CustomerErasedEvent, CustomerMergedEvent, InteractionRecordedEvent, LifecycleStageChange, SegmentMembershipEvent } from './live.types';

/** What these resolvers read from an operation's context (src/graphql/context.ts builds it). */
export interface LiveContext {
  loaders: {
    customer: DataLoader<string, Customer | null>;
    interaction: DataLoader<string, Interaction | null>;
    segment: DataLoader<string, Segment | null>;
  };
}

/**
 * Subscriptions are served by the live server (src/graphql/live/), which filters,
 * replays and fans events out itself; graphql-js only resolves each event's selection.
 */
function servedByLiveServer(): never {
  throw new Error('subscriptions are served over graphql-ws at /graphql (protocol graphql-transport-ws)');
}

const AFTER = 'The `cursor` of the last event received: every matching event after it is replayed, then live ones follow, without gap or duplicate.';
const CUSTOMER = 'Only this customer. The id of a merged customer stands for its survivor, and a later merge is followed.';
const CONSENT = 'Only customers whose decision in force for this purpose has this status when the event is delivered (a campaign tool: GRANTED).';

@Resolver()
export class LiveResolver {
  @Authorized(Scope.SUBSCRIBE)
  @Subscription(() => LifecycleStageChange, {
    subscribe: servedByLiveServer,
    description: 'Stage changes as they are committed, on whichever server instance made them.',
  })
  lifecycleStageChanged(
    @Root() event: LifecycleStageChange,
    @Arg('stages', () => [LifecycleStage], { nullable: true, description: 'Only changes to these stages.' }) _stages: LifecycleStage[] | null,
    @Arg('customerId', () => ID, { nullable: true, description: CUSTOMER }) _customerId: string | null,
    @Arg('after', () => String, { nullable: true, description: AFTER }) _after: string | null,
    @Arg('consent', () => ConsentFilter, { nullable: true, description: CONSENT }) _consent: ConsentFilter | null,
  ): LifecycleStageChange {
    return event;
  }

  @Authorized(Scope.SUBSCRIBE)
  @Subscription(() => InteractionRecordedEvent, { subscribe: servedByLiveServer, description: 'Interactions as they are stored.' })
  interactionRecorded(
    @Root() event: InteractionRecordedEvent,
    @Arg('customerId', () => ID, { nullable: true, description: CUSTOMER }) _customerId: string | null,
    @Arg('types', () => [InteractionType], { nullable: true, description: 'Only interactions of these types.' }) _types: InteractionType[] | null,
    @Arg('after', () => String, { nullable: true, description: AFTER }) _after: string | null,
    @Arg('consent', () => ConsentFilter, { nullable: true, description: CONSENT }) _consent: ConsentFilter | null,
  ): InteractionRecordedEvent {
    return event;
  }

  @Authorized(Scope.SUBSCRIBE)
  @Subscription(() => ConsentChangedEvent, { subscribe: servedByLiveServer, description: 'Consent decisions that change where a person stands on a purpose.' })
  consentChanged(
    @Root() event: ConsentChangedEvent,
    @Arg('customerId', () => ID, { nullable: true, description: CUSTOMER }) _customerId: string | null,
    @Arg('purposes', () => [String], { nullable: true, description: 'Only these purposes.' }) _purposes: string[] | null,
    @Arg('after', () => String, { nullable: true, description: AFTER }) _after: string | null,
  ): ConsentChangedEvent {
    return event;
  }

  @Authorized(Scope.SUBSCRIBE)
  @Subscription(() => SegmentMembershipEvent, { subscribe: servedByLiveServer, description: 'Entries into and exits from segments, as the writes that cause them commit.' })
  segmentMembershipChanged(
    @Root() event: SegmentMembershipEvent,
    @Arg('segmentIds', () => [ID], { nullable: true, description: 'Only these segments.' }) _segmentIds: string[] | null,
    @Arg('customerId', () => ID, { nullable: true, description: CUSTOMER }) _customerId: string | null,
    @Arg('after', () => String, { nullable: true, description: AFTER }) _after: string | null,
  ): SegmentMembershipEvent {
    return event;
  }

  @Authorized(Scope.SUBSCRIBE)
  @Subscription(() => CustomerErasedEvent, { subscribe: servedByLiveServer, description: 'Erasures: whoever keeps a copy of a profile must drop it.' })
  customerErased(
    @Root() event: CustomerErasedEvent,
    @Arg('customerId', () => ID, { nullable: true, description: CUSTOMER }) _customerId: string | null,
    @Arg('after', () => String, { nullable: true, description: AFTER }) _after: string | null,
  ): CustomerErasedEvent {
    return event;
  }

  @Authorized(Scope.SUBSCRIBE)
  @Subscription(() => CustomerMergedEvent, { subscribe: servedByLiveServer, description: 'Merges of customers as they are committed.' })
  customerMerged(
    @Root() event: CustomerMergedEvent,
    @Arg('customerId', () => ID, { nullable: true, description: 'Only merges into or of this customer.' }) _customerId: string | null,
    @Arg('after', () => String, { nullable: true, description: AFTER }) _after: string | null,
  ): CustomerMergedEvent {
    return event;
  }
}

// An event tells a subscribe key that something happened (ids, channel, type, stages, rule, times);
// the person it happened to is read data, wherever it appears.
@Resolver(() => LifecycleStageChange)
export class LifecycleStageChangeResolver {
  @Authorized(Scope.READ)
  @FieldResolver(() => Customer, { nullable: true, description: 'The customer now (the survivor if it was merged since). Needs the read scope.' })
  customer(@Root() e: LifecycleStageChange, @Ctx() ctx: LiveContext): Promise<Customer | null> {
    return ctx.loaders.customer.load(e.customerId);
  }

  // The sentence quotes the facts (purchase counts and dates, the NPS score): same rule as `facts`.
  @Authorized(Scope.READ)
  @FieldResolver(() => String, { nullable: true, description: 'Why, in one sentence. Needs the read scope.' })
  explanation(@Root() e: LifecycleStageChange): string {
    return explain(e);
  }
}

@Resolver(() => InteractionRecordedEvent)
export class InteractionRecordedEventResolver {
  @Authorized(Scope.READ)
  @FieldResolver(() => Customer, { nullable: true, description: 'The customer now (the survivor if it was merged since). Needs the read scope.' })
  customer(@Root() e: InteractionRecordedEvent, @Ctx() ctx: LiveContext): Promise<Customer | null> {
    return ctx.loaders.customer.load(e.customerId);
  }

  @Authorized(Scope.READ)
  @FieldResolver(() => Interaction, { nullable: true, description: 'The interaction as stored (amount, identifiers, properties…). Needs the read scope.' })
  interaction(@Root() e: InteractionRecordedEvent, @Ctx() ctx: LiveContext): Promise<Interaction | null> {
    return ctx.loaders.interaction.load(e.interactionId);
  }
}

@Resolver(() => ConsentChangedEvent)
export class ConsentChangedEventResolver {
  @Authorized(Scope.READ)
  @FieldResolver(() => Customer, { nullable: true, description: 'The customer now (the survivor if it was merged since). Needs the read scope.' })
  customer(@Root() e: ConsentChangedEvent, @Ctx() ctx: LiveContext): Promise<Customer | null> {
    return ctx.loaders.customer.load(e.customerId);
  }
}

@Resolver(() => SegmentMembershipEvent)
export class SegmentMembershipEventResolver {
  @Authorized(Scope.READ)
  @FieldResolver(() => Customer, { nullable: true, description: 'The customer now. Needs the read scope.' })
  customer(@Root() e: SegmentMembershipEvent, @Ctx() ctx: LiveContext): Promise<Customer | null> {
    return ctx.loaders.customer.load(e.customerId);
  }

  @FieldResolver(() => Segment, { nullable: true, description: 'The segment (null once deleted).' })
  segment(@Root() e: SegmentMembershipEvent, @Ctx() ctx: LiveContext): Promise<Segment | null> {
    return ctx.loaders.segment.load(e.segmentId);
  }
}

@Resolver(() => CustomerMergedEvent)
export class CustomerMergedEventResolver {
  @Authorized(Scope.READ)
  @FieldResolver(() => Customer, { nullable: true, description: 'The surviving customer now. Needs the read scope.' })
  survivor(@Root() e: CustomerMergedEvent, @Ctx() ctx: LiveContext): Promise<Customer | null> {
    return ctx.loaders.customer.load(e.survivorId);
  }
}
