import { createRequire } from 'node:module';
import { constants } from 'node:os';
import { AppError } from '../errors.js';
import { intToIp, ipToInt } from './ipv4.js';
import type { UdpEndpoint, UdpOptions } from './udp.js';

/** The native/udp addon (rackboot-udp). */
interface UdpAddon {
  open(
    address: string,
    port: number,
    ifindex: number,
    broadcast: boolean,
    rcvbuf: number,
    onBatch: (count: number) => void,
  ): { handle: object; data: Buffer; meta: Int32Array; port: number };
  send(handle: object, data: Buffer, address: number, port: number): number;
  /** Queues a reply for flush(): 0 queued, -1 the queue is full, else the errno of a direct send. */
  queue?(handle: object, data: Buffer, address: number, port: number): number;
  /** Sends what is queued (sendmmsg); returns the failures, their (queue index, errno) pairs in `errors`. */
  flush?(handle: object, errors: Int32Array): number;
  close(handle: object): void;
}

/** Bytes per datagram slot in the addon's receive buffer, and Int32s of metadata per datagram (udp.c SLOT, META). */
const SLOT = 2048;
const META = 4;

function load(): UdpAddon | undefined {
  try {
    const require = createRequire(import.meta.url);
    const addon = require('rackboot-udp/build/Release/rackboot_udp.node') as Partial<UdpAddon>;
    return typeof addon.open === 'function' && typeof addon.send === 'function' && typeof addon.close === 'function' ? (addon as UdpAddon) : undefined;
  } catch {
    return undefined;
  }
}

/** The addon built by npm ci, or undefined where it is missing (openUdp then uses dgram). */
export const udpAddon: UdpAddon | undefined = load();

const errnoName = new Map(Object.entries(constants.errno).map(([name, n]) => [n, name]));

/**
 * openUdp on the native socket: same contract as the dgram one. Each datagram is copied out of
 * the addon's shared receive buffer before the handler sees it (a reply can be built a turn
 * later, after its lease commit, from views into the request). A datagram longer than a slot
 * (2 KiB: beyond any Ethernet DHCP packet) is dropped and reported through `onOversize`; one
 * that waited in the socket longer than `maxQueueMs` (the kernel stamps arrivals) through `onStale`.
 */
export function openNativeUdp(addon: UdpAddon, o: UdpOptions): UdpEndpoint {
  const maxQueuedUs = (o.maxQueueMs ?? 0) * 1000;
  const at: { endpoint?: UdpEndpoint } = {};
  let opened: ReturnType<UdpAddon['open']>;
  const onBatch = (count: number) => {
    const { data, meta } = opened;
    for (let i = 0; i < count; i++) {
      const length = meta[i * META]!;
      const address = intToIp(meta[i * META + 1]! >>> 0);
      const port = meta[i * META + 2]!;
      try {
        if (length < 0) {
          o.onOversize?.({ address, port });
          continue;
        }
        const queuedUs = meta[i * META + 3]!;
        if (maxQueuedUs > 0 && queuedUs > maxQueuedUs) {
          o.onStale?.({ address, port });
          continue;
        }
        const packet = Buffer.allocUnsafe(length);
        data.copy(packet, 0, i * SLOT, i * SLOT + length);
        o.onMessage({ data: packet, from: { address, port }, iface: o.iface, port: opened.port, queuedMs: queuedUs / 1000 }, at.endpoint!);
      } catch (err) {
        // Never let a handler's exception escape into the addon (it would end the process).
        o.onSendError?.(err as Error, address);
      }
    }
  };
  try {
    opened = addon.open(o.host, o.port, o.iface?.index ?? 0, o.broadcast ?? false, o.receiveBufferBytes ?? 0, onBatch);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code ?? (cause as Error).message;
    throw new AppError('SETTINGS', `cannot bind UDP ${o.host}:${o.port}${o.iface ? ` on ${o.iface.name}` : ''}: ${code}`, { cause });
  }
  let closed = false;
  const sendFailed = (err: number, address: string, toPort: number) => {
    const e = Object.assign(new Error(`send to ${address}:${toPort} failed: ${errnoName.get(err) ?? err}`), { code: errnoName.get(err) });
    o.onSendError?.(e, address);
  };
  // Replies of one turn (a receive batch, a lease commit) leave together in one sendmmsg: they
  // are queued in the addon and flushed in a microtask, which runs as soon as the code that
  // sent them returns to the loop (an addon without queue/flush sends each at once).
  const { queue, flush } = addon;
  const pending: { address: string; port: number }[] = [];
  const errors = new Int32Array(2 * 64);
  let flushing = false;
  const flushQueued = () => {
    flushing = false;
    if (pending.length === 0) return;
    const failed = flush!(opened.handle, errors);
    for (let i = 0; i < failed && 2 * i + 1 < errors.length; i++) {
      const to = pending[errors[2 * i]!];
      if (to) sendFailed(errors[2 * i + 1]!, to.address, to.port);
    }
    pending.length = 0;
  };
  const endpoint: UdpEndpoint = {
    iface: o.iface,
    port: opened.port,
    send(data, address, toPort) {
      if (closed) return;
      const ip = ipToInt(address);
      if (!queue || !flush) {
        const err = addon.send(opened.handle, data, ip, toPort);
        if (err !== 0) sendFailed(err, address, toPort);
        return;
      }
      let r = queue(opened.handle, data, ip, toPort);
      if (r === -1) {
        flushQueued();
        r = queue(opened.handle, data, ip, toPort);
      }
      if (r > 0) sendFailed(r, address, toPort);
      else if (r === 0) {
        pending.push({ address, port: toPort });
        if (!flushing) {
          flushing = true;
          queueMicrotask(flushQueued);
        }
      }
    },
    close: async () => {
      if (closed) return;
      if (flush) flushQueued();
      closed = true;
      addon.close(opened.handle);
    },
  };
  at.endpoint = endpoint;
  return endpoint;
}
