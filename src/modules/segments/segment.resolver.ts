import { Arg, Authorized, Ctx, FieldResolver, ID, Info, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { GraphQLResolveInfo } from 'graphql';

import type DataLoader from 'dataloader';

import { Scope } from '../access/scope.enum';
import { auditScope } from '../audit/audit';
import { Customer } from '../customers/customer.entity';
import { CustomerConnection } from '../customers/customer.resolver';
import { checkFirst, type ConnectionShape } from '../shared/connection';
import { MAX_PAGE } from '../shared/connection.type';
import { InputError, NotFoundError } from '../shared/errors';
import { UUID } from '../shared/ids';
import type { SegmentService } from './segment.service';
import { Segment, SegmentDefinitionInput, SegmentSize } from './segment.types';

/** What these resolvers read from an operation's context (src/graphql/context.ts builds it). */
export interface SegmentContext {
  principal: { id: string; name: string };
  segments: SegmentService;
  loaders: {
    segmentSize: DataLoader<string, number>;
    segmentsOf: DataLoader<string, Segment[]>;
  };
}

function checkId(id: string, field = 'id'): void {
  if (!UUID.test(id)) throw new InputError([{ field, message: `"${id}" is not an id` }]);
}

@Resolver(() => Segment)
export class SegmentResolver {
  @Authorized(Scope.READ)
  @Query(() => [Segment], { description: 'Every segment, by name.' })
  segments(@Ctx() ctx: SegmentContext): Promise<Segment[]> {
    return ctx.segments.list();
  }

  @Authorized(Scope.READ)
  @Query(() => Segment, { nullable: true, description: 'A segment by id. NOT_FOUND when unknown.' })
  async segment(@Arg('id', () => ID) id: string, @Ctx() ctx: SegmentContext): Promise<Segment> {
    checkId(id);
    const segment = await ctx.segments.byId(id);
    if (!segment) throw new NotFoundError(`No segment has the id ${id}.`);
    return segment;
  }

  @FieldResolver(() => Int, { description: 'Members now.' })
  size(@Root() s: Segment, @Ctx() ctx: SegmentContext): Promise<number> {
    return ctx.loaders.segmentSize.load(s.id);
  }

  @FieldResolver(() => CustomerConnection, { description: `Members, newest first. \`first\` defaults to 20, at most ${MAX_PAGE}.` })
  members(
    @Root() s: Segment,
    @Arg('first', () => Int, { defaultValue: 20 }) first: number,
    @Arg('after', () => String, { nullable: true }) after: string | null,
    @Ctx() ctx: SegmentContext,
  ): Promise<ConnectionShape<Customer>> {
    checkFirst(first, MAX_PAGE, 'first');
    return ctx.segments.members(s.id, first, after);
  }

  @FieldResolver(() => [SegmentSize], { description: 'Sizes recorded in [from, to): at the end of each evaluation and hourly; at most 1,000, oldest first.' })
  sizeHistory(@Root() s: Segment, @Arg('from', () => Date, { nullable: true }) from: Date | null, @Arg('to', () => Date, { nullable: true }) to: Date | null, @Ctx() ctx: SegmentContext): Promise<SegmentSize[]> {
    if (from && to && from > to) throw new InputError([{ field: 'to', message: 'must not be before `from`' }]);
    return ctx.segments.sizeHistory(s.id, from, to);
  }

  @Authorized(Scope.ADMIN)
  @Mutation(() => Segment, { description: 'Saves a segment; its members are evaluated in the background (status EVALUATING, then READY) and kept current by every write from then on.' })
  createSegment(
    @Arg('name') name: string,
    @Arg('definition', () => SegmentDefinitionInput) definition: SegmentDefinitionInput,
    @Arg('description', () => String, { nullable: true }) description: string | null,
    @Ctx() ctx: SegmentContext,
    @Info() info: GraphQLResolveInfo,
  ): Promise<Segment> {
    return ctx.segments.create(name, description, definition, auditScope(ctx.principal, info));
  }

  @Authorized(Scope.ADMIN)
  @Mutation(() => Segment, { description: 'Renames a segment or changes its definition (members are then evaluated again in the background; entries and exits are published).' })
  updateSegment(
    @Arg('id', () => ID) id: string,
    @Arg('name', () => String, { nullable: true }) name: string | null,
    @Arg('description', () => String, { nullable: true }) description: string | null,
    @Arg('definition', () => SegmentDefinitionInput, { nullable: true }) definition: SegmentDefinitionInput | null,
    @Ctx() ctx: SegmentContext,
    @Info() info: GraphQLResolveInfo,
  ): Promise<Segment> {
    checkId(id);
    return ctx.segments.update(id, name, description ?? undefined, definition, auditScope(ctx.principal, info));
  }

  @Authorized(Scope.ADMIN)
  @Mutation(() => Boolean, { description: 'Deletes a segment and its memberships (no exit events are published).' })
  deleteSegment(@Arg('id', () => ID) id: string, @Ctx() ctx: SegmentContext, @Info() info: GraphQLResolveInfo): Promise<boolean> {
    checkId(id);
    return ctx.segments.delete(id, auditScope(ctx.principal, info));
  }
}

// Segments add this to Customer: customers/ knows nothing of them.
@Resolver(() => Customer)
export class CustomerSegmentsResolver {
  @FieldResolver(() => [Segment], { description: 'Segments this customer is a member of now.' })
  segments(@Root() c: Customer, @Ctx() ctx: SegmentContext): Promise<Segment[]> {
    return ctx.loaders.segmentsOf.load(c.id);
  }
}
