/**
 * Where each MAC was last seen on the boot network, and how many requests boot identity binding
 * refused. Held in memory only: in ProxyDHCP mode another server owns the leases, so the address
 * a machine uses is learnt from its DHCP/PXE exchange with us (ciaddr, the 4011 request's
 * source, the address it requested from the site's server). A restart forgets it; the machine's
 * next DHCP exchange, or the kernel's neighbour table, tells us again.
 */

/** One sighting: the address and when (Unix ms). */
export interface Sighting {
  address: string;
  at: number;
}

/** Refusal counters (per machine and in total) for the management API and logs. */
export interface RefusalCounts {
  total: number;
  byReason: Record<string, number>;
}

/** MAC → last address seen, bounded; refusals counted. One per Store, shared by DHCP, TFTP and HTTP. */
export class SightingBook {
  private readonly byMac = new Map<string, Sighting>();
  private readonly refusedBy = new Map<number, number>();
  private readonly counts: RefusalCounts = { total: 0, byReason: {} };

  constructor(private readonly maxEntries = 65_536) {}

  /** Records that `mac` used `address` in an exchange with us at `at`. */
  note(mac: string, address: string, at: number): void {
    const m = mac.toLowerCase();
    this.byMac.delete(m); // re-insert: Map order is the eviction order (oldest first)
    this.byMac.set(m, { address, at });
    if (this.byMac.size > this.maxEntries) {
      const oldest = this.byMac.keys().next().value;
      if (oldest !== undefined) this.byMac.delete(oldest);
    }
  }

  /** The last sighting of a MAC, if any. */
  get(mac: string): Sighting | undefined {
    return this.byMac.get(mac.toLowerCase());
  }

  /** Counts one refused request about a machine (null: no machine known). */
  countRefusal(machineId: number | null, reason: string): void {
    this.counts.total++;
    this.counts.byReason[reason] = (this.counts.byReason[reason] ?? 0) + 1;
    if (machineId !== null) this.refusedBy.set(machineId, (this.refusedBy.get(machineId) ?? 0) + 1);
  }

  /** Refusals about one machine, or the totals by reason. */
  refusals(): RefusalCounts;
  refusals(machineId: number): number;
  refusals(machineId?: number): RefusalCounts | number {
    if (machineId !== undefined) return this.refusedBy.get(machineId) ?? 0;
    return { total: this.counts.total, byReason: { ...this.counts.byReason } };
  }
}
