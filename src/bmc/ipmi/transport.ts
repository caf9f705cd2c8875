import { createSocket } from 'node:dgram';
import { isIP } from 'node:net';

/** A connected datagram channel to one BMC; the session never touches sockets directly. */
export interface Datagram {
  send(b: Buffer): void;
  onMessage(fn: (b: Buffer) => void): void;
  /** Socket errors such as ECONNREFUSED (ICMP port unreachable) or EHOSTUNREACH. */
  onError(fn: (e: NodeJS.ErrnoException) => void): void;
  close(): void;
}

/** Opens a datagram channel to host:port. */
export type DatagramFactory = (host: string, port: number) => Promise<Datagram>;

/** Timer functions injected into anything with a timeout (fake timers in tests). */
export interface Timers {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(h: unknown): void;
}

/** The real clock. */
export const realTimers: Timers = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/** A connected UDP socket (udp4 or udp6 by address family); errors are reported, not thrown. */
export const udpDatagram: DatagramFactory = async (host, port) => {
  const sock = createSocket(isIP(host) === 6 ? 'udp6' : 'udp4');
  let onErr: (e: NodeJS.ErrnoException) => void = () => {};
  sock.on('error', (e) => onErr(e));
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.connect(port, host, () => {
      sock.off('error', reject);
      resolve();
    });
  });
  return {
    send: (b) => sock.send(b, (e) => e && onErr(e)),
    onMessage: (fn) => sock.on('message', (m) => fn(m)),
    onError: (fn) => {
      onErr = fn;
    },
    close: () => {
      try {
        sock.close();
      } catch {
        /* already closed */
      }
    },
  };
};
