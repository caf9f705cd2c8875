// Prints the self time of a V8 .cpuprofile per function (top first), then per file.
import { readFileSync } from 'node:fs';

const prof = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const self = new Map();
const dt = prof.timeDeltas;
for (let i = 0; i < prof.samples.length; i++) self.set(prof.samples[i], (self.get(prof.samples[i]) ?? 0) + (dt[i] ?? 0));
const fn = new Map();
const file = new Map();
let total = 0;
for (const [id, us] of self) {
  const cf = byId.get(id).callFrame;
  const url = cf.url.replace(/^.*\/(node_modules|dist|src)\//, '$1/');
  const k = `${cf.functionName || '(anon)'} ${url}:${cf.lineNumber + 1}`;
  fn.set(k, (fn.get(k) ?? 0) + us);
  file.set(url || cf.functionName, (file.get(url || cf.functionName) ?? 0) + us);
  total += us;
}
const pct = (us) => ((100 * us) / total).toFixed(1).padStart(5);
console.log(`total ${(total / 1e6).toFixed(2)} s sampled`);
for (const [k, us] of [...fn].sort((a, b) => b[1] - a[1]).slice(0, 30)) console.log(`${pct(us)}%  ${k}`);
console.log('--- by file');
for (const [k, us] of [...file].sort((a, b) => b[1] - a[1]).slice(0, 15)) console.log(`${pct(us)}%  ${k}`);
// Inclusive time per function (each sample counted once per distinct function on its stack).
const parent = new Map();
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const incl = new Map();
for (let i = 0; i < prof.samples.length; i++) {
  const seen = new Set();
  for (let id = prof.samples[i]; id !== undefined; id = parent.get(id)) {
    const cf = byId.get(id).callFrame;
    const k = `${cf.functionName || '(anon)'} ${cf.url.replace(/^.*\/(node_modules|dist|src)\//, '$1/')}:${cf.lineNumber + 1}`;
    if (seen.has(k)) continue;
    seen.add(k);
    incl.set(k, (incl.get(k) ?? 0) + (dt[i] ?? 0));
  }
}
console.log('--- inclusive (dist/ and dgram only)');
for (const [k, us] of [...incl].sort((a, b) => b[1] - a[1]).filter(([k]) => /dist\/|dgram|processTicks|processImmediate|listOnTimeout/.test(k)).slice(0, 30)) console.log(`${pct(us)}%  ${k}`);
