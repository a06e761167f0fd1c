import { Field, ID, InputType } from 'type-graphql';

import { IdentifierType } from '../shared/identifier-type.enum';
import { Channel } from '../shared/channel.enum';
import { LifecycleStage } from '../shared/lifecycle-stage.enum';
import { ConsentFilter } from '../shared/consent-status.enum';
import { DecimalScalar } from '../shared/scalars/decimal.scalar';

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

  @Field(() => [LifecycleStage], { nullable: true, description: 'In one of these stages now.' })
  stages?: LifecycleStage[] | null;

  @Field(() => DecimalScalar, { nullable: true, description: 'Net revenue (CLV) at least this.' })
  minNetRevenue?: string | null;

  @Field(() => DecimalScalar, { nullable: true })
  maxNetRevenue?: string | null;

  @Field(() => Date, { nullable: true, description: 'Last purchase strictly before this instant (customers who bought at least once).' })
  lastPurchaseBefore?: Date | null;

  @Field(() => Date, { nullable: true })
  lastPurchaseAfter?: Date | null;

  @Field(() => ConsentFilter, { nullable: true, description: 'Whose decision in force for a purpose is this status (a campaign audience: GRANTED).' })
  consent?: ConsentFilter | null;

  @Field(() => ID, { nullable: true, description: 'Members of this segment now.' })
  segment?: string | null;
}
