import { readFileSync } from 'node:fs';
import type { Store } from '../inventory/store.js';

/** Kernel neighbour table rows (IPv4 → MAC), re-read at most once a second. */
let arpCache: { at: number; map: Map<string, string> } | undefined;

/** Parses /proc/net/arp: "IP address HW type Flags HW address Mask Device"; flag 0x2 = complete. */
export function parseProcNetArp(text: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of text.split('\n').slice(1)) {
    const [ip, , flags, mac] = line.trim().split(/\s+/);
    if (!ip || !mac || !flags || (Number.parseInt(flags, 16) & 0x2) === 0) continue;
    if (/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(mac) && mac !== '00:00:00:00:00:00') map.set(ip, mac.toLowerCase());
  }
  return map;
}

/**
 * The kernel's neighbour-table MAC for an on-link IPv4 address (complete entries only), from a
 * copy of the table at most `maxAgeMs` old (0: read it now).
 */
export function neighbourMacOf(ip: string, maxAgeMs = 1000): string | undefined {
  return arpLookup(ip.startsWith('::ffff:') ? ip.slice(7) : ip, Date.now(), maxAgeMs);
}

function arpLookup(ip: string, now = Date.now(), maxAgeMs = 1000): string | undefined {
  if (!arpCache || now - arpCache.at > maxAgeMs || maxAgeMs === 0) {
    let text = '';
    try {
      text = readFileSync('/proc/net/arp', 'utf8');
    } catch {
      /* not Linux: no neighbour table */
    }
    arpCache = { at: now, map: parseProcNetArp(text) };
  }
  return arpCache.map.get(ip);
}

/** What the IP → MAC lookup reads: rackboot's leases and (tests inject one) the neighbour table. */
export interface ClientMacDeps {
  store: { leases: { get(ip: string): { mac: string } | undefined } };
  /** Neighbour-table lookup; default: the kernel's /proc/net/arp (copy at most `maxAgeMs` old). */
  neighbourMac?: ((ip: string, maxAgeMs: number) => string | undefined) | undefined;
}

/**
 * The one IP → MAC lookup for requests that carry no MAC (TFTP, GRUB over HTTP, asset downloads):
 * rackboot's DHCP lease of the address first, then the kernel's neighbour table — in ProxyDHCP
 * mode another server owns the leases, but the client has just talked to us on the same L2
 * segment, so the kernel knows its MAC. `::ffff:` forms count as IPv4. This names a machine for
 * the trace and for `grub.cfg-<hex ip>`; whether the requester may have that machine's boot is
 * boot identity binding's question (src/boot/identity.ts), which weighs the same evidence.
 */
export function clientMacOf(deps: ClientMacDeps, ip: string): string | undefined {
  const addr = ip.startsWith('::ffff:') ? ip.slice(7) : ip;
  return deps.store.leases.get(addr)?.mac ?? (deps.neighbourMac ?? neighbourMacOf)(addr, 1000);
}

/** clientMacOf with the kernel's neighbour table (the TFTP server's lookup). */
export function macForClientIp(store: Store, ip: string): string | undefined {
  return clientMacOf({ store }, ip);
}
