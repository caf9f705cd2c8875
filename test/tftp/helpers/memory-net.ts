import type { TftpTransport, UdpEndpoint, UdpPeer } from '../../../src/tftp/udp.js';
import type { FakeClock } from './fake-clock.js';

/** Deterministic PRNG (mulberry32) so a lossy run is the same every time. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fault rates of the simulated network (0..1 each). */
export interface Faults {
  drop: number;
  duplicate: number;
  /** Probability that a packet is delayed by up to `maxDelayMs` extra, overtaking others. */
  reorder: number;
  maxDelayMs: number;
}

type Receiver = (packet: Buffer, from: UdpPeer) => void;

/**
 * An in-memory UDP network on a FakeClock: every datagram is delivered 1 ms later, or dropped,
 * duplicated or delayed past later ones according to `faults` and a seeded PRNG.
 */
export class MemoryNet implements TftpTransport {
  private readonly sockets = new Map<string, Receiver>();
  private readonly peers = new Map<string, UdpPeer | undefined>();
  private nextPort = 40000;
  /** Datagrams handed to the network, and how many the faults touched. */
  readonly counts = { sent: 0, dropped: 0, duplicated: 0, delayed: 0 };

  constructor(
    private readonly clock: FakeClock,
    private readonly random: () => number,
    public faults: Faults = { drop: 0, duplicate: 0, reorder: 0, maxDelayMs: 0 },
  ) {}

  async listen(address: string, port: number, onMessage: (packet: Buffer, from: UdpPeer) => void): Promise<UdpEndpoint> {
    return this.open({ address, port: port || this.nextPort++ }, onMessage);
  }

  async connect(localAddress: string, peer: UdpPeer, onMessage: (packet: Buffer) => void): Promise<UdpEndpoint> {
    const local = { address: localAddress, port: this.nextPort++ };
    // Like a connected socket: datagrams from any other address/port never arrive.
    return this.open(local, (packet, from) => {
      if (from.address === peer.address && from.port === peer.port) onMessage(packet);
    }, peer);
  }

  /** Opens a socket for a test client. */
  open(local: UdpPeer, onMessage: Receiver, connectedTo?: UdpPeer): UdpEndpoint {
    const key = `${local.address}:${local.port}`;
    if (this.sockets.has(key)) throw new Error(`address in use: ${key}`);
    this.sockets.set(key, onMessage);
    this.peers.set(key, connectedTo);
    return {
      local,
      send: (packet, to) => this.transmit(local, (to ?? connectedTo)!, Buffer.from(packet)),
      close: () => {
        this.sockets.delete(key);
        this.peers.delete(key);
      },
    };
  }

  /** Puts a datagram straight into a socket (fuzzing), bypassing faults. */
  inject(to: UdpPeer, packet: Buffer, from: UdpPeer): void {
    this.sockets.get(`${to.address}:${to.port}`)?.(packet, from);
  }

  /** Open sockets with the peer a connected one talks to. */
  openSockets(): Array<{ local: UdpPeer; peer: UdpPeer | undefined }> {
    return [...this.peers.entries()].map(([key, peer]) => {
      const [address, port] = key.split(':');
      return { local: { address: address!, port: Number(port) }, peer };
    });
  }

  private transmit(from: UdpPeer, to: UdpPeer, packet: Buffer): void {
    this.counts.sent++;
    const f = this.faults;
    if (this.random() < f.drop) {
      this.counts.dropped++;
      return;
    }
    const copies = this.random() < f.duplicate ? 2 : 1;
    if (copies === 2) this.counts.duplicated++;
    for (let i = 0; i < copies; i++) {
      let delay = 1;
      if (this.random() < f.reorder) {
        this.counts.delayed++;
        delay += Math.floor(this.random() * f.maxDelayMs);
      }
      this.clock.setTimeout(() => this.sockets.get(`${to.address}:${to.port}`)?.(packet, from), delay);
    }
  }
}
