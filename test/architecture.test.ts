import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/*
 * Dependencies point down: the top-level files of src/ (composition: server, entity list) and cli/ →
 * graphql/ (transport) → modules/* (domains) → modules/shared, db/. config/ sits beside the entry
 * points: it names domain types, and only they and graphql/ read it.
 * Read from the source text alone (no database, no compilation), so it runs in a blink.
 *
 * `import type` counts like any other import: it is erased from the JavaScript, but a folder that
 * names another folder's types still changes when that folder does, and a type-only cycle is
 * where a runtime one starts. Only relative specifiers are followed: packages are not folders of src/.
 */

const ROOT = path.join(__dirname, '..');
const SRC = path.join(ROOT, 'src');

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [full] : [];
  });
}

/** `src/modules/<domain>` each, any other folder of src/ by its first segment, top-level files as `src`. */
function folderOf(file: string): string {
  const parts = path.relative(SRC, file).split(path.sep);
  if (parts.length === 1) return 'src';
  if (parts[0] === 'modules' && parts.length > 2) return `modules/${parts[1]}`;
  return parts[0];
}

function resolve(from: string, specifier: string): string | null {
  const base = path.resolve(path.dirname(from), specifier);
  for (const candidate of [base, `${base}.ts`, path.join(base, 'index.ts')]) {
    if (fs.existsSync(candidate) && fs.statSync(candidate).isFile()) return candidate;
  }
  return null;
}

interface Import {
  from: string;
  to: string;
}

const rel = (file: string) => path.relative(ROOT, file);

function readImports(): { imports: Import[]; unresolved: string[] } {
  const imports: Import[] = [];
  const unresolved: string[] = [];
  for (const file of sourceFiles(SRC)) {
    // detectJavaScriptImports: require() and import() are dependencies too.
    const { importedFiles } = ts.preProcessFile(fs.readFileSync(file, 'utf8'), true, true);
    for (const { fileName } of importedFiles) {
      if (!fileName.startsWith('.')) continue;
      const to = resolve(file, fileName);
      if (to) imports.push({ from: file, to });
      else unresolved.push(`${rel(file)}: '${fileName}'`);
    }
  }
  return { imports, unresolved };
}

const inside = (dir: string, file: string) => !path.relative(dir, file).startsWith('..');

/**
 * The cycles to report: for each dependency that closes a cycle, the shortest one through it,
 * written from its alphabetically first folder. (All elementary cycles would be too many to read:
 * a folder that imports every other one makes hundreds.)
 */
function cyclesOf(edges: Map<string, Set<string>>): string[][] {
  const next = (node: string) => [...(edges.get(node) ?? [])].sort();
  const shortestPath = (from: string, to: string): string[] | null => {
    const previous = new Map<string, string>([[from, from]]);
    const queue = [from];
    while (queue.length) {
      const node = queue.shift()!;
      if (node === to) {
        const path = [to];
        while (path[0] !== from) path.unshift(previous.get(path[0])!);
        return path;
      }
      for (const n of next(node)) if (!previous.has(n)) previous.set(n, node), queue.push(n);
    }
    return null;
  };
  const cycles = new Map<string, string[]>();
  for (const a of [...edges.keys()].sort()) {
    for (const b of next(a)) {
      const back = shortestPath(b, a);
      if (!back) continue;
      const ring = [a, ...back.slice(0, -1)];
      const first = ring.indexOf([...ring].sort()[0]);
      const cycle = [...ring.slice(first), ...ring.slice(0, first), ring[first]];
      cycles.set(cycle.join(' → '), cycle);
    }
  }
  return [...cycles.keys()].sort().map((key) => cycles.get(key)!);
}

describe('architecture', () => {
  const { imports, unresolved } = readImports();

  it('resolves every relative import of src/', () => {
    expect(unresolved).toEqual([]);
  });

  it('keeps src/modules/ free of imports from src/graphql/', () => {
    const offending = imports
      .filter((i) => inside(path.join(SRC, 'modules'), i.from) && inside(path.join(SRC, 'graphql'), i.to))
      .map((i) => `${rel(i.from)} imports ${rel(i.to)}`);
    expect(offending).toEqual([]);
  });

  it('keeps src/db/ free of imports from src/modules/', () => {
    const offending = imports
      .filter((i) => inside(path.join(SRC, 'db'), i.from) && inside(path.join(SRC, 'modules'), i.to))
      .map((i) => `${rel(i.from)} imports ${rel(i.to)}`);
    expect(offending).toEqual([]);
  });

  it('keeps src/dashboard/ free of imports from src/graphql/ and src/modules/', () => {
    // The page's server side serves files: it holds no privilege of the API it talks to.
    const offending = imports
      .filter((i) => inside(path.join(SRC, 'dashboard'), i.from) && (inside(path.join(SRC, 'graphql'), i.to) || inside(path.join(SRC, 'modules'), i.to)))
      .map((i) => `${rel(i.from)} imports ${rel(i.to)}`);
    expect(offending).toEqual([]);
  });

  it('keeps src/config/ free of imports from the layers that read it', () => {
    const readers = (file: string) => inside(path.join(SRC, 'graphql'), file) || inside(path.join(SRC, 'cli'), file) || folderOf(file) === 'src';
    const offending = imports
      .filter((i) => inside(path.join(SRC, 'config'), i.from) && readers(i.to))
      .map((i) => `${rel(i.from)} imports ${rel(i.to)}`);
    expect(offending).toEqual([]);
  });

  it('has no import cycle between folders of src/', () => {
    const edges = new Map<string, Set<string>>();
    const witness = new Map<string, string>();
    for (const i of imports) {
      if (!inside(SRC, i.to)) continue;
      const [a, b] = [folderOf(i.from), folderOf(i.to)];
      if (!edges.has(a)) edges.set(a, new Set());
      if (a === b) continue;
      edges.get(a)!.add(b);
      if (!witness.has(`${a} ${b}`)) witness.set(`${a} ${b}`, `${rel(i.from)} → ${rel(i.to)}`);
    }
    const cycles = cyclesOf(edges);
    const explain = (cycle: string[]) =>
      [cycle.join(' → '), ...cycle.slice(1).map((to, k) => `    ${witness.get(`${cycle[k]} ${to}`)}`)].join('\n');
    if (cycles.length) console.error(`Import cycles between folders of src/:\n${cycles.map(explain).join('\n')}`);
    expect(cycles.map((c) => c.join(' → '))).toEqual([]);
  });
});
