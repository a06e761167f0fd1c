import type { AuthChecker } from 'type-graphql';

import { hasScope } from '../modules/access/api-key.service';
import type { Scope } from '../modules/access/scope.enum';
import type { Context } from './context';
import { ForbiddenError } from '../modules/shared/errors';
import { UnauthenticatedError } from './errors';

/**
 * `@Authorized(Scope.WRITE)`: the caller's key must carry every listed scope (admin carries all).
 * On a root field the whole operation is refused; on any other field (mutation results, event
 * payloads, nested objects) only that field is: it resolves to null with this error at its path,
 * and the rest of the result stands.
 */
export const authChecker: AuthChecker<Context, Scope> = ({ context, info }, scopes) => {
  if (!context.principal) throw new UnauthenticatedError();
  const missing = scopes.filter((scope) => !hasScope(context.principal, scope));
  if (missing.length) {
    // No key name: the live server executes an event once per set of scopes and sends the same
    // bytes to every subscriber holding them, whichever key each one uses.
    throw new ForbiddenError(`This API key lacks the ${missing.join(', ')} scope needed for ${info.parentType.name}.${info.fieldName}.`);
  }
  return true;
};
