/**
 * One storm worker thread: boots its share of the machines (bench/storm/main.ts spreads them over
 * several threads of the client process, so one busy event loop does not stall every machine:
 * a real machine has a CPU of its own). DHCP goes through the main thread, which holds the
 * relay's one socket (port 67 of the relay address); TFTP and HTTP sockets are the worker's own.
 * Messages: out {ready} once loaded; in {go: start and deadline, epoch ms}; out {dora}…, then {done: results, loop}.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import type { ClientKind, Lease } from './dhcp-client.js';
import { type DoraClient, bootMachine } from './machine.js';
import type { MachineResult } from './stats.js';
import type { TftpOptions } from './tftp-client.js';

/** What main.ts gives a worker. */
export interface WorkerInput {
  machines: { mac: string; delayMs: number }[];
  tftp: TftpOptions;
}

/** Messages between a worker and main.ts. */
export type ToMain =
  | { type: 'ready' }
  | { type: 'dora'; id: number; mac: string; kind: ClientKind; deadline: number }
  | { type: 'done'; results: MachineResult[]; loop: LoopDelay };
export type ToWorker = { type: 'go'; at: number; deadline: number } | { type: 'lease'; id: number; lease?: Lease; error?: string };

/** A thread's event-loop delay over the storm (ms), and its stalls: seconds (since the start) whose worst delay exceeded 1 s. */
export interface LoopDelay {
  p99: number;
  max: number;
  stalls: { atS: number; ms: number }[];
}

const port = parentPort;
if (!port) throw new Error('bench/storm/worker.ts runs as a worker thread of bench/storm/main.ts');
const input = workerData as WorkerInput;

let nextId = 0;
const pending = new Map<number, { resolve: (l: Lease) => void; reject: (e: Error) => void }>();
const dhcp: DoraClient = {
  dora: (mac, kind, deadline) =>
    new Promise<Lease>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      port.postMessage({ type: 'dora', id, mac, kind, deadline } satisfies ToMain);
    }),
};

port.on('message', (m: ToWorker) => {
  if (m.type === 'lease') {
    const p = pending.get(m.id);
    pending.delete(m.id);
    if (m.lease) p?.resolve(m.lease);
    else p?.reject(new Error(m.error ?? 'DHCP failed'));
    return;
  }
  void run(m.at, m.deadline);
});
port.postMessage({ type: 'ready' } satisfies ToMain);

async function run(at: number, deadline: number): Promise<void> {
  const loop = monitorEventLoopDelay({ resolution: 20 });
  loop.enable();
  // Per-second worst delay, to place stalls in time (the phase table tells what ran then).
  const second = monitorEventLoopDelay({ resolution: 20 });
  second.enable();
  const stalls: LoopDelay['stalls'] = [];
  const sampler = setInterval(() => {
    if (second.max > 1e9) stalls.push({ atS: Math.round((Date.now() - at) / 1000), ms: Math.round(second.max / 1e6) });
    second.reset();
  }, 1000);
  const env = { dhcp, deadline, tftp: input.tftp };
  const results = await Promise.all(
    input.machines.map(async ({ mac, delayMs }) => {
      const wait = at + delayMs - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      return bootMachine(mac, env);
    }),
  );
  loop.disable();
  clearInterval(sampler);
  second.disable();
  port!.postMessage({ type: 'done', results, loop: { p99: loop.percentile(99) / 1e6, max: loop.max / 1e6, stalls } } satisfies ToMain);
}
