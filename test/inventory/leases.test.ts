import { describe, expect, it } from 'vitest';
import type { LeaseRecord } from '../../src/inventory/leases.js';
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
