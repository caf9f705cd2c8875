import type { EventRepo } from '../inventory/events.js';
import type { LeaseRepo } from '../inventory/leases.js';
import type { MachineRepo } from '../inventory/machines.js';
import type { ProfileRepo } from '../inventory/profiles.js';
import type { SightingBook } from '../inventory/sightings.js';
import type { UnknownMacRepo } from '../inventory/unknown-macs.js';

/** What the in-memory host directory reads: machines (and their change log), lease hosts, profiles. */
export interface HostInventory {
  machines: Pick<MachineRepo, 'generation' | 'changedSince' | 'identities'>;
  leases: Pick<LeaseRepo, 'hosts'>;
  profiles: Pick<ProfileRepo, 'find'>;
}

/**
 * What the DHCP server needs from the inventory: the host directory's reads, lease and
 * discovered-machine writes (batched in one transaction per turn), trace rows, unknown-MAC
 * sightings and ProxyDHCP sightings. The SQLite Store is one; test/fakes/dhcp-inventory.ts
 * is an in-memory one (and a failing one: every write throws).
 */
export interface DhcpInventory extends HostInventory {
  /** The database file, named in disk-failure log lines. */
  readonly file: string;
  transaction<T>(fn: () => T): T;
  machines: HostInventory['machines'] & Pick<MachineRepo, 'findByMac' | 'create' | 'attachMac'>;
  leases: HostInventory['leases'] & Pick<LeaseRepo, 'claimOne' | 'claimBatch' | 'get' | 'expire' | 'all'>;
  /** Trace rows are queued (addSoon); the server flushes them in its lease commits under load. */
  events: Pick<EventRepo, 'addSoon' | 'flush'>;
  unknownMacs: Pick<UnknownMacRepo, 'noteSoon'>;
  sightings: Pick<SightingBook, 'note'>;
}
