import { Field, Float, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';

import { Channel } from '../shared/channel.enum';
import { ConsentFilter } from '../shared/consent-status.enum';
import { IdentifierType } from '../shared/identifier-type.enum';
import { LifecycleStage } from '../shared/lifecycle-stage.enum';
import { DecimalScalar } from '../shared/scalars/decimal.scalar';
import { JSONScalar } from '../shared/scalars/json.scalar';
import { RfmSegment } from '../value/rfm';

export enum SegmentStatus {
  EVALUATING = 'EVALUATING',
  READY = 'READY',
}
registerEnumType(SegmentStatus, {
  name: 'SegmentStatus',
  valuesConfig: {
    EVALUATING: { description: 'Its definition is new or changed: every customer is being evaluated in the background (see `progress`).' },
    READY: { description: 'Its members are current; every write keeps them so.' },
  },
});

export enum MembershipChange {
  ENTERED = 'ENTERED',
  LEFT = 'LEFT',
}
registerEnumType(MembershipChange, { name: 'MembershipChange' });

@InputType({ description: 'A condition on one trait: equal to a JSON value, within a numeric range, or present at all.' })
export class TraitConditionInput {
  @Field({ description: 'A top-level trait key.' })
  key!: string;

  @Field(() => JSONScalar, { nullable: true, description: 'The trait equals this JSON value.' })
  equals?: unknown;

  @Field(() => Float, { nullable: true, description: 'The trait is a number at least this.' })
  min?: number | null;

  @Field(() => Float, { nullable: true })
  max?: number | null;

  @Field(() => Boolean, { nullable: true, description: 'true: the customer has the trait; false: not.' })
  exists?: boolean | null;
}

@InputType({ description: 'What a member is. Every condition given must hold; a list means "one of".' })
export class SegmentDefinitionInput {
  @Field(() => [LifecycleStage], { nullable: true })
  stages?: LifecycleStage[] | null;

  @Field(() => Int, { nullable: true })
  minOrderCount?: number | null;

  @Field(() => Int, { nullable: true })
  maxOrderCount?: number | null;

  @Field(() => DecimalScalar, { nullable: true })
  minNetRevenue?: string | null;

  @Field(() => DecimalScalar, { nullable: true })
  maxNetRevenue?: string | null;

  @Field(() => [RfmSegment], { nullable: true, description: 'RFM segment as of the latest value model.' })
  rfmSegments?: RfmSegment[] | null;

  @Field(() => [String], { nullable: true, description: 'RFM cells, e.g. "555".' })
  rfmCells?: string[] | null;

  @Field(() => Float, { nullable: true, description: 'P(alive) at least this (latest value model).' })
  minPAlive?: number | null;

  @Field(() => Float, { nullable: true })
  maxPAlive?: number | null;

  @Field(() => Float, { nullable: true, description: 'Predicted 12-month CLV at least this (latest value model, 1 % a month).' })
  minPredictedClv?: number | null;

  @Field(() => Float, { nullable: true })
  maxPredictedClv?: number | null;

  @Field(() => [Channel], { nullable: true, description: 'Has interacted on one of these channels.' })
  channels?: Channel[] | null;

  @Field(() => [IdentifierType], { nullable: true, description: 'Holds an identifier of one of these types.' })
  identifierTypes?: IdentifierType[] | null;

  @Field(() => [TraitConditionInput], { nullable: true })
  traits?: TraitConditionInput[] | null;

  @Field(() => Date, { nullable: true })
  lastInteractionAfter?: Date | null;

  @Field(() => Date, { nullable: true })
  lastInteractionBefore?: Date | null;

  @Field(() => Date, { nullable: true })
  lastPurchaseAfter?: Date | null;

  @Field(() => Date, { nullable: true })
  lastPurchaseBefore?: Date | null;

  @Field(() => Boolean, { nullable: true, description: 'true: has an OPEN journey; false: has none.' })
  openJourney?: boolean | null;

  @Field(() => Boolean, { nullable: true, description: 'true: the latest journey was ABANDONED (a cart left); false: it was not.' })
  abandonedJourney?: boolean | null;

  @Field(() => ConsentFilter, { nullable: true })
  consent?: ConsentFilter | null;
}

@ObjectType()
export class SegmentSize {
  @Field()
  at!: Date;

  @Field(() => Int)
  size!: number;
}

@ObjectType({ description: 'Where a background evaluation stands.' })
export class SegmentProgress {
  @Field(() => Int)
  evaluated!: number;

  @Field(() => Int)
  total!: number;
}

@ObjectType({ description: 'A named audience, kept current: every write, merge and sweep re-evaluates the customers it touches.' })
export class Segment {
  @Field(() => ID)
  id!: string;

  @Field()
  name!: string;

  @Field(() => String, { nullable: true })
  description!: string | null;

  @Field(() => JSONScalar, { description: 'The definition as given (SegmentDefinitionInput).' })
  definition!: Record<string, unknown>;

  @Field(() => SegmentStatus)
  status!: SegmentStatus;

  @Field(() => SegmentProgress)
  progress!: SegmentProgress;

  @Field()
  createdAt!: Date;

  @Field()
  updatedAt!: Date;

  version!: number;
}
