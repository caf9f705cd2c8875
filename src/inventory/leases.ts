import type { Db } from './db.js';
import { LEASE_CLAIM_CONDITION, type LeaseClaim } from './lease-claim.js';
import type { MachineState } from './machines.js';

/** Lease states as stored: offers live only in memory and are never written. */
export type StoredLeaseState = 'active' | 'released' | 'declined' | 'expired';

/** A DHCP lease row (times in Unix milliseconds). */
export interface LeaseRecord {
  ip: string;
  mac: string;
  /** Option 61 as hex, or the MAC when the client sent none. */
  clientId: string;
  hostname: string | null;
  state: StoredLeaseState;
  expiresAt: number;
  updatedAt: number;
}

interface Row {
  ip: string;
  mac: string;
  client_id: string | null;
  hostname: string | null;
  state: StoredLeaseState;
  expires_at: number;
  updated_at: number;
}

const toRecord = (r: Row): LeaseRecord => ({
  ip: r.ip,
  mac: r.mac,
  clientId: r.client_id ?? r.mac,
  hostname: r.hostname,
  state: r.state,
  expiresAt: r.expires_at,
  updatedAt: r.updated_at,
});

/** What the DHCP server needs to know about a machine: one row per MAC (mac null when it has none). */
export interface LeaseHost {
  machineId: number;
  mac: string | null;
  /** The machine's reserved address (machines.ipv4). */
  ipv4: string | null;
  profile: string | null;
  state: MachineState;
}

/** DHCP leases; the DHCP server writes them in batches, one transaction per event-loop turn. */
export class LeaseRepo {
  private readonly upsertStmt;
  private readonly claimStmt;
  private readonly byIpStmt;
  private readonly byMacStmt;
  private readonly expireStmt;
  private readonly hostsStmt;
  private readonly hostStmt;
  constructor(readonly db: Db) {
    this.upsertStmt = db.prepare(
      `INSERT INTO leases (ip, mac, client_id, hostname, state, expires_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT(ip) DO UPDATE SET mac = excluded.mac, client_id = excluded.client_id, hostname = excluded.hostname,
       state = excluded.state, expires_at = excluded.expires_at, updated_at = excluded.updated_at`,
    );
    // Issue #20: the same upsert, applied only when nobody else holds the address (lease-claim.ts).
    this.claimStmt = db.prepare(
      `INSERT INTO leases (ip, mac, client_id, hostname, state, expires_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT(ip) DO UPDATE SET mac = excluded.mac, client_id = excluded.client_id, hostname = excluded.hostname,
       state = excluded.state, expires_at = excluded.expires_at, updated_at = excluded.updated_at
       WHERE ${LEASE_CLAIM_CONDITION}`,
    );
    this.byIpStmt = db.prepare('SELECT * FROM leases WHERE ip = ?');
    this.byMacStmt = db.prepare('SELECT * FROM leases WHERE mac = ? ORDER BY updated_at DESC');
    this.expireStmt = db.prepare("UPDATE leases SET state = 'expired', updated_at = ? WHERE state = 'active' AND expires_at <= ?");
    const hosts = 'SELECT m.id AS "machineId", i.mac, m.ipv4, m.profile, m.state FROM machines m LEFT JOIN interfaces i ON i.machine_id = m.id';
    this.hostsStmt = db.prepare(hosts);
    this.hostStmt = db.prepare(`${hosts} WHERE m.id = ?`);
  }

  /** Inserts or replaces the lease of an address. */
  put(l: LeaseRecord): void {
    this.upsertStmt.run(l.ip, l.mac, l.clientId, l.hostname, l.state, l.expiresAt, l.updatedAt);
  }

  /**
   * Writes the lease of an address if `claim` may have it (lease-claim.ts) and says whether it
   * did: false means another client holds the address (another appliance's ACK won), and the
   * row is left as it was. Times in Unix ms; `now` decides what has expired.
   */
  claim(l: LeaseRecord, claim: LeaseClaim, now: number): boolean {
    const r = this.claimStmt.run(l.ip, l.mac, l.clientId, l.hostname, l.state, l.expiresAt, l.updatedAt, claim.owner, now, claim.reserved ? 1 : 0);
    return r.changes > 0;
  }

  /** The lease of an address, if any. */
  get(ip: string): LeaseRecord | undefined {
    const r = this.byIpStmt.get(ip) as Row | undefined;
    return r ? toRecord(r) : undefined;
  }

  /** Leases of a MAC, newest first (a scan: at most one row per pool address, and not on DHCP's path). */
  forMac(mac: string): LeaseRecord[] {
    return (this.byMacStmt.all(mac) as Row[]).map(toRecord);
  }

  /** Every lease (the DHCP server loads them at start). */
  all(): LeaseRecord[] {
    return (this.db.prepare('SELECT * FROM leases ORDER BY ip').all() as Row[]).map(toRecord);
  }

  /** Marks active leases past their expiry as expired; returns how many. */
  expire(now: number): number {
    return this.expireStmt.run(now, now).changes;
  }

  /**
   * What DHCP decides on, for every machine (or one): no JSON columns, one row per MAC. The DHCP
   * server keeps this in memory, so a packet never waits on SQLite to learn who sent it.
   */
  hosts(machineId?: number): LeaseHost[] {
    return (machineId === undefined ? this.hostsStmt.all() : this.hostStmt.all(machineId)) as LeaseHost[];
  }
}
