import type { ApolloServerPlugin } from '@apollo/server';
import { Kind, type OperationDefinitionNode } from 'graphql';

import type { Principal } from '../modules/access/api-key.service';
import type { AuditEntry, AuditService } from '../modules/audit/audit';
import { AuditKind } from '../modules/audit/audit.types';
import type { Context } from './context';

/** `Query.customer,Query.customers`: the root fields an operation selects (fragments aside). */
export function rootFields(operation: OperationDefinitionNode | null | undefined): string {
  if (!operation) return 'unknown';
  const type = operation.operation === 'query' ? 'Query' : operation.operation === 'mutation' ? 'Mutation' : 'Subscription';
  const names = operation.selectionSet.selections.flatMap((s) => (s.kind === Kind.FIELD ? [`${type}.${s.name.value}`] : []));
  return [...new Set(names)].join(',') || type;
}

/** The audit row of an operation that returned personal data unmasked. */
export function piiReadEntry(principal: Pick<Principal, 'id' | 'name'>, operation: string, operationName: string | null | undefined, customerIds: Iterable<string>): AuditEntry {
  return { keyId: principal.id, actor: principal.name, kind: AuditKind.PII_READ, operation, operationName: operationName ?? null, customerIds };
}

/**
 * Apollo plugin: once an HTTP operation is answered, one audit row for the customers whose
 * personal data it returned unmasked (collected by the masking middleware), written before the
 * response leaves. A masked read leaves none.
 */
export function piiAuditPlugin(): ApolloServerPlugin<Context> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ contextValue, operation }) {
          const read = contextValue.piiRead;
          if (!read?.size) return;
          await contextValue.audit.recordShared([piiReadEntry(contextValue.principal, rootFields(operation), operation?.name?.value, read)]);
        },
      };
    },
  };
}

/**
 * Audit rows of unmasked reads made by live deliveries, gathered over one turn of the event loop
 * (a relay batch fans out within it) and written in one statement.
 */
export class LiveReadAudit {
  private pending = new Map<string, AuditEntry & { customerIds: Set<string> }>();
  private scheduled = false;

  constructor(private readonly audit: AuditService) {}

  add(principal: Pick<Principal, 'id' | 'name'>, operation: string, operationName: string | undefined, customerIds: Iterable<string>): void {
    const key = `${principal.id}\u0001${operation}\u0001${operationName ?? ''}`;
    let entry = this.pending.get(key);
    if (!entry) this.pending.set(key, (entry = { ...piiReadEntry(principal, operation, operationName, []), customerIds: new Set() }));
    for (const id of customerIds) entry.customerIds.add(id);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => void this.flush());
    }
  }

  async flush(): Promise<void> {
    this.scheduled = false;
    const entries = [...this.pending.values()];
    this.pending = new Map();
    await this.audit.record(entries).catch((err) => console.error('[audit] live read audit failed:', (err as Error).message));
  }
}
