import { Field, InputType, registerEnumType } from 'type-graphql';

// Shared like Channel: customers/ filters by it and live subscriptions filter events by it;
// consent/ decides what it means.

export enum ConsentStatus {
  GRANTED = 'GRANTED',
  DENIED = 'DENIED',
  UNKNOWN = 'UNKNOWN',
}

registerEnumType(ConsentStatus, {
  name: 'ConsentStatus',
  description: 'What a person said about one purpose.',
  valuesConfig: {
    GRANTED: { description: 'Said yes.' },
    DENIED: { description: 'Said no, or withdrew a yes.' },
    UNKNOWN: { description: 'Never asked, or the answer was reset.' },
  },
});

/** The purposes every deployment knows; CONSENT_PURPOSES adds more. */
export const DEFAULT_PURPOSES = ['EMAIL_MARKETING', 'SMS_MARKETING', 'PHONE_MARKETING', 'PERSONALIZATION', 'ANALYTICS'];

export const PURPOSE_DESCRIPTION = `A consent purpose: ${DEFAULT_PURPOSES.join(', ')}, or one added by the server's CONSENT_PURPOSES.`;

@InputType({ description: 'Customers whose decision in force for `purpose` is `status` (UNKNOWN: no decision, or UNKNOWN).' })
export class ConsentFilter {
  @Field({ description: PURPOSE_DESCRIPTION })
  purpose!: string;

  @Field(() => ConsentStatus)
  status!: ConsentStatus;
}
