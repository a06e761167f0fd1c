import type { DataSource } from 'typeorm';

import { sqlParams } from '../../db/params';
import { inTransaction, withConnection, type Tx } from '../../db/tx';
import { uuidv7 } from '../../db/uuid';
import { auditInsertSql, type AuditScope } from '../audit/audit';
import { AuditKind } from '../audit/audit.types';
import { eventInsertSql, Topic, type CommitSignal } from '../events/event';
import { isBlocklisted } from '../identity/normalize';
import type { Suppression } from '../identity/suppression';
import { IdentifierType } from '../shared/identifier-type.enum';
import { InputError, NotFoundError } from '../shared/errors';
import type { ErasedRows, ErasureReceipt } from './erasure.types';
import type { SegmentService } from '../segments/segment.service';

type Row = Record<string, any>;

const MAX_REASON = 500;
const pairKey = (type: string, value: string) => `${type}:${value}`;

function toReceipt(row: Row): ErasureReceipt {
  return {
    id: row.id,
    customerId: row.customer_id,
    mergedCustomerIds: row.customer_ids.filter((id: string) => id !== row.customer_id),
    at: row.at,
    keyId: row.api_key_id,
    actor: row.actor,
    reason: row.reason,
    removed: row.removed,
    suppressedIdentifiers: row.suppressed,
  };
}

/**
 * Erasure of a person across the whole identity graph: the survivor and every customer merged
 * into it lose every identifier, raw value, trait and free-text property, and every copy of them
 * (identifiers carried on interactions, the merge ledger, identity conflicts, merge events). What
 * is anonymous stays — the customer rows with their stage and metrics, interactions with their
 * type, channel, amount and time, journeys, transitions, consents — so every aggregate is the same
 * afterwards. The identifiers go on the suppression list as keyed hashes, so that the person is
 * not rebuilt by the next event that names them.
 */
