import { type Socket, createSocket } from 'node:dgram';
import { decodeTftpPacket, encodeAck, encodeError } from '../../../src/tftp/packet.js';
import type { UdpPeer } from '../../../src/tftp/udp.js';
import type { FetchResult } from './client.js';
import { type Faults, seededRandom } from './memory-net.js';

/** Binds a UDP socket on 127.0.0.1 (ephemeral port). */
export async function loopbackSocket(): Promise<{ sock: Socket; local: UdpPeer }> {
  const sock = createSocket('udp4');
  await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', resolve));
  return { sock, local: { address: '127.0.0.1', port: sock.address().port } };
}

/** How a RealClient behaves. */
export interface ReceiveOptions {
  /** Sent first (an RRQ to the server); without it the client waits for the server to start. */
  request?: { packet: Buffer; to: UdpPeer };
  /** Where ACKs go; default: the address the first answer came from (the server's TID). */
  ackTo?: UdpPeer;
  blksize: number;
  windowsize: number;
  /** Resend the last ACK after this long without a packet (default 60 ms). */
  timeoutMs?: number;
  /** Answer an OACK with ERROR 8 (options refused) and stop. */
  declineOack?: boolean;
  /** After this many blocks, go silent (the socket stays open) and resolve. */
  vanishAfter?: number;
  /** Datagrams sent to the server's TID before every ACK (malformed or stray packets). */
  junk?: Buffer[];
}

/**
 * A TFTP receiver on a real loopback socket, like the memory client: OACK, RFC 7440 windows
 * (ACK at the window end, ACK the last in-order block on a gap), re-ACK of an old block at
 * window 1, and a dally after the last block (it re-ACKs until close()).
 */
export class RealClient {
  /** Datagrams received (every kind). */
  received = 0;
  private constructor(
    readonly sock: Socket,
    readonly local: UdpPeer,
  ) {}

  /** A client on a fresh loopback socket. */
  static async open(): Promise<RealClient> {
    const { sock, local } = await loopbackSocket();
    return new RealClient(sock, local);
  }

  /** Receives one transfer; resolves when complete, on an ERROR, on vanishAfter, or after 20 tries. */
  receive(o: ReceiveOptions): Promise<FetchResult> {
    const chunks: Buffer[] = [];
    let peer = o.ackTo;
    let received = 0;
    let sinceAck = 0;
    let lastSent: Buffer | undefined;
    let tries = 0;
    let timer: NodeJS.Timeout | undefined;
    let oack: Record<string, string> | undefined;
    let done = false;
    return new Promise((resolve) => {
      const finish = (r: Omit<FetchResult, 'data'>) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        const out: FetchResult = { data: Buffer.concat(chunks), ...r };
        if (oack) out.oack = oack;
        resolve(out);
      };
      const send = (p: Buffer) => {
        lastSent = p;
        if (peer) this.sock.send(p, peer.port, peer.address);
      };
      const arm = () => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          if (++tries > 20) return finish({ complete: false, error: { code: -1, message: 'client timeout' } });
          if (lastSent && peer) this.sock.send(lastSent, peer.port, peer.address);
          else if (o.request) this.sock.send(o.request.packet, o.request.to.port, o.request.to.address);
          arm();
        }, o.timeoutMs ?? 60);
      };
      const ack = (block: number) => {
        if (peer) for (const j of o.junk ?? []) this.sock.send(j, peer.port, peer.address);
        send(encodeAck(block));
        sinceAck = 0;
      };
      this.sock.on('message', (msg, rinfo) => {
        this.received++;
        peer ??= { address: rinfo.address, port: rinfo.port };
        if (o.vanishAfter !== undefined && received >= o.vanishAfter) return;
        const p = decodeTftpPacket(msg);
        if (done) {
          // Dally (RFC 1350 §6): the final ACK may have been lost.
          if (p.op === 'data' && lastSent) this.sock.send(lastSent, peer.port, peer.address);
          return;
        }
        tries = 0;
        if (p.op === 'error') return finish({ complete: false, error: { code: p.code, message: p.message } });
        if (p.op === 'oack') {
          if (received > 0) return;
          oack = p.options;
          if (o.declineOack) {
            send(encodeError(8, 'options refused by test'));
            return finish({ complete: false });
          }
          ack(0);
          return arm();
        }
        if (p.op !== 'data') return;
        const expected = (received + 1) & 0xffff;
        if (p.block !== expected) {
          const ahead = ((p.block - expected) & 0xffff) < 0x8000;
          if (ahead || o.windowsize === 1) ack(ahead ? received & 0xffff : p.block);
          return arm();
        }
        chunks.push(Buffer.from(p.data));
        received++;
        sinceAck++;
        if (p.data.length < o.blksize) {
          ack(p.block);
          return finish({ complete: true });
        }
        if (sinceAck >= o.windowsize) ack(p.block);
        if (o.vanishAfter !== undefined && received >= o.vanishAfter) return finish({ complete: false });
        arm();
      });
      if (o.request) this.sock.send(o.request.packet, o.request.to.port, o.request.to.address);
      arm();
    });
  }

  close(): void {
    this.sock.close();
  }
}

