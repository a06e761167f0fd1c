import { registerEnumType } from 'type-graphql';

// Shared like Channel: customers/ filters and looks customers up by it, interactions carry it,
// live events name it; identity/ decides what it means.

/** Listed from the strongest to the weakest: the order decides who wins a conflict. */
export enum IdentifierType {
  CUSTOMER_ID = 'CUSTOMER_ID',
  LOYALTY_CARD = 'LOYALTY_CARD',
  EMAIL = 'EMAIL',
  PHONE = 'PHONE',
  DEVICE_ID = 'DEVICE_ID',
  ANONYMOUS_ID = 'ANONYMOUS_ID',
}

registerEnumType(IdentifierType, {
  name: 'IdentifierType',
  description: 'What an identifier points at. When identifiers disagree the stronger wins: CUSTOMER_ID > LOYALTY_CARD > EMAIL > PHONE > DEVICE_ID > ANONYMOUS_ID.',
  valuesConfig: {
    CUSTOMER_ID: { description: 'Account id in the shop or CRM.' },
    LOYALTY_CARD: { description: 'Store loyalty card number.' },
    EMAIL: { description: 'E-mail address, trimmed and lower-cased.' },
    PHONE: { description: 'Phone number, normalised to E.164.' },
    DEVICE_ID: { description: 'Mobile app installation id.' },
    ANONYMOUS_ID: { description: 'Web cookie id.' },
  },
});
