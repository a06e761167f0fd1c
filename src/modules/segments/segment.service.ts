import { setTimeout as sleep } from 'node:timers/promises';

import type { DataSource } from 'typeorm';

import { sqlParams } from '../../db/params';
import { inTransaction, withConnection, type Queryable } from '../../db/tx';
import { uuidv7 } from '../../db/uuid';
import { auditInsertSql, type AuditScope } from '../audit/audit';
import { AuditKind } from '../audit/audit.types';
import { toCustomer } from '../customers/customer.service';
import type { Customer } from '../customers/customer.entity';
import type { CommitSignal } from '../events/event';
import { cursorTime, decodeCursor, encodeCursor, toConnection, type ConnectionShape } from '../shared/connection';
import { ConflictError, InputError, NotFoundError } from '../shared/errors';
import { checkDefinition, readsValue, type Definition } from './definition';
import { refreshMemberships, type CompiledSegment } from './membership';
import { Segment, SegmentStatus, type SegmentDefinitionInput } from './segment.types';

type Row = Record<string, any>;

/** Customers evaluated per transaction of a background evaluation. */
const EVALUATION_BATCH = 1000;
/** How long the definitions are trusted before they are read again (another instance may change them). */
const CACHE_MS = 1000;
/** How often an evaluation that waits for older transactions looks again. */
const SETTLE_POLL_MS = 50;
/** How long an evaluation waits for older transactions before it warns (it goes on waiting). */
const SETTLE_WARN_MS = 60_000;

function toSegment(row: Row): Segment {
  return Object.assign(new Segment(), {
    id: row.id,
    name: row.name,
    description: row.description,
    definition: row.definition,
    status: row.status,
    progress: { evaluated: row.evaluated, total: row.to_evaluate },
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    version: row.version,
  });
}

/**
 * Segments: saved definitions over what a customer is, and their members. Every write, merge,
 * sweep, consent change and erasure refreshes the memberships of the customers it touched, in its
 * own transaction (`refresh`): the cost follows the customers changed, not the segment sizes. A
 * new or changed definition is evaluated over every customer in the background, in batches, its
 * progress on the segment.
 */
export class SegmentService {
  private cache: { segments: CompiledSegment[]; until: number } | null = null;
  /** Moves on every change of definitions here: a read begun before a change does not fill the cache. */
  private generation = 0;
  private readonly jobs = new Map<string, Promise<void>>();
  private stopped = false;
  /** Customers whose memberships were refreshed by writes and sweeps (not by background evaluations). */
  readonly stats = { customersEvaluated: 0, refreshes: 0 };

  constructor(
    private readonly dataSource: DataSource,
    private readonly purposes: readonly string[],
    private readonly signal?: CommitSignal,
  ) {}

  /**
   * The segments in force, cached for a moment; read through `db` when given: a caller holding a
   * pooled connection in a transaction must not wait for a second one (with every connection held
   * by such callers, none would ever be released).
   */
  async compiled(db: Queryable = this.dataSource): Promise<CompiledSegment[]> {
    if (this.cache && this.cache.until > Date.now()) return this.cache.segments;
    const generation = this.generation;
    const until = Date.now() + CACHE_MS;
    const rows: Row[] = await db.query(`SELECT id, definition FROM segment ORDER BY id`);
    const segments = rows.map((r) => ({ id: r.id, definition: r.definition as Definition }));
    if (generation === this.generation) this.cache = { segments, until };
    return segments;
  }

  /** Definitions changed here: the next write reads them again. */
  private invalidate(): void {
    this.generation++;
    this.cache = null;
  }

  /** Refreshes the memberships of `customerIds` in every segment, in the caller's transaction. */
  async refresh(db: Queryable, customerIds: readonly string[]): Promise<void> {
    const segments = await this.compiled(db);
    if (segments.length === 0 || customerIds.length === 0) return;
    this.stats.refreshes++;
    this.stats.customersEvaluated += new Set(customerIds).size;
    await refreshMemberships(db, segments, customerIds);
  }

