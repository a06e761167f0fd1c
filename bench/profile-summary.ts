/**
 * Where a process's time went, from a V8 CPU profile (`node --cpu-prof`, or bench:read --profile).
 *
 *   npx ts-node --transpile-only bench/profile-summary.ts FILE.cpuprofile [--top 25] [--last SECONDS]
 *
 * --last keeps the profile's last SECONDS only (the measured load, not the start-up); with
 * --before SECONDS, the window ends that long before the profile does (a server that idled
 * while the other side was measured, then stopped).
 * Prints self time by package (or by file of this repository) and the functions with the most
 * self time, as shares of the profile's samples; idle time is counted apart.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
}

const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '25' }, last: { type: 'string' }, before: { type: 'string' } } });
if (positionals.length !== 1) {
  process.stderr.write('usage: ts-node bench/profile-summary.ts FILE.cpuprofile [--top N] [--last SECONDS] [--before SECONDS]\n');
  process.exit(2);
}
const profile = JSON.parse(fs.readFileSync(positionals[0], 'utf8')) as Profile;
const top = Number(values.top);

const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map<number, number>();
const span = profile.timeDeltas.reduce((a, b) => a + b, 0);
const to = span - Number(values.before ?? 0) * 1e6;
const from = values.last ? to - Number(values.last) * 1e6 : -Infinity;
let clock = 0;
profile.samples.forEach((id, i) => {
  clock += profile.timeDeltas[i] ?? 0;
  if (clock >= from && clock <= to) self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
});

/** The package of a script, `node:` for Node's own, or the repository-relative file. */
function area(url: string, name: string): string {
  if (!url) return name.startsWith('(') ? name : '(native)';
  if (url.startsWith('node:')) return 'node';
  const modules = url.lastIndexOf('node_modules/');
  if (modules >= 0) {
    const rest = url.slice(modules + 'node_modules/'.length).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  const file = url.replace(/^file:\/\//, '');
  return path.relative(process.cwd(), file) || file;
}

const areas = new Map<string, number>();
const functions = new Map<string, number>();
let total = 0;
let idle = 0;
for (const [id, us] of self) {
  const { callFrame } = byId.get(id)!;
  if (callFrame.functionName === '(idle)') {
    idle += us;
    continue;
  }
  total += us;
  const a = area(callFrame.url, callFrame.functionName);
  areas.set(a, (areas.get(a) ?? 0) + us);
  const f = `${callFrame.functionName || '(anonymous)'} ${a}:${callFrame.lineNumber + 1}`;
  functions.set(f, (functions.get(f) ?? 0) + us);
}

const pct = (us: number) => `${((100 * us) / total).toFixed(1).padStart(5)} %`;
const print = (title: string, m: Map<string, number>) => {
  process.stdout.write(`\n${title}\n`);
  for (const [k, us] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) process.stdout.write(`${pct(us)}  ${k}\n`);
};
process.stdout.write(`${positionals[0]}: ${(total / 1e6).toFixed(2)} s busy, ${(idle / 1e6).toFixed(2)} s idle\n`);
print('Self time by package or file', areas);
print('Self time by function', functions);
