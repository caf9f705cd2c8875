import { describe, expect, it } from 'vitest';
import { type Db, migrate, openDb } from '../../src/inventory/db.js';
import { EventRepo } from '../../src/inventory/events.js';
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
    const rows = Store.rawDb(store).prepare('SELECT id, mac, machine_id AS "machineId", detail, appliance FROM events ORDER BY id').all() as Array<{ id: number; mac: string | null; machineId: number | null; detail: string; appliance: string }>;
    expect(rows).toHaveLength(1100);
    rows.forEach((r, i) => {
      const want = i % 4 === 0 ? m.id : i % 4 === 2 ? other.id : null;
      expect([i, JSON.parse(r.detail).i, r.mac, r.machineId === null ? null : Number(r.machineId), r.appliance]).toEqual([i, i, macOf(i), want, 'srv-a']);
    });
  });
});

describe('queued trace rows on PostgreSQL: statements', () => {
  it('the multi-row INSERT is prepared once per row count, not at every flush', () => {
    // SQLite standing in for PostgreSQL (the multi-row INSERT is portable): only prepare() is counted.
    const sqlite = openDb(':memory:');
    migrate(sqlite);
    const prepared: string[] = [];
    const db: Db = {
      dialect: 'postgres',
      name: 'counted',
      get open() {
        return sqlite.open;
      },
      get inTransaction() {
        return sqlite.inTransaction;
      },
      prepare: (sql) => {
        prepared.push(sql);
        return sqlite.prepare(sql);
      },
      exec: (sql) => sqlite.exec(sql),
      transaction: (fn) => sqlite.transaction(fn),
      close: () => sqlite.close(),
    };
    const events = new EventRepo(db);
    const before = prepared.length;
    for (const n of [3, 3, 2, 3]) {
      for (let i = 0; i < n; i++) events.addSoon({ mac: null, machineId: null, source: 'dhcp', kind: 'dhcp.offer', detail: { n, i } });
      events.flush();
    }
    expect(prepared.slice(before).map((sql) => sql.split('(?, ?, COALESCE').length - 1)).toEqual([3, 2]);
    expect(sqlite.prepare('SELECT count(*) FROM events').pluck().get()).toBe(11);
    sqlite.close();
  });
});
