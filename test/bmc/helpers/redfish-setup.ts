import { PowerService } from '../../../src/bmc/service.js';
import { bmcSettingsSchema } from '../../../src/bmc/settings.js';
import { Store } from '../../../src/inventory/store.js';
import { silentLogger } from '../../../src/log.js';

/** A memory store with one machine whose Redfish BMC is `url`, and a PowerService over it. */
export function redfishMachine(url: string, options: Record<string, unknown> = {}, password = 'pw') {
  const store = Store.memory();
  const m = store.machines.create({ name: 'rf1', macs: ['52:54:00:cc:00:01'] });
  store.bmcs.set(m.id, { type: 'redfish', address: url, username: 'admin', password, options });
  const svc = new PowerService(store, bmcSettingsSchema.parse({ timeoutMs: 3000, retries: 1, cycleDelayMs: 0, taskTimeoutMs: 5000 }), silentLogger());
  return { store, svc, id: m.id };
}
