import { startTestServer, type TestServer } from '../helpers/server';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(() => t.close());

describe('migrations', () => {
  it('leave the database exactly as the entities describe it (nothing for migration:generate to write)', async () => {
    const sql = await t.dataSource.driver.createSchemaBuilder().log();
    expect(sql.upQueries.map((q) => q.query)).toEqual([]);
  });

  it('all revert and apply again cleanly', async () => {
    const before = await t.sql(`SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = 'public'`);
    for (let i = 0; i < t.dataSource.migrations.length; i++) await t.dataSource.undoLastMigration({ transaction: 'each' });
    const empty = await t.sql(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1`);
    expect(empty.map((r) => r.table_name)).toEqual(['migrations']);
    await t.dataSource.runMigrations({ transaction: 'each' });
    expect(await t.sql(`SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = 'public'`)).toEqual(before);
  });
});
