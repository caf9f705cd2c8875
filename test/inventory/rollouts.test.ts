import { describe, expect, it } from 'vitest';
import { isAppError } from '../../src/errors.js';
import type { Store } from '../../src/inventory/store.js';
import { DIALECTS, type StoreDialect, useStores } from '../helpers/stores.js';

const stores = useStores();

/** A store with machines m1..mN. */
async function withMachines(dialect: StoreDialect, n: number): Promise<{ store: Store; ids: number[] }> {
  const store = await stores.fresh(dialect);
  const ids = Array.from({ length: n }, (_, i) => store.machines.create({ name: `m${i + 1}`, macs: [`02:00:00:00:02:0${i + 1}`] }).id);
  return { store, ids };
}

const member = (machineId: number, position: number) => ({ machineId, name: `m${machineId}`, batch: 0, position, canary: position === 0 });

describe.each(DIALECTS)('RolloutRepo on %s', (dialect) => {
  it('creates a rollout holding its machines; a second one taking a held machine is a CONFLICT naming the holder and stores nothing', async () => {
    const { store, ids } = await withMachines(dialect, 2);
    const r = store.rollouts.create({ name: 'r1', spec: { selector: 'x' }, members: [member(ids[0]!, 0)], now: 1000 });
    expect(r).toMatchObject({ name: 'r1', spec: { selector: 'x' }, state: 'running', createdAt: 1000, finishedAt: null });
    expect(store.rollouts.holderOf(ids[0]!)).toBe(r.id);
    let err: unknown;
    try {
      store.rollouts.create({ name: 'r2', spec: {}, members: [member(ids[1]!, 0), member(ids[0]!, 1)], now: 2000 });
    } catch (e) {
      err = e;
    }
    expect(isAppError(err, 'CONFLICT')).toBe(true);
    expect((err as Error).message).toBe(`machine m${ids[0]} is already held by rollout ${r.id}`);
    expect(store.rollouts.list().map((x) => x.name)).toEqual(['r1']);
    expect(store.rollouts.holderOf(ids[1]!)).toBeUndefined();
  });

  it('a finished rollout lets go of its machines; hold takes them again unless another rollout has them', async () => {
    const { store, ids } = await withMachines(dialect, 1);
    const r1 = store.rollouts.create({ name: 'r1', spec: {}, members: [member(ids[0]!, 0)], now: 1 });
    expect(store.rollouts.setState(r1.id, 'paused', { now: 2, from: ['succeeded'] })).toBe(false);
    expect(store.rollouts.setState(r1.id, 'succeeded', { now: 3, reason: 'done' })).toBe(true);
    expect(store.rollouts.get(r1.id)).toMatchObject({ state: 'succeeded', reason: 'done', finishedAt: 3 });
    expect(store.rollouts.members(r1.id)[0]).toMatchObject({ held: false, canary: true, phase: 'pending' });
    const r2 = store.rollouts.create({ name: 'r2', spec: {}, members: [member(ids[0]!, 0)], now: 4 });
    expect(() => store.rollouts.hold(r1.id, [ids[0]!])).toThrow(`already held by rollout ${r2.id}`);
    store.rollouts.setState(r2.id, 'aborted', { now: 5 });
    store.rollouts.hold(r1.id, [ids[0]!]);
    expect(store.rollouts.holderOf(ids[0]!)).toBe(r1.id);
    expect(store.rollouts.list({ active: true })).toEqual([]);
    expect(store.rollouts.list().map((x) => x.id)).toEqual([r2.id, r1.id]);
  });

  it('updateMember changes a row only while its phase is the expected one; JSON and flags round-trip', async () => {
    const { store, ids } = await withMachines(dialect, 1);
    const r = store.rollouts.create({ name: null, spec: {}, members: [{ ...member(ids[0]!, 0), toVersion: { profile: 'b' } }], now: 1 });
    const trace = [{ id: 1, at: 'x', mac: null, machineId: ids[0]!, source: 'http', kind: 'boot.script', detail: {} }];
    expect(store.rollouts.updateMember(r.id, ids[0]!, 'pending', { phase: 'pxe', moved: true, attempt: 2, fromVersion: { profile: 'a' }, startMark: 7, trace })).toBe(true);
    expect(store.rollouts.updateMember(r.id, ids[0]!, 'pending', { phase: 'failed' })).toBe(false);
    expect(store.rollouts.members(r.id)[0]).toMatchObject({ phase: 'pxe', moved: true, attempt: 2, fromVersion: { profile: 'a' }, toVersion: { profile: 'b' }, startMark: 7, cycleMark: null, trace });
    expect(store.rollouts.updateMember(r.id, ids[0]!, 'pxe', { trace: null, held: false })).toBe(true);
    expect(store.rollouts.members(r.id)[0]).toMatchObject({ trace: null, held: false });
  });

  it("lastReports: each machine's newest report, and its newest one that carries digests", async () => {
    const { store, ids } = await withMachines(dialect, 2);
    const [a, b] = ids as [number, number];
    store.events.add({ machineId: a, source: 'agent', kind: 'report.ready', detail: { imageDigest: 'sha256:1' } });
    store.events.add({ machineId: a, source: 'agent', kind: 'report.booting', detail: {} });
    store.events.add({ machineId: a, source: 'http', kind: 'boot.script', detail: { imageDigest: 'sha256:2' } });
    store.events.add({ machineId: b, source: 'agent', kind: 'report.ready', detail: { configDigest: null } });
    const got = store.rollouts.lastReports();
    expect(got.get(a)?.any.kind).toBe('report.booting');
    expect(got.get(a)?.digests?.detail).toEqual({ imageDigest: 'sha256:1' });
    expect(got.get(b)?.any.kind).toBe('report.ready');
    expect(got.get(b)?.digests).toBeUndefined();
    expect(store.rollouts.lastEventId()).toBe(store.events.lastId());
  });
});
