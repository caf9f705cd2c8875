/**
 * One appliance for the two-process takeover test: opens the inventory in DIR (SQLite, or the
 * PostgreSQL database at URL with DIR as its data dir), names
 * itself NAME, and runs the rollout runner under the rollout-runner lease (LEASE_MS) on the real
 * clock until the newest rollout settles. The simulated fleet lives in DIR/fleet.json; only the
 * lease holder acts on it, reloading it when it takes the lease over (real machines outlive the
 * appliance that rebooted them). Prints the final state; exit 0 when it succeeded.
 */
import { join } from 'node:path';
import { Coordinator, ROLES } from '../../src/coordination/coordinator.js';
import { Store } from '../../src/inventory/store.js';
import { silentLogger } from '../../src/log.js';
import { RolloutControl } from '../../src/rollout/control.js';
import type { RolloutEffects } from '../../src/rollout/effects.js';
import { RolloutRunner } from '../../src/rollout/runner.js';
import { SimFleet, profileVersions } from './fleet.js';

const [dir, name, leaseArg, url] = process.argv.slice(2) as [string, string, string, string | undefined];
const store = url ? Store.openPostgres(url, dir) : Store.open(dir);
store.events.appliance = name;
const stateFile = join(dir, 'fleet.json');
let fleet = new SimFleet(store, Date.now, { stageMs: 40, stateFile });
const coord = new Coordinator({ table: store.coordination, appliance: name, leaseMs: Number(leaseArg), log: silentLogger() });
const leader = coord.leader(ROLES.rolloutRunner);
const current = (): RolloutEffects => fleet.effects(name);
const effects: RolloutEffects = {
  now: Date.now,
  setNextBootPxe: (m) => current().setNextBootPxe(m),
  bootsPxeNext: (m) => current().bootsPxeNext!(m),
  powerCycle: (m) => current().powerCycle(m),
  preStep: (m, c) => current().preStep(m, c),
  postStep: (m, c) => current().postStep(m, c),
  extraHealth: (m, s) => current().extraHealth(m, s),
};
const versions = profileVersions(() => store);
const runner = new RolloutRunner({ store, effects, versions, log: silentLogger(), leader, cycleGraceMs: 2000 });
const control = new RolloutControl(store, versions);
leader.start();
process.stdout.write(`${JSON.stringify({ started: name })}\n`);
let leading = false;
const deadline = Date.now() + 60_000;
while (Date.now() < deadline) {
  const id = control.list()[0]?.id;
  if (leader.held()) {
    if (!leading) fleet = new SimFleet(store, Date.now, { stageMs: 40, stateFile }); // the machines as the last holder left them
    leading = true;
    await runner.tick();
    if (leader.held()) fleet.advance();
  } else leading = false;
  if (id !== undefined) {
    const v = control.view(id);
    if (v.settled) {
      process.stdout.write(`${JSON.stringify({ state: v.state, by: name })}\n`);
      coord.stop();
      store.close();
      process.exit(v.state === 'succeeded' ? 0 : 1);
    }
  }
  await new Promise((r) => setTimeout(r, 5));
}
process.exit(3);
