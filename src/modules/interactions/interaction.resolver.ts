import { Arg, Args, ArgsType, Authorized, Ctx, Field, FieldResolver, Info, Mutation, ObjectType, Resolver, Root } from 'type-graphql';
import type { GraphQLResolveInfo } from 'graphql';

import type DataLoader from 'dataloader';

import { checkFirst, type ConnectionShape } from '../shared/connection';
import { Connection, MAX_PAGE, PageArgs } from '../shared/connection.type';
import { fieldPath, InputError, type InputProblem } from '../shared/errors';
import { JSONScalar } from '../shared/scalars/json.scalar';
import { Channel } from '../shared/channel.enum';
import { Scope } from '../access/scope.enum';
import type { Principal } from '../access/api-key.service';
import { auditScope } from '../audit/audit';
import { Customer } from '../customers/customer.entity';
import { IdentifierInput } from '../identity/identifier.input';
import { validateIdentifiers } from '../identity/validate-identifiers';
import { RecordStatus, type IngestItem, type IngestService } from './ingest.service';
import { Interaction } from './interaction.entity';
import { InteractionType } from './interaction-type.enum';
import type { InteractionPageArgs } from './interaction.repository';
import { IdentifyResult, RecordInteractionResult } from './record-result.type';
import { RecordInteractionInput } from './record-interaction.input';
import { ingestItem, interactionRules, throwIfRejected, toResult, type InteractionConfig } from './record-interaction';
import { validateInteraction, validateJsonObject } from './validate-interaction';

/** What these resolvers read from an operation's context (src/graphql/context.ts builds it). */
export interface InteractionContext {
  config: InteractionConfig;
  principal: Pick<Principal, 'id' | 'name'>;
  ingest: IngestService;
  loaders: {
    customer: DataLoader<string, Customer | null>;
    interaction: DataLoader<string, Interaction | null>;
    interactions(args: InteractionPageArgs): DataLoader<string, ConnectionShape<Interaction>>;
  };
}

@ObjectType()
export class InteractionConnection extends Connection(Interaction, 'Interaction') {}

@ArgsType()
class CustomerInteractionsArgs extends PageArgs {
  @Field(() => Channel, { nullable: true })
  channel?: Channel | null;

  @Field(() => InteractionType, { nullable: true })
  type?: InteractionType | null;
}

// A write key learns what became of its own items (ids, statuses); the profile the item landed in
// holds other clients' data, so reading it back needs the read scope like any query.
@Resolver(() => RecordInteractionResult)
export class RecordInteractionResultResolver {
  @Authorized(Scope.READ)
  @FieldResolver(() => Interaction, { nullable: true, description: 'The stored interaction (the original one for a DUPLICATE). Needs the read scope.' })
  interaction(@Root() result: RecordInteractionResult, @Ctx() ctx: InteractionContext): Promise<Interaction | null> | null {
    return result.interactionId ? ctx.loaders.interaction.load(result.interactionId) : null;
  }

  @Authorized(Scope.READ)
  @FieldResolver(() => Customer, { nullable: true, description: 'The customer now (after any merge). Needs the read scope.' })
  customer(@Root() result: RecordInteractionResult, @Ctx() ctx: InteractionContext): Promise<Customer | null> | null {
    return result.customerId ? ctx.loaders.customer.load(result.customerId) : null;
  }
}

@Resolver(() => IdentifyResult)
export class IdentifyResultResolver {
  @Authorized(Scope.READ)
  @FieldResolver(() => Customer, { nullable: true, description: 'The customer now (after any merge). Needs the read scope.' })
  async customer(@Root() result: IdentifyResult, @Ctx() ctx: InteractionContext): Promise<Customer | null> {
    return ctx.loaders.customer.load(result.customerId);
  }
}

@Resolver(() => Interaction)
export class InteractionResolver {
  @FieldResolver(() => Customer, { description: 'The customer it belongs to now.' })
  customer(@Root() interaction: Interaction, @Ctx() ctx: InteractionContext): Promise<Customer | null> {
    return ctx.loaders.customer.load(interaction.customerId);
  }

