import { Arg, Authorized, Ctx, ID, Int, ObjectType, Query, Resolver } from 'type-graphql';

import type DataLoader from 'dataloader';

import { checkFirst, type ConnectionShape } from '../shared/connection';
import { Connection, MAX_PAGE } from '../shared/connection.type';
import { InputError, NotFoundError } from '../shared/errors';
import { UUID } from '../shared/ids';
import { Scope } from '../access/scope.enum';
import { Customer } from './customer.entity';
import { CustomerFilter } from './customer-filter.input';
import type { CustomerService } from './customer.service';

/** What these resolvers read from an operation's context (src/graphql/context.ts builds it). */
export interface CustomerContext {
  config: { consentPurposes: string[] };
  customers: CustomerService;
  loaders: { customer: DataLoader<string, Customer | null> };
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
  @Query(() => CustomerConnection, { description: `Live customers, newest first. \`first\` defaults to 20, at most ${MAX_PAGE}.` })
  customers(
    @Arg('first', () => Int, { defaultValue: 20 }) first: number,
    @Arg('after', () => String, { nullable: true }) after: string | null,
    @Arg('filter', () => CustomerFilter, { nullable: true }) filter: CustomerFilter | null,
    @Ctx() ctx: CustomerContext,
  ): Promise<ConnectionShape<Customer>> {
    checkFirst(first, MAX_PAGE, 'first');
    if (filter?.segment != null && !UUID.test(filter.segment)) throw new InputError([{ field: 'filter.segment', message: `"${filter.segment}" is not a segment id` }]);
    if (filter?.consent) {
      const purpose = filter.consent.purpose.trim().toUpperCase();
      if (!ctx.config.consentPurposes.includes(purpose)) {
        throw new InputError([{ field: 'filter.consent.purpose', message: `unknown consent purpose "${filter.consent.purpose.slice(0, 64)}" (known: ${ctx.config.consentPurposes.join(', ')})` }]);
      }
      filter = { ...filter, consent: { purpose, status: filter.consent.status } };
    }
    return ctx.customers.page(first, after, filter);
  }
}
