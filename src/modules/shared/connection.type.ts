import { ArgsType, ClassType, Field, Int, ObjectType } from 'type-graphql';

import type { PageInfoShape } from './connection';

/*
 * The Relay connection object types. Declared with type-graphql beside the domain types that use
 * them (any module may define object types); the schema is assembled in src/graphql/.
 */

@ObjectType()
export class PageInfo implements PageInfoShape {
  @Field()
  hasNextPage!: boolean;

  @Field(() => String, { nullable: true })
  endCursor!: string | null;
}

/** A Relay connection type (`<Name>Connection` with `<Name>Edge`) for a node type. */
export function Connection<T extends object>(Node: ClassType<T>, name: string) {
  @ObjectType(`${name}Edge`)
  class EdgeType {
    @Field()
    cursor!: string;

    @Field(() => Node)
    node!: T;
  }

  @ObjectType()
  abstract class ConnectionType {
    @Field(() => [EdgeType])
    edges!: EdgeType[];

    @Field(() => PageInfo)
    pageInfo!: PageInfo;
  }
  return ConnectionType;
}

/** The largest `first` a list accepts unless it says otherwise (lifecycleTransitions: 500). */
export const MAX_PAGE = 100;

/** `first` and `after` of a page nested in a type; each list's filters extend it. */
@ArgsType()
export class PageArgs {
  @Field(() => Int, { defaultValue: 20, description: `At most ${MAX_PAGE}.` })
  first!: number;

  @Field(() => String, { nullable: true })
  after?: string | null;
}
