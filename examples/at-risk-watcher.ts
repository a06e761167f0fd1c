/**
 * Prints every customer who becomes AT_RISK, live, and picks up where it left off after a
 * restart or a dropped connection: the cursor of the last change printed is kept in a file and
 * passed back as `after`, so no change is missed and none is printed twice.
 *
 *   CG_API_KEY=<key with the subscribe and read scopes> npm run example:at-risk
 *
 * `subscribe` alone delivers the changes but not whom they are about: the customer and the
 * explanation need `read` too (they would come back null with FORBIDDEN, and this stops).
 *
 * CG_URL (default http://localhost:4000/graphql) and CURSOR_FILE (default .at-risk-cursor) can be set.
 */
import fs from 'node:fs';

import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const url = (process.env.CG_URL ?? 'http://localhost:4000/graphql').replace(/^http/, 'ws');
const key = process.env.CG_API_KEY;
const cursorFile = process.env.CURSOR_FILE ?? '.at-risk-cursor';
if (!key) {
  console.error('Set CG_API_KEY to a key with the subscribe and read scopes (npm run apikey -- create --name watcher --scopes subscribe,read).');
  process.exit(1);
}

const QUERY = `subscription AtRisk($after: String) {
  lifecycleStageChanged(stages: [AT_RISK], after: $after) {
    cursor at explanation
    customer { id identifiers { type value } metrics { orderCount netRevenue lastPurchaseAt } }
  }
}`;

/** Close codes after which retrying cannot help: bad key (4401), revoked key (4403), protocol errors. */
const FATAL = new Set([4400, 4401, 4403, 4406, 4409, 4429]);

let cursor: string | null = fs.existsSync(cursorFile) ? fs.readFileSync(cursorFile, 'utf8').trim() || null : null;
let stopping = false;

async function watch(): Promise<void> {
  console.log(cursor ? `Resuming after ${cursor}` : 'Watching for AT_RISK changes from now on');
  for (;;) {
    const client = createClient({ url, webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${key}` }, retryAttempts: 0 });
    try {
      for await (const result of client.iterate<any>({ query: QUERY, variables: { after: cursor } })) {
        if (result.errors) throw Object.assign(new Error(result.errors.map((e) => e.message).join('; ')), { fatal: true });
        const change = result.data.lifecycleStageChanged;
        const who = change.customer?.identifiers.map((i: { type: string; value: string }) => `${i.type}:${i.value}`).join(', ') || change.customer?.id;
        console.log(`${change.at}  ${who}  ${change.explanation}  (orders ${change.customer?.metrics.orderCount}, net ${change.customer?.metrics.netRevenue})`);
        cursor = change.cursor;
        fs.writeFileSync(cursorFile, cursor!);
      }
    } catch (err: any) {
      const code = typeof err?.code === 'number' ? err.code : null;
      if (err?.fatal || (code !== null && FATAL.has(code)) || Array.isArray(err)) {
        console.error('Stopped:', Array.isArray(err) ? err.map((e) => e.message).join('; ') : code !== null ? `closed with ${code} ${err.reason}` : err.message);
        process.exit(1);
      }
      // Server restart, network loss, or 4413 (this client fell behind): resume from the cursor.
      console.error(`Connection lost (${code ?? err?.message ?? err}); resuming in 1 s from the last cursor`);
    } finally {
      await client.dispose();
    }
    if (stopping) return;
    await new Promise((r) => setTimeout(r, 1000));
  }
}

process.on('SIGINT', () => {
  stopping = true;
  process.exit(0);
});
void watch();
