import { type Socket, createSocket } from 'node:dgram';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { setsockopt } = require('sockopt') as {
  setsockopt: (socket: { _handle: { fd: number } }, level: number, option: number, value: number) => void;
};

/** Linux <netinet/udp.h>: SOL_UDP and UDP_SEGMENT (UDP GSO, 4.18+). */
const SOL_UDP = 17;
const UDP_SEGMENT = 103;
/** Kernel limits of one GSO send: UDP_MAX_SEGMENTS and the 16-bit UDP length. */
const GSO_MAX_SEGMENTS = 64;
const GSO_MAX_BYTES = 65_000;

/** The socket's file descriptor (under dgram's internal state; `_handle` is deprecated, DEP0112). */
function fdOf(sock: Socket): { _handle: { fd: number } } {
  const sym = Object.getOwnPropertySymbols(sock).find((x) => x.description === 'state symbol');
  const state = sym ? (sock as unknown as Record<symbol, { handle?: { fd?: number } }>)[sym] : undefined;
  const fd = state?.handle?.fd;
  if (typeof fd !== 'number' || fd < 0) throw new Error('cannot find the socket file descriptor');
  return { _handle: { fd } };
}

/** A UDP address and port. */
export interface UdpPeer {
  address: string;
  port: number;
}

/** A bound UDP socket as the TFTP server sees it. */
export interface UdpEndpoint {
  readonly local: UdpPeer;
  /** Sends a datagram; `to` is omitted on a connected endpoint. Never throws. */
  send(packet: Buffer, to?: UdpPeer): void;
  /** Sends several datagrams to the connected peer, in one system call where the kernel can. */
  sendBurst?(packets: Buffer[]): void;
  close(): void;
}

/** The datagram layer, injectable so tests can drop, duplicate and reorder packets. */
export interface TftpTransport {
  /** Binds the request socket (port 69) on one local address. */
  listen(address: string, port: number, onMessage: (packet: Buffer, from: UdpPeer) => void): Promise<UdpEndpoint>;
  /**
   * Opens a transfer socket on (localAddress, ephemeral port) that talks only to `peer`: the
   * reply leaves from the address the client sent its request to, from a new transfer ID
   * (RFC 1350 §4), and packets from any other TID never reach the transfer.
   */
  connect(localAddress: string, peer: UdpPeer, onMessage: (packet: Buffer) => void, onError: (e: Error) => void): Promise<UdpEndpoint>;
}

function bind(sock: Socket, address: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    sock.once('error', reject);
    sock.bind({ address, port, exclusive: true }, () => {
      sock.off('error', reject);
      resolve();
    });
  });
}

/**
 * A burst sender using UDP GSO: equal-sized datagrams (the last may be shorter) go to the kernel
 * as one buffer that it cuts into datagrams of UDP_SEGMENT bytes, one syscall per window instead
 * of one per block. If the kernel refuses (no GSO, segment larger than the path MTU) the burst is
 * sent datagram by datagram and GSO stays off for this socket.
 */
function gsoBurst(sock: Socket, sendOne: (p: Buffer) => void): (packets: Buffer[]) => void {
  let segment = 0; // 0: not set yet, -1: unavailable
  const fallback = (packets: Buffer[]) => {
    for (const p of packets) sendOne(p);
  };
  return (packets) => {
    const size = packets[0]?.length ?? 0;
    const fits = packets.length > 1 && packets.every((p, i) => p.length === size || (i === packets.length - 1 && p.length < size));
    if (segment === -1 || !fits) return fallback(packets);
    if (segment !== size) {
      try {
        setsockopt(fdOf(sock), SOL_UDP, UDP_SEGMENT, size);
        segment = size;
      } catch {
        segment = -1;
        return fallback(packets);
      }
    }
    const per = Math.max(1, Math.min(GSO_MAX_SEGMENTS, Math.floor(GSO_MAX_BYTES / size)));
    for (let i = 0; i < packets.length; i += per) {
      const group = packets.slice(i, i + per);
      if (group.length === 1) {
        sendOne(group[0]!);
        continue;
      }
      sock.send(Buffer.concat(group), (err) => {
        if (!err) return;
        segment = -1;
        try {
          setsockopt(fdOf(sock), SOL_UDP, UDP_SEGMENT, 0);
        } catch {
          /* the socket is closed */
        }
        fallback(group);
      });
    }
  };
}

function endpointOf(sock: Socket, connected: boolean, onError: (e: Error) => void): UdpEndpoint {
  const a = sock.address();
  let open = true;
  sock.on('error', onError);
  // Sends take no callback (a callback costs a tick per packet): a failed send (ICMP
  // unreachable on a connected socket, buffer full) arrives as an 'error' event instead.
  const send = (packet: Buffer, to?: UdpPeer) => {
    if (!open) return;
    try {
      if (connected || !to) sock.send(packet);
      else sock.send(packet, to.port, to.address);
    } catch (e) {
      onError(e as Error);
    }
  };
  const burst = connected ? gsoBurst(sock, (p) => send(p)) : undefined;
  return {
    local: { address: a.address, port: a.port },
    send,
    sendBurst: burst
      ? (packets) => {
          if (!open) return;
          try {
            burst(packets);
          } catch (e) {
            onError(e as Error);
          }
        }
      : undefined,
    close() {
      if (!open) return;
      open = false;
      try {
        sock.close();
      } catch {
        /* already closed */
      }
    },
  };
}

/** The node:dgram transport (the only place TFTP opens sockets). */
export const dgramTransport: TftpTransport = {
  async listen(address, port, onMessage) {
    const sock = createSocket({ type: 'udp4' });
    sock.on('message', (msg, rinfo) => onMessage(msg, { address: rinfo.address, port: rinfo.port }));
    await bind(sock, address, port);
    return endpointOf(sock, false, () => {});
  },
  async connect(localAddress, peer, onMessage, onError) {
    const sock = createSocket({ type: 'udp4' });
    sock.on('message', (msg) => onMessage(msg));
    try {
      await bind(sock, localAddress, 0);
      await new Promise<void>((resolve, reject) => {
        sock.once('error', reject);
        sock.connect(peer.port, peer.address, () => {
          sock.off('error', reject);
          resolve();
        });
      });
    } catch (e) {
      sock.close();
      throw e;
    }
    return endpointOf(sock, true, onError);
  },
};
