import { AppError } from '../../src/errors.js';
import type { DhcpInventory } from '../../src/dhcp/inventory.js';
import { mayWriteLease } from '../../src/inventory/lease-claim.js';
import type { NewEvent } from '../../src/inventory/events.js';
import type { LeaseClaimOutcome, LeaseClaimWrite, LeaseHost, LeaseRecord } from '../../src/inventory/leases.js';
import type { Machine, NewMachine } from '../../src/inventory/machines.js';
import type { UnknownSighting } from '../../src/inventory/unknown-macs.js';
import type { ProfileSpec } from '../../src/model/profile-spec.js';

/**
 * An in-memory DhcpInventory: registered hosts, profiles, leases, trace rows and sightings in
 * arrays. `failWrites` makes every write throw (transactions, leases, trace rows, sightings),
 * as a full or lost database would; reads keep working.
 */
export class FakeDhcpInventory implements DhcpInventory {
  readonly file = ':fake:';
  readonly hostRows: LeaseHost[] = [];
  readonly profileRows = new Map<string, ProfileSpec>();
  readonly leaseRows: LeaseRecord[] = [];
  readonly eventRows: NewEvent[] = [];
  readonly unknownRows: UnknownSighting[] = [];
  readonly created: NewMachine[] = [];
  failWrites = false;
  private gen = 1;

  private write(what: string): void {
    if (this.failWrites) throw new AppError('INTERNAL', `fake dhcp inventory: ${what} failed (disk full)`);
  }

  /** Registers a machine for one MAC (as LeaseRepo.hosts reports it). */
  addHost(h: LeaseHost, profile?: ProfileSpec): void {
    this.hostRows.push(h);
    if (h.profile && profile) this.profileRows.set(h.profile, profile);
    this.gen++;
  }

  transaction<T>(fn: () => T): T {
    this.write('transaction');
    return fn();
  }

  readonly machines: DhcpInventory['machines'] = this.machineRepo();

  private machineRepo(): DhcpInventory['machines'] {
    const gen = () => this.gen;
    return {
      get generation() {
        return gen();
      },
      // undefined: "reload everything", which the host directory does on any generation change.
      changedSince: () => undefined,
      identities: () => [],
      findByMac: (mac: string) => {
        const h = this.hostRows.find((r) => r.mac === mac);
        return h ? ({ id: h.machineId } as Machine) : undefined;
      },
      create: (m: NewMachine) => {
        this.write('machine insert');
        this.created.push(m);
        return { id: 1000 + this.created.length } as Machine;
      },
      attachMac: () => {
        this.write('mac attach');
        return true;
      },
    };
  }

  readonly leases: DhcpInventory['leases'] = {
    hosts: (machineId?: number) => this.hostRows.filter((h) => machineId === undefined || h.machineId === machineId),
    claimOne: ({ lease, claim, now }: LeaseClaimWrite): LeaseClaimOutcome => {
      this.write('lease claim');
      if (!mayWriteLease(this.leases.get(lease.ip), claim, now)) return { won: false, holder: this.leases.get(lease.ip) };
      this.leaseRows.push(lease);
      return { won: true };
    },
    claimBatch: (writes: readonly LeaseClaimWrite[]) => writes.map((w) => this.leases.claimOne(w)),
    get: (ip: string) => this.leaseRows.findLast((r) => r.ip === ip),
    expire: () => {
      this.write('lease expiry');
      return 0;
    },
    all: () => [...this.leaseRows],
  };

  readonly profiles: DhcpInventory['profiles'] = {
    find: (name: string) => {
      const spec = this.profileRows.get(name);
      return spec ? ({ name, spec } as ReturnType<DhcpInventory['profiles']['find']>) : undefined;
    },
  };

  readonly events: DhcpInventory['events'] = {
    addSoon: (e: NewEvent) => {
      this.write('trace row');
      this.eventRows.push(e);
    },
    flush: () => {},
  };

  readonly unknownMacs: DhcpInventory['unknownMacs'] = {
    noteSoon: (s: UnknownSighting) => {
      this.write('unknown-MAC sighting');
      this.unknownRows.push(s);
    },
  };

  readonly sightings: DhcpInventory['sightings'] = {
    note: () => this.write('sighting'),
  };
}
