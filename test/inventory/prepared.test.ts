import { describe, expect, it } from 'vitest';
import { Statements } from '../../src/inventory/db.js';
import { Store } from '../../src/inventory/store.js';
import { DIALECTS, useStores } from '../helpers/stores.js';

const stores = useStores();

describe.each(DIALECTS)('Statements on %s: prepared once per repository', (dialect) => {
  it('returns the same statement for the same SQL, a separate one in value (pluck) mode', async () => {
    const store = await stores.fresh(dialect);
    store.profiles.create('p1', { os: 'testos', boot: 'network' } as never);
    const stmts = new Statements(Store.rawDb(store));
    const sql = 'SELECT name, 1 AS one FROM profiles ORDER BY name LIMIT 1';
    const rows = stmts.get(sql);
    expect(stmts.get(sql)).toBe(rows);
    const values = stmts.get(sql, { value: true });
    expect(values).not.toBe(rows);
    expect(values.get()).toBe('p1');
    expect(rows.get()).toEqual({ name: 'p1', one: 1 });
  });
});
