import { describe, expect, it } from 'vitest';
import { isAppError } from '../../src/errors.js';
import { Store } from '../../src/inventory/store.js';
import { versionOf } from './fleet.js';
import { makeSim, spec } from './sim.js';

/** Kinds of the rollout events for one machine, in order. */
function rolloutSteps(store: Store, name: string): string[] {
  const m = store.machines.get(name);
  return store.events.list({ machineId: m.id, limit: 10_000 }).filter((e) => e.source === 'rollout').map((e) => e.kind.replace('rollout.machine.', ''));
}

/** The newest report of a machine. */
function lastReport(store: Store, name: string) {
  const m = store.machines.get(name);
  return store.events.list({ machineId: m.id, limit: 10_000 }).filter((e) => e.kind.startsWith('report.')).at(-1);
}

function expectOn(store: Store, name: string, profile: string): void {
  const m = store.machines.get(name);
  const v = versionOf(store, m, profile);
  expect(m.profile).toBe(profile);
  expect(m.state).toBe('ready');
  expect(lastReport(store, name)).toMatchObject({ kind: 'report.ready', detail: { imageDigest: v.imageDigest, configDigest: v.configDigest } });
}

describe('rollout runner on a simulated fleet', () => {
  it('A → B, canary 1, batch 1: all three end ready on B, one at a time, each rebooted once', async () => {
    const sim = makeSim();
    const r = sim.control.start(spec({ canary: { count: 1 }, batchSize: 1, maxUnavailable: 1 }));
    expect(r.machines.map((m) => [m.machine, m.batch, m.canary])).toEqual([['m1', 0, true], ['m2', 1, false], ['m3', 2, false]]);
    const v = await sim.settle(r.id);
    expect(v.state).toBe('succeeded');
    for (const name of ['m1', 'm2', 'm3']) {
      expectOn(sim.store, name, 'os-b');
      expect(sim.fleet.get(name).cycles).toBe(1);
      expect(rolloutSteps(sim.store, name)).toEqual(['pre', 'pxe', 'assign', 'cycle', 'health', 'post', 'done']);
    }
    expect(sim.fleet.state.order).toEqual(['m1', 'm2', 'm3']);
    expect(sim.fleet.state.maxUnavailable).toBe(1);
    // Strictly sequential: each machine started only after the previous one finished.
    const [a, b, c] = v.machines;
    expect(a!.finishedAt!).toBeLessThanOrEqual(b!.startedAt!);
    expect(b!.finishedAt!).toBeLessThanOrEqual(c!.startedAt!);
    // The rollout let go of its machines.
    expect(() => sim.control.start(spec({ machines: ['m2'], selector: undefined, target: { profile: 'os-a' } }))).not.toThrow();
  });

  it.each([
    ['fail', /reported failure/],
    ['silent', /health timeout \(last reported phase: booting\)/],
    ['wrong-digest', /wrong digest reported: imageDigest/],
  ] as const)('a broken version C (%s) fails at the canary: paused, canary back ready on B, others untouched', async (broken, reason) => {
    const sim = makeSim({ profile: 'os-b', broken });
    const r = sim.control.start(spec({ target: { profile: 'os-c' }, healthTimeoutSec: 600 }));
    const v = await sim.settle(r.id);
    expect(v.state).toBe('paused');
    expect(v.reason).toMatch(reason);
    const [m1, m2, m3] = v.machines;
    expect(m1).toMatchObject({ machine: 'm1', phase: 'rolled-back' });
    expect(m1!.failure).toMatch(reason);
    expect(m1!.trace!.some((e) => e.kind.startsWith('report.') || e.kind === 'dhcp.discover')).toBe(true);
    expectOn(sim.store, 'm1', 'os-b');
    expect(sim.fleet.get('m1')).toMatchObject({ cycles: 2, cordoned: false, installed: 'os-b' });
    for (const m of [m2!, m3!]) {
      expect(m.phase).toBe('pending');
      expect(sim.fleet.get(m.machine)).toMatchObject({ cycles: 0, cordoned: false, installed: 'os-b' });
      expect(rolloutSteps(sim.store, m.machine)).toEqual([]);
    }
    expect(sim.fleet.state.maxUnavailable).toBe(1);
    expect(rolloutSteps(sim.store, 'm1')).toEqual(['pre', 'pxe', 'assign', 'cycle', 'health', 'rb-pxe', 'rb-assign', 'rb-cycle', 'rb-health', 'rb-post', 'rolled-back']);
  });

  it('a BMC error pauses the rollout with the BMC code; the machine never rebooted and is released', async () => {
    const sim = makeSim();
    sim.fleet.bmcBroken.add('m1');
    const r = sim.control.start(spec({}));
    const v = await sim.settle(r.id);
    expect(v.state).toBe('paused');
    expect(v.machines[0]).toMatchObject({ phase: 'rolled-back', failure: expect.stringMatching(/^BMC_UNREACHABLE/) });
    expect(sim.fleet.get('m1')).toMatchObject({ cycles: 0, cordoned: false });
    expect(sim.store.machines.get('m1').profile).toBe('os-a');
  });

  it('without rollbackOnFailure the failed canary stays failed; resume retries it, abort releases all', async () => {
    const sim = makeSim({ profile: 'os-b' });
    const r = sim.control.start(spec({ target: { profile: 'os-c' }, rollbackOnFailure: false }));
    const v = await sim.settle(r.id);
    expect(v.state).toBe('paused');
    expect(v.machines[0]).toMatchObject({ phase: 'failed' });
    expect(sim.fleet.get('m1').cycles).toBe(1);
    sim.control.resume(r.id);
    const again = await sim.settle(r.id);
    expect(again.machines[0]).toMatchObject({ phase: 'failed', attempt: 2 });
    expect(sim.control.abort(r.id).state).toBe('aborted');
    expect(sim.control.view(r.id).machines.map((m) => m.phase)).toEqual(['failed', 'skipped', 'skipped']);
  });

  it('pause stops before the next machine; resume finishes; rollback returns every moved machine', async () => {
    const sim = makeSim();
    const r = sim.control.start(spec({}));
    await sim.runner.tick();
    sim.control.pause(r.id);
    const p = await sim.settle(r.id);
    expect(p.state).toBe('paused');
    expect(p.machines.map((m) => m.phase)).toEqual(['done', 'pending', 'pending']);
    expect(() => sim.control.pause(r.id)).toThrow(/paused/);
    sim.control.resume(r.id);
    expect((await sim.settle(r.id)).state).toBe('succeeded');
    const back = sim.control.rollback(r.id);
    expect(back.state).toBe('rolling-back');
    const v = await sim.settle(r.id);
    expect(v.state).toBe('rolled-back');
    for (const name of ['m1', 'm2', 'm3']) {
      expectOn(sim.store, name, 'os-a');
      expect(sim.fleet.get(name).cycles).toBe(2);
    }
    expect(sim.fleet.state.maxUnavailable).toBe(1);
    expect(() => sim.control.rollback(r.id)).toThrow(/rolled-back/);
  });

  it('batches of 2 with maxUnavailable 2 run two machines at once, never more', async () => {
    const sim = makeSim({ n: 5 });
    const r = sim.control.start(spec({ canary: { selector: 'canary=yes' }, batchSize: 2, maxUnavailable: 2 }));
    expect(r.machines.map((m) => m.batch)).toEqual([0, 1, 1, 2, 2]);
    expect((await sim.settle(r.id)).state).toBe('succeeded');
    expect(sim.fleet.state.maxUnavailable).toBe(2);
    for (let i = 1; i <= 5; i++) expectOn(sim.store, `m${i}`, 'os-b');
  });
});

