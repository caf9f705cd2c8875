import type { LeaseClaim, LeaseRecord } from '../inventory/coordination.js';

/**
 * The lease rule, pure (the SQL of CoordinationRepo.tryTake is the same rule in one statement;
 * test/coordination checks both against one table): a claim wins when nobody holds the lease,
 * when it is the holder's own (a renewal), or when the lease has expired (a takeover).
 */
export type LeaseDecision =
  | { kind: 'acquire' | 'renew' | 'steal'; next: LeaseRecord }
  | { kind: 'busy'; current: LeaseRecord };

/** What a claim on `name` does to its current row (null: no row). */
export function decideLease(name: string, current: LeaseRecord | null, c: LeaseClaim): LeaseDecision {
  const expiresAt = c.now + c.ttlMs;
  if (!current) return { kind: 'acquire', next: { name, holder: c.holder, appliance: c.appliance, expiresAt, acquiredAt: c.now, epoch: 1 } };
  if (current.holder === c.holder) return { kind: 'renew', next: { ...current, appliance: c.appliance, expiresAt } };
  if (c.force || current.expiresAt <= c.now) {
    return { kind: 'steal', next: { name, holder: c.holder, appliance: c.appliance, expiresAt, acquiredAt: c.now, epoch: current.epoch + 1 } };
  }
  return { kind: 'busy', current };
}

/** How a lease of `ttlMs` is kept: renewal period, local safety margin, worst-case takeover time. */
export interface LeaseTiming {
  ttlMs: number;
  /** A holder renews (and a standby retries) this often: three tries per lease. */
  renewMs: number;
  /**
   * A holder counts its lease as lost this long before the row expires (clock skew between
   * appliances, a slow database round trip), so it has stopped before anyone else can take over.
   */
  marginMs: number;
  /** From a holder's death to a standby holding the lease, at worst: the TTL plus one retry period. */
  takeoverMs: number;
}

/** The timing of a lease of `ttlMs`. */
export function leaseTiming(ttlMs: number): LeaseTiming {
  const renewMs = Math.max(1, Math.floor(ttlMs / 3));
  return { ttlMs, renewMs, marginMs: Math.floor(ttlMs / 5), takeoverMs: ttlMs + renewMs };
}

/**
 * Until when a holder may act on a lease it took with a claim made at `claimedAt` (its clock
 * before the database call): the row's expiry less the margin, never later.
 */
export function actUntil(claimedAt: number, t: LeaseTiming): number {
  return claimedAt + t.ttlMs - t.marginMs;
}
