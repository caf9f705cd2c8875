// Event-loop stalls in a V8 .cpuprofile (bench/dhcp-profile.sh): for each pattern, the runs of
// consecutive samples whose stack matches it (count, p50/p90/p99/max ms); then the longest busy
// stretches between idle samples with what filled them.
//   node bench/dhcp/stalls.mjs FILE.cpuprofile [PATTERN...]
import { readFileSync } from 'node:fs';
const prof = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const pats = process.argv.slice(3);
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const label = (id) => { const cf = byId.get(id).callFrame; return `${cf.functionName} ${cf.url.replace(/^.*\/(dist|src|node_modules)\//, '$1/')}:${cf.lineNumber + 1}`; };
const cache = new Map();
const stack = (id) => { if (cache.has(id)) return cache.get(id); const a = []; for (let x = id; x !== undefined; x = parent.get(x)) a.push(label(x)); const s = a.join(' < '); cache.set(id, s); return s; };
for (const p of pats) {
  const re = new RegExp(p);
  const runs = [];
  let cur = 0;
  for (let i = 0; i < prof.samples.length; i++) {
    const dt = prof.timeDeltas[i + 1] ?? 0;
    if (re.test(stack(prof.samples[i]))) cur += dt; else if (cur) { runs.push(cur); cur = 0; }
  }
  runs.sort((a, b) => a - b);
  const q = (f) => (runs[Math.floor(f * (runs.length - 1))] / 1000).toFixed(2);
  console.log(`${p}: ${runs.length} runs, p50 ${q(0.5)} p90 ${q(0.9)} p99 ${q(0.99)} max ${q(1)} ms, total ${(runs.reduce((a, b) => a + b, 0) / 1e6).toFixed(2)} s`);
}
// Non-idle runs overall (event-loop stalls), with the top-level frame of the longest.
const idle = (id) => byId.get(id).callFrame.functionName === '(idle)';
const runs = []; let cur = 0; let kinds = new Map();
for (let i = 0; i < prof.samples.length; i++) {
  const dt = prof.timeDeltas[i + 1] ?? 0;
  if (!idle(prof.samples[i])) { cur += dt; const s = stack(prof.samples[i]).split(' < '); const k = s.slice(-4, -1).reverse().join(' > '); kinds.set(k, (kinds.get(k) ?? 0) + dt); }
  else if (cur) { runs.push([cur, kinds]); cur = 0; kinds = new Map(); }
}
runs.sort((a, b) => b[0] - a[0]);
for (const [us, k] of runs.slice(0, 12)) console.log(`busy ${(us / 1000).toFixed(1)} ms: ${[...k].sort((a, b) => b[1] - a[1]).slice(0, 3).map(([n, v]) => `${n.slice(0, 110)} ${(v / 1000).toFixed(1)}`).join(' | ')}`);
