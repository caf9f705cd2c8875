import { describe, expect, it } from 'vitest';
import { Store } from '../../src/inventory/store.js';
import { DIALECTS, useStores } from '../helpers/stores.js';

const stores = useStores();

// Queued trace rows (addSoon, DHCP's path) are written in a few multi-row INSERTs on PostgreSQL
// (a round trip each) and one at a time on SQLite; either way the rows, their order and the
// machine looked up from the MAC are the same.
describe.each(DIALECTS)('queued trace rows on %s', (dialect) => {
  it('1,100 queued rows: written in order, each with its own machine (given, found by MAC, or none)', async () => {
    const store = await stores.fresh(dialect);
    const m = store.machines.create({ name: 'traced', macs: ['02:00:00:00:00:01'] });
    const other = store.machines.create({ name: 'other', macs: [] });
    store.events.appliance = 'srv-a';
    const macOf = (i: number) => (i % 4 === 3 ? null : i % 4 === 0 ? '02:00:00:00:00:01' : `02:00:00:00:01:${(i % 256).toString(16).padStart(2, '0')}`);
    for (let i = 0; i < 1100; i++) store.events.addSoon({ mac: macOf(i), machineId: i % 4 === 2 ? other.id : null, source: 'dhcp', kind: 'dhcp.offer', detail: { i } });
    store.events.flush();
    const rows = Store.sqlDb(store).prepare('SELECT id, mac, machine_id AS "machineId", detail, appliance FROM events ORDER BY id').all() as Array<{ id: number; mac: string | null; machineId: number | null; detail: string; appliance: string }>;
    expect(rows).toHaveLength(1100);
    rows.forEach((r, i) => {
      const want = i % 4 === 0 ? m.id : i % 4 === 2 ? other.id : null;
      expect([i, JSON.parse(r.detail).i, r.mac, r.machineId === null ? null : Number(r.machineId), r.appliance]).toEqual([i, i, macOf(i), want, 'srv-a']);
    });
  });
});
