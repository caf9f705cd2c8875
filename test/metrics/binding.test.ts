import { describe, expect, it } from 'vitest';
import { Store } from '../../src/inventory/store.js';
import { Metrics } from '../../src/metrics/metrics.js';

describe('rackboot_boot_binding_refused_total', () => {
  it('follows the refusals counted by the sighting book, by reason, without counting twice', async () => {
    const store = Store.memory();
    const metrics = new Metrics({ store, defaultMetrics: false });
    store.sightings.countRefusal(1, 'not-bound');
    store.sightings.countRefusal(null, 'not-bound');
    store.sightings.countRefusal(2, 'other-mac');
    const first = await metrics.registry.metrics();
    expect(first).toContain('rackboot_boot_binding_refused_total{reason="not-bound"} 2');
    expect(first).toContain('rackboot_boot_binding_refused_total{reason="other-mac"} 1');
    store.sightings.countRefusal(3, 'other-mac');
    const second = await metrics.registry.metrics();
    expect(second).toContain('rackboot_boot_binding_refused_total{reason="not-bound"} 2');
    expect(second).toContain('rackboot_boot_binding_refused_total{reason="other-mac"} 2');
    store.close();
  });
});
