/**
 * The boot storm client: N simulated machines boot at once (or on a ramp) against one stack,
 * then a summary per phase. Runs inside the storm's client namespace (bench/storm.sh):
 *   tsx bench/storm/main.ts --label rackboot --macs FILE --server 198.18.0.1 --relay 198.19.0.1
 *     [--count 1000] [--arrival all|ramp] [--ramp-seconds 30] [--rate 1gbit] [--timeout 240]
 *     [--blksize 1468] [--windowsize 4] [--json OUT]
 * Bounded: every machine stops at the deadline (a failure), then the process exits.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { RelayDhcp } from './dhcp-client.js';
import { bootMachine } from './machine.js';
import { type MachineResult, formatReopens, formatSummary, linkLimitSeconds, parseRate, summarize } from './stats.js';

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
    json: { type: 'string' },
  },
});
if (!a.macs) throw new Error('--macs FILE is required');
const count = Math.min(Number(a.count), 10_000);
const macs = readFileSync(a.macs, 'utf8').split('\n').filter(Boolean).slice(0, count);
const rampMs = a.arrival === 'ramp' ? Number(a['ramp-seconds']) * 1000 : 0;
const started = Date.now();
const deadline = started + Math.min(Number(a.timeout), 600) * 1000;
const dhcp = await RelayDhcp.open(a.relay!, a.server!);
const env = {
  dhcp,
  deadline,
  tftp: { blksize: Number(a.blksize), windowsize: Number(a.windowsize), timeoutMs: Number(a['tftp-timeout-ms']) },
};

// The client is one process for every machine: when its event loop lags, bytes that reached its
// kernel wait unread, and servers see slow clients that real machines (one CPU each) would not be.
const loopDelay = monitorEventLoopDelay({ resolution: 20 });
loopDelay.enable();
let peakClientRss = 0;
const rssTimer = setInterval(() => {
  peakClientRss = Math.max(peakClientRss, process.memoryUsage.rss());
}, 500);
const t0 = performance.now();
const results: MachineResult[] = await Promise.all(
  macs.map(async (mac, i) => {
    const delay = macs.length > 1 ? (rampMs * i) / (macs.length - 1) : 0;
    if (delay > 0) await new Promise((r) => setTimeout(r, delay));
    return bootMachine(mac, env);
  }),
);
const totalS = (performance.now() - t0) / 1000;
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
  `storm client peak RSS ${(peakClientRss / 1048576).toFixed(0)} MiB; event-loop delay p99 ${(loopDelay.percentile(99) / 1e6).toFixed(0)} ms, max ${(loopDelay.max / 1e6).toFixed(0)} ms`,
];
const reasons = new Map<string, number>();
for (const f of failures) {
  const k = `${f.failed!.phase}: ${f.failed!.error.replace(/(?<!HTTP \d*)\d+/g, 'N').slice(0, 120)}`;
  reasons.set(k, (reasons.get(k) ?? 0) + 1);
}
for (const [k, n] of [...reasons].sort((x, y) => y[1] - x[1]).slice(0, 8)) lines.push(`  ${n} x ${k}`);
process.stdout.write(`${lines.join('\n')}\n`);
if (a.json) {
  writeFileSync(a.json, JSON.stringify({ label: a.label, machines: macs.length, totalS, bytes, limitS, retransmits, failures: failures.length, reopens: results.reduce((n, r) => n + (r.reopens?.length ?? 0), 0), summary: summarize(results) }));
}
process.exit(0);
