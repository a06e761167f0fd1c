import { registerEnumType } from 'type-graphql';

export enum InteractionType {
  PAGE_VIEW = 'PAGE_VIEW',
  SEARCH = 'SEARCH',
  CAMPAIGN_RESPONSE = 'CAMPAIGN_RESPONSE',
  EMAIL_OPEN = 'EMAIL_OPEN',
  EMAIL_CLICK = 'EMAIL_CLICK',
  SOCIAL_ENGAGEMENT = 'SOCIAL_ENGAGEMENT',
  PRODUCT_VIEW = 'PRODUCT_VIEW',
  STORE_VISIT = 'STORE_VISIT',
  CALL = 'CALL',
  CHAT = 'CHAT',
  ADD_TO_CART = 'ADD_TO_CART',
  CHECKOUT_STARTED = 'CHECKOUT_STARTED',
  PURCHASE = 'PURCHASE',
  REFUND = 'REFUND',
  SURVEY_RESPONSE = 'SURVEY_RESPONSE',
  REVIEW = 'REVIEW',
  SUPPORT_TICKET = 'SUPPORT_TICKET',
  REFERRAL = 'REFERRAL',
  ACCOUNT_CLOSED = 'ACCOUNT_CLOSED',
  CUSTOM = 'CUSTOM',
}

/** Types that move money; only these may carry an `amount`. */
export const MONETARY_TYPES: ReadonlySet<InteractionType> = new Set([InteractionType.PURCHASE, InteractionType.REFUND]);

registerEnumType(InteractionType, {
  name: 'InteractionType',
  description: 'What happened. PURCHASE and REFUND carry an amount; SURVEY_RESPONSE may carry an npsScore; CUSTOM needs a name.',
});
