import { Authorized, Field, ID, ObjectType } from 'type-graphql';

import { JSONScalar } from '../shared/scalars/json.scalar';
import { Scope } from '../access/scope.enum';
import { IdentifierType } from '../identity/identifier-type.enum';
import { Channel } from '../shared/channel.enum';
import { InteractionType } from '../interactions/interaction-type.enum';
import { LifecycleTransition } from '../lifecycle/lifecycle-transition.entity';
import type { LifecycleStage } from '../lifecycle/lifecycle-stage.enum';
import type { LifecycleFacts } from '../lifecycle/rules';
import { Topic, type StoredEvent } from '../events/event';

/**
 * A stored transition as an event: the same fields, plus where it stands in the event log. The
 * subscribe scope shows that a change happened; the figures behind it (purchase counts and dates,
 * NPS scores) are the customer's data and need read, so `facts` is redeclared here with that rule
 * (type-graphql lets a subclass field replace the inherited one) and queries of
 * LifecycleTransition keep theirs.
 */
@ObjectType({ description: 'A customer changed lifecycle stage. `cursor` resumes a subscription right after this event.' })
export class LifecycleStageChange extends LifecycleTransition {
  @Field({ description: 'Pass as `after` to receive every later change, none twice.' })
  cursor!: string;

  @Authorized(Scope.READ)
  @Field(() => JSONScalar, { nullable: true, description: 'The figures the rule looked at. Needs the read scope.' })
  override facts!: LifecycleFacts;
}

@ObjectType({ description: 'An interaction was stored.' })
export class InteractionRecordedEvent {
  @Field({ description: 'Pass as `after` to receive every later event, none twice.' })
  cursor!: string;

  @Field(() => ID)
  customerId!: string;

  @Field(() => ID)
  interactionId!: string;

  @Field(() => Channel)
  channel!: Channel;

  @Field(() => InteractionType)
  type!: InteractionType;

  @Field()
  occurredAt!: Date;

  @Field()
  recordedAt!: Date;
}

@ObjectType({ description: 'One customer was folded into another.' })
export class CustomerMergedEvent {
  @Field({ description: 'Pass as `after` to receive every later merge, none twice.' })
  cursor!: string;

  @Field(() => ID)
  mergeId!: string;

  @Field(() => ID, { description: 'The customer that was kept.' })
  survivorId!: string;

  @Field(() => ID, { description: 'The customer folded in; its id now resolves to the survivor.' })
  mergedId!: string;

  @Field(() => IdentifierType, { description: 'Type of the identifier that linked them.' })
  identifierType!: IdentifierType;

  @Authorized(Scope.READ)
  @Field(() => String, { nullable: true, description: 'The identifier that linked them (normalised). Needs the read scope.' })
  identifierValue!: string;

  @Field(() => ID, { nullable: true, description: 'The interaction that linked them; null for identify calls.' })
  interactionId!: string | null;

  @Field()
  at!: Date;
}

export type LiveEventObject = LifecycleStageChange | InteractionRecordedEvent | CustomerMergedEvent;

/** The GraphQL object of a stored event (its payload holds only ids, enum values and ISO strings). */
export function toEventObject(e: StoredEvent): LiveEventObject {
  switch (e.topic) {
    case Topic.LIFECYCLE_STAGE_CHANGED: {
      const p = e.payload;
      return Object.assign(new LifecycleStageChange(), {
        cursor: e.cursor,
        customerId: e.customerId,
        id: p.transitionId,
        from: p.from as LifecycleStage | null,
        to: p.to as LifecycleStage,
        at: new Date(p.at),
        rule: p.rule,
        ruleName: p.ruleName,
        causeInteractionId: p.causeInteractionId,
        facts: p.facts as unknown as LifecycleFacts,
        recordedAt: e.recordedAt,
      });
    }
    case Topic.INTERACTION_RECORDED: {
      const p = e.payload;
      return Object.assign(new InteractionRecordedEvent(), {
        cursor: e.cursor,
        customerId: e.customerId,
        interactionId: p.interactionId,
        channel: p.channel as Channel,
        type: p.type as InteractionType,
        occurredAt: new Date(p.occurredAt),
        recordedAt: e.recordedAt,
      });
    }
    case Topic.CUSTOMER_MERGED: {
      const p = e.payload;
      return Object.assign(new CustomerMergedEvent(), {
        cursor: e.cursor,
        mergeId: p.mergeId,
        survivorId: p.survivorId,
        mergedId: p.mergedId,
        identifierType: p.identifierType as IdentifierType,
        identifierValue: p.identifierValue,
        interactionId: p.interactionId,
        at: new Date(p.at),
      });
    }
  }
}
