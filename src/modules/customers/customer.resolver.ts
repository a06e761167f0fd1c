import { Arg, Authorized, Ctx, FieldResolver, ID, Int, ObjectType, Query, Resolver, Root } from 'type-graphql';

import type DataLoader from 'dataloader';
import type { CountryCode } from 'libphonenumber-js';

import { checkFirst, type ConnectionShape } from '../shared/connection';
import { Connection, MAX_PAGE } from '../shared/connection.type';
import { InputError, NotFoundError } from '../shared/errors';
import { UUID } from '../shared/ids';
import { Scope } from '../access/scope.enum';
import { Identifier } from '../identity/identifier.entity';
import { IdentifierType } from '../identity/identifier-type.enum';
import { Merge } from '../identity/merge.entity';
import { normalizeIdentifier } from '../identity/normalize';
import { Customer } from './customer.entity';
import { CustomerFilter } from './customer-filter.input';
import type { CustomerService } from './customer.service';

/** What these resolvers read from an operation's context (src/graphql/context.ts builds it). */
export interface CustomerContext {
  config: { defaultPhoneRegion: CountryCode };
  customers: CustomerService;
  loaders: {
    customer: DataLoader<string, Customer | null>;
    identifiers: DataLoader<string, Identifier[]>;
    merges: DataLoader<string, Merge[]>;
  };
}

@ObjectType()
export class CustomerConnection extends Connection(Customer, 'Customer') {}

@Resolver(() => Customer)
export class CustomerResolver {
  @Authorized(Scope.READ)
  @Query(() => Customer, { nullable: true, description: 'A customer by id; the id of a merged customer resolves to its survivor. NOT_FOUND when unknown.' })
  async customer(@Arg('id', () => ID) id: string, @Ctx() ctx: CustomerContext): Promise<Customer> {
    if (!UUID.test(id)) throw new InputError([{ field: 'id', message: `"${id}" is not a customer id` }]);
    const customer = await ctx.loaders.customer.load(id);
    if (!customer) throw new NotFoundError(`No customer has the id ${id}.`);
    return customer;
  }

  @Authorized(Scope.READ)
  @Query(() => Customer, { nullable: true, description: 'The customer holding an identifier; the value is normalised first. NOT_FOUND when nobody holds it.' })
  async customerByIdentifier(
    @Arg('type', () => IdentifierType) type: IdentifierType,
    @Arg('value') value: string,
    @Ctx() ctx: CustomerContext,
  ): Promise<Customer> {
    const normalized = normalizeIdentifier(type, value, ctx.config.defaultPhoneRegion);
    if (!normalized.ok) throw new InputError([{ field: 'value', message: `${type} ${normalized.message}` }]);
    const customer = await ctx.customers.byIdentifier(type, normalized.value);
    if (!customer) throw new NotFoundError(`No customer holds ${type} "${normalized.value}".`);
    return customer;
  }

  @Authorized(Scope.READ)
  @Query(() => CustomerConnection, { description: `Live customers, newest first. \`first\` defaults to 20, at most ${MAX_PAGE}.` })
  customers(
    @Arg('first', () => Int, { defaultValue: 20 }) first: number,
    @Arg('after', () => String, { nullable: true }) after: string | null,
    @Arg('filter', () => CustomerFilter, { nullable: true }) filter: CustomerFilter | null,
    @Ctx() ctx: CustomerContext,
  ): Promise<ConnectionShape<Customer>> {
    checkFirst(first, MAX_PAGE, 'first');
    return ctx.customers.page(first, after, filter);
  }

  @FieldResolver(() => [Identifier])
  identifiers(@Root() customer: Customer, @Ctx() ctx: CustomerContext): Promise<Identifier[]> {
    return ctx.loaders.identifiers.load(customer.id);
  }

  @FieldResolver(() => [Merge], { description: 'Merge ledger entries that formed this customer, oldest first.' })
  merges(@Root() customer: Customer, @Ctx() ctx: CustomerContext): Promise<Merge[]> {
    return ctx.loaders.merges.load(customer.id);
  }
}
