import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

import { IdentifierType } from './identifier-type.enum';

/** A merge the guardrails refused, kept so that it can be reviewed. */
@Entity('identity_conflict')
@Index('identity_conflict_customer_idx', ['customerId', 'at'])
export class IdentityConflict {
  @PrimaryColumn('uuid')
  id!: string;

  /** Where the interaction went: the customer of the highest-priority identifier. */
  @Column({ name: 'customer_id', type: 'uuid' })
  customerId!: string;

  @Column({ name: 'other_customer_ids', type: 'uuid', array: true })
  otherCustomerIds!: string[];

  @Column({ name: 'identifier_type', type: 'varchar', length: 16 })
  identifierType!: IdentifierType;

  /** Null once the person it names was erased. */
  @Column({ name: 'identifier_value', type: 'varchar', length: 256, nullable: true })
  identifierValue!: string | null;

  @Column({ name: 'interaction_id', type: 'uuid', nullable: true })
  interactionId!: string | null;

  @Column({ type: 'text' })
  reason!: string;

  @Column({ type: 'timestamptz' })
  at!: Date;
}
