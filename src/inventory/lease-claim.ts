/**
 * Who may write the lease of an address (issue #20: active/active DHCP). Two appliances on one
 * segment each keep their own lease table in memory and may offer the same address; the
 * database decides which ACK wins. A lease write is allowed when nobody else holds the address
 * now: no row yet, the row is the same client's, the row was released or expired, its time is
 * up (a declined address's quarantine included), or the client is the machine the address is
 * reserved for and the row is its MAC's (edk2, iPXE and the OS send different client ids).
 * `mayWriteLease` is the rule in TypeScript (table-tested); `LEASE_CLAIM_CONDITION` is the same
 * rule as the WHERE of the conditional upserts in LeaseRepo.claim and claimMany (tested to agree).
 */

/** The stored row a write meets (or none). */
export interface StoredLeaseView {
  clientId: string | null;
  mac: string;
  state: string;
  expiresAt: number;
}

/** The write: whose lease it is and whether the address is that machine's reservation. */
export interface LeaseClaim {
  /** The client key the write belongs to (for a decline: the key of the client that declined). */
  owner: string;
  mac: string;
  /** The address is the reservation (machines.ipv4) of this client's machine. */
  reserved: boolean;
}

/** True when `claim` may replace `stored` at time `now` (Unix ms). */
export function mayWriteLease(stored: StoredLeaseView | undefined, claim: LeaseClaim, now: number): boolean {
  if (!stored) return true;
  if ((stored.clientId ?? stored.mac) === claim.owner) return true;
  if (stored.state === 'released' || stored.state === 'expired') return true;
  if (stored.expiresAt <= now) return true;
  return claim.reserved && stored.mac === claim.mac && stored.state !== 'declined';
}

/** SQL expressions for the claim's own values in `leaseClaimCondition` (parameters or columns). */
export interface LeaseClaimTerms {
  owner: string;
  now: string;
  /** 1 when the address is the client's machine's reservation, else 0. */
  reserved: string;
}

/**
 * The rule as SQL, for `INSERT … ON CONFLICT(ip) DO UPDATE SET … WHERE <this>` (SQLite and
 * PostgreSQL alike): `leases` is the stored row, `excluded` the write, `terms` the claim's
 * values (parameters for one write, a joined row's columns for a batch: LeaseRepo.claimMany).
 */
export function leaseClaimCondition(terms: LeaseClaimTerms): string {
  return `COALESCE(leases.client_id, leases.mac) = ${terms.owner} OR leases.state IN ('released', 'expired')
  OR leases.expires_at <= ${terms.now} OR (${terms.reserved} = 1 AND leases.mac = excluded.mac AND leases.state <> 'declined')`;
}

/** The rule for one write, its claim as parameters in order: owner, now, reserved (1 or 0). */
export const LEASE_CLAIM_CONDITION = leaseClaimCondition({ owner: '?', now: '?', reserved: '?' });
