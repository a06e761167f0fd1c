import type { PoolClient } from 'pg';
import type { DataSource, Logger } from 'typeorm';

/** Anything that runs SQL and returns rows. */
export interface Queryable {
  query<T = any>(text: string, params?: unknown[]): Promise<T[]>;
}

/** A 53-bit hash of a string (cyrb53): advisory lock keys (a collision only costs some waiting), statement names. */
export function hash53(text: string): number {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

/**
 * One pooled connection, driven directly so that hot-path statements are prepared once per
 * connection (named statements: parsed and planned once, not on every request). Every statement
 * still goes through the DataSource's logger.
 */
export class Tx implements Queryable {
  constructor(
    private readonly client: PoolClient,
    private readonly logger: Logger,
  ) {}

  async query<T = any>(text: string, params?: unknown[]): Promise<T[]> {
    this.logger.logQuery(text, params);
    if (!params) return (await this.client.query(text)).rows;
    return (await this.client.query({ name: `cg_${hash53(text).toString(36)}`, text, values: params })).rows;
  }
}

/** Runs `work` on a connection of its own, released afterwards (the transaction is `work`'s). */
export async function withConnection<T>(dataSource: DataSource, work: (tx: Tx) => Promise<T>): Promise<T> {
  const runner = dataSource.createQueryRunner();
  try {
    const tx = new Tx((await runner.connect()) as PoolClient, dataSource.logger);
    return await work(tx);
  } finally {
    await runner.release();
  }
}

/** How a transaction opens. */
export interface TransactionOptions {
  /** Statements sent with BEGIN, in the same round trip (one simple query: no parameters). */
  with?: string;
  /**
   * `generic`: the transaction's prepared statements run with generic plans (`plan_cache_mode`,
   * for this transaction only), planned once per connection instead of on every call. For
   * statements whose custom plan is no better than the generic one, yet is re-made every time.
   */
  plans?: 'generic';
}

/**
 * Runs `work` between BEGIN (with what `options` adds to it, in the same round trip) and COMMIT
 * on `tx`. On any error it rolls back and rethrows the original error: a failed ROLLBACK (the
 * connection is gone) must not hide why the transaction failed.
 */
export async function inTransaction<T>(tx: Queryable, work: () => Promise<T>, options: TransactionOptions = {}): Promise<T> {
  const opening = ['BEGIN'];
  if (options.plans === 'generic') opening.push('SET LOCAL plan_cache_mode = force_generic_plan');
  if (options.with) opening.push(options.with);
  await tx.query(opening.join('; '));
  try {
    const result = await work();
    await tx.query('COMMIT');
    return result;
  } catch (err) {
    await tx.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}
