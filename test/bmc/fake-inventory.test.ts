import { afterEach, describe, expect, it } from 'vitest';
import { PowerService } from '../../src/bmc/service.js';
import { bmcSettingsSchema } from '../../src/bmc/settings.js';
import { isAppError } from '../../src/errors.js';
import { FakePowerInventory } from '../fakes/power-inventory.js';
import { memoryLogger } from '../fakes/log.js';
import { startRedfishMock } from './helpers/redfish-mock.js';

const settings = bmcSettingsSchema.parse({ timeoutMs: 2000, retries: 0, cycleDelayMs: 0, taskTimeoutMs: 3000 });
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

/** A PowerService over a fake inventory whose machine 1 has a Redfish BMC on 127.0.0.1 (the mock). */
async function setup() {
  const mock = await startRedfishMock();
  const inv = new FakePowerInventory();
  inv.setBmc(1, { type: 'redfish', address: mock.url, username: 'admin', password: 'pw' });
  const { log, lines } = memoryLogger();
  const power = new PowerService(inv, settings, log);
  cleanups.push(async () => {
    await power.close();
    await mock.close();
  });
  return { inv, power, lines, mock };
}

describe('PowerService over a fake PowerInventory (no SQLite)', () => {
  it('reads the BMC from the inventory, traces each call; a machine without a BMC is NOT_FOUND, untraced', async () => {
    const { inv, power } = await setup();
    expect(await power.getStatus(1)).toMatchObject({ machineId: 1, action: 'status', state: 'on' });
    await power.powerAction(1, 'cycle');
    expect(inv.eventRows.map((e) => `${e.kind}:${String(e.detail?.action)}`)).toEqual(['bmc.power:status', 'bmc.power:cycle']);
    await expect(power.getStatus(2)).rejects.toSatisfy((e) => isAppError(e, 'NOT_FOUND'));
    expect(inv.eventRows).toHaveLength(2);
  });

  it('an inventory whose trace writes fail: the call rejects with an error, nothing crashes, the next call works', async () => {
    const { inv, power, mock } = await setup();
    inv.failWrites = true;
    await expect(power.powerAction(1, 'cycle')).rejects.toThrow(/trace write failed/);
    expect(mock.log.resets.length).toBeGreaterThan(0); // the BMC did act: only the trace row is lost
    inv.failWrites = false;
    expect(await power.getStatus(1)).toMatchObject({ state: 'on' });
  });
});
