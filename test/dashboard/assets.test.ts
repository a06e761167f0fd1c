import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';

import express from 'express';

import { dashboardAssets, dashboardRouter, type DashboardAssets } from '../../src/dashboard/assets';

/** The router alone on a free port, as the server mounts it. */
async function serve(assets: Promise<DashboardAssets>): Promise<{ base: string; close(): Promise<void> }> {
  const app = express();
  app.use('/dashboard', dashboardRouter(assets));
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const file = (body: string, contentType: string) => ({ body: Buffer.from(body), contentType });

describe('the dashboard assets', () => {
  let tmp: string;
  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cg-dashboard-'));
  });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('bundles the page of this checkout: the page, its script and its style', async () => {
    const assets = await dashboardAssets();
    expect([...assets.files.keys()]).toEqual(expect.arrayContaining(['index.html', 'app.js', 'style.css']));
    expect(assets.files.get('app.js')!.contentType).toBe('text/javascript; charset=utf-8');
    // Minified, without a source map reference when built in memory.
    const script = assets.files.get('app.js')!.body.toString();
    if (assets.source === 'built') expect(script).not.toContain('sourceMappingURL');
    expect(assets.files.get('index.html')!.body.toString()).toContain('<script src="app.js" defer></script>');
  });

  it('serves the files of dist/dashboard/ as they are when there are no sources beside them', async () => {
    fs.mkdirSync(path.join(tmp, 'dist', 'dashboard'), { recursive: true });
    fs.writeFileSync(path.join(tmp, 'dist', 'dashboard', 'index.html'), '<!doctype html><title>prebuilt</title>');
    fs.writeFileSync(path.join(tmp, 'dist', 'dashboard', 'app.js'), 'void 0;');
    const assets = await dashboardAssets({ root: tmp });
    expect(assets.source).toBe('prebuilt');
    expect(assets.files.get('index.html')!.body.toString()).toContain('prebuilt');
  });

  it('without a build nor sources, says to run npm run build', async () => {
    await expect(dashboardAssets({ root: tmp })).rejects.toThrow(/npm run build/);
  });

  it('answers the page, its files, a redirect to the slash, and 404 for anything else, with strict headers', async () => {
    const big = 'x'.repeat(4096);
    const s = await serve(Promise.resolve({ source: 'built', files: new Map([['index.html', file('<!doctype html>', 'text/html; charset=utf-8')], ['app.js', file(big, 'text/javascript; charset=utf-8')]]) }));
    try {
      const redirect = await fetch(`${s.base}/dashboard?x=1`, { redirect: 'manual' });
      expect([redirect.status, redirect.headers.get('location')]).toEqual([308, '/dashboard/?x=1']);

      const page = await fetch(`${s.base}/dashboard/`);
      expect(page.status).toBe(200);
      expect(await page.text()).toBe('<!doctype html>');
      expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(page.headers.get('cache-control')).toBe('no-cache');
      expect(page.headers.get('x-content-type-options')).toBe('nosniff');
      const csp = page.headers.get('content-security-policy')!;
      expect(csp).toContain("default-src 'self'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("connect-src 'self' ws: wss:");
      expect(csp).not.toMatch(/script-src[^;]*unsafe/);

      // fetch asks for gzip and decodes it.
      const script = await fetch(`${s.base}/dashboard/app.js`);
      expect([script.status, script.headers.get('content-encoding'), (await script.text()).length]).toEqual([200, 'gzip', big.length]);
      const etag = script.headers.get('etag')!;
      // As a browser revalidates (fetch() itself would add `cache-control: no-cache` to a conditional request).
      expect((await fetch(`${s.base}/dashboard/app.js`, { headers: { 'if-none-match': etag, 'cache-control': 'max-age=0' } })).status).toBe(304);

      for (const missing of ['/dashboard/nothing.js', '/dashboard/a/b', '/dashboard/..%2Fpackage.json']) {
        const res = await fetch(`${s.base}${missing}`);
        expect([missing, res.status, res.headers.get('content-security-policy')]).toEqual([missing, 404, csp]);
        expect(await res.json()).toEqual({ error: expect.any(String) });
      }
      expect((await fetch(`${s.base}/dashboard/`, { method: 'POST' })).status).toBe(404);
    } finally {
      await s.close();
    }
  });

  it('answers 503 with the reason when the build failed, and leaves no unhandled rejection', async () => {
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const s = await serve(Promise.reject(new Error('The dashboard bundle failed to build: main.ts:1: oops')));
      await new Promise((resolve) => setTimeout(resolve, 50));
      try {
        const res = await fetch(`${s.base}/dashboard/`);
        expect(res.status).toBe(503);
        expect(await res.json()).toEqual({ error: 'The dashboard bundle failed to build: main.ts:1: oops' });
      } finally {
        await s.close();
      }
      expect(unhandled).toEqual([]);
      expect(warn).toHaveBeenCalledWith(expect.stringContaining('[dashboard] not available'));
    } finally {
      process.off('unhandledRejection', onUnhandled);
      warn.mockRestore();
    }
  });
});
