import { describe, expect, it } from 'vitest';
import { isAppError } from '../../src/errors.js';
import { parseButane } from '../../src/render/butane.js';
import { renderIgnition } from '../../src/render/ignition.js';
import { ignitionConfigSchema } from '../../src/render/ignition-schema.js';
import { expectGolden } from './golden.js';
import { ignitionProfileFixture, input, machine, spec } from './inputs.js';
import { ignitionSchemaErrors, ignitionValidate } from './validators.js';

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKx0ZmFrZWtleWZvcnRlc3RzMDEyMzQ1Njc4OQ ops@lab';

const fullConfig = {
  ignition: { version: '3.4.0' },
  passwd: { users: [{ name: 'core', sshAuthorizedKeys: [KEY] }] },
  storage: { files: [{ path: '/etc/motd', mode: 0o644, contents: { source: 'data:,managed%20by%20rackboot%0A' } }] },
  systemd: { units: [{ name: 'docker.service', enabled: true }, { name: 'locksmithd.service', mask: true }] },
};

/** Checks a rendered config with every validator we have; Debian's binary only knows ≤ 3.3.0 and 3.4.0-experimental. */
function expectValidEverywhere(body: string): void {
  expect(ignitionSchemaErrors(body)).toEqual([]);
  const doc = JSON.parse(body) as { ignition: { version: string } };
  // Debian bookworm ships Ignition 2.14, which predates the final 3.4.0 spec: it validates a
  // 3.4.0 config as 3.4.0-experimental (the same schema for the fields we render).
  if (doc.ignition.version === '3.4.0') doc.ignition.version = '3.4.0-experimental';
  const r = ignitionValidate(JSON.stringify(doc));
  expect(r.output).toBe('');
  expect(r.status).toBe(0);
}

function issuesOf(fn: () => unknown): { path: string; message: string }[] {
  try {
    fn();
  } catch (e) {
    if (isAppError(e, 'INVALID_CONFIG')) return e.details as { path: string; message: string }[];
    throw e;
  }
  throw new Error('expected INVALID_CONFIG');
}

describe('Ignition renderer', () => {
  it('converts the Butane profile fixture (file, directory, user, unit) to Ignition 3.3.0 (golden, validated)', () => {
    const fixture = ignitionProfileFixture();
    const out = renderIgnition(input(spec(fixture.spec), machine({ name: 'flatcar-1' }), fixture.name));
    expect(out.contentType).toBe('application/vnd.coreos.ignition+json');
    expectGolden('ignition-butane-flatcar.json', out.body);
    expectValidEverywhere(out.body);
    const doc = JSON.parse(out.body);
    expect(doc.ignition.version).toBe('3.3.0');
    expect(doc.storage.files.map((f: { path: string }) => f.path)).toEqual(['/etc/hostname', '/etc/rackboot/hello.txt', '/var/lib/rackboot/report']);
    expect(doc.storage.files[1].mode).toBe(0o644);
    expect(decodeURIComponent(doc.storage.files[1].contents.source.slice('data:,'.length))).toBe(
      'hello from rackboot\nwritten by ignition, config served by digest\n',
    );
    expect(doc.passwd.users[0]).toMatchObject({ name: 'rackops', uid: 1500 });
  });

  it('renders a full 3.4.0 config from spec.ignition.config with the hostname added (golden, validated)', () => {
    const out = renderIgnition(input(spec({ os: 'fcos', ignition: { config: fullConfig } })));
    expectGolden('ignition-fcos-3.4.json', out.body);
    expectValidEverywhere(out.body);
  });

  it('renders an RHCOS pointer config (golden, validated)', () => {
    const pointer = { source: 'https://api-int.ocp.lab.example:22623/config/worker', ca: '-----BEGIN CERTIFICATE-----\nRkFLRQ==\n-----END CERTIFICATE-----\n' };
    const out = renderIgnition(input(spec({ os: 'rhcos', ignition: { pointer } })));
    expectGolden('ignition-rhcos-pointer.json', out.body);
    expectValidEverywhere(out.body);
    // Only rackboot's completion report besides the pointer: the Machine Config Server serves the rest.
    expect(JSON.parse(out.body).storage.files.map((f: { path: string }) => f.path)).toEqual(['/var/lib/rackboot/report']);
  });

  it('maps Butane variants and versions to Ignition spec versions', () => {
    const b = (variant: string, version: string) => parseButane({ variant, version });
    expect(b('flatcar', '1.1.0').version).toBe('1.1.0');
    expect(issuesOf(() => b('flatcar', '1.5.0'))[0]?.path).toBe('spec.butane.version');
    expect(issuesOf(() => parseButane('variant: [unclosed'))[0]?.path).toBe('spec.butane');
  });

  it.each([
    ['duplicate file path', { storage: { files: [{ path: '/a' }, { path: '/a' }] } }, 'storage.files[1].path'],
    ['bad unit name', { systemd: { units: [{ name: 'docker' }] } }, 'systemd.units[0].name'],
    ['bad source scheme', { storage: { files: [{ path: '/a', contents: { source: 'ftp://x/y' } }] } }, 'storage.files[0].contents.source'],
    ['bad ssh key', { passwd: { users: [{ name: 'core', sshAuthorizedKeys: ['hunter2'] }] } }, 'passwd.users[0].sshAuthorizedKeys[0]'],
    ['disks (not in our subset)', { storage: { disks: [{ device: '/dev/sda' }] } }, 'storage'],
    ['mode out of range', { storage: { files: [{ path: '/a', mode: 0o17777 }] } }, 'storage.files[0].mode'],
  ])('schema rejects %s with its JSON path', (_what, part, path) => {
    const r = ignitionConfigSchema.safeParse({ ignition: { version: '3.4.0' }, ...part });
    expect(r.success).toBe(false);
    expect(r.error?.issues.map((i) => i.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`)).join('').slice(1).replaceAll('.[', '['))).toContain(path);
  });

  it('reports profile errors under spec.ignition / spec.butane', () => {
    const bad = spec({ os: 'flatcar', ignition: { config: { ignition: { version: '3.4.0' }, systemd: { units: [{ name: 'x' }] } } } });
    expect(issuesOf(() => renderIgnition(input(bad)))[0]?.path).toBe('spec.ignition.config.systemd.units[0].name');
    const badButane = spec({ os: 'flatcar', butane: 'variant: flatcar\nversion: 1.0.0\nstorage:\n  files:\n    - path: relative\n' });
    expect(issuesOf(() => renderIgnition(input(badButane)))[0]?.path).toBe('spec.butane.storage.files[0].path');
  });
});