  async create(name: string, description: string | null, input: SegmentDefinitionInput, audit: AuditScope): Promise<Segment> {
    const definition = this.check(name, input);
    const id = uuidv7();
    const { params, param } = sqlParams();
    const rows: Row[] = await this.write(
      `WITH created AS (
         INSERT INTO segment (id, name, description, definition, created_at, updated_at, status, to_evaluate)
         VALUES (${param(id)}, ${param(name.trim())}, ${param(description?.trim() || null)}, ${param(JSON.stringify(definition), 'jsonb')}, now(), now(), '${SegmentStatus.EVALUATING}',
                 (SELECT count(*) FROM customer)) RETURNING *),
       ${auditInsertSql([{ ...audit, kind: AuditKind.MUTATION, customerIds: [], details: { segmentId: id, change: 'created' } }], param)[0]}
       SELECT * FROM created`,
      params,
      name,
    );
    this.invalidate();
    this.startEvaluation(id);
    return toSegment(rows[0]);
  }

  async update(id: string, name: string | null, description: string | null | undefined, input: SegmentDefinitionInput | null, audit: AuditScope): Promise<Segment> {
    const current = await this.byId(id);
    if (!current) throw new NotFoundError(`No segment has the id ${id}.`);
    const definition = input ? this.check(name ?? current.name, input) : null;
    if (!input && name !== null) this.check(name, null);
    const { params, param } = sqlParams();
    const rows: Row[] = await this.write(
      `WITH updated AS (
         UPDATE segment SET name = coalesce(${param(name?.trim() ?? null, 'varchar')}, name),
                description = ${description === undefined ? 'description' : param(description?.trim() || null, 'text')},
                updated_at = now()
                ${definition ? `, definition = ${param(JSON.stringify(definition), 'jsonb')}, version = version + 1, status = '${SegmentStatus.EVALUATING}', evaluated = 0, to_evaluate = (SELECT count(*) FROM customer)` : ''}
          WHERE id = ${param(id)} RETURNING *),
       ${auditInsertSql([{ ...audit, kind: AuditKind.MUTATION, customerIds: [], details: { segmentId: id, change: definition ? 'definition' : 'renamed' } }], param)[0]}
       SELECT * FROM updated`,
      params,
      name ?? current.name,
    );
    if (!rows[0]) throw new NotFoundError(`No segment has the id ${id}.`);
    this.invalidate();
    if (definition) this.startEvaluation(id);
    return toSegment(rows[0]);
  }

  async delete(id: string, audit: AuditScope): Promise<boolean> {
    const { params, param } = sqlParams();
    const [row] = await this.dataSource.query(
      `WITH gone AS (DELETE FROM segment WHERE id = ${param(id)} RETURNING id),
       ${auditInsertSql([{ ...audit, kind: AuditKind.MUTATION, customerIds: [], details: { segmentId: id, change: 'deleted' } }], param)[0]}
       SELECT count(*)::int AS n FROM gone`,
      params,
    );
    this.invalidate();
    if (!row.n) throw new NotFoundError(`No segment has the id ${id}.`);
    return true;
  }

  private check(name: string, input: SegmentDefinitionInput | null): Definition {
    const problems = [];
    const trimmed = name.trim();
    if (!trimmed || trimmed.length > 100) problems.push({ field: 'name', message: 'must be 1 to 100 characters' });
    const definition = input ? checkDefinition(input, this.purposes, 'definition', problems) : {};
    if (problems.length) throw new InputError(problems);
    return definition;
  }

  private async write(sql: string, params: unknown[], name: string): Promise<Row[]> {
    try {
      return await this.dataSource.query(sql, params);
    } catch (err) {
      if ((err as { code?: string }).code === '23505') throw new ConflictError(`A segment is already named "${name.trim()}".`);
      throw err;
    }
  }

  /** Evaluates a segment over every customer in the background (a newer definition cancels an older run). */
  startEvaluation(id: string): Promise<void> {
    const previous = this.jobs.get(id) ?? Promise.resolve();
    const job = previous
      .then(() => this.evaluate(id))
      .catch((err) => console.error(`[segments] evaluation of ${id} failed:`, err))
      .finally(() => {
        if (this.jobs.get(id) === job) this.jobs.delete(id);
      });
    this.jobs.set(id, job);
    return job;
  }

