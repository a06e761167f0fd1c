import { Field, InputType } from 'type-graphql';

import { IdentifierType } from '../identity/identifier-type.enum';
import { Channel } from '../interactions/channel.enum';

@InputType({ description: 'All given conditions must hold.' })
export class CustomerFilter {
  @Field(() => IdentifierType, { nullable: true, description: 'Has at least one identifier of this type.' })
  identifierType?: IdentifierType | null;

  @Field(() => Channel, { nullable: true, description: 'Has interacted on this channel.' })
  channel?: Channel | null;

  @Field(() => Date, { nullable: true })
  createdAfter?: Date | null;

  @Field(() => Date, { nullable: true })
  createdBefore?: Date | null;

  @Field(() => Date, { nullable: true })
  updatedAfter?: Date | null;

  @Field(() => Date, { nullable: true })
  updatedBefore?: Date | null;
}
