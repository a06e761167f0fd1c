import { inTransaction, withConnection } from '../../src/db/tx';
import { startTestServer, type TestServer } from '../helpers/server';

/** How the named statements of this connection were planned so far. */
async function plans(tx: { query<T>(text: string): Promise<T[]> }, text: string): Promise<{ generic: number; custom: number }> {
  const rows = await tx.query<{ generic: string; custom: string }>(
    `SELECT generic_plans AS generic, custom_plans AS custom FROM pg_prepared_statements WHERE statement = '${text.replace(/'/g, "''")}'`,
  );
  return { generic: Number(rows[0]?.generic ?? 0), custom: Number(rows[0]?.custom ?? 0) };
}

describe('inTransaction', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(() => t.close());

  it("with plans: 'generic', runs the transaction's prepared statements with generic plans, and only that transaction", async () => {
    const statement = 'SELECT count(*) FROM customer WHERE id = ANY($1::uuid[]) /* tx.test generic */';
    await withConnection(t.dataSource, async (tx) => {
      await inTransaction(tx, () => tx.query(statement, [[]]), { plans: 'generic' });
      expect(await plans(tx, statement)).toEqual({ generic: 1, custom: 0 });
      // The setting was LOCAL: the next transaction plans as PostgreSQL would (custom plans first).
      await inTransaction(tx, () => tx.query(statement, [[]]));
      expect(await plans(tx, statement)).toEqual({ generic: 1, custom: 1 });
      expect((await tx.query<{ plan_cache_mode: string }>('SHOW plan_cache_mode'))[0].plan_cache_mode).toBe('auto');
    });
  });

  it('sends `with` in the same round trip as BEGIN, inside the transaction', async () => {
    await withConnection(t.dataSource, async (tx) => {
      let inside: Array<{ n: string }> = [];
      const statements = await t.countStatements(async () => {
        inside = await inTransaction(tx, () => tx.query<{ n: string }>(`SELECT current_setting('cg.tx_test', true) AS n`), {
          with: `SET LOCAL cg.tx_test = 'inside'`,
        });
      });
      expect(inside[0].n).toBe('inside');
      // BEGIN with its statement, the read, COMMIT.
      expect(statements).toBe(3);
      expect((await tx.query<{ n: string | null }>(`SELECT current_setting('cg.tx_test', true) AS n`))[0].n ?? '').toBe('');
    });
  });

  it('rolls back on an error and rethrows it', async () => {
    await withConnection(t.dataSource, async (tx) => {
      await expect(
        inTransaction(tx, async () => {
          await tx.query(`SET LOCAL cg.tx_test = 'doomed'`);
          throw new Error('the work failed');
        }),
      ).rejects.toThrow('the work failed');
      expect((await tx.query<{ n: string | null }>(`SELECT current_setting('cg.tx_test', true) AS n`))[0].n ?? '').toBe('');
    });
  });
});
