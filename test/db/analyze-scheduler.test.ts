import { ConfigError, loadConfig } from '../../src/config';
import { AnalyzeScheduler } from '../../src/db/analyze-scheduler';
import { RecordInteractionsDocument } from '../generated/graphql';
import { interaction } from '../helpers/factories';
import { eventually } from '../helpers/live';
import { jsonLog, startTestServer, type TestServer } from '../helpers/server';

async function analyzed(t: TestServer, table: string): Promise<{ count: number; last: Date | null }> {
  const [row] = await t.sql(`SELECT analyze_count::int AS count, last_analyze AS last FROM pg_stat_user_tables WHERE relname = $1`, [table]);
  return row;
}

/** 1,000 interactions of new customers per call, `calls` times. */
async function bulkLoad(t: TestServer, calls: number): Promise<void> {
  for (let c = 0; c < calls; c++) {
    const inputs = Array.from({ length: 1000 }, (_, i) =>
      interaction({ type: i % 3 ? 'PAGE_VIEW' : 'PURCHASE', amount: i % 3 ? undefined : '12.50', occurredAt: new Date(Date.UTC(2024, 0, 1) + (c * 1000 + i) * 60_000).toISOString() }),
    );
    const res = await t.gql(RecordInteractionsDocument, { inputs });
    expect(res.errors).toBeUndefined();
    expect(res.data!.recordInteractions.every((r) => r.status === 'CREATED')).toBe(true);
  }
}

describe('ANALYZE after bulk writes', () => {
  const { logger, lines } = jsonLog();
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({}, { logger });
  });
  afterAll(() => t.close());

  it('analyzes the tables a bulk load through the API filled once it pauses, and says so in a log line', async () => {
    // Where autovacuum runs (the embedded server), it could analyze them first, and then none is due.
    for (const table of ['interaction', 'customer', 'identifier', 'lifecycle_transition']) await t.sql(`ALTER TABLE ${table} SET (autovacuum_enabled = false)`);
    const before = await analyzed(t, 'interaction');
    await bulkLoad(t, 3);
    // The planner learns the table's size from the ANALYZE after the last batch (there may be one between batches too).
    const reltuples = async () => (await t.sql(`SELECT reltuples::int AS n FROM pg_class WHERE relname = 'interaction'`))[0].n;
    await eventually(async () => (await reltuples()) === 3000, 60_000);
    // The statistics views may report the ANALYZE a moment after the catalog shows its result.
    await eventually(async () => (await analyzed(t, 'interaction')).count > before.count, 60_000);
    const after = await analyzed(t, 'interaction');
    expect(after.count).toBeGreaterThan(before.count);
    expect(after.last).not.toBeNull();
    // PostgreSQL may report a table's counts up to 10 s late: the scheduler looks again then.
    for (const table of ['customer', 'identifier', 'lifecycle_transition']) await eventually(async () => (await analyzed(t, table)).count > 0, 60_000);
    // One line per ANALYZE: the tables, the rows counted since the last one, the time it took.
    // (written once every table of the round is done)
    await eventually(async () => lines.some((l) => /^\[db\] ANALYZE [a-z_, ]*\binteraction\b/.test(l.msg)), 60_000);
    for (const l of lines.filter((l) => /^\[db\] ANALYZE /.test(l.msg))) {
      expect(l).toMatchObject({ level: 'info', msg: expect.stringMatching(/^\[db\] ANALYZE [a-z_]+(, [a-z_]+)* after \d+ rows written: \d+ ms$/) });
    }
  });

  it('leaves a table alone after a few writes, and analyzes it once enough were counted', async () => {
    await t.sql(`CREATE TABLE analyze_probe (n int)`);
    await t.sql(`INSERT INTO analyze_probe SELECT generate_series(1, 5)`);
    const logged: string[] = [];
    const scheduler = new AnalyzeScheduler(t.server.analyticsDataSource, { tables: ['analyze_probe'], log: (l) => logged.push(l), warn: () => undefined });
    // flush() runs what is due at once instead of after the pause.
    scheduler.wrote(5);
    await scheduler.flush();
    expect((await analyzed(t, 'analyze_probe')).count).toBe(0);
    await t.sql(`INSERT INTO analyze_probe SELECT generate_series(1, 2000)`);
    // PostgreSQL may report the insert's counts a few seconds late: count again until it has.
    await eventually(async () => {
      scheduler.wrote(1000);
      await scheduler.flush();
      return (await analyzed(t, 'analyze_probe')).count === 1;
    }, 60_000);
    await scheduler.stop();
    expect(logged).toEqual([expect.stringMatching(/^\[db\] ANALYZE analyze_probe after \d+ rows written: \d+ ms$/)]);
  });

  it('under writes that never pause, looks after firstWaitMs, then after twice as long each time', async () => {
    await t.sql(`CREATE TABLE analyze_stream (n int) WITH (autovacuum_enabled = false)`);
    const logged: string[] = [];
    const scheduler = new AnalyzeScheduler(t.server.analyticsDataSource, { tables: ['analyze_stream'], quietMs: 60_000, firstWaitMs: 200, log: (l) => logged.push(l), warn: () => undefined });
    // A steady stream: 500 rows every 50 ms, never the minute's pause it would otherwise wait for.
    const stream = setInterval(() => void t.sql(`INSERT INTO analyze_stream SELECT generate_series(1, 500)`).then(() => scheduler.wrote(500)), 50);
    try {
      await eventually(async () => (await analyzed(t, 'analyze_stream')).count >= 1, 30_000);
    } finally {
      clearInterval(stream);
      await scheduler.stop();
    }
    expect(logged[0]).toMatch(/^\[db\] ANALYZE analyze_stream after \d+ rows written: \d+ ms$/);
  });

  it('logs a failed ANALYZE as a warning without throwing', async () => {
    const warnings: string[] = [];
    const logged: string[] = [];
    // A connection that is gone fails every statement.
    const broken = new AnalyzeScheduler({ query: () => Promise.reject(new Error('connection terminated')) }, { tables: ['interaction'], log: (l) => logged.push(l), warn: (_err, l) => warnings.push(l) });
    broken.wrote(2000);
    await expect(broken.flush()).resolves.toBeUndefined();
    await broken.stop();
    expect(warnings).toEqual(['[db] ANALYZE after 2000 rows written failed; it is tried again after the next writes']);
    expect(logged).toEqual([]);
  });

  it('is turned off with ANALYZE_AFTER_WRITES=false', () => {
    expect(loadConfig({}).analyzeAfterWrites).toBe(true);
    expect(loadConfig({ ANALYZE_AFTER_WRITES: 'false' }).analyzeAfterWrites).toBe(false);
    expect(() => loadConfig({ ANALYZE_AFTER_WRITES: 'sometimes' })).toThrow(ConfigError);
  });
});
