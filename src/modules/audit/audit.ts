import type { DataSource } from 'typeorm';

import { sqlParams, type Param } from '../../db/params';
import type { Queryable } from '../../db/tx';
import { uuidv7 } from '../../db/uuid';
import { cursorTime, decodeCursor, encodeCursor, toConnection, type ConnectionShape } from '../shared/connection';
import { AuditKind, type AuditFilter, type AuditRecord } from './audit.types';

/** Customers listed on one row; the count says how many there were in all. */
export const MAX_AUDIT_CUSTOMERS = 1000;

/** Who is acting, and through which operation: what a resolver hands the service that writes. */
export interface AuditScope {
  keyId: string | null;
  actor: string;
  operation: string;
  operationName: string | null;
}

export interface AuditEntry extends AuditScope {
  kind: AuditKind;
  customerIds: Iterable<string>;
  details?: Record<string, unknown>;
}

/** The audit scope of a resolver: its key, and `Type.field` of the root field it serves. */
export function auditScope(principal: { id: string; name: string }, info: { parentType: { name: string }; fieldName: string; operation?: { name?: { value: string } | null } }): AuditScope {
  return { keyId: principal.id, actor: principal.name, operation: `${info.parentType.name}.${info.fieldName}`, operationName: info.operation?.name?.value ?? null };
}

/** A command-line actor (no key). */
export const cliScope = (command: string): AuditScope => ({ keyId: null, actor: `cli:${command}`, operation: command, operationName: null });

/** The audit table's columns, in the order every insert of a row gives them (here and in the compiled reads). */
export const AUDIT_COLUMNS = 'id, at, api_key_id, actor, kind, operation, operation_name, customer_ids, customer_count, details';

/** A scope's text columns as stored: at most 100 characters each (the columns' width). */
export function auditText(scope: AuditScope): { actor: string; operation: string; operationName: string | null } {
  return { actor: scope.actor.slice(0, 100), operation: scope.operation.slice(0, 100), operationName: scope.operationName?.slice(0, 100) ?? null };
}

/** The data-modifying CTE appending `entries`, for a write statement's WITH list: audited in the same transaction as the change. */
export function auditInsertSql(entries: AuditEntry[], param: Param, at = 'now()'): string[] {
  if (entries.length === 0) return [];
  const rows = entries.map((e) => {
    const ids = [...new Set(e.customerIds)].sort();
    return { ...e, ...auditText(e), ids: ids.slice(0, MAX_AUDIT_CUSTOMERS), count: ids.length };
  });
  return [
    `audit_insert AS (
      INSERT INTO audit (${AUDIT_COLUMNS})
      SELECT u.id, ${at}, u.key_id, u.actor, u.kind, u.operation, u.operation_name, ARRAY(SELECT jsonb_array_elements_text(u.ids))::uuid[], u.n, u.details
        FROM unnest(${param(rows.map(() => uuidv7()), 'uuid[]')}, ${param(rows.map((r) => r.keyId), 'uuid[]')}, ${param(rows.map((r) => r.actor), 'varchar[]')},
                    ${param(rows.map((r) => r.kind), 'varchar[]')}, ${param(rows.map((r) => r.operation), 'varchar[]')},
                    ${param(rows.map((r) => r.operationName), 'varchar[]')}, ${param(rows.map((r) => JSON.stringify(r.ids)), 'jsonb[]')},
                    ${param(rows.map((r) => r.count), 'int[]')}, ${param(rows.map((r) => JSON.stringify(r.details ?? {})), 'jsonb[]')})
          AS u(id, key_id, actor, kind, operation, operation_name, ids, n, details))`,
  ];
}

/**
 * The unmasked reads of one key through one operation that share an insert, as one row: the
 * customers of all of them (each once), and in `details.reads` how many reads it stands for.
 * Other entries are kept as they are.
 */
export function coalesceReads(entries: AuditEntry[]): AuditEntry[] {
  const out: AuditEntry[] = [];
  const reads = new Map<string, { entry: AuditEntry; ids: Set<string>; n: number }>();
  for (const e of entries) {
    if (e.kind !== AuditKind.PII_READ || e.details) {
      out.push(e);
      continue;
    }
    const key = `${e.keyId}\u0001${e.actor}\u0001${e.operation}\u0001${e.operationName ?? ''}`;
    const seen = reads.get(key);
    if (!seen) {
      const group = { entry: { ...e }, ids: new Set(e.customerIds), n: 1 };
      reads.set(key, group);
      out.push(group.entry);
      continue;
    }
    for (const id of e.customerIds) seen.ids.add(id);
    seen.n++;
  }
  for (const { entry, ids, n } of reads.values()) {
    entry.customerIds = ids;
    if (n > 1) entry.details = { reads: n };
  }
  return out;
}

