import { Field, ID, Int, ObjectType } from 'type-graphql';
import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

import { maskIdentifier } from '../pii/mask';
import { PersonalData } from '../pii/personal-data';
import { ConsentConflict } from '../consent/consent.types';
import { IdentifierType } from './identifier-type.enum';

@ObjectType()
export class MergeMoved {
  @Field(() => Int)
  identifiers!: number;

  @Field(() => Int)
  interactions!: number;
}

/** Ledger entry: one customer folded into another, and why. Never updated, never deleted. */
@Entity('merge')
@Index('merge_survivor_idx', ['survivorId', 'at'])
@Index('merge_merged_idx', ['mergedId'])
@ObjectType({ description: 'One customer merged into another, with the identifier that linked them.' })
export class Merge {
  @Field(() => ID)
  @PrimaryColumn('uuid')
  id!: string;

  @Field(() => ID, { description: 'The customer that was kept (the older one).' })
  @Column({ name: 'survivor_id', type: 'uuid' })
  survivorId!: string;

  @Field(() => ID, { description: 'The customer folded in; its id now resolves to the survivor.' })
  @Column({ name: 'merged_id', type: 'uuid' })
  mergedId!: string;

  @Field(() => IdentifierType, { description: 'Type of the merged customer\'s identifier that the linking call carried.' })
  @Column({ name: 'identifier_type', type: 'varchar', length: 16 })
  identifierType!: IdentifierType;

  @Field(() => String, { nullable: true, description: 'Normalised value of that identifier; masked without the pii scope, null once the person was erased.' })
  @PersonalData<Merge>((value: string, m) => maskIdentifier(m.identifierType, value), (m) => m.survivorId)
  @Column({ name: 'identifier_value', type: 'varchar', length: 256, nullable: true })
  identifierValue!: string | null;

  @Field(() => ID, { nullable: true, description: 'The interaction that linked them; null for identify calls.' })
  @Column({ name: 'interaction_id', type: 'uuid', nullable: true })
  interactionId!: string | null;

  @Field()
  @Column({ type: 'timestamptz' })
  at!: Date;

  @Field(() => MergeMoved)
  @Column({ type: 'jsonb' })
  moved!: MergeMoved;

  @Field(() => [ConsentConflict], { description: 'Purposes on which the two had decided differently; the most recent decision was kept.' })
  @Column({ name: 'consent_conflicts', type: 'jsonb', default: () => "'[]'" })
  consentConflicts!: ConsentConflict[];
}
