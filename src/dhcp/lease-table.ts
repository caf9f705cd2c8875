import { type Cidr, inCidr } from '../net/ipv4.js';

/** Lease states; `offered` is held in memory only, the others are persisted. */
export type LeaseState = 'offered' | 'active' | 'released' | 'declined' | 'expired';

/** One address binding (times in Unix milliseconds). */
export interface Lease {
  ip: number;
  mac: string;
  clientKey: string;
  hostname: string | null;
  state: LeaseState;
  expiresAt: number;
  /**
   * Until when the database holds this binding as the client's active lease (absent: not
   * stored as active). Differs from expiresAt while a write is pending or when it failed; a
   * store outage answers renewals only up to this time (issue #20).
   */
  committedUntil?: number | undefined;
}

/** Who is asking: the lease key plus the machine (for reservations). */
export interface LeaseClient {
  clientKey: string;
  mac: string;
  hostname: string | null;
  machineId: number | null;
  /** The machine's reserved address, when it lies in this subnet. */
  reservedIp?: number;
}

/** Why an address cannot be assigned to a client. */
export type AssignRefusal = 'outside-subnet' | 'outside-pool' | 'reserved' | 'taken' | 'declined';

/**
 * The address bindings of one subnet, in memory (the database is the durable copy). Pure:
 * no I/O, the caller passes `now`; the reservation lookup is injected.
 */
export class LeaseTable {
  private readonly byIp = new Map<number, Lease>();
  private readonly byClient = new Map<string, Lease>();
  private cursor: number;

  constructor(
    readonly cidr: Cidr,
    readonly poolStart: number,
    readonly poolEnd: number,
    /** Machine id an address is reserved for (inventory machines.ipv4), if any. */
    private readonly reservedFor: (ip: number) => number | undefined,
    /**
     * Where the search for a free address starts, as an offset into the pool (wrapped). Two
     * appliances serving one segment start at different places, so their offers rarely meet.
     */
    startOffset = 0,
  ) {
    const size = poolEnd - poolStart + 1;
    this.cursor = poolStart + (((startOffset % size) + size) % size);
  }

  /**
   * Loads a stored lease (at start, and whenever the database shows a row this table did not
   * write: another appliance's ACK, a lost claim). The stored row replaces what memory had.
   */
  load(l: Lease): void {
    const stored: Lease = { ip: l.ip, mac: l.mac, clientKey: l.clientKey, hostname: l.hostname, state: l.state, expiresAt: l.expiresAt };
    if (l.state === 'active') stored.committedUntil = l.expiresAt;
    this.bind(stored);
  }

  /** The stored lease's end for this client on `ip`, when the database holds it active past `now`. */
  committedFor(c: LeaseClient, ip: number, now: number): number | undefined {
    const l = this.byIp.get(ip);
    if (!l || l.committedUntil === undefined || l.committedUntil <= now) return undefined;
    const own = l.clientKey === c.clientKey || (c.reservedIp === ip && l.mac === c.mac);
    return own ? l.committedUntil : undefined;
  }

  /** A write of `l` committed: the database now holds it as it is in memory. */
  stored(l: Lease): void {
    if (l.state === 'active') l.committedUntil = l.expiresAt;
    else l.committedUntil = undefined;
  }

  /**
   * A write of `l` failed (its reply was withheld): memory goes back to what the database
   * holds, the client's stored lease if it has one, else nothing. A decline stays quarantined.
   */
  unstored(l: Lease, now: number): void {
    if (this.byIp.get(l.ip) !== l || l.state === 'declined') return;
    if (l.committedUntil !== undefined && l.committedUntil > now) {
      l.state = 'active';
      l.expiresAt = l.committedUntil;
      return;
    }
    this.unbind(l);
  }

  /** The binding held by a client key, if any. */
  leaseOf(clientKey: string): Lease | undefined {
    return this.byClient.get(clientKey);
  }

  /** The binding of an address, if any. */
  leaseAt(ip: number): Lease | undefined {
    return this.byIp.get(ip);
  }

  /** Number of addresses bound to a client and not yet expired. */
  activeCount(now: number): number {
    let n = 0;
    for (const l of this.byIp.values()) if (l.expiresAt > now && l.state !== 'declined') n++;
    return n;
  }

  /** True when `ip` is usable by this client right now (ignores the pool range). */
  private free(ip: number, c: LeaseClient, now: number): boolean {
    const l = this.byIp.get(ip);
    if (!l || l.expiresAt <= now) return true;
    if (l.state === 'declined') return false;
    // A machine's reserved address follows its MAC through every boot stage: edk2, iPXE and the
    // OS each send their own client identifier (option 61) but the reservation is the machine's.
    if (c.reservedIp === ip && l.mac === c.mac) return true;
    return l.clientKey === c.clientKey;
  }

