import { Field, ObjectType } from 'type-graphql';
import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn, RelationId } from 'typeorm';

import { Customer } from '../customers/customer.entity';
import { maskIdentifier } from '../pii/mask';
import { PersonalData } from '../pii/personal-data';
import { IdentifierType } from './identifier-type.enum';

const personal = PersonalData<Identifier>((value: string, i) => maskIdentifier(i.type, value), (i) => i.customerId);

/** A typed, normalised value that points at one live customer. */
@Entity('identifier')
@Index('identifier_type_value_key', ['type', 'value'], { unique: true })
@Index('identifier_customer_idx', ['customer'])
@ObjectType()
export class Identifier {
  @PrimaryColumn('uuid')
  id!: string;

  @ManyToOne(() => Customer, { nullable: false, onDelete: 'CASCADE' })
  @JoinColumn({ name: 'customer_id' })
  customer?: Customer;

  @RelationId((identifier: Identifier) => identifier.customer)
  customerId!: string;

  @Field(() => IdentifierType)
  @Column({ type: 'varchar', length: 16 })
  type!: IdentifierType;

  @Field({ description: 'Normalised value, the one used for matching. Masked without the pii scope.' })
  @personal
  @Column({ type: 'varchar', length: 256 })
  value!: string;

  @Field({ description: 'The value as first received. Masked without the pii scope.' })
  @personal
  @Column({ name: 'raw_value', type: 'varchar', length: 256 })
  rawValue!: string;

  @Field()
  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
