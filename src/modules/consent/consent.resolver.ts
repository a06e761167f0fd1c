import { Ctx, FieldResolver, Resolver, Root } from 'type-graphql';

import type DataLoader from 'dataloader';

import { Customer } from '../customers/customer.entity';
import { ConsentStatus, CustomerConsent, type ConsentDecision } from './consent.types';

/** What these resolvers read from an operation's context (src/graphql/context.ts builds it). */
export interface ConsentContext {
  config: { consentPurposes: string[] };
  loaders: { consents: DataLoader<string, ConsentDecision[]> };
}

// Consent adds this to Customer: customers/ knows nothing of it.
@Resolver(() => Customer)
export class CustomerConsentResolver {
  @FieldResolver(() => [CustomerConsent], { description: 'Where the person stands on every purpose the server knows (and any other they decided on), with each decision.' })
  async consents(@Root() customer: Customer, @Ctx() ctx: ConsentContext): Promise<CustomerConsent[]> {
    const decisions = await ctx.loaders.consents.load(customer.id);
    const purposes = [...new Set([...ctx.config.consentPurposes, ...decisions.map((d) => d.purpose)])];
    return purposes.map((purpose) => {
      const history = decisions.filter((d) => d.purpose === purpose);
      const current = history.find((d) => d.inForce) ?? null;
      return { purpose, status: current?.status ?? ConsentStatus.UNKNOWN, since: current?.at ?? null, history };
    });
  }
}
