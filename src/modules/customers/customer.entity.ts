import { Field, ID, ObjectType } from 'type-graphql';
import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

import { JSONScalar } from '../../graphql/scalars/json.scalar';
import { Channel } from '../interactions/channel.enum';

/**
 * One person. A customer merged into another stays as a tombstone (`mergedIntoId` set) so that
 * its id keeps resolving to the survivor.
 */
@Entity('customer')
@Index('customer_page_idx', ['createdAt', 'id'], { where: 'merged_into_id IS NULL' })
@Index('customer_updated_idx', ['updatedAt'], { where: 'merged_into_id IS NULL' })
@Index('customer_merged_into_idx', ['mergedIntoId'], { where: 'merged_into_id IS NOT NULL' })
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

  @Field(() => JSONScalar, { description: 'Profile attributes (a JSON object); later values overwrite earlier ones key by key.' })
  @Column({ type: 'jsonb', default: () => "'{}'" })
  traits!: Record<string, unknown>;

  @Field(() => [Channel], { description: 'Channels this person has interacted on.' })
  @Column({ type: 'varchar', length: 16, array: true, default: () => "'{}'" })
  channels!: Channel[];

  @Column({ name: 'merged_into_id', type: 'uuid', nullable: true })
  mergedIntoId!: string | null;
}
