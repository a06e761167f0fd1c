import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import zlib from 'node:zlib';

import express, { type Request, type Response } from 'express';

import { projectRoot } from '../config/paths';

export { projectRoot };

/**
 * The page at /dashboard: plain files, served from memory. The API behind it is /graphql, the
 * page holds no privilege of its own, so this folder imports nothing of src/graphql or src/modules.
 */

export interface DashboardFile {
  body: Buffer;
  contentType: string;
}

export interface DashboardAssets {
  /** By file name: index.html, app.js, style.css… */
  files: Map<string, DashboardFile>;
  /** `prebuilt`: read from dist/dashboard/ (`npm run build`); `built`: bundled in memory at start. */
  source: 'prebuilt' | 'built';
}

/** Copied beside the bundle as they are. */
const STATIC_FILES = ['index.html', 'style.css', 'favicon.svg'];
const ENTRY = path.join('dashboard', 'src', 'main.ts');
const GENERATED = path.join('dashboard', 'src', 'generated', 'graphql.ts');
export const PREBUILT_DIR = path.join('dist', 'dashboard');

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.png': 'image/png',
};

const contentType = (name: string) => CONTENT_TYPES[path.extname(name)] ?? 'application/octet-stream';

type Esbuild = typeof import('esbuild');

/**
 * esbuild is a dev dependency: loaded only when a build is needed, so that a production install
 * (`npm ci --omit=dev`) serving the prebuilt files never needs it.
 */
function loadEsbuild(): Esbuild | null {
  try {
    return require('esbuild') as Esbuild;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND') return null;
    throw err;
  }
}


export interface BuildOutput {
  files: Map<string, DashboardFile>;
  /** esbuild's account of what went into the bundle (`npm run build` prints the largest inputs). */
  metafile: import('esbuild').Metafile;
}

/** Bundles dashboard/src/main.ts (ECharts, graphql-ws and the page) into app.js, beside the static files. */
export async function buildDashboard(root: string, options: { sourcemap?: boolean; esbuild?: Esbuild } = {}): Promise<BuildOutput> {
  const esbuild = options.esbuild ?? loadEsbuild();
  if (!esbuild) throw new Error('The dashboard is not built and esbuild is not installed to build it: run `npm run build` (with the dev dependencies installed).');
  if (!fs.existsSync(path.join(root, GENERATED))) {
    throw new Error(`The dashboard's typed operations are missing (${GENERATED}): run \`npm run codegen\`, or \`npm run build\`.`);
  }
  const outdir = path.join(root, PREBUILT_DIR);
  let result: import('esbuild').BuildResult<{ write: false; metafile: true }>;
  try {
    result = await esbuild.build({
      absWorkingDir: root,
      entryPoints: [path.join(root, ENTRY)],
      outfile: path.join(outdir, 'app.js'),
      tsconfig: path.join(root, 'dashboard', 'tsconfig.json'),
      bundle: true,
      format: 'iife',
      platform: 'browser',
      target: 'es2020',
      minify: true,
      sourcemap: options.sourcemap ? 'linked' : false,
      define: { 'process.env.NODE_ENV': '"production"' },
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
  } catch (err) {
    const messages = (err as { errors?: Array<{ text: string; location?: { file: string; line: number } | null }> }).errors;
    const detail = messages?.length ? messages.map((m) => (m.location ? `${m.location.file}:${m.location.line}: ${m.text}` : m.text)).join('; ') : (err as Error).message;
    throw new Error(`The dashboard bundle failed to build: ${detail}`);
  }
  const files = new Map<string, DashboardFile>();
  for (const output of result.outputFiles) {
    const name = path.relative(outdir, output.path);
    files.set(name, { body: Buffer.from(output.contents), contentType: contentType(name) });
  }
  for (const name of STATIC_FILES) {
    files.set(name, { body: await fs.promises.readFile(path.join(root, 'dashboard', name)), contentType: contentType(name) });
  }
  return { files, metafile: result.metafile };
}

interface SourceFile {
  path: string;
  mtimeMs: number;
}

async function listFiles(dir: string): Promise<SourceFile[]> {
  const files: SourceFile[] = [];
  for (const entry of await fs.promises.readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await listFiles(full)));
    else if (entry.isFile()) files.push({ path: full, mtimeMs: (await fs.promises.stat(full)).mtimeMs });
  }
  return files.sort((a, b) => a.path.localeCompare(b.path));
}

async function readFiles(dir: string): Promise<Map<string, DashboardFile>> {
  const files = new Map<string, DashboardFile>();
  for (const entry of await fs.promises.readdir(dir, { withFileTypes: true })) {
    if (entry.isFile()) files.set(entry.name, { body: await fs.promises.readFile(path.join(dir, entry.name)), contentType: contentType(entry.name) });
  }
  return files;
}

async function readPrebuilt(dir: string): Promise<{ files: Map<string, DashboardFile>; builtAt: number } | null> {
  if (!fs.existsSync(path.join(dir, 'index.html')) || !fs.existsSync(path.join(dir, 'app.js'))) return null;
  return { files: await readFiles(dir), builtAt: (await fs.promises.stat(path.join(dir, 'app.js'))).mtimeMs };
}

/**
 * Every server start of a checkout (each test file starts one or two) would otherwise bundle the
 * same sources again: a bundle is kept per content of its inputs, under node_modules/.cache.
 */
const CACHE_DIR = path.join('node_modules', '.cache', 'customer-graph-dashboard');