  /** Whether the client may have `ip`, or why not (RFC 2131 §4.3.2 checks for REQUEST). */
  check(c: LeaseClient, ip: number, now: number): AssignRefusal | null {
    if (!inCidr(this.cidr, ip) || ip === this.cidr.network || ip === this.cidr.broadcast) return 'outside-subnet';
    const l = this.byIp.get(ip);
    if (l && l.state === 'declined' && l.expiresAt > now) return 'declined';
    if (!this.free(ip, c, now)) return 'taken';
    if (c.reservedIp === ip) return null;
    const owner = this.reservedFor(ip);
    if (owner !== undefined && owner !== c.machineId) return 'reserved';
    if (ip < this.poolStart || ip > this.poolEnd) return owner === c.machineId && owner !== undefined ? null : 'outside-pool';
    return null;
  }

  /**
   * The address to offer (RFC 2131 §4.3.1 order): the reservation, the client's current or
   * previous binding, the requested address, then the next free pool address.
   */
  pick(c: LeaseClient, requested: number | undefined, now: number): number | undefined {
    if (c.reservedIp !== undefined && this.check(c, c.reservedIp, now) === null) return c.reservedIp;
    const prev = this.byClient.get(c.clientKey);
    if (prev && this.check(c, prev.ip, now) === null) return prev.ip;
    if (requested !== undefined && this.check(c, requested, now) === null) return requested;
    const size = this.poolEnd - this.poolStart + 1;
    for (let i = 0; i < size; i++) {
      const ip = this.cursor;
      this.cursor = ip >= this.poolEnd ? this.poolStart : ip + 1;
      if (this.byIp.has(ip) && !this.free(ip, c, now)) continue;
      if (this.check(c, ip, now) === null) return ip;
    }
    return undefined;
  }

  /** Holds an offered address for a while so two clients are not offered the same one. */
  hold(c: LeaseClient, ip: number, now: number, holdMs: number): void {
    const cur = this.byIp.get(ip);
    // The client's own unexpired lease stays as it is; an offer never shortens it.
    if (cur && cur.clientKey === c.clientKey && cur.state === 'active' && cur.expiresAt > now) return;
    const offer: Lease = { ip, mac: c.mac, clientKey: c.clientKey, hostname: c.hostname, state: 'offered', expiresAt: now + holdMs };
    // A reservation offered to another boot stage of its machine keeps the stored lease known.
    if (cur?.committedUntil !== undefined && cur.mac === c.mac) offer.committedUntil = cur.committedUntil;
    this.bind(offer);
  }

  /** Binds the address to the client as an active lease until `expiresAt`. */
  commit(c: LeaseClient, ip: number, expiresAt: number): Lease {
    const l: Lease = { ip, mac: c.mac, clientKey: c.clientKey, hostname: c.hostname, state: 'active', expiresAt };
    // The stored lease stays known until this write commits (a failed write returns to it).
    const prev = this.byIp.get(ip);
    if (prev?.committedUntil !== undefined && (prev.clientKey === c.clientKey || prev.mac === c.mac)) l.committedUntil = prev.committedUntil;
    this.bind(l);
    return l;
  }

  /** Ends the client's lease on `ip` (RELEASE); the binding stays for address affinity. */
  release(c: LeaseClient, ip: number, now: number): Lease | undefined {
    const l = this.byIp.get(ip);
    if (!l || l.clientKey !== c.clientKey || l.state === 'declined') return undefined;
    l.state = 'released';
    l.expiresAt = now;
    return l;
  }

  /** Quarantines an address a client found in use (DECLINE, RFC 2131 §4.3.3). */
  decline(c: LeaseClient, ip: number, until: number): Lease | undefined {
    const l = this.byIp.get(ip);
    if (!l || l.clientKey !== c.clientKey) return undefined;
    this.byClient.delete(c.clientKey);
    const q: Lease = { ...l, state: 'declined', clientKey: `declined:${l.clientKey}`, expiresAt: until };
    this.byIp.set(ip, q);
    return q;
  }

  /** Active leases past expiry become `expired` (their addresses are free again); returns them. */
  reclaim(now: number): Lease[] {
    const out: Lease[] = [];
    for (const l of this.byIp.values()) {
      if (l.state === 'active' && l.expiresAt <= now) {
        l.state = 'expired';
        out.push(l);
      } else if (l.state === 'offered' && l.expiresAt <= now) {
        this.unbind(l);
      }
    }
    return out;
  }

  private bind(l: Lease): void {
    const old = this.byIp.get(l.ip);
    if (old && old.clientKey !== l.clientKey && this.byClient.get(old.clientKey) === old) this.byClient.delete(old.clientKey);
    const prev = this.byClient.get(l.clientKey);
    // A client holds one address per subnet: moving it frees the old binding.
    if (prev && prev.ip !== l.ip && this.byIp.get(prev.ip) === prev) {
      if (prev.state === 'offered') this.byIp.delete(prev.ip);
      else if (l.state === 'active' && prev.state === 'active') {
        prev.state = 'released';
        prev.expiresAt = 0;
      }
    }
    this.byIp.set(l.ip, l);
    if (l.state !== 'declined') this.byClient.set(l.clientKey, l);
  }

  private unbind(l: Lease): void {
    if (this.byIp.get(l.ip) === l) this.byIp.delete(l.ip);
    if (this.byClient.get(l.clientKey) === l) this.byClient.delete(l.clientKey);
  }
}
