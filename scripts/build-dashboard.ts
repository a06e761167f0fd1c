/**
 * Writes the dashboard to dist/dashboard/ (index.html, app.js and its source map, style.css…),
 * which the server then serves as it is, without esbuild. Needs the typed operations first
 * (`npm run codegen`).
 *
 *   ts-node --transpile-only scripts/build-dashboard.ts
 */
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import zlib from 'node:zlib';

import { buildDashboard, PREBUILT_DIR, projectRoot } from '../src/dashboard/assets';

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;

async function main(): Promise<void> {
  const root = projectRoot();
  const started = performance.now();
  const { files, metafile } = await buildDashboard(root, { sourcemap: true });
  const builtMs = performance.now() - started;

  const out = path.join(root, PREBUILT_DIR);
  fs.rmSync(out, { recursive: true, force: true });
  fs.mkdirSync(out, { recursive: true });
  for (const [name, file] of files) fs.writeFileSync(path.join(out, name), file.body);

  console.log(`Dashboard built in ${Math.round(builtMs)} ms into ${path.relative(process.cwd(), out) || '.'}/`);
  for (const [name, file] of [...files].sort(([a], [b]) => a.localeCompare(b))) {
    const gz = name.endsWith('.map') ? '' : `, ${kb(zlib.gzipSync(file.body, { level: 9 }).length)} gzipped`;
    console.log(`  ${name.padEnd(14)} ${kb(file.body.length).padStart(10)}${gz}`);
  }
  // Where the bytes of app.js come from, by package (or the page's own code).
  const byPackage = new Map<string, number>();
  for (const output of Object.values(metafile.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
      const owner = match ? match[1] : 'dashboard/src';
      byPackage.set(owner, (byPackage.get(owner) ?? 0) + bytesInOutput);
    }
  }
  console.log('  app.js by origin: ' + [...byPackage].sort((a, b) => b[1] - a[1]).map(([owner, bytes]) => `${owner} ${kb(bytes)}`).join(', '));
}

main().catch((err) => {
  console.error((err as Error).message);
  process.exit(1);
});
