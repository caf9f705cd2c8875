/**
 * The boot storm client: N simulated machines boot at once (or on a ramp) against one stack,
 * then a summary per phase. Runs inside the storm's client namespace (bench/storm.sh):
 *   tsx bench/storm/main.ts --label rackboot --macs FILE --server 198.18.0.1 --relay 198.19.0.1
 *     [--count 1000] [--arrival all|ramp] [--ramp-seconds 30] [--rate 1gbit] [--timeout 240]
 *     [--blksize 1468] [--windowsize 4] [--workers 8] [--json OUT]
 * The machines are spread over --workers worker threads (bench/storm/worker.ts), each with its
 * own event loop: one process for 1,000 machines stalled its loop for up to 12.5 s on a shared
 * core, and servers then saw slow clients that real machines (one CPU each) are not. This
 * thread holds the relay's DHCP socket and answers the workers' DORA requests. Every thread's
 * event-loop delay is printed, so a run can tell the server's delays from the client's own.
 * Bounded: every machine stops at the deadline (a failure), then the process exits.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { RelayDhcp } from './dhcp-client.js';
import { type MachineResult, formatReopens, formatSummary, linkLimitSeconds, parseRate, summarize } from './stats.js';
import type { LoopDelay, ToMain, ToWorker, WorkerInput } from './worker.js';

const { values: a } = parseArgs({
  options: {
    label: { type: 'string', default: 'stack' },
    macs: { type: 'string' },
    server: { type: 'string', default: '198.18.0.1' },
    relay: { type: 'string', default: '198.19.0.1' },
    count: { type: 'string', default: '1000' },
    arrival: { type: 'string', default: 'all' },
    'ramp-seconds': { type: 'string', default: '30' },
    rate: { type: 'string', default: 'none' },
    timeout: { type: 'string', default: '240' },
    blksize: { type: 'string', default: '1468' },
    windowsize: { type: 'string', default: '4' },
    'tftp-timeout-ms': { type: 'string', default: '1000' },
    workers: { type: 'string', default: '8' },
    json: { type: 'string' },
  },
});
if (!a.macs) throw new Error('--macs FILE is required');
const count = Math.min(Number(a.count), 10_000);
const macs = readFileSync(a.macs, 'utf8').split('\n').filter(Boolean).slice(0, count);
const rampMs = a.arrival === 'ramp' ? Number(a['ramp-seconds']) * 1000 : 0;
const nWorkers = Math.max(1, Math.min(Number(a.workers), 64, macs.length));
// Every worker has loaded its modules before the storm starts (all at once means at once).
const startupMs = 60_000;
const timeoutMs = Math.min(Number(a.timeout), 600) * 1000;
const dhcp = await RelayDhcp.open(a.relay!, a.server!);
const tftp = { blksize: Number(a.blksize), windowsize: Number(a.windowsize), timeoutMs: Number(a['tftp-timeout-ms']) };

// This thread only relays DHCP for the workers; its loop delay is printed too.
const loopDelay = monitorEventLoopDelay({ resolution: 20 });
loopDelay.enable();
let peakClientRss = 0;
const rssTimer = setInterval(() => {
  peakClientRss = Math.max(peakClientRss, process.memoryUsage.rss());
}, 500);

// Machine i goes to worker i mod n, so a ramp spreads evenly over the workers.
const shares: WorkerInput['machines'][] = Array.from({ length: nWorkers }, () => []);
macs.forEach((mac, i) => shares[i % nWorkers]!.push({ mac, delayMs: macs.length > 1 ? (rampMs * i) / (macs.length - 1) : 0 }));
const workerLoops: LoopDelay[] = [];
let ready = 0;
let allReady: () => void;
const readyAll = new Promise<void>((r) => {
  allReady = r;
});
// A worker does not inherit tsx's module hooks on Node 20: it registers them, then loads worker.ts.
const boot = `import { register } from ${JSON.stringify(import.meta.resolve('tsx/esm/api'))}; register(); await import(${JSON.stringify(new URL('./worker.ts', import.meta.url).href)});`;
const workers = shares.map((machines) => new Worker(new URL(`data:text/javascript,${encodeURIComponent(boot)}`), { workerData: { machines, tftp } satisfies WorkerInput }));
const finished = workers.map(
  (w) =>
    new Promise<MachineResult[]>((resolve, reject) => {
      w.on('error', reject);
      w.on('exit', (code) => reject(new Error(`storm worker exited (${code}) before its machines were done`)));
      w.on('message', (m: ToMain) => {
        if (m.type === 'ready') {
          if (++ready === nWorkers) allReady();
          return;
        }
        if (m.type === 'done') {
          workerLoops.push(m.loop);
          resolve(m.results);
          return;
        }
        dhcp.dora(m.mac, m.kind, m.deadline).then(
          (lease) => w.postMessage({ type: 'lease', id: m.id, lease } satisfies ToWorker),
          (e: unknown) => w.postMessage({ type: 'lease', id: m.id, error: e instanceof Error ? e.message : String(e) } satisfies ToWorker),
        );
      });
    }),
);
const startupTimer = setTimeout(() => {
  process.stderr.write(`storm client: only ${ready} of ${nWorkers} workers ready after ${startupMs / 1000} s\n`);
  process.exit(1);
}, startupMs);
await readyAll;
clearTimeout(startupTimer);
const t0 = performance.now();
const at = Date.now();
const cpu0 = process.cpuUsage();
for (const w of workers) w.postMessage({ type: 'go', at, deadline: at + timeoutMs } satisfies ToWorker);
const results: MachineResult[] = (await Promise.all(finished)).flat();
const totalS = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
const stalls = workerLoops.flatMap((l) => l.stalls).sort((x, y) => y.ms - x.ms);
clearInterval(rssTimer);
peakClientRss = Math.max(peakClientRss, process.memoryUsage.rss());
dhcp.close();

const bytes = results.reduce((n, r) => n + r.bytes, 0);
const bps = parseRate(a.rate!);
const limitS = linkLimitSeconds(bytes, bps);
const retransmits = results.reduce((n, r) => n + r.retransmits, 0);
const failures = results.filter((r) => r.failed);
const lines = [
  `# storm ${a.label}: ${macs.length} machines, arrival ${a.arrival}${rampMs ? ` over ${rampMs / 1000} s` : ''}, link ${a.rate}, TFTP blksize ${a.blksize} windowsize ${a.windowsize}`,
  ...formatSummary(summarize(results)),
  `failures ${failures.length}, client retransmissions ${retransmits} (DHCP + TFTP timeouts + HTTP 503 retries)`,
  `payload ${(bytes / 1e6).toFixed(1)} MB in ${totalS.toFixed(2)} s = ${((bytes * 8) / totalS / 1e6).toFixed(0)} Mbit/s` +
    (limitS > 0 ? `; link-rate limit ${limitS.toFixed(2)} s, ratio to the limit ${(limitS / totalS).toFixed(2)}` : ''),
  formatReopens(results),
  `storm client peak RSS ${(peakClientRss / 1048576).toFixed(0)} MiB; ${nWorkers} worker threads, event-loop delay p99 ${Math.round(Math.max(...workerLoops.map((l) => l.p99)))} ms (worst worker), max ${Math.round(Math.max(...workerLoops.map((l) => l.max)))} ms; DHCP relay thread p99 ${(loopDelay.percentile(99) / 1e6).toFixed(0)} ms, max ${(loopDelay.max / 1e6).toFixed(0)} ms`,
  `storm client CPU ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s in ${totalS.toFixed(1)} s (user ${(cpu.user / 1e6).toFixed(1)}, system ${(cpu.system / 1e6).toFixed(1)}; one core); ` +
    `worker seconds with a loop stall > 1 s: ${stalls.length}${stalls.length ? ` (worst at ${stalls.slice(0, 6).map((x) => `${x.atS} s: ${x.ms} ms`).join(', ')})` : ''}`,
];
const reasons = new Map<string, number>();
for (const f of failures) {
  const k = `${f.failed!.phase}: ${f.failed!.error.replace(/(?<!HTTP \d*)\d+/g, 'N').slice(0, 120)}`;
  reasons.set(k, (reasons.get(k) ?? 0) + 1);
}
for (const [k, n] of [...reasons].sort((x, y) => y[1] - x[1]).slice(0, 8)) lines.push(`  ${n} x ${k}`);
process.stdout.write(`${lines.join('\n')}\n`);
if (a.json) {
  writeFileSync(a.json, JSON.stringify({ label: a.label, machines: macs.length, workers: nWorkers, workerLoops, totalS, bytes, limitS, retransmits, failures: failures.length, reopens: results.reduce((n, r) => n + (r.reopens?.length ?? 0), 0), summary: summarize(results) }));
}
process.exit(0);
