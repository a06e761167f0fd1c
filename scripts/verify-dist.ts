/**
 * npm run verify:dist [-- --no-build] [--keep]
 *
 * What the Docker image's recipe does, without Docker: builds dist/ (`npm run build`), installs
 * the production dependencies only (`npm ci --omit=dev`) into a temporary folder with a copy of
 * dist/ (and, with DATABASE_URL, without optional packages, as the image), starts
 * `node dist/src/index.js` there — on the PostgreSQL of DATABASE_URL when it is set
 * (a fresh database is created beside the one it names, and dropped), else on the embedded one —
 * and checks that it answers /ready, a GraphQL query with the admin key it printed, /metrics and
 * the prebuilt /dashboard, then stops cleanly on SIGTERM. Exits non-zero on the first failure.
 * It also prints the size of what the image's last stage would hold.
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { Client } from 'pg';

const ROOT = path.join(__dirname, '..');
const args = new Set(process.argv.slice(2));
const DEV_ONLY = ['jest', 'ts-jest', 'esbuild', 'echarts', 'playwright-core', '@graphql-codegen/cli', ...(process.env.DATABASE_URL ? ['typescript', 'ts-node'] : [])];

const step = (text: string) => process.stdout.write(`\n== ${text}\n`);
const run = (command: string, argv: string[], cwd: string) => execFileSync(command, argv, { cwd, stdio: 'inherit', env: { ...process.env, npm_config_fund: 'false', npm_config_audit: 'false' } });
const size = (dir: string) => execFileSync('du', ['-sm', dir]).toString().split('\t')[0];

async function admin(url: URL, sql: string): Promise<void> {
  const c = new Client({ connectionString: Object.assign(new URL(url.toString()), { pathname: '/postgres' }).toString() });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

async function main(): Promise<void> {
  if (!args.has('--no-build')) {
    step('npm run build');
    run('npm', ['run', 'build'], ROOT);
  }
  for (const f of ['dist/src/index.js', 'dist/dashboard/index.html', 'dist/dashboard/app.js']) {
    if (!fs.existsSync(path.join(ROOT, f))) throw new Error(`${f} is missing: the build did not make it`);
  }

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cg-dist-'));
  fs.chmodSync(dir, 0o755);
  let database: { url: URL; name: string } | null = null;
  try {
    step(`production install in ${dir}`);
    for (const f of ['package.json', 'package-lock.json']) fs.copyFileSync(path.join(ROOT, f), path.join(dir, f));
    // As the image: optional packages too are left out — they are the embedded PostgreSQL's
    // binaries, and typescript and ts-node, which typeorm lists as optional peers. Without
    // DATABASE_URL the embedded database is the one to start, so its binaries are kept.
    const omit = process.env.DATABASE_URL ? ['--omit=dev', '--omit=optional'] : ['--omit=dev'];
    run('npm', ['ci', ...omit, '--prefer-offline', '--no-audit', '--no-fund'], dir);
    fs.cpSync(path.join(ROOT, 'dist'), path.join(dir, 'dist'), { recursive: true });
    const present = DEV_ONLY.filter((p) => fs.existsSync(path.join(dir, 'node_modules', p)));
    if (present.length) throw new Error(`development packages in the production install: ${present.join(', ')}`);
    console.log(`node_modules ${size(path.join(dir, 'node_modules'))} MB, dist ${size(path.join(dir, 'dist'))} MB; none of ${DEV_ONLY.join(', ')}`);

    const env: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: 'production', PORT: '0', HOST: '127.0.0.1', LOG_FORMAT: 'json', LIFECYCLE_SWEEP_SECONDS: '0' };
    if (process.env.DATABASE_URL) {
      const url = new URL(process.env.DATABASE_URL);
      database = { url, name: `cg_verify_dist_${process.pid}` };
      await admin(url, `CREATE DATABASE ${database.name}`);
      env.DATABASE_URL = Object.assign(new URL(url.toString()), { pathname: `/${database.name}` }).toString();
    } else {
      delete env.DATABASE_URL;
      env.DATA_DIR = path.join(dir, '.data');
    }

    step(`node dist/src/index.js (${env.DATABASE_URL ? 'DATABASE_URL' : 'embedded PostgreSQL'})`);
    const started = Date.now();
    const child = spawn(process.execPath, ['dist/src/index.js'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`not ready within 60 s:\n${output}`)), 60_000);
        const check = setInterval(() => {
          const m = /API ready at (http:\/\/[^\s"]+)/.exec(output);
          if (m) {
            clearInterval(check);
            clearTimeout(timer);
            resolve(m[1]);
          }
        }, 50);
        void exited.then((code) => reject(new Error(`exited with ${code} before it was ready:\n${output}`)));
      });
      console.log(`ready in ${((Date.now() - started) / 1000).toFixed(1)} s at ${url}`);
      const base = url.replace(/\/graphql$/, '');
      const key = /\b(cg_[A-Za-z0-9_-]{20,})/.exec(output)?.[1];
      if (!key) throw new Error(`no admin key printed:\n${output}`);

      const ready = await fetch(`${base}/ready`);
      if (ready.status !== 200) throw new Error(`/ready answered ${ready.status}: ${await ready.text()}`);
      const answer = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        body: JSON.stringify({ query: 'query Verify { lifecycleDistribution { total stages { stage count } } }' }),
      });
      const body = (await answer.json()) as { data?: { lifecycleDistribution?: { total: number } }; errors?: unknown };
      if (answer.status !== 200 || body.errors || body.data?.lifecycleDistribution?.total !== 0) throw new Error(`the query answered ${answer.status}: ${JSON.stringify(body)}`);
      const metrics = await fetch(`${base}/metrics`);
      if (metrics.status !== 200 || !(await metrics.text()).includes('cg_graphql_operations_total{transport="http",type="query",operation="Verify",outcome="ok"} 1')) {
        throw new Error(`/metrics answered ${metrics.status} without the query counted`);
      }
      const page = await fetch(`${base}/dashboard/`);
      if (page.status !== 200 || !(await page.text()).includes('app.js')) throw new Error(`/dashboard answered ${page.status}`);
      console.log('/ready 200, a query answered with the printed admin key, /metrics counted it, /dashboard served from the prebuilt bundle');
    } finally {
      child.kill('SIGTERM');
    }
    const code = await exited;
    if (code !== 0 || !output.includes('Stopped cleanly')) throw new Error(`did not stop cleanly (exit ${code}):\n${output}`);
    console.log('stopped cleanly on SIGTERM');
    const lines = output.split('\n').filter((l) => l.startsWith('{'));
    for (const line of lines) JSON.parse(line);
    console.log(`${lines.length} log lines, each one JSON object`);
  } finally {
    if (database) await admin(database.url, `DROP DATABASE IF EXISTS ${database.name} WITH (FORCE)`).catch(() => undefined);
    if (!args.has('--keep')) fs.rmSync(dir, { recursive: true, force: true });
    else console.log(`kept ${dir}`);
  }
  step('dist verified');
}

main().catch((err) => {
  console.error(`verify:dist failed: ${err instanceof Error ? err.message : err}`);
  process.exit(1);
});
