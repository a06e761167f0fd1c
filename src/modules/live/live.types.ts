import { Authorized, Field, ID, ObjectType } from 'type-graphql';

import { JSONScalar } from '../shared/scalars/json.scalar';
import { Scope } from '../access/scope.enum';
import { IdentifierType } from '../identity/identifier-type.enum';
import { Channel } from '../shared/channel.enum';
import { ConsentStatus } from '../shared/consent-status.enum';
import { InteractionType } from '../interactions/interaction-type.enum';
import { LifecycleTransition } from '../lifecycle/lifecycle-transition.entity';
import type { LifecycleStage } from '../lifecycle/lifecycle-stage.enum';
import type { LifecycleFacts } from '../lifecycle/rules';
import { Topic, type StoredEvent } from '../events/event';
import { maskIdentifier } from '../pii/mask';
import { PersonalData } from '../pii/personal-data';
import { MembershipChange } from '../segments/segment.types';

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
  @Field(() => String, { nullable: true, description: 'The identifier that linked them (normalised). Needs the read scope; masked without pii; null once the person was erased.' })
  @PersonalData<CustomerMergedEvent>((value: string, e) => maskIdentifier(e.identifierType, value), (e) => e.survivorId)
  identifierValue!: string | null;

  @Field(() => ID, { nullable: true, description: 'The interaction that linked them; null for identify calls.' })
  interactionId!: string | null;

  @Field()
  at!: Date;
}

@ObjectType({ description: 'A person\'s decision in force on a purpose changed status.' })
export class ConsentChangedEvent {
  @Field({ description: 'Pass as `after` to receive every later event, none twice.' })
  cursor!: string;

  @Field(() => ID)
  customerId!: string;

  @Field(() => ID)
  decisionId!: string;

  @Field()
  purpose!: string;

  @Field(() => ConsentStatus)
  status!: ConsentStatus;

  @Field(() => ConsentStatus)
  previousStatus!: ConsentStatus;

  @Field({ description: 'When the person decided.' })
  at!: Date;

  @Field(() => Channel)
  channel!: Channel;

  @Field(() => ID, { nullable: true })
  interactionId!: string | null;

  @Field()
  recordedAt!: Date;
}

@ObjectType({ description: 'A person\'s personal data was erased: drop whatever you hold about them.' })
export class CustomerErasedEvent {
  @Field({ description: 'Pass as `after` to receive every later event, none twice.' })
  cursor!: string;

  @Field(() => ID)
  customerId!: string;

  @Field(() => [ID], { description: 'Customers merged into it, erased with it.' })
  mergedCustomerIds!: string[];

  @Field(() => ID, { description: 'The receipt: `erasure(id)` (admin).' })
  erasureId!: string;

  @Field()
  at!: Date;
}

@ObjectType({ description: 'A customer entered or left a segment.' })
export class SegmentMembershipEvent {
  @Field({ description: 'Pass as `after` to receive every later event, none twice.' })
  cursor!: string;

  @Field(() => ID)
  segmentId!: string;

  @Field(() => MembershipChange)
  change!: MembershipChange;

  @Field(() => ID)
  customerId!: string;

  @Field()
  at!: Date;
}

export type LiveEventObject = LifecycleStageChange | InteractionRecordedEvent | CustomerMergedEvent | ConsentChangedEvent | CustomerErasedEvent | SegmentMembershipEvent;

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
    case Topic.CONSENT_CHANGED: {
      const p = e.payload;
      return Object.assign(new ConsentChangedEvent(), {
        cursor: e.cursor,
        customerId: e.customerId,
        decisionId: p.decisionId,
        purpose: p.purpose,
        status: p.status as ConsentStatus,
        previousStatus: p.previousStatus as ConsentStatus,
        at: new Date(p.at),
        channel: p.channel as Channel,
        interactionId: p.interactionId,
        recordedAt: e.recordedAt,
      });
    }
    case Topic.CUSTOMER_ERASED: {
      const p = e.payload;
      return Object.assign(new CustomerErasedEvent(), { cursor: e.cursor, customerId: e.customerId, mergedCustomerIds: p.mergedIds, erasureId: p.erasureId, at: new Date(p.at) });
    }
    case Topic.SEGMENT_MEMBERSHIP_CHANGED: {
      const p = e.payload;
      return Object.assign(new SegmentMembershipEvent(), { cursor: e.cursor, segmentId: p.segmentId, change: p.change as MembershipChange, customerId: e.customerId, at: new Date(p.at) });
    }
  }
}
