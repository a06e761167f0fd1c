import type { AuthChecker } from 'type-graphql';

import { hasScope } from '../modules/access/api-key.service';
import type { Scope } from '../modules/access/scope.enum';
import type { Context } from './context';
import { ForbiddenError, UnauthenticatedError } from './errors';

/** `@Authorized(Scope.WRITE)`: the caller's key must carry every listed scope (admin carries all). */
export const authChecker: AuthChecker<Context, Scope> = ({ context, info }, scopes) => {
  if (!context.principal) throw new UnauthenticatedError();
  const missing = scopes.filter((scope) => !hasScope(context.principal, scope));
  if (missing.length) {
    throw new ForbiddenError(`The API key "${context.principal.name}" lacks the ${missing.join(', ')} scope needed for ${info.parentType.name}.${info.fieldName}.`);
  }
  return true;
};
