import { Arg, Authorized, Ctx, ID, Info, Mutation, Query, Resolver } from 'type-graphql';
import type { GraphQLResolveInfo } from 'graphql';

import type { Principal } from '../access/api-key.service';
import { Scope } from '../access/scope.enum';
import { auditScope } from '../audit/audit';
import { InputError, NotFoundError } from '../shared/errors';
import { UUID } from '../shared/ids';
import { JSONScalar } from '../shared/scalars/json.scalar';
import type { ErasureService } from './erasure.service';
import { ErasureReceipt } from './erasure.types';
import type { CustomerExport, ExportService } from './export.service';

/** What these resolvers read from an operation's context (src/graphql/context.ts builds it). */
export interface PrivacyContext {
  principal: Pick<Principal, 'id' | 'name'>;
  erasure: ErasureService;
  exports: ExportService;
}

function checkId(id: string, field = 'id'): void {
  if (!UUID.test(id)) throw new InputError([{ field, message: `"${id}" is not an id` }]);
}

@Resolver()
export class PrivacyResolver {
  @Authorized(Scope.ADMIN)
  @Mutation(() => ErasureReceipt, {
    description:
      "Erases a person's personal data across their whole identity graph (the customer, or its survivor, and every customer merged into it): identifiers, raw values, traits, " +
      'interaction properties, and every copy of them. Stage, metrics, interactions (type, channel, amount, time), journeys and consents stay, anonymous, so every aggregate is unchanged. ' +
      'The identifiers are suppressed: a later item carrying one is REJECTED (SUPPRESSED_IDENTIFIER) unless sent with freshSignUp. Returns the receipt, kept as `erasure(id)`.',
  })
  eraseCustomer(@Arg('id', () => ID) id: string, @Arg('reason', { description: 'Why (a ticket number, "GDPR art. 17 request"); kept with the receipt, so no personal data.' }) reason: string, @Ctx() ctx: PrivacyContext, @Info() info: GraphQLResolveInfo): Promise<ErasureReceipt> {
    checkId(id);
    return ctx.erasure.erase(id, reason, auditScope(ctx.principal, info));
  }

  @Authorized(Scope.ADMIN)
  @Query(() => ErasureReceipt, { nullable: true, description: 'The receipt of an erasure. NOT_FOUND when unknown.' })
  async erasure(@Arg('id', () => ID) id: string, @Ctx() ctx: PrivacyContext): Promise<ErasureReceipt> {
    checkId(id);
    const receipt = await ctx.erasure.receipt(id);
    if (!receipt) throw new NotFoundError(`No erasure has the id ${id}.`);
    return receipt;
  }

  @Authorized(Scope.PII)
  @Query(() => JSONScalar, {
    nullable: true,
    description:
      'Everything held about a person (the customer, or its survivor), in one JSON document: profile, identifiers, traits, every interaction, journeys, lifecycle history, metrics, consents, merges and conflicts, those of merged customers included. Needs the pii scope (or admin); audited.',
  })
  exportCustomer(@Arg('id', () => ID) id: string, @Ctx() ctx: PrivacyContext, @Info() info: GraphQLResolveInfo): Promise<CustomerExport> {
    checkId(id);
    return ctx.exports.export(id, auditScope(ctx.principal, info));
  }
}
