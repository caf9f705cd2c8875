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

// Busy stretches: consecutive samples off (idle), i.e. how long the thread ran without reaching
// its event loop's poll. A datagram or request that arrives meanwhile waits at least that long.
const isIdle = (id: number) => byId.get(id)!.callFrame.functionName === '(idle)';
const stretches: { startS: number; ms: number; fns: Map<string, number> }[] = [];
let cur: (typeof stretches)[number] | undefined;
let t = 0;
p.samples.forEach((id, i) => {
  const dt = p.timeDeltas[i + 1] ?? 0;
  t += p.timeDeltas[i] ?? 0;
  if (isIdle(id)) {
    if (cur) stretches.push(cur);
    cur = undefined;
    return;
  }
  cur ??= { startS: t / 1e6, ms: 0, fns: new Map() };
  cur.ms += dt / 1000;
  const n = byId.get(id)!;
  add(cur.fns, `${n.callFrame.functionName || '(anonymous)'} ${place(n)}`.trim(), dt);
});
if (cur) stretches.push(cur);
const over = (ms: number) => stretches.filter((s) => s.ms > ms).length;
console.log(`busy stretches (no return to the event loop): > 100 ms ${over(100)}, > 250 ms ${over(250)}, > 500 ms ${over(500)}, > 1 s ${over(1000)}`);
for (const s of [...stretches].sort((a, b) => b.ms - a.ms).slice(0, 5)) {
  const top = [...s.fns].sort((a, b) => b[1] - a[1]).slice(0, 3);
  console.log(`  ${s.ms.toFixed(0)} ms at ${s.startS.toFixed(1)} s: ${top.map(([k, us]) => `${k} ${((100 * us) / 1000 / s.ms).toFixed(0)}%`).join('; ')}`);
}
