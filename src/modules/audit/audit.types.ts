import { Field, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';

import { JSONScalar } from '../shared/scalars/json.scalar';

export enum AuditKind {
  /** A write through the API: interactions, identify, consents, the lifecycle sweep. */
  MUTATION = 'MUTATION',
  /** Personal data returned unmasked (a key with the pii scope read it). */
  PII_READ = 'PII_READ',
  /** An API key created, rotated or revoked. */
  KEY_CHANGE = 'KEY_CHANGE',
  ERASURE = 'ERASURE',
  EXPORT = 'EXPORT',
}

registerEnumType(AuditKind, { name: 'AuditKind', description: 'What an audit row records.' });

@ObjectType({ description: 'One row of the audit trail: who did or read what, about whom, when. Rows are never changed.' })
export class AuditRecord {
  @Field(() => ID)
  id!: string;

  @Field()
  at!: Date;

  @Field(() => ID, { nullable: true, description: 'The API key that acted; null for the command line.' })
  keyId!: string | null;

  @Field({ description: 'The key\'s name at the time, or `cli:<command>`.' })
  actor!: string;

  @Field(() => AuditKind)
  kind!: AuditKind;

  @Field({ description: 'The root field (`Mutation.recordInteractions`, `Query.customer`…) or the command.' })
  operation!: string;

  @Field(() => String, { nullable: true, description: 'The operation name the client gave, if any.' })
  operationName!: string | null;

  @Field(() => [ID], { description: 'Customers concerned (the first 1,000).' })
  customerIds!: string[];

  @Field(() => Int, { description: 'How many customers were concerned in all.' })
  customerCount!: number;

  @Field(() => JSONScalar, { description: 'Counts and ids of what was done; never personal data.' })
  details!: Record<string, unknown>;
}

@InputType({ description: 'All given conditions must hold.' })
export class AuditFilter {
  @Field(() => ID, { nullable: true, description: 'Rows concerning this customer.' })
  customerId?: string | null;

  @Field(() => ID, { nullable: true })
  keyId?: string | null;

  @Field(() => AuditKind, { nullable: true })
  kind?: AuditKind | null;

  @Field(() => String, { nullable: true, description: 'Exactly this root field, e.g. `Mutation.eraseCustomer`.' })
  operation?: string | null;

  @Field(() => Date, { nullable: true })
  from?: Date | null;

  @Field(() => Date, { nullable: true })
  to?: Date | null;
}