/**
 * A seeded lossy UDP relay between a client and a server, both on loopback: datagrams from the
 * client (to `clientSide`) go on from `serverSide` to the server's TID (or `server` until one
 * answered), datagrams to `serverSide` go on to the client. Each one may be dropped,
 * duplicated or delayed past later ones (real timers, a few ms).
 */
export class LossyRelay {
  readonly counts = { fromServer: 0, fromClient: 0, dropped: 0, duplicated: 0, delayed: 0 };
  private serverTid: UdpPeer | undefined;
  private readonly random: () => number;
  private readonly timers = new Set<NodeJS.Timeout>();

  private constructor(
    private readonly a: { sock: Socket; local: UdpPeer },
    private readonly b: { sock: Socket; local: UdpPeer },
    private readonly client: UdpPeer,
    seed: number,
    private readonly faults: Faults,
  ) {
    this.random = seededRandom(seed);
    a.sock.on('message', (msg) => {
      this.counts.fromClient++;
      const to = this.serverTid;
      if (to) this.forward(b.sock, msg, to);
    });
    b.sock.on('message', (msg, rinfo) => {
      this.counts.fromServer++;
      this.serverTid ??= { address: rinfo.address, port: rinfo.port };
      this.forward(a.sock, msg, this.client);
    });
  }

  /** A relay for `client`; point the server at `serverSide` and the client's ACKs at `clientSide`. */
  static async open(client: UdpPeer, seed: number, faults: Faults): Promise<LossyRelay> {
    return new LossyRelay(await loopbackSocket(), await loopbackSocket(), client, seed, faults);
  }

  /** Where the client sends. */
  get clientSide(): UdpPeer {
    return this.a.local;
  }

  /** Where the server sends (its peer). */
  get serverSide(): UdpPeer {
    return this.b.local;
  }

  private forward(sock: Socket, msg: Buffer, to: UdpPeer): void {
    const r = this.random();
    const f = this.faults;
    if (r < f.drop) {
      this.counts.dropped++;
      return;
    }
    const copies = r < f.drop + f.duplicate ? 2 : 1;
    if (copies === 2) this.counts.duplicated++;
    for (let i = 0; i < copies; i++) {
      if (this.random() < f.reorder) {
        this.counts.delayed++;
        const t = setTimeout(() => {
          this.timers.delete(t);
          sock.send(msg, to.port, to.address);
        }, 1 + Math.floor(this.random() * f.maxDelayMs));
        this.timers.add(t);
      } else {
        sock.send(msg, to.port, to.address);
      }
    }
  }

  close(): void {
    for (const t of this.timers) clearTimeout(t);
    this.a.sock.close();
    this.b.sock.close();
  }
}
