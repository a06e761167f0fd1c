import { Arg, Authorized, Ctx, Field, ID, Info, Int, Mutation, ObjectType, Query, Resolver } from 'type-graphql';
import type { GraphQLResolveInfo } from 'graphql';

import { auditScope } from '../audit/audit';
import { InputError } from '../shared/errors';
import { ApiKey } from './api-key.entity';
import type { ApiKeyService, Principal } from './api-key.service';
import { Scope } from './scope.enum';

/** What these resolvers read from an operation's context (src/graphql/context.ts builds it). */
export interface ApiKeyContext {
  apiKeys: ApiKeyService;
  principal: Pick<Principal, 'id' | 'name'>;
}

@ObjectType({ description: 'A key and its secret: the only time the secret is shown. Store it now.' })
export class ApiKeySecret {
  @Field({ description: 'Send as "Authorization: Bearer <secret>".' })
  secret!: string;

  @Field(() => ApiKey)
  apiKey!: ApiKey;
}

// Admin only, every change audited in its transaction; secrets are never listed.
@Resolver(() => ApiKey)
export class ApiKeyResolver {
  @Authorized(Scope.ADMIN)
  @Query(() => [ApiKey], { description: 'Every API key, oldest first, revoked ones included (never their secrets).' })
  apiKeys(@Ctx() ctx: ApiKeyContext): Promise<ApiKey[]> {
    return ctx.apiKeys.list();
  }

  @Authorized(Scope.ADMIN)
  @Mutation(() => ApiKeySecret, { description: 'Creates a key with these scopes (and, optionally, a rate of its own). Its secret is in the answer and nowhere else.' })
  async createApiKey(
    @Arg('name') name: string,
    @Arg('scopes', () => [Scope]) scopes: Scope[],
    @Arg('ratePerSecond', () => Int, { nullable: true }) ratePerSecond: number | null,
    @Arg('burst', () => Int, { nullable: true }) burst: number | null,
    @Ctx() ctx: ApiKeyContext,
    @Info() info: GraphQLResolveInfo,
  ): Promise<ApiKeySecret> {
    const { key, apiKey } = await ctx.apiKeys.create(name, scopes, { rateLimitPerSecond: ratePerSecond, rateLimitBurst: burst }, auditScope(ctx.principal, info));
    return { secret: key, apiKey };
  }

  @Authorized(Scope.ADMIN)
  @Mutation(() => ApiKeySecret, {
    description:
      'Gives the key a new secret; its id, scopes and rate stay. The old secret stops working at once on this instance and within API_KEY_CACHE_SECONDS on others; websocket connections opened with it are closed (4403).',
  })
  async rotateApiKey(@Arg('id', () => ID) id: string, @Ctx() ctx: ApiKeyContext, @Info() info: GraphQLResolveInfo): Promise<ApiKeySecret> {
    if (!id.trim()) throw new InputError([{ field: 'id', message: 'must not be empty' }]);
    const { key, apiKey } = await ctx.apiKeys.rotate(id, auditScope(ctx.principal, info));
    return { secret: key, apiKey };
  }

  @Authorized(Scope.ADMIN)
  @Mutation(() => ApiKey, { description: 'Revokes the key: requests with it get UNAUTHENTICATED, its websocket connections are closed (4403). Revoking it again changes nothing.' })
  revokeApiKey(@Arg('id', () => ID) id: string, @Ctx() ctx: ApiKeyContext, @Info() info: GraphQLResolveInfo): Promise<ApiKey> {
    if (!id.trim()) throw new InputError([{ field: 'id', message: 'must not be empty' }]);
    return ctx.apiKeys.revoke(id, auditScope(ctx.principal, info));
  }
}
