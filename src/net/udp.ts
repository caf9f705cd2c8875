import { type Socket, createSocket } from 'node:dgram';
import { lookup as dnsLookup } from 'node:dns';
import { isIPv4 } from 'node:net';
import { createRequire } from 'node:module';
import { AppError } from '../errors.js';
import type { InterfaceInfo } from './interfaces.js';
import { openNativeUdp, udpAddon } from './udp-native.js';

const require = createRequire(import.meta.url);
const { setsockopt } = require('sockopt') as {
  setsockopt: (socket: { _handle: { fd: number } }, level: number, option: number, value: number) => void;
};

/**
 * The socket's file descriptor. `sockopt` reads `socket._handle`, whose getter is deprecated
 * (DEP0112) and prints a warning; the same handle sits under dgram's internal state symbol.
 */
function fdOf(sock: Socket): { _handle: { fd: number } } {
  const sym = Object.getOwnPropertySymbols(sock).find((s) => s.description === 'state symbol');
  const state = sym ? (sock as unknown as Record<symbol, { handle?: { fd?: number } }>)[sym] : undefined;
  const fd = state?.handle?.fd;
  if (typeof fd !== 'number' || fd < 0) throw new Error('cannot find the socket file descriptor');
  return { _handle: { fd } };
}

/** Linux <asm-generic/socket.h>: SOL_SOCKET and SO_BINDTOIFINDEX (5.0+, the integer form of SO_BINDTODEVICE). */
const SOL_SOCKET = 1;
const SO_BINDTOIFINDEX = 62;
/** SO_RCVBUFFORCE: a receive buffer above net.core.rmem_max (needs CAP_NET_ADMIN, which a DHCP server has). */
const SO_RCVBUFFORCE = 33;

/**
 * dgram resolves every destination through dns.lookup, which answers an address literal on the
 * next tick: one extra tick per datagram. Replies always go to literals; answer those at once.
 */
function literalLookup(address: string, _family: unknown, cb: (err: NodeJS.ErrnoException | null, address: string, family: number) => void): void {
  if (isIPv4(address)) cb(null, address, 4);
  else dnsLookup(address, { family: 4 }, cb);
}

/** One datagram as a protocol server sees it. */
export interface Datagram {
  data: Buffer;
  from: { address: string; port: number };
  /** The interface it arrived on (the socket is bound to it), if bound. */
  iface: InterfaceInfo | undefined;
  /** Local port it arrived on. */
  port: number;
  /** How long it waited in the socket's receive queue (native sockets; undefined with dgram). */
  queuedMs?: number;
}

/** A UDP socket, optionally bound to one interface: it receives only what arrives there and sends only out of it. */
export interface UdpEndpoint {
  readonly iface: InterfaceInfo | undefined;
  readonly port: number;
  send(data: Buffer, address: string, port: number): void;
  close(): Promise<void>;
}

/** Options for openUdp. */
export interface UdpOptions {
  host: string;
  port: number;
  iface?: InterfaceInfo;
  broadcast?: boolean;
  /**
   * Receive buffer in bytes. A burst arriving while the loop is busy (a commit) queues here
   * instead of being dropped; the kernel default holds only a few hundred small datagrams.
   */
  receiveBufferBytes?: number;
  onMessage: (d: Datagram, endpoint: UdpEndpoint) => void;
  onSendError?: (err: Error, address: string) => void;
  /** A datagram too long for the native socket's 2 KiB slots was dropped. */
  onOversize?: (from: { address: string; port: number }) => void;
  /**
   * Native socket only: datagrams that waited longer than this in the receive queue are dropped
   * (reported through onStale) instead of handled. 0 or absent: all are handled.
   */
  maxQueueMs?: number;
  onStale?: (from: { address: string; port: number }) => void;
  /** Use the native/udp socket when it is built (default); false keeps Node's dgram. */
  native?: boolean;
}

/**
 * Opens a UDP socket: the native/udp one when built (udp-native.ts: batched receives, about
 * half the per-datagram cost of dgram), else Node's dgram. dgram cannot bind to a device, so
 * after bind() we set SO_BINDTOIFINDEX through the `sockopt` addon; SO_REUSEADDR lets one
 * socket per interface share port 67. Broadcast replies then leave through the right
 * interface even in a namespace without routes.
 */
export async function openUdp(o: UdpOptions): Promise<UdpEndpoint> {
  if (o.native !== false && udpAddon) return openNativeUdp(udpAddon, o);
  const sock = createSocket({ type: 'udp4', reuseAddr: true, lookup: literalLookup });
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind({ address: o.host, port: o.port, exclusive: true }, () => {
      sock.off('error', reject);
      resolve();
    });
  }).catch((cause: NodeJS.ErrnoException) => {
    sock.close();
    throw new AppError('SETTINGS', `cannot bind UDP ${o.host}:${o.port}: ${cause.code ?? cause.message}`, { cause });
  });
  try {
    if (o.iface) setsockopt(fdOf(sock), SOL_SOCKET, SO_BINDTOIFINDEX, o.iface.index);
    if (o.broadcast) sock.setBroadcast(true);
  } catch (cause) {
    sock.close();
    throw new AppError('SETTINGS', `cannot bind UDP socket to interface ${o.iface?.name}: ${(cause as Error).message}`, { cause });
  }
  if (o.receiveBufferBytes) {
    try {
      setsockopt(fdOf(sock), SOL_SOCKET, SO_RCVBUFFORCE, o.receiveBufferBytes);
    } catch {
      // Without CAP_NET_ADMIN: as much as rmem_max allows.
      sock.setRecvBufferSize(o.receiveBufferBytes);
    }
  }
  const port = sock.address().port;
  const onSendError = o.onSendError;
  const endpoint: UdpEndpoint = {
    iface: o.iface,
    port,
    send(data, address, toPort) {
      // No callback: a failed send comes back as an 'error' event (below), and the common
      // case skips one JS callback per datagram.
      sock.send(data, toPort, address);
    },
    close: () => new Promise<void>((r) => sock.close(() => r())),
  };
  sock.on('message', (data, rinfo) => {
    o.onMessage({ data, from: { address: rinfo.address, port: rinfo.port }, iface: o.iface, port }, endpoint);
  });
  // A socket error (e.g. ICMP unreachable echoed back) must never end the process.
  sock.on('error', (err: NodeJS.ErrnoException & { address?: string }) => onSendError?.(err, err.address ?? o.host));
  return endpoint;
}
