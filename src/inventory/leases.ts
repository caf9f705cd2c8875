import type { Db } from './db.js';
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

/** What the DHCP server needs to know about the machine owning a MAC. */
export interface LeaseHost {
  machineId: number;
  /** The machine's reserved address (machines.ipv4). */
  ipv4: string | null;
  profile: string | null;
  state: MachineState;
}

/** DHCP leases; the DHCP server writes them in batches, one transaction per event-loop turn. */
export class LeaseRepo {
  private readonly upsertStmt;
  private readonly byIpStmt;
  private readonly byMacStmt;
  private readonly reservedStmt;
  private readonly expireStmt;
  private readonly hostStmt;
  constructor(readonly db: Db) {
    this.upsertStmt = db.prepare(
      `INSERT INTO leases (ip, mac, client_id, hostname, state, expires_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT(ip) DO UPDATE SET mac = excluded.mac, client_id = excluded.client_id, hostname = excluded.hostname,
       state = excluded.state, expires_at = excluded.expires_at, updated_at = excluded.updated_at`,
    );
    this.byIpStmt = db.prepare('SELECT * FROM leases WHERE ip = ?');
    this.byMacStmt = db.prepare('SELECT * FROM leases WHERE mac = ? ORDER BY updated_at DESC');
    this.reservedStmt = db.prepare('SELECT id FROM machines WHERE ipv4 = ?').pluck();
    this.expireStmt = db.prepare("UPDATE leases SET state = 'expired', updated_at = ? WHERE state = 'active' AND expires_at <= ?");
    this.hostStmt = db.prepare(
      'SELECT m.id AS machineId, m.ipv4, m.profile, m.state FROM interfaces i JOIN machines m ON m.id = i.machine_id WHERE i.mac = ?',
    );
  }

  /** Inserts or replaces the lease of an address. */
  put(l: LeaseRecord): void {
    this.upsertStmt.run(l.ip, l.mac, l.clientId, l.hostname, l.state, l.expiresAt, l.updatedAt);
  }

  /** The lease of an address, if any. */
  get(ip: string): LeaseRecord | undefined {
    const r = this.byIpStmt.get(ip) as Row | undefined;
    return r ? toRecord(r) : undefined;
  }

  /** Leases of a MAC, newest first. */
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
   * The machine owning a canonical MAC, reduced to what DHCP decides on: one indexed join and
   * no JSON columns (machines.findByMac builds the whole machine; this runs per DISCOVER).
   */
  hostOf(mac: string): LeaseHost | undefined {
    return this.hostStmt.get(mac) as LeaseHost | undefined;
  }

  /** The machine an address is reserved for (machines.ipv4), if any. */
  reservedFor(ip: string): number | undefined {
    return this.reservedStmt.get(ip) as number | undefined;
  }
}
