import { readFileSync } from 'node:fs';
import type { Store } from '../inventory/store.js';

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

/** A neighbour-table lookup: the MAC of an on-link IPv4 address, from a copy at most `maxAgeMs` old. */
export type NeighbourLookup = (ip: string, maxAgeMs: number) => string | undefined;

function readProcNetArp(): string {
  try {
    return readFileSync('/proc/net/arp', 'utf8');
  } catch {
    return ''; // not Linux: no neighbour table
  }
}

/**
 * The kernel's neighbour table (complete entries only), re-read at most once per `maxAgeMs`
 * (0: read it now). One per appliance, built by the composition root and shared by the boot
 * routes, the GRUB handlers and the TFTP server; `::ffff:` forms count as IPv4.
 */
export class NeighbourTable {
  private copy: { at: number; map: Map<string, string> } | undefined;

  constructor(
    private readonly read: () => string = readProcNetArp,
    private readonly now: () => number = Date.now,
  ) {}

  readonly lookup: NeighbourLookup = (ip, maxAgeMs = 1000) => {
    const at = this.now();
    if (!this.copy || maxAgeMs === 0 || at - this.copy.at > maxAgeMs) this.copy = { at, map: parseProcNetArp(this.read()) };
    return this.copy.map.get(ip.startsWith('::ffff:') ? ip.slice(7) : ip);
  };
}

/** The neighbour table read now, uncached: the fallback of deps built without the appliance's table (tests). */
export const neighbourMacOf: NeighbourLookup = (ip) => new NeighbourTable().lookup(ip, 0);

/** What the IP → MAC lookup reads: rackboot's leases and (tests inject one) the neighbour table. */
export interface ClientMacDeps {
  store: { leases: { get(ip: string): { mac: string } | undefined } };
  /** Neighbour-table lookup (the appliance's NeighbourTable); default: /proc/net/arp read now. */
  neighbourMac?: NeighbourLookup | undefined;
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

/** clientMacOf over a store and a neighbour table (the TFTP server's lookup). */
export function macForClientIp(store: Store, ip: string, neighbourMac?: NeighbourLookup): string | undefined {
  return clientMacOf({ store, neighbourMac }, ip);
}
