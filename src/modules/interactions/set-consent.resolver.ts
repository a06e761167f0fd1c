import { Arg, Authorized, Ctx, ID, Info, Mutation, Resolver } from 'type-graphql';
import type { GraphQLResolveInfo } from 'graphql';

import { auditScope } from '../audit/audit';
import { Scope } from '../access/scope.enum';
import type { ConsentService } from '../consent/consent.service';
import { ConsentResult, ConsentStatus } from '../consent/consent.types';
import { checkPurpose } from '../consent/validate-consents';
import { IdentifierInput } from '../identity/identifier.input';
import { validateIdentifiers } from '../identity/validate-identifiers';
import { Channel } from '../shared/channel.enum';
import { InputError, type InputProblem } from '../shared/errors';
import { UUID } from '../shared/ids';
import { MAX_FUTURE_MS } from '../shared/time';
import type { InteractionContext } from './interaction.resolver';
import { interactionRules, throwIfRejected } from './record-interaction';

/** What this resolver reads from an operation's context (src/graphql/context.ts builds it). */
export interface SetConsentContext extends InteractionContext {
  consents: ConsentService;
}

// Consent written by identifiers goes through the ingest (it may create or merge the person),
// so it lives with the write path; by id it is the consent service's alone.
@Resolver()
export class SetConsentResolver {
  @Authorized(Scope.WRITE)
  @Mutation(() => ConsentResult, {
    description:
      'Records a consent decision of a person, given by `customerId` or by `identifiers` (resolved like identify: an unknown person is created, several are merged). ' +
      'The decision in force is the most recent by `occurredAt` (default now): an older one joins the history only (`applied: false`). Published as consentChanged when the status in force changes.',
  })
  async setConsent(
    @Arg('customerId', () => ID, { nullable: true }) customerId: string | null,
    @Arg('identifiers', () => [IdentifierInput], { nullable: true }) identifiers: IdentifierInput[] | null,
    @Arg('purpose') purpose: string,
    @Arg('status', () => ConsentStatus) status: ConsentStatus,
    @Arg('channel', () => Channel, { description: 'Where the person gave it (the source).' }) channel: Channel,
    @Arg('occurredAt', () => Date, { nullable: true, description: 'When the person decided; default now, at most 1 day ahead.' }) occurredAt: Date | null,
    @Arg('freshSignUp', () => Boolean, { defaultValue: false, description: 'With identifiers of an erased person: they signed up again and consented.' }) freshSignUp: boolean,
    @Ctx() ctx: SetConsentContext,
    @Info() info: GraphQLResolveInfo,
  ): Promise<ConsentResult> {
    const problems: InputProblem[] = [];
    if ((customerId == null) === (identifiers == null)) problems.push({ field: 'customerId', message: 'give exactly one of customerId and identifiers' });
    if (customerId != null && !UUID.test(customerId)) problems.push({ field: 'customerId', message: `"${customerId}" is not a customer id` });
    const checked = checkPurpose(purpose, new Set(ctx.config.consentPurposes), 'purpose', problems);
    const now = Date.now();
    const at = occurredAt ?? new Date(now);
    if (at.getTime() > now + MAX_FUTURE_MS) problems.push({ field: 'occurredAt', message: 'must not be more than 1 day in the future' });
    else if (at.getTime() < 0) problems.push({ field: 'occurredAt', message: 'must not be before 1970-01-01' });
    const normalized = identifiers ? validateIdentifiers(identifiers, interactionRules(ctx), '', problems) : [];
    if (problems.length) throw new InputError(problems);
    const decision = { purpose: checked!, status, at, channel };
    const audit = auditScope(ctx.principal, info);

    if (customerId) return ctx.consents.setForCustomer(customerId, decision, ctx.principal.id, audit);
    const [outcome] = await ctx.ingest.ingest(ctx.principal.id, [{ identifiers: normalized, traits: null, interaction: null, consents: [decision], freshSignUp }], audit);
    throwIfRejected(outcome, '');
    const [result] = outcome.consents!;
    return { customerId: outcome.customerId!, purpose: result.purpose, status: result.status, since: result.since, applied: result.applied };
  }
}
