import { Field, ID, Int, ObjectType } from 'type-graphql';
import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

import { JSONScalar } from '../shared/scalars/json.scalar';
import { LifecycleStage } from './lifecycle-stage.enum';
import type { LifecycleFacts } from './rules';

/** One change of stage, with the rule and the figures that decided it. */
@Entity('lifecycle_transition')
// (customer_id, at) and (at, id), both INCLUDE (from_stage, to_stage), which TypeORM cannot
// describe: kept by migrations/1796000000000-TransitionStages.ts.
@Index('lifecycle_transition_customer_idx', { synchronize: false })
@Index('lifecycle_transition_at_idx', { synchronize: false })
@ObjectType()
export class LifecycleTransition {
  @Field(() => ID)
  @PrimaryColumn('uuid')
  id!: string;

  @Field(() => ID)
  @Column({ name: 'customer_id', type: 'uuid' })
  customerId!: string;

  @Field(() => LifecycleStage, { nullable: true, description: 'Null for the first stage of a customer.' })
  @Column({ name: 'from_stage', type: 'varchar', length: 16, nullable: true })
  from!: LifecycleStage | null;

  @Field(() => LifecycleStage)
  @Column({ name: 'to_stage', type: 'varchar', length: 16 })
  to!: LifecycleStage;

  @Field({ description: 'When the change became true: the causing interaction\'s occurredAt, or the instant a time threshold passed.' })
  @Column({ type: 'timestamptz' })
  at!: Date;

  @Field(() => Int, { description: 'Number of the rule of the lifecycle model that matched (BRIEF §3).' })
  @Column({ name: 'rule_number', type: 'smallint' })
  rule!: number;

  @Field()
  @Column({ name: 'rule_name', type: 'varchar', length: 64 })
  ruleName!: string;

  @Field(() => ID, { nullable: true, description: 'The interaction that caused it; null when time passed.' })
  @Column({ name: 'cause_interaction_id', type: 'uuid', nullable: true })
  causeInteractionId!: string | null;

  @Field(() => JSONScalar, { description: 'The figures the rule looked at.' })
  @Column({ type: 'jsonb' })
  facts!: LifecycleFacts;

  @Field({ description: 'When it was computed and stored.' })
  @Column({ name: 'recorded_at', type: 'timestamptz' })
  recordedAt!: Date;
}
