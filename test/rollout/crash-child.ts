/**
 * A rackboot-like process for the kill -9 test: opens the SQLite file in DIR, (first run) seeds
 * a simulated fleet and starts an A → B rollout, then runs the runner on the real clock until
 * the rollout settles. The fleet's state lives in DIR/fleet.json, as real machines outlive rackboot.
 */
import { join } from 'node:path';
import { Store } from '../../src/inventory/store.js';
import { silentLogger } from '../../src/log.js';
import { RolloutControl } from '../../src/rollout/control.js';
import { RolloutRunner } from '../../src/rollout/runner.js';
import { rolloutSpecSchema } from '../../src/rollout/spec.js';
import { SimFleet, profileVersions, seedFleet } from './fleet.js';

const dir = process.argv[2]!;
const store = Store.open(dir);
const fleet = new SimFleet(store, Date.now, { stageMs: 40, stateFile: join(dir, 'fleet.json') });
const versions = profileVersions(() => store);
const control = new RolloutControl(store, versions);
let id = control.list()[0]?.id;
if (id === undefined) {
  seedFleet(store, fleet, 3, 'os-a');
  id = control.start(rolloutSpecSchema.parse({ selector: 'role=worker', target: { profile: 'os-b' }, healthTimeoutSec: 60 })).id;
}
const runner = new RolloutRunner({ store, effects: fleet.effects(), versions, log: silentLogger(), cycleGraceMs: 2000 });
const deadline = Date.now() + 50_000;
while (Date.now() < deadline) {
  await runner.tick();
  fleet.advance();
  const v = control.view(id);
  if (v.settled) {
    process.stdout.write(`${JSON.stringify({ state: v.state })}\n`);
    process.exit(v.state === 'succeeded' ? 0 : 1);
  }
  await new Promise((r) => setTimeout(r, 5));
}
process.exit(3);
