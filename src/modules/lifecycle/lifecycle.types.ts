import { Field, Int, ObjectType } from 'type-graphql';

import { DecimalScalar } from '../shared/scalars/decimal.scalar';
import { Channel } from '../shared/channel.enum';
import { LifecycleStage } from './lifecycle-stage.enum';
import { LifecycleTransition } from './lifecycle-transition.entity';

@ObjectType({ description: 'Value of the customer, kept current on every write (money exact, as NUMERIC).' })
export class CustomerMetrics {
  @Field(() => Int, { description: 'PURCHASE interactions (a REFUND does not lower it).' })
  orderCount!: number;

  @Field(() => DecimalScalar)
  grossRevenue!: string;

  @Field(() => DecimalScalar)
  refunds!: string;

  @Field(() => DecimalScalar, { description: 'Gross revenue minus refunds: the customer lifetime value so far.' })
  netRevenue!: string;

  @Field(() => DecimalScalar, { nullable: true, description: 'Gross revenue per order, to the cent; null without orders.' })
  averageOrderValue!: string | null;

  @Field(() => Date, { nullable: true })
  firstPurchaseAt!: Date | null;

  @Field(() => Date, { nullable: true })
  lastPurchaseAt!: Date | null;

  @Field(() => Date, { nullable: true })
  lastInteractionAt!: Date | null;

  @Field(() => [Channel])
  channelsUsed!: Channel[];

  @Field(() => Int, { nullable: true, description: 'npsScore of the latest SURVEY_RESPONSE that had one.' })
  lastNpsScore!: number | null;
}

@ObjectType({ description: 'Where the relation stands, since when, how it got there, and why.' })
export class Lifecycle {
  @Field(() => LifecycleStage)
  stage!: LifecycleStage;

  @Field(() => Date, { nullable: true, description: 'When the current stage began; null for a customer with no interaction.' })
  since!: Date | null;

  @Field(() => Date, { nullable: true, description: 'The instant the stage reflects: the latest interaction, or the last sweep.' })
  evaluatedAt!: Date | null;

  @Field(() => Date, { nullable: true, description: 'When the stage will change by time alone (AT_RISK, CHURNED…) unless an interaction comes first.' })
  nextChangeAt!: Date | null;

  @Field(() => [LifecycleTransition], { description: 'Every stage change, oldest first.' })
  history!: LifecycleTransition[];

  @Field({ description: 'Why the customer is in this stage, in one sentence built from the stored transition.' })
  explanation!: string;
}

@ObjectType()
export class StageCount {
  @Field(() => LifecycleStage)
  stage!: LifecycleStage;

  @Field(() => Int)
  count!: number;
}

@ObjectType()
export class LifecycleDistribution {
  @Field()
  asOf!: Date;

  @Field(() => Int)
  total!: number;

  @Field(() => [StageCount], { description: 'Every stage, in the order of the model, zeros included.' })
  stages!: StageCount[];
}

@ObjectType()
export class LifecycleEvaluation {
  @Field()
  asOf!: Date;

  @Field(() => Int, { description: 'Customers whose stage was due to change by then: the only ones read.' })
  examined!: number;

  @Field(() => Int, { description: 'Customers whose stage changed.' })
  moved!: number;

  @Field(() => [StageCount], { description: 'Customers moved, by the stage they moved to.' })
  movedByStage!: StageCount[];
}

@ObjectType({ description: 'How many customers went from one stage to another in a period: one arc of a Sankey diagram.' })
export class StageFlow {
  @Field(() => LifecycleStage, { nullable: true, description: 'Null: customers entering the lifecycle (their first stage).' })
  from!: LifecycleStage | null;

  @Field(() => LifecycleStage)
  to!: LifecycleStage;

  @Field(() => Int)
  count!: number;
}
