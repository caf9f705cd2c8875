import { Store } from '../../src/inventory/store.js';
import { silentLogger } from '../../src/log.js';
import { defaultSettings } from '../../src/settings.js';
import type { ConfigDeps } from '../../src/config/index.js';

/** A config-service context on an in-memory store with a controllable clock. */
export function configDeps(http: Record<string, unknown> = {}): ConfigDeps & { clock: { now: number } } {
  const clock = { now: Date.parse('2025-01-01T00:00:00Z') };
  const settings = defaultSettings({ http: { publicUrl: 'http://198.18.0.1:8080', ...http } });
  return { store: Store.memory(), settings, log: silentLogger(), now: () => clock.now, clock };
}

/** The secret part of a config URL. */
export function tokenOf(configUrl: string): string {
  return configUrl.split('/config/')[1]!;
}
