import { readFile } from 'node:fs/promises';
import { endianness } from 'node:os';
import { embeddedIpv4, parseIp } from '../assets/ip-address.js';

/**
 * The kernel's send queue of TCP connections: bytes the server has written that the peer has not
 * acknowledged yet (the tx_queue column of /proc/net/tcp and /proc/net/tcp6). When Node reports
 * a response finished, its last bytes were only handed to the kernel: on a busy link several
 * megabytes of it can still be queued there, for many seconds.
 */

const LITTLE_ENDIAN = endianness() === 'LE';

/** One connection's entry: its ports, the peer's address as an integer, and unacknowledged bytes. */
export interface SendQueueEntry {
  localPort: number;
  remotePort: number;
  /** IPv4 addresses (also IPv4-mapped IPv6 ones) as 32-bit values, IPv6 as 128-bit. */
  remote: bigint;
  unacked: number;
}

/** A /proc address "0100007F:1F90" (IPv4, or 32 hex digits for IPv6): words are in host (little-endian) order. */
function parseProcAddress(field: string): { ip: bigint; port: number } | undefined {
  const [hex, port] = field.split(':');
  if (!hex || !port || !/^([0-9A-Fa-f]{8}|[0-9A-Fa-f]{32})$/.test(hex) || !/^[0-9A-Fa-f]{4}$/.test(port)) return undefined;
  let ip = 0n;
  for (let w = 0; w < hex.length; w += 8) {
    const word = hex.slice(w, w + 8);
    // Each 32-bit word is printed as the host's integer: on little-endian hosts its bytes are reversed.
    const bytes = LITTLE_ENDIAN ? word.match(/../g)!.reverse().join('') : word;
    ip = (ip << 32n) | BigInt(`0x${bytes}`);
  }
  if (hex.length === 32) {
    const v4 = embeddedIpv4({ family: 6, value: ip });
    if (v4) ip = v4.value;
  }
  return { ip, port: Number.parseInt(port, 16) };
}

/** Parses /proc/net/tcp or /proc/net/tcp6 (header line first); malformed lines are skipped. */
export function parseProcNetTcp(text: string): SendQueueEntry[] {
  const out: SendQueueEntry[] = [];
  for (const line of text.split('\n').slice(1)) {
    // sl local_address rem_address st tx_queue:rx_queue …
    const f = line.trim().split(/\s+/);
    const local = f[1] ? parseProcAddress(f[1]) : undefined;
    const remote = f[2] ? parseProcAddress(f[2]) : undefined;
    const queues = f[4]?.split(':');
    if (!local || !remote || !queues?.[0] || !/^[0-9A-Fa-f]{1,8}$/.test(queues[0])) continue;
    out.push({ localPort: local.port, remotePort: remote.port, remote: remote.ip, unacked: Number.parseInt(queues[0], 16) });
  }
  return out;
}

/** The integer of an address as Node reports it (IPv4-mapped IPv6 counts as IPv4). */
function addressValue(address: string): bigint | undefined {
  const ip = parseIp(address);
  if (!ip) return undefined;
  return (ip.family === 6 ? embeddedIpv4(ip) : undefined)?.value ?? ip.value;
}

const keyOf = (localPort: number, remote: bigint, remotePort: number) => `${localPort}|${remotePort}|${remote}`;

/** Unacknowledged bytes of one connection; undefined when the kernel's table cannot tell (not Linux, gone). */
export type SendQueueLookup = (c: { localPort?: number | undefined; remoteAddress?: string | undefined; remotePort?: number | undefined }) => Promise<number | undefined>;

/** /proc/net/tcp and /proc/net/tcp6 (an empty text for a file that cannot be read). */
function readProcNetTcp(): Promise<string[]> {
  return Promise.all(['/proc/net/tcp', '/proc/net/tcp6'].map((f) => readFile(f, 'utf8').catch(() => '')));
}

/**
 * A send-queue lookup over the kernel's table, read at most once per `maxAgeMs` (lookups within
 * that time share one read: connections whose keep-alive timers fire together cost one read).
 */
export function procSendQueues(maxAgeMs = 250, read: () => Promise<string[]> = readProcNetTcp, now: () => number = Date.now): SendQueueLookup {
  let copy: { at: number; table: Promise<Map<string, number> | undefined> } | undefined;
  const load = async () => {
    const entries = (await read()).flatMap(parseProcNetTcp);
    if (entries.length === 0) return undefined;
    const table = new Map<string, number>();
    for (const e of entries) table.set(keyOf(e.localPort, e.remote, e.remotePort), e.unacked);
    return table;
  };
  return async (c) => {
    if (c.localPort === undefined || c.remotePort === undefined || c.remoteAddress === undefined) return undefined;
    const remote = addressValue(c.remoteAddress);
    if (remote === undefined) return undefined;
    const at = now();
    if (!copy || at - copy.at > maxAgeMs) copy = { at, table: load().catch(() => undefined) };
    const table = await copy.table;
    return table?.get(keyOf(c.localPort, remote, c.remotePort));
  };
}