export class ErasureService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly suppression: Suppression,
    private readonly blocklist: ReadonlySet<string>,
    private readonly segments: Pick<SegmentService, 'refresh'>,
    private readonly signal?: CommitSignal,
  ) {}

  async erase(customerId: string, reason: string, audit: AuditScope): Promise<ErasureReceipt> {
    const why = reason.trim();
    if (!why || why.length > MAX_REASON) throw new InputError([{ field: 'reason', message: `must be 1 to ${MAX_REASON} characters (say why, without personal data: it is kept)` }]);
    const receipt = await withConnection(this.dataSource, (tx) => inTransaction(tx, () => this.eraseInTransaction(tx, customerId, why, audit)));
    this.signal?.committed();
    return receipt;
  }

  async receipt(id: string): Promise<ErasureReceipt | null> {
    const [row] = await this.dataSource.query(`SELECT * FROM erasure WHERE id = $1`, [id]);
    return row ? toReceipt(row) : null;
  }

  private async eraseInTransaction(tx: Tx, customerId: string, reason: string, audit: AuditScope): Promise<ErasureReceipt> {
    // The survivor's row lock: no write, merge or consent of this person runs meanwhile.
    const [survivor] = await tx.query<{ id: string }>(
      `SELECT c.id FROM customer t JOIN customer c ON c.id = coalesce(t.merged_into_id, t.id) WHERE t.id = $1 AND c.merged_into_id IS NULL FOR UPDATE OF c`,
      [customerId],
    );
    if (!survivor) throw new NotFoundError(`No customer has the id ${customerId}.`);
    const id = survivor.id;
    const merged = (await tx.query<{ id: string }>(`SELECT id FROM customer WHERE merged_into_id = $1 ORDER BY id`, [id])).map((r) => r.id);
    const ids = [id, ...merged];

    // Every identifier value of the person: held ones, and those their interactions carried.
    const held = await tx.query<{ type: string; value: string }>(`SELECT type, value FROM identifier WHERE customer_id = ANY($1::uuid[])`, [ids]);
    const carried = await tx.query<{ type: string; value: string; owner: string | null }>(
      `SELECT DISTINCT e->>'type' AS type, e->>'value' AS value, o.customer_id AS owner
         FROM interaction i CROSS JOIN LATERAL jsonb_array_elements(i.identifiers) AS e
         LEFT JOIN identifier o ON o.type = e->>'type' AND o.value = e->>'value'
        WHERE i.customer_id = ANY($1::uuid[])`,
      [ids],
    );
    const values = new Map<string, { type: string; value: string }>();
    for (const h of held) values.set(pairKey(h.type, h.value), h);
    for (const c of carried) {
      // Junk values (test@test.com) are everyone's and no one's; another person's identifier is theirs.
      if (isBlocklisted(c.type as IdentifierType, c.value, this.blocklist)) continue;
      if (c.owner && !ids.includes(c.owner)) continue;
      values.set(pairKey(c.type, c.value), c);
    }
    const pairs = [...values.values()];
    const types = pairs.map((p) => p.type);
    const vals = pairs.map((p) => p.value);
    const texts = pairs.map((p) => pairKey(p.type, p.value));
    const erasureId = uuidv7();
    const count = async (sql: string, params: unknown[]) => (await tx.query<{ n: number }>(`WITH changed AS (${sql} RETURNING 1) SELECT count(*)::int AS n FROM changed`, params))[0].n;
    const removed: ErasedRows[] = [];
    const note = (table: string, what: string, rows: number) => removed.push({ table, what, rows });

    note('identifier', 'rows deleted', await count(`DELETE FROM identifier WHERE customer_id = ANY($1::uuid[])`, [ids]));
    note('customer', 'traits emptied', await count(`UPDATE customer SET traits = '{}', erased_at = now(), updated_at = now() WHERE id = ANY($1::uuid[])`, [ids]));
    note(
      'interaction',
      'identifiers and properties emptied',
      await count(`UPDATE interaction SET identifiers = '[]', properties = '{}' WHERE customer_id = ANY($1::uuid[]) AND (identifiers <> '[]' OR properties <> '{}')`, [ids]),
    );
    // Interactions of other people that carried one of the person's identifiers (a refused merge).
    note(
      'interaction',
      "the person's identifiers removed from other customers' interactions",
      await count(
        `UPDATE interaction i SET identifiers = coalesce((SELECT jsonb_agg(e) FROM jsonb_array_elements(i.identifiers) AS e WHERE NOT ((e->>'type') || ':' || (e->>'value')) = ANY($2::text[])), '[]')
          WHERE i.id IN (SELECT interaction_id FROM identity_conflict WHERE interaction_id IS NOT NULL AND (customer_id = ANY($1::uuid[]) OR other_customer_ids && $1::uuid[]))
            AND i.customer_id <> ALL($1::uuid[])
            AND EXISTS (SELECT 1 FROM jsonb_array_elements(i.identifiers) AS e WHERE ((e->>'type') || ':' || (e->>'value')) = ANY($2::text[]))`,
        [ids, texts],
      ),
    );
    note(
      'merge',
      'identifier_value emptied',
      await count(
        `UPDATE merge SET identifier_value = NULL
          WHERE identifier_value IS NOT NULL
            AND (survivor_id = ANY($1::uuid[]) OR merged_id = ANY($1::uuid[]) OR (identifier_type, identifier_value) IN (SELECT * FROM unnest($2::varchar[], $3::varchar[])))`,
        [ids, types, vals],
      ),
    );
    note(
      'identity_conflict',
      'identifier_value and reason emptied',
      await count(
        `UPDATE identity_conflict SET identifier_value = NULL, reason = 'merge refused; the details were removed by erasure ' || $4
          WHERE customer_id = ANY($1::uuid[]) OR other_customer_ids && $1::uuid[]
             OR (identifier_type, identifier_value) IN (SELECT * FROM unnest($2::varchar[], $3::varchar[]))
             OR EXISTS (SELECT 1 FROM unnest($3::varchar[]) AS v(value) WHERE position(v.value IN reason) > 0)`,
        [ids, types, vals, erasureId],
      ),
    );
    note(
      'event',
      'payload identifierValue emptied',
      await count(
        `UPDATE event SET payload = jsonb_set(payload, '{identifierValue}', 'null')
          WHERE topic = '${Topic.CUSTOMER_MERGED}' AND payload->>'identifierValue' IS NOT NULL
            AND (customer_id = ANY($1::uuid[]) OR payload->>'mergedId' = ANY($1::text[]) OR payload->>'identifierValue' = ANY($2::text[]))`,
        [ids, vals],
      ),
    );

    const hashes = pairs.map((p) => this.suppression.hash(p.type, p.value));
    const suppressed = await count(
      `INSERT INTO suppressed_identifier (hash, type, key_id, erasure_id, created_at)
       SELECT h, t, $3, $4, now() FROM unnest($1::bpchar[], $2::varchar[]) AS u(h, t)
       ON CONFLICT (hash) DO UPDATE SET erasure_id = excluded.erasure_id`,
      [hashes, types, this.suppression.keyId, erasureId],
    );

    const { params, param } = sqlParams();
    const at = new Date();
    const [row] = await tx.query(
      `WITH ${[
        `receipt AS (
          INSERT INTO erasure (id, customer_id, customer_ids, at, api_key_id, actor, reason, removed, suppressed)
          VALUES (${param(erasureId)}, ${param(id)}, ${param(ids, 'uuid[]')}, ${param(at)}, ${param(audit.keyId, 'uuid')}, ${param(audit.actor.slice(0, 100))},
                  ${param(reason)}, ${param(JSON.stringify(removed), 'jsonb')}, ${param(suppressed, 'int')})
          RETURNING *)`,
        ...eventInsertSql([{ topic: Topic.CUSTOMER_ERASED, customerId: id, payload: { erasureId, mergedIds: merged, at: at.toISOString() } }], param),
        ...auditInsertSql([{ ...audit, kind: AuditKind.ERASURE, customerIds: ids, details: { erasureId, suppressed, removed: Object.fromEntries(removed.map((r) => [`${r.table}: ${r.what}`, r.rows])) } }], param),
      ].join(',\n')}
      SELECT * FROM receipt`,
      params,
    );
    // Traits and identifiers are gone: segments defined on them lose the person.
    await this.segments.refresh(tx, ids);
    return toReceipt(row);
  }
}
