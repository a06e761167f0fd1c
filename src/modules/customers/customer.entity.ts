import { Field, ID, ObjectType } from 'type-graphql';
import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

import { JSONScalar } from '../shared/scalars/json.scalar';
import { Channel } from '../shared/channel.enum';
import { LifecycleStage } from '../shared/lifecycle-stage.enum';
import { maskTraits } from '../pii/mask';
import { PersonalData } from '../pii/personal-data';

/**
 * One person. A customer merged into another stays as a tombstone (`mergedIntoId` set) so that
 * its id keeps resolving to the survivor.
 */
@Entity('customer')
@Index('customer_page_idx', ['createdAt', 'id'], { where: 'merged_into_id IS NULL' })
@Index('customer_updated_idx', ['updatedAt'], { where: 'merged_into_id IS NULL' })
@Index('customer_merged_into_idx', ['mergedIntoId'], { where: 'merged_into_id IS NOT NULL' })
@Index('customer_due_idx', ['nextEvaluationAt'], { where: 'next_evaluation_at IS NOT NULL AND merged_into_id IS NULL' })
@Index('customer_stage_idx', ['stage', 'netRevenue'], { where: 'merged_into_id IS NULL' })
@Index('customer_no_interaction_idx', ['createdAt'], { where: 'last_interaction_at IS NULL AND merged_into_id IS NULL' })
@ObjectType({ description: 'One person, unified across every channel.' })
export class Customer {
  @Field(() => ID)
  @PrimaryColumn('uuid')
  id!: string;

  @Field({ description: 'When the first identifier or interaction of this person was seen.' })
  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Field({ description: 'Last time an interaction, identifier, trait or merge changed this profile.' })
  @Column({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;

  @Field(() => JSONScalar, {
    description: 'Profile attributes (a JSON object); later values overwrite earlier ones key by key. Without the pii scope, personal traits (PII_TRAITS: names, birth date, address…) are masked.',
  })
  @PersonalData<Customer>((value: Record<string, unknown>, _c, policy) => maskTraits(value, policy), (c) => c.id)
  @Column({ type: 'jsonb', default: () => "'{}'" })
  traits!: Record<string, unknown>;

  @Field(() => [Channel], { description: 'Channels this person has interacted on.' })
  @Column({ type: 'varchar', length: 16, array: true, default: () => "'{}'" })
  channels!: Channel[];

  @Column({ name: 'merged_into_id', type: 'uuid', nullable: true })
  mergedIntoId!: string | null;

  // Lifecycle (the stage by the rules of lifecycle/rules.ts), derived from the interactions; exposed through Customer.lifecycle.
  @Column({ type: 'varchar', length: 16, default: LifecycleStage.PROSPECT })
  stage!: LifecycleStage;

  @Column({ name: 'stage_since', type: 'timestamptz', nullable: true })
  stageSince!: Date | null;

  /** The instant the stored stage reflects. */
  @Column({ name: 'evaluated_at', type: 'timestamptz', nullable: true })
  evaluatedAt!: Date | null;

  /** The next instant the stage changes by time alone; what the sweep looks for. */
  @Column({ name: 'next_evaluation_at', type: 'timestamptz', nullable: true })
  nextEvaluationAt!: Date | null;

  // Value metrics, kept current on every write; exposed through Customer.metrics.
  @Column({ name: 'order_count', type: 'int', default: 0 })
  orderCount!: number;

  @Column({ name: 'gross_revenue', type: 'numeric', precision: 30, scale: 4, default: 0 })
  grossRevenue!: string;

  @Column({ type: 'numeric', precision: 30, scale: 4, default: 0 })
  refunds!: string;

  @Column({ name: 'net_revenue', type: 'numeric', precision: 30, scale: 4, default: 0 })
  netRevenue!: string;

  @Column({ name: 'first_purchase_at', type: 'timestamptz', nullable: true })
  firstPurchaseAt!: Date | null;

  @Column({ name: 'last_purchase_at', type: 'timestamptz', nullable: true })
  lastPurchaseAt!: Date | null;

  @Column({ name: 'last_interaction_at', type: 'timestamptz', nullable: true })
  lastInteractionAt!: Date | null;

  @Column({ name: 'last_nps_score', type: 'smallint', nullable: true })
  lastNpsScore!: number | null;

  @Field(() => Date, { nullable: true, description: 'When this person\'s personal data was erased (eraseCustomer); null otherwise. An erased profile keeps its figures, not its identity.' })
  @Column({ name: 'erased_at', type: 'timestamptz', nullable: true })
  erasedAt!: Date | null;
}