type Row = Record<string, any>;

function toRecord(row: Row): AuditRecord {
  return {
    id: row.id,
    at: row.at,
    keyId: row.api_key_id,
    actor: row.actor,
    kind: row.kind,
    operation: row.operation,
    operationName: row.operation_name,
    customerIds: row.customer_ids,
    customerCount: row.customer_count,
    details: row.details,
  };
}

/** The audit trail: appended to by every change and every unmasked read; read by admins; pruned after its retention. */
export class AuditService {
  /** Entries waiting for the next shared insert, with the callers waiting on it. */
  private pending: Array<{ entries: AuditEntry[]; done: (err?: unknown) => void }> = [];
  private flushing: Promise<void> | null = null;

  constructor(private readonly dataSource: DataSource) {}

  /**
   * Appends rows like `record`, but shares one INSERT (and one commit) with the other reads
   * audited at the same moment: the rows gathered while the previous insert runs go in the next.
   * Each caller still waits until its rows are stored, so an unmasked read is audited before it
   * is answered, at a fraction of the cost when many arrive together.
   */
  recordShared(entries: AuditEntry[]): Promise<void> {
    if (entries.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ entries, done: (err) => (err ? reject(err) : resolve()) });
      if (!this.flushing) this.flushing = this.flush();
    });
  }

  /** Whether a shared insert is gathering or running: a caller alone may do better writing its own row. */
  get sharing(): boolean {
    return this.flushing !== null;
  }

  private async flush(): Promise<void> {
    // Let the requests of this turn of the event loop join the first insert.
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (this.pending.length) {
      const batch = this.pending;
      this.pending = [];
      try {
        await this.record(coalesceReads(batch.flatMap((b) => b.entries)));
        for (const b of batch) b.done();
      } catch (err) {
        for (const b of batch) b.done(err);
      }
    }
    this.flushing = null;
  }

  /** Appends rows on their own (or in the transaction of `db`). */
  async record(entries: AuditEntry[], db: Queryable = this.dataSource): Promise<void> {
    if (entries.length === 0) return;
    const { params, param } = sqlParams();
    await db.query(`WITH ${auditInsertSql(entries, param).join(',\n')}\nSELECT 1`, params);
  }

  /** Newest first, keyset-paged on (at, id). */
  async page(filter: AuditFilter | null | undefined, first: number, after: string | null | undefined): Promise<ConnectionShape<AuditRecord>> {
    const { params, param } = sqlParams();
    const where = ['true'];
    const cursor = decodeCursor(after, 'after');
    if (cursor) where.push(`(a.at, a.id) < (${param(cursor.at)}::timestamptz, ${param(cursor.id)}::uuid)`);
    if (filter?.customerId) where.push(`a.customer_ids @> ARRAY[${param(filter.customerId)}::uuid]`);
    if (filter?.keyId) where.push(`a.api_key_id = ${param(filter.keyId)}::uuid`);
    if (filter?.kind) where.push(`a.kind = ${param(filter.kind)}`);
    if (filter?.operation) where.push(`a.operation = ${param(filter.operation)}`);
    if (filter?.from) where.push(`a.at >= ${param(filter.from)}`);
    if (filter?.to) where.push(`a.at < ${param(filter.to)}`);
    const rows: Row[] = await this.dataSource.query(
      `SELECT a.*, ${cursorTime('a.at')} AS cursor_at FROM audit a WHERE ${where.join(' AND ')} ORDER BY a.at DESC, a.id DESC LIMIT ${param(first + 1)}`,
      params,
    );
    const cursors = new Map(rows.map((r) => [r.id as string, encodeCursor(r.cursor_at, r.id)]));
    return toConnection(rows.map(toRecord), first, (r) => cursors.get(r.id)!);
  }

  /** Deletes rows older than `before` (the only deletion the table's trigger lets through). */
  async prune(before: Date): Promise<number> {
    return this.dataSource.transaction(async (m) => {
      await m.query(`SET LOCAL customer_graph.audit_prune = 'on'`);
      const result = await m.query(`DELETE FROM audit WHERE at < $1`, [before]);
      return result[1] ?? 0;
    });
  }
}
