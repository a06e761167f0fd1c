import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/*
 * STYLE.md: dependencies point down, graphql/ (transport) → modules/* (domains) → modules/shared, db/.
 * Read from the source text alone (no database, no compilation), so it runs in a blink.
 *
 * `import type` counts like any other import: it is erased from the JavaScript, but a folder that
 * names another folder's types still changes when that folder does, and a type-only cycle is
 * where a runtime one starts. Only relative specifiers are followed: packages are not folders of src/.
 */

const ROOT = path.join(__dirname, '..');
const SRC = path.join(ROOT, 'src');

/**
 * Cycles between folders that exist today, each written as its canonical path (starting at its
 * alphabetically first folder). This list may only shrink: the test fails when a cycle not listed
 * here appears, and also when a listed one disappears, so that whoever breaks it removes it here.
 */
const KNOWN_CYCLES: string[] = [
  // db/data-source.ts registers every entity, while the domains use db/tx.ts and db/uuid.ts: the
  // entity list belongs to whoever composes the process (server, CLI, test helpers).
  // An import of customers/ closes its cycle through here: customers/ imports no domain but identity/ and access/.
  'db → modules/access → db',
  'db → modules/customers → modules/access → db',
  'db → modules/interactions → modules/customers → modules/access → db',
  'db → modules/identity → db',
  'db → modules/interactions → db',
  'db → modules/interactions → modules/access → db',
  'db → modules/interactions → modules/identity → db',
  'db → modules/journeys → modules/access → db',
  'db → modules/journeys → modules/customers → modules/access → db',
  // journeys/ reads interactions (Interaction, InteractionType) and groups by LifecycleStage: with
  // the derivation handed in from above, the only way back runs through data-source.ts.
  'db → modules/journeys → modules/interactions → db',
  'db → modules/journeys → modules/lifecycle → db',
  'db → modules/lifecycle → db',
  'db → modules/lifecycle → modules/access → db',
  'db → modules/lifecycle → modules/customers → modules/access → db',
  // graphql/context.ts, plugins/operation-limits.ts and the live server import types of src/config.ts.
  'graphql → src → graphql',
  // identity/identifier.entity.ts relates to Customer, while customers/ names IdentifierType (the
  // filter, customerByIdentifier) and serves Customer.identifiers and Customer.merges.
  'modules/customers → modules/identity → modules/customers',
];

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

  it('has no import cycle between folders of src/ beyond the known ones', () => {
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
    const found = cycles.map((c) => c.join(' → '));
    const explain = (cycle: string[]) =>
      [cycle.join(' → '), ...cycle.slice(1).map((to, k) => `    ${witness.get(`${cycle[k]} ${to}`)}`)].join('\n');
    const added = cycles.filter((c) => !KNOWN_CYCLES.includes(c.join(' → ')));
    const gone = KNOWN_CYCLES.filter((c) => !found.includes(c));
    if (added.length) console.error(`New import cycles between folders of src/:\n${added.map(explain).join('\n')}`);
    if (gone.length) console.error(`Cycles no longer there (remove them from KNOWN_CYCLES):\n${gone.join('\n')}`);
    expect({ new: added.map((c) => c.join(' → ')), gone }).toEqual({ new: [], gone: [] });
  });
});
