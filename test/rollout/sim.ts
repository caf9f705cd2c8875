import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store } from '../../src/inventory/store.js';
import { silentLogger } from '../../src/log.js';
import { type RolloutView, RolloutControl } from '../../src/rollout/control.js';
import type { RolloutEffects } from '../../src/rollout/effects.js';
import { RolloutRunner } from '../../src/rollout/runner.js';
import { type RolloutSpec, rolloutSpecSchema } from '../../src/rollout/spec.js';
import { type Behaviour, FakeClock, SimFleet, profileVersions, seedFleet } from './fleet.js';

/** A rackboot "process" (store + control + runner) in front of a simulated fleet, on a temp SQLite file. */
export interface Sim {
  dir: string;
  clock: FakeClock;
  fleet: SimFleet;
  store: Store;
  control: RolloutControl;
  runner: RolloutRunner;
  /** Simulates a restart: a new store connection, control and runner on the same file. */
  restart(effects?: RolloutEffects): void;
  /** Ticks (5 s of fake time each) until the rollout settles; returns its view. */
  settle(id: number, maxTicks?: number): Promise<RolloutView>;
}

/** Builds a sim with machines m1..mN on `profile`; os-c behaves as `broken`. */
export function makeSim(opts: { n?: number; profile?: string; broken?: Behaviour; effects?: (e: RolloutEffects) => RolloutEffects } = {}): Sim {
  const dir = mkdtempSync(join(tmpdir(), 'rb-rollout-'));
  const clock = new FakeClock();
  let store = Store.open(dir);
  const fleet = new SimFleet(store, clock.now, { behaviour: (p) => (p === 'os-c' ? (opts.broken ?? 'fail') : 'ok') });
  seedFleet(store, fleet, opts.n ?? 3, opts.profile ?? 'os-a');
  const versions = profileVersions(() => fleet.store);
  const build = (effects: RolloutEffects) => ({
    control: new RolloutControl(store, versions, clock.now),
    runner: new RolloutRunner({ store, effects, versions, log: silentLogger() }),
  });
  const sim: Sim = {
    dir,
    clock,
    fleet,
    store,
    ...build(opts.effects ? opts.effects(fleet.effects()) : fleet.effects()),
    restart(effects) {
      store = Store.open(dir);
      fleet.store = store;
      sim.store = store;
      Object.assign(sim, build(effects ?? fleet.effects()));
    },
    async settle(id, maxTicks = 1000) {
      for (let i = 0; i < maxTicks; i++) {
        await sim.runner.tick();
        const v = sim.control.view(id);
        if (v.settled) return v;
        clock.t += 5000;
        fleet.advance();
      }
      throw new Error(`rollout ${id} did not settle in ${maxTicks} ticks: ${JSON.stringify(sim.control.view(id).machines)}`);
    },
  };
  return sim;
}

/** A rollout spec with defaults applied. */
export function spec(input: Record<string, unknown>): RolloutSpec {
  return rolloutSpecSchema.parse({ selector: 'role=worker', target: { profile: 'os-b' }, ...input });
}
