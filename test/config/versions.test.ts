import { describe, expect, it } from 'vitest';
import { configVersion, machineConfigs, prepareBootConfig } from '../../src/config/index.js';
import { sha256Hex } from '../../src/config/tokens.js';
import { configDeps } from './helpers.js';
import { Store } from '../../src/inventory/store.js';

const digest = 'cd'.repeat(32);

function setup() {
  const deps = configDeps();
  deps.store.profiles.create('lab', { os: 'testos', boot: 'network', chain: 'ipxe', initrd: [], cmdline: '', requireSecureBoot: false, install: { image: `sha256:${digest}`, disk: '/dev/vda' } });
  const m = deps.store.machines.create({ name: 'node-1', macs: ['52:54:00:00:00:01'], profile: 'lab', ipv4: '198.18.0.21' });
  return { deps, m };
}

describe('config versions', () => {
  it('reuses the version while inputs are unchanged and records it as the desired version', () => {
    const { deps, m } = setup();
    const a = prepareBootConfig(deps, m);
    const b = prepareBootConfig(deps, m);
    expect(b.versionId).toBe(a.versionId);
    expect(b.sha256).toBe(a.sha256);
    expect(b.configUrl).not.toBe(a.configUrl); // a new per-boot token every time
    const v = configVersion(deps, a.versionId);
    expect(sha256Hex(v.body)).toBe(a.sha256);
    expect(machineConfigs(deps, m.id)).toMatchObject({ desired: { id: a.versionId }, items: [{ id: a.versionId }] });
    expect(deps.store.events.list({ machineId: m.id, kind: 'config.version' })).toHaveLength(1);
  });

  it('creates a new version when the profile changes the output; the old one stays retrievable', () => {
    const { deps, m } = setup();
    const a = prepareBootConfig(deps, m);
    const oldBody = configVersion(deps, a.versionId).body;
    const p = deps.store.profiles.get('lab');
    // A change that does not alter the output (description) keeps the version.
    deps.store.profiles.update('lab', { ...p.spec, description: 'lab machines' });
    expect(prepareBootConfig(deps, m).versionId).toBe(a.versionId);
    deps.store.profiles.update('lab', { ...p.spec, testos: { files: [{ path: '/etc/motd', contents: 'v2\n' }] } });
    const b = prepareBootConfig(deps, m);
    expect(b.versionId).not.toBe(a.versionId);
    expect(b.sha256).not.toBe(a.sha256);
    expect(configVersion(deps, a.versionId).body.equals(oldBody)).toBe(true);
    const list = machineConfigs(deps, m.id);
    expect(list.desired?.id).toBe(b.versionId);
    expect(list.items.map((v) => v.id)).toEqual([b.versionId, a.versionId]);
    expect(list.items[0]).toMatchObject({ profile: 'lab', profileRevision: 3, format: 'testos', contentType: 'application/json' });
  });

  it('creates a new version when the inventory changes the output (machine renamed)', () => {
    const { deps, m } = setup();
    const a = prepareBootConfig(deps, m);
    const renamed = deps.store.machines.update(m.id, { name: 'node-1b' });
    expect(prepareBootConfig(deps, renamed).versionId).not.toBe(a.versionId);
  });

  it('never lets a stored version change', () => {
    const { deps, m } = setup();
    const a = prepareBootConfig(deps, m);
    expect(() => Store.rawDb(deps.store).prepare('UPDATE config_versions SET body = ? WHERE id = ?').run(Buffer.from('x'), a.versionId)).toThrow(/immutable/);
  });

  it('gives each OS its kernel arguments', () => {
    const { deps, m } = setup();
    const t = prepareBootConfig(deps, m);
    expect(t.kernelArgs).toEqual([
      `rackboot.config=${t.configUrl}`,
      `rackboot.config_sha256=${t.sha256}`,
      'rackboot.report=http://198.18.0.1:8080/api/v1/report',
      `rackboot.token=${t.reportToken}`,
    ]);
    expect(t.configUrl).toMatch(/^http:\/\/198\.18\.0\.1:8080\/config\/[0-9]+_[A-Za-z0-9_-]{43}$/);
    const p = deps.store.profiles.get('lab');
    deps.store.profiles.update('lab', { ...p.spec, os: 'cloudinit' });
    const c = prepareBootConfig(deps, m);
    expect(c.kernelArgs[0]).toBe(`ds=nocloud-net;s=${c.configUrl}/`);
    deps.store.profiles.update('lab', { ...p.spec, os: 'flatcar', butane: 'variant: flatcar\nversion: 1.0.0\n' });
    const f = prepareBootConfig(deps, m);
    expect(f.kernelArgs.slice(0, 4)).toEqual([`ignition.config.url=${f.configUrl}`, 'ignition.firstboot', 'ignition.platform.id=metal', 'flatcar.first_boot=1']);
  });

  it('refuses a machine without a profile or with an unknown install asset', () => {
    const { deps, m } = setup();
    const bare = deps.store.machines.create({ name: 'bare', macs: ['52:54:00:00:00:02'] });
    expect(() => prepareBootConfig(deps, bare)).toThrow(/no profile/);
    const p = deps.store.profiles.get('lab');
    deps.store.profiles.update('lab', { ...p.spec, install: { image: 'talos-installer', disk: '/dev/vda' } });
    expect(() => prepareBootConfig(deps, m)).toThrow(/not a known asset/);
    const withResolver = { ...deps, resolveAsset: (ref: string) => (ref === 'talos-installer' ? { sha256: digest, url: 'http://198.18.0.1:8080/x' } : undefined) };
    expect(prepareBootConfig(withResolver, m).versionId).toBeGreaterThan(0);
  });
});
