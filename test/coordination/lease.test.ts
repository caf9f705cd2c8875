import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Coordinator, ROLES, isBmcBusy } from '../../src/coordination/coordinator.js';
import { LeaderLease, type LeaseTable } from '../../src/coordination/leader.js';
import { decideLease, leaseTiming } from '../../src/coordination/lease-policy.js';
import { Store } from '../../src/inventory/store.js';
import { silentLogger } from '../../src/log.js';
import { FakeLeaseTable, FakeTimers } from '../fakes/lease-table.js';
import { CASES, T0, checkCaseInStore, claim, coordinatorOn } from './lease-cases.js';

const dirs: string[] = [];
const stores: Store[] = [];
afterEach(() => {
  for (const s of stores.splice(0)) s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function sqliteDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'rb-coord-'));
  dirs.push(d);
  return d;
}
function open(dir: string): Store {
  const s = Store.open(dir);
  stores.push(s);
  return s;
}

describe('lease rule (pure)', () => {
  it.each(CASES)('%s', (_name, current, c, kind, after) => {
    const d = decideLease('r', current, c);
    expect(d.kind).toBe(kind);
    if (d.kind !== 'busy') expect(d.next).toMatchObject(after!);
    else expect(after).toBeNull();
  });

  it('timing: renewed three times per lease, the holder stops a fifth early, takeover within TTL + one retry', () => {
    expect(leaseTiming(9000)).toEqual({ ttlMs: 9000, renewMs: 3000, marginMs: 1800, takeoverMs: 12_000 });
  });
});

describe('lease rule in SQL (coordination_leases on SQLite) gives the same answers', () => {
  it.each(CASES)('%s', (...row) => checkCaseInStore(open(sqliteDir()), ...row));

  it('release only by the holder', () => {
    const repo = open(sqliteDir()).coordination;
    repo.tryTake('r', claim('a#1', T0));
    expect(repo.release('r', 'b#2')).toBe(false);
    expect(repo.get('r')?.holder).toBe('a#1');
    expect(repo.release('r', 'a#1')).toBe(true);
    expect(repo.get('r')).toBeNull();
    expect(repo.tryTake('r', claim('b#2', T0))?.holder).toBe('b#2');
  });
});

function leader(table: LeaseTable, timers: FakeTimers, holder: string, extra: { exclusive?: boolean; changes?: boolean[] } = {}): LeaderLease {
  return new LeaderLease({
    table,
    role: ROLES.rolloutRunner,
    me: { holder, appliance: holder.split('#')[0]! },
    timing: leaseTiming(9000),
    now: timers.now,
    log: silentLogger(),
    timers,
    ...(extra.exclusive ? { exclusive: true } : {}),
    onChange: (held) => extra.changes?.push(held),
  });
}

describe('LeaderLease with a fake clock', () => {
  it('one of two holds; the standby takes over within TTL + one retry after the holder stops renewing; the old holder stopped acting before', () => {
    const table = new FakeLeaseTable();
    const timers = new FakeTimers(T0);
    const aChanges: boolean[] = [];
    const a = leader(table, timers, 'a#1', { changes: aChanges });
    const b = leader(table, timers, 'b#1');
    a.start();
    b.start();
    expect([a.held(), b.held()]).toEqual([true, false]);
    timers.advance(60_000); // renewals keep a in place
    expect([a.held(), b.held()]).toEqual([true, false]);
    expect(table.get(ROLES.rolloutRunner)?.epoch).toBe(1);
    // a freezes (its process stalls: no renewal, no timers): simulated by stopping its loop without releasing.
    (a as unknown as { running: boolean }).running = false;
    const frozenAt = timers.t;
    let aStoppedAt: number | null = null;
    let bTookAt: number | null = null;
    for (let i = 0; i < 200; i++) {
      timers.advance(100);
      if (aStoppedAt === null && !a.held()) aStoppedAt = timers.t;
      if (bTookAt === null && b.held()) bTookAt = timers.t;
    }
    expect(aStoppedAt).not.toBeNull();
    expect(bTookAt).not.toBeNull();
    expect(aStoppedAt!).toBeLessThan(bTookAt!); // never both
    expect(bTookAt! - frozenAt).toBeLessThanOrEqual(leaseTiming(9000).takeoverMs);
    expect(table.get(ROLES.rolloutRunner)).toMatchObject({ holder: 'b#1', epoch: 2 });
    // a comes back: it claims, finds b, stays out.
    expect(a.claim()).toBe(false);
    expect(aChanges).toEqual([true]);
  });

  it('a holder cut off from the database keeps acting only until its last claim runs out (less the margin), then stops by itself', () => {
    const table = new FakeLeaseTable();
    const timers = new FakeTimers(T0);
    const a = leader(table, timers, 'a#1');
    a.start();
    const lastClaim = timers.t;
    table.down = true;
    timers.advance(7000);
    expect(a.held()).toBe(true); // 7.0 s < 9 s − 1.8 s
    timers.advance(300);
    expect(a.held()).toBe(false);
    expect(timers.t - lastClaim).toBeLessThan(9000); // before the row expires for anyone else
    table.down = false;
    timers.advance(3000);
    expect(a.held()).toBe(true); // its own row: renewed when the database is back
  });

  it('a listener that throws (the trace row refused) does not stop the claims', () => {
    const table = new FakeLeaseTable();
    const timers = new FakeTimers(T0);
    const a = new LeaderLease({
      table,
      role: ROLES.retention,
      me: { holder: 'a#1', appliance: 'a' },
      timing: leaseTiming(9000),
      now: timers.now,
      log: silentLogger(),
      timers,
      onChange: () => {
        throw new Error('disk full');
      },
    });
    a.start();
    expect(a.held()).toBe(true);
    timers.advance(60_000);
    expect(a.held()).toBe(true);
    expect(table.get(ROLES.retention)?.expiresAt).toBeGreaterThan(timers.t); // still renewed
  });

  it('stop() releases: the standby takes over at its next claim, not after the TTL', () => {
    const table = new FakeLeaseTable();
    const timers = new FakeTimers(T0);
    const a = leader(table, timers, 'a#1');
    const b = leader(table, timers, 'b#1');
    a.start();
    b.start();
    a.stop();
    expect(a.held()).toBe(false);
    timers.advance(3000);
    expect(b.held()).toBe(true);
  });

  it('exclusive (SQLite behind the data-dir lock): a restarted process takes its dead predecessor\'s live row at once', () => {
    const table = new FakeLeaseTable();
    const timers = new FakeTimers(T0);
    leader(table, timers, 'a#old').claim();
    const fresh = leader(table, timers, 'a#new', { exclusive: true });
    expect(fresh.claim()).toBe(true);
    const shared = leader(table, timers, 'a#other');
    expect(shared.claim()).toBe(false); // the force is for the first claim of an exclusive store only
  });
});

