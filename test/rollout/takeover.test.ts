import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Coordinator, ROLES } from '../../src/coordination/coordinator.js';
import type { LeaseTimers } from '../../src/coordination/leader.js';
import { leaseTiming } from '../../src/coordination/lease-policy.js';
import { Store } from '../../src/inventory/store.js';
import { silentLogger } from '../../src/log.js';
import { RolloutControl } from '../../src/rollout/control.js';
import type { RolloutEffects } from '../../src/rollout/effects.js';
import { RolloutRunner } from '../../src/rollout/runner.js';
import { FakeTimers } from '../fakes/lease-table.js';
import { SimFleet, profileVersions, seedFleet } from './fleet.js';
import { spec } from './sim.js';

const LEASE_MS = 9000;
const TICK_MS = 1000;

/** Timers of one appliance process: after kill(), nothing it scheduled ever runs (kill -9). */
function processTimers(shared: FakeTimers): { timers: LeaseTimers; kill(): void } {
  let dead = false;
  return {
    timers: { setTimeout: (fn, ms) => shared.setTimeout(() => !dead && fn(), ms), clearTimeout: (h) => shared.clearTimeout(h) },
    kill: () => {
      dead = true;
    },
  };
}

/** Effects whose call `fn` on `machine` does its work, then never returns (the process dies there). */
function diesAfter(real: RolloutEffects, fn: 'setNextBootPxe' | 'powerCycle', machine: string, onDeath: () => void): RolloutEffects {
  return {
    ...real,
    [fn]: async (m: { name: string }) => {
      await (real[fn] as (m: unknown) => Promise<void>)(m);
      if (m.name !== machine) return;
      onDeath();
      await new Promise(() => {});
    },
  };
}

const dirs: string[] = [];
const stores: Store[] = [];
afterEach(() => {
  for (const s of stores.splice(0)) s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Two appliances (r1, r2) on one SQLite file, each with its own connection, lease and runner, in front of one simulated fleet. */
function twoAppliances(death: { fn: 'setNextBootPxe' | 'powerCycle'; machine: string } | null) {
  const dir = mkdtempSync(join(tmpdir(), 'rb-takeover-'));
  dirs.push(dir);
  const clock = new FakeTimers();
  const open = (name: string) => {
    const s = Store.open(dir);
    s.events.appliance = name;
    stores.push(s);
    return s;
  };
  const storeA = open('r1');
  const storeB = open('r2');
  const fleet = new SimFleet(storeA, clock.now, { stageMs: 4000 });
  seedFleet(storeA, fleet, 3, 'os-a');
  let dead = false;
  let signalDeath!: () => void;
  const died = new Promise<void>((ok) => {
    signalDeath = ok;
  });
  const procA = processTimers(clock);
  const appliance = (name: string, store: Store, timers: LeaseTimers, effects: RolloutEffects) => {
    const coord = new Coordinator({ table: store.coordination, appliance: name, leaseMs: LEASE_MS, now: clock.now, timers, log: silentLogger() });
    const leader = coord.leader(ROLES.rolloutRunner);
    const runner = new RolloutRunner({ store, effects, versions: profileVersions(() => store), log: silentLogger(), leader, cycleGraceMs: 60_000 });
    return { leader, runner };
  };
  const realA = fleet.effects('r1');
  const a = appliance('r1', storeA, procA.timers, death
    ? diesAfter(realA, death.fn, death.machine, () => {
        dead = true;
        signalDeath();
      })
    : realA);
  const b = appliance('r2', storeB, processTimers(clock).timers, fleet.effects('r2'));
  const control = new RolloutControl(storeA, profileVersions(() => storeA), clock.now);
  return { clock, fleet, storeA, storeB, a, b, control, procA, died, isDead: () => dead };
}

describe('rollout runner taken over by another appliance on the same database', () => {
  it.each([
    ['killed while m2 waits for its health gate', null, 'health'],
    ['killed in m2\'s boot-device call, after the BMC took it (the new runner reads it back)', { fn: 'setNextBootPxe', machine: 'm2' } as const, null],
    ['killed in m2\'s power cycle, after the BMC took it (the new runner waits for boot evidence)', { fn: 'powerCycle', machine: 'm2' } as const, null],
  ])('%s: r2 takes over within the stated time and finishes; no BMC call twice', async (_name, death, killInPhase) => {
    const t = twoAppliances(death);
    const r = t.control.start(spec({ healthTimeoutSec: 300 }));
    t.a.leader.start();
    t.b.leader.start();
    let killedAt: number | null = null;
    for (let i = 0; i < 400 && killedAt === null; i++) {
      if (t.isDead()) {
        killedAt = t.clock.t;
        break;
      }
      await Promise.race([t.a.runner.tick(), t.died]);
      await t.b.runner.tick();
      const phase = t.control.view(r.id).machines.find((m) => m.machine === 'm2')?.phase;
      if (killInPhase && phase === killInPhase) killedAt = t.clock.t;
      t.clock.advance(TICK_MS);
      t.fleet.advance();
    }
    expect(killedAt).not.toBeNull();
    expect(t.control.view(r.id).runner?.appliance).toBe('r1'); // the API says who runs it
    t.procA.kill(); // r1 renews nothing and steps nothing from here on
    const callsBefore = t.fleet.state.calls?.length ?? 0;
    expect(t.fleet.state.calls?.every((c) => c.by === 'r1')).toBe(true); // r2 stood by while r1 held the lease
    let tookAt: number | null = null;
    for (let i = 0; i < 600 && !t.control.view(r.id).settled; i++) {
      await t.b.runner.tick();
      if (tookAt === null && t.b.leader.held()) tookAt = t.clock.t;
      t.clock.advance(TICK_MS);
      t.fleet.advance();
    }
    const v = t.control.view(r.id);
    expect(v.state).toBe('succeeded');
    expect(v.runner?.appliance).toBe('r2');
    expect(tookAt! - killedAt!).toBeLessThanOrEqual(leaseTiming(LEASE_MS).takeoverMs);
    // The BMC call log: each machine's boot override and power cycle exactly once; after the kill, only r2.
    const calls = t.fleet.state.calls ?? [];
    for (const m of ['m1', 'm2', 'm3']) {
      expect(calls.filter((c) => c.machine === m).map((c) => c.fn)).toEqual(['setNextBootPxe', 'powerCycle']);
      expect(t.fleet.get(m)).toMatchObject({ cycles: 1, installed: 'os-b' });
    }
    expect(calls.slice(callsBefore).every((c) => c.by === 'r2')).toBe(true);
    expect(t.fleet.state.order).toEqual(['m1', 'm2', 'm3']);
    // m2's trace says which appliance did which step: r1 began it, r2 finished it.
    const m2 = t.storeB.machines.get('m2');
    const steps = t.storeB.events.list({ machineId: m2.id, limit: 10_000 }).filter((e) => e.source === 'rollout');
    expect(steps[0]?.appliance).toBe('r1');
    expect(steps.at(-1)).toMatchObject({ kind: 'rollout.machine.done', appliance: 'r2' });
  });
});
