import { hash53, type Tx } from '../../db/tx';
import type { IdentifierType } from './identifier-type.enum';
import { identifierKey, type KnownCustomer } from './resolution-plan';
import type { NormalizedIdentifier } from './validate-identifiers';

/**
 * Above this many keys a transaction takes no advisory locks: a big batch would hold thousands
 * (PostgreSQL's shared lock table holds max_locks_per_transaction x max_connections, 6,400 by
 * default). Correctness does not depend on them: the unique indexes on identifiers and external
 * ids catch any race, and the transaction is retried. The locks only spare small, concurrent
 * writers of the same person those retries.
 */
const MAX_ADVISORY_LOCKS = 64;
const MAX_RESOLUTION_ROUNDS = 20;

/** The identity graph moved under a read: retried like a serialization failure. */
export class UnstableRead extends Error {
  code = '40001';
}

/**
 * The advisory locks of a small write, on everything it could race on (identifiers, external
 * ids), sorted so the lock order is global, as one statement without parameters (the keys are
 * numbers computed here) to send with BEGIN: every round trip counts on the hot path. Null when
 * there is nothing to lock or too much (a big batch).
 */
export function advisoryLocks(apiKeyId: string, identifiers: Iterable<NormalizedIdentifier>, externalIds: Iterable<string>): string | null {
  const keys = new Set<number>();
  for (const i of identifiers) if (!i.blocklisted) keys.add(hash53(`i:${identifierKey(i)}`));
  for (const x of externalIds) keys.add(hash53(`x:${apiKeyId}:${x}`));
  if (keys.size === 0 || keys.size > MAX_ADVISORY_LOCKS) return null;
  return `SELECT count(pg_advisory_xact_lock(h)) FROM unnest('{${[...keys].sort((a, b) => a - b).join(',')}}'::bigint[]) AS h`;
}

export interface LockedOwners {
  /** Identifier key → the live customer that holds it. */
  owners: Map<string, string>;
  customers: Map<string, KnownCustomer>;
  /** External id already stored for this API key → its interaction and customer. */
  stored: Map<string, { id: string; customerId: string }>;
  /** Those of the given suppression hashes that are on the list (erased identifiers). */
  suppressed: Set<string>;
}

/**
 * Who owns these identifiers today, with those customers row-locked, and which external ids are
 * already stored; read again until no concurrent merge moved anything, so that a merge and a write
 * to the customer being merged queue.
 */
export async function lockOwners(
  tx: Tx,
  identifiers: Iterable<NormalizedIdentifier>,
  apiKeyId: string,
  externalIds: string[],
  suppressionHashes: string[] = [],
): Promise<LockedOwners> {
  const types: string[] = [];
  const values: string[] = [];
  const seen = new Set<string>();
  for (const i of identifiers) {
    const key = identifierKey(i);
    if (i.blocklisted || seen.has(key)) continue;
    seen.add(key);
    types.push(i.type);
    values.push(i.value);
  }
  const owners = new Map<string, string>();
  const customers = new Map<string, KnownCustomer>();
  const stored = new Map<string, { id: string; customerId: string }>();
  const suppressed = new Set<string>();

  for (let round = 0; round < MAX_RESOLUTION_ROUNDS; round++) {
    owners.clear();
    // The first round also reads the stored external ids (the advisory locks make that read safe);
    // every round reads which identifiers are suppressed (type '#', the hash as value): an erasure
    // that committed while this waited for a row lock has deleted identifiers and suppressed them.
    const rows: Array<{ type: string; value: string; id: string; created_us: string; merged_into_id: string | null }> = await tx.query(
      `WITH owner AS (
         SELECT i.type, i.value, c.id, (extract(epoch FROM c.created_at) * 1000000)::bigint AS created_us, c.merged_into_id
           FROM identifier i JOIN customer c ON c.id = i.customer_id
          WHERE (i.type, i.value) IN (SELECT * FROM unnest($1::varchar[], $2::varchar[]))
          ORDER BY c.id
            FOR UPDATE OF c)
       SELECT type, value, id, created_us, merged_into_id FROM owner
       UNION ALL
       SELECT NULL, external_id, id, NULL, customer_id FROM interaction
        WHERE $3::varchar[] <> '{}' AND api_key_id = $4 AND external_id = ANY($3::varchar[])
       UNION ALL
       SELECT '#', hash, NULL, NULL, NULL FROM suppressed_identifier WHERE $5::bpchar[] <> '{}' AND hash = ANY($5::bpchar[])`,
      [types, values, round === 0 ? externalIds : [], apiKeyId, suppressionHashes],
    );
    for (const row of rows) {
      if (row.type === null) stored.set(row.value, { id: row.id, customerId: row.merged_into_id! });
      else if (row.type === '#') suppressed.add(row.value);
    }
    let stable = true;
    for (const row of rows) {
      if (row.type === null || row.type === '#') continue;
      owners.set(identifierKey(row), row.id);
      if (row.merged_into_id) stable = false;
      else if (!customers.has(row.id)) customers.set(row.id, { id: row.id, createdAtMicros: Number(row.created_us), counts: {} });
    }
    if (!stable) continue;
    if (owners.size === 0) return { owners, customers, stored, suppressed };

    // Locked and live: read their identifier counts and check that nothing moved meanwhile.
    const ids = [...new Set(owners.values())];
    const check: Array<{ kind: string; customer_id: string; type: string; value: string | null; n: number }> = await tx.query(
      `SELECT 'count' AS kind, customer_id, type, NULL AS value, count(*)::int AS n
         FROM identifier WHERE customer_id = ANY($1::uuid[]) GROUP BY customer_id, type
       UNION ALL
       SELECT 'owner', customer_id, type, value, 0
         FROM identifier WHERE (type, value) IN (SELECT * FROM unnest($2::varchar[], $3::varchar[]))`,
      [ids, types, values],
    );
    for (const c of customers.values()) c.counts = {};
    for (const row of check) {
      if (row.kind === 'count') {
        const c = customers.get(row.customer_id);
        if (c) c.counts[row.type as IdentifierType] = row.n;
      } else if (owners.get(identifierKey({ type: row.type, value: row.value! })) !== row.customer_id) {
        stable = false;
      }
    }
    if (stable && check.filter((r) => r.kind === 'owner').length === owners.size) {
      for (const id of [...customers.keys()]) if (!ids.includes(id)) customers.delete(id);
      return { owners, customers, stored, suppressed };
    }
  }
  throw new UnstableRead('identity graph kept changing while resolving; retrying');
}
