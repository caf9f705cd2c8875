import type { Store } from '../inventory/store.js';
import type { ProfileSpec } from '../inventory/profile-spec.js';
import { bootsFromDisk } from '../provision/policy.js';
import type { HostInfo } from './handler.js';

interface Entry<T> {
  value: T;
  at: number;
}

/**
 * MAC → what the DHCP handler needs from the inventory (machine, reservation, profile boot
 * mode). A short cache keeps the DISCOVER/REQUEST pair of one exchange to one lookup, and a
 * profile to one parse per `ttlMs`. Any machine write empties the cache at once (the repo's
 * generation); profile edits show up within `ttlMs`.
 */
export class HostDirectory {
  private readonly cache = new Map<string, Entry<HostInfo | null>>();
  private readonly profiles = new Map<string, Entry<ProfileSpec | undefined>>();
  private generation = -1;

  constructor(
    private readonly store: Store,
    private readonly ttlMs = 2000,
    private readonly maxEntries = 100_000,
  ) {}

  /** The registered host for a canonical MAC, or null if the inventory does not know it. */
  lookup(mac: string, now: number): HostInfo | null {
    const generation = this.store.machines.generation;
    if (generation !== this.generation) {
      this.cache.clear();
      this.generation = generation;
    }
    const hit = this.cache.get(mac);
    if (hit && now - hit.at < this.ttlMs) return hit.value;
    const value = this.load(mac, now);
    if (this.cache.size >= this.maxEntries) this.cache.clear();
    this.cache.set(mac, { value, at: now });
    return value;
  }

  /** Drops a cached answer (after the DHCP server itself changed the machine). */
  forget(mac: string): void {
    this.cache.delete(mac);
  }

  private load(mac: string, now: number): HostInfo | null {
    const m = this.store.leases.hostOf(mac);
    if (!m) return null;
    const spec = m.profile ? this.profile(m.profile, now) : undefined;
    return {
      machineId: m.machineId,
      reservedIp: m.ipv4,
      profile: spec ? { boot: bootsFromDisk(m.state, spec) ? 'disk' : 'network', chain: spec.chain ?? 'ipxe' } : null,
      discovered: m.state === 'discovered',
    };
  }

  private profile(name: string, now: number): ProfileSpec | undefined {
    const hit = this.profiles.get(name);
    if (hit && now - hit.at < this.ttlMs) return hit.value;
    const value = this.store.profiles.find(name)?.spec;
    if (this.profiles.size >= 1000) this.profiles.clear();
    this.profiles.set(name, { value, at: now });
    return value;
  }
}

/**
 * A lookup whose answers are kept for `ttlMs`, like HostDirectory's. For reservations by address:
 * the DISCOVER's pick and the REQUEST's check of one exchange ask about the same address. When
 * `generation` moves (a machine was written) every answer is dropped, so a new reservation is
 * never handed out from a stale "free" answer.
 */
export function cachedLookup<V>(
  load: (key: string) => V,
  generation: () => number,
  ttlMs = 2000,
  maxEntries = 100_000,
  clock: () => number = Date.now,
): (key: string) => V {
  const cache = new Map<string, Entry<V>>();
  let seen = generation();
  return (key) => {
    const g = generation();
    if (g !== seen) {
      cache.clear();
      seen = g;
    }
    const now = clock();
    const hit = cache.get(key);
    if (hit && now - hit.at < ttlMs) return hit.value;
    const value = load(key);
    if (cache.size >= maxEntries) cache.clear();
    cache.set(key, { value, at: now });
    return value;
  };
}
