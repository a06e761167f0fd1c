import { UseMiddleware } from 'type-graphql';

import { hasScope, type Principal } from '../access/api-key.service';
import { Scope } from '../access/scope.enum';
import type { PiiPolicy } from './pii-policy';

/** What the masking middleware reads from an operation's context (src/graphql/context.ts builds it). */
export interface PiiContext {
  principal: Pick<Principal, 'scopes'>;
  pii: PiiPolicy;
  /**
   * Customers whose personal data this operation returned unmasked: the transport writes one
   * audit row for them once the operation is answered.
   */
  piiRead?: Set<string>;
}

/** May this caller see personal data as it is? (`admin` carries every scope.) */
export function seesPersonalData(ctx: PiiContext): boolean {
  return hasScope(ctx.principal as Principal, Scope.PII);
}

/**
 * Marks a field as personal data: without the pii scope its value goes through `mask`; with it,
 * the value is returned as is and the customer it belongs to is noted for the audit trail. The
 * one place where masking is decided; only the fields that carry personal data pay for it.
 */
export function PersonalData<Root>(mask: (value: any, root: Root, policy: PiiPolicy) => unknown, customerOf: (root: Root) => string | null | undefined) {
  return UseMiddleware(async ({ root, context }: { root: Root; context: PiiContext }, next) => {
    const value = await next();
    if (value === null || value === undefined) return value;
    if (!seesPersonalData(context)) return mask(value, root, context.pii);
    const customerId = customerOf(root);
    if (customerId) context.piiRead?.add(customerId);
    return value;
  });
}
