import { expect } from 'vitest';
import { Coordinator } from '../../src/coordination/coordinator.js';
import type { LeaseTable } from '../../src/coordination/leader.js';
import type { LeaseClaim, LeaseRecord } from '../../src/inventory/coordination.js';
import { Store } from '../../src/inventory/store.js';
import { silentLogger } from '../../src/log.js';
import type { FakeTimers } from '../fakes/lease-table.js';

/** The clock reading of every case. */
export const T0 = 1_700_000_000_000;
/** A current row held by `holder` until `expiresAt`. */
const row = (holder: string, expiresAt: number, epoch = 1): LeaseRecord => ({ name: 'r', holder, appliance: holder.split('#')[0]!, expiresAt, acquiredAt: T0 - 5000, epoch });
/** A claim of `holder` at `now` for 9 s. */
export const claim = (holder: string, now: number, extra: Partial<LeaseClaim> = {}): LeaseClaim => ({ holder, appliance: holder.split('#')[0]!, now, ttlMs: 9000, ...extra });

/** The lease rule's cases (pure, SQLite and PostgreSQL tests run the same table). Every case: current row, claim → who holds afterwards, with what expiry and epoch (null: refused). */
export const CASES: Array<[string, LeaseRecord | null, LeaseClaim, 'acquire' | 'renew' | 'steal' | 'busy', { holder: string; expiresAt: number; epoch: number; acquiredAt: number } | null]> = [
  ['no row: acquire', null, claim('a#1', T0), 'acquire', { holder: 'a#1', expiresAt: T0 + 9000, epoch: 1, acquiredAt: T0 }],
  ['own row, live: renew (acquiredAt kept)', row('a#1', T0 + 3000), claim('a#1', T0), 'renew', { holder: 'a#1', expiresAt: T0 + 9000, epoch: 1, acquiredAt: T0 - 5000 }],
  ['own row, expired: renew', row('a#1', T0 - 1), claim('a#1', T0), 'renew', { holder: 'a#1', expiresAt: T0 + 9000, epoch: 1, acquiredAt: T0 - 5000 }],
  ['other holder, live: busy', row('b#2', T0 + 1), claim('a#1', T0), 'busy', null],
  ['other holder, expires exactly now: steal', row('b#2', T0, 4), claim('a#1', T0), 'steal', { holder: 'a#1', expiresAt: T0 + 9000, epoch: 5, acquiredAt: T0 }],
  ['other holder, expired: steal', row('b#2', T0 - 10_000, 2), claim('a#1', T0), 'steal', { holder: 'a#1', expiresAt: T0 + 9000, epoch: 3, acquiredAt: T0 }],
  ['other holder, live, forced (exclusive store): steal', row('b#2', T0 + 60_000), claim('a#1', T0, { force: true }), 'steal', { holder: 'a#1', expiresAt: T0 + 9000, epoch: 2, acquiredAt: T0 }],
  ['same appliance, other process (restart), live: busy', row('a#9', T0 + 5000), claim('a#1', T0), 'busy', null],
];


/** One case against a store's coordination_leases (SQLite or PostgreSQL): the row put in place, the claim's answer and what is stored after. */
export function checkCaseInStore(store: Store, ...[, current, c, kind, after]: (typeof CASES)[number]): void {
  const db = Store.rawDb(store);
  db.prepare('DELETE FROM coordination_leases').run();
  if (current) {
    db.prepare('INSERT INTO coordination_leases (name, holder, appliance, expires_at, acquired_at, epoch) VALUES (?, ?, ?, ?, ?, ?)').run(
      current.name,
      current.holder,
      current.appliance,
      current.expiresAt,
      current.acquiredAt,
      current.epoch,
    );
  }
  const got = store.coordination.tryTake('r', c);
  if (kind === 'busy') {
    expect(got).toBeNull();
    expect(store.coordination.get('r')).toEqual(current);
  } else {
    expect(got).toEqual({ name: 'r', appliance: c.appliance, ...after! });
    expect(store.coordination.get('r')).toEqual(got);
  }
}

/** Appliance `name`'s coordinator over `table` (its own connection) on fake timers: 9 s leases, 6 s BMC locks. */
export function coordinatorOn(table: LeaseTable, name: string, timers: FakeTimers): Coordinator {
  return new Coordinator({ table, appliance: name, leaseMs: 9000, bmcLockMs: 6000, now: timers.now, timers, log: silentLogger() });
}
