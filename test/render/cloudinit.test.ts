import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { isAppError } from '../../src/errors.js';
import { renderCloudInit } from '../../src/render/cloudinit.js';
import { expectGolden } from './golden.js';
import { input, machine, spec } from './inputs.js';
import { cloudInitSchema } from './validators.js';

const userData = {
  users: ['default', { name: 'ops', groups: ['sudo'], shell: '/bin/bash', sudo: 'ALL=(ALL) NOPASSWD:ALL', ssh_authorized_keys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFAKE ops@lab'] }],
  write_files: [{ path: '/etc/rackboot/role', content: 'yes', permissions: '0644' }],
  packages: ['curl', 'jq'],
  runcmd: [['systemctl', 'enable', '--now', 'ssh'], 'echo on > /tmp/flag'],
  timezone: 'UTC',
};
const s = spec({ os: 'cloudinit', cloudInit: { userData } });

describe('cloud-init renderer', () => {
  it('renders #cloud-config user-data (golden) that passes `cloud-init schema`', () => {
    const out = renderCloudInit(input(s, machine({ name: 'ubuntu-1' })));
    expect(out.body.startsWith('#cloud-config\n')).toBe(true);
    expectGolden('cloudinit-user-data.yaml', out.body);
    const r = cloudInitSchema(out.body);
    expect(r.output).toContain('Valid cloud-config');
    expect(r.status).toBe(0);
    // YAML 1.1 readers (PyYAML) must see the string "yes", not a boolean.
    expect(out.body).toContain('content: "yes"');
  });

  it('renders NoCloud meta-data whose instance-id follows the user-data digest', () => {
    const a = renderCloudInit(input(s, machine({ name: 'ubuntu-1' })));
    expectGolden('cloudinit-meta-data.yaml', a.meta['meta-data']!);
    const meta = parse(a.meta['meta-data']!) as Record<string, string>;
    expect(meta['local-hostname']).toBe('ubuntu-1');
    const b = renderCloudInit(input(spec({ os: 'cloudinit', cloudInit: { userData: { ...userData, timezone: 'Europe/Berlin' } } }), machine({ name: 'ubuntu-1' })));
    expect((parse(b.meta['meta-data']!) as Record<string, string>)['instance-id']).not.toBe(meta['instance-id']);
  });

  it('cloud-init schema itself catches what our typed subset lets through', () => {
    const r = cloudInitSchema('#cloud-config\nntp: {enabled: maybe}\n');
    expect(r.status).not.toBe(0);
  });

  it.each([
    [{ hostname: 'x' }, 'spec.cloudInit.userData.hostname'],
    [{ write_files: [{ path: 'rel', content: 'x' }] }, 'spec.cloudInit.userData.write_files[0].path'],
    [{ write_files: [{ path: '/a', permissions: 644 }] }, 'spec.cloudInit.userData.write_files[0].permissions'],
    [{ ssh_authorized_keys: ['hunter2'] }, 'spec.cloudInit.userData.ssh_authorized_keys[0]'],
  ])('rejects %j with its JSON path', (bad, path) => {
    try {
      renderCloudInit(input(spec({ os: 'cloudinit', cloudInit: { userData: bad } })));
      expect.unreachable();
    } catch (e) {
      expect(isAppError(e, 'INVALID_CONFIG')).toBe(true);
      expect((e as { details: { path: string }[] }).details[0]?.path).toBe(path);
    }
  });
});
