import { describe, expect, it } from 'vitest';
import { INSPECTIONS_KEPT } from '../../src/inventory/inspections.js';
import { DIALECTS, type StoreDialect, useStores } from '../helpers/stores.js';

const T0 = Date.parse('2026-12-01T00:00:00Z');

const stores = useStores();

async function withMachine(dialect: StoreDialect) {
  const store = await stores.fresh(dialect);
  const m = store.machines.create({ name: 'discovered-525400000001', macs: ['52:54:00:00:00:01'], state: 'discovered' });
  return { store, m };
}

describe.each(DIALECTS)('InspectionRepo on %s', (dialect) => {
  it('keeps a bounded history per machine, newest first', async () => {
    const { store, m } = await withMachine(dialect);
    const other = store.machines.create({ name: 'other', macs: ['52:54:00:00:00:02'] });
    for (let i = 0; i < INSPECTIONS_KEPT + 5; i++) {
      store.inspections.add({ machineId: m.id, facts: { n: i }, client: '198.18.0.10', at: new Date(T0 + i * 1000) });
    }
    store.inspections.add({ machineId: other.id, facts: { n: 'other' }, client: null, at: new Date(T0) });
    const list = store.inspections.list(m.id);
    expect(list).toHaveLength(INSPECTIONS_KEPT);
    expect(list[0]).toMatchObject({ machineId: m.id, facts: { n: INSPECTIONS_KEPT + 4 }, client: '198.18.0.10', receivedAt: new Date(T0 + (INSPECTIONS_KEPT + 4) * 1000).toISOString() });
    expect(list.at(-1)?.facts).toEqual({ n: 5 });
    expect(store.inspections.latest(m.id)?.facts).toEqual({ n: INSPECTIONS_KEPT + 4 });
    expect(store.inspections.list(other.id)).toHaveLength(1);
  });

  it('has nothing for a machine never inspected', async () => {
    const { store, m } = await withMachine(dialect);
    expect(store.inspections.list(m.id)).toEqual([]);
    expect(store.inspections.latest(m.id)).toBeUndefined();
  });

  it('forgets a removed machine’s reports and tokens', async () => {
    const { store, m } = await withMachine(dialect);
    store.inspections.add({ machineId: m.id, facts: { a: 1 }, client: null, at: new Date(T0) });
    store.inspections.addToken({ hash: 'h1', machineId: m.id, expiresAt: T0 + 60_000, createdAt: T0 });
    store.machines.remove(m.id);
    expect(store.inspections.list(m.id)).toEqual([]);
    expect(store.inspections.machineOfToken('h1', T0)).toBeUndefined();
  });

  it.each([
    ['a live token', 'h1', T0 + 1000, true],
    ['an expired token', 'h1', T0 + 60_000, false],
    ['an unknown token', 'nope', T0, false],
  ])('resolves %s', async (_what, hash, now, want) => {
    const { store, m } = await withMachine(dialect);
    store.inspections.addToken({ hash: 'h1', machineId: m.id, expiresAt: T0 + 60_000, createdAt: T0 });
    expect(store.inspections.machineOfToken(hash, now)).toBe(want ? m.id : undefined);
  });

  it('a new inspection boot revokes the earlier token; a spent token is gone', async () => {
    const { store, m } = await withMachine(dialect);
    store.inspections.addToken({ hash: 'h1', machineId: m.id, expiresAt: T0 + 60_000, createdAt: T0 });
    store.inspections.addToken({ hash: 'h2', machineId: m.id, expiresAt: T0 + 60_000, createdAt: T0 + 1 });
    expect(store.inspections.machineOfToken('h1', T0 + 2)).toBeUndefined();
    expect(store.inspections.machineOfToken('h2', T0 + 2)).toBe(m.id);
    store.inspections.revokeToken('h2');
    expect(store.inspections.machineOfToken('h2', T0 + 2)).toBeUndefined();
  });
});