async function inputsHash(root: string, esbuild: Esbuild, sources: SourceFile[]): Promise<string> {
  const hash = createHash('sha256').update(esbuild.version).update(await fs.promises.readFile(__filename));
  // The lockfile stands for the versions of ECharts and graphql-ws that get bundled.
  for (const file of [...sources.map((s) => s.path), path.join(root, 'package-lock.json')]) {
    if (!fs.existsSync(file)) continue;
    hash.update(path.relative(root, file)).update('\0').update(await fs.promises.readFile(file)).update('\0');
  }
  return hash.digest('hex').slice(0, 20);
}

async function cachedBuild(root: string, esbuild: Esbuild, sources: SourceFile[]): Promise<Map<string, DashboardFile>> {
  const cache = path.join(root, CACHE_DIR);
  const entry = path.join(cache, await inputsHash(root, esbuild, sources));
  try {
    return await readFiles(entry);
  } catch {
    // Not built yet with these inputs.
  }
  const { files } = await buildDashboard(root, { esbuild });
  // Best effort: a read-only install still serves what it just built. Written aside, then renamed,
  // so a reader never sees half an entry (another process may be writing the same one).
  try {
    await fs.promises.mkdir(cache, { recursive: true });
    const staging = await fs.promises.mkdtemp(path.join(cache, '.staging-'));
    for (const [name, file] of files) await fs.promises.writeFile(path.join(staging, name), file.body);
    await fs.promises.rename(staging, entry).catch(() => fs.promises.rm(staging, { recursive: true, force: true }));
    for (const other of await fs.promises.readdir(cache)) {
      if (other !== path.basename(entry) && !other.startsWith('.staging-')) await fs.promises.rm(path.join(cache, other), { recursive: true, force: true });
    }
  } catch {
    // The cache only saves time.
  }
  return files;
}

/**
 * The prebuilt bundle of dist/dashboard/ when there is one, otherwise a bundle made at start
 * (under a second; nothing written outside the cache). A prebuilt bundle older than the sources
 * beside it is built again when esbuild is there: a checkout built once keeps serving its edits.
 */
export async function dashboardAssets(options: { root?: string } = {}): Promise<DashboardAssets> {
  const root = options.root ?? projectRoot();
  const prebuilt = await readPrebuilt(path.join(root, PREBUILT_DIR));
  const sources = fs.existsSync(path.join(root, ENTRY)) ? await listFiles(path.join(root, 'dashboard')) : null;
  if (prebuilt && (!sources || sources.every((s) => s.mtimeMs <= prebuilt.builtAt))) return { files: prebuilt.files, source: 'prebuilt' };
  const esbuild = loadEsbuild();
  if (!esbuild || !sources) {
    if (prebuilt) return { files: prebuilt.files, source: 'prebuilt' };
    throw new Error(
      sources
        ? 'The dashboard is not built, and esbuild (a dev dependency) is not installed to build it: run `npm run build`.'
        : `The dashboard is not built (no ${PREBUILT_DIR}/, no ${ENTRY}): run \`npm run build\`.`,
    );
  }
  return { files: await cachedBuild(root, esbuild, sources), source: 'built' };
}

const gzip = promisify(zlib.gzip);
const COMPRESSIBLE = /^(text\/|application\/json|image\/svg)/;

/** The page loads nothing but its own files and talks to nothing but this server. */
export const DASHBOARD_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  // ECharts writes its tooltips as markup with style attributes.
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self' ws: wss:",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * `/` is the page, `/<file>` its files, once `assets` resolves (a request made meanwhile waits
 * for it). Everything is revalidated (`no-cache` with an ETag: the file names carry no hash). A
 * failed build is answered 503 with its reason: the API goes on, and the rejection is handled
 * here even if the page is never asked for.
 */
export function dashboardRouter(assets: Promise<DashboardAssets>): express.Router {
  const state: Promise<{ assets: DashboardAssets } | { error: string }> = assets.then(
    (ready) => ({ assets: ready }),
    (err: unknown) => {
      const error = err instanceof Error ? err.message : String(err);
      console.warn(`[dashboard] not available: ${error}`);
      return { error };
    },
  );
  const compressed = new Map<string, Promise<Buffer>>();

  const send = async (req: Request, res: Response, name: string) => {
    const current = await state;
    if ('error' in current) {
      res.status(503).json({ error: current.error });
      return;
    }
    const file = current.assets.files.get(name);
    if (!file) {
      res.status(404).json({ error: `No dashboard file ${name}` });
      return;
    }
    res.type(file.contentType);
    let body = file.body;
    if (COMPRESSIBLE.test(file.contentType) && body.length > 1024) {
      res.vary('accept-encoding');
      if (req.acceptsEncodings('gzip')) {
        if (!compressed.has(name)) compressed.set(name, gzip(body, { level: 9 }));
        body = await compressed.get(name)!;
        res.setHeader('content-encoding', 'gzip');
      }
    }
    // res.send adds the ETag and answers 304 to a matching If-None-Match.
    res.send(body);
  };

  const router = express.Router();
  router.use((_req, res, next) => {
    res.setHeader('cache-control', 'no-cache');
    res.setHeader('content-security-policy', DASHBOARD_CSP);
    res.setHeader('x-content-type-options', 'nosniff');
    res.setHeader('referrer-policy', 'no-referrer');
    next();
  });
  router.get('/', async (req, res) => {
    // /dashboard → /dashboard/: the page's relative URLs (app.js, ../graphql) need the slash.
    const [pathname, query] = req.originalUrl.split(/\?(.*)/s);
    if (!pathname.endsWith('/')) {
      res.redirect(308, `${pathname}/${query ? `?${query}` : ''}`);
      return;
    }
    await send(req, res, 'index.html');
  });
  router.get('/:file', (req, res) => send(req, res, req.params.file));
  router.use((req, res) => {
    res.status(404).json({ error: `Nothing at ${req.method} ${req.baseUrl}${req.path}` });
  });
  return router;
}
