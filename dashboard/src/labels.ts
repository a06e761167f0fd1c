import type { AttributionModel, Channel, IdentifierType, JourneyStep, LifecycleStage } from './generated/graphql';

/**
 * The stages in the order a relation goes through them (the API lists them in the order of the
 * model's rules, which reads badly on an axis). A Record, so that a stage added to the schema
 * fails the type check here until it has its place and colour.
 */
const STAGES: Record<LifecycleStage, { order: number; color: string }> = {
  PROSPECT: { order: 0, color: '#9aa5b1' },
  NEW_CUSTOMER: { order: 1, color: '#5b8def' },
  ACTIVE: { order: 2, color: '#2f9e6f' },
  LOYAL: { order: 3, color: '#1f7a4d' },
  AMBASSADOR: { order: 4, color: '#8b5cf6' },
  REACTIVATED: { order: 5, color: '#0ea5b7' },
  AT_RISK: { order: 6, color: '#e0962b' },
  CHURNED: { order: 7, color: '#d64545' },
};

export const stageOrder = (stage: LifecycleStage): number => STAGES[stage].order;
export const stageColor = (stage: LifecycleStage): string => STAGES[stage].color;
export const byStageOrder = <T extends { stage: LifecycleStage }>(items: readonly T[]): T[] => [...items].sort((a, b) => stageOrder(a.stage) - stageOrder(b.stage));
export const stageLabel = (stage: LifecycleStage): string => stage.replace(/_/g, ' ');

export const JOURNEY_STEPS: Record<JourneyStep, number> = { DISCOVERY: 0, CONSIDERATION: 1, EVALUATION: 2, DECISION: 3 };

export const CHANNELS: Record<Channel, string> = {
  WEB: 'Web',
  APP: 'App',
  STORE: 'Store',
  PHONE: 'Phone',
  EMAIL: 'E-mail',
  SMS: 'SMS',
  SOCIAL: 'Social',
  PARTNER: 'Partner',
  OTHER: 'Other',
};

export const IDENTIFIER_TYPES: Record<IdentifierType, string> = {
  EMAIL: 'E-mail',
  PHONE: 'Phone',
  CUSTOMER_ID: 'Customer id',
  LOYALTY_CARD: 'Loyalty card',
  DEVICE_ID: 'Device id',
  ANONYMOUS_ID: 'Anonymous id',
};

export const ATTRIBUTION_MODELS: Record<AttributionModel, string> = {
  LAST_TOUCH: 'Last touch (the purchase)',
  FIRST_TOUCH: 'First touch of the journey',
};
