import { Field, ID, Int, ObjectType } from 'type-graphql';
import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

import { DecimalScalar } from '../shared/scalars/decimal.scalar';
import { Channel } from '../shared/channel.enum';
import { JourneyStatus, JourneyStep } from './journey-step.enum';

/** The interactions that lead to one purchase, derived from the customer's interactions. */
@Entity('journey')
@Index('journey_customer_idx', ['customerId', 'startedAt'])
@Index('journey_started_idx', ['startedAt'])
@Index('journey_abandoned_idx', ['status', 'endedAt'])
// A customer's open journey (a segment's openJourney condition), found without reading its closed ones.
@Index('journey_open_idx', ['customerId'], { where: "status = 'OPEN'" })
@ObjectType()
export class Journey {
  @Field(() => ID, { description: 'The id of its first interaction.' })
  @PrimaryColumn('uuid')
  id!: string;

  @Field(() => ID)
  @Column({ name: 'customer_id', type: 'uuid' })
  customerId!: string;

  @Field(() => JourneyStatus)
  @Column({ type: 'varchar', length: 16 })
  status!: JourneyStatus;

  @Field()
  @Column({ name: 'started_at', type: 'timestamptz' })
  startedAt!: Date;

  @Field(() => Date, { nullable: true, description: 'The purchase, or the instant it was abandoned; null while open.' })
  @Column({ name: 'ended_at', type: 'timestamptz', nullable: true })
  endedAt!: Date | null;

  @Field()
  @Column({ name: 'last_touch_at', type: 'timestamptz' })
  lastTouchAt!: Date;

  @Field(() => JourneyStep)
  @Column({ name: 'furthest_step', type: 'varchar', length: 16 })
  furthestStep!: JourneyStep;

  @Field(() => [JourneyStep], { description: 'Steps reached, in step order.' })
  @Column({ type: 'varchar', length: 16, array: true })
  steps!: JourneyStep[];

  @Field(() => [Channel])
  @Column({ type: 'varchar', length: 16, array: true })
  channels!: Channel[];

  @Field(() => Channel)
  @Column({ name: 'first_channel', type: 'varchar', length: 16 })
  firstTouchChannel!: Channel;

  @Field(() => Channel, { description: 'Channel of the last step interaction (the purchase, for a converted journey).' })
  @Column({ name: 'last_channel', type: 'varchar', length: 16 })
  lastTouchChannel!: Channel;

  @Field(() => Int, { description: 'Interactions in the journey, follow-ups after the purchase included.' })
  @Column({ type: 'int' })
  touchpoints!: number;

  @Field(() => ID, { nullable: true })
  @Column({ name: 'purchase_interaction_id', type: 'uuid', nullable: true })
  purchaseInteractionId!: string | null;

  @Field(() => DecimalScalar, { nullable: true })
  @Column({ type: 'numeric', precision: 18, scale: 4, nullable: true })
  amount!: string | null;

  @Column({ type: 'char', length: 40 })
  signature!: string;
}