  /** Waits for the background evaluations running in this process (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.jobs.size) await Promise.all([...this.jobs.values()]);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.idle();
  }

  /**
   * Waits until no write can still be refreshing memberships from the definitions as they were
   * before this change: every instance's cache of them has expired, and every transaction open in
   * this database by then has ended. A write that read the old definitions is then committed, and
   * the pass that follows sees what it wrote (a new customer included, whose row no batch could
   * lock while it was being inserted).
   */
  private async settle(): Promise<boolean> {
    await sleep(CACHE_MS);
    // xact_start as text: a JavaScript Date would drop its microseconds.
    const open: Array<{ pid: number; xact_start: string }> = await this.dataSource.query(
      `SELECT pid, xact_start::text FROM pg_stat_activity
        WHERE datname = current_database() AND xact_start IS NOT NULL AND pid <> pg_backend_pid()`,
    );
    if (open.length === 0) return !this.stopped;
    const started = Date.now();
    let warned = false;
    for (;;) {
      if (this.stopped) return false;
      const [{ n }] = await this.dataSource.query(
        `SELECT count(*)::int AS n FROM pg_stat_activity a JOIN unnest($1::int[], $2::text[]) AS o(pid, xact_start)
            ON a.pid = o.pid AND a.xact_start::text = o.xact_start`,
        [open.map((o) => o.pid), open.map((o) => o.xact_start)],
      );
      if (n === 0) return true;
      if (!warned && Date.now() - started > SETTLE_WARN_MS) {
        warned = true;
        console.warn(`[segments] an evaluation has waited ${Math.round((Date.now() - started) / 1000)} s for ${n} older transaction(s) to end`);
      }
      await sleep(SETTLE_POLL_MS);
    }
  }

  private async evaluate(id: string): Promise<void> {
    if (!(await this.settle())) return;
    const [start] = await this.dataSource.query(`SELECT id, definition, version FROM segment WHERE id = $1`, [id]);
    if (!start) return;
    const segment: CompiledSegment = { id, definition: start.definition };
    let after = '00000000-0000-0000-0000-000000000000';
    for (;;) {
      if (this.stopped) return;
      const done = await withConnection(this.dataSource, (tx) =>
        inTransaction(tx, async () => {
          // The rows locked first: a concurrent write to one of them is then either before (and seen) or after (and refreshes it again).
          const ids = (await tx.query<{ id: string }>(`SELECT id FROM customer WHERE id > $1 ORDER BY id LIMIT ${EVALUATION_BATCH} FOR UPDATE`, [after])).map((r) => r.id);
          const [still] = await tx.query(`SELECT version FROM segment WHERE id = $1`, [id]);
          if (!still || still.version !== start.version) return true;
          if (ids.length) await refreshMemberships(tx, [segment], ids);
          await tx.query(
            `UPDATE segment SET evaluated = evaluated + $2, progress_at = now()${ids.length < EVALUATION_BATCH ? `, status = '${SegmentStatus.READY}'` : ''} WHERE id = $1 AND version = $3`,
            [id, ids.length, start.version],
          );
          if (ids.length) after = ids[ids.length - 1];
          return ids.length < EVALUATION_BATCH;
        }),
      );
      this.signal?.committed();
      if (done) break;
    }
    await this.snapshotSizes([id]);
  }

  /** Restarts evaluations left unfinished (a restart, another instance gone) a minute ago or more. */
  async resumeStale(): Promise<void> {
    const rows: Array<{ id: string }> = await this.dataSource.query(
      `UPDATE segment SET progress_at = now(), evaluated = 0
        WHERE status = '${SegmentStatus.EVALUATING}' AND coalesce(progress_at, updated_at) < now() - interval '1 minute'
        RETURNING id`,
    );
    for (const { id } of rows) if (!this.jobs.has(id)) void this.startEvaluation(id);
  }

