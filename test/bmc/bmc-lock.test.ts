import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PowerService } from '../../src/bmc/service.js';
import { bmcSettingsSchema } from '../../src/bmc/settings.js';
import { Coordinator, bmcLockName, isBmcBusy } from '../../src/coordination/coordinator.js';
import { httpStatusOf, isAppError } from '../../src/errors.js';
import { Store } from '../../src/inventory/store.js';
import { silentLogger } from '../../src/log.js';
import { FakePowerInventory } from '../fakes/power-inventory.js';
import { startRedfishMock } from './helpers/redfish-mock.js';

const settings = bmcSettingsSchema.parse({ timeoutMs: 2000, retries: 0, cycleDelayMs: 0, taskTimeoutMs: 3000 });
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Two appliances (r1, r2) with their own power services and coordinators on one SQLite file, one Redfish BMC (machine 1). */
async function setup() {
  const mock = await startRedfishMock();
  const dir = mkdtempSync(join(tmpdir(), 'rb-bmclock-'));
  const appliance = (name: string) => {
    const store = Store.open(dir);
    const inv = new FakePowerInventory();
    inv.setBmc(1, { type: 'redfish', address: mock.url, username: 'admin', password: 'pw' });
    const coord = new Coordinator({ table: store.coordination, appliance: name, leaseMs: 9000, bmcLockMs: 30_000, log: silentLogger() });
    const power = new PowerService(inv, settings, silentLogger(), {}, coord);
    cleanups.push(async () => {
      await power.close();
      coord.stop();
      store.close();
    });
    return { store, inv, coord, power };
  };
  const a = appliance('r1');
  const b = appliance('r2');
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  cleanups.push(() => mock.close());
  return { a, b, mock };
}

describe('a BMC is operated by one appliance at a time', () => {
  it('while r1 operates the BMC, r2\'s power action is a 409 (bmc-busy, naming r1) and sends nothing; afterwards it goes through', async () => {
    const { a, b, mock } = await setup();
    let release!: () => void;
    const held = a.coord.withBmc(1, 'bmc.power', () => new Promise<void>((r) => (release = r))); // r1's operation in flight
    const err = await b.power.powerAction(1, 'cycle').catch((e: unknown) => e);
    expect(isBmcBusy(err)).toBe(true);
    expect(isAppError(err) && httpStatusOf(err.code)).toBe(409);
    expect((err as Error).message).toMatch(/appliance r1/);
    expect(mock.log.resets).toEqual([]);
    expect(b.inv.eventRows).toEqual([]); // nothing was done: nothing in the trace
    // Reads take no lock.
    expect(await b.power.getStatus(1)).toMatchObject({ state: 'on' });
    release();
    await held;
    await b.power.powerAction(1, 'cycle');
    expect(mock.log.resets.length).toBeGreaterThan(0);
    expect(b.store.coordination.get(bmcLockName(1))).toBeNull(); // released after the operation
  });

  it('the lock row is held during the call and released after it, also when the call fails', async () => {
    const { a, mock } = await setup();
    const during: Array<string | null> = [];
    const orig = a.power.driverFor.bind(a.power);
    a.power.driverFor = (id) => {
      during.push(a.store.coordination.get(bmcLockName(id))?.appliance ?? null);
      return orig(id);
    };
    await a.power.setBootDevice(1, { device: 'pxe', persistent: false, uefi: true });
    expect(during).toEqual(['r1']);
    expect(a.store.coordination.get(bmcLockName(1))).toBeNull();
    await mock.close();
    await expect(a.power.powerAction(1, 'on')).rejects.toSatisfy((e) => isAppError(e) && e.code.startsWith('BMC_'));
    expect(a.store.coordination.get(bmcLockName(1))).toBeNull();
  });
});
