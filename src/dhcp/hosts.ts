import type { LeaseHost } from '../inventory/leases.js';
import type { ProfileSpec } from '../model/profile-spec.js';
import { bootsFromDisk } from '../boot/decide.js';
import type { HostInfo } from './handler.js';
import type { HostInventory } from './inventory.js';
import { isStoreUnavailable } from './outage.js';

interface Entry {
  row: LeaseHost;
  info: HostInfo | undefined;
  at: number;
}

/**
 * What the DHCP handler needs from the inventory, held in memory: MAC → machine (reservation,
 * profile boot mode) and reserved address → machine. Loaded once, then kept current from the
 * machine repository's change log (MachineRepo.changedSince): a write reloads only the machines
 * it touched, so a new reservation or MAC counts from the next packet on. A packet thus never
 * waits on SQLite to learn who sent it (about a third of the old per-exchange cost); a profile
 * is parsed once per `ttlMs`, so profile edits show up within that time.
 */
export class HostDirectory {
  private readonly byMac = new Map<string, Entry>();
  private readonly byIp = new Map<string, number>();
  private readonly rowsOf = new Map<number, LeaseHost[]>();
  private readonly profiles = new Map<string, { value: ProfileSpec | undefined; at: number }>();
  /** SMBIOS UUID → machines with it (a UUID two machines share names nobody). */
  private readonly byUuid = new Map<string, Set<number>>();
  private readonly uuidOf = new Map<number, string>();
  private generation = -1;
  /** Machines changed by other writers, not yet reloaded. */
  private readonly external = new Set<number>();
  private reloadAll = false;
  private retryAt = 0;

  constructor(
    private readonly store: HostInventory,
    private readonly ttlMs = 2000,
    private readonly clock: () => number = Date.now,
  ) {}

  /** The registered host for a canonical MAC, or null if the inventory does not know it. */
  lookup(mac: string, now: number): HostInfo | null {
    this.sync();
    const e = this.byMac.get(mac);
    if (!e) return null;
    if (!e.info || now - e.at >= this.ttlMs) {
      const info = this.describe(e.row, now);
      // Unchanged (the common case): keep the old object, so the refresh leaves only short-lived garbage.
      if (!e.info || !sameHost(e.info, info)) e.info = info;
      e.at = now;
    }
    return e.info;
  }

  /**
   * The registered host whose SMBIOS UUID a client sent in option 97 when its MAC is unknown
   * (a NIC swap, another port of the machine): the caller attaches the MAC off the hot path.
   * `uuid` is the canonical text readClientUuid gives.
   */
  lookupByUuid(uuid: string, now: number): HostInfo | null {
    this.sync();
    const ids = this.byUuid.get(uuid);
    if (ids?.size !== 1) return null;
    const [id] = ids;
    const row = this.rowsOf.get(id!)?.[0];
    return row ? this.describe(row, now) : null;
  }

  /** The machine an address is reserved for (machines.ipv4), if any. */
  reservedFor(ip: string): number | undefined {
    this.sync();
    return this.byIp.get(ip);
  }

  /**
   * Machines another writer changed (issue #20: another appliance, told by a PostgreSQL
   * notification), or every machine when called without ids (after notifications were
   * missed): they are reloaded at the next lookup.
   */
  invalidate(machineIds?: Iterable<number>): void {
    if (!machineIds) this.reloadAll = true;
    else for (const id of machineIds) this.external.add(id);
  }

  /**
   * Brings the maps up to date with the machines written since the last look (at start: loads
   * all). When the store cannot be read, the view stays as it was and the reload is tried
   * again a second later; a failure other than an outage is thrown (once per try).
   */
  sync(): void {
    const machines = this.store.machines;
    const generation = machines.generation;
    if (generation === this.generation && !this.reloadAll && this.external.size === 0) return;
    const now = this.clock();
    if (now < this.retryAt) return;
    const local = this.generation < 0 || this.reloadAll ? undefined : generation === this.generation ? [] : machines.changedSince(this.generation);
    const ids = local ? new Set([...local, ...this.external]) : undefined;
    try {
      if (!ids || ids.size > 1000) this.reloadEverything();
      else this.reload(ids);
    } catch (err) {
      this.retryAt = now + 1000;
      // An outage is ridden out quietly; any other failure is a fault to see (the packet's
      // handler logs it), once per retry rather than per packet: the old view serves meanwhile.
      if (!isStoreUnavailable(err)) throw err;
      return;
    }
    this.generation = generation;
    this.reloadAll = false;
    if (ids) for (const id of ids) this.external.delete(id);
    else this.external.clear();
  }

  private reloadEverything(): void {
    const rows = this.store.leases.hosts();
    const identities = this.store.machines.identities();
    this.byMac.clear();
    this.byIp.clear();
    this.rowsOf.clear();
    this.byUuid.clear();
    this.uuidOf.clear();
    this.add(rows);
    this.addIdentities(identities);
  }

  private reload(ids: Set<number>): void {
    // Read first, then change the maps: a failed read leaves the view whole.
    const fresh = [...ids].map((id) => ({ id, rows: this.store.leases.hosts(id), identities: this.store.machines.identities(id) }));
    for (const { id, rows, identities } of fresh) {
      for (const r of this.rowsOf.get(id) ?? []) {
        if (r.mac && this.byMac.get(r.mac)?.row.machineId === id) this.byMac.delete(r.mac);
        if (r.ipv4 && this.byIp.get(r.ipv4) === id) this.byIp.delete(r.ipv4);
      }
      this.rowsOf.delete(id);
      const uuid = this.uuidOf.get(id);
      if (uuid) this.byUuid.get(uuid)?.delete(id);
      this.uuidOf.delete(id);
      this.add(rows);
      this.addIdentities(identities);
    }
  }

  private add(rows: LeaseHost[]): void {
    for (const r of rows) {
      const list = this.rowsOf.get(r.machineId);
      if (list) list.push(r);
      else this.rowsOf.set(r.machineId, [r]);
      if (r.mac) this.byMac.set(r.mac, { row: r, info: undefined, at: 0 });
      if (r.ipv4) this.byIp.set(r.ipv4, r.machineId);
    }
  }

  private addIdentities(rows: Array<{ id: number; uuid: string | null }>): void {
    for (const r of rows) {
      if (!r.uuid) continue;
      this.uuidOf.set(r.id, r.uuid);
      const set = this.byUuid.get(r.uuid);
      if (set) set.add(r.id);
      else this.byUuid.set(r.uuid, new Set([r.id]));
    }
  }

  private describe(m: LeaseHost, now: number): HostInfo {
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
    let value: ProfileSpec | undefined;
    try {
      value = this.store.profiles.find(name)?.spec;
    } catch (err) {
      // The store is unreachable: the profile as last read serves until it can be read again.
      if (!hit) throw err;
      hit.at = now;
      return hit.value;
    }
    if (this.profiles.size >= 1000) this.profiles.clear();
    this.profiles.set(name, { value, at: now });
    return value;
  }
}

function sameHost(a: HostInfo, b: HostInfo): boolean {
  return (
    a.machineId === b.machineId &&
    a.reservedIp === b.reservedIp &&
    a.discovered === b.discovered &&
    a.leaseOnly === b.leaseOnly &&
    a.profile?.boot === b.profile?.boot &&
    a.profile?.chain === b.profile?.chain &&
    (a.profile === null) === (b.profile === null)
  );
}
