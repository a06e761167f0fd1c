import { Arg, Authorized, Ctx, Int, ObjectType, Query, Resolver } from 'type-graphql';

import { Scope } from '../shared/scope.enum';
import { checkFirst, type ConnectionShape } from '../shared/connection';
import { Connection } from '../shared/connection.type';
import { InputError } from '../shared/errors';
import { UUID } from '../shared/ids';
import type { AuditService } from './audit';
import { AuditFilter, AuditRecord } from './audit.types';

/** What these resolvers read from an operation's context (src/graphql/context.ts builds it). */
export interface AuditContext {
  audit: AuditService;
}

@ObjectType()
export class AuditRecordConnection extends Connection(AuditRecord, 'AuditRecord') {}

// Read-only: no field of the API changes or deletes audit rows (the table refuses it too).
@Resolver()
export class AuditResolver {
  @Authorized(Scope.ADMIN)
  @Query(() => AuditRecordConnection, { description: 'The audit trail, newest first. `first` at most 500.' })
  auditLog(
    @Arg('filter', () => AuditFilter, { nullable: true }) filter: AuditFilter | null,
    @Arg('first', () => Int, { defaultValue: 50 }) first: number,
    @Arg('after', () => String, { nullable: true }) after: string | null,
    @Ctx() ctx: AuditContext,
  ): Promise<ConnectionShape<AuditRecord>> {
    checkFirst(first, 500, 'first');
    for (const field of ['customerId', 'keyId'] as const) {
      const value = filter?.[field];
      if (value != null && !UUID.test(value)) throw new InputError([{ field: `filter.${field}`, message: `"${value}" is not an id` }]);
    }
    if (filter?.from && filter.to && filter.from > filter.to) throw new InputError([{ field: 'filter.to', message: 'must not be before `from`' }]);
    return ctx.audit.page(filter, first, after);
  }
}
