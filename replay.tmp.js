// PG-only ceiling: replays recorded batch transactions (new customers) from 2 connections, params pre-serialized.
const { Client } = require('pg'); const { prepareValue } = require('pg/lib/utils'); const crypto = require('crypto'); const fs = require('fs');
const [db, dumpGlob, apiKeyId, runTag, copies] = process.argv.slice(2);
(async () => {
  const files = fs.readdirSync('/tmp/w/dumps').filter((f) => f.startsWith(dumpGlob) && +f.split('.')[1] <= 20).map((f) => '/tmp/w/dumps/' + f);
  const raws = files.map((f) => fs.readFileSync(f, 'utf8'));
  const jobs = [];
  const keep = new RegExp(apiKeyId, 'g');
  for (let c = 0; c < +copies; c++) for (const raw of raws) {
    const map = new Map(); const tag = 'r' + crypto.randomBytes(6).toString('hex').slice(0, runTag.length - 1);
    const s = raw.replace(/[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}/g, (u) => { if (u === apiKeyId) return u; if (!map.has(u)) map.set(u, u.slice(0, 24) + crypto.randomBytes(6).toString('hex')); return map.get(u); }).split(runTag).join(tag);
    const stmts = JSON.parse(s).map((q) => ({ text: q.text, values: q.params && q.params.map((p) => prepareValue(p)) }));
    jobs.push(stmts);
  }
  const items = jobs.length * 1000;
  const clients = [];
  for (let i = 0; i < 2; i++) { const c = new Client({ connectionString: `postgres://postgres@127.0.0.1:5432/${db}` }); await c.connect(); c.pid = (await c.query('select pg_backend_pid() p')).rows[0].p; clients.push(c); }
  const cpu = (pid) => { const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' '); return (+f[11] + +f[12]) * 10; };
  const c0 = clients.map((c) => cpu(c.pid)); const me0 = process.cpuUsage(); const t0 = Date.now();
  let next = 0;
  await Promise.all(clients.map(async (c) => { for (;;) { const j = next++; if (j >= jobs.length) return; for (const q of jobs[j]) await c.query(q.values ? { text: q.text, values: q.values, name: 'r' + require('crypto').createHash('md5').update(q.text).digest('hex').slice(0, 16) } : q.text); } }));
  const wall = Date.now() - t0; const pg = clients.reduce((a, c, i) => a + cpu(c.pid) - c0[i], 0); const me = process.cpuUsage(me0);
  console.log(`${jobs.length} batches, ${items} interactions in ${wall} ms: ${Math.round(items / wall * 1000)}/s; PG CPU ${(pg / items).toFixed(4)} ms per interaction; replay client CPU ${((me.user + me.system) / 1000 / items).toFixed(4)} ms per interaction`);
  for (const c of clients) await c.end();
})().catch((e) => { console.error(e); process.exit(1); });
