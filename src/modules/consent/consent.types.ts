import { Field, ID, InputType, ObjectType } from 'type-graphql';

import { Channel } from '../shared/channel.enum';
import { ConsentFilter, ConsentStatus, DEFAULT_PURPOSES, PURPOSE_DESCRIPTION } from '../shared/consent-status.enum';

export { ConsentFilter, ConsentStatus, DEFAULT_PURPOSES };

const PURPOSE = PURPOSE_DESCRIPTION;

@ObjectType({ description: 'One decision of a person about one purpose, as it was recorded.' })
export class ConsentDecision {
  @Field(() => ID)
  id!: string;

  @Field({ description: PURPOSE })
  purpose!: string;

  @Field(() => ConsentStatus)
  status!: ConsentStatus;

  @Field({ description: 'When the person decided (the interaction\'s occurredAt, or the time given to setConsent).' })
  at!: Date;

  @Field(() => Channel, { description: 'Where the decision was given.' })
  channel!: Channel;

  @Field(() => ID, { nullable: true, description: 'The interaction that carried it; null for setConsent.' })
  interactionId!: string | null;

  @Field({ description: 'When the API stored it.' })
  recordedAt!: Date;

  customerId!: string;
  /** It is the decision in force for its purpose. */
  inForce!: boolean;
}

@ObjectType({ description: 'Where a person stands on one purpose: the most recent decision (by when it was made, not when it arrived), and every decision.' })
export class CustomerConsent {
  @Field({ description: PURPOSE })
  purpose!: string;

  @Field(() => ConsentStatus)
  status!: ConsentStatus;

  @Field(() => Date, { nullable: true, description: 'When the decision in force was made; null when UNKNOWN for want of any.' })
  since!: Date | null;

  @Field(() => [ConsentDecision], { description: 'Every decision for this purpose, oldest first, those of merged customers included.' })
  history!: ConsentDecision[];
}

@ObjectType({ description: 'Two merged customers had decided differently on a purpose: the most recent decision was kept.' })
export class ConsentConflict {
  @Field()
  purpose!: string;

  @Field(() => ConsentStatus)
  keptStatus!: ConsentStatus;

  @Field()
  keptAt!: Date;

  @Field(() => ID, { description: 'The customer whose decision was kept (survivor or merged).' })
  keptFrom!: string;

  @Field(() => ConsentStatus)
  overriddenStatus!: ConsentStatus;

  @Field()
  overriddenAt!: Date;

  @Field(() => ID)
  overriddenFrom!: string;
}

@InputType({ description: 'A consent decision carried by an interaction: it was made when and where the interaction happened.' })
export class ConsentInput {
  @Field({ description: PURPOSE })
  purpose!: string;

  @Field(() => ConsentStatus)
  status!: ConsentStatus;
}

@ObjectType({ description: 'What setConsent did.' })
export class ConsentResult {
  @Field(() => ID, { description: 'The customer (the survivor, after any merge; a new customer when the identifiers were unknown).' })
  customerId!: string;

  @Field()
  purpose!: string;

  @Field(() => ConsentStatus, { description: 'The decision in force now.' })
  status!: ConsentStatus;

  @Field(() => Date, { nullable: true })
  since!: Date | null;

  @Field({ description: 'False when a more recent decision was already in force: this one is kept in the history only.' })
  applied!: boolean;
}

/** A decision about to be stored. */
export interface NewDecision {
  id: string;
  customerId: string;
  purpose: string;
  status: ConsentStatus;
  at: Date;
  channel: Channel;
  interactionId: string | null;
}

/** The decision in force for a (customer, purpose). */
export interface ConsentState {
  customerId: string;
  purpose: string;
  status: ConsentStatus;
  at: Date;
  decisionId: string;
  channel: Channel;
  interactionId: string | null;
}
