import { describe, expect, it } from 'vitest';
import type { LeaseClaimWrite, LeaseRecord } from '../../src/inventory/leases.js';
import type { Store } from '../../src/inventory/store.js';
import { DIALECTS, useStores } from '../helpers/stores.js';

const stores = useStores();

const lease = (ip: string, mac: string, o: Partial<LeaseRecord> = {}): LeaseRecord => ({
  ip,
  mac,
  clientId: mac,
  hostname: null,
  state: 'active',
  expiresAt: 10_000,
  updatedAt: 1_000,
  ...o,
});

describe.each(DIALECTS)('LeaseRepo on %s', (dialect) => {
  it('puts, replaces and reads leases; all() in address order as text; expire() marks only active ones past their time', async () => {
    const store = await stores.fresh(dialect);
    store.leases.put(lease('198.18.0.10', '02:00:00:00:00:01'));
    store.leases.put(lease('198.18.0.9', '02:00:00:00:00:01', { updatedAt: 2_000, hostname: 'h' }));
    store.leases.put(lease('198.18.0.2', '02:00:00:00:00:02', { state: 'released', expiresAt: 1 }));
    store.leases.put(lease('198.18.0.10', '02:00:00:00:00:03', { clientId: '01aabb', expiresAt: 20_000 }));
    expect(store.leases.get('198.18.0.10')).toMatchObject({ mac: '02:00:00:00:00:03', clientId: '01aabb', expiresAt: 20_000 });
    expect(store.leases.get('198.18.0.99')).toBeUndefined();
    expect(store.leases.all().map((l) => l.ip)).toEqual(['198.18.0.10', '198.18.0.2', '198.18.0.9']);
    expect(store.leases.forMac('02:00:00:00:00:01')).toMatchObject([{ ip: '198.18.0.9', hostname: 'h' }]);
    expect(store.leases.expire(15_000)).toBe(1);
    expect(store.leases.get('198.18.0.9')).toMatchObject({ state: 'expired', updatedAt: 15_000 });
    expect(store.leases.get('198.18.0.2')?.state).toBe('released');
  });

  it('hosts: one row per MAC of every machine (null for a machine without one), or of one machine', async () => {
    const store = await stores.fresh(dialect);
    const a = store.machines.create({ name: 'a', macs: ['02:00:00:00:00:01', '02:00:00:00:00:02'], ipv4: '198.18.0.20', profile: null });
    const b = store.machines.create({ name: 'b', macs: [] });
    const rows = store.leases.hosts().sort((x, y) => x.machineId - y.machineId || String(x.mac).localeCompare(String(y.mac)));
    expect(rows).toEqual([
      { machineId: a.id, mac: '02:00:00:00:00:01', ipv4: '198.18.0.20', profile: null, state: 'registered' },
      { machineId: a.id, mac: '02:00:00:00:00:02', ipv4: '198.18.0.20', profile: null, state: 'registered' },
      { machineId: b.id, mac: null, ipv4: null, profile: null, state: 'registered' },
    ]);
    expect(store.leases.hosts(b.id)).toEqual([{ machineId: b.id, mac: null, ipv4: null, profile: null, state: 'registered' }]);
  });
});

describe.each(DIALECTS)('LeaseRepo.claimMany on %s (issue #20: one statement for a batch of claims)', (dialect) => {
  const NOW = 100_000;
  const A = '02:00:00:00:00:0a';
  const B = '02:00:00:00:00:0b';
  const C = '02:00:00:00:00:0c';
  /** Rows stored before the batch: another client's running lease, an expired one, a quarantined address, A's own. */
  const seed = (store: Store) => {
    store.leases.put(lease('198.18.1.2', B, { expiresAt: NOW + 60_000 }));
    store.leases.put(lease('198.18.1.3', B, { expiresAt: NOW - 1 }));
    store.leases.put(lease('198.18.1.4', B, { clientId: `declined:${B}`, state: 'declined', expiresAt: NOW + 60_000 }));
    store.leases.put(lease('198.18.1.5', A, { clientId: 'edk2-a', expiresAt: NOW + 60_000 }));
  };
  const write = (ip: string, mac: string, o: { owner?: string; reserved?: boolean; state?: LeaseRecord['state']; now?: number } = {}): LeaseClaimWrite => ({
    lease: lease(ip, mac, { clientId: o.owner ?? mac, state: o.state ?? 'active', expiresAt: NOW + 600_000, updatedAt: o.now ?? NOW }),
    claim: { owner: o.owner ?? mac, mac, reserved: o.reserved ?? false },
    now: o.now ?? NOW,
  });
  // Granted (new, expired, own), lost (running, quarantined), a reservation by MAC, and one
  // address written three times in the batch: C takes it, A loses to C, C releases it.
  const batch: LeaseClaimWrite[] = [
    write('198.18.1.1', A),
    write('198.18.1.2', A),
    write('198.18.1.3', A),
    write('198.18.1.4', A),
    write('198.18.1.5', A, { reserved: true }),
    write('198.18.1.6', C),
    write('198.18.1.6', A, { now: NOW + 1 }),
    write('198.18.1.7', B, { owner: 'b-id' }),
    write('198.18.1.6', C, { state: 'released', now: NOW + 2 }),
  ];

  it('gives each write the outcome one claim at a time gives, and leaves the same rows', async () => {
    const many = await stores.fresh(dialect);
    const one = await stores.fresh(dialect);
    seed(many);
    seed(one);
    const got = many.transaction(() => many.leases.claimMany(batch));
    const expected = one.transaction(() => batch.map((w) => one.leases.claimOne(w)));
    expect(got).toEqual(expected);
    expect(got.map((o) => o.won)).toEqual([true, false, true, false, true, true, false, true, true]);
    // A lost claim reports the row that won at that point: A's claim of .6 meets C's lease.
    expect(got[6]).toMatchObject({ won: false, holder: { clientId: C, state: 'active' } });
    expect(got[1]).toMatchObject({ won: false, holder: { clientId: B } });
    expect(many.leases.all()).toEqual(one.leases.all());
    expect(many.leases.get('198.18.1.6')).toMatchObject({ clientId: C, state: 'released' });
  });

  it('more writes than one statement takes, and an address repeated in each part', async () => {
    const many = await stores.fresh(dialect);
    const one = await stores.fresh(dialect);
    // 250 addresses, then 200 of them again (A's claims of B's addresses lost, B's renewals won).
    const big = Array.from({ length: 450 }, (_, i) => write(`198.18.2.${i % 250}`, i >= 250 && i % 2 ? A : B, { now: NOW + i }));
    const got = many.transaction(() => many.leases.claimMany(big));
    const expected = one.transaction(() => big.map((w) => one.leases.claimOne(w)));
    expect(got).toEqual(expected);
    expect(got.filter((o) => !o.won).length).toBe(100);
    expect(many.leases.all()).toEqual(one.leases.all());
  });

  it('a write the database refuses fails the call and writes none of the batch (the batcher finds it with claimOne)', async () => {
    const store = await stores.fresh(dialect);
    const bad = write('198.18.1.9', A);
    (bad.lease as { mac: string | null }).mac = null;
    expect(() => store.transaction(() => store.leases.claimMany([write('198.18.1.1', A), bad]))).toThrow();
    expect(() => store.transaction(() => store.leases.claimOne(bad))).toThrow();
    expect(store.leases.all()).toEqual([]);
    expect(store.leases.claimMany([])).toEqual([]);
  });
});