  /** After a refit of the value model: segments reading RFM or predictions are evaluated again. */
  async reevaluateValueSegments(): Promise<string[]> {
    const rows: Row[] = await this.dataSource.query(`SELECT id, definition FROM segment`);
    const ids = rows.filter((r) => readsValue(r.definition)).map((r) => r.id as string);
    if (ids.length) {
      await this.dataSource.query(`UPDATE segment SET status = '${SegmentStatus.EVALUATING}', evaluated = 0, to_evaluate = (SELECT count(*) FROM customer), progress_at = now() WHERE id = ANY($1::uuid[])`, [ids]);
      for (const id of ids) void this.startEvaluation(id);
    }
    return ids;
  }

  /** Appends the current size of segments (all by default) to their size history. */
  async snapshotSizes(ids?: string[]): Promise<void> {
    await this.dataSource.query(
      `INSERT INTO segment_size (segment_id, at, size)
       SELECT s.id, now(), (SELECT count(*) FROM segment_member m WHERE m.segment_id = s.id) FROM segment s
        WHERE $1::uuid[] IS NULL OR s.id = ANY($1::uuid[])
       ON CONFLICT DO NOTHING`,
      [ids ?? null],
    );
  }

  async list(): Promise<Segment[]> {
    return (await this.dataSource.query(`SELECT * FROM segment ORDER BY lower(name)`)).map(toSegment);
  }

  async byIds(ids: readonly string[]): Promise<Map<string, Segment>> {
    const rows: Row[] = await this.dataSource.query(`SELECT * FROM segment WHERE id = ANY($1::uuid[])`, [ids]);
    return new Map(rows.map((r) => [r.id, toSegment(r)]));
  }

  async byId(id: string): Promise<Segment | null> {
    const [row] = await this.dataSource.query(`SELECT * FROM segment WHERE id = $1`, [id]);
    return row ? toSegment(row) : null;
  }

  async sizes(ids: readonly string[]): Promise<Map<string, number>> {
    const rows: Array<{ id: string; n: number }> = await this.dataSource.query(
      `SELECT s.id, (SELECT count(*) FROM segment_member m WHERE m.segment_id = s.id)::int AS n FROM unnest($1::uuid[]) AS s(id)`,
      [ids],
    );
    return new Map(rows.map((r) => [r.id, r.n]));
  }

  /** Segments each customer belongs to (ids of merged customers answer for their survivor). */
  async segmentsOf(customerIds: readonly string[]): Promise<Map<string, Segment[]>> {
    const rows: Row[] = await this.dataSource.query(
      `SELECT asked.id AS asked_id, s.* FROM unnest($1::uuid[]) AS asked(id)
         JOIN customer t ON t.id = asked.id
         JOIN segment_member m ON m.customer_id = coalesce(t.merged_into_id, t.id)
         JOIN segment s ON s.id = m.segment_id
        ORDER BY lower(s.name)`,
      [customerIds],
    );
    const out = new Map<string, Segment[]>();
    for (const row of rows) out.set(row.asked_id, [...(out.get(row.asked_id) ?? []), toSegment(row)]);
    return out;
  }

  /** Members, newest first, keyset-paged on (since, customer id). */
  async members(id: string, first: number, after: string | null | undefined): Promise<ConnectionShape<Customer>> {
    const cursor = decodeCursor(after, 'after');
    const rows: Row[] = await this.dataSource.query(
      `SELECT c.*, ${cursorTime('m.since')} AS member_since
         FROM segment_member m JOIN customer c ON c.id = m.customer_id
        WHERE m.segment_id = $1 AND ($2::timestamptz IS NULL OR (m.since, m.customer_id) < ($2::timestamptz, $3::uuid))
        ORDER BY m.since DESC, m.customer_id DESC
        LIMIT $4`,
      [id, cursor?.at ?? null, cursor?.id ?? null, first + 1],
    );
    const cursors = new Map(rows.map((r) => [r.id as string, encodeCursor(r.member_since, r.id)]));
    return toConnection(rows.map(toCustomer), first, (c) => cursors.get(c.id)!);
  }

  async sizeHistory(id: string, from: Date | null, to: Date | null): Promise<Array<{ at: Date; size: number }>> {
    return this.dataSource.query(
      `SELECT at, size FROM segment_size WHERE segment_id = $1 AND ($2::timestamptz IS NULL OR at >= $2) AND ($3::timestamptz IS NULL OR at < $3) ORDER BY at LIMIT 1000`,
      [id, from, to],
    );
  }
}
