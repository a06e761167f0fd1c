import { registerEnumType } from 'type-graphql';

// Shared like Channel: a column of the customer profile, filtered on by customers/, grouped by in
// journey analytics, carried by live events; lifecycle/ decides it.
export enum LifecycleStage {
  PROSPECT = 'PROSPECT',
  NEW_CUSTOMER = 'NEW_CUSTOMER',
  ACTIVE = 'ACTIVE',
  LOYAL = 'LOYAL',
  AMBASSADOR = 'AMBASSADOR',
  AT_RISK = 'AT_RISK',
  CHURNED = 'CHURNED',
  REACTIVATED = 'REACTIVATED',
}

registerEnumType(LifecycleStage, {
  name: 'LifecycleStage',
  description: 'Where the relation with the customer stands (BRIEF §3); see Lifecycle.explanation for why.',
});
