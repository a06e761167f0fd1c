import { Field, ID, Int, ObjectType } from 'type-graphql';

@ObjectType({ description: 'What an erasure did to one table.' })
export class ErasedRows {
  @Field({ description: 'Table, and the column(s) emptied or "rows deleted".' })
  table!: string;

  @Field()
  what!: string;

  @Field(() => Int)
  rows!: number;
}

@ObjectType({ description: 'The receipt of an erasure: what was removed, from where, when, by whom and why. Holds no personal data.' })
export class ErasureReceipt {
  @Field(() => ID)
  id!: string;

  @Field(() => ID, { description: 'The customer erased (the survivor of its identity graph).' })
  customerId!: string;

  @Field(() => [ID], { description: 'The customers merged into it, erased with it.' })
  mergedCustomerIds!: string[];

  @Field()
  at!: Date;

  @Field(() => ID, { nullable: true, description: 'The API key that asked; null for the command line.' })
  keyId!: string | null;

  @Field()
  actor!: string;

  @Field()
  reason!: string;

  @Field(() => [ErasedRows])
  removed!: ErasedRows[];

  @Field(() => Int, { description: 'Identifiers put on the suppression list (as keyed hashes).' })
  suppressedIdentifiers!: number;
}
