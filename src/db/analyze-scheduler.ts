import type { Queryable } from './tx';

/** Longer than the 10 s a PostgreSQL backend may hold its table counts before reporting them. */
const RECHECK_MS = 11_000;

export interface AnalyzeSchedulerOptions {
  /** The tables the counted writes fill; only those that changed since their last ANALYZE are analyzed. */
  tables: readonly string[];
  /** A table is due once this many of its rows changed since its last ANALYZE (10,000)… */
  rows?: number;
  /** …or this share of its estimated rows (0.1), as PostgreSQL counts them. */
  share?: number;
  /** Counted rows below which nothing is looked at (1,000): a handful of writes is no bulk load. */
  minRows?: number;
  /** How long the writes must pause before it runs (1.5 s). */
  quietMs?: number;
  /**
   * Under writes that never pause, how long after the first counted write it looks anyway: 2 s at
   * first, doubled after every look, up to `maxWaitMs` (5 min). A new database filled by a steady
   * stream of single writes is analyzed within seconds (its first plans were made for empty
   * tables: a page view cost PostgreSQL 3.4× its CPU until then), and a long load a few times.
   */
  firstWaitMs?: number;
  /** The longest of those waits (5 min). */
  maxWaitMs?: number;
  log: (line: string) => void;
  warn: (err: unknown, line: string) => void;
}

/**
 * ANALYZE after bulk writes. PostgreSQL plans from the statistics of the last ANALYZE: right after
 * an import into an empty database (or one that doubled) they describe tables that no longer
 * exist, and a page of customers that should walk an index is read by a bitmap scan and a sort
 * instead. Autovacuum would analyze in the end, where it runs; this does it as soon as a bulk load
 * pauses, on whatever connection it is given (the analytics pool), in the background.
 *
 * `wrote(rows)` only counts: it never waits, never throws, and no write waits for an ANALYZE
 * (which takes a lock that conflicts with none of INSERT, UPDATE or DELETE). A failed ANALYZE is
 * logged and the count kept for the next pause.
 */
export class AnalyzeScheduler {
  private written = 0;
  private firstWriteAt = 0;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  private readonly rows: number;
  private readonly share: number;
  private readonly minRows: number;
  private readonly quietMs: number;
  private readonly maxWaitMs: number;
  private patienceMs: number;

  constructor(
    private readonly db: Queryable,
    private readonly options: AnalyzeSchedulerOptions,
  ) {
    this.rows = options.rows ?? 10_000;
    this.share = options.share ?? 0.1;
    this.minRows = options.minRows ?? 1_000;
    this.quietMs = options.quietMs ?? 1_500;
    this.maxWaitMs = options.maxWaitMs ?? 5 * 60_000;
    this.patienceMs = Math.min(options.firstWaitMs ?? 2_000, this.maxWaitMs);
  }

  /** Rows just committed to the tables (an estimate is enough: it only decides when to look). */
  wrote(rows: number): void {
    if (this.stopped || !(rows > 0)) return;
    if (this.written === 0) this.firstWriteAt = Date.now();
    this.written += rows;
    if (this.written < this.minRows) return;
    if (this.timer) clearTimeout(this.timer);
    this.schedule(Date.now() - this.firstWriteAt >= this.patienceMs ? 0 : this.quietMs, false);
  }

  /** Runs the ANALYZE now if enough was written (waits for one already running). */
  flush(): Promise<void> {
    return this.check(false);
  }

  /** No more ANALYZE after this; waits for the one running, if any. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  /** False when it failed. */
  private check(recheck: boolean): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.running ??= this.analyzeIfDue(recheck).then((ok) => {
      this.running = null;
      // Writes counted while it ran are looked at after the next pause, even if none follows
      // (after a failure, only the next write tries again).
      if (ok && !this.stopped && !this.timer && this.written >= this.minRows) this.schedule(this.quietMs, false);
    });
    return this.running;
  }

  private schedule(ms: number, recheck: boolean): void {
    this.timer = setTimeout(() => void this.check(recheck), ms);
    this.timer.unref();
  }

  /** False when it failed. */
  private async analyzeIfDue(recheck: boolean): Promise<boolean> {
    const written = this.written;
    if (!recheck && written < this.minRows) return true;
    try {
      // PostgreSQL's own count of the rows changed since each table's last ANALYZE decides which
      // are due.
      const stats: Array<{ table: string; changed: string; estimate: number }> = await this.db.query(
        `SELECT s.relname AS table, s.n_mod_since_analyze AS changed, greatest(c.reltuples, 0)::float8 AS estimate
           FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
          WHERE s.schemaname = current_schema() AND s.relname = ANY($1::text[])
          ORDER BY s.relname`,
        [this.options.tables],
      );
      const due = stats.filter((s) => Number(s.changed) > 0 && (Number(s.changed) >= this.rows || Number(s.changed) >= this.share * s.estimate)).map((s) => s.table);
      if (due.length && !this.stopped) {
        const started = Date.now();
        for (const table of due) await this.db.query(`ANALYZE "${table.replace(/"/g, '""')}"`);
        this.options.log(`[db] ANALYZE ${due.join(', ')} after ${written} rows written: ${Date.now() - started} ms`);
      }
      this.written -= written;
      this.firstWriteAt = Date.now();
      this.patienceMs = Math.min(this.patienceMs * 2, this.maxWaitMs);
      // A backend that reported its counts less than a second ago holds the next ones for up to
      // 10 s (PGSTAT_IDLE_INTERVAL): look once more after that, for the tables they were missing from.
      if (!recheck && !this.stopped && !this.timer) this.schedule(RECHECK_MS, true);
      return true;
    } catch (err) {
      // The count is kept: the next write schedules another try.
      this.options.warn(err, `[db] ANALYZE after ${written} rows written failed; it is tried again after the next writes`);
      return false;
    }
  }
}