  @Authorized(Scope.WRITE)
  @Mutation(() => RecordInteractionResult, {
    description: 'Records one interaction. Invalid input fails with BAD_USER_INPUT and the field path; nothing is written.',
  })
  async recordInteraction(
    @Arg('input', () => RecordInteractionInput) input: RecordInteractionInput,
    @Ctx() ctx: InteractionContext,
    @Info() info: GraphQLResolveInfo,
  ): Promise<RecordInteractionResult> {
    const { data, problems } = validateInteraction(input, interactionRules(ctx), 'input', new Date());
    if (!data) throw new InputError(problems);
    const outcome = await ctx.ingest.ingestOne(ctx.principal.id, ingestItem(data), auditScope(ctx.principal, info));
    throwIfRejected(outcome, 'input');
    return toResult(outcome, 0, 'input');
  }

  @Authorized(Scope.WRITE)
  @Mutation(() => [RecordInteractionResult], {
    description:
      'Records up to 1,000 interactions, in order, in one round trip. One result per item: CREATED, DUPLICATE, or REJECTED ' +
      'with every problem and its path. A rejected item writes nothing and never blocks the others.',
  })
  async recordInteractions(
    @Arg('inputs', () => [RecordInteractionInput]) inputs: RecordInteractionInput[],
    @Ctx() ctx: InteractionContext,
    @Info() info: GraphQLResolveInfo,
  ): Promise<RecordInteractionResult[]> {
    const max = ctx.config.maxBatchSize;
    if (inputs.length > max) throw new InputError([{ field: 'inputs', message: `at most ${max} interactions per call, got ${inputs.length}` }]);
    const now = new Date();
    const r = interactionRules(ctx);
    const problems: InputProblem[][] = [];
    const items: Array<IngestItem | null> = inputs.map((input, index) => {
      const checked = validateInteraction(input, r, fieldPath('inputs', index), now);
      problems[index] = checked.problems;
      return checked.data ? ingestItem(checked.data) : null;
    });
    const outcomes = items.some(Boolean) ? await ctx.ingest.ingest(ctx.principal.id, items, auditScope(ctx.principal, info)) : items.map(() => null);
    return inputs.map((_, index) => {
      const outcome = outcomes[index];
      if (!outcome || (outcome.status === RecordStatus.REJECTED && outcome.problems.length === 0)) {
        return toResult({ status: RecordStatus.REJECTED, customerId: null, interactionId: null, warnings: [], mergedCustomerIds: [], problems: problems[index] }, index, fieldPath('inputs', index), true);
      }
      return toResult(outcome, index, fieldPath('inputs', index));
    });
  }

  @Authorized(Scope.WRITE)
  @Mutation(() => IdentifyResult, {
    description: 'Resolves (and merges, when they link several customers) identifiers without recording an interaction; merges traits into the profile.',
  })
  async identify(
    @Arg('identifiers', () => [IdentifierInput]) identifiers: IdentifierInput[],
    @Arg('traits', () => JSONScalar, { nullable: true }) traits: unknown,
    @Arg('freshSignUp', () => Boolean, { defaultValue: false, description: 'The person signed up again and consented: identifiers of an erased person are accepted (see RecordInteractionInput.freshSignUp).' })
    freshSignUp: boolean,
    @Ctx() ctx: InteractionContext,
    @Info() info: GraphQLResolveInfo,
  ): Promise<IdentifyResult> {
    const problems: InputProblem[] = [];
    const normalized = validateIdentifiers(identifiers, interactionRules(ctx), '', problems);
    const checkedTraits = validateJsonObject(traits, 'traits', problems);
    if (problems.length) throw new InputError(problems);
    const [outcome] = await ctx.ingest.ingest(ctx.principal.id, [{ identifiers: normalized, traits: checkedTraits, interaction: null, freshSignUp }], auditScope(ctx.principal, info));
    throwIfRejected(outcome, '');
    return {
      customerId: outcome.customerId!,
      warnings: outcome.warnings,
      mergedCustomerIds: outcome.mergedCustomerIds,
    };
  }
}

@Resolver(() => Customer)
export class CustomerInteractionsResolver {
  @FieldResolver(() => InteractionConnection, { description: 'Newest first.' })
  interactions(@Root() customer: Customer, @Args(() => CustomerInteractionsArgs) args: CustomerInteractionsArgs, @Ctx() ctx: InteractionContext): Promise<ConnectionShape<Interaction>> {
    checkFirst(args.first, MAX_PAGE, 'first');
    return ctx.loaders.interactions(args).load(customer.id);
  }
}
