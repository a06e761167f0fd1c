import { Field, ID, Int, ObjectType } from 'type-graphql';
import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn, RelationId } from 'typeorm';

import { DecimalScalar } from '../shared/scalars/decimal.scalar';
import { JSONScalar } from '../shared/scalars/json.scalar';
import { ApiKey } from '../access/api-key.entity';
import { Customer } from '../customers/customer.entity';
import { IdentifierType } from '../identity/identifier-type.enum';
import { Channel } from '../shared/channel.enum';
import { maskIdentifier, maskProperties } from '../pii/mask';
import { PersonalData } from '../pii/personal-data';
import { InteractionType } from './interaction-type.enum';

/** An identifier as it arrived on an interaction, blocklisted ones included. */
@ObjectType()
export class CarriedIdentifier {
  @Field(() => IdentifierType)
  type!: IdentifierType;

  @Field({ description: 'Normalised value.' })
  value!: string;

  @Field({ description: 'Value as sent.' })
  raw!: string;
}

/** Something the person did, or the brand did with the person, on a channel, at a time. */
@Entity('interaction')
@Index('interaction_customer_time_idx', ['customer', 'occurredAt', 'id'])
@Index('interaction_external_id_key', ['apiKey', 'externalId'], { unique: true, where: 'external_id IS NOT NULL' })
@Index('interaction_journey_idx', ['journeyId'], { where: 'journey_id IS NOT NULL' })
// The lifecycle events of a customer by type and time: what an append's checkpoint reads (derivation/customer-history.ts).
@Index('interaction_lifecycle_idx', ['customer', 'type', 'occurredAt', 'id'], { where: "type IN ('PURCHASE', 'REFUND', 'ACCOUNT_CLOSED', 'REFERRAL', 'SURVEY_RESPONSE')" })
@ObjectType()
export class Interaction {
  @Field(() => ID)
  @PrimaryColumn('uuid')
  id!: string;

  @ManyToOne(() => Customer, { nullable: false, onDelete: 'CASCADE' })
  @JoinColumn({ name: 'customer_id' })
  customer?: Customer;

  @RelationId((interaction: Interaction) => interaction.customer)
  customerId!: string;

  @ManyToOne(() => ApiKey, { nullable: false })
  @JoinColumn({ name: 'api_key_id' })
  apiKey?: ApiKey;

  @RelationId((interaction: Interaction) => interaction.apiKey)
  apiKeyId!: string;

  @Field(() => String, { nullable: true, description: 'Idempotency key, unique per API key.' })
  @Column({ name: 'external_id', type: 'varchar', length: 200, nullable: true })
  externalId!: string | null;

  @Field(() => Channel)
  @Column({ type: 'varchar', length: 16 })
  channel!: Channel;

  @Field(() => InteractionType)
  @Column({ type: 'varchar', length: 32 })
  type!: InteractionType;

  @Field(() => String, { nullable: true, description: 'Name of a CUSTOM interaction.' })
  @Column({ type: 'varchar', length: 200, nullable: true })
  name!: string | null;

  @Field()
  @Column({ name: 'occurred_at', type: 'timestamptz' })
  occurredAt!: Date;

  @Field({ description: 'When the API stored it.' })
  @Column({ name: 'received_at', type: 'timestamptz' })
  receivedAt!: Date;

  @Field(() => DecimalScalar, { nullable: true })
  @Column({ type: 'numeric', precision: 18, scale: 4, nullable: true })
  amount!: string | null;

  @Field(() => String, { nullable: true })
  @Column({ type: 'char', length: 3, nullable: true })
  currency!: string | null;

  @Field(() => Int, { nullable: true })
  @Column({ name: 'nps_score', type: 'smallint', nullable: true })
  npsScore!: number | null;

  @Field(() => JSONScalar, { description: 'Free-form JSON object sent with the interaction. Without the pii scope, its text is masked except under public keys (PII_PUBLIC_PROPERTIES).' })
  @PersonalData<Interaction>((value: Record<string, unknown>, _i, policy) => maskProperties(value, policy), (i) => i.customerId)
  @Column({ type: 'jsonb', default: () => "'{}'" })
  properties!: Record<string, unknown>;

  @Field(() => ID, { nullable: true, description: 'The purchase journey it belongs to, if any.' })
  @Column({ name: 'journey_id', type: 'uuid', nullable: true })
  journeyId!: string | null;

  @Field(() => [CarriedIdentifier], { description: 'Identifiers this interaction carried, as normalised. Values masked without the pii scope.' })
  @PersonalData<Interaction>(
    (list: CarriedIdentifier[]) => list.map((c) => ({ type: c.type, value: maskIdentifier(c.type, c.value), raw: maskIdentifier(c.type, c.raw) })),
    (i) => i.customerId,
  )
  @Column({ type: 'jsonb', default: () => "'[]'" })
  identifiers!: CarriedIdentifier[];
}
