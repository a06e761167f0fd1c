import { registerEnumType } from 'type-graphql';

export enum Scope {
  READ = 'read',
  WRITE = 'write',
  /** Personal data unmasked: identifier values, personal traits, free-text properties; exports. */
  PII = 'pii',
  /** Live events over graphql-ws. */
  SUBSCRIBE = 'subscribe',
  ADMIN = 'admin',
}

registerEnumType(Scope, { name: 'Scope', description: 'What an API key may do.' });

export function parseScopes(raw: string): Scope[] {
  const scopes = raw.split(',').map((s) => s.trim()).filter(Boolean);
  const known = new Set<string>(Object.values(Scope));
  const unknown = scopes.filter((s) => !known.has(s));
  if (unknown.length || scopes.length === 0) {
    throw new Error(`scopes must be a comma-separated list of ${[...known].join(', ')}; got "${raw}"`);
  }
  return [...new Set(scopes)] as Scope[];
}
