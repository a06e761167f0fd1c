import { Field, Float, Int, ObjectType, registerEnumType } from 'type-graphql';

import { DecimalScalar } from '../shared/scalars/decimal.scalar';
import { Channel } from '../shared/channel.enum';
import { LifecycleStage } from '../lifecycle/lifecycle-stage.enum';
import { JourneyStep } from './journey-step.enum';

export enum AttributionModel {
  FIRST_TOUCH = 'FIRST_TOUCH',
  LAST_TOUCH = 'LAST_TOUCH',
}

registerEnumType(AttributionModel, {
  name: 'AttributionModel',
  valuesConfig: {
    FIRST_TOUCH: { description: 'The conversion goes to the channel of the journey\'s first touch.' },
    LAST_TOUCH: { description: 'The conversion goes to the channel of the purchase.' },
  },
});

@ObjectType()
export class FunnelStep {
  @Field(() => JourneyStep)
  step!: JourneyStep;

  @Field(() => Int, { description: 'Journeys that reached at least this step.' })
  reached!: number;

  @Field(() => Float, { nullable: true, description: 'reached / reached at the previous step; null for the first step or when nothing reached it.' })
  fromPrevious!: number | null;

  @Field(() => Float, { nullable: true, description: 'reached / journeys started.' })
  fromStart!: number | null;
}

@ObjectType({ description: 'Journeys started in the period and how far they went.' })
export class JourneyFunnel {
  @Field(() => Int)
  started!: number;

  @Field(() => [FunnelStep])
  steps!: FunnelStep[];

  @Field(() => Int)
  converted!: number;

  @Field(() => Float, { nullable: true, description: 'converted / started.' })
  conversionRate!: number | null;
}

@ObjectType()
export class ChannelAttribution {
  @Field(() => Channel)
  channel!: Channel;

  @Field(() => Int)
  conversions!: number;

  @Field(() => DecimalScalar)
  revenue!: string;
}

@ObjectType()
export class StageShare {
  @Field(() => LifecycleStage)
  stage!: LifecycleStage;

  @Field(() => Int)
  customers!: number;

  @Field(() => Float)
  share!: number;
}

@ObjectType({ description: 'Customers who used a number of channels, and how they spread over the lifecycle stages.' })
export class ChannelCountGroup {
  @Field({ description: '"1", "2", "3" or "4+".' })
  channels!: string;

  @Field(() => Int)
  customers!: number;

  @Field(() => [StageShare], { description: 'Every stage, zeros included; shares add up to 1.' })
  stages!: StageShare[];
}
