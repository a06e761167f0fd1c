import { Field, Float, ID, Int, ObjectType, registerEnumType } from 'type-graphql';

import { DecimalScalar } from '../shared/scalars/decimal.scalar';
import { RfmSegment } from './rfm';

registerEnumType(RfmSegment, {
  name: 'RfmSegment',
  description: 'The named RFM segment of a cell, from its recency and frequency scores (the table is in the README and src/modules/value/rfm.ts).',
});

@ObjectType({ description: 'Recency, frequency and monetary scores 1–5 (quintiles over the customers with a purchase), as of the value model\'s instant.' })
export class CustomerRfm {
  @Field(() => Int, { description: '5: among the most recent buyers.' })
  recency!: number;

  @Field(() => Int)
  frequency!: number;

  @Field(() => Int)
  monetary!: number;

  @Field({ description: 'The three scores, e.g. "545".' })
  cell!: string;

  @Field(() => RfmSegment)
  segment!: RfmSegment;

  @Field()
  asOf!: Date;

  @Field(() => Float, { description: 'Days from the last purchase to asOf.' })
  recencyDays!: number;

  @Field(() => Int, { description: 'Purchases up to asOf.' })
  orderCount!: number;

  @Field(() => DecimalScalar, { description: 'Net revenue up to asOf.' })
  netRevenue!: string;
}

@ObjectType({ description: 'What the value model expects of this customer, as of its instant (BG/NBD for purchases and dropout, Gamma-Gamma for spend).' })
export class CustomerPredictions {
  @Field()
  asOf!: Date;

  @Field(() => ID, { description: 'The value model version that made these figures.' })
  modelId!: string;

  @Field(() => Float, { description: 'Probability that the customer is still active (has not dropped out).' })
  pAlive!: number;

  @Field(() => Int, { description: 'Repeat purchases (distinct purchase days after the first) up to asOf.' })
  repeatPurchases!: number;

  @Field({ description: 'One line: why P(alive) is what it is.' })
  explanation!: string;
}

@ObjectType()
export class ValueModelParameters {
  @Field(() => Float, { description: 'BG/NBD: shape of the purchase-rate distribution.' })
  r!: number;

  @Field(() => Float, { description: 'BG/NBD: scale of the purchase-rate distribution (weeks).' })
  alpha!: number;

  @Field(() => Float, { description: 'BG/NBD: dropout probability Beta(a, b).' })
  a!: number;

  @Field(() => Float)
  b!: number;

  @Field(() => Float, { nullable: true, description: 'Gamma-Gamma: shape of spend per transaction (null when too few customers bought twice).' })
  p!: number | null;

  @Field(() => Float, { nullable: true })
  q!: number | null;

  @Field(() => Float, { nullable: true })
  gamma!: number | null;
}

@ObjectType({ description: 'One fit of the value model: the parameters, how well they fit, on how many customers.' })
export class ValueModel {
  @Field(() => ID)
  id!: string;

  @Field({ description: 'Purchases up to this instant were fitted; T is measured to it.' })
  asOf!: Date;

  @Field()
  fittedAt!: Date;

  @Field(() => ValueModelParameters)
  parameters!: ValueModelParameters;

  @Field(() => Float, { description: 'BG/NBD log-likelihood at the fitted parameters.' })
  logLikelihood!: number;

  @Field(() => Float, { nullable: true, description: 'Gamma-Gamma log-likelihood.' })
  spendLogLikelihood!: number | null;

  @Field(() => Int, { description: 'Customers with a purchase up to asOf (BG/NBD).' })
  customersFitted!: number;

  @Field(() => Int, { description: 'Customers with a repeat purchase (Gamma-Gamma).' })
  spendCustomersFitted!: number;

  @Field()
  converged!: boolean;

  @Field(() => Int, { description: 'Milliseconds the two fits took (the read of the purchases aside).' })
  fitMs!: number;
}

@ObjectType({ description: 'The values one score covers.' })
export class RfmScoreRange {
  @Field(() => Int)
  score!: number;

  @Field(() => Float)
  min!: number;

  @Field(() => Float)
  max!: number;
}

@ObjectType({ description: 'Quintile boundaries: the values each score 1–5 covers (recency in days: 5 is the most recent).' })
export class RfmBoundariesType {
  @Field(() => [RfmScoreRange])
  recencyDays!: RfmScoreRange[];

  @Field(() => [RfmScoreRange])
  orderCount!: RfmScoreRange[];

  @Field(() => [RfmScoreRange])
  netRevenue!: RfmScoreRange[];
}

@ObjectType()
export class RfmSegmentCount {
  @Field(() => RfmSegment)
  segment!: RfmSegment;

  @Field(() => Int)
  customers!: number;

  @Field(() => Float)
  share!: number;
}

@ObjectType({ description: 'RFM as of an instant, computed from the interactions.' })
export class RfmDistribution {
  @Field()
  asOf!: Date;

  @Field(() => Int, { description: 'Customers with a purchase up to asOf.' })
  customers!: number;

  @Field(() => RfmBoundariesType)
  boundaries!: RfmBoundariesType;

  @Field(() => [RfmSegmentCount], { description: 'Every segment, largest first.' })
  segments!: RfmSegmentCount[];
}
