import { IdentifierType } from '../shared/identifier-type.enum';

export { IdentifierType };

// The declaration order of the shared enum is the conflict order: identity/ is what relies on it.
export const IDENTIFIER_PRIORITY: readonly IdentifierType[] = Object.values(IdentifierType);
