import { Field, InputType, Int } from 'type-graphql';

import { DecimalScalar } from '../shared/scalars/decimal.scalar';
import { JSONScalar } from '../shared/scalars/json.scalar';
import { IdentifierInput } from '../identity/identifier.input';
import { Channel } from '../shared/channel.enum';
import { ConsentInput } from '../consent/consent.types';
import { InteractionType } from './interaction-type.enum';

@InputType()
export class RecordInteractionInput {
  @Field(() => String, { nullable: true, description: 'Idempotency key, unique per API key: sending it again returns DUPLICATE and creates nothing.' })
  externalId?: string | null;

  @Field(() => Channel)
  channel!: Channel;

  @Field(() => InteractionType)
  type!: InteractionType;

  @Field(() => String, { nullable: true, description: 'Required for CUSTOM interactions.' })
  name?: string | null;

  @Field(() => Date, { nullable: true, description: 'When it happened; defaults to now; at most 1 day in the future.' })
  occurredAt?: Date | null;

  @Field(() => [IdentifierInput], { description: 'At least one.' })
  identifiers!: IdentifierInput[];

  @Field(() => DecimalScalar, { nullable: true, description: 'Only for PURCHASE and REFUND; never negative.' })
  amount?: string | null;

  @Field(() => String, { nullable: true, description: 'ISO 4217 code; defaults to the server currency when an amount is given.' })
  currency?: string | null;

  @Field(() => Int, { nullable: true, description: 'Net Promoter Score 0-10, only for SURVEY_RESPONSE.' })
  npsScore?: number | null;

  @Field(() => JSONScalar, { nullable: true, description: 'JSON object merged into the customer profile traits.' })
  traits?: unknown;

  @Field(() => JSONScalar, { nullable: true, description: 'JSON object of at most 16 KB stored with the interaction.' })
  properties?: unknown;

  @Field(() => [ConsentInput], { nullable: true, description: 'Consent decisions given with this interaction: made at its occurredAt, on its channel. At most 20, one per purpose.' })
  consents?: ConsentInput[] | null;

  @Field(() => Boolean, {
    nullable: true,
    description:
      'The person signed up again and consented: identifiers of an erased person (on the suppression list) are accepted, taken off the list, and start a new profile. Without it such an item is REJECTED with SUPPRESSED_IDENTIFIER.',
  })
  freshSignUp?: boolean | null;
}
