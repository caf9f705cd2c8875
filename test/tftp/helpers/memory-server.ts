import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../../src/log.js';
import { TftpHandlerRegistry } from '../../../src/tftp/handlers.js';
import { type TransferRecord, TftpServer } from '../../../src/tftp/server.js';
import { tftpSettingsSchema } from '../../../src/tftp/settings.js';
import type { UdpPeer } from '../../../src/tftp/udp.js';
import { type FetchResult, fetchOverMemory } from './client.js';
import { FakeClock, settle } from './fake-clock.js';
import { type Faults, MemoryNet, seededRandom } from './memory-net.js';

/** A TftpServer on a simulated network with a fake clock; files come from an in-memory handler. */
export async function memoryServer(opts: { seed?: number; faults?: Faults; settings?: Record<string, unknown>; root?: string } = {}) {
  const clock = new FakeClock();
  const net = new MemoryNet(clock, seededRandom(opts.seed ?? 1), opts.faults);
  const files = new Map<string, Buffer>();
  const handlers = new TftpHandlerRegistry();
  handlers.register({ match: (p) => p.startsWith('mem/'), open: async (p) => (files.has(p) ? { stream: files.get(p)! } : null) });
  const records: TransferRecord[] = [];
  const server = new TftpServer({
    settings: tftpSettingsSchema.parse(opts.settings ?? {}),
    root: opts.root ?? mkdtempSync(join(tmpdir(), 'rb-tftp-mem-')),
    log: silentLogger(),
    handlers,
    transport: net,
    clock,
    lookupMac: (ip) => (ip === '198.18.0.77' ? '52:54:00:00:00:77' : undefined),
    onTransfer: (r) => records.push(r),
  });
  const addr = await server.listen('198.18.0.1', 69);
  let nextClientPort = 2000;

  /** Runs the simulation until `done()` or no timer is left; bounded in steps. */
  async function run(done: () => boolean, maxSteps = 500_000): Promise<void> {
    let idle = 0;
    for (let i = 0; i < maxSteps; i++) {
      await settle();
      if (done()) return;
      if (clock.runNext()) {
        idle = 0;
        continue;
      }
      // No timer left: real file-system work (realpath, open) may still be on its way.
      if (++idle > 500) throw new Error('simulation stalled: nothing left to run');
      await new Promise((r) => setTimeout(r, 2));
    }
    throw new Error(`simulation did not finish in ${maxSteps} steps`);
  }

  /** Fetches a file with the reference client and runs until it has an answer. */
  async function fetch(file: string, options: Record<string, string> = {}, from: Partial<UdpPeer> & { mode?: string } = {}): Promise<FetchResult> {
    const local = { address: from.address ?? '198.18.0.50', port: from.port ?? nextClientPort++ };
    const f = fetchOverMemory(net, clock, local, addr, { file, options, mode: from.mode ?? 'octet' });
    await run(() => f.result() !== undefined);
    return f.result()!;
  }

  /** Runs until every transfer on the server has ended (the client dallied, timers expired). */
  async function drain(): Promise<void> {
    await run(() => server.activeTransfers === 0);
  }

  return { clock, net, files, handlers, records, server, addr, run, fetch, drain };
}
