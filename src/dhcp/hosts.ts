import type { Store } from '../inventory/store.js';
import { bootsFromDisk } from '../provision/policy.js';
import type { HostInfo } from './handler.js';

interface Entry {
  info: HostInfo | null;
  at: number;
}

/**
 * MAC → what the DHCP handler needs from the inventory (machine, reservation, profile boot
 * mode). A short cache keeps the DISCOVER/REQUEST pair of one exchange to one lookup; edits
 * through the API show up within `ttlMs`.
 */
export class HostDirectory {
  private readonly cache = new Map<string, Entry>();

  constructor(
    private readonly store: Store,
    private readonly ttlMs = 2000,
    private readonly maxEntries = 100_000,
  ) {}

  /** The registered host for a canonical MAC, or null if the inventory does not know it. */
  lookup(mac: string, now: number): HostInfo | null {
    const hit = this.cache.get(mac);
    if (hit && now - hit.at < this.ttlMs) return hit.info;
    const info = this.load(mac);
    if (this.cache.size >= this.maxEntries) this.cache.clear();
    this.cache.set(mac, { info, at: now });
    return info;
  }

  /** Drops a cached answer (after the DHCP server itself changed the machine). */
  forget(mac: string): void {
    this.cache.delete(mac);
  }

  private load(mac: string): HostInfo | null {
    const m = this.store.machines.findByMac(mac);
    if (!m) return null;
    const spec = m.profile ? this.store.profiles.find(m.profile)?.spec : undefined;
    return {
      machineId: m.id,
      reservedIp: m.ipv4,
      profile: spec ? { boot: bootsFromDisk(m.state, spec) ? 'disk' : 'network', chain: spec.chain ?? 'ipxe' } : null,
      discovered: m.state === 'discovered',
    };
  }
}
