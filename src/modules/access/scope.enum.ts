// The scopes are named by every resolver, the audit trail's included: they sit on the shared floor.
export { parseScopes, Scope } from '../shared/scope.enum';
