import { resolve } from 'node:path';
import { decodeDhcpPacket, type DhcpPacket } from '../../../src/dhcp/packet.js';
import { Store } from '../../../src/inventory/store.js';
import { TestNet } from '../../helpers/netns.js';
import { type RackbootProcess, startRackboot } from '../../helpers/rackboot.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const PROBE = resolve(import.meta.dirname, 'probe.ts');
const ROOT = resolve(import.meta.dirname, '../../..');

/** Settings every DHCP lab server starts from (TFTP is another subsystem: off here). */
export function labSettings(dhcp: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    http: { host: '198.18.0.1', port: 8080 },
    tftp: { enabled: false },
    dhcp: {
      enabled: true,
      mode: 'full',
      interfaces: ['br0'],
      serverAddress: '198.18.0.1',
      subnets: [{ cidr: '198.18.0.0/24', poolStart: '198.18.0.100', poolEnd: '198.18.0.200', router: '198.18.0.1', leaseSeconds: 20 }],
      ...dhcp,
    },
  };
}

/** A TestNet with helpers to seed the inventory, start rackboot and probe it. */
export class DhcpLab {
  private constructor(readonly net: TestNet) {}
  server: RackbootProcess | undefined;
  readonly dataDir = mkdtempSync(join(tmpdir(), 'rb-dhcp-'));

  static async create(tag: string): Promise<DhcpLab> {
    return new DhcpLab(await TestNet.create(tag));
  }

  /** Runs `fn` on the inventory of the data dir (before the server starts or between runs). */
  seed(fn: (store: Store) => void): void {
    const store = Store.open(this.dataDir);
    try {
      fn(store);
    } finally {
      store.close();
    }
  }

  /** Starts rackboot with lab settings (stopping a previous one). */
  async start(dhcp: Record<string, unknown> = {}): Promise<RackbootProcess> {
    await this.stopServer();
    this.server = await startRackboot(this.net, labSettings(dhcp), this.dataDir);
    return this.server;
  }

  /** Reads the inventory while the server runs (WAL). */
  read<T>(fn: (store: Store) => T): T {
    const store = Store.open(this.dataDir);
    try {
      return fn(store);
    } finally {
      store.close();
    }
  }

  /** Sends packets from the client namespace on `iface` and returns the decoded replies. */
  async probe(spec: { iface?: string; send: Buffer[]; fuzz?: { count: number; seed: number }; listenMs?: number }): Promise<DhcpPacket[]> {
    const arg = JSON.stringify({ iface: spec.iface ?? 'eth0', send: spec.send.map((b) => b.toString('hex')), fuzz: spec.fuzz, listenMs: spec.listenMs ?? 1500 });
    const { stdout } = await this.net.exec(this.net.cli, process.execPath, ['--import', 'tsx', PROBE, arg], 120_000).catch((e) => {
      throw new Error(`probe failed: ${(e as Error).message}`);
    });
    const out = JSON.parse(stdout.trim().split('\n').pop()!) as { replies: Array<{ hex: string }> };
    return out.replies.map((r) => decodeDhcpPacket(Buffer.from(r.hex, 'hex')));
  }

  /** Runs a command in a namespace from the repo root. */
  async sh(ns: 'srv' | 'cli', cmd: string, args: string[], timeoutMs = 60_000) {
    return this.net.exec(ns === 'srv' ? this.net.srv : this.net.cli, cmd, args, timeoutMs);
  }

  get root(): string {
    return ROOT;
  }

  /**
   * Stops the server unless it is gone already (RackbootProcess.stop waits for an 'exit' that
   * never comes again when the process was killed by a signal earlier, e.g. our kill -9).
   */
  async stopServer(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const p = this.server?.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    await this.server?.stop(signal);
  }

  async destroy(): Promise<void> {
    await this.stopServer('SIGKILL').catch(() => {});
    await this.net.destroy();
  }
}
