import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * The newcomer's path, as `npm start` runs it: a real process on an embedded PostgreSQL in an
 * empty data directory, a bootstrap admin key printed once, and a clean stop on SIGTERM.
 */
describe('the server process', () => {
  let dataDir: string;
  let child: ChildProcess | undefined;
  let output = '';

  beforeAll(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cg-start-'));
    fs.chmodSync(dataDir, 0o755);
  });
  afterAll(() => {
    child?.kill('SIGKILL');
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  function waitFor(pattern: RegExp, ms = 60_000): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${pattern}; output so far:\n${output}`)), ms);
      const check = () => {
        const match = output.match(pattern);
        if (match) {
          clearTimeout(timer);
          resolve(match);
        } else if (child?.exitCode !== null) {
          clearTimeout(timer);
          reject(new Error(`process exited (${child?.exitCode}) before ${pattern}; output:\n${output}`));
        } else {
          setTimeout(check, 50);
        }
      };
      check();
    });
  }

  it('starts on an embedded PostgreSQL, prints one admin key, serves it, and stops cleanly on SIGTERM', async () => {
    // NODE_ENV as a user's shell has it, not jest's "test" (libraries change behaviour on it).
    const env: NodeJS.ProcessEnv = { ...process.env, NODE_ENV: 'production', DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info' };
    delete env.DATABASE_URL;
    child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', 'src/index.ts'], { cwd: path.join(__dirname, '..', '..'), env });
    child.stdout!.on('data', (d) => (output += d));
    child.stderr!.on('data', (d) => (output += d));

    const [, url] = await waitFor(/API ready at (http:\/\/[^\s"]+)/);
    const [, key] = output.match(/^\s+(cg_\S+)$/m)!;
    const post = async (query: string) => {
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: JSON.stringify({ query }) });
      return res.json();
    };
    expect(await post('{ customers(first: 1) { edges { cursor } } }')).toEqual({ data: { customers: { edges: [] } } });
    expect(await post('mutation { recordInteraction(input: { channel: WEB, type: PAGE_VIEW, identifiers: [{ type: EMAIL, value: "a@example.com" }] }) { status } }')).toEqual({
      data: { recordInteraction: { status: 'CREATED' } },
    });
    const pid = Number(fs.readFileSync(path.join(dataDir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]);

    const exited = new Promise<number | null>((resolve) => child!.on('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(output).toContain('Stopped cleanly.');
    // The embedded PostgreSQL went down with it.
    expect(() => process.kill(pid, 0)).toThrow();
    expect(output.match(/cg_\S+/g)).toHaveLength(1);
  });
});
