/**
 * Summarises a V8 .cpuprofile (node --cpu-prof): the functions with the most self time, and
 * self time per source file, so a storm run can say where the server's one core went.
 *   tsx bench/storm/cpu-profile.ts FILE.cpuprofile [top=20]
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const [file, topArg] = process.argv.slice(2);
if (!file) throw new Error('usage: cpu-profile.ts FILE.cpuprofile [top]');
const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const selfUs = new Map<number, number>();
p.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (p.timeDeltas[i + 1] ?? 0)));
const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
const place = (n: ProfileNode) => {
  const u = n.callFrame.url.replace(/^file:\/\//, '').replace(/^.*\/(dist|node_modules)\//, '$1/');
  return u ? `${u}:${n.callFrame.lineNumber + 1}` : '';
};
const add = (m: Map<string, number>, k: string, v: number) => m.set(k, (m.get(k) ?? 0) + v);
const fns = new Map<string, number>();
const files = new Map<string, number>();
for (const [id, us] of selfUs) {
  const n = byId.get(id)!;
  add(fns, `${n.callFrame.functionName || '(anonymous)'} ${place(n)}`.trim(), us);
  const u = n.callFrame.url.replace(/^file:\/\//, '');
  const area = !u ? n.callFrame.functionName || '(native)' : u.startsWith('node:') ? u : u.replace(/^.*\/(dist|node_modules)\/((@[^/]+\/)?[^/]+).*$/, '$1/$2');
  add(files, area, us);
}
const pct = (us: number) => `${((100 * us) / total).toFixed(1).padStart(5)}%`;
const wall = (p.endTime - p.startTime) / 1e6;
const idle = [...selfUs].filter(([id]) => byId.get(id)!.callFrame.functionName === '(idle)').reduce((a, [, us]) => a + us, 0);
console.log(`cpu profile: ${wall.toFixed(1)} s wall, ${((total - idle) / 1e6).toFixed(1)} s busy on the main thread (${pct(total - idle).trim()})`);
console.log('top functions by self time:');
for (const [k, us] of [...fns].sort((a, b) => b[1] - a[1]).slice(0, Number(topArg ?? 20))) console.log(`  ${pct(us)} ${k}`);
console.log('self time by area:');
for (const [k, us] of [...files].sort((a, b) => b[1] - a[1]).slice(0, 12)) console.log(`  ${pct(us)} ${k}`);
