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
  const endpoint: UdpEndpoint = {
    iface: o.iface,
    port: opened.port,
    send(data, address, toPort) {
      if (closed) return;
      const err = addon.send(opened.handle, data, ipToInt(address), toPort);
      if (err !== 0) {
        const e = Object.assign(new Error(`send to ${address}:${toPort} failed: ${errnoName.get(err) ?? err}`), { code: errnoName.get(err) });
        o.onSendError?.(e, address);
      }
    },
    close: async () => {
      if (closed) return;
      closed = true;
      addon.close(opened.handle);
    },
  };
  at.endpoint = endpoint;
  return endpoint;
}