describe('two coordinators on one SQLite file (two Store connections)', () => {
  it('one rollout runner: the second takes over after the first stops renewing, and a clean stop hands over at once', () => {
    const dir = sqliteDir();
    const timers = new FakeTimers(T0);
    const mk = (name: string) => coordinatorOn(open(dir).coordination, name, timers);
    const a = mk('site1/r1');
    const b = mk('site1/r2');
    const la = a.leader(ROLES.rolloutRunner);
    const lb = b.leader(ROLES.rolloutRunner);
    la.start();
    lb.start();
    timers.advance(30_000);
    expect([la.held(), lb.held()]).toEqual([true, false]);
    // Retention is a separate role: b can hold it while a runs rollouts.
    const rb = b.leader(ROLES.retention);
    rb.start();
    expect(rb.held()).toBe(true);
    (la as unknown as { running: boolean }).running = false; // a stalls
    timers.advance(12_000);
    expect([la.held(), lb.held()]).toEqual([false, true]);
    b.stop();
    expect(open(dir).coordination.get(ROLES.rolloutRunner)).toBeNull();
    expect(la.claim()).toBe(true);
  });

  it('a BMC operated by one appliance is refused to the other (bmc-busy) until released; one appliance\'s concurrent calls share its hold', async () => {
    const dir = sqliteDir();
    const timers = new FakeTimers(T0);
    const mk = (name: string) => coordinatorOn(open(dir).coordination, name, timers);
    const a = mk('r1');
    const b = mk('r2');
    let finish!: () => void;
    const slow = a.withBmc(7, 'bmc.power', () => new Promise<string>((r) => (finish = () => r('done'))));
    const second = a.withBmc(7, 'bmc.bootdev', async () => 'also'); // same appliance: shares the hold
    expect(await second).toBe('also');
    const refused = await b.withBmc(7, 'bmc.power', async () => 'sent').catch((e: unknown) => e);
    expect(isBmcBusy(refused)).toBe(true);
    expect((refused as Error).message).toMatch(/busy: appliance r1/);
    // Renewed while the operation runs: still refused long after the lock's TTL.
    timers.advance(20_000);
    expect(isBmcBusy(await b.withBmc(7, 'bmc.power', async () => 'sent').catch((e: unknown) => e))).toBe(true);
    expect(await b.withBmc(8, 'bmc.power', async () => 'other BMC')).toBe('other BMC');
    finish();
    expect(await slow).toBe('done');
    expect(await b.withBmc(7, 'bmc.power', async () => 'sent')).toBe('sent');
  });

  it('exclusive (SQLite behind the data-dir lock): a BMC lock left by this appliance\'s killed predecessor does not refuse the restarted one', async () => {
    const dir = sqliteDir();
    const timers = new FakeTimers(T0);
    const repo = open(dir).coordination;
    repo.tryTake('bmc:7', { holder: 'r1#dead', appliance: 'r1', now: T0, ttlMs: 30_000 });
    const restarted = new Coordinator({ table: open(dir).coordination, appliance: 'r1', leaseMs: 9000, now: timers.now, timers, log: silentLogger(), exclusive: true });
    expect(await restarted.withBmc(7, 'bmc.power', async () => 'sent')).toBe('sent');
    expect(repo.get('bmc:7')).toBeNull(); // released after the call, as any other hold
  });

  it('a dead appliance\'s BMC lock frees itself after its TTL', async () => {
    const dir = sqliteDir();
    const timers = new FakeTimers(T0);
    const repo = open(dir).coordination;
    repo.tryTake('bmc:7', { holder: 'dead#1', appliance: 'dead', now: T0, ttlMs: 6000 });
    const b = coordinatorOn(open(dir).coordination, 'r2', timers);
    expect(isBmcBusy(await b.withBmc(7, 'bmc.power', async () => 1).catch((e: unknown) => e))).toBe(true);
    timers.advance(6000);
    expect(await b.withBmc(7, 'bmc.power', async () => 1)).toBe(1);
    expect(repo.get('bmc:7')).toBeNull();
  });
});
