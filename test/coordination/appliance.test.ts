import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROLES } from '../../src/coordination/coordinator.js';
import { applianceName, applianceSettingsSchema } from '../../src/coordination/settings.js';
import { Store } from '../../src/inventory/store.js';
import { silentLogger } from '../../src/log.js';
import { startAppliance } from '../../src/main.js';
import { defaultSettings, parseSettings } from '../../src/settings.js';

describe('appliance settings', () => {
  it.each([
    [{ name: 'edge-1' }, 'edge-1'],
    [{ name: 'edge-1', site: 'ams1', rack: 'r7' }, 'edge-1'],
    [{ site: 'ams1', rack: 'r7' }, 'ams1/r7'],
    [{ site: 'ams1' }, 'host-a'],
    [{}, 'host-a'],
  ])('%j is named %s', (input, name) => {
    expect(applianceName(applianceSettingsSchema.parse(input), () => 'host-a')).toBe(name);
  });

  it('a bad name stops start-up naming the field', () => {
    expect(() => parseSettings({ appliance: { name: 'rack 7' } }, 'test')).toThrow(/appliance\.name/);
    expect(() => parseSettings({ appliance: { leaseMs: 10 } }, 'test')).toThrow(/appliance\.leaseMs/);
  });

  it.each([
    [{ site: 'ams 1', rack: 'r7' }, /appliance\.site/],
    [{ site: 'ams1', rack: 'r7#2' }, /appliance\.rack/],
    [{ site: 'a/b', rack: 'r7' }, /appliance\.site/],
    [{ site: 'ams1', rack: 'r\n7' }, /appliance\.rack/],
    [{ site: '-ams1', rack: 'r7' }, /appliance\.site/],
  ])('site and rack %j, which would make a name outside its characters, stop start-up naming the field', (appliance, field) => {
    expect(() => parseSettings({ appliance }, 'test')).toThrow(field);
  });
});

describe('a served appliance (SQLite)', () => {
  it('holds the rollout-runner and retention leases under its name, stamps its trace rows, and releases the leases on close', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'rb-appliance-'));
    try {
      const settings = defaultSettings({ dataDir, appliance: { site: 'ams1', rack: 'r7' }, http: { host: '127.0.0.1', port: 0 }, api: { host: '127.0.0.1', port: 0 }, dhcp: { enabled: false }, tftp: { enabled: false } });
      const app = await startAppliance(settings, silentLogger());
      expect(app.store.coordination.get(ROLES.rolloutRunner)?.appliance).toBe('ams1/r7');
      expect(app.store.coordination.get(ROLES.retention)?.appliance).toBe('ams1/r7');
      const taken = app.store.events.list({ kind: 'leader.taken' });
      expect(taken.map((e) => [e.detail.role, e.appliance])).toEqual(expect.arrayContaining([[ROLES.rolloutRunner, 'ams1/r7'], [ROLES.retention, 'ams1/r7']]));
      const m = app.store.machines.create({ name: 'n1', macs: ['02:00:00:00:00:01'] });
      app.store.events.add({ machineId: m.id, source: 'api', kind: 'machine.created' });
      expect(app.store.events.list({ machineId: m.id }).at(-1)?.appliance).toBe('ams1/r7');
      await app.close();
      const after = Store.open(dataDir);
      expect(after.coordination.list()).toEqual([]);
      after.close();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
