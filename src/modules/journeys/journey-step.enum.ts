import { registerEnumType } from 'type-graphql';

import { InteractionType } from '../interactions/interaction-type.enum';

/** Steps of a purchase journey, in order. */
export enum JourneyStep {
  DISCOVERY = 'DISCOVERY',
  CONSIDERATION = 'CONSIDERATION',
  EVALUATION = 'EVALUATION',
  DECISION = 'DECISION',
}

export enum JourneyStatus {
  OPEN = 'OPEN',
  CONVERTED = 'CONVERTED',
  ABANDONED = 'ABANDONED',
}

registerEnumType(JourneyStep, { name: 'JourneyStep', description: 'DISCOVERY → CONSIDERATION → EVALUATION → DECISION.' });
registerEnumType(JourneyStatus, {
  name: 'JourneyStatus',
  valuesConfig: {
    OPEN: { description: 'Still going.' },
    CONVERTED: { description: 'Ended by a PURCHASE.' },
    ABANDONED: { description: 'No interaction for the abandonment delay (30 days by default) and no purchase.' },
  },
});

export const STEP_ORDER: readonly JourneyStep[] = Object.values(JourneyStep);

const STEPS: Partial<Record<InteractionType, JourneyStep | 'AFTER_PURCHASE'>> = {
  PAGE_VIEW: JourneyStep.DISCOVERY,
  SEARCH: JourneyStep.DISCOVERY,
  CAMPAIGN_RESPONSE: JourneyStep.DISCOVERY,
  EMAIL_OPEN: JourneyStep.DISCOVERY,
  EMAIL_CLICK: JourneyStep.DISCOVERY,
  SOCIAL_ENGAGEMENT: JourneyStep.DISCOVERY,
  PRODUCT_VIEW: JourneyStep.CONSIDERATION,
  STORE_VISIT: JourneyStep.CONSIDERATION,
  CALL: JourneyStep.CONSIDERATION,
  CHAT: JourneyStep.CONSIDERATION,
  ADD_TO_CART: JourneyStep.EVALUATION,
  CHECKOUT_STARTED: JourneyStep.EVALUATION,
  PURCHASE: JourneyStep.DECISION,
  SURVEY_RESPONSE: 'AFTER_PURCHASE',
  REVIEW: 'AFTER_PURCHASE',
  SUPPORT_TICKET: 'AFTER_PURCHASE',
  REFUND: 'AFTER_PURCHASE',
};

/** The step of an interaction type; AFTER_PURCHASE for follow-ups; null for the others (REFERRAL, CUSTOM…). */
export function stepOf(type: string): JourneyStep | 'AFTER_PURCHASE' | null {
  return STEPS[type as InteractionType] ?? null;
}
