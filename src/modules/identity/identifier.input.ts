import { Field, InputType } from 'type-graphql';

import { IdentifierType } from './identifier-type.enum';

@InputType({ description: 'An identifier as the channel knows it; the server normalises it before matching.' })
export class IdentifierInput {
  @Field(() => IdentifierType)
  type!: IdentifierType;

  @Field()
  value!: string;
}