describe('one holder per machine', () => {
  it('a second rollout over a held machine is a CONFLICT naming the holder; the database refuses it too', async () => {
    const sim = makeSim();
    const r1 = sim.control.start(spec({ machines: ['m1', 'm2'], selector: undefined }));
    let err: unknown;
    try {
      sim.control.start(spec({ machines: ['m3', 'm2'], selector: undefined }));
    } catch (e) {
      err = e;
    }
    expect(isAppError(err, 'CONFLICT')).toBe(true);
    expect((err as Error).message).toMatch(`held by rollout ${r1.id}`);
    // all or nothing: m3 was not taken either
    expect(sim.control.list().length).toBe(1);
    // the unique index itself, below the repository
    const m2 = sim.store.machines.get('m2');
    expect(() =>
      Store.rawDb(sim.store)
        .prepare("INSERT INTO rollouts (spec, state, created_at, updated_at) VALUES ('{}', 'running', 0, 0)")
        .run() && Store.rawDb(sim.store).prepare('INSERT INTO rollout_machines (rollout_id, machine_id, name, batch, position) VALUES (?, ?, ?, 0, 0)').run(99, m2.id, 'm2'),
    ).toThrow(/UNIQUE|FOREIGN KEY/);
    await sim.settle(r1.id);
    expect(sim.control.start(spec({ machines: ['m3', 'm2'], selector: undefined, target: { profile: 'os-a' } })).state).toBe('running');
  });
});
