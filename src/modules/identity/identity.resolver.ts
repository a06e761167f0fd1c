import { Arg, Authorized, Ctx, FieldResolver, Query, Resolver, Root } from 'type-graphql';

import type DataLoader from 'dataloader';
import type { CountryCode } from 'libphonenumber-js';

import { InputError, NotFoundError } from '../shared/errors';
import { Scope } from '../access/scope.enum';
import { Customer } from '../customers/customer.entity';
import type { CustomerService } from '../customers/customer.service';
import { Identifier } from './identifier.entity';
import { IdentifierType } from './identifier-type.enum';
import { Merge } from './merge.entity';
import { normalizeIdentifier } from './normalize';

/** What these resolvers read from an operation's context (src/graphql/context.ts builds it). */
export interface IdentityContext {
  config: { defaultPhoneRegion: CountryCode };
  customers: CustomerService;
  loaders: {
    identifiers: DataLoader<string, Identifier[]>;
    merges: DataLoader<string, Merge[]>;
  };
}

// Identity adds these to Customer: customers/ knows nothing of identifiers or merges.
@Resolver(() => Customer)
export class CustomerIdentityResolver {
  @Authorized(Scope.READ)
  @Query(() => Customer, { nullable: true, description: 'The customer holding an identifier; the value is normalised first. NOT_FOUND when nobody holds it.' })
  async customerByIdentifier(
    @Arg('type', () => IdentifierType) type: IdentifierType,
    @Arg('value') value: string,
    @Ctx() ctx: IdentityContext,
  ): Promise<Customer> {
    const normalized = normalizeIdentifier(type, value, ctx.config.defaultPhoneRegion);
    if (!normalized.ok) throw new InputError([{ field: 'value', message: `${type} ${normalized.message}` }]);
    const customer = await ctx.customers.byIdentifier(type, normalized.value);
    if (!customer) throw new NotFoundError(`No customer holds ${type} "${normalized.value}".`);
    return customer;
  }

  @FieldResolver(() => [Identifier])
  identifiers(@Root() customer: Customer, @Ctx() ctx: IdentityContext): Promise<Identifier[]> {
    return ctx.loaders.identifiers.load(customer.id);
  }

  @FieldResolver(() => [Merge], { description: 'Merge ledger entries that formed this customer, oldest first.' })
  merges(@Root() customer: Customer, @Ctx() ctx: IdentityContext): Promise<Merge[]> {
    return ctx.loaders.merges.load(customer.id);
  }
}
